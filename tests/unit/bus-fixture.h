/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/bus/ as the daemon runs it, without a kernel or the system bus: a
 * private dbus-daemon started for the test program (any user may connect),
 * groupd's objects exported on a connection through the guard, the runner
 * and the engine on the fake kernel (fake-kernel.c), the MPTCP manager on
 * the fake platform (mptcp-fake-platform.c), a fake polkit authority the
 * test answers for, and client connections that call as a real caller:
 * one that the credential check refuses (uid 65534 when the test runs as
 * root, else the test's own user), which polkit then decides for.
 *
 * The configuration (a temporary --config-root):
 *   group 100 "web": a policy (MTU=1400), members web1..web3 (DOWN);
 *   group 200 "ppp" (the iproute2 group file): ppp0 (UP), ppp1..ppp3 (DOWN);
 *   group 10 "wifi", 20 "cellular": [MPTCP] sections, wlan0 and wwan0 (UP,
 *   an address each); eth0 in group 0.
 */
#pragma once

#include "bus/bus.h"
#include "fake-kernel.h"
#include "mptcp-fake-platform.h"

enum {
    ETH0 = 1,
    WEB1 = 2, /* web1..web3: 2..4 */
    PPP0 = 5, /* ppp0..ppp3: 5..8 */
    WLAN0 = 9,
    WWAN0 = 10,
};

typedef enum {
    POLKIT_ABSENT, /* no authority on the bus */
    POLKIT_YES,
    POLKIT_NO,
    POLKIT_CHALLENGE, /* authentication required */
    POLKIT_DISMISSED, /* … and the user dismissed it */
} PolkitAnswer;

typedef struct {
    char *root;
    GdCache *cache;
    FakeKernel *fk;
    GdExecutor *executor;
    GdRunner *runner;
    GdGroupNames *names;
    GdEngine *engine;
    FakePlatform *platform; /* owned by mptcp */
    GdMpManager *mptcp;
    GDBusConnection *server; /* groupd's, through the guard */
    GdBus *bus;
    const char *server_name; /* its unique name */
    GdBusOptions options;
    GDBusCallFlags call_flags; /* of the client's calls */

    /* The caller the credential check refuses; its signals are counted. */
    GDBusConnection *client;
    guint subscriptions[4];

    /* The fake authority (when not POLKIT_ABSENT). */
    PolkitAnswer polkit;
    GDBusConnection *polkit_conn;
    guint polkit_object;
    guint polkit_calls;
    char *polkit_action;
    gboolean polkit_interactive;

    /* Signals the client received. */
    guint links_changed;
    GVariant *last_links_changed; /* (a(isuus)aiu) */
    GHashTable *props_changed;    /* object path → count of PropertiesChanged of a Group */
    GVariant *last_props_changed; /* (sa{sv}as) */
    guint objects_added, objects_removed;
    guint active_changed;
    GVariant *last_active_changed; /* (sss) */

    /* groupd's warnings, and the patterns the test expects, in order. */
    GPtrArray *warnings, *expected_warnings;
} BusFx;

/* The fixture's setup and teardown (g_test_add()); data unused. */
void bus_fx_set_up(BusFx *fx, gconstpointer data);
void bus_fx_tear_down(BusFx *fx, gconstpointer data);

/* Calls method on groupd as conn; NULL with error set when it fails. */
GVariant *bus_fx_call_as(BusFx *fx, GDBusConnection *conn, const char *path, const char *iface,
                         const char *method, GVariant *args, GError **error);
/* The same as the client, on the Manager. */
GVariant *bus_fx_call(BusFx *fx, const char *method, GVariant *args, GError **error);
/* The same, expecting the net.groupd1.Error `name` and a message that
 * matches pattern (a glob); returns the message. */
char *bus_fx_call_fails(BusFx *fx, const char *path, const char *iface, const char *method,
                        GVariant *args, const char *name, const char *pattern);
/* A property of the object at path. */
GVariant *bus_fx_property(BusFx *fx, const char *path, const char *iface, const char *name);
/* A Group object's property (the object must exist). */
GVariant *bus_fx_group_property(BusFx *fx, uint32_t id, const char *name);
gboolean bus_fx_group_exists(BusFx *fx, uint32_t id);
/* Publishes what the fake kernel announced outside an operation (the
 * cache's changed callback of a running daemon). */
void bus_fx_kernel_changed(BusFx *fx);
/* Waits until every publication a reply left for later went out and the
 * client has received its signals (a read flushes them before answering). */
void bus_fx_settle(BusFx *fx);
/* Forgets the counted signals. */
void bus_fx_reset_signals(BusFx *fx);
/* PropertiesChanged signals of group id's object since the last reset. */
guint bus_fx_group_signals(BusFx *fx, uint32_t id);
/* A new connection to the private bus as the test's own user. */
GDBusConnection *bus_fx_connect(void);
/* The authority answers so from now on; POLKIT_ABSENT: it leaves the bus. */
void bus_fx_set_polkit(BusFx *fx, PolkitAnswer answer);
/* groupd again on the same kernel, with options (admin_gid, …). */
void bus_fx_restart_bus(BusFx *fx, const GdBusOptions *options);
/* groupd logs a warning matching pattern (a glob) next; checked at the
 * next bus_fx_assert_warnings() (and at teardown): an unexpected warning
 * fails the test there. */
void bus_fx_expect_warning(BusFx *fx, const char *pattern);
void bus_fx_assert_warnings(BusFx *fx);
/* Writes text to rel under the configuration root (replacing it). */
void bus_fx_write(BusFx *fx, const char *rel, const char *text);

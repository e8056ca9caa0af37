/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/platform: everything the MPTCP manager asks of the system, behind
 * one table of functions — the kernel's path manager (mptcp_pm requests
 * and events), default routes and subflow progress, sysctls, other path
 * managers in the namespace, a link's type, the clock and its timers. The
 * Linux platform (platform-linux.c) is the real one; unit tests give the
 * manager a fake that keeps the kernel's state in memory, so the manager
 * is tested without a kernel (as NetworkManager tests with its fake
 * platform).
 * May call: mptcp/pm, mptcp/watch, cache, policy/facts (platform-linux.c).
 */
#pragma once

#include "cache/cache.h"
#include "mptcp/pm.h"
#include "mptcp/stall.h"

#include <glib.h>

typedef struct GdMpPlatform GdMpPlatform;

/* What the platform reports, on the main loop. */
typedef struct {
    void (*event)(const GdMptcpEvent *event, gpointer user_data); /* mptcp_pm_events */
    void (*routes_changed)(gpointer user_data);                   /* a default route came or went */
    /* The path over ifindex is dead (mptcp/stall); target: an address that
     * answered echoes over it before, to probe its heal with (or NULL). */
    void (*stalled)(int ifindex, const char *detail, const GdMpAddr *target, gpointer user_data);
    /* A path of probe_paths() answered. */
    void (*path_alive)(int ifindex, gpointer user_data);
} GdMpPlatformHandlers;

/* Requests return 0 or a negative errno; *extack (may be NULL) gets the
 * kernel's message, if any, to g_free(). */
typedef struct {
    /* The kernel's endpoints (GdMptcpEndpoint appended to out). */
    int (*dump_endpoints)(GdMpPlatform *p, GArray *out);
    /* cmd: MPTCP_PM_CMD_ADD_ADDR, _DEL_ADDR or _SET_FLAGS. */
    int (*endpoint)(GdMpPlatform *p, uint8_t cmd, const GdMptcpEndpoint *ep, char **extack);
    int (*flush)(GdMpPlatform *p, char **extack);
    /* -1 leaves a limit as it is. */
    int (*set_limits)(GdMpPlatform *p, int subflows, int add_addr_accepted, char **extack);
    /* *parsed: set when an answer came (TRUE: out holds it). */
    int (*get_limits)(GdMpPlatform *p, GdMptcpLimits *out, gboolean *parsed, char **extack);

    /* path: under /proc/sys ("net/mptcp/stale_loss_cnt"); *out stripped. */
    int (*read_sysctl)(GdMpPlatform *p, const char *path, char **out);
    int (*write_sysctl)(GdMpPlatform *p, const char *path, const char *value);

    /* Another MPTCP path manager in this network namespace, described, or NULL. */
    char *(*other_path_manager)(GdMpPlatform *p);
    /* policy/facts' type of a link ("wlan", "wwan", "ether"…). */
    void (*link_type)(GdMpPlatform *p, const GdNlLink *nl, char type[32]);

    /* Default routes: watched only while on; lost = had one since start, has none now. */
    int (*watch_routes)(GdMpPlatform *p, gboolean on);
    void (*refresh_routes)(GdMpPlatform *p);
    gboolean (*route_lost)(GdMpPlatform *p, int ifindex);
    /* The subflows of these links, every interval_ms (n 0 or interval 0: none). */
    void (*watch_subflows)(GdMpPlatform *p, const int *ifindexes, guint n, guint interval_ms);
    /* ICMP echoes over these paths until they answer (handlers.path_alive)
     * or are taken away; n 0: none. */
    void (*probe_paths)(GdMpPlatform *p, const GdMpPathProbe *probes, guint n);

    /* Monotonic µs, and one-shot timers at G_PRIORITY_HIGH (func returns
     * G_SOURCE_REMOVE). */
    gint64 (*now)(GdMpPlatform *p);
    guint (*timeout_add)(GdMpPlatform *p, guint msec, GSourceFunc func, gpointer data);
    void (*timeout_remove)(GdMpPlatform *p, guint id);

    void (*free)(GdMpPlatform *p);
} GdMpPlatformOps;

struct GdMpPlatform {
    const GdMpPlatformOps *ops;
    gboolean available; /* the kernel has the mptcp_pm family */
    GdMpPlatformHandlers handlers;
    gpointer handlers_data;
};

/* The Linux platform: generic netlink sockets, the route and subflow
 * watch, /proc and sysfs, the GLib clock. Without MPTCP in the kernel it
 * still opens (available FALSE). */
int gd_mp_platform_linux_new(GdCache *cache, GdMpPlatform **out);

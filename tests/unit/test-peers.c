/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/peers/peers.c against a fake NetworkManager on a private bus
 * (GTestDBus): what it applied to a device stands while it restarts, also
 * when its exit cuts a read short; a device removed while its link is
 * there (NetworkManager stopping) is held, one whose link is gone or is
 * another link of the same name goes at once. */
#include "peers/peers.h"

#include <glib/gstdio.h>
#include <string.h>

#define NM_NAME "org.freedesktop.NetworkManager"
#define NM_PATH "/org/freedesktop/NetworkManager"

static const char nm_xml[] =
    "<node>"
    " <interface name='org.freedesktop.NetworkManager'>"
    "  <method name='GetDevices'><arg type='ao' direction='out'/></method>"
    " </interface>"
    " <interface name='org.freedesktop.NetworkManager.Device'>"
    "  <method name='GetAppliedConnection'>"
    "   <arg type='u' direction='in'/>"
    "   <arg type='a{sa{sv}}' direction='out'/><arg type='t' direction='out'/>"
    "  </method>"
    "  <property name='Interface' type='s' access='read'/>"
    "  <property name='Managed' type='b' access='read'/>"
    "  <property name='State' type='u' access='read'/>"
    "  <property name='Ifindex' type='u' access='read'/>"
    " </interface>"
    "</node>";

/* One device, activated, with the connection `id` applied. */
typedef struct {
    GDBusConnection *conn;
    const char *ifname;
    guint32 ifindex;
    const char *id;
    gboolean hold_applied;       /* leave GetAppliedConnection unanswered */
    GDBusMethodInvocation *held; /* … this one */
} FakeNm;

#define DEVICE_PATH NM_PATH "/Devices/1"

static void fake_call(GDBusConnection *conn, const char *sender, const char *path,
                      const char *iface, const char *method, GVariant *params,
                      GDBusMethodInvocation *invocation, gpointer user_data)
{
    FakeNm *nm = user_data;
    if (g_str_equal(method, "GetDevices")) {
        const char *devices[] = {DEVICE_PATH};
        g_dbus_method_invocation_return_value(
            invocation, g_variant_new("(@ao)", g_variant_new_objv(devices, 1)));
        return;
    }
    if (nm->hold_applied) {
        /* The handler owns the call: kept unanswered, dropped after the
         * connection closed (the bus answers NoReply). */
        g_clear_object(&nm->held);
        nm->held = invocation;
        return;
    }
    GVariantBuilder settings;
    g_variant_builder_init(&settings, G_VARIANT_TYPE("a{sa{sv}}"));
    g_variant_builder_open(&settings, G_VARIANT_TYPE("{sa{sv}}"));
    g_variant_builder_add(&settings, "s", "connection");
    g_variant_builder_open(&settings, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&settings, "{sv}", "id", g_variant_new_string(nm->id));
    g_variant_builder_close(&settings);
    g_variant_builder_close(&settings);
    g_dbus_method_invocation_return_value(
        invocation, g_variant_new("(@a{sa{sv}}t)", g_variant_builder_end(&settings), 1));
}

static GVariant *fake_property(GDBusConnection *conn, const char *sender, const char *path,
                               const char *iface, const char *name, GError **error,
                               gpointer user_data)
{
    FakeNm *nm = user_data;
    if (g_str_equal(name, "Interface"))
        return g_variant_new_string(nm->ifname);
    if (g_str_equal(name, "Managed"))
        return g_variant_new_boolean(TRUE);
    if (g_str_equal(name, "State"))
        return g_variant_new_uint32(100); /* activated */
    return g_variant_new_uint32(nm->ifindex);
}

static GDBusConnection *connect_to(GTestDBus *bus)
{
    g_autoptr(GError) error = NULL;
    GDBusConnection *conn =
        g_dbus_connection_new_for_address_sync(g_test_dbus_get_bus_address(bus),
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, &error);
    g_assert_no_error(error);
    return conn;
}

/* NetworkManager comes on the bus with its one device. */
static void fake_start(FakeNm *nm, GTestDBus *bus)
{
    static const GDBusInterfaceVTable vtable = {fake_call, fake_property, NULL, {0}};
    g_autoptr(GError) error = NULL;
    g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml(nm_xml, &error);
    g_assert_no_error(error);
    nm->conn = connect_to(bus);
    g_assert_cmpuint(g_dbus_connection_register_object(nm->conn, NM_PATH, info->interfaces[0],
                                                       &vtable, nm, NULL, &error),
                     >, 0);
    g_assert_cmpuint(g_dbus_connection_register_object(nm->conn, DEVICE_PATH, info->interfaces[1],
                                                       &vtable, nm, NULL, &error),
                     >, 0);
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
        nm->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "RequestName", g_variant_new("(su)", NM_NAME, 4), G_VARIANT_TYPE("(u)"),
        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
    g_assert_no_error(error);
}

/* NetworkManager leaves: its connection closes (a call it holds is
 * answered by the bus with NoReply). */
static void fake_stop(FakeNm *nm)
{
    g_autoptr(GError) error = NULL;
    g_dbus_connection_close_sync(nm->conn, NULL, &error);
    g_assert_no_error(error);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    g_clear_object(&nm->held);
    g_clear_object(&nm->conn);
}

static gboolean timed_out(gpointer user_data)
{
    *(gboolean *)user_data = TRUE;
    return G_SOURCE_REMOVE;
}

typedef gboolean (*Predicate)(GdPeers *peers, FakeNm *nm);

static void wait_until(Predicate ok, GdPeers *peers, FakeNm *nm, const char *what)
{
    gboolean expired = FALSE;
    guint timer = g_timeout_add_seconds(10, timed_out, &expired);
    while (!ok(peers, nm) && !expired)
        g_main_context_iteration(NULL, TRUE);
    if (expired)
        g_error("timed out waiting for %s", what);
    g_source_remove(timer);
}

static const char *source_of(GdPeers *peers, const char *ifname)
{
    const GdPeerLink *link = gd_peers_lookup(0, ifname, peers);
    return link ? (link->source ? link->source : "(no profile)") : NULL;
}

static gboolean applied_known(GdPeers *peers, FakeNm *nm)
{
    return gd_peers_settled(peers) && g_strcmp0(source_of(peers, nm->ifname), nm->id) == 0;
}

static gboolean read_held(GdPeers *peers, FakeNm *nm)
{
    return nm->held != NULL;
}

static gboolean nm_restarting(GdPeers *peers, FakeNm *nm)
{
    return gd_peers_nm_restarting(peers);
}

/* Every message sent so far to groupd's connection is dispatched: a call
 * from it to the fake comes back after them. */
static void flush(GDBusConnection *conn, FakeNm *nm)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
        conn, g_dbus_connection_get_unique_name(nm->conn), "/", "org.freedesktop.DBus.Peer", "Ping",
        NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
    g_assert_no_error(error);
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

/* groupd's connection closed and what it queued for the main context
 * dispatched: a message left in an idle source at exit is a leak to
 * LeakSanitizer. */
static void close_connection(GDBusConnection *conn)
{
    g_dbus_connection_close_sync(conn, NULL, NULL);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    g_object_unref(conn);
}

static void on_log(const char *domain, GLogLevelFlags level, const char *message,
                   gpointer user_data)
{
    if (strstr(message, "GetAppliedConnection"))
        (*(guint *)user_data)++;
}

static GdPeers *peers_on(GTestDBus *bus, GDBusConnection **conn, char **root)
{
    g_autoptr(GError) error = NULL;
    *root = g_dir_make_tmp("gd-test-peers-XXXXXX", &error);
    g_assert_no_error(error);
    *conn = connect_to(bus);
    return gd_peers_new(*conn, *root, 60000, NULL, NULL);
}

static void test_applied_stands_through_restart(void)
{
    g_autoptr(GTestDBus) bus = g_test_dbus_new(G_TEST_DBUS_NONE);
    g_test_dbus_up(bus);
    FakeNm nm = {.ifname = "wlan0", .ifindex = 3, .id = "Home"};
    fake_start(&nm, bus);
    GDBusConnection *conn;
    g_autofree char *root = NULL;
    GdPeers *peers = peers_on(bus, &conn, &root);
    wait_until(applied_known, peers, &nm, "the applied connection");

    /* A read of the applied connection is out when NetworkManager exits. */
    guint failed_reads = 0;
    guint handler = g_log_set_handler("groupd-peers", G_LOG_LEVEL_DEBUG, on_log, &failed_reads);
    nm.hold_applied = TRUE;
    gd_peers_links_changed(peers);
    wait_until(read_held, peers, &nm, "a read of the applied connection");
    fake_stop(&nm);
    wait_until(nm_restarting, peers, &nm, "NetworkManager gone");
    while (failed_reads == 0)
        g_main_context_iteration(NULL, TRUE);
    g_log_remove_handler("groupd-peers", handler);

    g_assert_true(gd_peers_nm_present(peers));
    g_assert_cmpstr(source_of(peers, "wlan0"), ==, "Home");

    gd_peers_free(peers);
    close_connection(conn);
    g_rmdir(root);
    g_test_dbus_down(bus);
}

/* DeviceRemoved for the one device; returns what a lookup then answers. */
static char *removed(const char *ifname, guint32 ifindex)
{
    g_autoptr(GTestDBus) bus = g_test_dbus_new(G_TEST_DBUS_NONE);
    g_test_dbus_up(bus);
    FakeNm nm = {.ifname = ifname, .ifindex = ifindex, .id = "Home"};
    fake_start(&nm, bus);
    GDBusConnection *conn;
    g_autofree char *root = NULL;
    GdPeers *peers = peers_on(bus, &conn, &root);
    wait_until(applied_known, peers, &nm, "the applied connection");

    g_autoptr(GError) error = NULL;
    g_dbus_connection_emit_signal(nm.conn, NULL, NM_PATH, NM_NAME, "DeviceRemoved",
                                  g_variant_new("(o)", DEVICE_PATH), &error);
    g_assert_no_error(error);
    flush(conn, &nm);
    char *answer = g_strdup(source_of(peers, ifname));

    gd_peers_free(peers);
    close_connection(conn);
    fake_stop(&nm);
    g_rmdir(root);
    g_test_dbus_down(bus);
    return answer;
}

static void test_removal(void)
{
    /* lo is there (ifindex 1): NetworkManager is stopping, the device held. */
    g_autofree char *held = removed("lo", 1);
    g_assert_cmpstr(held, ==, "Home");
    /* No such link: gone at once. */
    g_autofree char *gone = removed("gdtest-gone0", 7);
    g_assert_null(gone);
    /* A link of that name, but another ifindex: deleted and made again. */
    g_autofree char *other = removed("lo", 999);
    g_assert_null(other);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/peers/applied-stands-through-restart", test_applied_stands_through_restart);
    g_test_add_func("/peers/removal", test_removal);
    return g_test_run();
}

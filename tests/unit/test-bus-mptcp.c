/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * net.groupd1.Mptcp (src/bus/mptcp-object.c) on a private bus, the MPTCP
 * manager on the fake platform (bus-fixture.h): its properties, SetMode,
 * SetPreference and Failover with their typed errors, who may call them,
 * ActiveGroupChanged, and NetworkManager on the bus as another owner.
 */
#include "bus-fixture.h"

#define MPTCP "net.groupd1.Mptcp"

static void call_ok(BusFx *fx, const char *method, GVariant *args)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        bus_fx_call_as(fx, fx->client, GD_BUS_MPTCP_PATH, MPTCP, method, args, &error);
    g_assert_no_error(error);
}

static void fails(BusFx *fx, const char *method, GVariant *args, const char *name,
                  const char *pattern)
{
    g_free(bus_fx_call_fails(fx, GD_BUS_MPTCP_PATH, MPTCP, method, args, name, pattern));
}

static char *property_text(BusFx *fx, const char *name)
{
    g_autoptr(GVariant) v = bus_fx_property(fx, GD_BUS_MPTCP_PATH, MPTCP, name);
    return g_variant_print(v, FALSE);
}

#define assert_property(fx, name, text)                                                            \
    do {                                                                                           \
        g_autofree char *got_ = property_text(fx, name);                                           \
        g_assert_cmpstr(got_, ==, text);                                                           \
    } while (0)

static GVariant *groups_args(const char *const *groups)
{
    return g_variant_new("(^as)", groups);
}

static void test_properties(BusFx *fx, gconstpointer data)
{
    assert_property(fx, "Mode", "'off'");
    assert_property(fx, "Preference", "['wifi', 'cellular']");
    assert_property(fx, "ActiveGroup", "''");
    assert_property(fx, "Owner", "'none'");
    assert_property(fx, "Health", "[('wifi', 'standby', ''), ('cellular', 'standby', '')]");
    assert_property(fx, "Limits", "{'subflows': 2, 'add_addr_accepted': 0}");
    assert_property(fx, "FailoverCount", "0");
    assert_property(fx, "LastError", "''");
}

static void test_set_mode(BusFx *fx, gconstpointer data)
{
    fails(fx, "SetMode", g_variant_new("(s)", "sideways"), "InvalidArgs",
          "unknown mode \"sideways\" (off, failover, power-save, aggregate)");
    assert_property(fx, "Mode", "'off'");
    call_ok(fx, "SetMode", g_variant_new("(s)", "failover"));
    g_assert_cmpstr(fx->polkit_action, ==, "net.groupd1.manage-mptcp");
    /* The reply comes after the object shows the new state. */
    assert_property(fx, "Mode", "'failover'");
    assert_property(fx, "Owner", "'groupd'");
    assert_property(fx, "Endpoints",
                    "[(1, '10.1.0.2', 'wlan0', 'wifi', ['subflow']), (2, '10.2.0.2', 'wwan0', "
                    "'cellular', ['subflow', 'backup'])]");
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->active_changed, ==, 1);
    g_autofree char *signal = g_variant_print(fx->last_active_changed, FALSE);
    g_assert_cmpstr(signal, ==, "('wifi', '', 'wifi is the first healthy group')");
    assert_property(fx, "ActiveGroup", "'wifi'");
}

static void test_set_preference(BusFx *fx, gconstpointer data)
{
    call_ok(fx, "SetMode", g_variant_new("(s)", "failover"));
    bus_fx_settle(fx);
    bus_fx_reset_signals(fx);
    const char *const order[] = {"cellular", "10", NULL};
    call_ok(fx, "SetPreference", groups_args(order));
    assert_property(fx, "Preference", "['cellular', 'wifi']");
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->active_changed, ==, 1);
    g_autofree char *signal = g_variant_print(fx->last_active_changed, FALSE);
    g_assert_cmpstr(signal, ==, "('cellular', 'wifi', 'preference changed: cellular comes first')");

    const char *const unknown[] = {"wifi", "nosuch", NULL};
    fails(fx, "SetPreference", groups_args(unknown), "NoSuchGroup", "no group named \"nosuch\"");
    const char *const no_mptcp[] = {"wifi", "ppp", NULL};
    fails(fx, "SetPreference", groups_args(no_mptcp), "InvalidArgs",
          "every group must have an [MPTCP] section with Role=failover, each given once");
    const char *const twice[] = {"wifi", "wifi", NULL};
    fails(fx, "SetPreference", groups_args(twice), "InvalidArgs", "every group must *");
    GStrvBuilder *builder = g_strv_builder_new();
    for (int i = 0; i < 65; i++)
        g_strv_builder_add(builder, "wifi");
    g_auto(GStrv) many = g_strv_builder_end(builder);
    g_strv_builder_unref(builder);
    fails(fx, "SetPreference", groups_args((const char *const *)many), "InvalidArgs",
          "65 groups: at most 64");
    assert_property(fx, "Preference", "['cellular', 'wifi']");
}

static void test_failover(BusFx *fx, gconstpointer data)
{
    /* Off: nowhere to go. */
    fails(fx, "Failover", g_variant_new("(s)", ""), "NotPossible",
          "no failover possible: no other healthy group, mode off or aggregate, or another "
          "endpoint owner");
    fails(fx, "Failover", g_variant_new("(s)", "ppp"), "InvalidArgs",
          "group \"ppp\" has no [MPTCP] section");
    fails(fx, "Failover", g_variant_new("(s)", "nosuch"), "NoSuchGroup",
          "no group named \"nosuch\"");

    call_ok(fx, "SetMode", g_variant_new("(s)", "failover"));
    bus_fx_settle(fx);
    bus_fx_reset_signals(fx);
    call_ok(fx, "Failover", g_variant_new("(s)", ""));
    assert_property(fx, "ActiveGroup", "'cellular'");
    assert_property(fx, "FailoverCount", "2");
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->active_changed, ==, 1);
    g_autofree char *signal = g_variant_print(fx->last_active_changed, FALSE);
    g_assert_true(g_str_has_prefix(signal, "('cellular', 'wifi', "));
    fails(fx, "Failover", g_variant_new("(s)", "cellular"), "NotPossible",
          "no failover possible: that group is not healthy or already active");
    call_ok(fx, "Failover", g_variant_new("(s)", "wifi"));
    assert_property(fx, "ActiveGroup", "'wifi'");
}

static void test_access(BusFx *fx, gconstpointer data)
{
    bus_fx_set_polkit(fx, POLKIT_NO);
    fails(fx, "SetMode", g_variant_new("(s)", "aggregate"), "AccessDenied",
          "SetMode changes network configuration: only root may call it, or a caller polkit "
          "authorizes for net.groupd1.manage-mptcp");
    const char *const order[] = {"cellular", "wifi", NULL};
    fails(fx, "SetPreference", groups_args(order), "AccessDenied", "SetPreference changes *");
    fails(fx, "Failover", g_variant_new("(s)", ""), "AccessDenied", "Failover changes *");
    g_assert_cmpuint(fx->polkit_calls, ==, 3);
    assert_property(fx, "Mode", "'off'");
    assert_property(fx, "Preference", "['wifi', 'cellular']");
}

/* NetworkManager on the bus adds endpoints of its own: groupd stands back
 * (Owner=auto), and takes over again when it leaves. */
static void test_network_manager(BusFx *fx, gconstpointer data)
{
    call_ok(fx, "SetMode", g_variant_new("(s)", "failover"));
    assert_property(fx, "Owner", "'groupd'");
    bus_fx_expect_warning(fx, "mptcp: not managing endpoints: NetworkManager is on the bus*");
    g_autoptr(GDBusConnection) nm = bus_fx_connect();
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
        nm, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
        g_variant_new("(su)", "org.freedesktop.NetworkManager", 4u), NULL, G_DBUS_CALL_FLAGS_NONE,
        -1, NULL, &error);
    g_assert_no_error(error);
    /* The name's owner change reaches groupd on its own time. */
    for (int i = 0; i < 2000; i++) {
        g_autofree char *owner = property_text(fx, "Owner");
        if (g_str_equal(owner, "'NetworkManager'"))
            break;
        g_usleep(1000);
    }
    assert_property(fx, "Owner", "'NetworkManager'");
    g_autofree char *detail = property_text(fx, "OwnerDetail");
    g_assert_true(g_pattern_match_simple("'NetworkManager is on the bus (:*)*'", detail));
    bus_fx_assert_warnings(fx);

    g_dbus_connection_close_sync(nm, NULL, NULL);
    for (int i = 0; i < 2000; i++) {
        g_autofree char *owner = property_text(fx, "Owner");
        if (g_str_equal(owner, "'groupd'"))
            break;
        g_usleep(1000);
    }
    assert_property(fx, "Owner", "'groupd'");
}

/* The manager's callbacks after the object went: nothing happens. */
static void test_unexported(BusFx *fx, gconstpointer data)
{
    gd_bus_mptcp_unexport(fx->bus);
    gd_bus_mptcp_refresh(fx->bus);
    gd_bus_mptcp_active_changed(fx->bus, TRUE, 10, FALSE, 0, "test");
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        bus_fx_call_as(fx, fx->client, GD_BUS_MPTCP_PATH, "org.freedesktop.DBus.Properties",
                       "GetAll", g_variant_new("(s)", MPTCP), &error);
    g_assert_null(reply);
    g_assert_nonnull(error);
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->active_changed, ==, 0);
    /* Again: the signal names groups as the API does. */
    gd_bus_mptcp_export(fx->bus, fx->mptcp);
    gd_bus_mptcp_active_changed(fx->bus, TRUE, 300, TRUE, 20, "test");
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->active_changed, ==, 1);
    g_autofree char *signal = g_variant_print(fx->last_active_changed, FALSE);
    g_assert_cmpstr(signal, ==, "('300', 'cellular', 'test')");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, BusFx, NULL, bus_fx_set_up, fn, bus_fx_tear_down)
    ADD("/bus/mptcp/properties", test_properties);
    ADD("/bus/mptcp/set-mode", test_set_mode);
    ADD("/bus/mptcp/set-preference", test_set_preference);
    ADD("/bus/mptcp/failover", test_failover);
    ADD("/bus/mptcp/access", test_access);
    ADD("/bus/mptcp/network-manager", test_network_manager);
    ADD("/bus/mptcp/unexported", test_unexported);
#undef ADD
    return g_test_run();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * net.groupd1.Manager and the Group objects (src/bus/) on a private bus,
 * with the runner and the engine on the fake kernel (bus-fixture.h): what
 * each method answers, what it changes, the typed errors when it must
 * not, who may call it, and the signals a change costs.
 */
#include "bus-fixture.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define MGR "net.groupd1.Manager"

static GVariant *no_options(void)
{
    return g_variant_new("a{sv}", NULL);
}

static GVariant *set_group_args(const char *group, const char *key, GVariant *value)
{
    GVariantBuilder props;
    g_variant_builder_init(&props, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&props, "{sv}", key, value);
    return g_variant_new("(sa{sv}@a{sv})", group, &props, no_options());
}

static void call_ok(BusFx *fx, const char *method, GVariant *args)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = bus_fx_call(fx, method, args, &error);
    g_assert_no_error(error);
}

static void fails(BusFx *fx, const char *method, GVariant *args, const char *name,
                  const char *pattern)
{
    g_free(bus_fx_call_fails(fx, GD_BUS_PATH, MGR, method, args, name, pattern));
}

static guint32 group_u(BusFx *fx, uint32_t id, const char *name)
{
    g_autoptr(GVariant) v = bus_fx_group_property(fx, id, name);
    return g_variant_get_uint32(v);
}

static char *group_s(BusFx *fx, uint32_t id, const char *name)
{
    g_autoptr(GVariant) v = bus_fx_group_property(fx, id, name);
    return g_variant_dup_string(v, NULL);
}

static guint64 netlink_requests(BusFx *fx)
{
    g_autoptr(GVariant) v = bus_fx_property(fx, GD_BUS_PATH, MGR, "NetlinkRequests");
    return g_variant_get_uint64(v);
}

/* ---- reads ---- */

static void test_reads(BusFx *fx, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) groups = bus_fx_call(fx, "ListGroups", NULL, &error);
    g_assert_no_error(error);
    g_autofree char *text = g_variant_print(groups, FALSE);
    g_assert_cmpstr(text, ==,
                    "([(0, 'default', 1), (10, 'wifi', 1), (20, 'cellular', 1), (100, 'web', 3), "
                    "(200, 'ppp', 4)],)");

    g_autoptr(GVariant) links = bus_fx_call(fx, "ListLinks", NULL, &error);
    g_assert_no_error(error);
    g_autoptr(GVariant) list = g_variant_get_child_value(links, 0);
    g_assert_cmpuint(g_variant_n_children(list), ==, 10);
    g_autoptr(GVariant) ppp0 = g_variant_get_child_value(list, PPP0 - 1);
    g_autofree char *ppp0_text = g_variant_print(ppp0, FALSE);
    g_assert_cmpstr(ppp0_text, ==, "(5, 'ppp0', 200, 1500, 'up')");

    g_autoptr(GVariant) link = bus_fx_call(fx, "GetLink", g_variant_new("(s)", "wlan0"), &error);
    g_assert_no_error(error);
    g_autoptr(GVariant) props = g_variant_get_child_value(link, 0);
    const char *s;
    guint32 u;
    g_assert_true(g_variant_lookup(props, "GroupName", "&s", &s));
    g_assert_cmpstr(s, ==, "wifi");
    g_assert_true(g_variant_lookup(props, "Group", "u", &u));
    g_assert_cmpuint(u, ==, 10);
    g_assert_true(g_variant_lookup(props, "State", "&s", &s));
    g_assert_cmpstr(s, ==, "up");
    g_assert_true(g_variant_lookup(props, "OperState", "&s", &s));
    g_assert_cmpstr(s, ==, "up");
    g_assert_true(g_variant_lookup(props, "MACAddress", "&s", &s));
    g_assert_cmpstr(s, ==, "02:00:00:00:00:09");
    g_autofree const char **addrs = NULL;
    g_assert_true(g_variant_lookup(props, "Addresses", "^a&s", &addrs));
    g_assert_cmpstrv(addrs, ((const char *[]){"10.1.0.2/24", NULL}));
    fails(fx, "GetLink", g_variant_new("(s)", "nope"), "NoSuchLink", "no such link: \"nope\"");
    fails(fx, "GetLink", g_variant_new("(s)", ""), "NoSuchLink", "no such link: \"\"");

    g_autoptr(GVariant) plan = bus_fx_call(fx, "Plan", NULL, &error);
    g_assert_no_error(error);
    const char *json;
    g_variant_get(plan, "(&s)", &json);
    g_assert_true(g_str_has_prefix(json, "{"));

    g_autoptr(GVariant) version = bus_fx_property(fx, GD_BUS_PATH, MGR, "Version");
    g_assert_cmpstr(g_variant_get_string(version, NULL), ==, "test");
    g_autoptr(GVariant) count = bus_fx_property(fx, GD_BUS_PATH, MGR, "LinkCount");
    g_assert_cmpuint(g_variant_get_uint32(count), ==, 10);
    /* Reads need no authorization. */
    g_assert_cmpuint(fx->polkit_calls, ==, 0);
}

static void test_group_properties(BusFx *fx, gconstpointer data)
{
    g_assert_cmpuint(group_u(fx, 200, "Id"), ==, 200);
    g_autofree char *name = group_s(fx, 200, "Name");
    g_assert_cmpstr(name, ==, "ppp");
    g_assert_cmpuint(group_u(fx, 200, "MemberCount"), ==, 4);
    g_autoptr(GVariant) members = bus_fx_group_property(fx, 200, "Members");
    g_autofree const char **names = g_variant_get_strv(members, NULL);
    g_assert_cmpstrv(names, ((const char *[]){"ppp0", "ppp1", "ppp2", "ppp3", NULL}));
    g_assert_cmpuint(group_u(fx, 200, "MTU"), ==, 1500);
    g_assert_cmpuint(group_u(fx, 200, "TxQueueLength"), ==, 1000);
    g_autofree char *state = group_s(fx, 200, "State");
    g_assert_cmpstr(state, ==, "mixed");
    g_autoptr(GVariant) no_policy = bus_fx_group_property(fx, 200, "Policy");
    g_assert_cmpuint(g_variant_n_children(no_policy), ==, 0);
    g_autofree char *no_error = group_s(fx, 200, "LastError");
    g_assert_cmpstr(no_error, ==, "");

    /* The policy group: the start applied its MTU. */
    g_assert_cmpuint(group_u(fx, 100, "MTU"), ==, 1400);
    g_autofree char *down = group_s(fx, 100, "State");
    g_assert_cmpstr(down, ==, "down");
    g_assert_cmpuint(group_u(fx, 100, "Drifted"), ==, 0);
    g_autoptr(GVariant) policy = bus_fx_group_property(fx, 100, "Policy");
    guint32 mtu;
    gboolean overridden;
    const char *file;
    g_assert_true(g_variant_lookup(policy, "MTU", "u", &mtu));
    g_assert_cmpuint(mtu, ==, 1400);
    g_assert_true(g_variant_lookup(policy, "Overridden", "b", &overridden));
    g_assert_false(overridden);
    g_assert_true(g_variant_lookup(policy, "File", "&s", &file));
    g_assert_true(g_str_has_suffix(file, "/50-web.group"));
    const char *others;
    g_assert_true(g_variant_lookup(policy, "OtherManagers", "&s", &others));
    g_assert_cmpstr(others, ==, "enforce");

    /* All at once, as a client's proxy reads them. */
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) all = bus_fx_call_as(fx, fx->client, GD_BUS_GROUP_PATH_PREFIX "200",
                                             "org.freedesktop.DBus.Properties", "GetAll",
                                             g_variant_new("(s)", "net.groupd1.Group"), &error);
    g_assert_no_error(error);
    g_autoptr(GVariant) dict = g_variant_get_child_value(all, 0);
    g_assert_cmpuint(g_variant_n_children(dict), ==, 11);
    /* Nobody else manages the links here: no conflict. */
    g_autoptr(GVariant) conflicts = g_variant_lookup_value(dict, "Conflicts", NULL);
    g_assert_cmpstr(g_variant_get_type_string(conflicts), ==, "a(sssssssu)");
    g_assert_cmpuint(g_variant_n_children(conflicts), ==, 0);
    g_assert_false(bus_fx_group_exists(fx, 300));
}

/* ---- SetGroup ---- */

static void test_set_group(BusFx *fx, gconstpointer data)
{
    guint64 requests = netlink_requests(fx);
    GVariantBuilder props;
    g_variant_builder_init(&props, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&props, "{sv}", "MTU", g_variant_new_uint32(1400));
    g_variant_builder_add(&props, "{sv}", "TxQueueLength", g_variant_new_uint32(500));
    call_ok(fx, "SetGroup", g_variant_new("(sa{sv}@a{sv})", "ppp", &props, no_options()));
    g_assert_cmpuint(fx->polkit_calls, ==, 1);
    g_assert_cmpstr(fx->polkit_action, ==, "net.groupd1.set-group");
    g_assert_false(fx->polkit_interactive);
    for (int i = 0; i < 4; i++) {
        g_assert_cmpuint(fake_kernel_link(fx->fk, PPP0 + i)->mtu, ==, 1400);
        g_assert_cmpuint(fake_kernel_link(fx->fk, PPP0 + i)->txqlen, ==, 500);
    }
    g_assert_cmpuint(fake_kernel_link(fx->fk, WEB1)->mtu, ==, 1400); /* the policy's */
    g_assert_cmpuint(fake_kernel_link(fx->fk, ETH0)->mtu, ==, 1500);
    /* The caller's next read sees its change and its request counted. */
    g_assert_cmpuint(group_u(fx, 200, "MTU"), ==, 1400);
    g_assert_cmpuint(netlink_requests(fx), ==, requests + 1);

    /* One LinksChanged with the four members, one PropertiesChanged of the
     * group with what changed, nothing for the others. */
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 1);
    g_autoptr(GVariant) changed = g_variant_get_child_value(fx->last_links_changed, 0);
    g_assert_cmpuint(g_variant_n_children(changed), ==, 4);
    g_autoptr(GVariant) removed = g_variant_get_child_value(fx->last_links_changed, 1);
    g_assert_cmpuint(g_variant_n_children(removed), ==, 0);
    g_assert_cmpuint(bus_fx_group_signals(fx, 200), ==, 1);
    g_assert_cmpuint(g_hash_table_size(fx->props_changed), ==, 1);
    g_autoptr(GVariant) values = g_variant_get_child_value(fx->last_props_changed, 1);
    guint32 mtu, txqlen;
    g_assert_true(g_variant_lookup(values, "MTU", "u", &mtu));
    g_assert_cmpuint(mtu, ==, 1400);
    g_assert_true(g_variant_lookup(values, "TxQueueLength", "u", &txqlen));
    g_assert_cmpuint(txqlen, ==, 500);
    g_assert_false(g_variant_lookup(values, "State", "&s", NULL));

    /* By number, the state: "mixed" becomes "up". */
    bus_fx_reset_signals(fx);
    call_ok(fx, "SetGroup", set_group_args("200", "State", g_variant_new_string("up")));
    g_autofree char *state = group_s(fx, 200, "State");
    g_assert_cmpstr(state, ==, "up");
    call_ok(fx, "SetGroup",
            set_group_args("ppp", "MACAddress", g_variant_new_string("02:aa:00:00:00:01")));
    g_assert_cmpuint(fake_kernel_link(fx->fk, PPP0 + 3)->hwaddr[1], ==, 0xaa);
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 2);
    g_assert_cmpuint(bus_fx_group_signals(fx, 200), ==, 1);
}

static void test_set_group_refused(BusFx *fx, gconstpointer data)
{
    guint ops = fake_kernel_ops(fx->fk);
    fails(fx, "SetGroup", g_variant_new("(sa{sv}@a{sv})", "ppp", NULL, no_options()), "InvalidArgs",
          "no property to change");
    fails(fx, "SetGroup", set_group_args("ppp", "Colour", g_variant_new_string("red")),
          "InvalidArgs", "unknown property \"Colour\" (known: *)");
    fails(fx, "SetGroup", set_group_args("ppp", "MTU", g_variant_new_string("1400")), "InvalidArgs",
          "property \"MTU\" must be of type u, not s");
    fails(fx, "SetGroup", set_group_args("ppp", "MTU", g_variant_new_uint32(0)), "InvalidArgs",
          "MTU 0 is out of range");
    fails(fx, "SetGroup", set_group_args("ppp", "State", g_variant_new_string("sideways")),
          "InvalidArgs", "State must be \"up\" or \"down\", not \"sideways\"");
    fails(fx, "SetGroup", set_group_args("ppp", "MACAddress", g_variant_new_string("xx")),
          "InvalidArgs", "malformed MACAddress \"xx\"*");
    fails(fx, "SetGroup", set_group_args("ppp", "State", g_variant_new_uint32(1)), "InvalidArgs",
          "property \"State\" must be of type s, not u");
    fails(fx, "SetGroup", set_group_args("ppp", "MACAddress", g_variant_new_uint32(1)),
          "InvalidArgs", "property \"MACAddress\" must be of type s, not u");
    fails(fx, "SetGroup", set_group_args("ppp", "TxQueueLength", g_variant_new_int32(1)),
          "InvalidArgs", "property \"TxQueueLength\" must be of type u, not i");
    fails(fx, "SetGroup",
          g_variant_new("(s@a{sv}@a{sv})", "ppp", g_variant_new_parsed("{'MTU': <uint32 1400>}"),
                        g_variant_new_parsed("{'force': <1>}")),
          "InvalidArgs", "option \"force\" must be a boolean, not i");
    fails(fx, "SetGroup",
          g_variant_new("(s@a{sv}@a{sv})", "ppp", g_variant_new_parsed("{'MTU': <uint32 1400>}"),
                        g_variant_new_parsed("{'quickly': <true>}")),
          "InvalidArgs", "unknown option \"quickly\"");
    fails(fx, "SetGroup", set_group_args("nosuch", "MTU", g_variant_new_uint32(1400)),
          "NoSuchGroup", "no group named \"nosuch\"");
    fails(fx, "SetGroup", set_group_args("4294967296", "MTU", g_variant_new_uint32(1400)),
          "InvalidArgs", "invalid group \"4294967296\": a number or a name is expected");
    fails(fx, "SetGroup", set_group_args("300", "MTU", g_variant_new_uint32(1400)), "NoSuchGroup",
          "group 300 has no members");
    fails(fx, "SetGroup", set_group_args("0", "MTU", g_variant_new_uint32(1400)),
          "DefaultGroupProtected", "group 0 (default) holds every unconfigured link*");
    /* What the members would refuse is not sent. */
    fails(fx, "SetGroup", set_group_args("ppp", "MTU", g_variant_new_uint32(70000)), "InvalidArgs",
          "group 200 (ppp): 4 of 4 members would refuse the change, nothing was sent: ppp0: MTU "
          "70000 above its maximum 65535, *");
    fails(fx, "SetGroup",
          set_group_args("ppp", "MACAddress", g_variant_new_string("01:00:00:00:00:01")),
          "InvalidArgs", "*ppp0: a multicast address cannot be a device address*");
    fails(fx, "SetGroup", set_group_args("ppp", "MACAddress", g_variant_new_string("02:00:00:01")),
          "InvalidArgs", "*ppp0: hardware address has 6 bytes, not 4*");
    fails(fx, "SetGroup", set_group_args("ppp", "MTU", g_variant_new_uint32(60)), "InvalidArgs",
          "group 200 (ppp): MTU 60 is below 68, the least IPv4 works with: the kernel would "
          "remove IPv4 and its addresses from 4 of 4 members (ppp0, ppp1, ppp2, ppp3); pass the "
          "option {\"force\": <true>} to do it anyway");
    fails(fx, "SetGroup",
          g_variant_new("(s@a{sv}@a{sv})", "ppp", g_variant_new_parsed("{'MTU': <uint32 60>}"),
                        g_variant_new_parsed("{'force': <true>}")),
          "InvalidArgs", "*ppp0: MTU 60 below its minimum 68*");
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, ops);
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 0);
    g_assert_cmpuint(g_hash_table_size(fx->props_changed), ==, 0);
}

static void test_set_group_partial(BusFx *fx, gconstpointer data)
{
    /* The kernel stops at ppp2 and keeps what it changed. */
    fake_kernel_refuse(fx->fk, PPP0 + 2, -EINVAL, NULL);
    bus_fx_expect_warning(fx, "group 200 (ppp): the kernel stopped at ppp2*");
    fails(fx, "SetGroup", set_group_args("ppp", "MTU", g_variant_new_uint32(1400)),
          "PartiallyApplied",
          "group 200 (ppp): the kernel stopped at ppp2: Invalid argument (errno 22); changed 2 "
          "members (ppp0, ppp1); not changed 2 members (ppp2, ppp3)");
    bus_fx_assert_warnings(fx);
    g_assert_cmpuint(fake_kernel_link(fx->fk, PPP0 + 1)->mtu, ==, 1400);
    g_assert_cmpuint(fake_kernel_link(fx->fk, PPP0 + 2)->mtu, ==, 1500);
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 1);
    g_autoptr(GVariant) changed = g_variant_get_child_value(fx->last_links_changed, 0);
    g_assert_cmpuint(g_variant_n_children(changed), ==, 2);
    g_assert_cmpuint(group_u(fx, 200, "MTU"), ==, 0); /* the members differ */

    /* Refused at the first member: nothing changed. */
    fake_kernel_refuse(fx->fk, PPP0, -EPERM, "not allowed");
    bus_fx_expect_warning(fx, "group 200 (ppp): the kernel refused the change*");
    fails(fx, "SetGroup", set_group_args("ppp", "MTU", g_variant_new_uint32(1300)), "Kernel",
          "group 200 (ppp): the kernel refused the change; nothing changed: Operation not "
          "permitted (errno 1): not allowed");
    bus_fx_assert_warnings(fx);
}

static void test_set_group_override(BusFx *fx, gconstpointer data)
{
    /* On a policy group the change becomes the desired state. */
    call_ok(fx, "SetGroup", set_group_args("web", "MTU", g_variant_new_uint32(1300)));
    g_assert_cmpuint(fake_kernel_link(fx->fk, WEB1)->mtu, ==, 1300);
    g_autoptr(GVariant) policy = bus_fx_group_property(fx, 100, "Policy");
    guint32 mtu;
    gboolean overridden;
    g_assert_true(g_variant_lookup(policy, "MTU", "u", &mtu));
    g_assert_cmpuint(mtu, ==, 1300);
    g_assert_true(g_variant_lookup(policy, "Overridden", "b", &overridden));
    g_assert_true(overridden);

    /* Refused: the previous override stays the desired state. */
    fake_kernel_refuse(fx->fk, WEB1, -EINVAL, "no");
    bus_fx_expect_warning(fx, "group 100 (web): *");
    fails(fx, "SetGroup", set_group_args("100", "MTU", g_variant_new_uint32(1200)), "Kernel",
          "group 100 (web): the kernel refused the change*");
    bus_fx_assert_warnings(fx);
    g_autoptr(GVariant) after = bus_fx_group_property(fx, 100, "Policy");
    g_assert_true(g_variant_lookup(after, "MTU", "u", &mtu));
    g_assert_cmpuint(mtu, ==, 1300);
}

/* ---- SetLinkGroup ---- */

static GVariant *move_args(const char *const *links, const char *group)
{
    return g_variant_new("(^as&s)", links, group);
}

static guint32 moved(BusFx *fx, const char *const *links, const char *group)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = bus_fx_call(fx, "SetLinkGroup", move_args(links, group), &error);
    g_assert_no_error(error);
    guint32 n;
    g_variant_get(reply, "(u)", &n);
    return n;
}

static void test_set_link_group(BusFx *fx, gconstpointer data)
{
    const char *const two[] = {"ppp2", "ppp3", NULL};
    g_assert_cmpuint(moved(fx, two, "300"), ==, 2);
    g_assert_cmpstr(fx->polkit_action, ==, "net.groupd1.set-link-group");
    g_assert_cmpuint(fake_kernel_link(fx->fk, PPP0 + 3)->group, ==, 300);
    /* The new group's object exists when the reply comes. */
    g_assert_true(bus_fx_group_exists(fx, 300));
    g_assert_cmpuint(group_u(fx, 300, "MemberCount"), ==, 2);
    g_assert_cmpuint(group_u(fx, 200, "MemberCount"), ==, 2);
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 1);
    g_assert_cmpuint(fx->objects_added, ==, 1);
    /* ppp lost members: Members is invalidated, not sent. */
    g_assert_cmpuint(bus_fx_group_signals(fx, 200), ==, 1);
    g_autoptr(GVariant) invalidated = g_variant_get_child_value(fx->last_props_changed, 2);
    g_autofree const char **names = g_variant_get_strv(invalidated, NULL);
    g_assert_cmpstrv(names, ((const char *[]){"Members", NULL}));

    /* Already there, or twice in the list: each link is moved once. */
    g_assert_cmpuint(moved(fx, two, "300"), ==, 0);
    const char *const twice[] = {"ppp1", "ppp1", NULL};
    g_assert_cmpuint(moved(fx, twice, "300"), ==, 1);
    /* Back: the emptied group goes away. */
    const char *const three[] = {"ppp1", "ppp2", "ppp3", NULL};
    bus_fx_reset_signals(fx);
    g_assert_cmpuint(moved(fx, three, "ppp"), ==, 3);
    g_assert_false(bus_fx_group_exists(fx, 300));
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->objects_removed, ==, 1);
    g_assert_cmpuint(fx->links_changed, ==, 1);

    guint ops = fake_kernel_ops(fx->fk);
    const char *const unknown[] = {"ppp1", "nope", NULL};
    fails(fx, "SetLinkGroup", move_args(unknown, "300"), "NoSuchLink",
          "no such link: \"nope\"; nothing moved");
    const char *const none[] = {NULL};
    fails(fx, "SetLinkGroup", move_args(none, "300"), "InvalidArgs",
          "between 1 and 65536 link names are expected, not 0");
    fails(fx, "SetLinkGroup", move_args(two, "nosuch"), "NoSuchGroup", "no group named \"nosuch\"");
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, ops);

    /* One refuses, one moves. */
    fake_kernel_refuse(fx->fk, PPP0 + 3, -EPERM, "not that one");
    bus_fx_expect_warning(fx, "group 300: membership change *");
    fails(fx, "SetLinkGroup", move_args(two, "300"), "PartiallyApplied",
          "group 300: membership change applied on 1 links, refused on 1: ppp3: *not that one*");
    bus_fx_assert_warnings(fx);
    const char *const last[] = {"ppp3", NULL};
    bus_fx_expect_warning(fx, "group 300: membership change *");
    fails(fx, "SetLinkGroup", move_args(last, "300"), "Kernel",
          "group 300: membership change refused on all 1 links (ppp3: *");
    bus_fx_assert_warnings(fx);
}

/* ---- addresses ---- */

static GVariant *address_args(const char *group, const char *address)
{
    return g_variant_new("(ss@a{sv})", group, address, no_options());
}

static void test_group_address(BusFx *fx, gconstpointer data)
{
    call_ok(fx, "AddGroupAddress", address_args("ppp", "10.9.0.1/24"));
    g_assert_cmpstr(fx->polkit_action, ==, "net.groupd1.group-address");
    for (int i = 0; i < 4; i++)
        g_assert_true(fake_kernel_has_addr(fx->fk, PPP0 + i, "10.9.0.1/24"));
    g_assert_false(fake_kernel_has_addr(fx->fk, ETH0, "10.9.0.1/24"));
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 1);
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) link = bus_fx_call(fx, "GetLink", g_variant_new("(s)", "ppp1"), &error);
    g_assert_no_error(error);
    g_autofree char *text = g_variant_print(link, FALSE);
    g_assert_nonnull(strstr(text, "'Addresses': <['10.9.0.1/24']>"));

    /* Again: every member has it. */
    bus_fx_expect_warning(fx, "group 200 (ppp): address add *");
    fails(fx, "AddGroupAddress", address_args("ppp", "10.9.0.1/24"), "Kernel",
          "group 200 (ppp): address add refused on all 4 links (ppp0: File exists*");
    bus_fx_assert_warnings(fx);

    call_ok(fx, "RemoveGroupAddress", address_args("200", "10.9.0.1/24"));
    for (int i = 0; i < 4; i++)
        g_assert_false(fake_kernel_has_addr(fx->fk, PPP0 + i, "10.9.0.1/24"));
    fails(fx, "RemoveGroupAddress", address_args("ppp", "10.9.0.1/24"), "InvalidArgs",
          "no member of group 200 (ppp) has the address 10.9.0.1/24");
    fails(fx, "AddGroupAddress", address_args("ppp", "10.9.0.300"), "InvalidArgs",
          "malformed address \"10.9.0.300\": expected an IPv4 or IPv6 address*");
    fails(fx, "AddGroupAddress", address_args("ppp", "0.0.0.0"), "InvalidArgs",
          "\"0.0.0.0\" is the unspecified address, which no interface can have");
    fails(fx, "AddGroupAddress", address_args("0", "10.9.0.1/24"), "DefaultGroupProtected", "*");
    fails(fx, "AddGroupAddress", address_args("300", "10.9.0.1/24"), "NoSuchGroup",
          "group 300 has no members");
    fails(fx, "AddGroupAddress",
          g_variant_new("(ss@a{sv})", "ppp", "10.9.0.1/24", g_variant_new_parsed("{'x': <1>}")),
          "InvalidArgs", "unknown option \"x\"");

    /* Acknowledged and not made. */
    fake_kernel_silent_adds(fx->fk, TRUE);
    bus_fx_expect_warning(fx, "group 200 (ppp): address add *");
    fails(fx, "AddGroupAddress", address_args("ppp", "fd00::1/64"), "Kernel",
          "group 200 (ppp): address add acknowledged on all 4 links but done on none (*");
    bus_fx_assert_warnings(fx);
    fake_kernel_silent_adds(fx->fk, FALSE);
}

/* ---- Reload ---- */

static char *reload(BusFx *fx, guint32 flags)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = bus_fx_call(fx, "Reload", g_variant_new("(u)", flags), &error);
    g_assert_no_error(error);
    char *plan;
    g_variant_get(reply, "(s)", &plan);
    return plan;
}

static void test_reload(BusFx *fx, gconstpointer data)
{
    bus_fx_write(fx, GD_CONFIG_ADMIN_DIR "/50-web.group",
                 "[Group]\nName=web\nId=100\n[Match]\nName=web*\n[Link]\nMTU=1300\n");
    /* A dry run says what would change and changes nothing. */
    g_autofree char *plan = reload(fx, 1);
    g_assert_nonnull(strstr(plan, "1300"));
    g_assert_cmpstr(fx->polkit_action, ==, "net.groupd1.reload");
    g_assert_cmpuint(fake_kernel_link(fx->fk, WEB1)->mtu, ==, 1400);
    fails(fx, "Reload", g_variant_new("(u)", 6u), "InvalidArgs",
          "unknown flags 0x6 (known: 1, dry run)");

    g_autofree char *applied = reload(fx, 0);
    g_assert_cmpuint(fake_kernel_link(fx->fk, WEB1)->mtu, ==, 1300);
    g_autoptr(GVariant) policy = bus_fx_group_property(fx, 100, "Policy");
    guint32 mtu;
    g_assert_true(g_variant_lookup(policy, "MTU", "u", &mtu));
    g_assert_cmpuint(mtu, ==, 1300);

    /* A bad file: the running configuration stays. */
    bus_fx_write(fx, GD_CONFIG_ADMIN_DIR "/60-bad.group", "[Group]\nId=nope\n");
    bus_fx_expect_warning(fx, "reload refused, the running configuration stays:\n*60-bad.group*");
    fails(fx, "Reload", g_variant_new("(u)", 0u), "InvalidArgs",
          "the configuration has errors; the running one stays:\n*60-bad.group*");
    bus_fx_write(fx, GD_CONFIG_ADMIN_DIR "/60-bad.group", "");

    /* The kernel refuses the new MTU. */
    bus_fx_write(fx, GD_CONFIG_ADMIN_DIR "/50-web.group",
                 "[Group]\nName=web\nId=100\n[Match]\nName=web*\n[Link]\nMTU=1200\n");
    fake_kernel_refuse(fx->fk, WEB1, -EINVAL, "no");
    bus_fx_expect_warning(fx, "group 100 (web): apply: *");
    fails(fx, "Reload", g_variant_new("(u)", 0u), "PartiallyApplied",
          "the configuration was loaded, but the kernel refused part of it*group 100 (web): *");
    bus_fx_assert_warnings(fx);
    g_autofree char *last_error = group_s(fx, 100, "LastError");
    g_assert_nonnull(strstr(last_error, "refused"));
}

/* ---- who may call ---- */

static void test_access(BusFx *fx, gconstpointer data)
{
    guint ops = fake_kernel_ops(fx->fk);
    bus_fx_set_polkit(fx, POLKIT_NO);
    fails(fx, "SetGroup", set_group_args("ppp", "MTU", g_variant_new_uint32(1400)), "AccessDenied",
          "SetGroup changes network configuration: only root may call it, or a caller polkit "
          "authorizes for net.groupd1.set-group");
    g_assert_cmpuint(fx->polkit_calls, ==, 1);
    bus_fx_set_polkit(fx, POLKIT_CHALLENGE);
    fx->call_flags = G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;
    fails(fx, "Reload", g_variant_new("(u)", 1u), "AccessDenied", "Reload changes *");
    g_assert_true(fx->polkit_interactive);
    fx->call_flags = G_DBUS_CALL_FLAGS_NONE;
    fails(fx, "Reload", g_variant_new("(u)", 1u), "AccessDenied", "Reload changes *");
    g_assert_false(fx->polkit_interactive);
    bus_fx_set_polkit(fx, POLKIT_DISMISSED);
    const char *const links[] = {"ppp1", NULL};
    fails(fx, "SetLinkGroup", move_args(links, "300"), "AccessDenied",
          "*polkit authorizes for net.groupd1.set-link-group");
    g_assert_cmpuint(fx->polkit_calls, ==, 4);
    /* No authority on the bus: the credential check's no stands. */
    bus_fx_set_polkit(fx, POLKIT_ABSENT);
    fails(fx, "AddGroupAddress", address_args("ppp", "10.9.0.1/24"), "AccessDenied",
          "*net.groupd1.group-address");
    g_assert_cmpuint(fx->polkit_calls, ==, 4);
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, ops);
    /* Reads stay open. */
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = bus_fx_call(fx, "ListLinks", NULL, &error);
    g_assert_no_error(error);

    /* With an admin group, the message says so. */
    GdBusOptions options = fx->options;
    options.admin_gid = 4242424;
    bus_fx_restart_bus(fx, &options);
    fails(fx, "SetGroup", set_group_args("ppp", "MTU", g_variant_new_uint32(1400)), "AccessDenied",
          "SetGroup changes network configuration: only root and the admin group may call it*");
}

/* The caller's credentials allow it: root, or (the test not running as
 * root) a group of the caller's made the admin group. polkit is not asked,
 * and the answer is kept for the caller's next call. */
static void test_credentials(BusFx *fx, gconstpointer data)
{
    g_autoptr(GDBusConnection) caller = bus_fx_connect();
    if (geteuid() != 0) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
            caller, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "GetConnectionCredentials",
            g_variant_new("(s)", g_dbus_connection_get_unique_name(caller)), NULL,
            G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) creds = g_variant_get_child_value(reply, 0);
        g_autoptr(GVariant) gids =
            g_variant_lookup_value(creds, "UnixGroupIDs", G_VARIANT_TYPE("au"));
        if (!gids || g_variant_n_children(gids) == 0)
            g_error("the bus reports no group of this test's user: run it as root");
        GdBusOptions options = fx->options;
        guint32 gid;
        g_variant_get_child(gids, 0, "u", &gid);
        options.admin_gid = gid;
        bus_fx_restart_bus(fx, &options);
    }
    bus_fx_set_polkit(fx, POLKIT_NO);
    for (guint32 mtu = 1400; mtu >= 1300; mtu -= 100) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply =
            bus_fx_call_as(fx, caller, GD_BUS_PATH, MGR, "SetGroup",
                           set_group_args("ppp", "MTU", g_variant_new_uint32(mtu)), &error);
        g_assert_no_error(error);
        g_assert_cmpuint(fake_kernel_link(fx->fk, PPP0)->mtu, ==, mtu);
    }
    g_assert_cmpuint(fx->polkit_calls, ==, 0);
    g_dbus_connection_close_sync(caller, NULL, NULL);
}

/* ---- the kernel's own changes ---- */

static void test_links_removed(BusFx *fx, gconstpointer data)
{
    fake_kernel_del_link(fx->fk, PPP0 + 3);
    fake_kernel_set_mtu(fx->fk, PPP0, 1280);
    bus_fx_kernel_changed(fx);
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 1);
    g_autofree char *text = g_variant_print(fx->last_links_changed, FALSE);
    g_assert_cmpstr(text, ==, "([(5, 'ppp0', 200, 1280, 'up')], [8], 0)");
    g_assert_cmpuint(bus_fx_group_signals(fx, 200), ==, 1);
    g_assert_cmpuint(group_u(fx, 200, "MemberCount"), ==, 3);
    g_autoptr(GVariant) count = bus_fx_property(fx, GD_BUS_PATH, MGR, "LinkCount");
    g_assert_cmpuint(g_variant_get_uint32(count), ==, 9);
    /* Nothing new: nothing sent. */
    bus_fx_kernel_changed(fx);
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 1);
}

/* One operation on many members costs a constant number of signals. */
static void test_signal_budget(BusFx *fx, gconstpointer data)
{
    enum { N = 64, FIRST = 100 };
    GStrvBuilder *builder = g_strv_builder_new();
    for (int i = 0; i < N; i++) {
        g_autofree char *name = g_strdup_printf("v%d", i);
        fake_kernel_add_link(fx->fk, FIRST + i, name, 300, FALSE);
        g_strv_builder_add(builder, name);
    }
    g_auto(GStrv) names = g_strv_builder_end(builder);
    g_strv_builder_unref(builder);
    bus_fx_kernel_changed(fx);
    bus_fx_settle(fx);
    g_assert_true(bus_fx_group_exists(fx, 300));

    bus_fx_reset_signals(fx);
    call_ok(fx, "SetGroup", set_group_args("300", "MTU", g_variant_new_uint32(9000)));
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 1);
    g_assert_cmpuint(bus_fx_group_signals(fx, 300), ==, 1);
    g_assert_cmpuint(g_hash_table_size(fx->props_changed), ==, 1);

    bus_fx_reset_signals(fx);
    g_assert_cmpuint(moved(fx, (const char *const *)names, "301"), ==, N);
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 1);
    g_assert_cmpuint(fx->objects_added, ==, 1);
    g_assert_cmpuint(fx->objects_removed, ==, 1);
    g_autoptr(GVariant) changed = g_variant_get_child_value(fx->last_links_changed, 0);
    g_assert_cmpuint(g_variant_n_children(changed), ==, N);

    bus_fx_reset_signals(fx);
    call_ok(fx, "AddGroupAddress", address_args("301", "fd00::1/64"));
    bus_fx_settle(fx);
    g_assert_cmpuint(fx->links_changed, ==, 1);
    g_assert_cmpuint(g_hash_table_size(fx->props_changed), <=, 1);
}

/* Names that are not UTF-8 go out in their shown form and come back in it. */
static void test_shown_names(BusFx *fx, gconstpointer data)
{
    fake_kernel_add_link(fx->fk, 40, "bad\xff", 200, FALSE);
    bus_fx_kernel_changed(fx);
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) link = bus_fx_call(fx, "GetLink", g_variant_new("(s)", "bad\\xff"), &error);
    g_assert_no_error(error);
    const char *name;
    g_autoptr(GVariant) props = g_variant_get_child_value(link, 0);
    g_assert_true(g_variant_lookup(props, "Name", "&s", &name));
    g_assert_cmpstr(name, ==, "bad\\xff");
    const char *const links[] = {"bad\\xff", NULL};
    g_assert_cmpuint(moved(fx, links, "300"), ==, 1);
    g_assert_cmpuint(fake_kernel_link(fx->fk, 40)->group, ==, 300);
    /* An unknown one is quoted as the caller wrote it. */
    fails(fx, "GetLink", g_variant_new("(s)", "x\\xfe"), "NoSuchLink", "no such link: \"x\\xfe\"");
    /* A name that does not unescape names nothing. */
    fails(fx, "GetLink", g_variant_new("(s)", "x\\q"), "NoSuchLink", "no such link: \"x\\\\q\"");
    fails(fx, "SetGroup", set_group_args("x\\q", "MTU", g_variant_new_uint32(1400)), "InvalidArgs",
          "invalid group \"x\\\\q\"*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, BusFx, NULL, bus_fx_set_up, fn, bus_fx_tear_down)
    ADD("/bus/manager/reads", test_reads);
    ADD("/bus/manager/group-properties", test_group_properties);
    ADD("/bus/manager/set-group", test_set_group);
    ADD("/bus/manager/set-group-refused", test_set_group_refused);
    ADD("/bus/manager/set-group-partial", test_set_group_partial);
    ADD("/bus/manager/set-group-override", test_set_group_override);
    ADD("/bus/manager/set-link-group", test_set_link_group);
    ADD("/bus/manager/group-address", test_group_address);
    ADD("/bus/manager/reload", test_reload);
    ADD("/bus/manager/access", test_access);
    ADD("/bus/manager/credentials", test_credentials);
    ADD("/bus/manager/links-removed", test_links_removed);
    ADD("/bus/manager/signal-budget", test_signal_budget);
    ADD("/bus/manager/shown-names", test_shown_names);
#undef ADD
    return g_test_run();
}

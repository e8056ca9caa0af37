/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/peers/peer-link.c: NetworkManager's applied connection (as
 * Device.GetAppliedConnection returns it, written here in GVariant text),
 * networkd's state files and .network files, and NetworkManager's MPTCP
 * rule, table-driven. */
#include "peers/peer-link.h"

#include <string.h>

static GdPeerLink *nm_link(gboolean managed, guint32 state, const char *applied_text)
{
    g_autoptr(GVariant) applied = NULL;
    if (applied_text) {
        g_autoptr(GError) error = NULL;
        applied = g_variant_parse(G_VARIANT_TYPE("a{sa{sv}}"), applied_text, NULL, NULL, &error);
        g_assert_no_error(error);
    }
    return gd_peer_link_from_nm(managed, state, applied);
}

static char *addresses(const GdPeerLink *link)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < link->addresses->len; i++) {
        g_autofree char *t = gd_nl_addr_format(&g_array_index(link->addresses, GdNlAddr, i));
        g_string_append_printf(s, "%s%s", s->len ? " " : "", t);
    }
    return g_string_free(s, FALSE);
}

static void test_nm(void)
{
    /* Not managed, or unmanaged: nobody's. */
    g_assert_null(nm_link(FALSE, 100, NULL));
    g_assert_null(nm_link(TRUE, GD_NM_DEVICE_STATE_UNMANAGED, NULL));

    /* Managed, no connection: NetworkManager's, no profile, set up. */
    g_autoptr(GdPeerLink) idle = nm_link(TRUE, 30, NULL);
    g_assert_cmpint(idle->manager, ==, GD_PEER_NETWORKMANAGER);
    g_assert_null(idle->source);
    g_assert_true(idle->set_state && idle->up);
    g_assert_false(idle->set_mtu || idle->has_mptcp_flags);
    g_autofree char *idle_text = gd_peer_link_describe(idle);
    g_assert_cmpstr(idle_text, ==, "NetworkManager (no profile applied)");

    g_autoptr(GdPeerLink) home = nm_link(
        TRUE, 100,
        "{'connection': {'id': <'Home'>, 'mptcp-flags': <uint32 0x61>},"
        " '802-3-ethernet': {'mtu': <uint32 1400>, 'assigned-mac-address': <'02:aa:00:00:00:01'>},"
        " 'ipv4': {'method': <'manual'>, 'address-data': <[{'address': <'10.0.0.2'>,"
        " 'prefix': <uint32 24>}, {'address': <'10.0.1.2'>, 'prefix': <uint32 16>}]>},"
        " 'ipv6': {'method': <'ignore'>}}");
    g_assert_cmpstr(home->source, ==, "Home");
    g_assert_true(home->active);
    g_assert_true(home->set_mtu);
    g_assert_cmpuint(home->mtu, ==, 1400);
    g_assert_true(home->set_hwaddr);
    g_assert_cmpuint(home->hwaddr_len, ==, 6);
    g_assert_cmphex(home->hwaddr[5], ==, 1);
    g_assert_true(home->owns_addresses[0]);
    g_assert_false(home->owns_addresses[1]); /* "ignore" */
    g_autofree char *addrs = addresses(home);
    g_assert_cmpstr(addrs, ==, "10.0.0.2/24 10.0.1.2/16");
    g_assert_true(home->has_mptcp_flags);
    g_assert_cmphex(home->mptcp_flags, ==, 0x61);
    g_autofree char *text = gd_peer_link_describe(home);
    g_assert_cmpstr(text, ==, "NetworkManager connection \"Home\"");

    /* mtu 0 is "leave it"; "preserve" is not an address; no flags: 0. */
    g_autoptr(GdPeerLink) plain =
        nm_link(TRUE, 70,
                "{'connection': {'id': <'Plain'>}, '802-3-ethernet': {'mtu': <uint32 0>,"
                " 'assigned-mac-address': <'preserve'>}, 'ipv6': {'method': <'disabled'>}}");
    g_assert_false(plain->active);
    g_assert_false(plain->set_mtu || plain->set_hwaddr);
    g_assert_true(plain->has_mptcp_flags);
    g_assert_cmpuint(plain->mptcp_flags, ==, 0);
    g_assert_false(plain->owns_addresses[0]); /* no ipv4 setting */
    g_assert_true(plain->owns_addresses[1]);

    g_autoptr(GdPeerLink) copy = gd_peer_link_copy(home);
    g_assert_true(gd_peer_link_equal(copy, home));
    g_assert_false(gd_peer_link_equal(copy, plain));
    copy->mtu = 1500;
    g_assert_false(gd_peer_link_equal(copy, home));
}

static void test_nm_mptcp(void)
{
    const struct {
        uint32_t flags;
        gboolean sysctl, route, adds;
        const char *text, *effective;
    } cases[] = {
        {0, TRUE, TRUE, TRUE, "default", "enabled,subflow"},
        {0, FALSE, TRUE, FALSE, "default", "enabled,subflow"},
        {0, TRUE, FALSE, FALSE, "default", "enabled,subflow"},
        {0x1, TRUE, TRUE, FALSE, "disabled", "disabled"},
        {0x21, TRUE, TRUE, FALSE, "disabled,subflow", "disabled"},
        {0x20, TRUE, TRUE, TRUE, "subflow", "enabled,subflow"},
        {0x24, FALSE, TRUE, TRUE, "also-without-sysctl,subflow",
         "enabled,also-without-sysctl,subflow"},
        {0x28, TRUE, FALSE, TRUE, "also-without-default-route,subflow",
         "enabled,also-without-default-route,subflow"},
        {0x28, FALSE, FALSE, FALSE, "also-without-default-route,subflow",
         "enabled,also-without-default-route,subflow"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_cmpint(gd_nm_mptcp_adds_endpoints(cases[i].flags, cases[i].sysctl, cases[i].route),
                        ==, cases[i].adds);
        g_autofree char *text = gd_nm_mptcp_flags_text(cases[i].flags);
        g_assert_cmpstr(text, ==, cases[i].text);
        g_autofree char *eff = gd_nm_mptcp_flags_text(gd_nm_mptcp_effective(cases[i].flags));
        g_assert_cmpstr(eff, ==, cases[i].effective);
    }
}

static void test_networkd_state(void)
{
    const struct {
        const char *text;
        gboolean managed;
        const char *file, *dropins, *admin;
    } cases[] = {
        {"# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\n"
         "NETWORK_FILE=/etc/systemd/network/50-en0.network\n"
         "NETWORK_FILE_DROPINS=\"/etc/systemd/network/50-en0.network.d/a.conf\" "
         "\"/run/systemd/network/50-en0.network.d/b.conf\"\n",
         TRUE, "/etc/systemd/network/50-en0.network",
         "/etc/systemd/network/50-en0.network.d/a.conf "
         "/run/systemd/network/50-en0.network.d/b.conf",
         "configured"},
        {"ADMIN_STATE=unmanaged\nOPER_STATE=off\n", FALSE, NULL, NULL, "unmanaged"},
        {"ADMIN_STATE=pending\n", TRUE, NULL, NULL, "pending"},
        {"OPER_STATE=off\n", FALSE, NULL, NULL, NULL},
        {"ADMIN_STATE=configuring\nNETWORK_FILE=\nNETWORK_FILE_DROPINS=\"\"\n", TRUE, NULL, "",
         "configuring"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *file = NULL, *admin = NULL;
        g_auto(GStrv) dropins = NULL;
        g_assert_cmpint(gd_networkd_state_parse(cases[i].text, &file, &dropins, &admin), ==,
                        cases[i].managed);
        g_assert_cmpstr(file, ==, cases[i].file);
        g_assert_cmpstr(admin, ==, cases[i].admin);
        g_autofree char *joined = dropins ? g_strjoinv(" ", dropins) : NULL;
        g_assert_cmpstr(joined, ==, cases[i].dropins);
    }
}

static void test_networkd_network(void)
{
    g_autoptr(GdPeerLink) link = gd_peer_link_new(GD_PEER_NETWORKD);
    link->set_state = link->up = TRUE;
    link->owns_addresses[0] = link->owns_addresses[1] = TRUE;
    gd_networkd_network_parse("[Match]\nName=en0\n\n[Link]\nMTUBytes=1.5K\nMTUBytes=9K\n"
                              "MACAddress=02:00:00:00:00:09\nGroup=200\n"
                              "ActivationPolicy=always-down\n"
                              "# a comment\n; another\n[Network]\nAddress=10.82.0.2/24\n"
                              "Address=fd00::2/64\n[Address]\nAddress = 10.82.9.2/24\n"
                              "[Address]\nAddress=10.82.0.2/24\n",
                              link);
    g_assert_true(link->set_mtu);
    g_assert_cmpuint(link->mtu, ==, 9216); /* the later value; 1.5K is not a size */
    g_assert_true(link->set_hwaddr);
    g_assert_true(link->set_group);
    g_assert_cmpuint(link->group, ==, 200);
    g_assert_true(link->set_state);
    g_assert_false(link->up);
    g_autofree char *addrs = addresses(link);
    g_assert_cmpstr(addrs, ==, "10.82.0.2/24 fd00::2/64 10.82.9.2/24");
    /* A drop-in overrides single values and adds addresses. */
    gd_networkd_network_parse("[Link]\nMTUBytes=\nActivationPolicy=manual\nGroup=4294967295\n"
                              "[Network]\nKeepConfiguration=static\nAddress=10.83.0.2/24\n",
                              link);
    g_assert_false(link->set_mtu);
    g_assert_false(link->set_state);
    g_assert_false(link->set_group); /* out of networkd's range */
    g_assert_false(link->owns_addresses[0] || link->owns_addresses[1]);
    g_autofree char *more = addresses(link);
    g_assert_cmpstr(more, ==, "10.82.0.2/24 fd00::2/64 10.82.9.2/24 10.83.0.2/24");
    g_assert_cmpstr(gd_peer_kind_name(GD_PEER_NETWORKD), ==, "systemd-networkd");
    g_assert_cmpstr(gd_peer_kind_name(GD_PEER_NONE), ==, "none");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/peer-link/networkmanager", test_nm);
    g_test_add_func("/peer-link/networkmanager-mptcp", test_nm_mptcp);
    g_test_add_func("/peer-link/networkd-state", test_networkd_state);
    g_test_add_func("/peer-link/networkd-network", test_networkd_network);
    return g_test_run();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/mptcp/owner.c: who manages the endpoints, and the other path
 * managers found in /proc/net/netlink. */
#include "mptcp-fixtures.h"
#include "mptcp/owner.h"

#include <errno.h>

static void test_decide(void)
{
    static const GdMpOwnerNm wlan_default = {"wlan0", "Home", 0};
    static const GdMpOwnerNm wwan_flags[] = {{"wlan0", "Home", 0x22}, {"wwan0", "Cell", 0x60}};
    const struct {
        gboolean available;
        GdMptcpMode mode;
        gboolean forced, known;
        const char *listener;
        const GdMpOwnerNm *nm;
        guint n_nm;
        const char *foreign;
        gboolean contested;
        const char *owner, *detail;
    } cases[] = {
        {FALSE, GD_MPTCP_MODE_FAILOVER, FALSE, TRUE, NULL, NULL, 0, NULL, FALSE, "none",
         "the kernel has no MPTCP path manager (mptcp_pm)"},
        {TRUE, GD_MPTCP_MODE_OFF, FALSE, TRUE, "mptcpd runs", NULL, 0, NULL, FALSE, "none", NULL},
        /* Owner=groupd: told to, whatever else is there, known or not. */
        {TRUE, GD_MPTCP_MODE_FAILOVER, TRUE, FALSE, "mptcpd runs", &wlan_default, 1, "endpoint x",
         FALSE, "groupd", NULL},
        {TRUE, GD_MPTCP_MODE_FAILOVER, FALSE, TRUE, NULL, NULL, 0, NULL, TRUE, "groupd", NULL},
        /* Before NetworkManager's devices are known nothing is decided. */
        {TRUE, GD_MPTCP_MODE_FAILOVER, FALSE, FALSE, NULL, NULL, 0, NULL, TRUE, "none",
         "waiting to learn which devices NetworkManager manages"},
        /* mptcpd before NetworkManager before foreign endpoints. */
        {TRUE, GD_MPTCP_MODE_POWER_SAVE, FALSE, TRUE, "mptcpd runs here", &wlan_default, 1,
         "endpoint x", TRUE, "mptcpd", "mptcpd runs here; set [MPTCP] Owner=groupd to take over"},
        {TRUE, GD_MPTCP_MODE_AGGREGATE, FALSE, TRUE, NULL, &wlan_default, 1, "endpoint x", TRUE,
         "NetworkManager",
         "NetworkManager adds MPTCP endpoints on wlan0 (connection \"Home\", "
         "connection.mptcp-flags default: enabled,subflow); hand them over with \"groupctl mptcp "
         "hand-over\", or set [MPTCP] Owner=groupd to take over"},
        {TRUE, GD_MPTCP_MODE_FAILOVER, FALSE, TRUE, NULL, wwan_flags, 2, NULL, TRUE,
         "NetworkManager",
         "NetworkManager adds MPTCP endpoints on wlan0 (connection \"Home\", "
         "connection.mptcp-flags enabled,subflow), wwan0 (connection \"Cell\", "
         "connection.mptcp-flags subflow,backup); hand them over with \"groupctl mptcp "
         "hand-over\", or set [MPTCP] Owner=groupd to take over"},
        {TRUE, GD_MPTCP_MODE_FAILOVER, FALSE, TRUE, NULL, NULL, 0,
         "endpoint 10.9.0.1 [signal] (id 3)", TRUE, "foreign-endpoints",
         "endpoint 10.9.0.1 [signal] (id 3) was not made by groupd; set [MPTCP] Owner=groupd "
         "to take over"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GdMpOwnerFacts f = {.available = cases[i].available,
                            .mode = cases[i].mode,
                            .forced = cases[i].forced,
                            .peers_known = cases[i].known,
                            .listener = cases[i].listener,
                            .nm = cases[i].nm,
                            .n_nm = cases[i].n_nm,
                            .foreign = cases[i].foreign};
        g_assert_cmpint(gd_mp_owner_contested(&f), ==, cases[i].contested);
        g_autofree char *owner = NULL, *detail = NULL;
        gd_mp_owner_decide(&f, &owner, &detail);
        g_assert_cmpstr(owner, ==, cases[i].owner);
        g_assert_cmpstr(detail, ==, cases[i].detail);
    }
}

static void test_first_foreign(void)
{
    g_autoptr(GArray) have = g_array_new(FALSE, TRUE, sizeof(GdMptcpEndpoint));
    g_autoptr(GHashTable) owned = g_hash_table_new(NULL, NULL);
    g_assert_cmpint(gd_mp_owner_first_foreign(have, owned), ==, -1);
    for (uint8_t id = 1; id <= 3; id++) {
        GdMptcpEndpoint ep = fx_endpoint("10.0.0.1", 0, GD_MPTCP_FLAG_SIGNAL);
        ep.id = id;
        g_array_append_val(have, ep);
    }
    g_hash_table_add(owned, GUINT_TO_POINTER(1));
    g_assert_cmpint(gd_mp_owner_first_foreign(have, owned), ==, 1);
    g_hash_table_add(owned, GUINT_TO_POINTER(2));
    g_hash_table_add(owned, GUINT_TO_POINTER(3));
    g_assert_cmpint(gd_mp_owner_first_foreign(have, owned), ==, -1);
}

/* /proc/net/netlink as this kernel writes it: sk, Eth (protocol), Pid
 * (port id), Groups (hex, the first 32), then counters. */
static const char proc_net_netlink[] =
    "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n"
    "0000000000000001 0   0          00000000 0        0        0     2        0        1\n"
    "0000000000000002 16  0          00000000 0        0        0     2        0        2\n"
    "0000000000000003 16  4242       00000000 0        0        0     2        0        3\n"
    "0000000000000004 16  4243       00000100 0        0        0     2        0        4\n"
    "0000000000000005 0   4244       00000100 0        0        0     2        0        5\n"
    "0000000000000006 16  100        00000100 0        0        0     2        0        6\n"
    "not a line of the table\n";

static void test_listeners(void)
{
    /* Group 9 is bit 8 (0x100): pid 4243 joined it; 4242 did not; 4244 is
     * not generic netlink; 100 is groupd itself; port 0 is the kernel. */
    g_autoptr(GArray) l = gd_mp_owner_listeners(proc_net_netlink, 100, 9);
    g_assert_cmpuint(l->len, ==, 1);
    g_assert_cmpuint(g_array_index(l, GdMpListener, 0).portid, ==, 4243);
    g_assert_true(g_array_index(l, GdMpListener, 0).known);
    /* Beyond group 32 the column cannot tell: every generic socket may. */
    g_autoptr(GArray) all = gd_mp_owner_listeners(proc_net_netlink, 100, 40);
    g_assert_cmpuint(all->len, ==, 2);
    g_assert_false(g_array_index(all, GdMpListener, 0).known);
    g_autoptr(GArray) empty = gd_mp_owner_listeners("", 100, 9);
    g_assert_cmpuint(empty->len, ==, 0);
}

static void test_describe_listener(void)
{
    const struct {
        guint portid;
        gboolean known;
        const char *comm;
        int comm_errno;
        const char *description;
    } cases[] = {
        {4243, TRUE, "mptcpd", 0, "mptcpd runs in this network namespace (pid 4243)"},
        {4243, TRUE, "NetworkManager", 0, NULL},
        /* Hidden (ProtectProc=invisible): may be a manager. */
        {4243, TRUE, NULL, ENOENT,
         "a process groupd cannot see (netlink port 4243) listens to mptcp_pm_events"},
        {4243, FALSE, NULL, ENOENT, NULL},
        {4243, TRUE, NULL, EACCES, NULL},
        /* A port id above any pid is not a process's. */
        {4194305, TRUE, NULL, ENOENT, NULL},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GdMpListener l = {.portid = cases[i].portid, .known = cases[i].known};
        g_autofree char *d = gd_mp_owner_describe_listener(&l, cases[i].comm, cases[i].comm_errno);
        g_assert_cmpstr(d, ==, cases[i].description);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptcp/owner/decide", test_decide);
    g_test_add_func("/mptcp/owner/first-foreign", test_first_foreign);
    g_test_add_func("/mptcp/owner/listeners", test_listeners);
    g_test_add_func("/mptcp/owner/describe-listener", test_describe_listener);
    return g_test_run();
}

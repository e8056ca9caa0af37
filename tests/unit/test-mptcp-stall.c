/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Silent path failures: src/mptcp/stall.c judges subflow samples, and
 * src/mptcp/watch.c reads them (and default routes) from the kernel's
 * messages, built here as the kernel sends them. */
#include <netinet/in.h>

#include "mptcp/stall.h"
#include "mptcp/watch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <string.h>

typedef union {
    struct nlmsghdr nlh;
    uint32_t align;
    uint8_t bytes[2048];
} MsgBuf;

static void test_links(void)
{
    const struct {
        const char *what;
        GdMpSubflowSample samples[4];
        guint n;
        int stalled[3]; /* ifindexes, 0-terminated */
    } cases[] = {
        {"an RTO with data out and silence",
         {{.ifindex = 3, .retransmits = 1, .unacked = 2, .last_ack_recv_ms = 250}},
         1,
         {3}},
        {"no RTO yet",
         {{.ifindex = 3, .retransmits = 0, .unacked = 2, .last_ack_recv_ms = 900}},
         1,
         {0}},
        {"nothing outstanding (a receiver)",
         {{.ifindex = 3, .retransmits = 2, .unacked = 0, .last_ack_recv_ms = 900}},
         1,
         {0}},
        {"an ACK not long ago",
         {{.ifindex = 3, .retransmits = 1, .unacked = 2, .last_ack_recv_ms = 150}},
         1,
         {0}},
        {"another subflow on the link moves",
         {{.ifindex = 3, .retransmits = 1, .unacked = 2, .last_ack_recv_ms = 400},
          {.ifindex = 3, .retransmits = 0, .unacked = 0, .last_ack_recv_ms = 20}},
         2,
         {0}},
        {"per link",
         {{.ifindex = 3, .retransmits = 1, .unacked = 2, .last_ack_recv_ms = 400},
          {.ifindex = 4, .retransmits = 3, .unacked = 9, .last_ack_recv_ms = 800},
          {.ifindex = 5, .retransmits = 0, .unacked = 0, .last_ack_recv_ms = 10},
          {.ifindex = 0, .retransmits = 5, .unacked = 5, .last_ack_recv_ms = 5000}},
         4,
         {3, 4}},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("%s", cases[i].what);
        g_autoptr(GArray) samples = g_array_new(FALSE, FALSE, sizeof(GdMpSubflowSample));
        g_array_append_vals(samples, cases[i].samples, cases[i].n);
        g_autoptr(GHashTable) stalled =
            gd_mp_stall_links(samples, GD_MP_STALL_MIN_SILENCE_MS, GD_MP_STALL_RECENT_PROGRESS_MS);
        guint n = 0;
        for (; cases[i].stalled[n]; n++)
            g_assert_true(g_hash_table_contains(stalled, GINT_TO_POINTER(cases[i].stalled[n])));
        g_assert_cmpuint(g_hash_table_size(stalled), ==, n);
    }
    /* The first stalled subflow of a link tells why. */
    GdMpSubflowSample two[] = {
        {.ifindex = 3, .retransmits = 1, .unacked = 2, .last_ack_recv_ms = 300},
        {.ifindex = 3, .retransmits = 2, .unacked = 2, .last_ack_recv_ms = 700},
    };
    g_autoptr(GArray) samples = g_array_new(FALSE, FALSE, sizeof(GdMpSubflowSample));
    g_array_append_vals(samples, two, 2);
    g_autoptr(GHashTable) stalled = gd_mp_stall_links(samples, 200, 100);
    g_assert_cmpstr(g_hash_table_lookup(stalled, GINT_TO_POINTER(3)), ==,
                    "retransmission timeout, no ACK for 300 ms");
}

static struct nlmsghdr *route(MsgBuf *buf, uint16_t type, uint8_t dst_len, uint8_t table,
                              uint8_t rtype)
{
    memset(buf, 0, sizeof(*buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf->bytes);
    nlh->nlmsg_type = type;
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = dst_len;
    rtm->rtm_table = table;
    rtm->rtm_type = rtype;
    return nlh;
}

static void test_default_routes(void)
{
    MsgBuf buf;
    const struct {
        uint16_t type;
        uint8_t dst_len, table, rtype;
        int oif;
        gboolean found;
    } cases[] = {
        {RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST, 3, TRUE},
        {RTM_NEWROUTE, 0, 100, RTN_UNICAST, 3, TRUE},
        {RTM_NEWROUTE, 24, RT_TABLE_MAIN, RTN_UNICAST, 3, FALSE},
        {RTM_NEWROUTE, 0, RT_TABLE_LOCAL, RTN_UNICAST, 3, FALSE},
        {RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_BLACKHOLE, 3, FALSE},
        {RTM_DELROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST, 3, FALSE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct nlmsghdr *nlh =
            route(&buf, cases[i].type, cases[i].dst_len, cases[i].table, cases[i].rtype);
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)cases[i].oif);
        g_autoptr(GHashTable) set = g_hash_table_new(NULL, NULL);
        gd_mp_watch_default_route_links(nlh, set);
        g_assert_cmpint(g_hash_table_contains(set, GINT_TO_POINTER(cases[i].oif)), ==,
                        cases[i].found);
        g_assert_cmpuint(g_hash_table_size(set), ==, cases[i].found ? 1 : 0);
    }
    /* Multipath: every next hop's link. */
    struct nlmsghdr *nlh = route(&buf, RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST);
    struct nlattr *mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
    for (int ifindex = 4; ifindex <= 5; ifindex++) {
        struct rtnexthop *nh = mnl_nlmsg_get_payload_tail(nlh);
        nh->rtnh_len = sizeof(*nh);
        nh->rtnh_ifindex = ifindex;
        nlh->nlmsg_len += RTNH_ALIGN(sizeof(*nh));
    }
    mnl_attr_nest_end(nlh, mp);
    g_autoptr(GHashTable) set = g_hash_table_new(NULL, NULL);
    gd_mp_watch_default_route_links(nlh, set);
    g_assert_cmpuint(g_hash_table_size(set), ==, 2);
    g_assert_true(g_hash_table_contains(set, GINT_TO_POINTER(4)));
    g_assert_true(g_hash_table_contains(set, GINT_TO_POINTER(5)));
    /* Truncated: nothing. */
    nlh = route(&buf, RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST);
    mnl_attr_put_u32(nlh, RTA_OIF, 3);
    nlh->nlmsg_len -= 2;
    g_autoptr(GHashTable) none = g_hash_table_new(NULL, NULL);
    gd_mp_watch_default_route_links(nlh, none);
    g_assert_cmpuint(g_hash_table_size(none), ==, 0);
}

/* One sock_diag answer for a TCP socket; ulp: its upper layer ("mptcp"
 * for a subflow), NULL for none. */
static struct nlmsghdr *diag(MsgBuf *buf, const char *src, int bound, const char *ulp,
                             const struct tcp_info *ti)
{
    memset(buf, 0, sizeof(*buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf->bytes);
    nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    struct inet_diag_msg *msg = mnl_nlmsg_put_extra_header(nlh, sizeof(*msg));
    msg->idiag_family = AF_INET;
    msg->id.idiag_if = (uint32_t)bound;
    g_assert_cmpint(inet_pton(AF_INET, src, msg->id.idiag_src), ==, 1);
    if (ti)
        mnl_attr_put(nlh, INET_DIAG_INFO, sizeof(*ti), ti);
    if (ulp) {
        struct nlattr *nest = mnl_attr_nest_start(nlh, INET_DIAG_ULP_INFO);
        mnl_attr_put_strz(nlh, INET_ULP_INFO_NAME, ulp);
        mnl_attr_nest_end(nlh, nest);
    }
    return nlh;
}

static void test_parse_subflow(void)
{
    MsgBuf buf;
    struct tcp_info ti = {.tcpi_retransmits = 2, .tcpi_unacked = 7, .tcpi_last_ack_recv = 640};
    GdMpSubflowSample s;
    g_assert_cmpint(gd_mp_watch_parse_subflow(diag(&buf, "10.1.0.2", 3, "mptcp", &ti), &s), ==, 0);
    g_assert_cmpuint(s.family, ==, AF_INET);
    g_assert_cmpint(s.bound_ifindex, ==, 3);
    g_assert_cmpint(s.ifindex, ==, 0);
    g_assert_cmpuint(s.retransmits, ==, 2);
    g_assert_cmpuint(s.unacked, ==, 7);
    g_assert_cmpuint(s.last_ack_recv_ms, ==, 640);
    uint8_t want[4];
    inet_pton(AF_INET, "10.1.0.2", want);
    g_assert_cmpmem(s.src, 4, want, 4);
    /* Plain TCP, another upper layer, no tcp_info, another message. */
    g_assert_cmpint(gd_mp_watch_parse_subflow(diag(&buf, "10.1.0.2", 0, NULL, &ti), &s), ==,
                    -EINVAL);
    g_assert_cmpint(gd_mp_watch_parse_subflow(diag(&buf, "10.1.0.2", 0, "tls", &ti), &s), ==,
                    -EINVAL);
    g_assert_cmpint(gd_mp_watch_parse_subflow(diag(&buf, "10.1.0.2", 0, "mptcp", NULL), &s), ==,
                    -EINVAL);
    struct nlmsghdr *nlh = diag(&buf, "10.1.0.2", 0, "mptcp", &ti);
    nlh->nlmsg_type = NLMSG_DONE;
    g_assert_cmpint(gd_mp_watch_parse_subflow(nlh, &s), ==, -EINVAL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptcp/stall/links", test_links);
    g_test_add_func("/mptcp/watch/default-routes", test_default_routes);
    g_test_add_func("/mptcp/watch/parse-subflow", test_parse_subflow);
    return g_test_run();
}

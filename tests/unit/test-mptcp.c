/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp_pm messages: what the builders write is what the parsers read,
 * malformed messages are refused, and the stall decision. */
#include <netinet/in.h>

#include "mptcp/pm.h"
#include "mptcp/stall.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/mptcp.h>
#include <string.h>

#define FAMILY_ID 0x1c

static void test_endpoint_round_trip(void)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    const struct {
        uint8_t family;
        const char *addr;
        uint32_t flags;
        int ifindex;
        uint16_t port;
    } cases[] = {
        {AF_INET, "10.1.0.2", MPTCP_PM_ADDR_FLAG_SUBFLOW, 3, 0},
        {AF_INET, "192.0.2.7", MPTCP_PM_ADDR_FLAG_SIGNAL | MPTCP_PM_ADDR_FLAG_BACKUP, 0, 8080},
        {AF_INET6, "fd00::2", MPTCP_PM_ADDR_FLAG_SUBFLOW | MPTCP_PM_ADDR_FLAG_FULLMESH, 17, 0},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GdMptcpEndpoint ep = {.id = (uint8_t)(i + 1),
                              .family = cases[i].family,
                              .flags = cases[i].flags,
                              .ifindex = cases[i].ifindex,
                              .port = cases[i].port};
        g_assert_cmpint(inet_pton(ep.family, cases[i].addr, ep.addr), ==, 1);
        struct nlmsghdr *nlh = gd_mp_pm_put_endpoint(buf, 7, FAMILY_ID, MPTCP_PM_CMD_ADD_ADDR, &ep);
        g_assert_cmpuint(nlh->nlmsg_type, ==, FAMILY_ID);
        g_assert_true(nlh->nlmsg_flags & NLM_F_ACK);
        const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
        g_assert_cmpuint(g->cmd, ==, MPTCP_PM_CMD_ADD_ADDR);
        GdMptcpEndpoint back;
        g_assert_cmpint(gd_mp_pm_parse_endpoint(nlh, FAMILY_ID, &back), ==, 0);
        g_assert_cmpuint(back.id, ==, ep.id);
        g_assert_cmpuint(back.family, ==, ep.family);
        g_assert_cmpmem(back.addr, 16, ep.addr, 16);
        g_assert_cmpuint(back.flags, ==, ep.flags);
        g_assert_cmpint(back.ifindex, ==, ep.ifindex);
        g_assert_cmpuint(back.port, ==, ep.port);
        g_autofree char *text = gd_mp_pm_addr_format(back.family, back.addr);
        g_assert_cmpstr(text, ==, cases[i].addr);
        /* Another family's message is not ours. */
        g_assert_cmpint(gd_mp_pm_parse_endpoint(nlh, FAMILY_ID + 1, &back), ==, -EINVAL);
    }
}

static void test_set_flags_by_id(void)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    GdMptcpEndpoint ep = {
        .id = 4, .family = AF_INET, .flags = MPTCP_PM_ADDR_FLAG_BACKUP, .ifindex = 3};
    inet_pton(AF_INET, "10.1.0.2", ep.addr);
    struct nlmsghdr *nlh = gd_mp_pm_put_endpoint(buf, 1, FAMILY_ID, MPTCP_PM_CMD_SET_FLAGS, &ep);
    /* Looked up by id alone: no family, address or device. */
    const struct nlattr *nest = NULL, *a;
    mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) if (mnl_attr_get_type(a) ==
                                                             MPTCP_PM_ATTR_ADDR) nest = a;
    g_assert_nonnull(nest);
    g_assert_true(nest->nla_type & NLA_F_NESTED);
    gboolean has_id = FALSE, has_flags = FALSE, other = FALSE;
    mnl_attr_for_each_nested(a, nest)
    {
        uint16_t t = mnl_attr_get_type(a);
        has_id |= t == MPTCP_PM_ADDR_ATTR_ID && mnl_attr_get_u8(a) == 4;
        has_flags |= t == MPTCP_PM_ADDR_ATTR_FLAGS && mnl_attr_get_u32(a) == ep.flags;
        other |= t != MPTCP_PM_ADDR_ATTR_ID && t != MPTCP_PM_ADDR_ATTR_FLAGS;
    }
    g_assert_true(has_id && has_flags && !other);
}

static void test_limits(void)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = gd_mp_pm_put_set_limits(buf, 1, FAMILY_ID, 4, 2);
    GdMptcpLimits limits;
    g_assert_cmpint(gd_mp_pm_parse_limits(nlh, FAMILY_ID, &limits), ==, 0);
    g_assert_cmpuint(limits.subflows, ==, 4);
    g_assert_cmpuint(limits.add_addr_accepted, ==, 2);
    /* -1 leaves a limit out; a reply without both is malformed. */
    nlh = gd_mp_pm_put_set_limits(buf, 1, FAMILY_ID, 3, -1);
    g_assert_cmpint(gd_mp_pm_parse_limits(nlh, FAMILY_ID, &limits), ==, -EPROTO);
}

static struct nlmsghdr *event_header(char *buf, uint8_t type)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = FAMILY_ID;
    struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
    g->cmd = type;
    g->version = MPTCP_PM_VER;
    return nlh;
}

static void test_event(void)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = event_header(buf, MPTCP_EVENT_SUB_ESTABLISHED);
    struct in_addr s, d;
    inet_pton(AF_INET, "10.2.0.2", &s);
    inet_pton(AF_INET, "10.9.0.1", &d);
    mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 0xdeadbeef);
    mnl_attr_put_u16(nlh, MPTCP_ATTR_FAMILY, AF_INET);
    mnl_attr_put(nlh, MPTCP_ATTR_SADDR4, 4, &s);
    mnl_attr_put(nlh, MPTCP_ATTR_DADDR4, 4, &d);
    mnl_attr_put_u16(nlh, MPTCP_ATTR_SPORT, htons(40000));
    mnl_attr_put_u16(nlh, MPTCP_ATTR_DPORT, htons(5201));
    mnl_attr_put_u8(nlh, MPTCP_ATTR_LOC_ID, 2);
    mnl_attr_put_u8(nlh, MPTCP_ATTR_REM_ID, 0);
    mnl_attr_put_u8(nlh, MPTCP_ATTR_BACKUP, 1);
    mnl_attr_put_u32(nlh, MPTCP_ATTR_IF_IDX, 5);
    GdMptcpEvent ev;
    g_assert_cmpint(gd_mp_pm_parse_event(nlh, FAMILY_ID, &ev), ==, 0);
    g_assert_cmpuint(ev.type, ==, MPTCP_EVENT_SUB_ESTABLISHED);
    g_assert_cmpuint(ev.token, ==, 0xdeadbeef);
    g_assert_cmpuint(ev.sport, ==, 40000);
    g_assert_cmpuint(ev.dport, ==, 5201);
    g_assert_cmpint(ev.backup, ==, 1);
    g_assert_cmpint(ev.ifindex, ==, 5);
    g_assert_cmpuint(ev.loc_id, ==, 2);
    g_autofree char *local = gd_mp_pm_addr_port_format(ev.family, ev.saddr, ev.sport);
    g_assert_cmpstr(local, ==, "10.2.0.2:40000");
    g_assert_cmpstr(gd_mp_pm_event_name(ev.type), ==, "sub-established");

    /* CLOSED carries the token alone; backup absent is -1. */
    nlh = event_header(buf, MPTCP_EVENT_CLOSED);
    mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 7);
    g_assert_cmpint(gd_mp_pm_parse_event(nlh, FAMILY_ID, &ev), ==, 0);
    g_assert_cmpint(ev.backup, ==, -1);
    g_assert_cmpuint(ev.family, ==, 0);

    /* IPv6 ports and addresses. */
    nlh = event_header(buf, MPTCP_EVENT_CREATED);
    struct in6_addr s6;
    inet_pton(AF_INET6, "fd00::2", &s6);
    mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 9);
    mnl_attr_put_u16(nlh, MPTCP_ATTR_FAMILY, AF_INET6);
    mnl_attr_put(nlh, MPTCP_ATTR_SADDR6, 16, &s6);
    mnl_attr_put_u16(nlh, MPTCP_ATTR_SPORT, htons(443));
    g_assert_cmpint(gd_mp_pm_parse_event(nlh, FAMILY_ID, &ev), ==, 0);
    g_autofree char *v6 = gd_mp_pm_addr_port_format(ev.family, ev.saddr, ev.sport);
    g_assert_cmpstr(v6, ==, "[fd00::2]:443");
}

static void test_malformed(void)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    GdMptcpEvent ev;
    GdMptcpEndpoint ep;

    /* No token. */
    struct nlmsghdr *nlh = event_header(buf, MPTCP_EVENT_CREATED);
    mnl_attr_put_u16(nlh, MPTCP_ATTR_FAMILY, AF_INET);
    g_assert_cmpint(gd_mp_pm_parse_event(nlh, FAMILY_ID, &ev), ==, -EPROTO);

    /* A token of the wrong size. */
    nlh = event_header(buf, MPTCP_EVENT_CREATED);
    mnl_attr_put_u16(nlh, MPTCP_ATTR_TOKEN, 1);
    g_assert_cmpint(gd_mp_pm_parse_event(nlh, FAMILY_ID, &ev), ==, -EPROTO);

    /* An unknown family. */
    nlh = event_header(buf, MPTCP_EVENT_CREATED);
    mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 1);
    mnl_attr_put_u16(nlh, MPTCP_ATTR_FAMILY, 99);
    g_assert_cmpint(gd_mp_pm_parse_event(nlh, FAMILY_ID, &ev), ==, -EPROTO);

    /* Truncated: the last attribute runs past nlmsg_len. */
    nlh = event_header(buf, MPTCP_EVENT_CREATED);
    mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 1);
    nlh->nlmsg_len -= 2;
    g_assert_cmpint(gd_mp_pm_parse_event(nlh, FAMILY_ID, &ev), ==, -EPROTO);

    /* Shorter than the genl header. */
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = FAMILY_ID;
    g_assert_cmpint(gd_mp_pm_parse_event(nlh, FAMILY_ID, &ev), ==, -EPROTO);

    /* An endpoint without address for its family, or without a nest. */
    nlh = event_header(buf, MPTCP_PM_CMD_GET_ADDR);
    struct nlattr *nest = mnl_attr_nest_start(nlh, MPTCP_PM_ATTR_ADDR);
    mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_FAMILY, AF_INET6);
    mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, 1);
    mnl_attr_nest_end(nlh, nest);
    g_assert_cmpint(gd_mp_pm_parse_endpoint(nlh, FAMILY_ID, &ep), ==, -EPROTO);
    nlh = event_header(buf, MPTCP_PM_CMD_GET_ADDR);
    g_assert_cmpint(gd_mp_pm_parse_endpoint(nlh, FAMILY_ID, &ep), ==, -EPROTO);
}

static void test_family(void)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = gd_mp_pm_put_get_family(buf, 3);
    g_assert_cmpuint(nlh->nlmsg_type, ==, GENL_ID_CTRL);

    /* A reply: family id and two multicast groups. */
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = GENL_ID_CTRL;
    struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
    g->cmd = CTRL_CMD_NEWFAMILY;
    mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "mptcp_pm");
    mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x1c);
    struct nlattr *groups = mnl_attr_nest_start(nlh, CTRL_ATTR_MCAST_GROUPS);
    const char *names[] = {"mptcp_pm_cmds", "mptcp_pm_events"};
    for (guint i = 0; i < 2; i++) {
        struct nlattr *grp = mnl_attr_nest_start(nlh, (uint16_t)(i + 1));
        mnl_attr_put_strz(nlh, CTRL_ATTR_MCAST_GRP_NAME, names[i]);
        mnl_attr_put_u32(nlh, CTRL_ATTR_MCAST_GRP_ID, 8 + i);
        mnl_attr_nest_end(nlh, grp);
    }
    mnl_attr_nest_end(nlh, groups);
    GdMptcpFamily family;
    g_assert_cmpint(gd_mp_pm_parse_family(nlh, &family), ==, 0);
    g_assert_cmpuint(family.family_id, ==, 0x1c);
    g_assert_cmpuint(family.events_group, ==, 9);
}

static void test_stall_decision(void)
{
    /* An RTO fired with data outstanding and silence: stalled. */
    g_assert_true(gd_mp_stall_subflow(1, 10, 250, 200));
    /* No RTO yet, nothing outstanding, or an ACK recently: not stalled. */
    g_assert_false(gd_mp_stall_subflow(0, 10, 5000, 200));
    g_assert_false(gd_mp_stall_subflow(2, 0, 5000, 200));
    g_assert_false(gd_mp_stall_subflow(1, 10, 150, 200));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptcp/endpoint/round-trip", test_endpoint_round_trip);
    g_test_add_func("/mptcp/endpoint/set-flags-by-id", test_set_flags_by_id);
    g_test_add_func("/mptcp/limits", test_limits);
    g_test_add_func("/mptcp/event", test_event);
    g_test_add_func("/mptcp/malformed", test_malformed);
    g_test_add_func("/mptcp/family", test_family);
    g_test_add_func("/mptcp/stall-decision", test_stall_decision);
    return g_test_run();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Silent path failures: src/mptcp/stall.c judges subflow samples and
 * echoes (scripts of samples and answers over time, and what it asks for
 * at each step), src/mptcp/watch.c reads the samples (and default routes)
 * from the kernel's messages, built here as the kernel sends them, and
 * src/mptcp/echo.c builds and reads the echoes. */
#include <netinet/in.h>

#include "mptcp-fixtures.h"
#include "mptcp/echo.h"
#include "mptcp/pm.h"
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

static void test_gateways(void)
{
    MsgBuf buf;
    const struct {
        const char *what;
        uint8_t family, dst_len;
        int oif;           /* 0: none */
        const char *gw;    /* NULL: none */
        const char *found; /* NULL: no gateway */
    } cases[] = {
        {"IPv4", AF_INET, 0, 3, "10.1.0.1", "10.1.0.1"},
        {"IPv6, link-local", AF_INET6, 0, 3, "fe80::1", "fe80::1"},
        {"no gateway (a point-to-point link)", AF_INET, 0, 3, NULL, NULL},
        {"no output link", AF_INET, 0, 0, "10.1.0.1", NULL},
        {"not a default route", AF_INET, 24, 3, "10.1.0.1", NULL},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("%s", cases[i].what);
        struct nlmsghdr *nlh =
            route(&buf, RTM_NEWROUTE, cases[i].dst_len, RT_TABLE_MAIN, RTN_UNICAST);
        ((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_family = cases[i].family;
        if (cases[i].oif)
            mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)cases[i].oif);
        if (cases[i].gw) {
            uint8_t addr[16];
            g_assert_cmpint(inet_pton(cases[i].family, cases[i].gw, addr), ==, 1);
            mnl_attr_put(nlh, RTA_GATEWAY, cases[i].family == AF_INET ? 4 : 16, addr);
        }
        int ifindex = 0;
        GdMpAddr gw;
        gboolean found = gd_mp_watch_default_route_gateway(nlh, &ifindex, &gw);
        g_assert_cmpint(found, ==, cases[i].found != NULL);
        if (found) {
            g_autofree char *text = gd_mp_pm_addr_format(gw.family, gw.addr);
            g_assert_cmpstr(text, ==, cases[i].found);
            g_assert_cmpint(ifindex, ==, cases[i].oif);
        }
    }
    /* A gateway of the wrong length. */
    struct nlmsghdr *nlh = route(&buf, RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST);
    mnl_attr_put_u32(nlh, RTA_OIF, 3);
    mnl_attr_put(nlh, RTA_GATEWAY, 16, (uint8_t[16]){0});
    int ifindex;
    GdMpAddr gw;
    g_assert_false(gd_mp_watch_default_route_gateway(nlh, &ifindex, &gw));
}

/* ---- the watched links over time ---- */

enum { LINK = 3, OTHER = 4 };
#define PEER    "10.9.0.1"
#define GATEWAY "10.1.0.1"

static GdMpAddr addr_of(const char *text)
{
    GdMpAddr a = {.family = strchr(text, ':') ? AF_INET6 : AF_INET};
    g_assert_cmpint(inet_pton(a.family, text, a.addr), ==, 1);
    return a;
}

/* One step of a script: at at_ms, a sample of the link's subflow (bytes
 * received, ms since its last data; bytes 0: no subflow), or an answer
 * from whom to the echo sent at sent_ms; then the actions expected
 * ("echo 10.9.0.1; stalled 10.9.0.1 (why)") and the next due time
 * (-1: none); last, the subflow's data segments received (in order or
 * not), 0 unless a script is about them. */
typedef struct {
    int at_ms;
    enum { SAMPLE, ANSWER, NO_SUBFLOW } input;
    guint64 bytes;
    guint last_data_ms;
    const char *from;
    int sent_ms;
    const char *expect;
    int due_ms;
    guint32 segs;
} Step;

static char *actions_text(const GArray *actions)
{
    g_autoptr(GString) text = g_string_new(NULL);
    for (guint i = 0; i < actions->len; i++) {
        const GdMpPathAction *a = &g_array_index(actions, GdMpPathAction, i);
        g_autofree char *target =
            a->has_target ? gd_mp_pm_addr_format(a->target.family, a->target.addr) : g_strdup("-");
        g_string_append_printf(text, "%s%s %s", text->len ? "; " : "",
                               a->op == GD_MP_PATH_ECHO ? "echo" : "stalled", target);
        if (a->detail)
            g_string_append_printf(text, " (%s)", a->detail);
        g_assert_cmpint(a->ifindex, ==, LINK);
    }
    return g_strdup(text->str);
}

static void play(const char *what, const Step *steps, guint n, guint rtt_us)
{
    g_test_message("%s", what);
    g_autoptr(GdMpPaths) paths = gd_mp_paths_new();
    gd_mp_paths_watch(paths, (const int[]){LINK}, 1);
    GdMpAddr gateway = addr_of(GATEWAY);
    gd_mp_paths_set_gateway(paths, LINK, &gateway);
    const gint64 base = SEC(1000);
    for (guint i = 0; i < n; i++) {
        const Step *st = &steps[i];
        gint64 now = base + (gint64)st->at_ms * 1000;
        g_autoptr(GArray) actions = gd_mp_path_actions_new();
        if (st->input == ANSWER) {
            GdMpAddr from = addr_of(st->from);
            gd_mp_paths_answered(paths, LINK, &from, base + (gint64)st->sent_ms * 1000, now);
        } else {
            g_autoptr(GArray) samples = g_array_new(FALSE, TRUE, sizeof(GdMpSubflowSample));
            if (st->input == SAMPLE) {
                GdMpSubflowSample s = {.family = AF_INET,
                                       .cookie = 77,
                                       .ifindex = LINK,
                                       .last_data_recv_ms = st->last_data_ms,
                                       .last_ack_recv_ms = st->last_data_ms,
                                       .bytes_received = st->bytes,
                                       .data_segs_in = st->segs,
                                       .rtt_us = rtt_us};
                inet_pton(AF_INET, PEER, s.dst);
                g_array_append_val(samples, s);
            }
            gd_mp_paths_update(paths, samples, now, actions);
        }
        g_autofree char *got = actions_text(actions);
        if (g_strcmp0(got, st->expect) != 0)
            g_error("%s, step %u (%d ms): %s, expected %s", what, i, st->at_ms, got, st->expect);
        gint64 due = gd_mp_paths_next_due(paths);
        gint64 want = st->due_ms < 0 ? G_MAXINT64 : base + (gint64)st->due_ms * 1000;
        if (due != want)
            g_error("%s, step %u (%d ms): due at %" G_GINT64_FORMAT " ms, expected %d", what, i,
                    st->at_ms, due == G_MAXINT64 ? -1 : (due - base) / 1000, st->due_ms);
    }
}

static void test_receiving(void)
{
    /* A download whose path dies: silent 100 ms, three echoes over 120 ms
     * go unanswered. */
    const Step dies[] = {
        {0, SAMPLE, 1000, 0, NULL, 0, "echo " PEER, 100}, /* the peer is tried at once */
        {1, ANSWER, 0, 0, PEER, 0, "", 100},              /* and answers: it may be asked */
        {50, SAMPLE, 5000, 0, NULL, 0, "", 150},
        {150, SAMPLE, 5000, 100, NULL, 0, "echo " PEER, 190},
        {190, SAMPLE, 5000, 140, NULL, 0, "echo " PEER, 230},
        {230, SAMPLE, 5000, 180, NULL, 0, "echo " PEER, 270},
        {269, SAMPLE, 5000, 219, NULL, 0, "", 270},
        {270, SAMPLE, 5000, 220, NULL, 0,
         "stalled " PEER " (no data for 220 ms, no answer from " PEER " in 120 ms)", -1},
        /* Reported once: the link starts over. */
        {300, SAMPLE, 5000, 250, NULL, 0, "", -1},
    };
    play("a download whose path dies", dies, G_N_ELEMENTS(dies), 1000);

    /* The peer had nothing to send: the path answers, and is asked again
     * 200, 400, 800, 1600 and 3200 ms after each answer (six echoes in
     * all), then left alone. */
    const Step idle[] = {
        {0, SAMPLE, 1000, 0, NULL, 0, "echo " PEER, 100},
        {1, ANSWER, 0, 0, PEER, 0, "", 100},
        {100, SAMPLE, 1000, 100, NULL, 0, "echo " PEER, 140},
        {102, ANSWER, 0, 0, PEER, 100, "", 302},
        /* An answer to an older echo changes nothing. */
        {103, ANSWER, 0, 0, PEER, 99, "", 302},
        {302, SAMPLE, 1000, 302, NULL, 0, "echo " PEER, 342},
        {303, ANSWER, 0, 0, PEER, 302, "", 703},
        {703, SAMPLE, 1000, 703, NULL, 0, "echo " PEER, 743},
        {704, ANSWER, 0, 0, PEER, 703, "", 1504},
        {1504, SAMPLE, 1000, 1504, NULL, 0, "echo " PEER, 1544},
        {1505, ANSWER, 0, 0, PEER, 1504, "", 3105},
        {3105, SAMPLE, 1000, 3105, NULL, 0, "echo " PEER, 3145},
        {3106, ANSWER, 0, 0, PEER, 3105, "", 6306},
        {6306, SAMPLE, 1000, 6306, NULL, 0, "echo " PEER, 6346},
        {6307, ANSWER, 0, 0, PEER, 6306, "", -1},
        {60000, SAMPLE, 1000, 60000, NULL, 0, "", -1},
        /* Data again: watched again. */
        {60010, SAMPLE, 1200, 0, NULL, 0, "", 60110},
    };
    play("an idle connection", idle, G_N_ELEMENTS(idle), 1000);

    /* Data during a probe ends it; an echo lost on the way is made up for
     * by the next. */
    const Step resumes[] = {
        {0, SAMPLE, 1000, 0, NULL, 0, "echo " PEER, 100},
        {1, ANSWER, 0, 0, PEER, 0, "", 100},
        {100, SAMPLE, 1000, 100, NULL, 0, "echo " PEER, 140},
        {120, SAMPLE, 1500, 0, NULL, 0, "", 220},
        {220, SAMPLE, 1500, 100, NULL, 0, "echo " PEER, 260},
        {260, SAMPLE, 1500, 140, NULL, 0, "echo " PEER, 300},
        {261, ANSWER, 0, 0, PEER, 260, "", 461},
    };
    play("data during a probe", resumes, G_N_ELEMENTS(resumes), 1000);

    /* Never received anything: nothing to judge. The subflow goes: nor
     * then. */
    const Step nothing[] = {
        {0, SAMPLE, 0, 5000, NULL, 0, "echo " PEER, 300},
        {1, ANSWER, 0, 0, PEER, 0, "", -1},
        {5000, SAMPLE, 0, 10000, NULL, 0, "", -1},
        {6000, NO_SUBFLOW, 0, 0, NULL, 0, "", -1},
    };
    play("nothing received", nothing, G_N_ELEMENTS(nothing), 1000);

    /* A slow path: the limits are four round trips (here 60 ms). */
    const Step slow[] = {
        {0, SAMPLE, 1000, 0, NULL, 0, "echo " PEER, 240},
        {50, ANSWER, 0, 0, PEER, 0, "", 240},
        {240, SAMPLE, 1000, 240, NULL, 0, "echo " PEER, 320},
        {320, SAMPLE, 1000, 320, NULL, 0, "echo " PEER, 400},
        {399, ANSWER, 0, 0, PEER, 320, "", 879},
    };
    play("a slow path", slow, G_N_ELEMENTS(slow), 60000);
}

/* A live link whose queue fills with a burst of the download: the echo
 * answers wait behind it, the subflow's round trip (1 ms) does not show
 * it. The window is twice the slowest answer lately: a slow answer widens
 * the next probes, and a dead path is still found, later by that much. */
static void test_loaded_path(void)
{
    const Step loaded[] = {
        {0, SAMPLE, 1000, 0, NULL, 0, "echo " PEER, 100},
        {1, ANSWER, 0, 0, PEER, 0, "", 100}, /* 1 ms: the base window, 120 ms */
        {100, SAMPLE, 1000, 100, NULL, 0, "echo " PEER, 140},
        {140, SAMPLE, 1000, 140, NULL, 0, "echo " PEER, 180},
        {180, SAMPLE, 1000, 180, NULL, 0, "echo " PEER, 220},
        /* A burst is queued: 105 ms, in time. */
        {205, ANSWER, 0, 0, PEER, 100, "", 405},
        {300, SAMPLE, 9000, 0, NULL, 0, "", 400},
        /* Silent again: 210 ms now, echoes 70 ms apart. */
        {400, SAMPLE, 9000, 100, NULL, 0, "echo " PEER, 470},
        {470, SAMPLE, 9000, 170, NULL, 0, "echo " PEER, 540},
        {540, SAMPLE, 9000, 240, NULL, 0, "echo " PEER, 610},
        /* 210 ms behind a fuller queue: past the base window (the stall
         * at 520 ms before), within this one. */
        {610, ANSWER, 0, 0, PEER, 400, "", 810},
        {700, SAMPLE, 20000, 0, NULL, 0, "", 800},
        /* Then the path dies: 420 ms for the answer, found 520 ms after
         * the last data. */
        {800, SAMPLE, 20000, 100, NULL, 0, "echo " PEER, 940},
        {940, SAMPLE, 20000, 240, NULL, 0, "echo " PEER, 1080},
        {1080, SAMPLE, 20000, 380, NULL, 0, "echo " PEER, 1220},
        {1219, SAMPLE, 20000, 519, NULL, 0, "", 1220},
        {1220, SAMPLE, 20000, 520, NULL, 0,
         "stalled " PEER " (no data for 520 ms, no answer from " PEER " in 420 ms)", -1},
    };
    play("a loaded path", loaded, G_N_ELEMENTS(loaded), 1000);

    /* The slow answer long ago: counts half every five minutes; after ten,
     * 52 ms, twice that below the base: 120 ms again. */
    const Step later[] = {
        {0, SAMPLE, 1000, 0, NULL, 0, "echo " PEER, 100},
        {210, ANSWER, 0, 0, PEER, 0, "", 100},
        {599000, SAMPLE, 2000, 0, NULL, 0, "", 599100},
        /* Nine minutes and 59 s: 105 ms, twice that is the window. */
        {599100, SAMPLE, 2000, 100, NULL, 0, "echo " PEER, 599170},
        {599101, ANSWER, 0, 0, PEER, 599100, "", 599301},
        {600200, SAMPLE, 3000, 0, NULL, 0, "", 600300},
        {600300, SAMPLE, 3000, 100, NULL, 0, "echo " PEER, 600340},
        {600340, SAMPLE, 3000, 140, NULL, 0, "echo " PEER, 600380},
        {600380, SAMPLE, 3000, 180, NULL, 0, "echo " PEER, 600420},
        {600420, SAMPLE, 3000, 220, NULL, 0,
         "stalled " PEER " (no data for 220 ms, no answer from " PEER " in 120 ms)", -1},
    };
    play("a slow answer long ago", later, G_N_ELEMENTS(later), 1000);

    /* A burst overflowed the queue: data behind the lost segment arrives
     * (segments, no in-order bytes, no newer last data) until the
     * retransmission fills the hole. The link is not silent meanwhile,
     * and data during a probe ends it. */
    const Step hole[] = {
        {0, SAMPLE, 1000, 0, NULL, 0, "echo " PEER, 100, 10},
        {1, ANSWER, 0, 0, PEER, 0, "", 100, 0},
        {50, SAMPLE, 5000, 0, NULL, 0, "", 150, 20},
        /* Received after the last sample: at 51 ms at the earliest. */
        {100, SAMPLE, 5000, 50, NULL, 0, "", 151, 30},
        {151, SAMPLE, 5000, 101, NULL, 0, "echo " PEER, 191, 30},
        {160, SAMPLE, 5000, 110, NULL, 0, "", 252, 40},
        {200, SAMPLE, 30000, 0, NULL, 0, "", 300, 50},
        /* The same count: nothing new. */
        {300, SAMPLE, 30000, 100, NULL, 0, "echo " PEER, 340, 50},
    };
    play("data behind a hole", hole, G_N_ELEMENTS(hole), 1000);
}

static void test_windows(void)
{
    const struct {
        guint rtt_us, slow_us;
        gint64 window_us;
    } windows[] = {
        {1000, 0, 120000},          /* the base */
        {10000, 50000, 120000},     /* a fast link's answers: below it */
        {1000, 90000, 180000},      /* twice the slowest answer */
        {1000, 205000, 410000},     /* behind a full 2 Mbit/s queue */
        {1000, 3000000, 1000000},   /* a second at most */
        {60000, 0, 240000},         /* four round trips */
        {300000, 3000000, 1200000}, /* which the cap does not bound */
    };
    for (guint i = 0; i < G_N_ELEMENTS(windows); i++)
        g_assert_cmpint(gd_mp_stall_rx_probe_time(windows[i].rtt_us, windows[i].slow_us), ==,
                        windows[i].window_us);
    const gint64 half = (gint64)GD_MP_RX_SLOW_HALF_LIFE_MS * 1000;
    const struct {
        guint slow_us;
        gint64 age_us;
        guint decayed_us;
    } decay[] = {
        {400000, 0, 400000},        {400000, half - 1, 400000}, {400000, half, 200000},
        {400000, 2 * half, 100000}, {400000, -5, 400000},       {400000, 40 * half, 0},
    };
    for (guint i = 0; i < G_N_ELEMENTS(decay); i++)
        g_assert_cmpuint(gd_mp_stall_rx_slow_decayed(decay[i].slow_us, decay[i].age_us), ==,
                         decay[i].decayed_us);
}

static void test_targets(void)
{
    /* The peer never answers (ICMP filtered): tried three times 300 ms
     * apart; the silence is not judged meanwhile. Then the gateway is
     * tried, answers, and is asked from then on. */
    const Step filtered[] = {
        {0, SAMPLE, 1000, 0, NULL, 0, "echo " PEER, 100},
        {100, SAMPLE, 1000, 100, NULL, 0, "", 300},
        {300, SAMPLE, 1000, 300, NULL, 0, "echo " PEER, 600},
        {600, SAMPLE, 1000, 600, NULL, 0, "echo " PEER, 900},
        {900, SAMPLE, 1000, 900, NULL, 0, "echo " GATEWAY, 1200},
        {901, ANSWER, 0, 0, GATEWAY, 900, "", 60600},
        {1000, SAMPLE, 2000, 0, NULL, 0, "", 1100},
        {1100, SAMPLE, 2000, 100, NULL, 0, "echo " GATEWAY, 1140},
        {1140, SAMPLE, 2000, 140, NULL, 0, "echo " GATEWAY, 1180},
        {1180, SAMPLE, 2000, 180, NULL, 0, "echo " GATEWAY, 1220},
        {1220, SAMPLE, 2000, 220, NULL, 0,
         "stalled " GATEWAY " (no data for 220 ms, no answer from " GATEWAY " in 120 ms)", 60600},
        /* A minute after its last try the peer is tried again. */
        {60600, SAMPLE, 2000, 59600, NULL, 0, "echo " PEER, 60900},
    };
    play("the peer does not answer echoes", filtered, G_N_ELEMENTS(filtered), 1000);
}

static void test_sending_and_links(void)
{
    g_autoptr(GdMpPaths) paths = gd_mp_paths_new();
    gd_mp_paths_watch(paths, (const int[]){LINK, OTHER}, 2);
    g_autoptr(GArray) samples = g_array_new(FALSE, TRUE, sizeof(GdMpSubflowSample));
    GdMpSubflowSample s = {.family = AF_INET, .cookie = 1, .ifindex = LINK, .bytes_received = 10};
    inet_pton(AF_INET, PEER, s.dst);
    g_array_append_val(samples, s);
    gint64 now = SEC(10);
    g_autoptr(GArray) actions = gd_mp_path_actions_new();
    gd_mp_paths_update(paths, samples, now, actions);
    g_assert_cmpuint(actions->len, ==, 1); /* the peer, tried */
    GdMpAddr peer = addr_of(PEER), target;
    g_assert_false(gd_mp_paths_target(paths, LINK, &target));
    gd_mp_paths_answered(paths, LINK, &peer, now, now + 1000);
    g_assert_true(gd_mp_paths_target(paths, LINK, &target));
    g_assert_true(gd_mp_addr_equal(&target, &peer));
    g_assert_false(gd_mp_paths_target(paths, OTHER, &target));

    /* Sending: a retransmission timeout without an ACK; the address that
     * answered tells the heal. */
    g_array_index(samples, GdMpSubflowSample, 0).retransmits = 1;
    g_array_index(samples, GdMpSubflowSample, 0).unacked = 3;
    g_array_index(samples, GdMpSubflowSample, 0).last_ack_recv_ms = 400;
    g_array_set_size(actions, 0);
    gd_mp_paths_update(paths, samples, now + SEC(1), actions);
    g_assert_cmpuint(actions->len, ==, 1);
    const GdMpPathAction *a = &g_array_index(actions, GdMpPathAction, 0);
    g_assert_cmpint(a->op, ==, GD_MP_PATH_STALLED);
    g_assert_cmpint(a->ifindex, ==, LINK);
    g_assert_true(a->has_target && gd_mp_addr_equal(&a->target, &peer));
    g_assert_cmpstr(a->detail, ==, "retransmission timeout, no ACK for 400 ms");

    /* No longer watched: forgotten, but what answers is remembered… */
    gd_mp_paths_watch(paths, (const int[]){OTHER}, 1);
    g_assert_true(gd_mp_paths_target(paths, LINK, &target));
    g_assert_cmpint(gd_mp_paths_next_due(paths), ==, G_MAXINT64);
    gd_mp_paths_set_gateway(paths, OTHER, NULL);
    /* … for ten minutes. */
    g_array_set_size(actions, 0);
    gd_mp_paths_update(paths, samples, now + SEC(1) + GD_MP_TARGET_FORGET_MS * 1000 - 1, actions);
    g_assert_true(gd_mp_paths_target(paths, LINK, &target));
    gd_mp_paths_update(paths, samples, now + SEC(1) + GD_MP_TARGET_FORGET_MS * 1000, actions);
    g_assert_false(gd_mp_paths_target(paths, LINK, &target));
    g_assert_cmpuint(actions->len, ==, 0);

    /* IPv6 addresses compare in full; IPv4 in their four bytes. */
    GdMpAddr a6 = addr_of("fd00::1"), b6 = addr_of("fd00::2"), c4 = addr_of("10.0.0.1");
    g_assert_false(gd_mp_addr_equal(&a6, &b6));
    g_assert_true(gd_mp_addr_equal(&a6, &a6));
    g_assert_false(gd_mp_addr_equal(&a6, &c4));
    g_assert_cmpint(gd_mp_stall_rx_silence(0), ==, 100000);
    g_assert_cmpint(gd_mp_stall_rx_silence(50000), ==, 200000);
}

static void test_echo_messages(void)
{
    uint8_t buf[64];
    const uint8_t families[] = {AF_INET, AF_INET6};
    for (guint i = 0; i < G_N_ELEMENTS(families); i++) {
        gsize n = gd_mp_echo_build(families[i], 0x1234, buf, sizeof(buf));
        g_assert_cmpuint(n, >, 8);
        g_assert_cmpuint(buf[0], ==, families[i] == AF_INET ? 8 : 128); /* echo request */
        g_assert_cmpuint(buf[6], ==, 0x12);
        g_assert_cmpuint(buf[7], ==, 0x34);
        uint16_t seq;
        /* Our own request is not an answer. */
        g_assert_cmpint(gd_mp_echo_parse(families[i], buf, n, &seq), ==, -EINVAL);
        buf[0] = families[i] == AF_INET ? 0 : 129;
        g_assert_cmpint(gd_mp_echo_parse(families[i], buf, n, &seq), ==, 0);
        g_assert_cmpuint(seq, ==, 0x1234);
        g_assert_cmpint(gd_mp_echo_parse(families[i], buf, 7, &seq), ==, -EINVAL);
        buf[1] = 1; /* a code an echo reply does not have */
        g_assert_cmpint(gd_mp_echo_parse(families[i], buf, n, &seq), ==, -EINVAL);
    }
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
    struct tcp_info ti = {.tcpi_retransmits = 2,
                          .tcpi_unacked = 7,
                          .tcpi_last_ack_recv = 640,
                          .tcpi_last_data_recv = 30,
                          .tcpi_bytes_received = 1ull << 33,
                          .tcpi_data_segs_in = 4242,
                          .tcpi_rtt = 1500,
                          .tcpi_rcv_rtt = 900000};
    GdMpSubflowSample s;
    struct nlmsghdr *nlh = diag(&buf, "10.1.0.2", 3, "mptcp", &ti);
    struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);
    g_assert_cmpint(inet_pton(AF_INET, "10.9.0.1", msg->id.idiag_dst), ==, 1);
    msg->id.idiag_cookie[0] = 0x89abcdef;
    msg->id.idiag_cookie[1] = 0x1234567;
    g_assert_cmpint(gd_mp_watch_parse_subflow(nlh, &s), ==, 0);
    g_assert_cmpuint(s.family, ==, AF_INET);
    g_assert_cmpint(s.bound_ifindex, ==, 3);
    g_assert_cmpint(s.ifindex, ==, 0);
    g_assert_cmpuint(s.retransmits, ==, 2);
    g_assert_cmpuint(s.unacked, ==, 7);
    g_assert_cmpuint(s.last_ack_recv_ms, ==, 640);
    g_assert_cmpuint(s.last_data_recv_ms, ==, 30);
    g_assert_cmpuint(s.bytes_received, ==, 1ull << 33);
    g_assert_cmpuint(s.data_segs_in, ==, 4242);
    g_assert_cmpuint(s.rtt_us, ==, 1500);
    g_assert_cmpuint(s.cookie, ==, 0x123456789abcdefull);
    uint8_t want[4];
    inet_pton(AF_INET, "10.1.0.2", want);
    g_assert_cmpmem(s.src, 4, want, 4);
    inet_pton(AF_INET, "10.9.0.1", want);
    g_assert_cmpmem(s.dst, 4, want, 4);
    /* Plain TCP, another upper layer, no tcp_info, another message. */
    g_assert_cmpint(gd_mp_watch_parse_subflow(diag(&buf, "10.1.0.2", 0, NULL, &ti), &s), ==,
                    -EINVAL);
    g_assert_cmpint(gd_mp_watch_parse_subflow(diag(&buf, "10.1.0.2", 0, "tls", &ti), &s), ==,
                    -EINVAL);
    g_assert_cmpint(gd_mp_watch_parse_subflow(diag(&buf, "10.1.0.2", 0, "mptcp", NULL), &s), ==,
                    -EINVAL);
    nlh = diag(&buf, "10.1.0.2", 0, "mptcp", &ti);
    nlh->nlmsg_type = NLMSG_DONE;
    g_assert_cmpint(gd_mp_watch_parse_subflow(nlh, &s), ==, -EINVAL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptcp/stall/links", test_links);
    g_test_add_func("/mptcp/stall/receiving", test_receiving);
    g_test_add_func("/mptcp/stall/loaded-path", test_loaded_path);
    g_test_add_func("/mptcp/stall/windows", test_windows);
    g_test_add_func("/mptcp/stall/targets", test_targets);
    g_test_add_func("/mptcp/stall/sending-and-links", test_sending_and_links);
    g_test_add_func("/mptcp/echo/messages", test_echo_messages);
    g_test_add_func("/mptcp/watch/default-routes", test_default_routes);
    g_test_add_func("/mptcp/watch/gateways", test_gateways);
    g_test_add_func("/mptcp/watch/parse-subflow", test_parse_subflow);
    return g_test_run();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Default routes and subflow progress for the MPTCP manager. */
/* glibc's netinet/in.h first: linux/in.h (via linux/mptcp.h) then defers to it. */
#include <netinet/in.h>

#include "mptcp/watch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* A subflow is stalled after one retransmission timeout without an ACK for
 * this long; the first RTO fires after at least 200 ms (TCP_RTO_MIN). */
#define STALL_MIN_SILENCE_MS 200
/* A link where some subflow had an ACK this recently is alive. */
#define RECENT_PROGRESS_MS 100

enum { TCP_ESTABLISHED_STATE = 1 }; /* TCP_ESTABLISHED of the kernel's enum */

struct GdMptcpWatch {
    GdCache *cache;
    GdMptcpRoutesFunc routes_changed;
    GdMptcpStallFunc stalled;
    gpointer user_data;

    GdNlSocket *route_events;
    GdNlSocket *route_dumps;
    guint route_watch;
    GHashTable *defaults; /* ifindex set: has a default route now */
    GHashTable *seen;     /* ifindex set: had one since start */

    GdNlSocket *diag;
    GArray *stall_links; /* int ifindex */
    guint stall_timer;
    guint interval_ms;
};

gboolean gd_mptcp_subflow_stalled(guint retransmits, guint unacked, guint last_ack_recv_ms,
                                  guint min_silence_ms)
{
    return retransmits >= 1 && unacked > 0 && last_ack_recv_ms >= min_silence_ms;
}

/* ---- routes ---- */

static int collect_attr(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);
    if (type <= RTA_MAX)
        tb[type] = attr;
    return MNL_CB_OK;
}

/* Adds the output links of a default route to set. */
static void default_route_links(const struct nlmsghdr *nlh, GHashTable *set)
{
    if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct rtmsg))
        return;
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    if (rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST || rtm->rtm_table == RT_TABLE_LOCAL)
        return;
    const struct nlattr *tb[RTA_MAX + 1] = {0};
    if (mnl_attr_parse(nlh, sizeof(*rtm), collect_attr, tb) != MNL_CB_OK ||
        !gd_nl_attrs_complete(nlh, sizeof(*rtm)))
        return;
    if (tb[RTA_OIF] && mnl_attr_get_payload_len(tb[RTA_OIF]) == 4)
        g_hash_table_add(set, GINT_TO_POINTER((int)mnl_attr_get_u32(tb[RTA_OIF])));
    if (tb[RTA_MULTIPATH]) {
        const char *p = mnl_attr_get_payload(tb[RTA_MULTIPATH]);
        size_t left = mnl_attr_get_payload_len(tb[RTA_MULTIPATH]);
        while (left >= sizeof(struct rtnexthop)) {
            const struct rtnexthop *nh = (const struct rtnexthop *)p;
            if (nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > left)
                break;
            g_hash_table_add(set, GINT_TO_POINTER(nh->rtnh_ifindex));
            size_t step = RTNH_ALIGN(nh->rtnh_len);
            if (step >= left)
                break;
            p += step;
            left -= step;
        }
    }
}

static void route_dump_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    default_route_links(nlh, user_data);
}

void gd_mptcp_watch_refresh_routes(GdMptcpWatch *w)
{
    if (!w->route_events)
        return; /* not watching: nothing depends on routes */
    g_autoptr(GHashTable) now = g_hash_table_new(NULL, NULL);
    const uint8_t families[] = {AF_INET, AF_INET6};
    for (guint i = 0; i < G_N_ELEMENTS(families); i++) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETROUTE;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = families[i];
        int r = gd_nl_dump(w->route_dumps, nlh, route_dump_cb, NULL, now, NULL);
        if (r < 0) {
            g_warning("mptcp: cannot read routes: %s; keeping the last known", g_strerror(-r));
            return;
        }
    }
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, now);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_hash_table_add(w->seen, key);
    g_hash_table_unref(w->defaults);
    w->defaults = g_hash_table_ref(now);
}

gboolean gd_mptcp_watch_route_lost(GdMptcpWatch *w, int ifindex)
{
    gpointer key = GINT_TO_POINTER(ifindex);
    return g_hash_table_contains(w->seen, key) && !g_hash_table_contains(w->defaults, key);
}

static void route_event_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    gboolean *relevant = user_data;
    if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
        return;
    if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct rtmsg)) {
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        if (rtm->rtm_dst_len == 0)
            *relevant = TRUE;
    }
}

static gboolean route_events_cb(gint fd, GIOCondition condition, gpointer user_data)
{
    GdMptcpWatch *w = user_data;
    gboolean relevant = FALSE;
    int r = gd_nl_socket_drain(w->route_events, 64, route_event_cb, &relevant);
    if (r == -ENOBUFS)
        relevant = TRUE; /* lost some: read them all again */
    if (relevant && w->routes_changed)
        w->routes_changed(w, w->user_data);
    return G_SOURCE_CONTINUE;
}

/* ---- subflow progress ---- */

typedef struct {
    GdMptcpWatch *w;
    GHashTable *stalled;  /* ifindex → detail (owned) */
    GHashTable *progress; /* ifindex set: recent ACK */
} DiagScan;

/* The watched link a socket belongs to: its bound device, else the link
 * that has its source address. */
static int socket_link(GdMptcpWatch *w, const struct inet_diag_msg *msg)
{
    for (guint i = 0; i < w->stall_links->len; i++) {
        int ifindex = g_array_index(w->stall_links, int, i);
        if (msg->id.idiag_if && (int)msg->id.idiag_if == ifindex)
            return ifindex;
        GdLink *link = gd_cache_link_by_index(w->cache, ifindex);
        if (!link)
            continue;
        for (guint k = 0; k < link->addrs->len; k++) {
            const GdNlAddr *a = &g_array_index(link->addrs, GdNlAddr, k);
            if (a->family == msg->idiag_family &&
                memcmp(a->addr, msg->id.idiag_src, a->family == AF_INET ? 4 : 16) == 0)
                return ifindex;
        }
    }
    return 0;
}

static void diag_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    DiagScan *scan = user_data;
    if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
        nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct inet_diag_msg))
        return;
    const struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *info = NULL, *ulp = NULL, *attr;
    mnl_attr_for_each(attr, nlh, sizeof(*msg))
    {
        if (mnl_attr_get_type(attr) == INET_DIAG_INFO)
            info = attr;
        else if (mnl_attr_get_type(attr) == INET_DIAG_ULP_INFO)
            ulp = attr;
    }
    if (!info || !ulp)
        return;
    /* Only MPTCP subflows. */
    gboolean is_mptcp = FALSE;
    const struct nlattr *u;
    mnl_attr_for_each_nested(u, ulp)
    {
        if (mnl_attr_get_type(u) == INET_ULP_INFO_NAME &&
            mnl_attr_validate(u, MNL_TYPE_NUL_STRING) == 0)
            is_mptcp = g_str_equal(mnl_attr_get_str(u), "mptcp");
    }
    if (!is_mptcp)
        return;
    int ifindex = socket_link(scan->w, msg);
    if (!ifindex)
        return;
    struct tcp_info ti = {0};
    memcpy(&ti, mnl_attr_get_payload(info), MIN(mnl_attr_get_payload_len(info), sizeof(ti)));
    if (ti.tcpi_last_ack_recv < RECENT_PROGRESS_MS)
        g_hash_table_add(scan->progress, GINT_TO_POINTER(ifindex));
    if (gd_mptcp_subflow_stalled(ti.tcpi_retransmits, ti.tcpi_unacked, ti.tcpi_last_ack_recv,
                                 STALL_MIN_SILENCE_MS) &&
        !g_hash_table_contains(scan->stalled, GINT_TO_POINTER(ifindex))) {
        g_hash_table_insert(
            scan->stalled, GINT_TO_POINTER(ifindex),
            g_strdup_printf("retransmission timeout, no ACK for %u ms", ti.tcpi_last_ack_recv));
    }
}

static gboolean stall_tick_cb(gpointer user_data)
{
    GdMptcpWatch *w = user_data;
    DiagScan scan = {.w = w,
                     .stalled = g_hash_table_new_full(NULL, NULL, NULL, g_free),
                     .progress = g_hash_table_new(NULL, NULL)};
    const uint8_t families[] = {AF_INET, AF_INET6};
    for (guint i = 0; i < G_N_ELEMENTS(families); i++) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
        req->sdiag_family = families[i];
        req->sdiag_protocol = IPPROTO_TCP;
        req->idiag_states = 1u << TCP_ESTABLISHED_STATE;
        req->idiag_ext = 1u << (INET_DIAG_INFO - 1);
        int r = gd_nl_dump(w->diag, nlh, diag_cb, NULL, &scan, NULL);
        if (r < 0)
            g_debug("mptcp: sock_diag dump: %s", g_strerror(-r));
    }
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, scan.stalled);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        if (g_hash_table_contains(scan.progress, key))
            continue; /* another subflow on the link is moving */
        if (w->stalled)
            w->stalled(w, GPOINTER_TO_INT(key), value, w->user_data);
    }
    g_hash_table_unref(scan.stalled);
    g_hash_table_unref(scan.progress);
    return G_SOURCE_CONTINUE;
}

void gd_mptcp_watch_set_stall_links(GdMptcpWatch *w, const int *ifindexes, guint n,
                                    guint interval_ms)
{
    g_array_set_size(w->stall_links, 0);
    g_array_append_vals(w->stall_links, ifindexes, n);
    if (!n || !interval_ms) {
        g_clear_handle_id(&w->stall_timer, g_source_remove);
        return;
    }
    if (w->stall_timer && w->interval_ms == interval_ms)
        return;
    g_clear_handle_id(&w->stall_timer, g_source_remove);
    w->interval_ms = interval_ms;
    w->stall_timer = g_timeout_add_full(G_PRIORITY_HIGH, interval_ms, stall_tick_cb, w, NULL);
}

/* ---- life cycle ---- */

int gd_mptcp_watch_new(GdCache *cache, GdMptcpRoutesFunc routes_changed, GdMptcpStallFunc stalled,
                       gpointer user_data, GdMptcpWatch **out)
{
    GdMptcpWatch *w = g_new0(GdMptcpWatch, 1);
    w->cache = cache;
    w->routes_changed = routes_changed;
    w->stalled = stalled;
    w->user_data = user_data;
    w->defaults = g_hash_table_new(NULL, NULL);
    w->seen = g_hash_table_new(NULL, NULL);
    w->stall_links = g_array_new(FALSE, FALSE, sizeof(int));
    int r = gd_nl_socket_open(NULL, 0, 0, 0, &w->route_dumps);
    if (r >= 0)
        r = gd_nl_socket_open_protocol(NETLINK_SOCK_DIAG, NULL, 0, 0, 0, &w->diag);
    if (r < 0) {
        gd_mptcp_watch_free(w);
        return r;
    }
    *out = w;
    return 0;
}

int gd_mptcp_watch_set_routes(GdMptcpWatch *w, gboolean on)
{
    if (on == (w->route_events != NULL))
        return 0;
    if (!on) {
        g_clear_handle_id(&w->route_watch, g_source_remove);
        g_clear_pointer(&w->route_events, gd_nl_socket_close);
        return 0;
    }
    const unsigned groups[] = {RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE};
    int r = gd_nl_socket_open(groups, G_N_ELEMENTS(groups), 1024 * 1024, 0, &w->route_events);
    if (r < 0) {
        g_warning("mptcp: cannot watch routes: %s", g_strerror(-r));
        return r;
    }
    w->route_watch = g_unix_fd_add(gd_nl_socket_fd(w->route_events), G_IO_IN, route_events_cb, w);
    gd_mptcp_watch_refresh_routes(w);
    return 0;
}

void gd_mptcp_watch_free(GdMptcpWatch *w)
{
    if (!w)
        return;
    g_clear_handle_id(&w->route_watch, g_source_remove);
    g_clear_handle_id(&w->stall_timer, g_source_remove);
    g_clear_pointer(&w->route_events, gd_nl_socket_close);
    g_clear_pointer(&w->route_dumps, gd_nl_socket_close);
    g_clear_pointer(&w->diag, gd_nl_socket_close);
    g_hash_table_unref(w->defaults);
    g_hash_table_unref(w->seen);
    g_array_unref(w->stall_links);
    g_free(w);
}

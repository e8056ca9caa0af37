/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Default routes and subflow progress for the MPTCP manager. */
/* glibc's netinet/in.h first: linux/in.h (via linux/mptcp.h) then defers to it. */
#include <netinet/in.h>

#include "mptcp/watch.h"
#include "mptcp/stall.h"

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

enum { TCP_ESTABLISHED_STATE = 1 }; /* TCP_ESTABLISHED of the kernel's enum */

struct GdMpWatch {
    GdCache *cache;
    GdMpWatchRoutesFunc routes_changed;
    GdMpWatchStallFunc stalled;
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

/* ---- routes ---- */

static int collect_attr(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);
    if (type <= RTA_MAX)
        tb[type] = attr;
    return MNL_CB_OK;
}

void gd_mp_watch_default_route_links(const struct nlmsghdr *nlh, GHashTable *set)
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
    gd_mp_watch_default_route_links(nlh, user_data);
}

void gd_mp_watch_refresh_routes(GdMpWatch *w)
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

gboolean gd_mp_watch_route_lost(GdMpWatch *w, int ifindex)
{
    gpointer key = GINT_TO_POINTER(ifindex);
    return g_hash_table_contains(w->seen, key) && !g_hash_table_contains(w->defaults, key);
}

gboolean gd_mp_watch_has_default_route(GdMpWatch *w, int ifindex)
{
    return g_hash_table_contains(w->defaults, GINT_TO_POINTER(ifindex));
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
    GdMpWatch *w = user_data;
    gboolean relevant = FALSE;
    int r = gd_nl_socket_drain(w->route_events, 64, route_event_cb, &relevant);
    if (r == -ENOBUFS)
        relevant = TRUE; /* lost some: read them all again */
    if (relevant && w->routes_changed)
        w->routes_changed(w, w->user_data);
    return G_SOURCE_CONTINUE;
}

/* ---- subflow progress ---- */

/* The watched link a subflow belongs to: its bound device, else the link
 * that has its source address. */
static int subflow_link(GdMpWatch *w, const GdMpSubflowSample *s)
{
    for (guint i = 0; i < w->stall_links->len; i++) {
        int ifindex = g_array_index(w->stall_links, int, i);
        if (s->bound_ifindex && s->bound_ifindex == ifindex)
            return ifindex;
        GdLink *link = gd_cache_link_by_index(w->cache, ifindex);
        if (!link)
            continue;
        for (guint k = 0; k < link->addrs->len; k++) {
            const GdNlAddr *a = &g_array_index(link->addrs, GdNlAddr, k);
            if (a->family == s->family &&
                memcmp(a->addr, s->src, a->family == AF_INET ? 4 : 16) == 0)
                return ifindex;
        }
    }
    return 0;
}

int gd_mp_watch_parse_subflow(const struct nlmsghdr *nlh, GdMpSubflowSample *out)
{
    if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
        nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct inet_diag_msg))
        return -EINVAL;
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
        return -EINVAL;
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
        return -EINVAL;
    struct tcp_info ti = {0};
    memcpy(&ti, mnl_attr_get_payload(info), MIN(mnl_attr_get_payload_len(info), sizeof(ti)));
    *out = (GdMpSubflowSample){
        .family = msg->idiag_family,
        .bound_ifindex = (int)msg->id.idiag_if,
        .retransmits = ti.tcpi_retransmits,
        .unacked = ti.tcpi_unacked,
        .last_ack_recv_ms = ti.tcpi_last_ack_recv,
    };
    G_STATIC_ASSERT(sizeof(out->src) == sizeof(msg->id.idiag_src));
    memcpy(out->src, msg->id.idiag_src, sizeof(out->src));
    return 0;
}

static void diag_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    GdMpWatch *w = ((gpointer *)user_data)[0];
    GArray *samples = ((gpointer *)user_data)[1];
    GdMpSubflowSample s;
    if (gd_mp_watch_parse_subflow(nlh, &s) < 0)
        return;
    s.ifindex = subflow_link(w, &s);
    if (s.ifindex)
        g_array_append_val(samples, s);
}

static gboolean stall_tick_cb(gpointer user_data)
{
    GdMpWatch *w = user_data;
    g_autoptr(GArray) samples = g_array_new(FALSE, FALSE, sizeof(GdMpSubflowSample));
    gpointer scan[] = {w, samples};
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
        int r = gd_nl_dump(w->diag, nlh, diag_cb, NULL, scan, NULL);
        if (r < 0)
            g_debug("mptcp: sock_diag dump: %s", g_strerror(-r));
    }
    g_autoptr(GHashTable) stalled =
        gd_mp_stall_links(samples, GD_MP_STALL_MIN_SILENCE_MS, GD_MP_STALL_RECENT_PROGRESS_MS);
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, stalled);
    while (g_hash_table_iter_next(&iter, &key, &value))
        if (w->stalled)
            w->stalled(w, GPOINTER_TO_INT(key), value, w->user_data);
    return G_SOURCE_CONTINUE;
}

void gd_mp_watch_set_stall_links(GdMpWatch *w, const int *ifindexes, guint n, guint interval_ms)
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

int gd_mp_watch_new(GdCache *cache, GdMpWatchRoutesFunc routes_changed, GdMpWatchStallFunc stalled,
                    gpointer user_data, GdMpWatch **out)
{
    GdMpWatch *w = g_new0(GdMpWatch, 1);
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
        gd_mp_watch_free(w);
        return r;
    }
    *out = w;
    return 0;
}

int gd_mp_watch_set_routes(GdMpWatch *w, gboolean on)
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
    gd_mp_watch_refresh_routes(w);
    return 0;
}

void gd_mp_watch_free(GdMpWatch *w)
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

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Default routes and subflow progress for the MPTCP manager. */
/* glibc's netinet/in.h first: linux/in.h (via linux/mptcp.h) then defers to it. */
#include <netinet/in.h>

#include "mptcp/watch.h"
#include "mptcp/echo.h"
#include "mptcp/pm.h"
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
    GdMpWatchAliveFunc alive;
    gpointer user_data;

    GdNlSocket *route_events;
    GdNlSocket *route_dumps;
    guint route_watch;
    GHashTable *defaults; /* ifindex set: has a default route now */
    GHashTable *seen;     /* ifindex set: had one since start */
    GHashTable *gateways; /* ifindex → GdMpAddr*: of its default route */

    GdNlSocket *diag;
    GArray *stall_links; /* int ifindex */
    guint stall_timer;
    guint interval_ms;
    gint64 next_sample; /* the regular sample after the last one */
    GdMpPaths *paths;   /* what mptcp/stall knows of the watched links */
    GdMpEcho *echo;

    GArray *heal_probes; /* GdMpPathProbe */
    guint heal_timer;
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

/* A default route (main or another non-local table, unicast): its
 * attributes into tb. */
static gboolean default_route(const struct nlmsghdr *nlh, const struct nlattr *tb[RTA_MAX + 1])
{
    if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct rtmsg))
        return FALSE;
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    if (rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST || rtm->rtm_table == RT_TABLE_LOCAL)
        return FALSE;
    return mnl_attr_parse(nlh, sizeof(*rtm), collect_attr, tb) == MNL_CB_OK &&
           gd_nl_attrs_complete(nlh, sizeof(*rtm));
}

gboolean gd_mp_watch_default_route_gateway(const struct nlmsghdr *nlh, int *ifindex,
                                           GdMpAddr *gateway)
{
    const struct nlattr *tb[RTA_MAX + 1] = {0};
    if (!default_route(nlh, tb) || !tb[RTA_OIF] || mnl_attr_get_payload_len(tb[RTA_OIF]) != 4 ||
        !tb[RTA_GATEWAY])
        return FALSE;
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    size_t len = rtm->rtm_family == AF_INET ? 4 : rtm->rtm_family == AF_INET6 ? 16 : 0;
    if (!len || mnl_attr_get_payload_len(tb[RTA_GATEWAY]) != len)
        return FALSE;
    *gateway = (GdMpAddr){.family = rtm->rtm_family};
    memcpy(gateway->addr, mnl_attr_get_payload(tb[RTA_GATEWAY]), len);
    *ifindex = (int)mnl_attr_get_u32(tb[RTA_OIF]);
    return TRUE;
}

void gd_mp_watch_default_route_links(const struct nlmsghdr *nlh, GHashTable *set)
{
    const struct nlattr *tb[RTA_MAX + 1] = {0};
    if (!default_route(nlh, tb))
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

typedef struct {
    GHashTable *links;    /* ifindex set */
    GHashTable *gateways; /* ifindex → GdMpAddr* */
} RouteDump;

static void route_dump_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    RouteDump *dump = user_data;
    gd_mp_watch_default_route_links(nlh, dump->links);
    int ifindex;
    GdMpAddr gateway;
    /* IPv4's first: a link's IPv4 gateway is preferred as an echo target. */
    if (gd_mp_watch_default_route_gateway(nlh, &ifindex, &gateway) &&
        !g_hash_table_contains(dump->gateways, GINT_TO_POINTER(ifindex)))
        g_hash_table_insert(dump->gateways, GINT_TO_POINTER(ifindex),
                            g_memdup2(&gateway, sizeof(gateway)));
}

/* The gateways of the watched links, for mptcp/stall. */
static void update_gateways(GdMpWatch *w)
{
    for (guint i = 0; i < w->stall_links->len; i++) {
        gpointer key = GINT_TO_POINTER(g_array_index(w->stall_links, int, i));
        gd_mp_paths_set_gateway(w->paths, GPOINTER_TO_INT(key),
                                g_hash_table_lookup(w->gateways, key));
    }
}

void gd_mp_watch_refresh_routes(GdMpWatch *w)
{
    if (!w->route_events)
        return; /* not watching: nothing depends on routes */
    g_autoptr(GHashTable) now = g_hash_table_new(NULL, NULL);
    g_autoptr(GHashTable) gateways = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    RouteDump dump = {.links = now, .gateways = gateways};
    const uint8_t families[] = {AF_INET, AF_INET6};
    for (guint i = 0; i < G_N_ELEMENTS(families); i++) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETROUTE;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = families[i];
        int r = gd_nl_dump(w->route_dumps, nlh, route_dump_cb, NULL, &dump, NULL);
        if (r < 0) {
            g_warning("mptcp: cannot read routes: %s; keeping the last known", g_strerror(-r));
            return;
        }
    }
    g_hash_table_unref(w->gateways);
    w->gateways = g_hash_table_ref(gateways);
    update_gateways(w);
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
        .cookie = (uint64_t)msg->id.idiag_cookie[1] << 32 | msg->id.idiag_cookie[0],
        .bound_ifindex = (int)msg->id.idiag_if,
        .retransmits = ti.tcpi_retransmits,
        .unacked = ti.tcpi_unacked,
        .last_ack_recv_ms = ti.tcpi_last_ack_recv,
        .last_data_recv_ms = ti.tcpi_last_data_recv,
        .bytes_received = ti.tcpi_bytes_received,
        .data_segs_in = ti.tcpi_data_segs_in,
        .rtt_us = ti.tcpi_rtt,
    };
    G_STATIC_ASSERT(sizeof(out->src) == sizeof(msg->id.idiag_src));
    memcpy(out->src, msg->id.idiag_src, sizeof(out->src));
    memcpy(out->dst, msg->id.idiag_dst, sizeof(out->dst));
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

/* Every sock_diag answer about an established MPTCP subflow on a watched
 * link. */
static GArray *sample_subflows(GdMpWatch *w)
{
    GArray *samples = g_array_new(FALSE, FALSE, sizeof(GdMpSubflowSample));
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
    return samples;
}

/* The links that need an echo socket: the watched ones and the probed ones. */
static void keep_echo_sockets(GdMpWatch *w)
{
    g_autoptr(GArray) links = g_array_new(FALSE, FALSE, sizeof(int));
    g_array_append_vals(links, w->stall_links->data, w->stall_links->len);
    for (guint i = 0; i < w->heal_probes->len; i++)
        g_array_append_val(links, g_array_index(w->heal_probes, GdMpPathProbe, i).ifindex);
    gd_mp_echo_keep(w->echo, (const int *)(void *)links->data, links->len);
}

static void arm_stall_timer(GdMpWatch *w, gint64 now);

static gboolean stall_tick_cb(gpointer user_data)
{
    GdMpWatch *w = user_data;
    w->stall_timer = 0;
    g_autoptr(GArray) samples = sample_subflows(w);
    /* Answers that came meanwhile count before a probe's end is judged;
     * the time after the dump, which may have waited. */
    gd_mp_echo_drain(w->echo);
    gint64 now = g_get_monotonic_time();
    if (now >= w->next_sample)
        w->next_sample = now + (gint64)w->interval_ms * 1000;
    g_autoptr(GArray) actions = gd_mp_path_actions_new();
    gd_mp_paths_update(w->paths, samples, now, actions);
    for (guint i = 0; i < actions->len; i++) {
        const GdMpPathAction *a = &g_array_index(actions, GdMpPathAction, i);
        char name[IFNAMSIZ];
        if (a->op == GD_MP_PATH_ECHO) {
            g_autofree char *to = gd_mp_pm_addr_format(a->target.family, a->target.addr);
            g_debug("mptcp: echo to %s over #%d", to, a->ifindex);
            gd_mp_echo_send(w->echo, a->ifindex, &a->target);
            continue;
        }
        GdLink *link = gd_cache_link_by_index(w->cache, a->ifindex);
        g_strlcpy(name, link ? link->nl.name : "?", sizeof(name));
        g_debug("mptcp: %s: path dead: %s", name, a->detail);
        if (w->stalled)
            w->stalled(w, a->ifindex, a->detail, a->has_target ? &a->target : NULL, w->user_data);
    }
    if (w->stall_links->len)
        arm_stall_timer(w, now);
    return G_SOURCE_REMOVE;
}

/* The next sample: the regular one, or sooner when a silence reaches its
 * limit or an echo is due. */
static void arm_stall_timer(GdMpWatch *w, gint64 now)
{
    g_clear_handle_id(&w->stall_timer, g_source_remove);
    gint64 due = MIN(w->next_sample, gd_mp_paths_next_due(w->paths));
    gint64 ms = MAX((due - now + 999) / 1000, 1);
    w->stall_timer =
        g_timeout_add_full(G_PRIORITY_HIGH, (guint)MIN(ms, G_MAXUINT), stall_tick_cb, w, NULL);
}

void gd_mp_watch_set_stall_links(GdMpWatch *w, const int *ifindexes, guint n, guint interval_ms)
{
    if (!interval_ms)
        n = 0;
    gboolean same = n == w->stall_links->len && interval_ms == w->interval_ms &&
                    (n == 0 || memcmp(w->stall_links->data, ifindexes, n * sizeof(int)) == 0);
    if (same && (w->stall_timer || !n))
        return;
    g_array_set_size(w->stall_links, 0);
    g_array_append_vals(w->stall_links, ifindexes, n);
    gd_mp_paths_watch(w->paths, ifindexes, n);
    update_gateways(w);
    keep_echo_sockets(w);
    if (!n) {
        g_clear_handle_id(&w->stall_timer, g_source_remove);
        return;
    }
    gint64 now = g_get_monotonic_time();
    if (interval_ms != w->interval_ms || !w->stall_timer)
        w->next_sample = now + (gint64)interval_ms * 1000;
    w->interval_ms = interval_ms;
    arm_stall_timer(w, now);
}

/* ---- echoes ---- */

static gboolean heal_tick_cb(gpointer user_data)
{
    GdMpWatch *w = user_data;
    for (guint i = 0; i < w->heal_probes->len; i++) {
        const GdMpPathProbe *p = &g_array_index(w->heal_probes, GdMpPathProbe, i);
        gd_mp_echo_send(w->echo, p->ifindex, &p->target);
    }
    return G_SOURCE_CONTINUE;
}

void gd_mp_watch_set_heal_probes(GdMpWatch *w, const GdMpPathProbe *probes, guint n)
{
    gboolean same = n == w->heal_probes->len &&
                    (n == 0 || memcmp(w->heal_probes->data, probes, n * sizeof(*probes)) == 0);
    if (same)
        return;
    g_array_set_size(w->heal_probes, 0);
    g_array_append_vals(w->heal_probes, probes, n);
    keep_echo_sockets(w);
    if (!n) {
        g_clear_handle_id(&w->heal_timer, g_source_remove);
        return;
    }
    if (!w->heal_timer) {
        w->heal_timer =
            g_timeout_add_full(G_PRIORITY_HIGH, GD_MP_HEAL_PROBE_MS, heal_tick_cb, w, NULL);
        heal_tick_cb(w);
    }
}

static void answered_cb(int ifindex, const GdMpAddr *from, gint64 sent_at, gpointer user_data)
{
    GdMpWatch *w = user_data;
    gint64 now = g_get_monotonic_time();
    g_autofree char *who = gd_mp_pm_addr_format(from->family, from->addr);
    g_debug("mptcp: %s answered over #%d after %.1f ms", who, ifindex,
            (double)(now - sent_at) / 1000);
    gd_mp_paths_answered(w->paths, ifindex, from, sent_at, now);
    for (guint i = 0; i < w->heal_probes->len; i++) {
        const GdMpPathProbe *p = &g_array_index(w->heal_probes, GdMpPathProbe, i);
        if (p->ifindex == ifindex && gd_mp_addr_equal(&p->target, from)) {
            if (w->alive)
                w->alive(w, ifindex, w->user_data);
            return;
        }
    }
    /* The answer may end a probe earlier than its deadline. */
    if (w->stall_links->len)
        arm_stall_timer(w, now);
}

/* ---- life cycle ---- */

int gd_mp_watch_new(GdCache *cache, GdMpWatchRoutesFunc routes_changed, GdMpWatchStallFunc stalled,
                    GdMpWatchAliveFunc alive, gpointer user_data, GdMpWatch **out)
{
    GdMpWatch *w = g_new0(GdMpWatch, 1);
    w->cache = cache;
    w->routes_changed = routes_changed;
    w->stalled = stalled;
    w->alive = alive;
    w->user_data = user_data;
    w->defaults = g_hash_table_new(NULL, NULL);
    w->seen = g_hash_table_new(NULL, NULL);
    w->gateways = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    w->stall_links = g_array_new(FALSE, FALSE, sizeof(int));
    w->paths = gd_mp_paths_new();
    w->echo = gd_mp_echo_new(answered_cb, w);
    w->heal_probes = g_array_new(FALSE, FALSE, sizeof(GdMpPathProbe));
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
    g_clear_handle_id(&w->heal_timer, g_source_remove);
    g_clear_pointer(&w->route_events, gd_nl_socket_close);
    g_clear_pointer(&w->route_dumps, gd_nl_socket_close);
    g_clear_pointer(&w->diag, gd_nl_socket_close);
    g_hash_table_unref(w->defaults);
    g_hash_table_unref(w->seen);
    g_hash_table_unref(w->gateways);
    g_array_unref(w->stall_links);
    g_array_unref(w->heal_probes);
    gd_mp_paths_free(w->paths);
    gd_mp_echo_free(w->echo);
    g_free(w);
}

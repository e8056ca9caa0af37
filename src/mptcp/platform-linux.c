/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The Linux platform of the MPTCP manager: generic netlink requests to the
 * kernel's path manager (answered at once: no RTNL), its event group on
 * the main loop, the route and subflow watch, /proc and sysfs. */
/* glibc's netinet/in.h first: linux/in.h (via linux/mptcp.h) then defers to it. */
#include <netinet/in.h>

#include "mptcp/owner.h"
#include "mptcp/platform.h"
#include "mptcp/watch.h"
#include "policy/facts.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/mptcp.h>
#include <string.h>
#include <unistd.h>

#define REQUEST_TIMEOUT_MSEC 2000

typedef struct {
    GdMpPlatform base;
    GdNlSocket *requests; /* genl requests */
    GdNlSocket *events;   /* mptcp_pm_events */
    guint event_watch;
    GdMptcpFamily family;
    GdMpWatch *watch; /* routes and subflow progress */
} Linux;

static Linux *linux_of(GdMpPlatform *p)
{
    return (Linux *)p;
}

/* ---- mptcp_pm requests ---- */

typedef struct {
    Linux *l;
    GArray *endpoints;
    GdMptcpLimits *limits;
    gboolean *parsed;
} Replies;

static void endpoint_reply(const struct nlmsghdr *nlh, gpointer user_data)
{
    Replies *r = user_data;
    GdMptcpEndpoint ep;
    if (gd_mp_pm_parse_endpoint(nlh, r->l->family.family_id, &ep) == 0)
        g_array_append_val(r->endpoints, ep);
    else
        g_debug("mptcp: ignoring a malformed endpoint message");
}

static int dump_endpoints(GdMpPlatform *p, GArray *out)
{
    Linux *l = linux_of(p);
    g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
    struct nlmsghdr *nlh = gd_mp_pm_put_get_addr_dump(buf, 0, l->family.family_id);
    Replies replies = {.l = l, .endpoints = out};
    g_autofree char *extack = NULL;
    int r = gd_nl_dump(l->requests, nlh, endpoint_reply, NULL, &replies, &extack);
    if (r < 0)
        g_warning("mptcp: cannot list endpoints: %s", extack ? extack : g_strerror(-r));
    return r;
}

/* Sends the request built in buf and waits for its ack. */
static int request(Linux *l, struct nlmsghdr *nlh, GdNlMessageFunc on_reply, gpointer data,
                   char **extack)
{
    GdNlAck ack = {0};
    int r = gd_nl_transact(l->requests, nlh, nlh->nlmsg_len, nlh->nlmsg_seq, 1, &ack, on_reply,
                           data, REQUEST_TIMEOUT_MSEC);
    int error = r < 0 ? r : ack.error;
    if (error < 0 && extack)
        *extack = g_steal_pointer(&ack.extack);
    gd_nl_ack_clear(&ack);
    return error;
}

static int endpoint(GdMpPlatform *p, uint8_t cmd, const GdMptcpEndpoint *ep, char **extack)
{
    Linux *l = linux_of(p);
    g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
    uint32_t seq = gd_nl_socket_reserve_seq(l->requests, 1);
    return request(l, gd_mp_pm_put_endpoint(buf, seq, l->family.family_id, cmd, ep), NULL, NULL,
                   extack);
}

static int flush(GdMpPlatform *p, char **extack)
{
    Linux *l = linux_of(p);
    g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
    uint32_t seq = gd_nl_socket_reserve_seq(l->requests, 1);
    return request(l, gd_mp_pm_put_flush(buf, seq, l->family.family_id), NULL, NULL, extack);
}

static int set_limits(GdMpPlatform *p, int subflows, int add_addr_accepted, char **extack)
{
    Linux *l = linux_of(p);
    g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
    uint32_t seq = gd_nl_socket_reserve_seq(l->requests, 1);
    struct nlmsghdr *nlh =
        gd_mp_pm_put_set_limits(buf, seq, l->family.family_id, subflows, add_addr_accepted);
    return request(l, nlh, NULL, NULL, extack);
}

static void limits_reply(const struct nlmsghdr *nlh, gpointer user_data)
{
    Replies *r = user_data;
    *r->parsed = gd_mp_pm_parse_limits(nlh, r->l->family.family_id, r->limits) == 0;
}

static int get_limits(GdMpPlatform *p, GdMptcpLimits *out, gboolean *parsed, char **extack)
{
    Linux *l = linux_of(p);
    g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
    uint32_t seq = gd_nl_socket_reserve_seq(l->requests, 1);
    Replies replies = {.l = l, .limits = out, .parsed = parsed};
    return request(l, gd_mp_pm_put_get_limits(buf, seq, l->family.family_id), limits_reply,
                   &replies, extack);
}

static void event_message(const struct nlmsghdr *nlh, gpointer user_data)
{
    Linux *l = user_data;
    GdMptcpEvent ev;
    if (gd_mp_pm_parse_event(nlh, l->family.family_id, &ev) == 0 && l->base.handlers.event)
        l->base.handlers.event(&ev, l->base.handlers_data);
}

static gboolean events_ready_cb(gint fd, GIOCondition condition, gpointer user_data)
{
    Linux *l = user_data;
    int r = gd_nl_socket_drain(l->events, 64, event_message, l);
    if (r == -ENOBUFS) {
        /* Events were lost: the subflows are re-learnt from new events;
         * the endpoints and health do not depend on them. */
        g_warning("mptcp: event socket overrun; connection list may be incomplete");
    } else if (r < 0 && r != -EAGAIN) {
        g_warning("mptcp: reading events: %s", g_strerror(-r));
    }
    return G_SOURCE_CONTINUE;
}

/* ---- /proc and sysfs ---- */

static int read_sysctl(GdMpPlatform *p, const char *path, char **out)
{
    g_autofree char *full = g_build_filename("/proc/sys", path, NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(full, &text, NULL, NULL))
        return -errno ? -errno : -EIO;
    *out = g_strdup(g_strstrip(text));
    return 0;
}

static int write_sysctl(GdMpPlatform *p, const char *path, const char *value)
{
    g_autofree char *full = g_build_filename("/proc/sys", path, NULL);
    int fd = open(full, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int r = n < 0 ? -errno : 0;
    close(fd);
    return r;
}

/* A generic netlink socket of another process that joined mptcp_pm_events,
 * from /proc/net/netlink (per namespace). */
static char *other_path_manager(GdMpPlatform *p)
{
    Linux *l = linux_of(p);
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/net/netlink", &text, NULL, NULL))
        return NULL;
    g_autoptr(GArray) listeners = gd_mp_owner_listeners(text, getpid(), l->family.events_group);
    for (guint i = 0; i < listeners->len; i++) {
        const GdMpListener *listener = &g_array_index(listeners, GdMpListener, i);
        g_autofree char *comm_path = g_strdup_printf("/proc/%u/comm", listener->portid);
        g_autofree char *comm = NULL;
        int comm_errno = 0;
        if (g_file_get_contents(comm_path, &comm, NULL, NULL))
            g_strstrip(comm);
        else
            comm_errno = errno;
        char *found = gd_mp_owner_describe_listener(listener, comm, comm_errno);
        if (found)
            return found;
    }
    return NULL;
}

static void link_type(GdMpPlatform *p, const GdNlLink *nl, char type[32])
{
    GdLinkFacts facts;
    gd_link_facts_read(NULL, nl, &facts);
    g_strlcpy(type, facts.type, 32);
}

/* ---- routes and subflows ---- */

static void routes_cb(GdMpWatch *watch, gpointer user_data)
{
    Linux *l = user_data;
    if (l->base.handlers.routes_changed)
        l->base.handlers.routes_changed(l->base.handlers_data);
}

static void stall_cb(GdMpWatch *watch, int ifindex, const char *detail, const GdMpAddr *target,
                     gpointer user_data)
{
    Linux *l = user_data;
    if (l->base.handlers.stalled)
        l->base.handlers.stalled(ifindex, detail, target, l->base.handlers_data);
}

static void alive_cb(GdMpWatch *watch, int ifindex, gpointer user_data)
{
    Linux *l = user_data;
    if (l->base.handlers.path_alive)
        l->base.handlers.path_alive(ifindex, l->base.handlers_data);
}

static int watch_routes(GdMpPlatform *p, gboolean on)
{
    return gd_mp_watch_set_routes(linux_of(p)->watch, on);
}

static void refresh_routes(GdMpPlatform *p)
{
    gd_mp_watch_refresh_routes(linux_of(p)->watch);
}

static gboolean route_lost(GdMpPlatform *p, int ifindex)
{
    return gd_mp_watch_route_lost(linux_of(p)->watch, ifindex);
}

static void watch_subflows(GdMpPlatform *p, const int *ifindexes, guint n, guint interval_ms)
{
    gd_mp_watch_set_stall_links(linux_of(p)->watch, ifindexes, n, interval_ms);
}

static void probe_paths(GdMpPlatform *p, const GdMpPathProbe *probes, guint n)
{
    gd_mp_watch_set_heal_probes(linux_of(p)->watch, probes, n);
}

/* ---- the clock ---- */

static gint64 now(GdMpPlatform *p)
{
    return g_get_monotonic_time();
}

static guint timeout_add(GdMpPlatform *p, guint msec, GSourceFunc func, gpointer data)
{
    return g_timeout_add_full(G_PRIORITY_HIGH, msec, func, data, NULL);
}

static void timeout_remove(GdMpPlatform *p, guint id)
{
    g_source_remove(id);
}

static void linux_free(GdMpPlatform *p)
{
    Linux *l = linux_of(p);
    g_clear_handle_id(&l->event_watch, g_source_remove);
    g_clear_pointer(&l->watch, gd_mp_watch_free);
    g_clear_pointer(&l->events, gd_nl_socket_close);
    g_clear_pointer(&l->requests, gd_nl_socket_close);
    g_free(l);
}

static const GdMpPlatformOps linux_ops = {
    .dump_endpoints = dump_endpoints,
    .endpoint = endpoint,
    .flush = flush,
    .set_limits = set_limits,
    .get_limits = get_limits,
    .read_sysctl = read_sysctl,
    .write_sysctl = write_sysctl,
    .other_path_manager = other_path_manager,
    .link_type = link_type,
    .watch_routes = watch_routes,
    .refresh_routes = refresh_routes,
    .route_lost = route_lost,
    .watch_subflows = watch_subflows,
    .probe_paths = probe_paths,
    .now = now,
    .timeout_add = timeout_add,
    .timeout_remove = timeout_remove,
    .free = linux_free,
};

int gd_mp_platform_linux_new(GdCache *cache, GdMpPlatform **out)
{
    Linux *l = g_new0(Linux, 1);
    l->base.ops = &linux_ops;
    int r = gd_nl_socket_open_protocol(NETLINK_GENERIC, NULL, 0, 0, 0, &l->requests);
    if (r < 0)
        goto fail;
    r = gd_mp_pm_resolve_family(l->requests, &l->family);
    if (r == -ENOENT) {
        g_message("mptcp: the kernel has no mptcp_pm family; MPTCP is not managed");
    } else if (r < 0) {
        goto fail;
    } else {
        l->base.available = TRUE;
        unsigned groups[] = {l->family.events_group};
        r = gd_nl_socket_open_protocol(NETLINK_GENERIC, groups, l->family.events_group ? 1 : 0,
                                       4 * 1024 * 1024, 0, &l->events);
        if (r < 0)
            goto fail;
        l->event_watch = g_unix_fd_add(gd_nl_socket_fd(l->events), G_IO_IN, events_ready_cb, l);
    }
    r = gd_mp_watch_new(cache, routes_cb, stall_cb, alive_cb, l, &l->watch);
    if (r < 0)
        goto fail;
    *out = &l->base;
    return 0;
fail:
    linux_free(&l->base);
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The fake platform of the MPTCP manager's unit tests (see the header). */
#include <netinet/in.h>

#include "mptcp-fake-platform.h"
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/mptcp.h>
#include <string.h>

typedef struct {
    guint id;
    gint64 at;
    GSourceFunc func;
    gpointer data;
} FakeTimer;

static FakePlatform *fake_of(GdMpPlatform *p)
{
    return (FakePlatform *)p;
}

static void record(FakePlatform *f, uint8_t cmd, const GdMptcpEndpoint *ep)
{
    FakeRequest r = {.cmd = cmd};
    if (ep)
        r.ep = *ep;
    g_array_append_val(f->requests, r);
}

static int failing(FakePlatform *f, uint8_t cmd, char **extack)
{
    if (f->fail_cmd != cmd)
        return 0;
    if (extack && f->fail_extack)
        *extack = g_strdup(f->fail_extack);
    return -f->fail_errno;
}

static int find(FakePlatform *f, const GdMptcpEndpoint *ep)
{
    for (guint i = 0; i < f->endpoints->len; i++) {
        const GdMptcpEndpoint *have = &g_array_index(f->endpoints, GdMptcpEndpoint, i);
        if (ep->id ? have->id == ep->id
                   : have->family == ep->family && memcmp(have->addr, ep->addr, 16) == 0)
            return (int)i;
    }
    return -1;
}

static int dump_endpoints(GdMpPlatform *p, GArray *out)
{
    FakePlatform *f = fake_of(p);
    if (f->dump_errno)
        return -f->dump_errno;
    g_array_append_vals(out, f->endpoints->data, f->endpoints->len);
    return 0;
}

static uint8_t free_id(FakePlatform *f)
{
    for (uint8_t id = 1;; id++) {
        GdMptcpEndpoint probe = {.id = id};
        if (find(f, &probe) < 0)
            return id;
    }
}

static int endpoint(GdMpPlatform *p, uint8_t cmd, const GdMptcpEndpoint *ep, char **extack)
{
    FakePlatform *f = fake_of(p);
    record(f, cmd, ep);
    int r = failing(f, cmd, extack);
    if (r < 0)
        return r;
    int i = find(f, ep);
    switch (cmd) {
    case MPTCP_PM_CMD_ADD_ADDR: {
        GdMptcpEndpoint by_addr = *ep;
        by_addr.id = 0;
        if (find(f, &by_addr) >= 0)
            return -EEXIST;
        GdMptcpEndpoint added = *ep;
        if (!added.id)
            added.id = free_id(f);
        g_array_append_val(f->endpoints, added);
        return 0;
    }
    case MPTCP_PM_CMD_DEL_ADDR:
        if (i < 0)
            return -EINVAL;
        g_array_remove_index(f->endpoints, (guint)i);
        return 0;
    case MPTCP_PM_CMD_SET_FLAGS: {
        if (i < 0)
            return -EINVAL;
        /* Only backup and fullmesh change on a live endpoint. */
        const uint32_t live = GD_MPTCP_FLAG_BACKUP | GD_MPTCP_FLAG_FULLMESH;
        GdMptcpEndpoint *have = &g_array_index(f->endpoints, GdMptcpEndpoint, i);
        have->flags = (have->flags & ~live) | (ep->flags & live);
        return 0;
    }
    default:
        return -EOPNOTSUPP;
    }
}

static int flush(GdMpPlatform *p, char **extack)
{
    FakePlatform *f = fake_of(p);
    record(f, MPTCP_PM_CMD_FLUSH_ADDRS, NULL);
    int r = failing(f, MPTCP_PM_CMD_FLUSH_ADDRS, extack);
    if (r == 0)
        g_array_set_size(f->endpoints, 0);
    return r;
}

static int set_limits(GdMpPlatform *p, int subflows, int add_addr_accepted, char **extack)
{
    FakePlatform *f = fake_of(p);
    record(f, MPTCP_PM_CMD_SET_LIMITS, NULL);
    int r = failing(f, MPTCP_PM_CMD_SET_LIMITS, extack);
    if (r < 0)
        return r;
    if (subflows >= 0)
        f->limits.subflows = (uint32_t)subflows;
    if (add_addr_accepted >= 0)
        f->limits.add_addr_accepted = (uint32_t)add_addr_accepted;
    return 0;
}

static int get_limits(GdMpPlatform *p, GdMptcpLimits *out, gboolean *parsed, char **extack)
{
    FakePlatform *f = fake_of(p);
    int r = failing(f, MPTCP_PM_CMD_GET_LIMITS, extack);
    if (r < 0)
        return r;
    *out = f->limits;
    *parsed = TRUE;
    return 0;
}

static int read_sysctl(GdMpPlatform *p, const char *path, char **out)
{
    const char *value = g_hash_table_lookup(fake_of(p)->sysctls, path);
    if (!value)
        return -ENOENT;
    *out = g_strdup(value);
    return 0;
}

static int write_sysctl(GdMpPlatform *p, const char *path, const char *value)
{
    FakePlatform *f = fake_of(p);
    if (g_hash_table_contains(f->read_only, path))
        return -EACCES;
    g_hash_table_insert(f->sysctls, g_strdup(path), g_strdup(value));
    return 0;
}

static char *other_path_manager(GdMpPlatform *p)
{
    return g_strdup(fake_of(p)->listener);
}

static void link_type(GdMpPlatform *p, const GdNlLink *nl, char type[32])
{
    const char *t = g_hash_table_lookup(fake_of(p)->link_types, nl->name);
    g_strlcpy(type, t ? t : "ether", 32);
}

static int watch_routes(GdMpPlatform *p, gboolean on)
{
    fake_of(p)->watching_routes = on;
    return 0;
}

static void refresh_routes(GdMpPlatform *p)
{
}

static gboolean route_lost(GdMpPlatform *p, int ifindex)
{
    return g_hash_table_contains(fake_of(p)->routes_lost, GINT_TO_POINTER(ifindex));
}

static void watch_subflows(GdMpPlatform *p, const int *ifindexes, guint n, guint interval_ms)
{
    FakePlatform *f = fake_of(p);
    g_array_set_size(f->subflow_links, 0);
    if (n && interval_ms)
        g_array_append_vals(f->subflow_links, ifindexes, n);
    f->subflow_interval = interval_ms;
}

static void probe_paths(GdMpPlatform *p, const GdMpPathProbe *probes, guint n)
{
    FakePlatform *f = fake_of(p);
    g_array_set_size(f->probed_paths, 0);
    g_array_append_vals(f->probed_paths, probes, n);
}

static gint64 now(GdMpPlatform *p)
{
    return fake_of(p)->now;
}

static guint timeout_add(GdMpPlatform *p, guint msec, GSourceFunc func, gpointer data)
{
    FakePlatform *f = fake_of(p);
    FakeTimer t = {
        .id = ++f->next_timer, .at = f->now + (gint64)msec * 1000, .func = func, .data = data};
    g_array_append_val(f->timers, t);
    return t.id;
}

static void timeout_remove(GdMpPlatform *p, guint id)
{
    FakePlatform *f = fake_of(p);
    for (guint i = 0; i < f->timers->len; i++)
        if (g_array_index(f->timers, FakeTimer, i).id == id) {
            g_array_remove_index(f->timers, i);
            return;
        }
    g_assert_not_reached();
}

static void fake_free(GdMpPlatform *p)
{
    FakePlatform *f = fake_of(p);
    g_array_unref(f->endpoints);
    g_array_unref(f->requests);
    g_hash_table_unref(f->sysctls);
    g_hash_table_unref(f->read_only);
    g_hash_table_unref(f->routes_lost);
    g_hash_table_unref(f->link_types);
    g_array_unref(f->subflow_links);
    g_array_unref(f->probed_paths);
    g_array_unref(f->timers);
    g_free(f->listener);
    g_free(f->fail_extack);
    g_free(f);
}

static const GdMpPlatformOps fake_ops = {
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
    .free = fake_free,
};

FakePlatform *fake_platform_new(gboolean available)
{
    FakePlatform *f = g_new0(FakePlatform, 1);
    f->base.ops = &fake_ops;
    f->base.available = available;
    f->endpoints = g_array_new(FALSE, TRUE, sizeof(GdMptcpEndpoint));
    f->requests = g_array_new(FALSE, TRUE, sizeof(FakeRequest));
    f->sysctls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    f->read_only = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    f->routes_lost = g_hash_table_new(NULL, NULL);
    f->link_types = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    f->subflow_links = g_array_new(FALSE, FALSE, sizeof(int));
    f->probed_paths = g_array_new(FALSE, FALSE, sizeof(GdMpPathProbe));
    f->timers = g_array_new(FALSE, FALSE, sizeof(FakeTimer));
    f->fail_cmd = -1;
    f->limits = (GdMptcpLimits){.subflows = 2, .add_addr_accepted = 0};
    f->now = 1000 * G_USEC_PER_SEC;
    return f;
}

gint64 fake_platform_next_timer(FakePlatform *f)
{
    gint64 next = G_MAXINT64;
    for (guint i = 0; i < f->timers->len; i++)
        next = MIN(next, g_array_index(f->timers, FakeTimer, i).at);
    return next;
}

void fake_platform_advance(FakePlatform *f, gint64 usec)
{
    f->now += usec;
    for (;;) {
        guint due = G_MAXUINT;
        for (guint i = 0; i < f->timers->len; i++) {
            const FakeTimer *t = &g_array_index(f->timers, FakeTimer, i);
            if (t->at <= f->now &&
                (due == G_MAXUINT || t->at < g_array_index(f->timers, FakeTimer, due).at))
                due = i;
        }
        if (due == G_MAXUINT)
            return;
        FakeTimer t = g_array_index(f->timers, FakeTimer, due);
        g_array_remove_index(f->timers, due);
        g_assert_false(t.func(t.data)); /* one-shot */
    }
}

uint8_t fake_platform_add_endpoint(FakePlatform *f, const char *addr, int ifindex, uint32_t flags)
{
    GdMptcpEndpoint ep = {.flags = flags, .ifindex = ifindex};
    ep.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    g_assert_cmpint(inet_pton(ep.family, addr, ep.addr), ==, 1);
    ep.id = free_id(f);
    g_array_append_val(f->endpoints, ep);
    return ep.id;
}

const GdMptcpEndpoint *fake_platform_endpoint(FakePlatform *f, const char *addr)
{
    GdMptcpEndpoint ep = {0};
    ep.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    g_assert_cmpint(inet_pton(ep.family, addr, ep.addr), ==, 1);
    int i = find(f, &ep);
    return i < 0 ? NULL : &g_array_index(f->endpoints, GdMptcpEndpoint, i);
}

void fake_platform_event(FakePlatform *f, const GdMptcpEvent *event)
{
    f->base.handlers.event(event, f->base.handlers_data);
}

void fake_platform_routes_changed(FakePlatform *f)
{
    f->base.handlers.routes_changed(f->base.handlers_data);
}

void fake_platform_stalled(FakePlatform *f, int ifindex, const char *detail)
{
    f->base.handlers.stalled(ifindex, detail, NULL, f->base.handlers_data);
}

void fake_platform_stalled_at(FakePlatform *f, int ifindex, const char *detail, const char *target)
{
    GdMpAddr addr = {.family = strchr(target, ':') ? AF_INET6 : AF_INET};
    g_assert_cmpint(inet_pton(addr.family, target, addr.addr), ==, 1);
    f->base.handlers.stalled(ifindex, detail, &addr, f->base.handlers_data);
}

void fake_platform_path_alive(FakePlatform *f, int ifindex)
{
    f->base.handlers.path_alive(ifindex, f->base.handlers_data);
}

guint fake_platform_count(FakePlatform *f, uint8_t cmd)
{
    guint n = 0;
    for (guint i = 0; i < f->requests->len; i++)
        n += g_array_index(f->requests, FakeRequest, i).cmd == cmd;
    return n;
}

void fake_platform_forget_requests(FakePlatform *f)
{
    g_array_set_size(f->requests, 0);
}

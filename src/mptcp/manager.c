/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The MPTCP manager: health of each [MPTCP] group, the active group, the
 * endpoints the mode wants, and keeping the kernel's endpoints in line.
 *
 * Reactions are immediate: the cache's link watch and the route and
 * mptcp_pm events schedule one reconcile at high priority. On failure of
 * the active group its endpoints are deleted first, which makes the kernel
 * re-inject the data stranded on its subflows at once; swapping backup
 * flags alone would leave it waiting for retransmission timeouts. */
/* glibc's netinet/in.h first: linux/in.h (via linux/mptcp.h) then defers to it. */
#include <netinet/in.h>

#include "mptcp/mptcp.h"
#include "mptcp/watch.h"
#include "policy/facts.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/mptcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECONCILE_RETRY_MSEC   1000
#define SWITCH_SETTLE_MAX_MSEC 3000 /* power-save: wait this long for new subflows */
#define REQUEST_TIMEOUT_MSEC   2000
#define PROBE_TIMEOUT_MSEC     3000 /* a stalled group's probe subflow must come up by then */

typedef struct {
    uint32_t id;
    uint32_t flags;   /* Endpoint= */
    char *link_class; /* Class= */
    gboolean always;  /* Role=always */
    /* health */
    gboolean healthy;
    char *reason;          /* why down, or "" */
    gint64 healthy_since;  /* monotonic µs */
    gint64 eligible_at;    /* healthy and past its hold-down from then on */
    GArray *failures;      /* gint64 monotonic µs, within the flap window */
    gboolean stalled;      /* silent failure seen; cleared by a new subflow */
    gint64 stall_probe_at; /* when to try its endpoints again */
    char *stall_reason;
    char *hold_text; /* Health's reason while held down */
} Group;

struct GdMptcp {
    GdCache *cache;
    GdMptcpChangedFunc changed;
    GdMptcpActiveFunc active_changed;
    gpointer user_data;

    GdNlSocket *requests; /* genl requests, answered at once (no RTNL) */
    GdNlSocket *events;   /* mptcp_pm_events */
    guint event_watch;
    GdMptcpFamily family;
    gboolean available;
    GdMptcpWatch *watch; /* routes and subflow progress */

    /* configuration */
    const GdConfig *config_seen;
    GdMptcpConfig cfg; /* preference/preference_ids: ours */
    GdMptcpMode mode;
    GArray *preference; /* uint32_t: explicit, else NULL (derived) */
    GHashTable *groups; /* id → Group* */

    /* the kernel */
    GArray *endpoints; /* GdMptcpEndpoint, last dump */
    GdMptcpLimits limits;
    gboolean limits_known;
    GHashTable *owned_ids;   /* endpoint ids groupd added or adopted */
    GHashTable *connections; /* token → GdMptcpConnection* */

    /* decisions */
    gboolean has_active;
    uint32_t active;
    gboolean has_leaving; /* power-save: the group being left after a switch */
    uint32_t leaving;
    gint64 leaving_deadline; /* monotonic µs */
    char *external_owner, *external_detail;
    char *owner, *owner_detail;
    GPtrArray *sysctls; /* GdMptcpSysctl* */
    guint failover_count;
    char *last_error;

    char *state_path; /* the endpoints groupd made, across restarts */
    char *state_text; /* what was last written there */
    gboolean state_loaded;
    gboolean added_pending;
    GPtrArray *round_errors; /* while reconciling */

    guint reconcile_source;
    guint timer;
    guint changed_source;
    char *pending_reason;
};

/* ---- small helpers ---- */

static void group_free(gpointer data)
{
    Group *g = data;
    g_free(g->link_class);
    g_free(g->reason);
    g_free(g->stall_reason);
    g_free(g->hold_text);
    g_array_unref(g->failures);
    g_free(g);
}

static void subflow_free(gpointer data)
{
    GdMptcpSubflow *s = data;
    g_free(s->local);
    g_free(s->remote);
    g_free(s->interface);
    g_free(s);
}

static void connection_free(gpointer data)
{
    GdMptcpConnection *c = data;
    g_free(c->local);
    g_free(c->remote);
    g_ptr_array_unref(c->subflows);
    g_free(c);
}

static void sysctl_free(gpointer data)
{
    GdMptcpSysctl *s = data;
    g_free(s->path);
    g_free(s->previous);
    g_free(s->value);
    g_free(s);
}

static gboolean set_string(char **field, const char *value)
{
    if (g_strcmp0(*field, value) == 0)
        return FALSE;
    g_free(*field);
    *field = g_strdup(value);
    return TRUE;
}

static gboolean changed_idle_cb(gpointer user_data)
{
    GdMptcp *m = user_data;
    m->changed_source = 0;
    if (m->changed)
        m->changed(m, m->user_data);
    return G_SOURCE_REMOVE;
}

static void note_changed(GdMptcp *m)
{
    if (!m->changed_source)
        m->changed_source = g_idle_add_full(G_PRIORITY_DEFAULT, changed_idle_cb, m, NULL);
}

static const char *group_label(GdMptcp *m, uint32_t id, char *buf, size_t len)
{
    const GdGroupPolicy *p = m->config_seen ? gd_config_policy_for_group(m->config_seen, id) : NULL;
    if (p && p->name)
        return p->name;
    g_snprintf(buf, len, "%u", id);
    return buf;
}

/* Errors: during a reconcile they are gathered and become LastError at
 * its end (so that a problem that went away clears it); outside one, such
 * as setting limits, they replace it at once. */
static void set_last_error(GdMptcp *m, const char *text)
{
    if (m->round_errors) {
        g_ptr_array_add(m->round_errors, g_strdup(text));
        return;
    }
    if (set_string(&m->last_error, text))
        note_changed(m);
}

/* ---- sysctls ---- */

static int read_sysctl(const char *path, char **out)
{
    g_autofree char *full = g_build_filename("/proc/sys", path, NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(full, &text, NULL, NULL))
        return -errno ? -errno : -EIO;
    *out = g_strdup(g_strstrip(text));
    return 0;
}

static int write_sysctl(const char *path, const char *value)
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

/* Sets path to value unless it has it; records the first previous value. */
static void ensure_sysctl(GdMptcp *m, const char *path, const char *value,
                          gboolean (*keep)(const char *current))
{
    g_autofree char *current = NULL;
    int r = read_sysctl(path, &current);
    if (r < 0) {
        g_autofree char *text = g_strdup_printf("cannot read sysctl %s: %s", path, g_strerror(-r));
        g_warning("mptcp: %s", text);
        set_last_error(m, text);
        return;
    }
    if (g_str_equal(current, value) || (keep && keep(current)))
        return;
    r = write_sysctl(path, value);
    if (r < 0) {
        g_autofree char *text =
            g_strdup_printf("cannot set sysctl %s=%s: %s", path, value, g_strerror(-r));
        g_warning("mptcp: %s", text);
        set_last_error(m, text);
        return;
    }
    g_message("mptcp: sysctl %s: %s → %s", path, current, value);
    for (guint i = 0; i < m->sysctls->len; i++) {
        GdMptcpSysctl *s = m->sysctls->pdata[i];
        if (g_str_equal(s->path, path)) {
            set_string(&s->value, value);
            note_changed(m);
            return;
        }
    }
    GdMptcpSysctl *s = g_new0(GdMptcpSysctl, 1);
    s->path = g_strdup(path);
    s->previous = g_steal_pointer(&current);
    s->value = g_strdup(value);
    g_ptr_array_add(m->sysctls, s);
    note_changed(m);
}

/* The kernel applies max(conf/all, conf/<link>) of rp_filter: a link is
 * strict when either is 1. 2 (loose) on the link makes it loose either way. */
static gboolean rp_filter_all_strict;

static gboolean rp_filter_relaxed(const char *current)
{
    return g_str_equal(current, "2") || (g_str_equal(current, "0") && !rp_filter_all_strict);
}

/* ---- groups and members ---- */

static Group *group_get(GdMptcp *m, uint32_t id)
{
    return g_hash_table_lookup(m->groups, GUINT_TO_POINTER(id));
}

/* A usable endpoint address: IPv4 not host/link scope; IPv6 global, not
 * tentative, deprecated or failed DAD. */
static gboolean addr_usable(const GdNlAddr *a)
{
    if (a->scope >= RT_SCOPE_LINK)
        return FALSE;
    if (a->family == AF_INET6 &&
        (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED)))
        return FALSE;
    return a->family == AF_INET || a->family == AF_INET6;
}

static gboolean link_has_carrier(const GdLink *link)
{
    if (link->nl.carrier >= 0)
        return link->nl.carrier == 1;
    return (link->nl.flags & IFF_LOWER_UP) != 0;
}

/* Why one member cannot carry traffic, or NULL when it can. */
static char *member_problem(GdMptcp *m, const GdLink *link)
{
    if (!(link->nl.flags & IFF_UP))
        return g_strdup_printf("%s is down", link->nl.name);
    if (!link_has_carrier(link))
        return g_strdup_printf("carrier lost on %s", link->nl.name);
    gboolean any = FALSE;
    for (guint i = 0; i < link->addrs->len && !any; i++)
        any = addr_usable(&g_array_index(link->addrs, GdNlAddr, i));
    if (!any)
        return g_strdup_printf("no address on %s", link->nl.name);
    if (gd_mptcp_watch_route_lost(m->watch, link->nl.ifindex))
        return g_strdup_printf("default route lost on %s", link->nl.name);
    return NULL;
}

static gint64 hold_down_usec(GdMptcp *m, Group *g, gint64 now)
{
    /* Anti-flap: each failure past the threshold within the window doubles
     * the hold-down, up to the maximum. */
    gint64 window = (gint64)m->cfg.flap_window_msec * 1000;
    while (g->failures->len && now - g_array_index(g->failures, gint64, 0) > window)
        g_array_remove_index(g->failures, 0);
    gint64 hold = (gint64)m->cfg.hold_down_msec * 1000;
    gint64 max = MAX((gint64)m->cfg.hold_down_max_msec * 1000, hold);
    for (guint n = m->cfg.flap_threshold; n < g->failures->len && hold < max; n++)
        hold *= 2;
    return MIN(hold, max);
}

/* A stalled group's probe failed (its subflow closed, or none came up in
 * time): the next probe waits a longer hold-down, as after a failure. */
static void probe_failed(GdMptcp *m, Group *g, gint64 now, const char *why)
{
    g_array_append_val(g->failures, now);
    g->stall_probe_at = now + hold_down_usec(m, g, now);
    g_message("mptcp: group %u: probe failed (%s); next probe in %.1f s", g->id, why,
              (double)(g->stall_probe_at - now) / G_USEC_PER_SEC);
}

/* Re-judges every group; returns TRUE when something changed. */
static gboolean update_health(GdMptcp *m, gint64 now)
{
    gboolean any_change = FALSE;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        Group *g = value;
        if (g->stalled && now >= g->stall_probe_at && !g_hash_table_size(m->connections)) {
            /* No connection to probe with: the path gets the benefit of the doubt. */
            g_message("mptcp: group %u: no connection left to probe with; the stall is over",
                      g->id);
            g->stalled = FALSE;
        } else if (g->stalled && now >= g->stall_probe_at + PROBE_TIMEOUT_MSEC * 1000) {
            probe_failed(m, g, now, "no subflow came up");
        }
        g_autoptr(GPtrArray) members = gd_cache_group_members(m->cache, g->id);
        g_autoptr(GString) problems = g_string_new(NULL);
        gboolean healthy = FALSE;
        for (guint i = 0; i < members->len && !healthy; i++) {
            g_autofree char *p = member_problem(m, members->pdata[i]);
            if (!p)
                healthy = TRUE;
            else
                g_string_append_printf(problems, "%s%s", problems->len ? "; " : "", p);
        }
        g_autofree char *problem = g_strdup(problems->str);
        if (!members->len) {
            g_free(problem);
            problem = g_strdup("no members");
        }
        if (healthy && g->stalled) {
            healthy = FALSE;
            g_free(problem);
            problem = g_strdup(g->stall_reason);
        }
        if (healthy == g->healthy && (healthy || g_strcmp0(problem, g->reason) == 0))
            continue;
        any_change = TRUE;
        char label[16];
        if (healthy) {
            g->healthy_since = now;
            g->eligible_at = g->failures->len ? now + hold_down_usec(m, g, now) : now;
            g_message("mptcp: group %s: healthy%s", group_label(m, g->id, label, sizeof(label)),
                      g->eligible_at > now ? " (held down)" : "");
        } else {
            if (g->healthy) {
                g_array_append_val(g->failures, now);
                g_message("mptcp: group %s: down: %s", group_label(m, g->id, label, sizeof(label)),
                          problem);
            }
        }
        g->healthy = healthy;
        set_string(&g->reason, healthy ? "" : problem);
    }
    return any_change;
}

/* The preference order: explicit, else the [MPTCP] groups that take part
 * in failover, ether before wlan before wwan, then by id. */
static int class_rank(GdMptcp *m, Group *g)
{
    const char *cls = g->link_class;
    char buf[32] = "";
    g_autoptr(GPtrArray) members = gd_cache_group_members(m->cache, g->id);
    if (members->len) {
        const GdLink *link = members->pdata[0];
        GdLinkFacts facts;
        gd_link_facts_read(NULL, &link->nl, &facts);
        /* DEVTYPE first, then the hardware type; Class= for what neither says. */
        if (g_str_equal(facts.type, "wlan") || g_str_equal(facts.type, "wwan") ||
            g_str_equal(facts.type, "ether"))
            g_strlcpy(buf, facts.type, sizeof(buf));
        if (*buf)
            cls = buf;
    }
    if (!cls)
        return 3;
    return g_str_equal(cls, "ether") ? 0 : g_str_equal(cls, "wlan") ? 1 : 2;
}

static gint compare_groups(gconstpointer a, gconstpointer b, gpointer user_data)
{
    GdMptcp *m = user_data;
    Group *ga = group_get(m, *(const uint32_t *)a), *gb = group_get(m, *(const uint32_t *)b);
    int ra = class_rank(m, ga), rb = class_rank(m, gb);
    if (ra != rb)
        return ra - rb;
    return ga->id < gb->id ? -1 : ga->id > gb->id;
}

static GArray *preference_order(GdMptcp *m)
{
    GArray *order = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    if (m->preference) {
        for (guint i = 0; i < m->preference->len; i++) {
            uint32_t id = g_array_index(m->preference, uint32_t, i);
            Group *g = group_get(m, id);
            if (g && !g->always)
                g_array_append_val(order, id);
        }
        return order;
    }
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        Group *g = value;
        if (!g->always)
            g_array_append_val(order, g->id);
    }
    g_array_sort_with_data(order, compare_groups, m);
    return order;
}

/* ---- choosing the active group ---- */

static void set_active(GdMptcp *m, gboolean has, uint32_t id, const char *reason)
{
    if (has == m->has_active && (!has || id == m->active))
        return;
    gboolean had = m->has_active;
    uint32_t previous = m->active;
    char a[16], b[16];
    g_message("mptcp: active group %s → %s: %s",
              had ? group_label(m, previous, a, sizeof(a)) : "none",
              has ? group_label(m, id, b, sizeof(b)) : "none", reason);
    /* power-save: the old group keeps its endpoints until the new one's
     * subflows are up, when the old one is healthy (make before break). */
    m->has_leaving = FALSE;
    if (had && has && m->mode == GD_MPTCP_MODE_POWER_SAVE) {
        Group *old = group_get(m, previous);
        if (old && old->healthy) {
            m->has_leaving = TRUE;
            m->leaving = previous;
            m->leaving_deadline = g_get_monotonic_time() + SWITCH_SETTLE_MAX_MSEC * 1000;
        }
    }
    m->has_active = has;
    m->active = id;
    m->failover_count++;
    note_changed(m);
    if (m->active_changed)
        m->active_changed(m, has, id, had, previous, reason, m->user_data);
}

static void choose_active(GdMptcp *m, gint64 now, const char *trigger)
{
    if (m->mode == GD_MPTCP_MODE_OFF || m->mode == GD_MPTCP_MODE_AGGREGATE || m->owner_detail) {
        set_active(m, FALSE, 0,
                   m->mode == GD_MPTCP_MODE_OFF ? "mode off"
                   : m->owner_detail            ? "another owner manages the endpoints"
                                                : "aggregate mode");
        return;
    }
    g_autoptr(GArray) order = preference_order(m);
    Group *current = m->has_active ? group_get(m, m->active) : NULL;
    gboolean current_ok = current && current->healthy;
    /* The first eligible group in order; a healthy group in hold-down only
     * when nothing else is healthy (hold-down delays a return, it must not
     * leave us without a path). */
    Group *best = NULL, *fallback = NULL;
    for (guint i = 0; i < order->len && !best; i++) {
        Group *g = group_get(m, g_array_index(order, uint32_t, i));
        if (!g->healthy)
            continue;
        if (g == current || now >= g->eligible_at)
            best = g;
        else if (!fallback)
            fallback = g;
    }
    if (!best)
        best = fallback;
    if (best == current && current_ok)
        return;
    char label[16], other[16];
    g_autofree char *reason = NULL;
    if (!best)
        reason = g_strdup_printf("no healthy group (%s)",
                                 current && current->reason && *current->reason ? current->reason
                                                                                : trigger);
    else if (current && !current_ok)
        reason = g_strdup(current->reason && *current->reason ? current->reason : trigger);
    else if (current)
        reason = g_strdup_printf("%s recovered (hold-down %.1f s passed)",
                                 group_label(m, best->id, label, sizeof(label)),
                                 (double)hold_down_usec(m, best, now) / G_USEC_PER_SEC);
    else
        reason = g_strdup_printf("%s is the first healthy group",
                                 group_label(m, best->id, other, sizeof(other)));
    set_active(m, best != NULL, best ? best->id : 0, reason);
}

/* ---- desired endpoints ---- */

typedef struct {
    GdMptcpEndpoint ep;
    uint32_t group;
} Want;

static void want_group(GdMptcp *m, Group *g, uint32_t flags, GArray *wants)
{
    g_autoptr(GPtrArray) members = gd_cache_group_members(m->cache, g->id);
    for (guint i = 0; i < members->len; i++) {
        const GdLink *link = members->pdata[i];
        g_autofree char *problem = member_problem(m, link);
        if (problem)
            continue;
        for (guint k = 0; k < link->addrs->len; k++) {
            const GdNlAddr *a = &g_array_index(link->addrs, GdNlAddr, k);
            if (!addr_usable(a))
                continue;
            Want w = {.group = g->id};
            w.ep.family = a->family;
            memcpy(w.ep.addr, a->addr, a->family == AF_INET ? 4 : 16);
            w.ep.flags = flags;
            w.ep.ifindex = link->nl.ifindex;
            g_array_append_val(wants, w);
        }
    }
}

static GArray *desired_endpoints(GdMptcp *m, gint64 now)
{
    GArray *wants = g_array_new(FALSE, TRUE, sizeof(Want));
    if (m->mode == GD_MPTCP_MODE_OFF || m->owner_detail)
        return wants;
    g_autoptr(GArray) order = preference_order(m);
    /* The active group first: when there are more than 8, it is the one
     * that must have its endpoints. */
    if (m->has_active) {
        Group *g = group_get(m, m->active);
        if (g && g->healthy)
            want_group(m, g, g->flags & ~GD_MPTCP_FLAG_BACKUP, wants);
    }
    for (guint i = 0; i < order->len; i++) {
        Group *g = group_get(m, g_array_index(order, uint32_t, i));
        if (!g->healthy || (m->has_active && g->id == m->active))
            continue;
        switch (m->mode) {
        case GD_MPTCP_MODE_AGGREGATE:
            /* Anti-flap in every mode: a recovered group waits out its hold-down. */
            if (now >= g->eligible_at)
                want_group(m, g, g->flags, wants);
            break;
        case GD_MPTCP_MODE_FAILOVER:
            /* Standby groups keep backup subflows; a group in hold-down has
             * none until the hold-down passed. */
            if (now >= g->eligible_at)
                want_group(m, g, g->flags | GD_MPTCP_FLAG_BACKUP, wants);
            break;
        case GD_MPTCP_MODE_POWER_SAVE:
            if (m->has_leaving && g->id == m->leaving)
                want_group(m, g, g->flags, wants);
            break;
        case GD_MPTCP_MODE_OFF:
            break;
        }
    }
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        Group *g = value;
        if (g->always && g->healthy && now >= g->eligible_at)
            want_group(m, g, g->flags, wants);
    }
    /* Stalled groups get probe endpoints (backup) once their hold-down
     * passed: a subflow that comes up clears the stall. */
    g_hash_table_iter_init(&iter, m->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        Group *g = value;
        if (g->stalled && now >= g->stall_probe_at && !g->always)
            want_group(m, g, g->flags | GD_MPTCP_FLAG_BACKUP, wants);
    }
    return wants;
}

/* ---- the kernel's endpoints ---- */

static gboolean same_address(const GdMptcpEndpoint *a, const GdMptcpEndpoint *b)
{
    return a->family == b->family && memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static void endpoint_reply(const struct nlmsghdr *nlh, gpointer user_data)
{
    GdMptcp *m = user_data;
    GdMptcpEndpoint ep;
    if (gd_mptcp_parse_endpoint(nlh, m->family.family_id, &ep) == 0)
        g_array_append_val(m->endpoints, ep);
    else
        g_debug("mptcp: ignoring a malformed endpoint message");
}

static int dump_endpoints(GdMptcp *m)
{
    g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
    struct nlmsghdr *nlh = gd_mptcp_put_get_addr_dump(buf, 0, m->family.family_id);
    g_array_set_size(m->endpoints, 0);
    g_autofree char *extack = NULL;
    int r = gd_nl_dump(m->requests, nlh, endpoint_reply, NULL, m, &extack);
    if (r < 0)
        g_warning("mptcp: cannot list endpoints: %s", extack ? extack : g_strerror(-r));
    return r;
}

static void limits_reply(const struct nlmsghdr *nlh, gpointer user_data)
{
    GdMptcp *m = user_data;
    m->limits_known = gd_mptcp_parse_limits(nlh, m->family.family_id, &m->limits) == 0;
}

/* Sends one request and waits for its ack; text describes it for errors. */
static int request(GdMptcp *m, struct nlmsghdr *nlh, GdNlMessageFunc on_reply, const char *text)
{
    GdNlAck ack = {0};
    int r = gd_nl_transact(m->requests, nlh, nlh->nlmsg_len, nlh->nlmsg_seq, 1, &ack, on_reply, m,
                           REQUEST_TIMEOUT_MSEC);
    int error = r < 0 ? r : ack.error;
    if (error < 0) {
        g_autofree char *msg =
            g_strdup_printf("%s: %s", text, ack.extack ? ack.extack : g_strerror(-error));
        g_warning("mptcp: %s", msg);
        set_last_error(m, msg);
    }
    gd_nl_ack_clear(&ack);
    return error;
}

static void link_name(GdMptcp *m, int ifindex, char name[IFNAMSIZ])
{
    GdLink *link = ifindex > 0 ? gd_cache_link_by_index(m->cache, ifindex) : NULL;
    if (link)
        g_strlcpy(name, link->nl.name, IFNAMSIZ);
    else if (ifindex > 0)
        g_snprintf(name, IFNAMSIZ, "#%d", ifindex);
    else
        name[0] = '\0';
}

static char *endpoint_text(GdMptcp *m, const GdMptcpEndpoint *ep)
{
    g_autofree char *addr = gd_mptcp_addr_format(ep->family, ep->addr);
    char name[IFNAMSIZ];
    link_name(m, ep->ifindex, name);
    g_auto(GStrv) flags = gd_mptcp_flags_names(ep->flags);
    g_autofree char *flag_text = g_strjoinv(" ", flags);
    return g_strdup_printf("endpoint %s%s%s [%s]", addr, *name ? " dev " : "", name, flag_text);
}

static int endpoint_op(GdMptcp *m, uint8_t cmd, const GdMptcpEndpoint *ep)
{
    g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
    uint32_t seq = gd_nl_socket_reserve_seq(m->requests, 1);
    struct nlmsghdr *nlh = gd_mptcp_put_endpoint(buf, seq, m->family.family_id, cmd, ep);
    g_autofree char *what = endpoint_text(m, ep);
    const char *verb = cmd == MPTCP_PM_CMD_ADD_ADDR   ? "add"
                       : cmd == MPTCP_PM_CMD_DEL_ADDR ? "delete"
                                                      : "set flags of";
    g_autofree char *text = g_strdup_printf("cannot %s %s", verb, what);
    int r = request(m, nlh, NULL, text);
    if (r == 0)
        g_message("mptcp: %s %s%s",
                  cmd == MPTCP_PM_CMD_ADD_ADDR   ? "added"
                  : cmd == MPTCP_PM_CMD_DEL_ADDR ? "deleted"
                                                 : "flags set:",
                  what, cmd == MPTCP_PM_CMD_DEL_ADDR && ep->id ? "" : "");
    return r;
}

/* Which group's member has this endpoint's address, if any. */
static gboolean endpoint_group(GdMptcp *m, const GdMptcpEndpoint *ep, uint32_t *group)
{
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        Group *g = value;
        g_autoptr(GPtrArray) members = gd_cache_group_members(m->cache, g->id);
        for (guint i = 0; i < members->len; i++) {
            const GdLink *link = members->pdata[i];
            if (ep->ifindex && ep->ifindex != link->nl.ifindex)
                continue;
            for (guint k = 0; k < link->addrs->len; k++) {
                const GdNlAddr *a = &g_array_index(link->addrs, GdNlAddr, k);
                GdMptcpEndpoint x = {.family = a->family};
                memcpy(x.addr, a->addr, 16);
                if (same_address(&x, ep)) {
                    *group = g->id;
                    return TRUE;
                }
            }
        }
    }
    return FALSE;
}

static gboolean endpoint_owned(GdMptcp *m, const GdMptcpEndpoint *ep)
{
    return g_hash_table_contains(m->owned_ids, GUINT_TO_POINTER(ep->id));
}

/* The state file: the endpoints groupd made, "id address ifindex" per line,
 * so that a restarted groupd knows them from endpoints others made. */
static void save_owned(GdMptcp *m)
{
    if (!m->state_path)
        return;
    GString *text = g_string_new("# endpoints groupd made: id address ifindex\n");
    for (guint i = 0; i < m->endpoints->len; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(m->endpoints, GdMptcpEndpoint, i);
        if (!endpoint_owned(m, ep))
            continue;
        g_autofree char *addr = gd_mptcp_addr_format(ep->family, ep->addr);
        g_string_append_printf(text, "%u %s %d\n", ep->id, addr, ep->ifindex);
    }
    if (m->state_text && g_str_equal(m->state_text, text->str)) {
        g_string_free(text, TRUE);
        return;
    }
    g_autoptr(GError) error = NULL;
    if (!g_file_set_contents_full(m->state_path, text->str, (gssize)text->len,
                                  G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
        g_debug("mptcp: cannot record the endpoints groupd made: %s", error->message);
    g_free(m->state_text);
    m->state_text = g_string_free(text, FALSE);
}

/* At start: the endpoints the state file names (same id and address). */
static void load_owned(GdMptcp *m)
{
    g_autofree char *text = NULL;
    if (!m->state_path || !g_file_get_contents(m->state_path, &text, NULL, NULL))
        return;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        unsigned id;
        char addr[64];
        int ifindex;
        if (lines[i][0] == '#' || sscanf(lines[i], "%u %63s %d", &id, addr, &ifindex) != 3)
            continue;
        for (guint k = 0; k < m->endpoints->len; k++) {
            const GdMptcpEndpoint *ep = &g_array_index(m->endpoints, GdMptcpEndpoint, k);
            g_autofree char *have = gd_mptcp_addr_format(ep->family, ep->addr);
            if (ep->id == id && ep->ifindex == ifindex && g_str_equal(have, addr))
                g_hash_table_add(m->owned_ids, GUINT_TO_POINTER(ep->id));
        }
    }
}

/* An endpoint someone made that is exactly what groupd would make for a
 * member (its address, bound to that member, the group's flags but for
 * backup, which the mode decides) is taken as groupd's own. */
static void adopt_equal(GdMptcp *m)
{
    for (guint i = 0; i < m->endpoints->len; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(m->endpoints, GdMptcpEndpoint, i);
        uint32_t group;
        if (endpoint_owned(m, ep) || !ep->ifindex || !endpoint_group(m, ep, &group))
            continue;
        Group *g = group_get(m, group);
        uint32_t mask = ~(uint32_t)GD_MPTCP_FLAG_BACKUP;
        if (g && (ep->flags & mask) == (g->flags & mask)) {
            g_hash_table_add(m->owned_ids, GUINT_TO_POINTER(ep->id));
            g_autofree char *t = endpoint_text(m, ep);
            g_message("mptcp: %s (id %u) is what group %u wants: taken as groupd's", t, ep->id,
                      group);
        }
    }
}

/* Brings the kernel's endpoints to wants: deletes first (re-injection),
 * then flag changes, then adds. Returns the number of failed requests. */
static guint apply_endpoints(GdMptcp *m, GArray *wants)
{
    guint failed = 0;
    const guint keep = MIN(wants->len, GD_MPTCP_MAX_LIMIT);
    if (wants->len > GD_MPTCP_MAX_LIMIT) {
        GString *left = g_string_new(NULL);
        for (guint i = keep; i < wants->len; i++) {
            g_autofree char *t = endpoint_text(m, &g_array_index(wants, Want, i).ep);
            g_string_append_printf(left, "%s%s", left->len ? ", " : "", t);
        }
        g_autofree char *msg =
            g_strdup_printf("%u endpoints wanted, the kernel keeps at most %u; left out: %s",
                            wants->len, GD_MPTCP_MAX_LIMIT, left->str);
        g_string_free(left, TRUE);
        g_warning("mptcp: %s", msg);
        set_last_error(m, msg);
    }
    /* Owner=groupd taking over a namespace where groupd owns nothing yet
     * and no endpoint is what it wants (backup aside, which the mode
     * switches in place): one FLUSH_ADDRS instead of a delete per endpoint.
     * Never once groupd has endpoints of its own: a flush would close the
     * subflows that carry the traffic. */
    if (m->cfg.owner_forced && m->mode != GD_MPTCP_MODE_OFF && m->endpoints->len >= 2 &&
        g_hash_table_size(m->owned_ids) == 0) {
        const uint32_t mask = ~(uint32_t)GD_MPTCP_FLAG_BACKUP;
        gboolean any_wanted = FALSE;
        for (guint i = 0; i < m->endpoints->len && !any_wanted; i++) {
            const GdMptcpEndpoint *ep = &g_array_index(m->endpoints, GdMptcpEndpoint, i);
            for (guint k = 0; k < keep && !any_wanted; k++) {
                const Want *w = &g_array_index(wants, Want, k);
                any_wanted = same_address(&w->ep, ep) && w->ep.ifindex == ep->ifindex &&
                             (w->ep.flags & mask) == (ep->flags & mask);
            }
        }
        if (!any_wanted) {
            g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
            uint32_t seq = gd_nl_socket_reserve_seq(m->requests, 1);
            struct nlmsghdr *nlh = gd_mptcp_put_flush(buf, seq, m->family.family_id);
            if (request(m, nlh, NULL, "cannot flush the endpoints") == 0) {
                g_message("mptcp: Owner=groupd: flushed %u endpoints none of which is wanted",
                          m->endpoints->len);
                g_array_set_size(m->endpoints, 0);
            } else {
                failed++;
            }
        }
    }
    /* Deletes: ours that are not wanted (or wanted on another device). */
    for (guint i = 0; i < m->endpoints->len; i++) {
        GdMptcpEndpoint *ep = &g_array_index(m->endpoints, GdMptcpEndpoint, i);
        /* Owner=groupd: every endpoint is groupd's to manage, unless off. */
        gboolean owned =
            endpoint_owned(m, ep) || (m->cfg.owner_forced && m->mode != GD_MPTCP_MODE_OFF);
        if (!owned)
            continue;
        gboolean wanted = FALSE;
        for (guint k = 0; k < keep && !wanted; k++) {
            const Want *w = &g_array_index(wants, Want, k);
            wanted = same_address(&w->ep, ep) && w->ep.ifindex == ep->ifindex;
        }
        if (wanted)
            continue;
        if (endpoint_op(m, MPTCP_PM_CMD_DEL_ADDR, ep) < 0)
            failed++;
        g_hash_table_remove(m->owned_ids, GUINT_TO_POINTER(ep->id));
    }
    /* Flags, then adds. */
    for (guint k = 0; k < keep; k++) {
        const Want *w = &g_array_index(wants, Want, k);
        const GdMptcpEndpoint *have = NULL;
        for (guint i = 0; i < m->endpoints->len && !have; i++) {
            const GdMptcpEndpoint *ep = &g_array_index(m->endpoints, GdMptcpEndpoint, i);
            if (same_address(&w->ep, ep) && w->ep.ifindex == ep->ifindex)
                have = ep;
        }
        if (have) {
            /* Only backup can change on a live endpoint; other flags need a
             * new endpoint. */
            uint32_t other = (have->flags ^ w->ep.flags) & ~(uint32_t)GD_MPTCP_FLAG_BACKUP;
            if (other) {
                if (endpoint_op(m, MPTCP_PM_CMD_DEL_ADDR, have) < 0 ||
                    endpoint_op(m, MPTCP_PM_CMD_ADD_ADDR, &w->ep) < 0)
                    failed++;
                else
                    m->added_pending = TRUE;
            } else if ((have->flags ^ w->ep.flags) & GD_MPTCP_FLAG_BACKUP) {
                GdMptcpEndpoint change = *have;
                change.flags = w->ep.flags;
                if (endpoint_op(m, MPTCP_PM_CMD_SET_FLAGS, &change) < 0)
                    failed++;
            }
            continue;
        }
        if (endpoint_op(m, MPTCP_PM_CMD_ADD_ADDR, &w->ep) < 0)
            failed++;
        else
            m->added_pending = TRUE;
    }
    return failed;
}

/* ---- owners ---- */

/* Another MPTCP path manager in this network namespace: a generic netlink
 * socket of another process that joined mptcp_pm_events, from
 * /proc/net/netlink (per namespace). Returns its description or NULL. */
static char *find_other_listener(GdMptcp *m)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/net/netlink", &text, NULL, NULL))
        return NULL;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    pid_t self = getpid();
    for (guint i = 1; lines[i]; i++) {
        unsigned long long sk;
        int proto;
        unsigned portid;
        unsigned groups;
        if (sscanf(lines[i], "%llx %d %u %x", &sk, &proto, &portid, &groups) != 4)
            continue;
        if (proto != NETLINK_GENERIC || portid == 0 || (pid_t)portid == self)
            continue;
        /* The Groups column shows the first 32 groups only. */
        uint32_t g = m->family.events_group;
        gboolean known = g >= 1 && g <= 32;
        if (known && !(groups & (1u << (g - 1))))
            continue;
        g_autofree char *comm_path = g_strdup_printf("/proc/%u/comm", portid);
        g_autofree char *comm = NULL;
        if (!g_file_get_contents(comm_path, &comm, NULL, NULL)) {
            /* Under ProtectProc=invisible other users' processes are
             * hidden: a listener groupd cannot name may be a manager. */
            if (errno == ENOENT && known && portid <= 4194304 /* PID_MAX_LIMIT */)
                return g_strdup_printf("a process groupd cannot see (netlink port %u) listens "
                                       "to mptcp_pm_events",
                                       portid);
            continue;
        }
        g_strstrip(comm);
        if (g_str_equal(comm, "mptcpd"))
            return g_strdup_printf("mptcpd runs in this network namespace (pid %u)", portid);
    }
    return NULL;
}

static void update_owner(GdMptcp *m)
{
    g_autofree char *owner = NULL, *detail = NULL;
    if (!m->available) {
        owner = g_strdup("none");
        detail = g_strdup("the kernel has no MPTCP path manager (mptcp_pm)");
    } else if (m->mode == GD_MPTCP_MODE_OFF) {
        owner = g_strdup("none");
    } else if (m->cfg.owner_forced) {
        owner = g_strdup("groupd");
    } else {
        g_autofree char *listener = find_other_listener(m);
        if (listener) {
            owner = g_strdup("mptcpd");
            detail = g_strdup_printf("%s; set [MPTCP] Owner=groupd to take over", listener);
        } else if (m->external_owner) {
            owner = g_strdup(m->external_owner);
            detail =
                g_strdup_printf("%s; set [MPTCP] Owner=groupd to take over", m->external_detail);
        } else {
            for (guint i = 0; i < m->endpoints->len && !owner; i++) {
                const GdMptcpEndpoint *ep = &g_array_index(m->endpoints, GdMptcpEndpoint, i);
                if (endpoint_owned(m, ep))
                    continue;
                g_autofree char *t = endpoint_text(m, ep);
                owner = g_strdup("foreign-endpoints");
                detail = g_strdup_printf("%s (id %u) was not made by groupd; set [MPTCP] "
                                         "Owner=groupd to take over",
                                         t, ep->id);
            }
            if (!owner)
                owner = g_strdup("groupd");
        }
    }
    if (g_strcmp0(owner, m->owner) != 0 || g_strcmp0(detail, m->owner_detail) != 0) {
        if (detail)
            g_warning("mptcp: not managing endpoints: %s", detail);
        else
            g_message("mptcp: endpoint owner: %s", owner);
        set_string(&m->owner, owner);
        set_string(&m->owner_detail, detail);
        note_changed(m);
    }
}

/* A subflow is backup when the peer asked for it or its local endpoint is
 * backup: the kernel's events carry only the former, and no event follows
 * SET_FLAGS on this side. */
static void update_backup(GdMptcp *m, GdMptcpSubflow *s)
{
    gboolean local = FALSE;
    for (guint i = 0; i < m->endpoints->len && !local; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(m->endpoints, GdMptcpEndpoint, i);
        local = ep->family == s->family &&
                memcmp(ep->addr, s->local_addr, s->family == AF_INET ? 4 : 16) == 0 &&
                (ep->flags & GD_MPTCP_FLAG_BACKUP);
    }
    s->backup = s->peer_backup || local;
}

static void update_all_backup(GdMptcp *m)
{
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->connections);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        GdMptcpConnection *c = value;
        for (guint i = 0; i < c->subflows->len; i++)
            update_backup(m, c->subflows->pdata[i]);
    }
}

/* ---- reconcile ---- */

/* Watch the subflows of the group that carries traffic, while there are
 * connections. */
static void update_stall_watch(GdMptcp *m)
{
    g_autoptr(GArray) watched = g_array_new(FALSE, FALSE, sizeof(int));
    if (m->has_active && m->cfg.stall_detect_msec && g_hash_table_size(m->connections)) {
        g_autoptr(GPtrArray) members = gd_cache_group_members(m->cache, m->active);
        for (guint i = 0; i < members->len; i++)
            g_array_append_val(watched, ((GdLink *)members->pdata[i])->nl.ifindex);
    }
    gd_mptcp_watch_set_stall_links(m->watch, (const int *)(void *)watched->data, watched->len,
                                   m->cfg.stall_detect_msec);
}

static void schedule_reconcile(GdMptcp *m, const char *why);

static gboolean timer_cb(gpointer user_data)
{
    GdMptcp *m = user_data;
    m->timer = 0;
    schedule_reconcile(m, "timer");
    return G_SOURCE_REMOVE;
}

static void arm_timer(GdMptcp *m, gint64 now, gint64 at)
{
    if (m->timer)
        g_source_remove(m->timer);
    gint64 ms = MAX((at - now + 999) / 1000, 1);
    m->timer = g_timeout_add_full(G_PRIORITY_HIGH, (guint)MIN(ms, G_MAXUINT), timer_cb, m, NULL);
}

/* The next moment something is due: a hold-down end, a stall probe, the
 * power-save settle deadline. */
static void arm_next_timer(GdMptcp *m, gint64 now, gboolean retry)
{
    gint64 next = retry ? now + RECONCILE_RETRY_MSEC * 1000 : G_MAXINT64;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        Group *g = value;
        if (g->healthy && g->eligible_at > now)
            next = MIN(next, g->eligible_at);
        if (g->stalled && g->stall_probe_at > now)
            next = MIN(next, g->stall_probe_at);
        else if (g->stalled)
            next = MIN(next, g->stall_probe_at + PROBE_TIMEOUT_MSEC * 1000);
    }
    if (m->has_leaving)
        next = MIN(next, m->leaving_deadline);
    if (next == G_MAXINT64) {
        if (m->timer)
            g_source_remove(m->timer);
        m->timer = 0;
        return;
    }
    arm_timer(m, now, next);
}

/* power-save: the group being left may go once the active group has a
 * subflow in every connection, or at the deadline. */
static void check_leaving(GdMptcp *m, gint64 now)
{
    if (!m->has_leaving)
        return;
    Group *active = m->has_active ? group_get(m, m->active) : NULL;
    gboolean done = !active || now >= m->leaving_deadline || m->mode != GD_MPTCP_MODE_POWER_SAVE;
    if (!done && active) {
        g_autoptr(GPtrArray) members = gd_cache_group_members(m->cache, active->id);
        GHashTableIter iter;
        gpointer value;
        done = TRUE;
        g_hash_table_iter_init(&iter, m->connections);
        while (g_hash_table_iter_next(&iter, NULL, &value) && done) {
            GdMptcpConnection *c = value;
            gboolean has = FALSE;
            for (guint i = 0; i < c->subflows->len && !has; i++) {
                GdMptcpSubflow *s = c->subflows->pdata[i];
                for (guint k = 0; k < members->len && !has; k++)
                    has = g_strcmp0(s->interface, ((GdLink *)members->pdata[k])->nl.name) == 0;
            }
            done = has;
        }
    }
    if (done) {
        char label[16];
        g_message("mptcp: power-save: leaving group %s",
                  group_label(m, m->leaving, label, sizeof(label)));
        m->has_leaving = FALSE;
    }
}

static void reconcile(GdMptcp *m)
{
    if (!m->available)
        return;
    gint64 now = g_get_monotonic_time();
    g_autofree char *trigger = g_steal_pointer(&m->pending_reason);
    gd_mptcp_watch_refresh_routes(m->watch);
    if (dump_endpoints(m) < 0) {
        arm_next_timer(m, now, TRUE);
        return;
    }
    m->round_errors = g_ptr_array_new_with_free_func(g_free);
    gboolean health_changed = update_health(m, now);
    if (!m->state_loaded) {
        load_owned(m);
        m->state_loaded = TRUE;
    }
    if (m->mode != GD_MPTCP_MODE_OFF)
        adopt_equal(m);
    update_owner(m);
    choose_active(m, now, trigger ? trigger : "change");
    check_leaving(m, now);

    if (!m->owner_detail && m->mode != GD_MPTCP_MODE_OFF) {
        if (m->cfg.stale_loss_cnt > 0) {
            g_autofree char *v = g_strdup_printf("%d", m->cfg.stale_loss_cnt);
            ensure_sysctl(m, "net/mptcp/stale_loss_cnt", v, NULL);
        }
        if (m->cfg.relax_rp_filter) {
            g_autofree char *all = NULL;
            rp_filter_all_strict =
                read_sysctl("net/ipv4/conf/all/rp_filter", &all) == 0 && g_str_equal(all, "1");
            GHashTableIter iter;
            gpointer value;
            g_hash_table_iter_init(&iter, m->groups);
            while (g_hash_table_iter_next(&iter, NULL, &value)) {
                g_autoptr(GPtrArray) members =
                    gd_cache_group_members(m->cache, ((Group *)value)->id);
                for (guint i = 0; i < members->len; i++) {
                    g_autofree char *path = g_strdup_printf("net/ipv4/conf/%s/rp_filter",
                                                            ((GdLink *)members->pdata[i])->nl.name);
                    ensure_sysctl(m, path, "2", rp_filter_relaxed);
                }
            }
        }
    }

    guint failed = 0;
    if (!m->owner_detail) {
        g_autoptr(GArray) wants = desired_endpoints(m, now);
        m->added_pending = FALSE;
        g_autoptr(GHashTable) before = g_hash_table_new(NULL, NULL);
        for (guint i = 0; i < m->endpoints->len; i++)
            g_hash_table_add(before,
                             GUINT_TO_POINTER(g_array_index(m->endpoints, GdMptcpEndpoint, i).id));
        failed = apply_endpoints(m, wants);
        if (m->added_pending) {
            dump_endpoints(m);
            /* The kernel chose the ids of what groupd added: the new ones
             * that are wanted are groupd's. */
            for (guint i = 0; i < m->endpoints->len; i++) {
                const GdMptcpEndpoint *ep = &g_array_index(m->endpoints, GdMptcpEndpoint, i);
                for (guint k = 0; k < wants->len; k++) {
                    const Want *w = &g_array_index(wants, Want, k);
                    if (same_address(&w->ep, ep) && w->ep.ifindex == ep->ifindex &&
                        !g_hash_table_contains(before, GUINT_TO_POINTER(ep->id)))
                        g_hash_table_add(m->owned_ids, GUINT_TO_POINTER(ep->id));
                }
            }
        } else {
            dump_endpoints(m);
        }
        save_owned(m);
        update_all_backup(m);
    }
    g_ptr_array_add(m->round_errors, NULL);
    g_autofree char *errors = g_strjoinv("; ", (char **)m->round_errors->pdata);
    g_clear_pointer(&m->round_errors, g_ptr_array_unref);
    set_last_error(m, errors);
    update_stall_watch(m);
    if (health_changed)
        note_changed(m);
    note_changed(m);
    arm_next_timer(m, now, failed > 0);
}

static gboolean reconcile_cb(gpointer user_data)
{
    GdMptcp *m = user_data;
    m->reconcile_source = 0;
    reconcile(m);
    return G_SOURCE_REMOVE;
}

static void schedule_reconcile(GdMptcp *m, const char *why)
{
    if (!m->pending_reason)
        m->pending_reason = g_strdup(why);
    if (!m->reconcile_source)
        m->reconcile_source = g_idle_add_full(G_PRIORITY_HIGH, reconcile_cb, m, NULL);
}

/* ---- inputs ---- */

static void link_watch_cb(GdCache *cache, int ifindex, uint32_t group, gpointer user_data)
{
    GdMptcp *m = user_data;
    if (group_get(m, group))
        schedule_reconcile(m, "link change");
}

static void stall_cb(GdMptcpWatch *watch, int ifindex, const char *detail, gpointer user_data)
{
    GdMptcp *m = user_data;
    GdLink *link = gd_cache_link_by_index(m->cache, ifindex);
    Group *g = link ? group_get(m, link->nl.group) : NULL;
    if (!g || g->stalled)
        return;
    g->stalled = TRUE;
    g_free(g->stall_reason);
    g->stall_reason = g_strdup_printf("subflows stalled on %s (%s)", link->nl.name, detail);
    gint64 now = g_get_monotonic_time();
    g->stall_probe_at = now + hold_down_usec(m, g, now);
    g_warning("mptcp: group %u: %s", g->id, g->stall_reason);
    schedule_reconcile(m, g->stall_reason);
}

static void routes_cb(GdMptcpWatch *watch, gpointer user_data)
{
    schedule_reconcile(user_data, "default route change");
}

/* The ifindex of the link that has this address, or 0. */
static int link_with_address(GdMptcp *m, uint8_t family, const uint8_t *addr)
{
    g_autoptr(GPtrArray) links = gd_cache_links(m->cache);
    for (guint i = 0; i < links->len; i++) {
        const GdLink *link = links->pdata[i];
        for (guint k = 0; k < link->addrs->len; k++) {
            const GdNlAddr *a = &g_array_index(link->addrs, GdNlAddr, k);
            if (a->family == family && memcmp(a->addr, addr, family == AF_INET ? 4 : 16) == 0)
                return link->nl.ifindex;
        }
    }
    return 0;
}

static GdMptcpConnection *connection_get(GdMptcp *m, const GdMptcpEvent *ev)
{
    GdMptcpConnection *c = g_hash_table_lookup(m->connections, GUINT_TO_POINTER(ev->token));
    if (!c) {
        c = g_new0(GdMptcpConnection, 1);
        c->token = ev->token;
        c->local = g_strdup("");
        c->remote = g_strdup("");
        c->subflows = g_ptr_array_new_with_free_func(subflow_free);
        g_hash_table_insert(m->connections, GUINT_TO_POINTER(ev->token), c);
    }
    return c;
}

static int subflow_find(GdMptcpConnection *c, const char *local, const char *remote)
{
    for (guint i = 0; i < c->subflows->len; i++) {
        GdMptcpSubflow *s = c->subflows->pdata[i];
        if (g_str_equal(s->local, local) && g_str_equal(s->remote, remote))
            return (int)i;
    }
    return -1;
}

static void handle_event(GdMptcp *m, const GdMptcpEvent *ev)
{
    g_autofree char *local =
        ev->family ? gd_mptcp_addr_port_format(ev->family, ev->saddr, ev->sport) : g_strdup("");
    g_autofree char *remote =
        ev->family ? gd_mptcp_addr_port_format(ev->family, ev->daddr, ev->dport) : g_strdup("");
    g_debug("mptcp: event %s token %08x %s → %s (ifindex %d, backup %d)",
            gd_mptcp_event_name(ev->type), ev->token, local, remote, ev->ifindex, ev->backup);
    switch (ev->type) {
    case MPTCP_EVENT_CREATED:
    case MPTCP_EVENT_ESTABLISHED: {
        GdMptcpConnection *c = connection_get(m, ev);
        set_string(&c->local, local);
        set_string(&c->remote, remote);
        if (subflow_find(c, local, remote) < 0 && ev->family) {
            /* The initial subflow: the event names no interface; it is the
             * link that has the local address. */
            GdMptcpSubflow *s = g_new0(GdMptcpSubflow, 1);
            s->local = g_strdup(local);
            s->remote = g_strdup(remote);
            s->family = ev->family;
            memcpy(s->local_addr, ev->saddr, sizeof(s->local_addr));
            char name[IFNAMSIZ];
            link_name(m, link_with_address(m, ev->family, ev->saddr), name);
            s->interface = g_strdup(name);
            g_ptr_array_add(c->subflows, s);
        }
        update_stall_watch(m);
        break;
    }
    case MPTCP_EVENT_CLOSED:
        g_hash_table_remove(m->connections, GUINT_TO_POINTER(ev->token));
        update_stall_watch(m);
        break;
    case MPTCP_EVENT_SUB_ESTABLISHED:
    case MPTCP_EVENT_SUB_PRIORITY: {
        GdMptcpConnection *c = connection_get(m, ev);
        int i = subflow_find(c, local, remote);
        GdMptcpSubflow *s = i >= 0 ? c->subflows->pdata[i] : g_new0(GdMptcpSubflow, 1);
        if (i < 0) {
            s->local = g_strdup(local);
            s->remote = g_strdup(remote);
            s->family = ev->family;
            memcpy(s->local_addr, ev->saddr, sizeof(s->local_addr));
            g_ptr_array_add(c->subflows, s);
        }
        char name[IFNAMSIZ];
        link_name(m, ev->ifindex > 0 ? ev->ifindex : link_with_address(m, ev->family, ev->saddr),
                  name);
        if (*name || !s->interface)
            set_string(&s->interface, name);
        if (ev->backup >= 0)
            s->peer_backup = ev->backup;
        update_backup(m, s);
        /* A subflow that comes up on a stalled group proves its path. */
        GdLink *link = ev->ifindex > 0 ? gd_cache_link_by_index(m->cache, ev->ifindex) : NULL;
        Group *g = link ? group_get(m, link->nl.group) : NULL;
        if (g && g->stalled && ev->type == MPTCP_EVENT_SUB_ESTABLISHED) {
            g_message("mptcp: group %u: a subflow came up on %s, the stall is over", g->id,
                      link->nl.name);
            g->stalled = FALSE;
        }
        schedule_reconcile(m, "subflow change");
        break;
    }
    case MPTCP_EVENT_SUB_CLOSED: {
        GdMptcpConnection *c = g_hash_table_lookup(m->connections, GUINT_TO_POINTER(ev->token));
        int i = c ? subflow_find(c, local, remote) : -1;
        if (i >= 0)
            g_ptr_array_remove_index(c->subflows, (guint)i);
        /* A probe's subflow on a stalled group closed: the path is still dead. */
        int ifindex = ev->ifindex > 0 ? ev->ifindex : link_with_address(m, ev->family, ev->saddr);
        GdLink *link = ifindex > 0 ? gd_cache_link_by_index(m->cache, ifindex) : NULL;
        Group *g = link ? group_get(m, link->nl.group) : NULL;
        gint64 now = g_get_monotonic_time();
        if (g && g->stalled && now >= g->stall_probe_at) {
            probe_failed(m, g, now, "its subflow closed");
            schedule_reconcile(m, "probe failed");
        }
        break;
    }
    case MPTCP_EVENT_ANNOUNCED:
    case MPTCP_EVENT_REMOVED:
        /* The peer's addresses: the in-kernel path manager acts on them
         * (add_addr_accepted); groupd only logs them. */
        g_debug("mptcp: token %08x: the peer %s address id %u %s", ev->token,
                ev->type == MPTCP_EVENT_ANNOUNCED ? "announced" : "removed", ev->rem_id, remote);
        return;
    default:
        return;
    }
    note_changed(m);
}

static void event_message(const struct nlmsghdr *nlh, gpointer user_data)
{
    GdMptcp *m = user_data;
    GdMptcpEvent ev;
    if (gd_mptcp_parse_event(nlh, m->family.family_id, &ev) == 0)
        handle_event(m, &ev);
}

static gboolean events_ready_cb(gint fd, GIOCondition condition, gpointer user_data)
{
    GdMptcp *m = user_data;
    int r = gd_nl_socket_drain(m->events, 64, event_message, m);
    if (r == -ENOBUFS) {
        /* Events were lost: the subflows are re-learnt from new events;
         * the endpoints and health do not depend on them. */
        g_warning("mptcp: event socket overrun; connection list may be incomplete");
    } else if (r < 0 && r != -EAGAIN) {
        g_warning("mptcp: reading events: %s", g_strerror(-r));
    }
    return G_SOURCE_CONTINUE;
}

/* ---- configuration ---- */

void gd_mptcp_set_config(GdMptcp *m, const GdConfig *config)
{
    if (config == m->config_seen)
        return;
    m->config_seen = config;
    const GdMptcpConfig *c = &config->daemon.mptcp;
    g_clear_pointer(&m->preference, g_array_unref);
    m->cfg = *c;
    m->cfg.preference = NULL;
    m->cfg.preference_ids = NULL;
    if (c->preference_ids) {
        m->preference = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        g_array_append_vals(m->preference, c->preference_ids->data, c->preference_ids->len);
    }
    m->mode = c->mode;

    /* Keep the health of groups that stay; new ones start unjudged. */
    g_autoptr(GHashTable) old = g_steal_pointer(&m->groups);
    m->groups = g_hash_table_new_full(NULL, NULL, NULL, group_free);
    for (guint i = 0; i < config->policies->len; i++) {
        const GdGroupPolicy *p = config->policies->pdata[i];
        if (!p->mptcp.enabled)
            continue;
        Group *g = old ? g_hash_table_lookup(old, GUINT_TO_POINTER(p->id)) : NULL;
        if (g)
            g_hash_table_steal(old, GUINT_TO_POINTER(p->id));
        else {
            g = g_new0(Group, 1);
            g->id = p->id;
            g->reason = g_strdup("not judged yet");
            g->failures = g_array_new(FALSE, FALSE, sizeof(gint64));
        }
        g->flags = p->mptcp.flags;
        set_string(&g->link_class, p->mptcp.link_class);
        g->always = p->mptcp.always;
        g_hash_table_insert(m->groups, GUINT_TO_POINTER(g->id), g);
    }
    if (m->has_active && !group_get(m, m->active))
        set_active(m, FALSE, 0, "the group has no [MPTCP] section any more");
    gd_mptcp_watch_set_routes(m->watch, m->available && g_hash_table_size(m->groups) > 0);

    if (m->available && m->mode != GD_MPTCP_MODE_OFF &&
        (c->subflows >= 0 || c->add_addr_accepted >= 0)) {
        g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
        uint32_t seq = gd_nl_socket_reserve_seq(m->requests, 1);
        struct nlmsghdr *nlh = gd_mptcp_put_set_limits(buf, seq, m->family.family_id, c->subflows,
                                                       c->add_addr_accepted);
        if (request(m, nlh, NULL, "cannot set limits") == 0)
            g_message("mptcp: limits set: subflows %d, add_addr_accepted %d", c->subflows,
                      c->add_addr_accepted);
    }
    if (m->available) {
        g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
        uint32_t seq = gd_nl_socket_reserve_seq(m->requests, 1);
        struct nlmsghdr *nlh = gd_mptcp_put_get_limits(buf, seq, m->family.family_id);
        request(m, nlh, limits_reply, "cannot read limits");
    }
    note_changed(m);
    schedule_reconcile(m, "configuration");
}

void gd_mptcp_set_external_owner(GdMptcp *m, const char *owner, const char *detail)
{
    gboolean a = set_string(&m->external_owner, owner);
    gboolean b = set_string(&m->external_detail, detail);
    if (a || b)
        schedule_reconcile(m, "owner change");
}

void gd_mptcp_set_state_file(GdMptcp *m, const char *path)
{
    g_free(m->state_path);
    m->state_path = g_strdup(path);
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0755) < 0)
        g_debug("mptcp: cannot create %s: %s", dir, g_strerror(errno));
}

gboolean gd_mptcp_group_configured(GdMptcp *m, uint32_t group)
{
    return group_get(m, group) != NULL;
}

int gd_mptcp_set_mode(GdMptcp *m, GdMptcpMode mode)
{
    if (mode == m->mode)
        return 0;
    g_message("mptcp: mode %s → %s (SetMode)", gd_mptcp_mode_name(m->mode),
              gd_mptcp_mode_name(mode));
    m->mode = mode;
    if (mode == GD_MPTCP_MODE_OFF || mode == GD_MPTCP_MODE_AGGREGATE)
        set_active(m, FALSE, 0, mode == GD_MPTCP_MODE_OFF ? "mode off" : "aggregate mode");
    m->has_leaving = FALSE;
    note_changed(m);
    reconcile(m);
    return 0;
}

int gd_mptcp_set_preference(GdMptcp *m, const uint32_t *groups, guint n)
{
    for (guint i = 0; i < n; i++) {
        Group *g = group_get(m, groups[i]);
        if (!g || g->always)
            return -EINVAL;
        for (guint k = 0; k < i; k++)
            if (groups[k] == groups[i])
                return -EINVAL;
    }
    g_clear_pointer(&m->preference, g_array_unref);
    m->preference = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_array_append_vals(m->preference, groups, n);
    note_changed(m);
    schedule_reconcile(m, "preference changed (SetPreference)");
    /* A new order may make another group the right one now. */
    gint64 now = g_get_monotonic_time();
    if (m->has_active) {
        g_autoptr(GArray) order = preference_order(m);
        for (guint i = 0; i < order->len; i++) {
            Group *g = group_get(m, g_array_index(order, uint32_t, i));
            if (g->id == m->active)
                break;
            if (g->healthy && now >= g->eligible_at) {
                char label[16];
                g_autofree char *reason = g_strdup_printf("preference changed: %s comes first",
                                                          group_label(m, g->id, label, 16));
                set_active(m, TRUE, g->id, reason);
                break;
            }
        }
    }
    reconcile(m);
    return 0;
}

int gd_mptcp_failover(GdMptcp *m, gboolean has_to, uint32_t to)
{
    if (m->mode == GD_MPTCP_MODE_OFF || m->mode == GD_MPTCP_MODE_AGGREGATE || m->owner_detail ||
        !m->available)
        return -EHOSTUNREACH;
    if (has_to && !group_get(m, to))
        return -ENOENT;
    gint64 now = g_get_monotonic_time();
    Group *target = NULL;
    if (has_to) {
        target = group_get(m, to);
        if (!target->healthy || (m->has_active && to == m->active))
            return -EHOSTUNREACH;
    } else {
        g_autoptr(GArray) order = preference_order(m);
        for (guint i = 0; i < order->len && !target; i++) {
            Group *g = group_get(m, g_array_index(order, uint32_t, i));
            if (g->healthy && !(m->has_active && g->id == m->active))
                target = g;
        }
        if (!target)
            return -EHOSTUNREACH;
    }
    /* The group left is held down as if it had failed. */
    if (m->has_active) {
        Group *old = group_get(m, m->active);
        if (old) {
            g_array_append_val(old->failures, now);
            old->eligible_at = now + hold_down_usec(m, old, now);
        }
    }
    target->eligible_at = MIN(target->eligible_at, now);
    set_active(m, TRUE, target->id, "forced by Failover()");
    reconcile(m);
    return 0;
}

/* ---- getters ---- */

GdMptcpMode gd_mptcp_mode(GdMptcp *m)
{
    return m->mode;
}

GArray *gd_mptcp_preference(GdMptcp *m)
{
    return preference_order(m);
}

gboolean gd_mptcp_active_group(GdMptcp *m, uint32_t *group)
{
    *group = m->active;
    return m->has_active;
}

GArray *gd_mptcp_endpoints(GdMptcp *m)
{
    GArray *out = g_array_new(FALSE, TRUE, sizeof(GdMptcpEndpointInfo));
    for (guint i = 0; i < m->endpoints->len; i++) {
        GdMptcpEndpointInfo info = {.ep = g_array_index(m->endpoints, GdMptcpEndpoint, i)};
        info.owned = g_hash_table_contains(m->owned_ids, GUINT_TO_POINTER(info.ep.id)) &&
                     endpoint_group(m, &info.ep, &info.group);
        link_name(m, info.ep.ifindex, info.ifname);
        g_array_append_val(out, info);
    }
    return out;
}

gboolean gd_mptcp_limits(GdMptcp *m, GdMptcpLimits *out)
{
    *out = m->limits;
    return m->limits_known;
}

GPtrArray *gd_mptcp_connections(GdMptcp *m)
{
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->connections);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        g_ptr_array_add(out, value);
    return out;
}

const char *gd_mptcp_owner(GdMptcp *m, const char **detail)
{
    *detail = m->owner_detail ? m->owner_detail : "";
    return m->owner ? m->owner : "none";
}

GArray *gd_mptcp_health(GdMptcp *m)
{
    GArray *out = g_array_new(FALSE, TRUE, sizeof(GdMptcpHealth));
    g_autoptr(GArray) order = preference_order(m);
    GHashTableIter iter;
    gpointer value;
    /* Preference order first, then the Role=always groups. */
    g_hash_table_iter_init(&iter, m->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        if (((Group *)value)->always)
            g_array_append_val(order, ((Group *)value)->id);
    gint64 now = g_get_monotonic_time();
    for (guint i = 0; i < order->len; i++) {
        Group *g = group_get(m, g_array_index(order, uint32_t, i));
        GdMptcpHealth h = {.group = g->id, .reason = g->reason ? g->reason : ""};
        if (!g->healthy) {
            h.state = "down";
        } else if (m->has_active && g->id == m->active) {
            h.state = "active";
        } else if (now < g->eligible_at) {
            h.state = "hold-down";
            g_free(g->hold_text);
            g->hold_text = g_strdup_printf("recovered; the hold-down ends in %.1f s",
                                           (double)(g->eligible_at - now) / G_USEC_PER_SEC);
            h.reason = g->hold_text;
        } else {
            h.state = "standby";
        }
        g_array_append_val(out, h);
    }
    return out;
}

GPtrArray *gd_mptcp_sysctl_changes(GdMptcp *m)
{
    return m->sysctls;
}

guint gd_mptcp_failover_count(GdMptcp *m)
{
    return m->failover_count;
}

const char *gd_mptcp_last_error(GdMptcp *m)
{
    return m->last_error ? m->last_error : "";
}

/* ---- life cycle ---- */

int gd_mptcp_new(GdCache *cache, GdMptcpChangedFunc changed, GdMptcpActiveFunc active_changed,
                 gpointer user_data, GdMptcp **out)
{
    g_autoptr(GdMptcp) m = g_new0(GdMptcp, 1);
    m->cache = cache;
    m->changed = changed;
    m->active_changed = active_changed;
    m->user_data = user_data;
    m->groups = g_hash_table_new_full(NULL, NULL, NULL, group_free);
    m->endpoints = g_array_new(FALSE, TRUE, sizeof(GdMptcpEndpoint));
    m->owned_ids = g_hash_table_new(NULL, NULL);
    m->connections = g_hash_table_new_full(NULL, NULL, NULL, connection_free);
    m->sysctls = g_ptr_array_new_with_free_func(sysctl_free);
    m->owner = g_strdup("none");

    int r = gd_nl_socket_open_protocol(NETLINK_GENERIC, NULL, 0, 0, 0, &m->requests);
    if (r < 0)
        return r;
    r = gd_mptcp_resolve_family(m->requests, &m->family);
    if (r == -ENOENT) {
        g_message("mptcp: the kernel has no mptcp_pm family; MPTCP is not managed");
        m->owner_detail = g_strdup("the kernel has no MPTCP path manager (mptcp_pm)");
    } else if (r < 0) {
        return r;
    } else {
        m->available = TRUE;
        unsigned groups[] = {m->family.events_group};
        r = gd_nl_socket_open_protocol(NETLINK_GENERIC, groups, m->family.events_group ? 1 : 0,
                                       4 * 1024 * 1024, 0, &m->events);
        if (r < 0)
            return r;
        m->event_watch = g_unix_fd_add(gd_nl_socket_fd(m->events), G_IO_IN, events_ready_cb, m);
    }
    r = gd_mptcp_watch_new(cache, routes_cb, stall_cb, m, &m->watch);
    if (r < 0)
        return r;
    gd_cache_set_link_watch(cache, link_watch_cb, m);
    *out = g_steal_pointer(&m);
    return 0;
}

void gd_mptcp_free(GdMptcp *m)
{
    if (!m)
        return;
    if (m->cache)
        gd_cache_set_link_watch(m->cache, NULL, NULL);
    g_clear_handle_id(&m->event_watch, g_source_remove);
    g_clear_handle_id(&m->reconcile_source, g_source_remove);
    g_clear_handle_id(&m->timer, g_source_remove);
    g_clear_handle_id(&m->changed_source, g_source_remove);
    g_clear_pointer(&m->watch, gd_mptcp_watch_free);
    g_clear_pointer(&m->events, gd_nl_socket_close);
    g_clear_pointer(&m->requests, gd_nl_socket_close);
    g_clear_pointer(&m->groups, g_hash_table_unref);
    g_clear_pointer(&m->endpoints, g_array_unref);
    g_clear_pointer(&m->owned_ids, g_hash_table_unref);
    g_clear_pointer(&m->connections, g_hash_table_unref);
    g_clear_pointer(&m->sysctls, g_ptr_array_unref);
    g_clear_pointer(&m->preference, g_array_unref);
    g_free(m->external_owner);
    g_free(m->external_detail);
    g_free(m->owner);
    g_free(m->owner_detail);
    g_free(m->last_error);
    g_free(m->pending_reason);
    g_free(m->state_path);
    g_free(m->state_text);
    g_free(m);
}

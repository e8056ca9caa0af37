/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The MPTCP manager: the shell around the pure decisions (health.c,
 * active.c, endpoints.c, owner.c, sysctls.c, connections.c). It gathers
 * their inputs from the cache and the platform, sends what they decide to
 * the kernel, logs, keeps the timers and the state file.
 *
 * Reactions are immediate: the cache's link watch and the route and
 * mptcp_pm events schedule one reconcile at high priority. On failure of
 * the active group its endpoints are deleted first, which makes the kernel
 * re-inject the data stranded on its subflows at once; swapping backup
 * flags alone would leave it waiting for retransmission timeouts. */
/* glibc's netinet/in.h first: linux/in.h (via linux/mptcp.h) then defers to it. */
#include <netinet/in.h>

#include "log/log.h"
#include "mptcp/kernel.h"
#include "mptcp/mptcp.h"
#include "mptcp/owner.h"

#include <errno.h>
#include <linux/mptcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The kernel's endpoints could not be read: the next try. */
#define RECONCILE_RETRY_MSEC 1000

struct GdMpManager {
    GdCache *cache;
    GdMpPlatform *platform; /* kernel.platform */
    GdMpManagerChangedFunc changed;
    GdMpManagerActiveFunc active_changed;
    gpointer user_data;

    /* configuration */
    const GdConfig *config_seen;
    GdMptcpConfig cfg; /* preference/preference_ids: not kept */
    GdMpState st;      /* mode, groups, preference, the active group */

    GdMpKernel kernel;       /* endpoints, owned ids, limits, sysctls */
    GHashTable *connections; /* token → GdMptcpConnection* */

    char *external_owner, *external_detail;
    char *owner, *owner_detail;
    guint failover_count;
    char *last_error;

    char *state_path; /* the endpoints groupd made, across restarts */
    char *state_text; /* what was last written there */
    gboolean state_loaded;
    GPtrArray *round_errors; /* while reconciling */

    guint reconcile_source;
    guint timer;
    guint changed_source;
    char *pending_reason;
};

/* ---- small helpers ---- */

static gint64 now_of(GdMpManager *m)
{
    return m->platform->ops->now(m->platform);
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
    GdMpManager *m = user_data;
    m->changed_source = 0;
    if (m->changed)
        m->changed(m, m->user_data);
    return G_SOURCE_REMOVE;
}

static void note_changed(GdMpManager *m)
{
    if (!m->changed_source)
        m->changed_source = g_idle_add_full(G_PRIORITY_DEFAULT, changed_idle_cb, m, NULL);
}

static GdMpGroup *group_get(GdMpManager *m, uint32_t id)
{
    return gd_mp_active_group(&m->st, id);
}

/* A group's name from the configuration, else its number. */
static const char *group_label(GdMpManager *m, uint32_t id, char *buf, size_t len)
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
static void set_last_error(GdMpManager *m, const char *text)
{
    if (m->round_errors) {
        g_ptr_array_add(m->round_errors, g_strdup(text));
        return;
    }
    if (set_string(&m->last_error, text))
        note_changed(m);
}

static void kernel_failed_cb(const char *text, gpointer user_data)
{
    set_last_error(user_data, text);
}

static void kernel_changed_cb(gpointer user_data)
{
    note_changed(user_data);
}

/* The decisions read each group's members: copied from the cache now. */
static void refresh_members(GdMpManager *m)
{
    GdMpPlatform *p = m->platform;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->st.groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        GdMpGroup *g = value;
        g_ptr_array_set_size(g->members, 0);
        g->link_type[0] = '\0';
        g_autoptr(GPtrArray) links = gd_cache_group_members(m->cache, g->id);
        for (guint i = 0; i < links->len; i++) {
            const GdLink *link = links->pdata[i];
            gboolean lost = p->ops->route_lost(p, link->nl.ifindex);
            g_ptr_array_add(g->members, gd_mp_health_member_new(&link->nl, link->addrs, lost));
        }
        /* The type orders groups only when no order is given (sysfs reads). */
        if (links->len && !m->st.preference)
            p->ops->link_type(p, &((const GdLink *)links->pdata[0])->nl, g->link_type);
    }
}

static void link_name(GdMpManager *m, int ifindex, char name[IFNAMSIZ])
{
    gd_mp_kernel_link_name(&m->kernel, ifindex, name);
}

static char *endpoint_text(GdMpManager *m, const GdMptcpEndpoint *ep)
{
    return gd_mp_kernel_endpoint_text(&m->kernel, ep);
}

/* ---- health and the active group ---- */

/* Re-judges every group, logging what changed. */
static void update_health(GdMpManager *m, gint64 now)
{
    gboolean has_connections = g_hash_table_size(m->connections) > 0;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->st.groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        GdMpGroup *g = value;
        switch (gd_mp_health_stall_tick(g, &m->cfg, has_connections, now)) {
        case GD_MP_STALL_OVER:
            gd_log_group_fields(G_LOG_LEVEL_MESSAGE, g->id,
                                "mptcp: group %s: no connection left to probe with; the stall "
                                "is over",
                                GD_LOG_GROUP(g->id));
            break;
        case GD_MP_STALL_PROBE_FAILED:
            gd_log_group_fields(G_LOG_LEVEL_MESSAGE, g->id,
                                "mptcp: group %s: probe failed (no subflow came up); next probe "
                                "in %.1f s",
                                GD_LOG_GROUP(g->id),
                                (double)(g->stall_probe_at - now) / G_USEC_PER_SEC);
            break;
        case GD_MP_STALL_NONE:
            break;
        }
        switch (gd_mp_health_judge(g, &m->cfg, now)) {
        case GD_MP_HEALTH_UP:
            gd_log_group_fields(G_LOG_LEVEL_MESSAGE, g->id, "mptcp: group %s: healthy%s",
                                GD_LOG_GROUP(g->id), g->eligible_at > now ? " (held down)" : "");
            break;
        case GD_MP_HEALTH_DOWN:
            gd_log_group_fields(G_LOG_LEVEL_MESSAGE, g->id, "mptcp: group %s: down: %s",
                                GD_LOG_GROUP(g->id), g->reason);
            break;
        case GD_MP_HEALTH_SAME:
        case GD_MP_HEALTH_REJUDGED:
            break;
        }
    }
}

static void set_active(GdMpManager *m, gboolean has, uint32_t id, const char *reason)
{
    gboolean had = m->st.has_active;
    uint32_t previous = m->st.active;
    if (!gd_mp_active_set(&m->st, has, id, now_of(m)))
        return;
    gd_log_about(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, &(GdLogAbout){.has_group = has, .group = id},
                 "mptcp: active group %s → %s: %s", had ? GD_LOG_GROUP(previous) : "none",
                 has ? GD_LOG_GROUP(id) : "none", reason);
    m->failover_count++;
    note_changed(m);
    if (m->active_changed)
        m->active_changed(m, has, id, had, previous, reason, m->user_data);
}

static void choose_active(GdMpManager *m, gint64 now, const char *trigger)
{
    g_auto(GdMpChoice) choice;
    gd_mp_active_choose(&m->st, &m->cfg, !m->owner_detail, now, trigger, &choice);
    if (choice.change)
        set_active(m, choice.has, choice.id, choice.reason);
}

/* power-save: the group being left goes once the active group has a
 * subflow in every connection, or at the deadline. */
static void check_leaving(GdMpManager *m, gint64 now)
{
    if (!m->st.has_leaving || !gd_mp_active_leaving_done(&m->st, m->connections, now))
        return;
    gd_log_group_fields(G_LOG_LEVEL_MESSAGE, m->st.leaving, "mptcp: power-save: leaving group %s",
                        GD_LOG_GROUP(m->st.leaving));
    m->st.has_leaving = FALSE;
}

/* ---- the kernel's endpoints ---- */

/* The state file: what groupd made, known after a restart. */
static void save_owned(GdMpManager *m)
{
    if (!m->state_path)
        return;
    g_autofree char *text = gd_mp_endpoints_owned_text(m->kernel.endpoints, m->kernel.owned);
    if (m->state_text && g_str_equal(m->state_text, text))
        return;
    g_autoptr(GError) error = NULL;
    if (!g_file_set_contents_full(m->state_path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                  &error))
        g_debug("mptcp: cannot record the endpoints groupd made: %s", error->message);
    g_free(m->state_text);
    m->state_text = g_steal_pointer(&text);
}

static void load_owned(GdMpManager *m)
{
    g_autofree char *text = NULL;
    if (m->state_path && g_file_get_contents(m->state_path, &text, NULL, NULL))
        gd_mp_endpoints_owned_parse(text, m->kernel.endpoints, m->kernel.owned);
}

static void adopt_equal(GdMpManager *m)
{
    g_autoptr(GArray) groups = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_autoptr(GArray) found =
        gd_mp_endpoints_adoptable(&m->st, m->kernel.endpoints, m->kernel.owned, groups);
    for (guint i = 0; i < found->len; i++) {
        const GdMptcpEndpoint *ep =
            &g_array_index(m->kernel.endpoints, GdMptcpEndpoint, g_array_index(found, guint, i));
        g_hash_table_add(m->kernel.owned, GUINT_TO_POINTER(ep->id));
        g_autofree char *t = endpoint_text(m, ep);
        uint32_t group = g_array_index(groups, uint32_t, i);
        gd_log_group_fields(G_LOG_LEVEL_MESSAGE, group,
                            "mptcp: %s (id %u) is what group %s wants: taken as groupd's", t,
                            ep->id, GD_LOG_GROUP(group));
    }
}

/* ---- owners ---- */

static void update_owner(GdMpManager *m)
{
    GdMpOwnerFacts facts = {.available = m->platform->available,
                            .mode = m->st.mode,
                            .forced = m->cfg.owner_forced,
                            .external_owner = m->external_owner,
                            .external_detail = m->external_detail};
    g_autofree char *listener = NULL, *foreign = NULL;
    if (gd_mp_owner_contested(&facts)) {
        listener = m->platform->ops->other_path_manager(m->platform);
        int i = listener || m->external_owner
                    ? -1
                    : gd_mp_owner_first_foreign(m->kernel.endpoints, m->kernel.owned);
        if (i >= 0) {
            const GdMptcpEndpoint *ep = &g_array_index(m->kernel.endpoints, GdMptcpEndpoint, i);
            g_autofree char *t = endpoint_text(m, ep);
            foreign = g_strdup_printf("%s (id %u)", t, ep->id);
        }
        facts.listener = listener;
        facts.foreign = foreign;
    }
    g_autofree char *owner = NULL, *detail = NULL;
    gd_mp_owner_decide(&facts, &owner, &detail);
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

/* ---- reconcile ---- */

/* Watch the subflows of the group that carries traffic, while there are
 * connections. */
static void update_stall_watch(GdMpManager *m)
{
    g_autoptr(GArray) watched = g_array_new(FALSE, FALSE, sizeof(int));
    if (m->st.has_active && m->cfg.stall_detect_msec && g_hash_table_size(m->connections)) {
        g_autoptr(GPtrArray) members = gd_cache_group_members(m->cache, m->st.active);
        for (guint i = 0; i < members->len; i++)
            g_array_append_val(watched, ((GdLink *)members->pdata[i])->nl.ifindex);
    }
    /* The watch asks the links' far side with echoes: ping sockets. */
    if (watched->len && !m->owner_detail)
        gd_mp_kernel_ensure_ping_range(&m->kernel, (uint32_t)getegid());
    m->platform->ops->watch_subflows(m->platform, (const int *)(void *)watched->data, watched->len,
                                     m->cfg.stall_detect_msec);
}

/* Echoes over the paths of stalled groups, until they answer. */
static void update_path_probes(GdMpManager *m)
{
    g_autoptr(GArray) probes = g_array_new(FALSE, FALSE, sizeof(GdMpPathProbe));
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->st.groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        const GdMpPathProbe *path = gd_mp_health_echo_path(value);
        if (path)
            g_array_append_val(probes, *path);
    }
    m->platform->ops->probe_paths(m->platform, (const GdMpPathProbe *)(void *)probes->data,
                                  probes->len);
}

static void schedule_reconcile(GdMpManager *m, const char *why);

static gboolean timer_cb(gpointer user_data)
{
    GdMpManager *m = user_data;
    m->timer = 0;
    schedule_reconcile(m, "timer");
    return G_SOURCE_REMOVE;
}

static void cancel_timer(GdMpManager *m)
{
    if (m->timer)
        m->platform->ops->timeout_remove(m->platform, m->timer);
    m->timer = 0;
}

/* The next moment something is due: a hold-down end, a stall probe, the
 * power-save settle deadline, a refused request's next try; retry: the
 * endpoints could not be read. */
static void arm_next_timer(GdMpManager *m, gint64 now, gboolean retry)
{
    gint64 next = retry ? now + RECONCILE_RETRY_MSEC * 1000 : G_MAXINT64;
    next = MIN(next, gd_mp_kernel_next_retry(&m->kernel));
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->st.groups);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        next = MIN(next, gd_mp_health_next_change(value, now));
    if (m->st.has_leaving)
        next = MIN(next, m->st.leaving_deadline);
    cancel_timer(m);
    if (next == G_MAXINT64)
        return;
    gint64 ms = MAX((next - now + 999) / 1000, 1);
    m->timer = m->platform->ops->timeout_add(m->platform, (guint)MIN(ms, G_MAXUINT), timer_cb, m);
}

static void reconcile_endpoints(GdMpManager *m, gint64 now)
{
    g_autoptr(GArray) wants = gd_mp_endpoints_desired(&m->st, TRUE, now);
    g_autoptr(GArray) shared = gd_mp_endpoints_drop_shared(&m->st, wants);
    g_autoptr(GHashTable) before = g_hash_table_new(NULL, NULL);
    for (guint i = 0; i < m->kernel.endpoints->len; i++)
        g_hash_table_add(
            before, GUINT_TO_POINTER(g_array_index(m->kernel.endpoints, GdMptcpEndpoint, i).id));
    /* Owner=groupd: every endpoint is groupd's to manage, unless off. */
    gboolean manage_all = m->cfg.owner_forced && m->st.mode != GD_MPTCP_MODE_OFF;
    gboolean added;
    gd_mp_kernel_apply_endpoints(&m->kernel, wants, shared, manage_all, now, &added);
    gd_mp_kernel_read_endpoints(&m->kernel);
    if (added)
        gd_mp_endpoints_claim_new(m->kernel.endpoints, wants, before, m->kernel.owned);
    save_owned(m);
    gd_mp_connections_update_backup(m->connections, m->kernel.endpoints);
}

static void reconcile(GdMpManager *m)
{
    if (!m->platform->available)
        return;
    gint64 now = now_of(m);
    g_autofree char *trigger = g_steal_pointer(&m->pending_reason);
    m->platform->ops->refresh_routes(m->platform);
    if (gd_mp_kernel_read_endpoints(&m->kernel) < 0) {
        arm_next_timer(m, now, TRUE);
        return;
    }
    refresh_members(m);
    m->round_errors = g_ptr_array_new_with_free_func(g_free);
    update_health(m, now);
    if (!m->state_loaded) {
        load_owned(m);
        m->state_loaded = TRUE;
    }
    if (m->st.mode != GD_MPTCP_MODE_OFF)
        adopt_equal(m);
    update_owner(m);
    choose_active(m, now, trigger ? trigger : "change");
    check_leaving(m, now);
    if (!m->owner_detail && m->st.mode != GD_MPTCP_MODE_OFF) {
        g_autoptr(GPtrArray) wishes = gd_mp_sysctls_wanted(&m->cfg, &m->st);
        gd_mp_kernel_ensure_sysctls(&m->kernel, wishes);
    }
    if (!m->owner_detail)
        reconcile_endpoints(m, now);
    update_stall_watch(m);
    update_path_probes(m);
    gd_mp_kernel_round_end(&m->kernel);
    g_ptr_array_add(m->round_errors, NULL);
    g_autofree char *errors = g_strjoinv("; ", (char **)m->round_errors->pdata);
    g_clear_pointer(&m->round_errors, g_ptr_array_unref);
    set_last_error(m, errors);
    note_changed(m);
    arm_next_timer(m, now, FALSE);
}

static gboolean reconcile_cb(gpointer user_data)
{
    GdMpManager *m = user_data;
    m->reconcile_source = 0;
    reconcile(m);
    return G_SOURCE_REMOVE;
}

static void schedule_reconcile(GdMpManager *m, const char *why)
{
    if (!m->pending_reason)
        m->pending_reason = g_strdup(why);
    if (!m->reconcile_source)
        m->reconcile_source = g_idle_add_full(G_PRIORITY_HIGH, reconcile_cb, m, NULL);
}

/* ---- inputs ---- */

static void link_watch_cb(GdCache *cache, int ifindex, uint32_t group, gpointer user_data)
{
    GdMpManager *m = user_data;
    if (group_get(m, group))
        schedule_reconcile(m, "link change");
}

static void stalled_cb(int ifindex, const char *detail, const GdMpAddr *target, gpointer user_data)
{
    GdMpManager *m = user_data;
    GdLink *link = gd_cache_link_by_index(m->cache, ifindex);
    GdMpGroup *g = link ? group_get(m, link->nl.group) : NULL;
    if (!g)
        return;
    g_autofree char *reason = g_strdup_printf("subflows stalled on %s (%s)", link->nl.name, detail);
    GdMpPathProbe path = {.ifindex = ifindex};
    if (target)
        path.target = *target;
    if (!gd_mp_health_stall(g, &m->cfg, reason, ifindex, target ? &path : NULL, now_of(m)))
        return;
    gd_log_about(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                 &(GdLogAbout){.has_group = TRUE, .group = g->id, .ifname = link->nl.name},
                 "mptcp: group %s: %s", GD_LOG_GROUP(g->id), g->stall_reason);
    schedule_reconcile(m, g->stall_reason);
}

static void path_alive_cb(int ifindex, gpointer user_data)
{
    GdMpManager *m = user_data;
    GdLink *link = gd_cache_link_by_index(m->cache, ifindex);
    GdMpGroup *g = link ? group_get(m, link->nl.group) : NULL;
    if (!g || !gd_mp_health_path_alive(g, ifindex))
        return;
    g_autofree char *who =
        gd_mp_pm_addr_format(g->stall_path.target.family, g->stall_path.target.addr);
    gd_log_about(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                 &(GdLogAbout){.has_group = TRUE, .group = g->id, .ifname = link->nl.name},
                 "mptcp: group %s: %s answers over %s again, the stall is over",
                 GD_LOG_GROUP(g->id), who, link->nl.name);
    schedule_reconcile(m, "the path answers again");
}

static void routes_changed_cb(gpointer user_data)
{
    schedule_reconcile(user_data, "default route change");
}

/* The ifindex of the link that has this address, or 0. */
static int link_with_address(GdMpManager *m, uint8_t family, const uint8_t *addr)
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

static const char *event_ifname(int ifindex, uint8_t family, const uint8_t *addr,
                                char name[IFNAMSIZ], gpointer user_data)
{
    GdMpManager *m = user_data;
    link_name(m, ifindex > 0 ? ifindex : link_with_address(m, family, addr), name);
    return name;
}

/* The group of the link ifindex, else of the link that has addr. */
static GdMpGroup *event_group(GdMpManager *m, int ifindex, GdLink **link)
{
    *link = ifindex > 0 ? gd_cache_link_by_index(m->cache, ifindex) : NULL;
    return *link ? group_get(m, (*link)->nl.group) : NULL;
}

static void event_cb(const GdMptcpEvent *ev, gpointer user_data)
{
    GdMpManager *m = user_data;
    g_autofree char *local =
        ev->family ? gd_mp_pm_addr_port_format(ev->family, ev->saddr, ev->sport) : g_strdup("");
    g_autofree char *remote =
        ev->family ? gd_mp_pm_addr_port_format(ev->family, ev->daddr, ev->dport) : g_strdup("");
    g_debug("mptcp: event %s token %08x %s → %s (ifindex %d, backup %d)",
            gd_mp_pm_event_name(ev->type), ev->token, local, remote, ev->ifindex, ev->backup);
    if (!gd_mp_connections_apply(m->connections, ev, local, remote, event_ifname, m,
                                 m->kernel.endpoints)) {
        /* The peer's addresses: the in-kernel path manager acts on them
         * (add_addr_accepted); groupd only logs them. */
        if (ev->type == MPTCP_EVENT_ANNOUNCED || ev->type == MPTCP_EVENT_REMOVED)
            g_debug("mptcp: token %08x: the peer %s address id %u %s", ev->token,
                    ev->type == MPTCP_EVENT_ANNOUNCED ? "announced" : "removed", ev->rem_id,
                    remote);
        return;
    }
    GdLink *link;
    GdMpGroup *g;
    switch (ev->type) {
    case MPTCP_EVENT_SUB_ESTABLISHED:
    case MPTCP_EVENT_SUB_PRIORITY:
        /* A subflow that comes up on a stalled group proves its path. */
        g = event_group(m, ev->ifindex, &link);
        if (g && ev->type == MPTCP_EVENT_SUB_ESTABLISHED && gd_mp_health_subflow_up(g))
            gd_log_about(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                         &(GdLogAbout){.has_group = TRUE, .group = g->id, .ifname = link->nl.name},
                         "mptcp: group %s: a subflow came up on %s, the stall is over",
                         GD_LOG_GROUP(g->id), link->nl.name);
        schedule_reconcile(m, "subflow change");
        break;
    case MPTCP_EVENT_SUB_CLOSED: {
        /* A probe's subflow on a stalled group closed: the path is still dead. */
        g = event_group(
            m, ev->ifindex > 0 ? ev->ifindex : link_with_address(m, ev->family, ev->saddr), &link);
        gint64 now = now_of(m);
        if (g && gd_mp_health_probing(g, now)) {
            gint64 wait = gd_mp_health_probe_failed(g, &m->cfg, now);
            gd_log_group_fields(G_LOG_LEVEL_MESSAGE, g->id,
                                "mptcp: group %s: probe failed (its subflow closed); next probe "
                                "in %.1f s",
                                GD_LOG_GROUP(g->id), (double)wait / G_USEC_PER_SEC);
            schedule_reconcile(m, "probe failed");
        }
        break;
    }
    case MPTCP_EVENT_CLOSED:
        update_stall_watch(m);
        /* The last connection may be gone: a stall that nothing waits for
         * any more ends (health.c). */
        if (!g_hash_table_size(m->connections))
            schedule_reconcile(m, "no connection left");
        break;
    default: /* created, established */
        update_stall_watch(m);
        break;
    }
    note_changed(m);
}

/* ---- configuration ---- */

void gd_mp_manager_set_config(GdMpManager *m, const GdConfig *config)
{
    if (config == m->config_seen)
        return;
    m->config_seen = config;
    const GdMptcpConfig *c = &config->daemon.mptcp;
    m->cfg = *c;
    m->cfg.preference = NULL;
    m->cfg.preference_ids = NULL;
    gd_mp_active_configure(&m->st, config);
    if (m->st.has_active && !group_get(m, m->st.active))
        set_active(m, FALSE, 0, "the group has no [MPTCP] section any more");
    m->platform->ops->watch_routes(m->platform,
                                   m->platform->available && g_hash_table_size(m->st.groups) > 0);
    if (m->platform->available)
        gd_mp_kernel_limits(&m->kernel,
                            m->st.mode != GD_MPTCP_MODE_OFF &&
                                (c->subflows >= 0 || c->add_addr_accepted >= 0),
                            c->subflows, c->add_addr_accepted);
    note_changed(m);
    schedule_reconcile(m, "configuration");
}

void gd_mp_manager_set_external_owner(GdMpManager *m, const char *owner, const char *detail)
{
    gboolean a = set_string(&m->external_owner, owner);
    gboolean b = set_string(&m->external_detail, detail);
    if (a || b)
        schedule_reconcile(m, "owner change");
}

void gd_mp_manager_set_state_file(GdMpManager *m, const char *path)
{
    g_free(m->state_path);
    m->state_path = g_strdup(path);
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0755) < 0)
        g_debug("mptcp: cannot create %s: %s", dir, g_strerror(errno));
}

gboolean gd_mp_manager_group_configured(GdMpManager *m, uint32_t group)
{
    return group_get(m, group) != NULL;
}

int gd_mp_manager_set_mode(GdMpManager *m, GdMptcpMode mode)
{
    if (mode == m->st.mode)
        return 0;
    g_message("mptcp: mode %s → %s (SetMode)", gd_mptcp_mode_name(m->st.mode),
              gd_mptcp_mode_name(mode));
    m->st.mode = mode;
    if (mode == GD_MPTCP_MODE_OFF || mode == GD_MPTCP_MODE_AGGREGATE)
        set_active(m, FALSE, 0, mode == GD_MPTCP_MODE_OFF ? "mode off" : "aggregate mode");
    m->st.has_leaving = FALSE;
    note_changed(m);
    reconcile(m);
    return 0;
}

int gd_mp_manager_set_preference(GdMpManager *m, const uint32_t *groups, guint n)
{
    int r = gd_mp_active_set_preference(&m->st, groups, n);
    if (r < 0)
        return r;
    note_changed(m);
    schedule_reconcile(m, "preference changed (SetPreference)");
    /* A new order may make another group the right one now. */
    refresh_members(m);
    GdMpGroup *first = gd_mp_active_preferred(&m->st, now_of(m));
    if (first) {
        char label[16];
        g_autofree char *reason = g_strdup_printf("preference changed: %s comes first",
                                                  group_label(m, first->id, label, 16));
        set_active(m, TRUE, first->id, reason);
    }
    reconcile(m);
    return 0;
}

int gd_mp_manager_failover(GdMpManager *m, gboolean has_to, uint32_t to)
{
    refresh_members(m);
    uint32_t target;
    int r = gd_mp_active_failover(&m->st, &m->cfg, !m->owner_detail && m->platform->available,
                                  has_to, to, now_of(m), &target);
    if (r < 0)
        return r;
    set_active(m, TRUE, target, "forced by Failover()");
    reconcile(m);
    return 0;
}

/* ---- getters ---- */

GdMptcpMode gd_mp_manager_mode(GdMpManager *m)
{
    return m->st.mode;
}

GArray *gd_mp_manager_preference(GdMpManager *m)
{
    refresh_members(m);
    return gd_mp_active_preference(&m->st);
}

gboolean gd_mp_manager_active_group(GdMpManager *m, uint32_t *group)
{
    *group = m->st.active;
    return m->st.has_active;
}

GArray *gd_mp_manager_endpoints(GdMpManager *m)
{
    refresh_members(m);
    GArray *out = gd_mp_endpoints_info(&m->st, m->kernel.endpoints, m->kernel.owned);
    for (guint i = 0; i < out->len; i++) {
        GdMptcpEndpointInfo *info = &g_array_index(out, GdMptcpEndpointInfo, i);
        link_name(m, info->ep.ifindex, info->ifname);
    }
    return out;
}

gboolean gd_mp_manager_limits(GdMpManager *m, GdMptcpLimits *out)
{
    *out = m->kernel.limits;
    return m->kernel.limits_known;
}

GPtrArray *gd_mp_manager_connections(GdMpManager *m)
{
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->connections);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        g_ptr_array_add(out, value);
    return out;
}

const char *gd_mp_manager_owner(GdMpManager *m, const char **detail)
{
    *detail = m->owner_detail ? m->owner_detail : "";
    return m->owner ? m->owner : "none";
}

GArray *gd_mp_manager_health(GdMpManager *m)
{
    refresh_members(m);
    return gd_mp_active_health(&m->st, now_of(m));
}

GPtrArray *gd_mp_manager_sysctl_changes(GdMpManager *m)
{
    return m->kernel.sysctls;
}

guint gd_mp_manager_failover_count(GdMpManager *m)
{
    return m->failover_count;
}

const char *gd_mp_manager_last_error(GdMpManager *m)
{
    return m->last_error ? m->last_error : "";
}

/* ---- life cycle ---- */

GdMpManager *gd_mp_manager_new_on(GdCache *cache, GdMpPlatform *platform,
                                  GdMpManagerChangedFunc changed,
                                  GdMpManagerActiveFunc active_changed, gpointer user_data)
{
    GdMpManager *m = g_new0(GdMpManager, 1);
    m->cache = cache;
    m->platform = platform;
    m->changed = changed;
    m->active_changed = active_changed;
    m->user_data = user_data;
    m->st.groups = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)gd_mp_health_group_free);
    gd_mp_kernel_init(&m->kernel, platform, cache);
    m->kernel.failed = kernel_failed_cb;
    m->kernel.changed = kernel_changed_cb;
    m->kernel.data = m;
    m->connections = gd_mp_connections_new();
    m->owner = g_strdup("none");
    if (!platform->available)
        m->owner_detail = g_strdup("the kernel has no MPTCP path manager (mptcp_pm)");
    platform->handlers = (GdMpPlatformHandlers){.event = event_cb,
                                                .routes_changed = routes_changed_cb,
                                                .stalled = stalled_cb,
                                                .path_alive = path_alive_cb};
    platform->handlers_data = m;
    gd_cache_set_link_watch(cache, link_watch_cb, m);
    return m;
}

int gd_mp_manager_new(GdCache *cache, GdMpManagerChangedFunc changed,
                      GdMpManagerActiveFunc active_changed, gpointer user_data, GdMpManager **out)
{
    GdMpPlatform *platform;
    int r = gd_mp_platform_linux_new(cache, &platform);
    if (r < 0)
        return r;
    *out = gd_mp_manager_new_on(cache, platform, changed, active_changed, user_data);
    return 0;
}

void gd_mp_manager_free(GdMpManager *m)
{
    if (!m)
        return;
    if (m->cache)
        gd_cache_set_link_watch(m->cache, NULL, NULL);
    g_clear_handle_id(&m->reconcile_source, g_source_remove);
    cancel_timer(m);
    g_clear_handle_id(&m->changed_source, g_source_remove);
    gd_mp_kernel_clear(&m->kernel);
    g_clear_pointer(&m->st.groups, g_hash_table_unref);
    g_clear_pointer(&m->st.preference, g_array_unref);
    g_clear_pointer(&m->connections, g_hash_table_unref);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The active [MPTCP] group: pure decisions over GdMpState. */
#include "mptcp/active.h"

#include <errno.h>

GdMpGroup *gd_mp_active_group(const GdMpState *st, uint32_t id)
{
    return g_hash_table_lookup(st->groups, GUINT_TO_POINTER(id));
}

void gd_mp_active_iter_members(GdMpMemberIter *it, const GdMpState *st)
{
    g_hash_table_iter_init(&it->groups, st->groups);
    it->group = NULL;
    it->next = 0;
}

gboolean gd_mp_active_next_member(GdMpMemberIter *it, const GdMpGroup **group,
                                  const GdMpMember **member)
{
    while (!it->group || it->next >= it->group->members->len) {
        gpointer value;
        if (!g_hash_table_iter_next(&it->groups, NULL, &value))
            return FALSE;
        it->group = value;
        it->next = 0;
    }
    *group = it->group;
    *member = it->group->members->pdata[it->next++];
    return TRUE;
}

int gd_mp_active_class_rank(const GdMpGroup *g)
{
    /* The link's type first (sysfs DEVTYPE, then the hardware type); Class=
     * for what neither says. */
    const char *type = g->link_type;
    gboolean known =
        g_str_equal(type, "wlan") || g_str_equal(type, "wwan") || g_str_equal(type, "ether");
    const char *cls = known ? type : g->link_class;
    if (!cls)
        return 3;
    return g_str_equal(cls, "ether") ? 0 : g_str_equal(cls, "wlan") ? 1 : 2;
}

static gint compare_groups(gconstpointer a, gconstpointer b, gpointer user_data)
{
    const GdMpState *st = user_data;
    const GdMpGroup *ga = gd_mp_active_group(st, *(const uint32_t *)a);
    const GdMpGroup *gb = gd_mp_active_group(st, *(const uint32_t *)b);
    int ra = gd_mp_active_class_rank(ga), rb = gd_mp_active_class_rank(gb);
    if (ra != rb)
        return ra - rb;
    return ga->id < gb->id ? -1 : ga->id > gb->id;
}

GArray *gd_mp_active_preference(const GdMpState *st)
{
    GArray *order = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    if (st->preference) {
        for (guint i = 0; i < st->preference->len; i++) {
            uint32_t id = g_array_index(st->preference, uint32_t, i);
            const GdMpGroup *g = gd_mp_active_group(st, id);
            if (g && !g->always)
                g_array_append_val(order, id);
        }
        return order;
    }
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, st->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        const GdMpGroup *g = value;
        if (!g->always)
            g_array_append_val(order, g->id);
    }
    g_array_sort_with_data(order, compare_groups, (gpointer)st);
    return order;
}

void gd_mp_active_choice_clear(GdMpChoice *choice)
{
    g_clear_pointer(&choice->reason, g_free);
}

static const char *reason_or(const GdMpGroup *g, const char *fallback)
{
    return g && g->reason && *g->reason ? g->reason : fallback;
}

void gd_mp_active_choose(const GdMpState *st, const GdMptcpConfig *cfg, gboolean managed,
                         gint64 now, const char *trigger, GdMpChoice *out)
{
    *out = (GdMpChoice){.change = TRUE};
    if (st->mode == GD_MPTCP_MODE_OFF || st->mode == GD_MPTCP_MODE_AGGREGATE || !managed) {
        out->reason = g_strdup(st->mode == GD_MPTCP_MODE_OFF ? "mode off"
                               : !managed                    ? "another owner manages the endpoints"
                                                             : "aggregate mode");
        return;
    }
    g_autoptr(GArray) order = gd_mp_active_preference(st);
    GdMpGroup *current = st->has_active ? gd_mp_active_group(st, st->active) : NULL;
    gboolean current_ok = current && current->healthy;
    /* The first eligible group in order; a healthy group in hold-down only
     * when nothing else is healthy (hold-down delays a return, it must not
     * leave us without a path). */
    GdMpGroup *best = NULL, *fallback = NULL;
    for (guint i = 0; i < order->len && !best; i++) {
        GdMpGroup *g = gd_mp_active_group(st, g_array_index(order, uint32_t, i));
        if (!g->healthy)
            continue;
        if (g == current || now >= g->eligible_at)
            best = g;
        else if (!fallback)
            fallback = g;
    }
    if (!best)
        best = fallback;
    if (best == current && current_ok) {
        out->change = FALSE;
        return;
    }
    char label[16];
    if (!best)
        out->reason = g_strdup_printf("no healthy group (%s)", reason_or(current, trigger));
    else if (current && !current_ok)
        out->reason = g_strdup(reason_or(current, trigger));
    else if (current)
        out->reason =
            g_strdup_printf("%s recovered (hold-down %.1f s passed)",
                            gd_mp_health_label(best, label, sizeof(label)),
                            (double)gd_mp_health_hold_down(best, cfg, now) / G_USEC_PER_SEC);
    else
        out->reason = g_strdup_printf("%s is the first healthy group",
                                      gd_mp_health_label(best, label, sizeof(label)));
    out->has = best != NULL;
    out->id = best ? best->id : 0;
}

gboolean gd_mp_active_set(GdMpState *st, gboolean has, uint32_t id, gint64 now)
{
    if (has == st->has_active && (!has || id == st->active))
        return FALSE;
    /* power-save: the old group keeps its endpoints until the new one's
     * subflows are up, when the old one is healthy (make before break). */
    st->has_leaving = FALSE;
    if (st->has_active && has && st->mode == GD_MPTCP_MODE_POWER_SAVE) {
        const GdMpGroup *old = gd_mp_active_group(st, st->active);
        if (old && old->healthy) {
            st->has_leaving = TRUE;
            st->leaving = st->active;
            st->leaving_deadline = now + GD_MP_ACTIVE_SWITCH_SETTLE_MAX_MSEC * 1000;
        }
    }
    st->has_active = has;
    st->active = id;
    return TRUE;
}

static gboolean on_member(const GdMptcpSubflow *s, const GdMpGroup *g)
{
    for (guint k = 0; k < g->members->len; k++)
        if (g_strcmp0(s->interface, ((GdMpMember *)g->members->pdata[k])->nl.name) == 0)
            return TRUE;
    return FALSE;
}

gboolean gd_mp_active_leaving_done(const GdMpState *st, GHashTable *connections, gint64 now)
{
    const GdMpGroup *active = st->has_active ? gd_mp_active_group(st, st->active) : NULL;
    if (!active || now >= st->leaving_deadline || st->mode != GD_MPTCP_MODE_POWER_SAVE)
        return TRUE;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, connections);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        const GdMptcpConnection *c = value;
        gboolean has = FALSE;
        for (guint i = 0; i < c->subflows->len && !has; i++)
            has = on_member(c->subflows->pdata[i], active);
        if (!has)
            return FALSE;
    }
    return TRUE;
}

int gd_mp_active_set_preference(GdMpState *st, const uint32_t *groups, guint n)
{
    for (guint i = 0; i < n; i++) {
        const GdMpGroup *g = gd_mp_active_group(st, groups[i]);
        if (!g || g->always)
            return -EINVAL;
        for (guint k = 0; k < i; k++)
            if (groups[k] == groups[i])
                return -EINVAL;
    }
    g_clear_pointer(&st->preference, g_array_unref);
    st->preference = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_array_append_vals(st->preference, groups, n);
    return 0;
}

GdMpGroup *gd_mp_active_preferred(const GdMpState *st, gint64 now)
{
    if (!st->has_active)
        return NULL;
    g_autoptr(GArray) order = gd_mp_active_preference(st);
    for (guint i = 0; i < order->len; i++) {
        GdMpGroup *g = gd_mp_active_group(st, g_array_index(order, uint32_t, i));
        if (g->id == st->active)
            return NULL;
        if (g->healthy && now >= g->eligible_at)
            return g;
    }
    return NULL;
}

int gd_mp_active_failover(GdMpState *st, const GdMptcpConfig *cfg, gboolean available,
                          gboolean has_to, uint32_t to, gint64 now, uint32_t *target_id)
{
    if (st->mode == GD_MPTCP_MODE_OFF || st->mode == GD_MPTCP_MODE_AGGREGATE || !available)
        return -EHOSTUNREACH;
    if (has_to && !gd_mp_active_group(st, to))
        return -ENOENT;
    GdMpGroup *target = NULL;
    if (has_to) {
        target = gd_mp_active_group(st, to);
        if (!target->healthy || (st->has_active && to == st->active))
            return -EHOSTUNREACH;
    } else {
        g_autoptr(GArray) order = gd_mp_active_preference(st);
        for (guint i = 0; i < order->len && !target; i++) {
            GdMpGroup *g = gd_mp_active_group(st, g_array_index(order, uint32_t, i));
            if (g->healthy && !(st->has_active && g->id == st->active))
                target = g;
        }
        if (!target)
            return -EHOSTUNREACH;
    }
    /* The group left is held down as if it had failed. */
    GdMpGroup *old = st->has_active ? gd_mp_active_group(st, st->active) : NULL;
    if (old)
        gd_mp_health_hold_after_leaving(old, cfg, now);
    target->eligible_at = MIN(target->eligible_at, now);
    *target_id = target->id;
    return 0;
}

void gd_mp_active_configure(GdMpState *st, const GdConfig *config)
{
    const GdMptcpConfig *c = &config->daemon.mptcp;
    g_clear_pointer(&st->preference, g_array_unref);
    if (c->preference_ids) {
        st->preference = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        g_array_append_vals(st->preference, c->preference_ids->data, c->preference_ids->len);
    }
    st->mode = c->mode;
    g_autoptr(GHashTable) old = g_steal_pointer(&st->groups);
    st->groups = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)gd_mp_health_group_free);
    for (guint i = 0; i < config->policies->len; i++) {
        const GdGroupPolicy *p = config->policies->pdata[i];
        if (!p->mptcp.enabled)
            continue;
        GdMpGroup *g = old ? g_hash_table_lookup(old, GUINT_TO_POINTER(p->id)) : NULL;
        if (g)
            g_hash_table_steal(old, GUINT_TO_POINTER(p->id));
        else
            g = gd_mp_health_group_new(p->id);
        g->flags = p->mptcp.flags;
        g_free(g->name);
        g->name = g_strdup(p->name);
        g_free(g->link_class);
        g->link_class = g_strdup(p->mptcp.link_class);
        g->always = p->mptcp.always;
        g_hash_table_insert(st->groups, GUINT_TO_POINTER(g->id), g);
    }
}

GArray *gd_mp_active_health(const GdMpState *st, gint64 now)
{
    GArray *out = g_array_new(FALSE, TRUE, sizeof(GdMptcpHealth));
    g_autoptr(GArray) order = gd_mp_active_preference(st);
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, st->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        if (((GdMpGroup *)value)->always)
            g_array_append_val(order, ((GdMpGroup *)value)->id);
    for (guint i = 0; i < order->len; i++) {
        GdMpGroup *g = gd_mp_active_group(st, g_array_index(order, uint32_t, i));
        GdMptcpHealth h = {.group = g->id};
        gboolean active = st->has_active && g->id == st->active;
        h.state = gd_mp_health_state(g, active, now, &h.reason);
        g_array_append_val(out, h);
    }
    return out;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The endpoints the mode wants and the requests that get the kernel there:
 * pure decisions over GdMpState and arrays of GdMptcpEndpoint. */
#include "mptcp/endpoints.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define NOT_BACKUP (~(uint32_t)GD_MPTCP_FLAG_BACKUP)

static gboolean same_address(const GdMptcpEndpoint *a, const GdMptcpEndpoint *b)
{
    return a->family == b->family && memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

gboolean gd_mp_endpoints_same(const GdMptcpEndpoint *a, const GdMptcpEndpoint *b)
{
    return same_address(a, b) && a->ifindex == b->ifindex;
}

/* The usable addresses of the group's members that can carry traffic. */
static void want_group(const GdMpGroup *g, uint32_t flags, GArray *wants)
{
    for (guint i = 0; i < g->members->len; i++) {
        const GdMpMember *member = g->members->pdata[i];
        g_autofree char *problem = gd_mp_health_member_problem(member);
        if (problem)
            continue;
        for (guint k = 0; k < member->addrs->len; k++) {
            const GdNlAddr *a = &g_array_index(member->addrs, GdNlAddr, k);
            if (!gd_mp_health_addr_usable(a))
                continue;
            GdMpWant w = {.group = g->id};
            w.ep.family = a->family;
            memcpy(w.ep.addr, a->addr, a->family == AF_INET ? 4 : 16);
            w.ep.flags = flags;
            w.ep.ifindex = member->nl.ifindex;
            g_array_append_val(wants, w);
        }
    }
}

GArray *gd_mp_endpoints_desired(const GdMpState *st, gboolean managed, gint64 now)
{
    GArray *wants = g_array_new(FALSE, TRUE, sizeof(GdMpWant));
    if (st->mode == GD_MPTCP_MODE_OFF || !managed)
        return wants;
    g_autoptr(GArray) order = gd_mp_active_preference(st);
    if (st->has_active) {
        const GdMpGroup *g = gd_mp_active_group(st, st->active);
        if (g && g->healthy)
            want_group(g, g->flags & NOT_BACKUP, wants);
    }
    for (guint i = 0; i < order->len; i++) {
        const GdMpGroup *g = gd_mp_active_group(st, g_array_index(order, uint32_t, i));
        if (!g->healthy || (st->has_active && g->id == st->active))
            continue;
        switch (st->mode) {
        case GD_MPTCP_MODE_AGGREGATE:
            /* Anti-flap in every mode: a recovered group waits out its hold-down. */
            if (now >= g->eligible_at)
                want_group(g, g->flags, wants);
            break;
        case GD_MPTCP_MODE_FAILOVER:
            /* Standby groups keep backup subflows; a group in hold-down has
             * none until the hold-down passed. */
            if (now >= g->eligible_at)
                want_group(g, g->flags | GD_MPTCP_FLAG_BACKUP, wants);
            break;
        case GD_MPTCP_MODE_POWER_SAVE:
            if (st->has_leaving && g->id == st->leaving)
                want_group(g, g->flags, wants);
            break;
        case GD_MPTCP_MODE_OFF:
            break;
        }
    }
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, st->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        const GdMpGroup *g = value;
        if (g->always && g->healthy && now >= g->eligible_at)
            want_group(g, g->flags, wants);
    }
    /* Stalled groups get probe endpoints (backup) once their hold-down
     * passed: a subflow that comes up clears the stall. */
    g_hash_table_iter_init(&iter, st->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        const GdMpGroup *g = value;
        if (gd_mp_health_probing(g, now) && !g->always)
            want_group(g, g->flags | GD_MPTCP_FLAG_BACKUP, wants);
    }
    return wants;
}

static const GdMpMember *member_of(const GdMpGroup *g, int ifindex)
{
    for (guint i = 0; g && i < g->members->len; i++) {
        const GdMpMember *member = g->members->pdata[i];
        if (member->nl.ifindex == ifindex)
            return member;
    }
    return NULL;
}

/* The member a want is for, and (*group) its group's label. */
static const char *want_member(const GdMpState *st, const GdMpWant *w, char **group)
{
    const GdMpGroup *g = gd_mp_active_group(st, w->group);
    const GdMpMember *member = member_of(g, w->ep.ifindex);
    char label[16];
    *group = g_strdup(g ? gd_mp_health_label(g, label, sizeof(label)) : "?");
    return member ? member->nl.name : "?";
}

static void shared_clear(gpointer data)
{
    g_free(((GdMpShared *)data)->text);
}

GArray *gd_mp_endpoints_drop_shared(const GdMpState *st, GArray *wants)
{
    GArray *dropped = g_array_new(FALSE, TRUE, sizeof(GdMpShared));
    g_array_set_clear_func(dropped, shared_clear);
    for (guint i = 0; i < wants->len;) {
        const GdMpWant *w = &g_array_index(wants, GdMpWant, i);
        const GdMpWant *first = NULL;
        for (guint k = 0; k < i && !first; k++)
            if (same_address(&g_array_index(wants, GdMpWant, k).ep, &w->ep))
                first = &g_array_index(wants, GdMpWant, k);
        if (!first) {
            i++;
            continue;
        }
        g_autofree char *group = NULL, *first_group = NULL;
        const char *link = want_member(st, w, &group);
        const char *first_link = want_member(st, first, &first_group);
        g_autofree char *addr = gd_mp_pm_addr_format(w->ep.family, w->ep.addr);
        GdMpShared shared = {
            .want = *w,
            .text = g_strdup_printf("%s (group %s) and %s (group %s) share the address %s: the "
                                    "kernel keeps one MPTCP endpoint per address, %s gets none",
                                    link, group, first_link, first_group, addr, link),
        };
        g_array_append_val(dropped, shared);
        g_array_remove_index(wants, i);
    }
    return dropped;
}

gboolean gd_mp_endpoints_flush_first(const GArray *have, const GArray *wants, guint n_owned,
                                     gboolean manage_all)
{
    if (!manage_all || have->len < 2 || n_owned)
        return FALSE;
    const guint keep = MIN(wants->len, GD_MPTCP_MAX_LIMIT);
    for (guint i = 0; i < have->len; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(have, GdMptcpEndpoint, i);
        for (guint k = 0; k < keep; k++) {
            const GdMpWant *w = &g_array_index(wants, GdMpWant, k);
            if (gd_mp_endpoints_same(&w->ep, ep) &&
                (w->ep.flags & NOT_BACKUP) == (ep->flags & NOT_BACKUP))
                return FALSE;
        }
    }
    return TRUE;
}

static void add_action(GArray *actions, GdMpEndpointOp op, const GdMptcpEndpoint *ep,
                       const GdMptcpEndpoint *old)
{
    GdMpEndpointAction a = {.op = op, .ep = *ep};
    if (old)
        a.old = *old;
    g_array_append_val(actions, a);
}

GArray *gd_mp_endpoints_diff(const GArray *have, const GArray *wants, GHashTable *owned,
                             gboolean manage_all)
{
    GArray *actions = g_array_new(FALSE, TRUE, sizeof(GdMpEndpointAction));
    const guint keep = MIN(wants->len, GD_MPTCP_MAX_LIMIT);
    /* Deletes: groupd's that are not wanted (or wanted on another device). */
    for (guint i = 0; i < have->len; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(have, GdMptcpEndpoint, i);
        if (!manage_all && !g_hash_table_contains(owned, GUINT_TO_POINTER(ep->id)))
            continue;
        gboolean wanted = FALSE;
        for (guint k = 0; k < keep && !wanted; k++)
            wanted = gd_mp_endpoints_same(&g_array_index(wants, GdMpWant, k).ep, ep);
        if (!wanted)
            add_action(actions, GD_MP_ENDPOINT_DELETE, ep, NULL);
    }
    /* Flags, then adds. */
    for (guint k = 0; k < keep; k++) {
        const GdMpWant *w = &g_array_index(wants, GdMpWant, k);
        const GdMptcpEndpoint *found = NULL;
        for (guint i = 0; i < have->len && !found; i++) {
            const GdMptcpEndpoint *ep = &g_array_index(have, GdMptcpEndpoint, i);
            if (gd_mp_endpoints_same(&w->ep, ep))
                found = ep;
        }
        /* An endpoint groupd may not delete with the address (on another
         * device, or none): the kernel would refuse the add. */
        const GdMptcpEndpoint *blocking = NULL;
        for (guint i = 0; i < have->len && !found && !blocking; i++) {
            const GdMptcpEndpoint *ep = &g_array_index(have, GdMptcpEndpoint, i);
            if (same_address(&w->ep, ep) &&
                !(manage_all || g_hash_table_contains(owned, GUINT_TO_POINTER(ep->id))))
                blocking = ep;
        }
        if (blocking) {
            add_action(actions, GD_MP_ENDPOINT_BLOCKED, &w->ep, blocking);
        } else if (!found) {
            add_action(actions, GD_MP_ENDPOINT_ADD, &w->ep, NULL);
        } else if ((found->flags ^ w->ep.flags) & NOT_BACKUP) {
            /* Only backup can change on a live endpoint; other flags need a
             * new endpoint. */
            add_action(actions, GD_MP_ENDPOINT_REPLACE, &w->ep, found);
        } else if ((found->flags ^ w->ep.flags) & GD_MPTCP_FLAG_BACKUP) {
            GdMptcpEndpoint change = *found;
            change.flags = w->ep.flags;
            add_action(actions, GD_MP_ENDPOINT_SET_FLAGS, &change, found);
        }
    }
    return actions;
}

gboolean gd_mp_endpoints_group_of(const GdMpState *st, const GdMptcpEndpoint *ep, uint32_t *group)
{
    GdMpMemberIter it;
    const GdMpGroup *g;
    const GdMpMember *member;
    gd_mp_active_iter_members(&it, st);
    while (gd_mp_active_next_member(&it, &g, &member)) {
        if (ep->ifindex && ep->ifindex != member->nl.ifindex)
            continue;
        for (guint k = 0; k < member->addrs->len; k++) {
            const GdNlAddr *a = &g_array_index(member->addrs, GdNlAddr, k);
            GdMptcpEndpoint x = {.family = a->family};
            memcpy(x.addr, a->addr, 16);
            if (same_address(&x, ep)) {
                *group = g->id;
                return TRUE;
            }
        }
    }
    return FALSE;
}

GArray *gd_mp_endpoints_adoptable(const GdMpState *st, const GArray *have, GHashTable *owned,
                                  GArray *groups)
{
    GArray *found = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < have->len; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(have, GdMptcpEndpoint, i);
        uint32_t id;
        if (g_hash_table_contains(owned, GUINT_TO_POINTER(ep->id)) || !ep->ifindex ||
            !gd_mp_endpoints_group_of(st, ep, &id))
            continue;
        const GdMpGroup *g = gd_mp_active_group(st, id);
        if (g && (ep->flags & NOT_BACKUP) == (g->flags & NOT_BACKUP)) {
            g_array_append_val(found, i);
            g_array_append_val(groups, id);
        }
    }
    return found;
}

void gd_mp_endpoints_claim_new(const GArray *have, const GArray *wants, GHashTable *before,
                               GHashTable *owned)
{
    for (guint i = 0; i < have->len; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(have, GdMptcpEndpoint, i);
        if (g_hash_table_contains(before, GUINT_TO_POINTER(ep->id)))
            continue;
        for (guint k = 0; k < wants->len; k++)
            if (gd_mp_endpoints_same(&g_array_index(wants, GdMpWant, k).ep, ep))
                g_hash_table_add(owned, GUINT_TO_POINTER(ep->id));
    }
}

char *gd_mp_endpoints_owned_text(const GArray *have, GHashTable *owned)
{
    GString *text = g_string_new("# endpoints groupd made: id address ifindex\n");
    for (guint i = 0; i < have->len; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(have, GdMptcpEndpoint, i);
        if (!g_hash_table_contains(owned, GUINT_TO_POINTER(ep->id)))
            continue;
        g_autofree char *addr = gd_mp_pm_addr_format(ep->family, ep->addr);
        g_string_append_printf(text, "%u %s %d\n", ep->id, addr, ep->ifindex);
    }
    return g_string_free(text, FALSE);
}

void gd_mp_endpoints_owned_parse(const char *text, const GArray *have, GHashTable *owned)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        unsigned id;
        char addr[64];
        int ifindex;
        if (lines[i][0] == '#' || sscanf(lines[i], "%u %63s %d", &id, addr, &ifindex) != 3)
            continue;
        for (guint k = 0; k < have->len; k++) {
            const GdMptcpEndpoint *ep = &g_array_index(have, GdMptcpEndpoint, k);
            g_autofree char *text_of = gd_mp_pm_addr_format(ep->family, ep->addr);
            if (ep->id == id && ep->ifindex == ifindex && g_str_equal(text_of, addr))
                g_hash_table_add(owned, GUINT_TO_POINTER(ep->id));
        }
    }
}

GArray *gd_mp_endpoints_info(const GdMpState *st, const GArray *have, GHashTable *owned)
{
    GArray *out = g_array_new(FALSE, TRUE, sizeof(GdMptcpEndpointInfo));
    for (guint i = 0; i < have->len; i++) {
        GdMptcpEndpointInfo info = {.ep = g_array_index(have, GdMptcpEndpoint, i)};
        info.owned = g_hash_table_contains(owned, GUINT_TO_POINTER(info.ep.id)) &&
                     gd_mp_endpoints_group_of(st, &info.ep, &info.group);
        g_array_append_val(out, info);
    }
    return out;
}

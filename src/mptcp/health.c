/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The health of [MPTCP] groups: pure decisions over GdMpGroup. */
#include "mptcp/health.h"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

GdMpGroup *gd_mp_health_group_new(uint32_t id)
{
    GdMpGroup *g = g_new0(GdMpGroup, 1);
    g->id = id;
    g->reason = g_strdup("not judged yet");
    g->failures = g_array_new(FALSE, FALSE, sizeof(gint64));
    g->members = g_ptr_array_new_with_free_func(gd_mp_health_member_free);
    return g;
}

void gd_mp_health_group_free(GdMpGroup *g)
{
    if (!g)
        return;
    g_free(g->name);
    g_free(g->link_class);
    g_free(g->reason);
    g_free(g->stall_reason);
    g_free(g->hold_text);
    g_array_unref(g->failures);
    g_ptr_array_unref(g->members);
    g_free(g);
}

GdMpMember *gd_mp_health_member_new(const GdNlLink *nl, const GArray *addrs, gboolean route_lost)
{
    GdMpMember *member = g_new0(GdMpMember, 1);
    member->nl = *nl;
    member->addrs = g_array_new(FALSE, FALSE, sizeof(GdNlAddr));
    if (addrs)
        g_array_append_vals(member->addrs, addrs->data, addrs->len);
    member->route_lost = route_lost;
    return member;
}

void gd_mp_health_member_free(gpointer data)
{
    GdMpMember *member = data;
    g_array_unref(member->addrs);
    g_free(member);
}

const char *gd_mp_health_label(const GdMpGroup *g, char *buf, size_t len)
{
    if (g->name)
        return g->name;
    g_snprintf(buf, len, "%u", g->id);
    return buf;
}

gboolean gd_mp_health_addr_usable(const GdNlAddr *a)
{
    if (a->scope >= RT_SCOPE_LINK)
        return FALSE;
    if (a->family == AF_INET6 &&
        (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED)))
        return FALSE;
    return a->family == AF_INET || a->family == AF_INET6;
}

static gboolean has_carrier(const GdNlLink *nl)
{
    if (nl->carrier >= 0)
        return nl->carrier == 1;
    return (nl->flags & IFF_LOWER_UP) != 0;
}

char *gd_mp_health_member_problem(const GdMpMember *member)
{
    const GdNlLink *nl = &member->nl;
    if (!(nl->flags & IFF_UP))
        return g_strdup_printf("%s is down", nl->name);
    if (!has_carrier(nl))
        return g_strdup_printf("carrier lost on %s", nl->name);
    gboolean any = FALSE;
    for (guint i = 0; i < member->addrs->len && !any; i++)
        any = gd_mp_health_addr_usable(&g_array_index(member->addrs, GdNlAddr, i));
    if (!any)
        return g_strdup_printf("no address on %s", nl->name);
    if (member->route_lost)
        return g_strdup_printf("default route lost on %s", nl->name);
    return NULL;
}

gint64 gd_mp_health_hold_down(GdMpGroup *g, const GdMptcpConfig *cfg, gint64 now)
{
    gint64 window = (gint64)cfg->flap_window_msec * 1000;
    while (g->failures->len && now - g_array_index(g->failures, gint64, 0) > window)
        g_array_remove_index(g->failures, 0);
    gint64 hold = (gint64)cfg->hold_down_msec * 1000;
    gint64 max = MAX((gint64)cfg->hold_down_max_msec * 1000, hold);
    for (guint n = cfg->flap_threshold; n < g->failures->len && hold < max; n++)
        hold *= 2;
    return MIN(hold, max);
}

static void set_reason(GdMpGroup *g, const char *reason)
{
    if (g_strcmp0(g->reason, reason) == 0)
        return;
    g_free(g->reason);
    g->reason = g_strdup(reason);
}

GdMpHealthChange gd_mp_health_judge(GdMpGroup *g, const GdMptcpConfig *cfg, gint64 now)
{
    g_autoptr(GString) problems = g_string_new(NULL);
    gboolean healthy = FALSE;
    /* One member that can carry traffic is enough. */
    for (guint i = 0; i < g->members->len; i++) {
        const GdMpMember *member = g->members->pdata[i];
        g_autofree char *p = gd_mp_health_member_problem(member);
        /* The stalled member failed visibly since: its link state tells the
         * rest (its recovery is seen at once, unlike echoes that may wait
         * for the neighbour's next resolution after a carrier loss). */
        if (p && g->stalled && member->nl.ifindex == g->stall_ifindex)
            g->stalled = FALSE;
        if (healthy)
            continue;
        if (!p)
            healthy = TRUE;
        else
            g_string_append_printf(problems, "%s%s", problems->len ? "; " : "", p);
    }
    const char *problem = g->members->len ? problems->str : "no members";
    if (healthy && g->stalled) {
        healthy = FALSE;
        problem = g->stall_reason;
    }
    if (healthy == g->healthy && (healthy || g_strcmp0(problem, g->reason) == 0))
        return GD_MP_HEALTH_SAME;
    GdMpHealthChange change = GD_MP_HEALTH_REJUDGED;
    if (healthy) {
        g->healthy_since = now;
        g->eligible_at = g->failures->len ? now + gd_mp_health_hold_down(g, cfg, now) : now;
        change = GD_MP_HEALTH_UP;
    } else if (g->healthy) {
        g_array_append_val(g->failures, now);
        change = GD_MP_HEALTH_DOWN;
    }
    g->healthy = healthy;
    set_reason(g, healthy ? "" : problem);
    return change;
}

gboolean gd_mp_health_stall(GdMpGroup *g, const GdMptcpConfig *cfg, const char *reason, int ifindex,
                            const GdMpPathProbe *path, gint64 now)
{
    if (g->stalled)
        return FALSE;
    g->stalled = TRUE;
    g->stall_ifindex = ifindex;
    g_free(g->stall_reason);
    g->stall_reason = g_strdup(reason);
    g->stall_probe_at = now + gd_mp_health_hold_down(g, cfg, now);
    g->stall_echo = path != NULL;
    g->stall_path = path ? *path : (GdMpPathProbe){0};
    return TRUE;
}

const GdMpPathProbe *gd_mp_health_echo_path(const GdMpGroup *g)
{
    return g->stalled && g->stall_echo ? &g->stall_path : NULL;
}

gboolean gd_mp_health_path_alive(GdMpGroup *g, int ifindex)
{
    if (!gd_mp_health_echo_path(g) || g->stall_path.ifindex != ifindex)
        return FALSE;
    g->stalled = FALSE;
    return TRUE;
}

gint64 gd_mp_health_probe_failed(GdMpGroup *g, const GdMptcpConfig *cfg, gint64 now)
{
    g_array_append_val(g->failures, now);
    g->stall_probe_at = now + gd_mp_health_hold_down(g, cfg, now);
    return g->stall_probe_at - now;
}

GdMpStallTick gd_mp_health_stall_tick(GdMpGroup *g, const GdMptcpConfig *cfg,
                                      gboolean has_connections, gint64 now)
{
    if (!g->stalled || now < g->stall_probe_at)
        return GD_MP_STALL_NONE;
    if (!has_connections) {
        /* Nothing is waiting for the path (and, without echoes, nothing
         * to probe it with): it gets the benefit of the doubt. */
        g->stalled = FALSE;
        return GD_MP_STALL_OVER;
    }
    if (!g->stall_echo && now >= g->stall_probe_at + GD_MP_HEALTH_PROBE_TIMEOUT_MSEC * 1000) {
        gd_mp_health_probe_failed(g, cfg, now);
        return GD_MP_STALL_PROBE_FAILED;
    }
    return GD_MP_STALL_NONE;
}

gboolean gd_mp_health_probing(const GdMpGroup *g, gint64 now)
{
    return g->stalled && !g->stall_echo && now >= g->stall_probe_at;
}

gboolean gd_mp_health_subflow_up(GdMpGroup *g)
{
    if (!g->stalled)
        return FALSE;
    g->stalled = FALSE;
    return TRUE;
}

void gd_mp_health_hold_after_leaving(GdMpGroup *g, const GdMptcpConfig *cfg, gint64 now)
{
    g_array_append_val(g->failures, now);
    g->eligible_at = now + gd_mp_health_hold_down(g, cfg, now);
}

gint64 gd_mp_health_next_change(const GdMpGroup *g, gint64 now)
{
    gint64 next = G_MAXINT64;
    if (g->healthy && g->eligible_at > now)
        next = g->eligible_at;
    if (g->stalled && g->stall_probe_at > now)
        next = MIN(next, g->stall_probe_at);
    else if (g->stalled && !g->stall_echo)
        next = MIN(next, g->stall_probe_at + GD_MP_HEALTH_PROBE_TIMEOUT_MSEC * 1000);
    return next;
}

const char *gd_mp_health_state(GdMpGroup *g, gboolean active, gint64 now, const char **reason)
{
    *reason = g->reason ? g->reason : "";
    if (!g->healthy)
        return "down";
    if (active)
        return "active";
    if (now < g->eligible_at) {
        g_free(g->hold_text);
        g->hold_text = g_strdup_printf("recovered; the hold-down ends in %.1f s",
                                       (double)(g->eligible_at - now) / G_USEC_PER_SEC);
        *reason = g->hold_text;
        return "hold-down";
    }
    return "standby";
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The sysctls of MPTCP failover: pure decisions. */
#include "mptcp/sysctls.h"

static void wish_free(gpointer data)
{
    GdMpSysctlWish *w = data;
    g_free(w->path);
    g_free(w->value);
    g_free(w);
}

static void add_wish(GPtrArray *wishes, char *path, const char *value, gboolean rp_filter)
{
    GdMpSysctlWish *w = g_new0(GdMpSysctlWish, 1);
    w->path = path;
    w->value = g_strdup(value);
    w->rp_filter = rp_filter;
    g_ptr_array_add(wishes, w);
}

GPtrArray *gd_mp_sysctls_wanted(const GdMptcpConfig *cfg, const GdMpState *st)
{
    GPtrArray *wishes = g_ptr_array_new_with_free_func(wish_free);
    if (cfg->stale_loss_cnt > 0) {
        g_autofree char *v = g_strdup_printf("%d", cfg->stale_loss_cnt);
        add_wish(wishes, g_strdup("net/mptcp/stale_loss_cnt"), v, FALSE);
    }
    if (!cfg->relax_rp_filter)
        return wishes;
    /* A subflow's replies arrive on its own link, which strict reverse
     * path filtering drops when the default route is elsewhere. */
    GdMpMemberIter it;
    const GdMpGroup *g;
    const GdMpMember *member;
    gd_mp_active_iter_members(&it, st);
    while (gd_mp_active_next_member(&it, &g, &member))
        add_wish(wishes, g_strdup_printf("net/ipv4/conf/%s/rp_filter", member->nl.name), "2", TRUE);
    return wishes;
}

gboolean gd_mp_sysctls_keep(const GdMpSysctlWish *w, const char *current, gboolean all_strict)
{
    if (g_str_equal(current, w->value))
        return TRUE;
    return w->rp_filter &&
           (g_str_equal(current, "2") || (g_str_equal(current, "0") && !all_strict));
}

/* "LOW HIGH" (the kernel separates them with a tab). */
static gboolean parse_range(const char *text, guint64 *low, guint64 *high)
{
    char *end;
    *low = g_ascii_strtoull(text, &end, 10);
    if (end == text || !g_ascii_isspace(*end))
        return FALSE;
    const char *rest = end;
    *high = g_ascii_strtoull(rest, &end, 10);
    if (end == rest)
        return FALSE;
    while (g_ascii_isspace(*end))
        end++;
    return *end == '\0' && *low <= G_MAXUINT32 && *high <= G_MAXUINT32;
}

char *gd_mp_sysctls_ping_range(const char *current, uint32_t gid)
{
    guint64 low, high;
    if (!parse_range(current, &low, &high) || low > high)
        return g_strdup_printf("%u %u", gid, gid); /* none may: just groupd */
    if (low <= gid && gid <= high)
        return NULL;
    return g_strdup_printf("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, MIN(low, (guint64)gid),
                           MAX(high, (guint64)gid));
}

static void change_free(gpointer data)
{
    GdMptcpSysctl *s = data;
    g_free(s->path);
    g_free(s->previous);
    g_free(s->value);
    g_free(s);
}

GPtrArray *gd_mp_sysctls_changes_new(void)
{
    return g_ptr_array_new_with_free_func(change_free);
}

void gd_mp_sysctls_record(GPtrArray *changes, const char *path, const char *previous,
                          const char *value)
{
    for (guint i = 0; i < changes->len; i++) {
        GdMptcpSysctl *s = changes->pdata[i];
        if (g_str_equal(s->path, path)) {
            g_free(s->value);
            s->value = g_strdup(value);
            return;
        }
    }
    GdMptcpSysctl *s = g_new0(GdMptcpSysctl, 1);
    s->path = g_strdup(path);
    s->previous = g_strdup(previous);
    s->value = g_strdup(value);
    g_ptr_array_add(changes, s);
}

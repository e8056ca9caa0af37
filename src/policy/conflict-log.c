/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The conflicts with other managers as they come and go: logged once,
 * repairs counted. */
#include "policy/conflict-log.h"

#include "log/log.h"

struct GdConflictLog {
    GPtrArray *current; /* GdConflict *, of the last plan tracked */
    GHashTable *seen;   /* gd_conflict_key() → repairs; in it: logged */
};

GdConflictLog *gd_conflict_log_new(void)
{
    GdConflictLog *log = g_new0(GdConflictLog, 1);
    log->current = g_ptr_array_new();
    log->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return log;
}

void gd_conflict_log_free(GdConflictLog *log)
{
    if (!log)
        return;
    g_ptr_array_unref(log->current);
    g_hash_table_unref(log->seen);
    g_free(log);
}

static guint repairs_of(GdConflictLog *log, const GdConflict *c)
{
    g_autofree char *key = gd_conflict_key(c);
    return GPOINTER_TO_UINT(g_hash_table_lookup(log->seen, key));
}

void gd_conflict_log_fill(GdConflictLog *log, GPtrArray *conflicts)
{
    for (guint i = 0; i < conflicts->len; i++) {
        GdConflict *c = conflicts->pdata[i];
        c->repairs = repairs_of(log, c);
    }
}

static void log_new(const GdConflict *c)
{
    g_autofree char *who = g_strdup_printf("%s %s", gd_peer_kind_name(c->manager), c->source);
    gd_log_about(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                 &(GdLogAbout){.has_group = TRUE, .group = c->group, .ifname = c->link},
                 "link %s: %s: group %s wants %s, %s sets %s; %s", c->link,
                 gd_conflict_attr_name(c->attr), GD_LOG_GROUP(c->group), c->ours, who, c->theirs,
                 c->yield ? "groupd yields (OtherManagers=yield)"
                          : "groupd enforces its value (OtherManagers=enforce) and puts it back "
                            "each time the other manager applies its own");
}

gboolean gd_conflict_log_track(GdConflictLog *log, GPtrArray *conflicts)
{
    g_autoptr(GHashTable) now = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    gboolean changed = conflicts->len != log->current->len;
    for (guint i = 0; i < conflicts->len; i++) {
        const GdConflict *c = conflicts->pdata[i];
        char *key = gd_conflict_key(c);
        g_hash_table_add(now, key);
        if (g_hash_table_contains(log->seen, key))
            continue;
        changed = TRUE;
        g_hash_table_insert(log->seen, g_strdup(key), GUINT_TO_POINTER(0));
        log_new(c);
    }
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, log->seen);
    while (g_hash_table_iter_next(&it, &key, NULL))
        if (!g_hash_table_contains(now, key)) {
            g_debug("conflict %s is over", (const char *)key);
            g_hash_table_iter_remove(&it);
            changed = TRUE;
        }
    g_ptr_array_unref(log->current);
    log->current = g_ptr_array_ref(conflicts);
    return changed;
}

void gd_conflict_log_repair(GdConflictLog *log, GdConflict *c)
{
    c->repairs = repairs_of(log, c) + 1;
    g_hash_table_replace(log->seen, gd_conflict_key(c), GUINT_TO_POINTER(c->repairs));
    gd_log_link(G_LOG_LEVEL_INFO, c->link, "%s: %s put back over %s's %s (repair %u)",
                gd_conflict_attr_name(c->attr), c->ours, gd_peer_kind_name(c->manager), c->theirs,
                c->repairs);
}

GPtrArray *gd_conflict_log_group(GdConflictLog *log, uint32_t id)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < log->current->len; i++) {
        GdConflict *c = log->current->pdata[i];
        if (c->group == id)
            g_ptr_array_add(out, c);
    }
    return out;
}

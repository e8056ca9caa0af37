/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Refused requests: back-off and reporting once, pure decisions. */
#include "mptcp/refusals.h"

typedef struct {
    char *text;
    guint count; /* refusals in a row */
    gint64 retry_at;
} Refusal;

struct GdMpRefusals {
    GHashTable *by_request; /* description → Refusal* */
};

static void refusal_free(gpointer data)
{
    Refusal *r = data;
    g_free(r->text);
    g_free(r);
}

GdMpRefusals *gd_mp_refusals_new(void)
{
    GdMpRefusals *refusals = g_new0(GdMpRefusals, 1);
    refusals->by_request = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, refusal_free);
    return refusals;
}

void gd_mp_refusals_free(GdMpRefusals *refusals)
{
    if (!refusals)
        return;
    g_hash_table_unref(refusals->by_request);
    g_free(refusals);
}

gboolean gd_mp_refusals_waiting(GdMpRefusals *refusals, const char *request, gint64 now,
                                const char **text)
{
    const Refusal *r = g_hash_table_lookup(refusals->by_request, request);
    if (!r || now >= r->retry_at)
        return FALSE;
    *text = r->text;
    return TRUE;
}

gint64 gd_mp_refusals_refused(GdMpRefusals *refusals, const char *request, const char *text,
                              gint64 now)
{
    Refusal *r = g_hash_table_lookup(refusals->by_request, request);
    if (!r) {
        r = g_new0(Refusal, 1);
        g_hash_table_insert(refusals->by_request, g_strdup(request), r);
    }
    if (g_strcmp0(r->text, text) != 0) {
        /* Another reason: the situation changed, the back-off starts over. */
        g_free(r->text);
        r->text = g_strdup(text);
        r->count = 0;
    }
    r->count++;
    gint64 wait = (gint64)GD_MP_RETRY_FIRST_MSEC * 1000 << MIN(r->count - 1, 6u);
    wait = MIN(wait, (gint64)GD_MP_RETRY_MAX_MSEC * 1000);
    r->retry_at = now + wait;
    return wait;
}

void gd_mp_refusals_accepted(GdMpRefusals *refusals, const char *request)
{
    g_hash_table_remove(refusals->by_request, request);
}

void gd_mp_refusals_round(GdMpRefusals *refusals, GHashTable *requests)
{
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, refusals->by_request);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        if (!g_hash_table_contains(requests, key))
            g_hash_table_iter_remove(&iter);
}

gint64 gd_mp_refusals_next_retry(const GdMpRefusals *refusals)
{
    gint64 next = G_MAXINT64;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, refusals->by_request);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        next = MIN(next, ((const Refusal *)value)->retry_at);
    return next;
}

struct GdMpReports {
    GHashTable *before; /* texts of the last round */
    GHashTable *now;    /* texts of this round */
};

GdMpReports *gd_mp_reports_new(void)
{
    GdMpReports *reports = g_new0(GdMpReports, 1);
    reports->before = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    reports->now = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return reports;
}

void gd_mp_reports_free(GdMpReports *reports)
{
    if (!reports)
        return;
    g_hash_table_unref(reports->before);
    g_hash_table_unref(reports->now);
    g_free(reports);
}

gboolean gd_mp_reports_first(GdMpReports *reports, const char *text)
{
    gboolean seen =
        g_hash_table_contains(reports->now, text) || g_hash_table_contains(reports->before, text);
    g_hash_table_add(reports->now, g_strdup(text));
    return !seen;
}

void gd_mp_reports_round(GdMpReports *reports)
{
    g_hash_table_unref(reports->before);
    reports->before = reports->now;
    reports->now = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

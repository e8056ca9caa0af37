/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Silent path failures from subflow samples: pure decisions. */
#include "mptcp/stall.h"

gboolean gd_mp_stall_subflow(guint retransmits, guint unacked, guint last_ack_recv_ms,
                             guint min_silence_ms)
{
    return retransmits >= 1 && unacked > 0 && last_ack_recv_ms >= min_silence_ms;
}

GHashTable *gd_mp_stall_links(const GArray *samples, guint min_silence_ms, guint recent_ms)
{
    GHashTable *stalled = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    g_autoptr(GHashTable) progress = g_hash_table_new(NULL, NULL);
    for (guint i = 0; i < samples->len; i++) {
        const GdMpSubflowSample *s = &g_array_index(samples, GdMpSubflowSample, i);
        if (!s->ifindex)
            continue;
        gpointer key = GINT_TO_POINTER(s->ifindex);
        if (s->last_ack_recv_ms < recent_ms)
            g_hash_table_add(progress, key);
        if (gd_mp_stall_subflow(s->retransmits, s->unacked, s->last_ack_recv_ms, min_silence_ms) &&
            !g_hash_table_contains(stalled, key))
            g_hash_table_insert(
                stalled, key,
                g_strdup_printf("retransmission timeout, no ACK for %u ms", s->last_ack_recv_ms));
    }
    /* Another subflow on the link is moving: the path works. */
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, stalled);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        if (g_hash_table_contains(progress, key))
            g_hash_table_iter_remove(&iter);
    return stalled;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/stall: silent failures of a path (link up, path dead) from what
 * sock_diag says of the MPTCP subflows on the active group's links. Pure:
 * the watch samples the subflows, these functions judge them.
 * May call: GLib.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

/* A subflow is stalled after one retransmission timeout without an ACK for
 * this long; the first RTO fires after at least 200 ms (TCP_RTO_MIN). */
#define GD_MP_STALL_MIN_SILENCE_MS 200
/* A link where some subflow had an ACK this recently is alive. */
#define GD_MP_STALL_RECENT_PROGRESS_MS 100

/* One MPTCP subflow as sock_diag showed it. */
typedef struct {
    uint8_t family;
    uint8_t src[16];   /* local address */
    int bound_ifindex; /* the device it is bound to, 0 when none */
    int ifindex;       /* the watched link it runs on (resolved by the watch), 0 when none */
    /* from its tcp_info: */
    guint retransmits; /* RTOs fired since the last ACK */
    guint unacked;     /* segments sent and not acknowledged */
    guint last_ack_recv_ms;
} GdMpSubflowSample;

/* One subflow: its retransmission timer fired (retransmits >= 1) with data
 * unacknowledged and no ACK for at least min_silence_ms. */
gboolean gd_mp_stall_subflow(guint retransmits, guint unacked, guint last_ack_recv_ms,
                             guint min_silence_ms);

/* The links (int ifindex → char *detail, caller's table) where a subflow
 * stalled while no subflow made progress (an ACK within recent_ms).
 * Samples without a link are ignored. */
GHashTable *gd_mp_stall_links(const GArray *samples, guint min_silence_ms, guint recent_ms);

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/stall: silent failures of a path (link up, path dead) from what
 * sock_diag says of the MPTCP subflows on the active group's links, and
 * from ICMP echoes over those links. Pure: the watch samples the subflows
 * and sends the echoes, these functions judge and say what to send.
 *
 * Two ways a path is found dead:
 *  - sending: a subflow's retransmission timer fired with data
 *    unacknowledged and no ACK since (the laptop has data out);
 *  - receiving: data stopped arriving on a link that was receiving, and an
 *    echo to an address that answered over that link before gets no answer
 *    either. Silence alone proves nothing (the peer may have nothing to
 *    send): only the unanswered echo does. An address that never answered
 *    (ICMP filtered) is never used, so a filtered path is not judged.
 * May call: mptcp/pm (address text), GLib.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

/* A subflow is stalled after one retransmission timeout without an ACK for
 * this long; the first RTO fires after at least 200 ms (TCP_RTO_MIN). */
#define GD_MP_STALL_MIN_SILENCE_MS 200
/* A link where some subflow had an ACK this recently is alive. */
#define GD_MP_STALL_RECENT_PROGRESS_MS 100

/* Receiving: a link that received data and then nothing for this long (or
 * four round trips, if longer) is asked whether it still works. */
#define GD_MP_RX_SILENCE_MS 100
/* The answer must come within this (or four of the subflows' round trips,
 * if longer); the echoes of one probe are spread over it, so that one lost
 * echo is not a dead path. */
#define GD_MP_RX_PROBE_MS 120
#define GD_MP_RX_ECHOES   3
/* Or within twice the slowest answer seen lately from that address over
 * that link, up to a second: on a slow link a burst of the download fills
 * the queue and the answer waits behind it (205 ms at 2 Mbit/s with 64 KiB
 * of queue), the subflow's round trip time does not show it (a receiver
 * times few segments of its own), and twice leaves room for a fuller
 * queue than any seen. The slowest answer counts half as much every
 * GD_MP_RX_SLOW_HALF_LIFE_MS, so one congested moment does not slow the
 * detection for good; the cap bounds it (a daemon held up while an answer
 * waited counts too). A fast link's answers stay far below the base. */
#define GD_MP_RX_SLOW_FACTOR       2
#define GD_MP_RX_SLOW_CAP_MS       1000
#define GD_MP_RX_SLOW_HALF_LIFE_MS 300000
/* A silence that the path answered is probed again at doubling intervals,
 * this many times at most, then left alone until data flows again (an idle
 * connection on a cellular link must let the modem sleep). */
#define GD_MP_RX_QUIET_PROBES 6
/* An address is tried this many times, this far apart, before it counts
 * as one that does not answer; such an address is tried again later. */
#define GD_MP_TARGET_TRIES    3
#define GD_MP_TARGET_RETRY_MS 300
#define GD_MP_TARGET_AGAIN_MS 60000
/* What is known of an address no subflow has used for this long is
 * forgotten (a laptop meets many peers). */
#define GD_MP_TARGET_FORGET_MS 600000

/* An address on the far side of a link (a peer, a gateway). */
typedef struct {
    uint8_t family;
    uint8_t addr[16];
} GdMpAddr;

gboolean gd_mp_addr_equal(const GdMpAddr *a, const GdMpAddr *b);

/* A path whose heal is awaited: echoes to target over ifindex, this often,
 * until it answers (the return after a heal waits for this at most). */
#define GD_MP_HEAL_PROBE_MS 20
typedef struct {
    int ifindex;
    GdMpAddr target;
} GdMpPathProbe;

/* One MPTCP subflow as sock_diag showed it. */
typedef struct {
    uint8_t family;
    uint8_t src[16];   /* local address */
    uint8_t dst[16];   /* the peer's */
    uint64_t cookie;   /* the socket's: the same subflow from one sample to the next */
    int bound_ifindex; /* the device it is bound to, 0 when none */
    int ifindex;       /* the watched link it runs on (resolved by the watch), 0 when none */
    /* from its tcp_info: */
    guint retransmits; /* RTOs fired since the last ACK */
    guint unacked;     /* segments sent and not acknowledged */
    guint last_ack_recv_ms;
    guint last_data_recv_ms;
    uint64_t bytes_received;
    /* Segments with data received, in order or not (a wrapping count): data
     * behind a lost segment shows the path delivers while bytes_received
     * (in-order data) waits for the retransmission. */
    uint32_t data_segs_in;
    /* The smoothed round trip time. Not the receiver's estimate: that of an
     * application-limited flow is the time a window's worth of data takes
     * to arrive, seconds at a low rate. */
    guint rtt_us;
} GdMpSubflowSample;

/* One subflow: its retransmission timer fired (retransmits >= 1) with data
 * unacknowledged and no ACK for at least min_silence_ms. */
gboolean gd_mp_stall_subflow(guint retransmits, guint unacked, guint last_ack_recv_ms,
                             guint min_silence_ms);

/* The links (int ifindex → char *detail, caller's table) where a subflow
 * stalled while no subflow made progress (an ACK within recent_ms).
 * Samples without a link are ignored. */
GHashTable *gd_mp_stall_links(const GArray *samples, guint min_silence_ms, guint recent_ms);

/* How long a link may be silent at a round trip time of rtt_us (µs), and
 * how long an echo may take when the slowest answer lately took slow_us. */
gint64 gd_mp_stall_rx_silence(guint rtt_us);
gint64 gd_mp_stall_rx_probe_time(guint rtt_us, guint slow_us);
/* What an answer that took slow_us counts for age_us later. */
guint gd_mp_stall_rx_slow_decayed(guint slow_us, gint64 age_us);

/* ---- the watched links ---- */

typedef struct GdMpPaths GdMpPaths;

typedef enum {
    GD_MP_PATH_ECHO,    /* send an echo to target over ifindex */
    GD_MP_PATH_STALLED, /* ifindex's path is dead: detail; target (when has_target)
                         * answered over it before, so its answer tells the heal */
} GdMpPathOp;

typedef struct {
    GdMpPathOp op;
    int ifindex;
    gboolean has_target;
    GdMpAddr target;
    char *detail;
} GdMpPathAction;

/* A GArray of GdMpPathAction that frees their details. */
GArray *gd_mp_path_actions_new(void);

GdMpPaths *gd_mp_paths_new(void);
void gd_mp_paths_free(GdMpPaths *paths);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdMpPaths, gd_mp_paths_free)

/* The links watched from now on; the others' state is dropped (what was
 * learnt of addresses that answer is kept). */
void gd_mp_paths_watch(GdMpPaths *paths, const int *ifindexes, guint n);
/* The gateway of a link's default route (NULL: none), an address to ask
 * when its peers do not answer echoes. */
void gd_mp_paths_set_gateway(GdMpPaths *paths, int ifindex, const GdMpAddr *gateway);

/* One sample of the subflows (GdMpSubflowSample, ifindex resolved) at now:
 * appends to actions what to send and which links are dead. A dead link's
 * state starts over. */
void gd_mp_paths_update(GdMpPaths *paths, const GArray *samples, gint64 now, GArray *actions);
/* from answered an echo sent over ifindex at sent_at. */
void gd_mp_paths_answered(GdMpPaths *paths, int ifindex, const GdMpAddr *from, gint64 sent_at,
                          gint64 now);
/* When the next update is due by time alone (a silence reaching its limit,
 * an echo to send, a probe's end), or G_MAXINT64. */
gint64 gd_mp_paths_next_due(const GdMpPaths *paths);
/* An address that answers over ifindex: the peer that sent last, else
 * another peer, else the gateway. FALSE: none known. */
gboolean gd_mp_paths_target(const GdMpPaths *paths, int ifindex, GdMpAddr *out);

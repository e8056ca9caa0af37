/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Silent path failures from subflow samples and echoes: pure decisions. */
#include <netinet/in.h>

#include "mptcp/stall.h"
#include "mptcp/pm.h"

#include <string.h>
#include <sys/socket.h>

#define MS(x) ((gint64)(x)*1000)

gboolean gd_mp_addr_equal(const GdMpAddr *a, const GdMpAddr *b)
{
    return a->family == b->family &&
           memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : sizeof(a->addr)) == 0;
}

/* ---- sending: a retransmission timer without progress ---- */

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

/* ---- receiving: silence, then an unanswered echo ---- */

gint64 gd_mp_stall_rx_silence(guint rtt_us)
{
    return MAX(MS(GD_MP_RX_SILENCE_MS), 4 * (gint64)rtt_us);
}

gint64 gd_mp_stall_rx_probe_time(guint rtt_us, guint slow_us)
{
    gint64 queued = MIN(GD_MP_RX_SLOW_FACTOR * (gint64)slow_us, MS(GD_MP_RX_SLOW_CAP_MS));
    return MAX(MAX(MS(GD_MP_RX_PROBE_MS), 4 * (gint64)rtt_us), queued);
}

guint gd_mp_stall_rx_slow_decayed(guint slow_us, gint64 age_us)
{
    gint64 halvings = MAX(age_us, 0) / MS(GD_MP_RX_SLOW_HALF_LIFE_MS);
    return halvings >= 32 ? 0 : slow_us >> halvings;
}

typedef enum {
    TARGET_UNTRIED,
    TARGET_TRYING,  /* echoes out, none answered yet */
    TARGET_ANSWERS, /* answered over its link: its silence means something */
    TARGET_SILENT,  /* never answered (filtered?): not used, tried again later */
} TargetState;

typedef struct {
    int ifindex;
    GdMpAddr addr;
    gboolean gateway;
    gboolean in_use; /* a peer of the link's subflows now, or its gateway */
    gint64 used_at;  /* when it last was */
    TargetState state;
    guint tries;
    gint64 tried_at;
    guint slow_us;  /* the slowest answer lately, */
    gint64 slow_at; /* seen then */
} Target;

typedef enum {
    RX_IDLE,      /* no data seen lately: nothing to judge */
    RX_RECEIVING, /* data arrives */
    RX_PROBING,   /* silent after data: echoes out */
    RX_QUIET,     /* silent, but the path answered: asked again later */
} RxState;

typedef struct {
    uint64_t cookie;
    uint64_t bytes;
    uint32_t segs;
} Seen;

typedef struct {
    int ifindex;
    RxState state;
    GArray *seen;      /* Seen: its subflows at the last sample, */
    gint64 sampled_at; /* taken then */
    gint64 last_data_at;
    guint rtt_us;
    gboolean has_peer;
    GdMpAddr peer; /* of the subflow that received last */
    guint quiet_probes;
    gint64 next_probe_at; /* RX_QUIET */
    GdMpAddr probed;      /* RX_PROBING: */
    gint64 probe_started, probe_deadline, next_echo_at;
    guint echoes;
} RxLink;

struct GdMpPaths {
    GArray *links;        /* RxLink: the watched links */
    GArray *targets;      /* Target */
    GHashTable *gateways; /* ifindex → GdMpAddr* */
};

static void action_clear(gpointer data)
{
    g_free(((GdMpPathAction *)data)->detail);
}

GArray *gd_mp_path_actions_new(void)
{
    GArray *actions = g_array_new(FALSE, TRUE, sizeof(GdMpPathAction));
    g_array_set_clear_func(actions, action_clear);
    return actions;
}

static void rx_link_clear(gpointer data)
{
    g_array_unref(((RxLink *)data)->seen);
}

GdMpPaths *gd_mp_paths_new(void)
{
    GdMpPaths *paths = g_new0(GdMpPaths, 1);
    paths->links = g_array_new(FALSE, TRUE, sizeof(RxLink));
    g_array_set_clear_func(paths->links, rx_link_clear);
    paths->targets = g_array_new(FALSE, TRUE, sizeof(Target));
    paths->gateways = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    return paths;
}

void gd_mp_paths_free(GdMpPaths *paths)
{
    if (!paths)
        return;
    g_array_unref(paths->links);
    g_array_unref(paths->targets);
    g_hash_table_unref(paths->gateways);
    g_free(paths);
}

static RxLink *link_of(const GdMpPaths *paths, int ifindex)
{
    for (guint i = 0; i < paths->links->len; i++) {
        RxLink *l = &g_array_index(paths->links, RxLink, i);
        if (l->ifindex == ifindex)
            return l;
    }
    return NULL;
}

static Target *target_of(const GdMpPaths *paths, int ifindex, const GdMpAddr *addr)
{
    for (guint i = 0; i < paths->targets->len; i++) {
        Target *t = &g_array_index(paths->targets, Target, i);
        if (t->ifindex == ifindex && gd_mp_addr_equal(&t->addr, addr))
            return t;
    }
    return NULL;
}

static Target *target_add(GdMpPaths *paths, int ifindex, const GdMpAddr *addr, gboolean gateway,
                          gint64 now)
{
    Target *t = target_of(paths, ifindex, addr);
    if (!t) {
        Target fresh = {.ifindex = ifindex, .addr = *addr, .gateway = gateway};
        g_array_append_val(paths->targets, fresh);
        t = &g_array_index(paths->targets, Target, paths->targets->len - 1);
    }
    t->in_use = TRUE;
    t->used_at = now;
    return t;
}

void gd_mp_paths_watch(GdMpPaths *paths, const int *ifindexes, guint n)
{
    for (guint i = paths->links->len; i-- > 0;) {
        gboolean keep = FALSE;
        for (guint k = 0; k < n && !keep; k++)
            keep = ifindexes[k] == g_array_index(paths->links, RxLink, i).ifindex;
        if (!keep)
            g_array_remove_index(paths->links, i);
    }
    for (guint k = 0; k < n; k++) {
        if (link_of(paths, ifindexes[k]))
            continue;
        RxLink l = {.ifindex = ifindexes[k], .seen = g_array_new(FALSE, FALSE, sizeof(Seen))};
        g_array_append_val(paths->links, l);
    }
}

void gd_mp_paths_set_gateway(GdMpPaths *paths, int ifindex, const GdMpAddr *gateway)
{
    if (gateway)
        g_hash_table_insert(paths->gateways, GINT_TO_POINTER(ifindex),
                            g_memdup2(gateway, sizeof(*gateway)));
    else
        g_hash_table_remove(paths->gateways, GINT_TO_POINTER(ifindex));
}

gboolean gd_mp_paths_target(const GdMpPaths *paths, int ifindex, GdMpAddr *out)
{
    const RxLink *l = link_of(paths, ifindex);
    const Target *t = l && l->has_peer ? target_of(paths, ifindex, &l->peer) : NULL;
    if (t && t->state == TARGET_ANSWERS) {
        *out = t->addr;
        return TRUE;
    }
    /* Another peer before the gateway, a target in use before an old one. */
    const Target *best = NULL;
    for (guint i = 0; i < paths->targets->len; i++) {
        t = &g_array_index(paths->targets, Target, i);
        if (t->ifindex != ifindex || t->state != TARGET_ANSWERS)
            continue;
        if (!best || (t->in_use && !best->in_use) ||
            (t->in_use == best->in_use && best->gateway && !t->gateway))
            best = t;
    }
    if (best)
        *out = best->addr;
    return best != NULL;
}

static guint target_slow(const GdMpPaths *paths, int ifindex, const GdMpAddr *addr, gint64 now)
{
    const Target *t = target_of(paths, ifindex, addr);
    return t ? gd_mp_stall_rx_slow_decayed(t->slow_us, now - t->slow_at) : 0;
}

static void add_action(GArray *actions, GdMpPathOp op, int ifindex, const GdMpAddr *target,
                       char *detail)
{
    GdMpPathAction a = {.op = op, .ifindex = ifindex, .detail = detail};
    if (target) {
        a.has_target = TRUE;
        a.target = *target;
    }
    g_array_append_val(actions, a);
}

/* The link's path is dead: reported, and its state starts over. */
static void link_stalled(GdMpPaths *paths, RxLink *l, char *detail, GArray *actions)
{
    GdMpAddr target;
    gboolean has = gd_mp_paths_target(paths, l->ifindex, &target);
    add_action(actions, GD_MP_PATH_STALLED, l->ifindex, has ? &target : NULL, detail);
    l->state = RX_IDLE;
}

/* What the samples say of the data the link received. */
static void rx_absorb(RxLink *l, const GArray *samples, gint64 now)
{
    gint64 newest = 0;
    guint rtt = 0;
    g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(Seen));
    for (guint i = 0; i < samples->len; i++) {
        const GdMpSubflowSample *s = &g_array_index(samples, GdMpSubflowSample, i);
        if (s->ifindex != l->ifindex)
            continue;
        Seen now_seen = {.cookie = s->cookie, .bytes = s->bytes_received, .segs = s->data_segs_in};
        g_array_append_val(seen, now_seen);
        rtt = MAX(rtt, s->rtt_us);
        /* New data: more bytes than the last sample showed, or a subflow
         * not seen before that has received some. */
        const Seen *before = NULL;
        for (guint k = 0; k < l->seen->len && !before; k++)
            if (g_array_index(l->seen, Seen, k).cookie == s->cookie)
                before = &g_array_index(l->seen, Seen, k);
        gboolean data = before ? s->bytes_received > before->bytes : s->bytes_received > 0;
        gint64 at = now - MS(s->last_data_recv_ms);
        /* Segments but no more in-order bytes: data behind a hole arrived
         * (a burst overflowed a queue), some time after the last sample;
         * last_data_recv_ms is of in-order data only. The path delivers. */
        if (before && !data && s->data_segs_in != before->segs) {
            data = TRUE;
            at = MAX(at, l->sampled_at + MS(1)); /* the earliest, in the kernel's ms */
        }
        if (data && at > newest) {
            newest = at;
            l->has_peer = TRUE;
            l->peer = (GdMpAddr){.family = s->family};
            memcpy(l->peer.addr, s->dst, sizeof(l->peer.addr));
        }
    }
    g_array_unref(l->seen);
    l->seen = g_steal_pointer(&seen);
    l->sampled_at = now;
    l->rtt_us = rtt;
    if (!l->seen->len) {
        l->state = RX_IDLE;
        return;
    }
    if (newest > l->last_data_at) {
        l->last_data_at = newest;
        /* Data that is recent: the link receives (whatever it was doing). */
        if (now - newest < gd_mp_stall_rx_silence(l->rtt_us)) {
            l->state = RX_RECEIVING;
            l->quiet_probes = 0;
        }
    }
}

static void rx_probe(GdMpPaths *paths, RxLink *l, gint64 now, GArray *actions)
{
    GdMpAddr target;
    if (!gd_mp_paths_target(paths, l->ifindex, &target)) {
        /* Nobody over there ever answered: the silence cannot be judged. */
        l->state = RX_IDLE;
        return;
    }
    gint64 window =
        gd_mp_stall_rx_probe_time(l->rtt_us, target_slow(paths, l->ifindex, &target, now));
    l->state = RX_PROBING;
    l->probed = target;
    l->probe_started = now;
    l->probe_deadline = now + window;
    l->echoes = 1;
    l->next_echo_at = now + window / GD_MP_RX_ECHOES;
    add_action(actions, GD_MP_PATH_ECHO, l->ifindex, &target, NULL);
}

static void rx_step(GdMpPaths *paths, RxLink *l, gint64 now, GArray *actions)
{
    switch (l->state) {
    case RX_IDLE:
        break;
    case RX_RECEIVING:
        if (now - l->last_data_at >= gd_mp_stall_rx_silence(l->rtt_us))
            rx_probe(paths, l, now, actions);
        break;
    case RX_QUIET:
        if (now >= l->next_probe_at)
            rx_probe(paths, l, now, actions);
        break;
    case RX_PROBING:
        if (now >= l->probe_deadline) {
            g_autofree char *who = gd_mp_pm_addr_format(l->probed.family, l->probed.addr);
            link_stalled(paths, l,
                         g_strdup_printf("no data for %" G_GINT64_FORMAT " ms, no answer from %s "
                                         "in %" G_GINT64_FORMAT " ms",
                                         (now - l->last_data_at) / 1000, who,
                                         (now - l->probe_started) / 1000),
                         actions);
        } else if (l->echoes < GD_MP_RX_ECHOES && now >= l->next_echo_at) {
            l->echoes++;
            l->next_echo_at += (l->probe_deadline - l->probe_started) / GD_MP_RX_ECHOES;
            add_action(actions, GD_MP_PATH_ECHO, l->ifindex, &l->probed, NULL);
        }
        break;
    }
}

/* Echoes that find out which addresses answer over the link: its peers,
 * and its gateway when no peer does. */
static void calibrate(GdMpPaths *paths, const RxLink *l, const GArray *samples, gint64 now,
                      GArray *actions)
{
    for (guint i = 0; i < samples->len; i++) {
        const GdMpSubflowSample *s = &g_array_index(samples, GdMpSubflowSample, i);
        if (s->ifindex != l->ifindex)
            continue;
        GdMpAddr peer = {.family = s->family};
        memcpy(peer.addr, s->dst, sizeof(peer.addr));
        target_add(paths, l->ifindex, &peer, FALSE, now);
    }
    gboolean peer_answers = FALSE, peer_silent = FALSE;
    for (guint i = 0; i < paths->targets->len; i++) {
        Target *t = &g_array_index(paths->targets, Target, i);
        if (t->ifindex != l->ifindex || !t->in_use)
            continue;
        if (t->state == TARGET_TRYING && t->tries >= GD_MP_TARGET_TRIES &&
            now - t->tried_at >= MS(GD_MP_TARGET_RETRY_MS))
            t->state = TARGET_SILENT;
        peer_answers |= !t->gateway && t->state == TARGET_ANSWERS;
        peer_silent |= !t->gateway && t->state == TARGET_SILENT;
    }
    const GdMpAddr *gateway = g_hash_table_lookup(paths->gateways, GINT_TO_POINTER(l->ifindex));
    if (gateway && peer_silent && !peer_answers)
        target_add(paths, l->ifindex, gateway, TRUE, now);
    for (guint i = 0; i < paths->targets->len; i++) {
        Target *t = &g_array_index(paths->targets, Target, i);
        if (t->ifindex != l->ifindex || !t->in_use)
            continue;
        gboolean send =
            t->state == TARGET_UNTRIED ||
            (t->state == TARGET_TRYING && now - t->tried_at >= MS(GD_MP_TARGET_RETRY_MS)) ||
            (t->state == TARGET_SILENT && now - t->tried_at >= MS(GD_MP_TARGET_AGAIN_MS));
        if (!send)
            continue;
        if (t->state != TARGET_TRYING)
            t->tries = 0;
        t->state = TARGET_TRYING;
        t->tries++;
        t->tried_at = now;
        add_action(actions, GD_MP_PATH_ECHO, t->ifindex, &t->addr, NULL);
    }
}

void gd_mp_paths_update(GdMpPaths *paths, const GArray *samples, gint64 now, GArray *actions)
{
    for (guint i = paths->targets->len; i-- > 0;) {
        Target *t = &g_array_index(paths->targets, Target, i);
        t->in_use = FALSE;
        if (now - t->used_at >= MS(GD_MP_TARGET_FORGET_MS))
            g_array_remove_index_fast(paths->targets, i);
    }
    g_autoptr(GHashTable) sending =
        gd_mp_stall_links(samples, GD_MP_STALL_MIN_SILENCE_MS, GD_MP_STALL_RECENT_PROGRESS_MS);
    for (guint i = 0; i < paths->links->len; i++) {
        RxLink *l = &g_array_index(paths->links, RxLink, i);
        rx_absorb(l, samples, now);
        calibrate(paths, l, samples, now, actions);
        char *detail = g_hash_table_lookup(sending, GINT_TO_POINTER(l->ifindex));
        if (detail)
            link_stalled(paths, l, g_strdup(detail), actions);
        else
            rx_step(paths, l, now, actions);
    }
}

void gd_mp_paths_answered(GdMpPaths *paths, int ifindex, const GdMpAddr *from, gint64 sent_at,
                          gint64 now)
{
    Target *t = target_of(paths, ifindex, from);
    if (t) {
        t->state = TARGET_ANSWERS;
        guint took = (guint)MIN(now - sent_at, (gint64)G_MAXUINT);
        if (took >= gd_mp_stall_rx_slow_decayed(t->slow_us, now - t->slow_at)) {
            t->slow_us = took;
            t->slow_at = now;
        }
    }
    RxLink *l = link_of(paths, ifindex);
    if (!l || l->state != RX_PROBING || !gd_mp_addr_equal(&l->probed, from) ||
        sent_at < l->probe_started)
        return;
    /* The path works: the peer has nothing to send. Asked again later, less
     * and less often, then left alone until data flows again. */
    l->quiet_probes++;
    if (l->quiet_probes >= GD_MP_RX_QUIET_PROBES) {
        l->state = RX_IDLE;
        return;
    }
    l->state = RX_QUIET;
    l->next_probe_at = now + (gd_mp_stall_rx_silence(l->rtt_us) << l->quiet_probes);
}

gint64 gd_mp_paths_next_due(const GdMpPaths *paths)
{
    gint64 next = G_MAXINT64;
    for (guint i = 0; i < paths->links->len; i++) {
        const RxLink *l = &g_array_index(paths->links, RxLink, i);
        switch (l->state) {
        case RX_IDLE:
            break;
        case RX_RECEIVING:
            next = MIN(next, l->last_data_at + gd_mp_stall_rx_silence(l->rtt_us));
            break;
        case RX_QUIET:
            next = MIN(next, l->next_probe_at);
            break;
        case RX_PROBING:
            next = MIN(next, l->probe_deadline);
            if (l->echoes < GD_MP_RX_ECHOES)
                next = MIN(next, l->next_echo_at);
            break;
        }
    }
    for (guint i = 0; i < paths->targets->len; i++) {
        const Target *t = &g_array_index(paths->targets, Target, i);
        if (!t->in_use || !link_of(paths, t->ifindex))
            continue;
        if (t->state == TARGET_TRYING)
            next = MIN(next, t->tried_at + MS(GD_MP_TARGET_RETRY_MS));
        else if (t->state == TARGET_SILENT)
            next = MIN(next, t->tried_at + MS(GD_MP_TARGET_AGAIN_MS));
    }
    return next;
}

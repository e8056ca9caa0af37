/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The link/address/group cache. */
#include "cache.h"
#include "log/log.h"

#include <errno.h>
#include <glib-unix.h>
#include <linux/if_addr.h>
#include <string.h>
#include <sys/socket.h>

/* External bursts (someone else's `ip link set group …`) are published
 * once they pause for this long, but at least this often. */
#define COALESCE_QUIET_MS 20
#define COALESCE_MAX_MS   250
/* After one of groupd's own operations the kernel goes on for a while
 * (linkwatch, IPv6 link-local addresses on links just set up): that tail
 * is published as one batch, so an operation costs a bounded number of
 * signals whatever the number of members. */
#define SETTLE_WINDOW_MS   3000
#define SETTLE_QUIET_MS    300
#define SETTLE_MAX_MS      2500
#define REQUEST_TIMEOUT_MS 10000
/* Below this many links a refresh asks for each one. */
#define REFRESH_DUMP_MIN             512
#define EVENT_DATAGRAMS_PER_DISPATCH 64
/* While one of groupd's operations holds the cache, the event socket is
 * read at most this often. Each event that finds the main thread waiting
 * wakes it, and the kernel makes the thread that sent the request pay for
 * that wakeup: on per-link messages to 32768 DOWN links, about a quarter
 * of their time. The events are not published before the operation ends
 * anyway; the reactions that are not coalesced (link watch, hot-plug)
 * wait at most this much longer. */
#define EVENT_PACE_MS 5
/* The dump socket receives one reply and one ack per refreshed link in a
 * single burst. */
#define DUMP_SOCKET_RCVBUF (64 * 1024 * 1024)

struct GdCache {
    GHashTable *by_index; /* ifindex → GdLink* (owned) */
    GHashTable *by_name;  /* name (owned by the link) → GdLink* */
    GHashTable *groups;   /* group id → GHashTable (ifindex set) */
    GdChangeSet *pending;
    guint resync_count;
    guint hold;

    /* resync state */
    gboolean resyncing;
    GHashTable *seen;      /* ifindex set */
    GHashTable *old_addrs; /* ifindex → GArray of GdNlAddr */

    GdNlSocket *events;
    GdNlSocket *requests;
    guint event_watch;
    guint event_pace_timer; /* the watch comes back then (EVENT_PACE_MS) */
    guint coalesce_timer;
    guint resync_timer;
    guint resync_backoff_ms;
    gint64 pending_since;
    gint64 settle_until; /* monotonic; the tail of an operation until then */
    GdCacheChangedFunc on_changed;
    gpointer user_data;
    GdCacheLinkWatchFunc link_watch; /* at once, not coalesced */
    gpointer link_watch_data;
    GdCacheLinkAppearedFunc link_appeared; /* at once too */
    gpointer link_appeared_data;

    unsigned features; /* GdKernelFeature bits */
};

static GdChangeSet *change_set_new(void)
{
    GdChangeSet *set = g_new0(GdChangeSet, 1);
    set->changed = g_hash_table_new(NULL, NULL);
    set->removed = g_hash_table_new(NULL, NULL);
    set->groups = g_hash_table_new(NULL, NULL);
    set->membership = g_hash_table_new(NULL, NULL);
    return set;
}

void gd_change_set_free(GdChangeSet *set)
{
    if (!set)
        return;
    g_hash_table_unref(set->changed);
    g_hash_table_unref(set->removed);
    g_hash_table_unref(set->groups);
    g_hash_table_unref(set->membership);
    g_free(set);
}

gboolean gd_change_set_is_empty(const GdChangeSet *set)
{
    return g_hash_table_size(set->changed) == 0 && g_hash_table_size(set->removed) == 0 &&
           g_hash_table_size(set->groups) == 0 && !set->resync;
}

static void link_free(gpointer data)
{
    GdLink *link = data;
    g_array_unref(link->addrs);
    g_free(link);
}

GdCache *gd_cache_new_detached(void)
{
    GdCache *cache = g_new0(GdCache, 1);
    cache->by_index = g_hash_table_new_full(NULL, NULL, NULL, link_free);
    cache->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    cache->groups = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_hash_table_unref);
    cache->pending = change_set_new();
    return cache;
}

void gd_cache_set_changed(GdCache *cache, GdCacheChangedFunc on_changed, gpointer user_data)
{
    cache->on_changed = on_changed;
    cache->user_data = user_data;
}

void gd_cache_free(GdCache *cache)
{
    if (!cache)
        return;
    g_clear_handle_id(&cache->event_watch, g_source_remove);
    g_clear_handle_id(&cache->event_pace_timer, g_source_remove);
    g_clear_handle_id(&cache->coalesce_timer, g_source_remove);
    g_clear_handle_id(&cache->resync_timer, g_source_remove);
    g_clear_pointer(&cache->events, gd_nl_socket_close);
    g_clear_pointer(&cache->requests, gd_nl_socket_close);
    g_clear_pointer(&cache->seen, g_hash_table_unref);
    g_clear_pointer(&cache->old_addrs, g_hash_table_unref);
    g_hash_table_unref(cache->by_name);
    g_hash_table_unref(cache->by_index);
    g_hash_table_unref(cache->groups);
    gd_change_set_free(cache->pending);
    g_free(cache);
}

/* ---- change recording ---- */

static void note_group(GdCache *cache, uint32_t group)
{
    g_hash_table_add(cache->pending->groups, GUINT_TO_POINTER(group));
}

static void note_membership(GdCache *cache, uint32_t group)
{
    note_group(cache, group);
    g_hash_table_add(cache->pending->membership, GUINT_TO_POINTER(group));
}

static void notify_watch(GdCache *cache, int ifindex, uint32_t group)
{
    if (cache->link_watch)
        cache->link_watch(cache, ifindex, group, cache->link_watch_data);
}

static void notify_appeared(GdCache *cache, int ifindex)
{
    if (cache->link_appeared)
        cache->link_appeared(cache, ifindex, cache->link_appeared_data);
}

static void note_changed(GdCache *cache, GdLink *link)
{
    g_hash_table_add(cache->pending->changed, GINT_TO_POINTER(link->nl.ifindex));
    g_hash_table_remove(cache->pending->removed, GINT_TO_POINTER(link->nl.ifindex));
    note_group(cache, link->nl.group);
    notify_watch(cache, link->nl.ifindex, link->nl.group);
}

static void group_add(GdCache *cache, uint32_t group, int ifindex)
{
    GHashTable *members = g_hash_table_lookup(cache->groups, GUINT_TO_POINTER(group));
    if (!members) {
        members = g_hash_table_new(NULL, NULL);
        g_hash_table_insert(cache->groups, GUINT_TO_POINTER(group), members);
    }
    g_hash_table_add(members, GINT_TO_POINTER(ifindex));
}

static void group_remove(GdCache *cache, uint32_t group, int ifindex)
{
    GHashTable *members = g_hash_table_lookup(cache->groups, GUINT_TO_POINTER(group));
    if (!members)
        return;
    g_hash_table_remove(members, GINT_TO_POINTER(ifindex));
    if (g_hash_table_size(members) == 0)
        g_hash_table_remove(cache->groups, GUINT_TO_POINTER(group));
}

static void link_remove(GdCache *cache, GdLink *link)
{
    int ifindex = link->nl.ifindex;
    gd_log_link(G_LOG_LEVEL_DEBUG, link->nl.name, "removed");
    note_membership(cache, link->nl.group);
    notify_watch(cache, ifindex, link->nl.group);
    group_remove(cache, link->nl.group, ifindex);
    if (g_hash_table_lookup(cache->by_name, link->nl.name) == link)
        g_hash_table_remove(cache->by_name, link->nl.name);
    g_hash_table_remove(cache->pending->changed, GINT_TO_POINTER(ifindex));
    g_hash_table_add(cache->pending->removed, GINT_TO_POINTER(ifindex));
    g_hash_table_remove(cache->by_index, GINT_TO_POINTER(ifindex));
}

static void link_update(GdCache *cache, const GdNlLink *nl)
{
    GdLink *link = g_hash_table_lookup(cache->by_index, GINT_TO_POINTER(nl->ifindex));
    if (cache->resyncing)
        g_hash_table_add(cache->seen, GINT_TO_POINTER(nl->ifindex));
    if (!link) {
        /* A new link may carry the name of one that is gone but whose
         * RTM_DELLINK we have not read yet. */
        GdLink *stale = g_hash_table_lookup(cache->by_name, nl->name);
        if (stale)
            g_hash_table_remove(cache->by_name, stale->nl.name);
        link = g_new0(GdLink, 1);
        link->nl = *nl;
        link->addrs = g_array_new(FALSE, TRUE, sizeof(GdNlAddr));
        g_hash_table_insert(cache->by_index, GINT_TO_POINTER(nl->ifindex), link);
        g_hash_table_replace(cache->by_name, link->nl.name, link);
        group_add(cache, nl->group, nl->ifindex);
        gd_log_link(G_LOG_LEVEL_DEBUG, nl->name, "new, group %u", nl->group);
        note_membership(cache, nl->group);
        note_changed(cache, link);
        notify_appeared(cache, nl->ifindex);
        return;
    }
    if (memcmp(&link->nl, nl, sizeof(*nl)) == 0)
        return;
    if (link->nl.group != nl->group) {
        notify_watch(cache, nl->ifindex, link->nl.group);
        note_membership(cache, link->nl.group);
        note_membership(cache, nl->group);
        group_remove(cache, link->nl.group, nl->ifindex);
        group_add(cache, nl->group, nl->ifindex);
    }
    gboolean renamed = strcmp(link->nl.name, nl->name) != 0;
    if (renamed) {
        note_membership(cache, nl->group);
        if (g_hash_table_lookup(cache->by_name, link->nl.name) == link)
            g_hash_table_remove(cache->by_name, link->nl.name);
        link->nl = *nl;
        g_hash_table_replace(cache->by_name, link->nl.name, link);
    } else {
        link->nl = *nl;
    }
    note_changed(cache, link);
    if (renamed)
        notify_appeared(cache, nl->ifindex);
}

static gboolean addr_same_key(const GdNlAddr *a, const GdNlAddr *b)
{
    size_t len = a->family == AF_INET ? 4 : 16;
    return a->family == b->family && a->prefixlen == b->prefixlen &&
           memcmp(a->addr, b->addr, len) == 0;
}

static int addr_find(GArray *addrs, const GdNlAddr *addr)
{
    for (guint i = 0; i < addrs->len; i++)
        if (addr_same_key(&g_array_index(addrs, GdNlAddr, i), addr))
            return (int)i;
    return -1;
}

static void addr_update(GdCache *cache, uint16_t type, const GdNlAddr *addr)
{
    GdLink *link = g_hash_table_lookup(cache->by_index, GINT_TO_POINTER(addr->ifindex));
    if (!link)
        return; /* the link's RTM_NEWLINK comes later or it is gone */
    int i = addr_find(link->addrs, addr);
    if (type == RTM_DELADDR) {
        if (i < 0)
            return;
        g_array_remove_index(link->addrs, (guint)i);
    } else if (i >= 0) {
        GdNlAddr *have = &g_array_index(link->addrs, GdNlAddr, i);
        if (have->flags == addr->flags && have->scope == addr->scope)
            return;
        *have = *addr;
    } else {
        g_array_append_val(link->addrs, *addr);
    }
    if (!cache->resyncing)
        note_changed(cache, link);
}

int gd_cache_apply_message(GdCache *cache, const struct nlmsghdr *nlh)
{
    int r;
    switch (nlh->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK: {
        GdNlLink nl;
        r = gd_nl_parse_link(nlh, &nl);
        if (r == -EAFNOSUPPORT)
            return 0; /* bridge port events share RTNLGRP_LINK */
        if (r < 0) {
            g_warning("ignoring malformed link message (type %u): %s", nlh->nlmsg_type,
                      g_strerror(-r));
            return r;
        }
        if (nlh->nlmsg_type == RTM_DELLINK) {
            GdLink *link = g_hash_table_lookup(cache->by_index, GINT_TO_POINTER(nl.ifindex));
            if (link)
                link_remove(cache, link);
            return 0;
        }
        link_update(cache, &nl);
        return 0;
    }
    case RTM_NEWADDR:
    case RTM_DELADDR: {
        GdNlAddr addr;
        r = gd_nl_parse_addr(nlh, &addr);
        if (r == -EAFNOSUPPORT)
            return 0;
        if (r < 0) {
            g_warning("ignoring malformed address message (type %u): %s", nlh->nlmsg_type,
                      g_strerror(-r));
            return r;
        }
        addr_update(cache, nlh->nlmsg_type, &addr);
        return 0;
    }
    default:
        return 0;
    }
}

/* ---- resync (mark and sweep) ---- */

void gd_cache_resync_begin(GdCache *cache)
{
    cache->resyncing = TRUE;
    cache->seen = g_hash_table_new(NULL, NULL);
    cache->old_addrs = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_array_unref);
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, cache->by_index);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        GdLink *link = value;
        g_hash_table_insert(cache->old_addrs, key, link->addrs);
        link->addrs = g_array_new(FALSE, TRUE, sizeof(GdNlAddr));
    }
}

static gboolean addr_sets_equal(GArray *a, GArray *b)
{
    if (a->len != b->len)
        return FALSE;
    for (guint i = 0; i < a->len; i++) {
        const GdNlAddr *x = &g_array_index(a, GdNlAddr, i);
        int j = addr_find(b, x);
        const GdNlAddr *y = &g_array_index(b, GdNlAddr, j < 0 ? 0 : j);
        if (j < 0 || y->flags != x->flags || y->scope != x->scope)
            return FALSE;
    }
    return TRUE;
}

void gd_cache_resync_end(GdCache *cache)
{
    g_autoptr(GPtrArray) gone = g_ptr_array_new();
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init(&iter, cache->by_index);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        GdLink *link = value;
        if (!g_hash_table_contains(cache->seen, key)) {
            g_ptr_array_add(gone, link);
            continue;
        }
        GArray *old = g_hash_table_lookup(cache->old_addrs, key);
        if (!old || !addr_sets_equal(old, link->addrs))
            note_changed(cache, link);
    }
    for (guint i = 0; i < gone->len; i++)
        link_remove(cache, gone->pdata[i]);
    g_clear_pointer(&cache->seen, g_hash_table_unref);
    g_clear_pointer(&cache->old_addrs, g_hash_table_unref);
    cache->resyncing = FALSE;
}

static void apply_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    gd_cache_apply_message(user_data, nlh);
}

static void restart_links_cb(gpointer user_data)
{
    GdCache *cache = user_data;
    g_hash_table_remove_all(cache->seen);
}

static void restart_addrs_cb(gpointer user_data)
{
    GdCache *cache = user_data;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, cache->by_index);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        g_array_set_size(((GdLink *)value)->addrs, 0);
}

static int dump_all(GdCache *cache)
{
    uint8_t buf[GD_NL_MSG_MAX];
    g_autofree char *extack = NULL;
    int r;

    gd_cache_resync_begin(cache);
    r = gd_nl_dump(cache->requests, gd_nl_put_getlink_dump(buf, 0), apply_cb, restart_links_cb,
                   cache, &extack);
    if (r >= 0)
        r = gd_nl_dump(cache->requests, gd_nl_put_getaddr_dump(buf, 0, AF_UNSPEC), apply_cb,
                       restart_addrs_cb, cache, &extack);
    if (r < 0) {
        /* Keep what we had; the caller retries later. */
        if (r == -EAGAIN)
            g_message("links or addresses kept changing while they were read; read again later");
        else
            g_warning("dump failed: %s%s%s", g_strerror(-r), extack ? ": " : "",
                      extack ? extack : "");
        GHashTableIter iter;
        gpointer key, value;
        g_hash_table_iter_init(&iter, cache->old_addrs);
        while (g_hash_table_iter_next(&iter, &key, &value)) {
            GdLink *link = g_hash_table_lookup(cache->by_index, key);
            if (link) {
                g_array_unref(link->addrs);
                link->addrs = g_array_ref(value);
            }
        }
        g_clear_pointer(&cache->seen, g_hash_table_unref);
        g_clear_pointer(&cache->old_addrs, g_hash_table_unref);
        cache->resyncing = FALSE;
        return r;
    }
    gd_cache_resync_end(cache);
    return 0;
}

int gd_cache_resync(GdCache *cache)
{
    gint64 start = g_get_monotonic_time();
    int r = dump_all(cache);
    if (r < 0)
        return r;
    cache->resync_count++;
    cache->pending->resync = TRUE;
    g_message("resync %u: %u links, %u changed, %u removed, %.1f ms", cache->resync_count,
              g_hash_table_size(cache->by_index), g_hash_table_size(cache->pending->changed),
              g_hash_table_size(cache->pending->removed),
              (g_get_monotonic_time() - start) / 1000.0);
    return 0;
}

/* ---- publication ---- */

static void schedule_resync_retry(GdCache *cache);
static void schedule_publish(GdCache *cache);

static void publish(GdCache *cache)
{
    g_clear_handle_id(&cache->coalesce_timer, g_source_remove);
    cache->pending_since = 0;
    if (cache->hold > 0 || gd_change_set_is_empty(cache->pending) || !cache->on_changed)
        return;
    cache->on_changed(cache, cache->user_data);
}

static gboolean coalesce_timeout_cb(gpointer user_data)
{
    GdCache *cache = user_data;
    cache->coalesce_timer = 0;
    gd_cache_process_events(cache);
    publish(cache);
    return G_SOURCE_REMOVE;
}

static void schedule_publish(GdCache *cache)
{
    if (cache->hold > 0 || gd_change_set_is_empty(cache->pending))
        return;
    gint64 now = g_get_monotonic_time();
    gboolean settling = now < cache->settle_until;
    guint quiet_ms = settling ? SETTLE_QUIET_MS : COALESCE_QUIET_MS;
    guint max_ms = settling ? SETTLE_MAX_MS : COALESCE_MAX_MS;
    if (cache->pending_since == 0)
        cache->pending_since = now;
    if ((now - cache->pending_since) / 1000 >= max_ms) {
        publish(cache);
        return;
    }
    /* Restart the quiet-period timer on every new batch of events. */
    g_clear_handle_id(&cache->coalesce_timer, g_source_remove);
    cache->coalesce_timer = g_timeout_add(quiet_ms, coalesce_timeout_cb, cache);
}

static gboolean resync_retry_cb(gpointer user_data)
{
    GdCache *cache = user_data;
    cache->resync_timer = 0;
    if (gd_cache_resync(cache) < 0) {
        schedule_resync_retry(cache);
        return G_SOURCE_REMOVE;
    }
    cache->resync_backoff_ms = 0;
    publish(cache);
    return G_SOURCE_REMOVE;
}

/* A failed re-dump is retried from a timer with back-off, never in a loop:
 * the cache keeps its last state and says so. */
static void schedule_resync_retry(GdCache *cache)
{
    if (cache->resync_timer)
        return;
    cache->resync_backoff_ms = CLAMP(cache->resync_backoff_ms * 2, 100, 5000);
    g_warning("resync failed; retrying in %u ms", cache->resync_backoff_ms);
    cache->resync_timer = g_timeout_add(cache->resync_backoff_ms, resync_retry_cb, cache);
}

static void event_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    gd_cache_apply_message(user_data, nlh);
}

static int read_events(GdCache *cache, guint max_datagrams)
{
    if (!cache->events)
        return 0;
    int r = gd_nl_socket_drain(cache->events, max_datagrams, event_cb, cache);
    if (r == -ENOBUFS) {
        g_message("event socket overrun: the kernel dropped events; resyncing");
        r = gd_cache_resync(cache);
        if (r < 0)
            schedule_resync_retry(cache);
        return r;
    }
    if (r < 0)
        g_warning("reading events failed: %s", g_strerror(-r));
    return r;
}

int gd_cache_process_events(GdCache *cache)
{
    return read_events(cache, 0);
}

static gboolean events_ready_cb(gint fd, GIOCondition condition, gpointer user_data);

static void watch_events(GdCache *cache)
{
    /* Below the default priority: a finished request's reply is dispatched
     * before the events it caused are read, and reads are batched. */
    cache->event_watch = g_unix_fd_add_full(G_PRIORITY_DEFAULT + 10, gd_nl_socket_fd(cache->events),
                                            G_IO_IN, events_ready_cb, cache, NULL);
}

static gboolean resume_events_cb(gpointer user_data)
{
    GdCache *cache = user_data;
    cache->event_pace_timer = 0;
    watch_events(cache);
    return G_SOURCE_REMOVE;
}

static gboolean events_ready_cb(gint fd, GIOCondition condition, gpointer user_data)
{
    GdCache *cache = user_data;
    /* A bounded slice per dispatch: a finished operation's reply (a
     * higher-priority source) is not kept waiting behind a whole burst. */
    int r = read_events(cache, EVENT_DATAGRAMS_PER_DISPATCH);
    if (r == 0 && cache->hold > 0) {
        /* Drained while an operation runs: not woken again by each event
         * it causes (EVENT_PACE_MS). */
        cache->event_watch = 0;
        cache->event_pace_timer = g_timeout_add_full(G_PRIORITY_DEFAULT + 10, EVENT_PACE_MS,
                                                     resume_events_cb, cache, NULL);
        return G_SOURCE_REMOVE;
    }
    if (r == 1) {
        /* More may be queued, or the slice ended exactly at the last
         * datagram and the fd will not fire again: the coalescing timer
         * reads the rest either way. */
        schedule_publish(cache);
        return G_SOURCE_CONTINUE;
    }
    if (cache->pending->resync)
        publish(cache);
    else if (!gd_change_set_is_empty(cache->pending))
        schedule_publish(cache);
    return G_SOURCE_CONTINUE;
}

void gd_cache_hold(GdCache *cache)
{
    cache->hold++;
}

void gd_cache_release(GdCache *cache)
{
    g_return_if_fail(cache->hold > 0);
    cache->hold--;
    /* Everything the kernel sent while it ran our request is queued now.
     * Holds of operations still queued do not delay this: nothing of
     * theirs has reached the kernel yet. */
    gd_cache_process_events(cache);
    guint held = cache->hold;
    cache->hold = 0;
    publish(cache);
    cache->hold = held;
    cache->settle_until = g_get_monotonic_time() + SETTLE_WINDOW_MS * 1000;
}

void gd_cache_release_n(GdCache *cache, guint n)
{
    if (n == 0)
        return;
    g_return_if_fail(cache->hold >= n);
    cache->hold -= n - 1;
    gd_cache_release(cache);
}

GdChangeSet *gd_cache_take_changes(GdCache *cache)
{
    GdChangeSet *set = cache->pending;
    cache->pending = change_set_new();
    return set;
}

/* A dump is interrupted (NLM_F_DUMP_INTR) whenever a link or an address
 * changes while it runs, and gd_nl_dump() gives up after a few immediate
 * restarts. While thousands of links that just came up finish IPv6
 * duplicate address detection that goes on for seconds, so at start the
 * cache waits and reads again, up to a deadline well inside the unit's
 * watchdog; the events queued meanwhile are read after the dump. */
#define OPEN_DUMP_PATIENCE_USEC (20 * G_USEC_PER_SEC)
#define OPEN_DUMP_MAX_WAIT_MS   1000

static int dump_all_patiently(GdCache *cache)
{
    gint64 deadline = g_get_monotonic_time() + OPEN_DUMP_PATIENCE_USEC;
    guint wait_ms = 20;
    for (;;) {
        int r = dump_all(cache);
        if (r != -EAGAIN || g_get_monotonic_time() + wait_ms * 1000 > deadline)
            return r;
        g_usleep(wait_ms * 1000);
        wait_ms = MIN(wait_ms * 2, OPEN_DUMP_MAX_WAIT_MS);
    }
}

int gd_cache_open(int rcvbuf, GdCacheChangedFunc on_changed, gpointer user_data, GdCache **out)
{
    g_autoptr(GdCache) cache = gd_cache_new_detached();
    const unsigned groups[] = {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR};
    int r;

    gd_cache_set_changed(cache, on_changed, user_data);
    /* Subscribe first, then dump: no change can fall between the two. */
    r = gd_nl_socket_open(groups, G_N_ELEMENTS(groups), rcvbuf, 0, &cache->events);
    if (r < 0)
        return r;
    r = gd_nl_socket_open(NULL, 0, DUMP_SOCKET_RCVBUF, 0, &cache->requests);
    if (r < 0)
        return r;
    r = dump_all_patiently(cache);
    if (r < 0)
        return r;
    gd_cache_process_events(cache);
    watch_events(cache);
    g_message("cache ready: %u links in %u groups", g_hash_table_size(cache->by_index),
              g_hash_table_size(cache->groups));
    *out = g_steal_pointer(&cache);
    return 0;
}

typedef struct {
    GdCache *cache;
    GHashTable *seen; /* ifindex set */
} GroupRefresh;

static void group_refresh_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    GroupRefresh *refresh = user_data;
    GdNlLink nl;
    if (nlh->nlmsg_type == RTM_NEWLINK && gd_nl_parse_link(nlh, &nl) == 0)
        g_hash_table_add(refresh->seen, GINT_TO_POINTER(nl.ifindex));
    gd_cache_apply_message(refresh->cache, nlh);
}

int gd_cache_refresh_group(GdCache *cache, uint32_t group, const int *ifindexes, guint n)
{
    if (n == 0 || !cache->requests)
        return 0;
    /* A request per link makes the kernel look each one up by index in a
     * 256-bucket table: at 32768 links that is most of a move's time. A
     * dump walks the list instead: filtered by group where the kernel can,
     * else all links once the targets are a good part of them. */
    gboolean filtered = (cache->features & GD_KF_GROUP_DUMP) != 0;
    if (!filtered && (n < REFRESH_DUMP_MIN || n * 4 < g_hash_table_size(cache->by_index)))
        return gd_cache_refresh_links(cache, ifindexes, n);
    /* The links the dump did not return (they left the group, or are gone)
     * are asked one by one. */
    uint8_t buf[GD_NL_MSG_MAX];
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    GroupRefresh refresh = {cache, seen};
    g_autofree char *extack = NULL;
    int r = gd_nl_dump(cache->requests,
                       filtered ? gd_nl_put_getlink_dump_group(buf, 0, group)
                                : gd_nl_put_getlink_dump(buf, 0),
                       group_refresh_cb, NULL, &refresh, &extack);
    if (r < 0) {
        gd_log_group(G_LOG_LEVEL_WARNING, group,
                     "link dump failed: %s%s%s; reading the links one by one", g_strerror(-r),
                     extack ? ": " : "", extack ? extack : "");
        return gd_cache_refresh_links(cache, ifindexes, n);
    }
    g_autoptr(GArray) missing = g_array_new(FALSE, FALSE, sizeof(int));
    for (guint i = 0; i < n; i++)
        if (!g_hash_table_contains(seen, GINT_TO_POINTER(ifindexes[i])))
            g_array_append_val(missing, ifindexes[i]);
    if (filtered)
        gd_log_group(G_LOG_LEVEL_DEBUG, group,
                     "refreshed %u members by one filtered dump, %u others one by one",
                     g_hash_table_size(seen), missing->len);
    else
        gd_log_group(G_LOG_LEVEL_DEBUG, group,
                     "refreshed %u links by one link dump, %u others one by one",
                     g_hash_table_size(seen), missing->len);
    return gd_cache_refresh_links(cache, (const int *)(void *)missing->data, missing->len);
}

void gd_cache_note_group_moves(GdCache *cache, const int *ifindexes, guint n, uint32_t group)
{
    for (guint i = 0; i < n; i++) {
        GdLink *link = g_hash_table_lookup(cache->by_index, GINT_TO_POINTER(ifindexes[i]));
        if (!link || link->nl.group == group)
            continue;
        GdNlLink moved = link->nl;
        moved.group = group;
        link_update(cache, &moved);
    }
}

void gd_cache_set_kernel_features(GdCache *cache, unsigned features)
{
    cache->features = features;
}

unsigned gd_cache_kernel_features(GdCache *cache)
{
    return cache->features;
}

int gd_cache_refresh_links(GdCache *cache, const int *ifindexes, guint n)
{
    if (n == 0 || !cache->requests)
        return 0;
    uint32_t first = gd_nl_socket_reserve_seq(cache->requests, n);
    g_autoptr(GdNlBatch) batch = gd_nl_batch_new(n, first);
    for (guint i = 0; i < n; i++) {
        uint32_t seq;
        void *slot = gd_nl_batch_slot(batch, &seq);
        gd_nl_put_getlink(slot, seq, ifindexes[i]);
        gd_nl_batch_commit(batch);
    }
    size_t len;
    const void *data = gd_nl_batch_data(batch, &len);
    g_autofree GdNlAck *acks = g_new0(GdNlAck, n);
    int r = gd_nl_transact(cache->requests, data, len, first, n, acks, apply_cb, cache,
                           REQUEST_TIMEOUT_MS);
    for (guint i = 0; i < n; i++) {
        if (acks[i].error == -ENODEV) {
            GdLink *link = g_hash_table_lookup(cache->by_index, GINT_TO_POINTER(ifindexes[i]));
            if (link)
                link_remove(cache, link);
        }
        gd_nl_ack_clear(&acks[i]);
    }
    if (r == -ENOBUFS)
        return gd_cache_resync(cache);
    return r;
}

/* ---- queries ---- */

GdLink *gd_cache_link_by_index(GdCache *cache, int ifindex)
{
    return g_hash_table_lookup(cache->by_index, GINT_TO_POINTER(ifindex));
}

GdLink *gd_cache_link_by_name(GdCache *cache, const char *name)
{
    return g_hash_table_lookup(cache->by_name, name);
}

void gd_cache_set_link_watch(GdCache *cache, GdCacheLinkWatchFunc func, gpointer user_data)
{
    cache->link_watch = func;
    cache->link_watch_data = user_data;
}

guint gd_cache_link_count(GdCache *cache)
{
    return g_hash_table_size(cache->by_index);
}

guint gd_cache_resync_count(GdCache *cache)
{
    return cache->resync_count;
}

static gint compare_ifindex(gconstpointer a, gconstpointer b)
{
    const GdLink *x = *(GdLink *const *)a;
    const GdLink *y = *(GdLink *const *)b;
    return (x->nl.ifindex > y->nl.ifindex) - (x->nl.ifindex < y->nl.ifindex);
}

GPtrArray *gd_cache_links(GdCache *cache)
{
    GPtrArray *links = g_ptr_array_sized_new(g_hash_table_size(cache->by_index));
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, cache->by_index);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        g_ptr_array_add(links, value);
    g_ptr_array_sort(links, compare_ifindex);
    return links;
}

void gd_cache_set_link_appeared(GdCache *cache, GdCacheLinkAppearedFunc func, gpointer user_data)
{
    cache->link_appeared = func;
    cache->link_appeared_data = user_data;
}

void gd_cache_foreach_link(GdCache *cache, GdCacheLinkFunc func, gpointer user_data)
{
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, cache->by_index);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        func(value, user_data);
}

GPtrArray *gd_cache_group_members(GdCache *cache, uint32_t group)
{
    GHashTable *members = g_hash_table_lookup(cache->groups, GUINT_TO_POINTER(group));
    GPtrArray *links = g_ptr_array_sized_new(members ? g_hash_table_size(members) : 0);
    if (!members)
        return links;
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, members);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_ptr_array_add(links, g_hash_table_lookup(cache->by_index, key));
    g_ptr_array_sort(links, compare_ifindex);
    return links;
}

guint gd_cache_group_size(GdCache *cache, uint32_t group)
{
    GHashTable *members = g_hash_table_lookup(cache->groups, GUINT_TO_POINTER(group));
    return members ? g_hash_table_size(members) : 0;
}

static gint compare_u32(gconstpointer a, gconstpointer b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

GArray *gd_cache_group_ids(GdCache *cache)
{
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, cache->groups);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        uint32_t id = GPOINTER_TO_UINT(key);
        g_array_append_val(ids, id);
    }
    g_array_sort(ids, compare_u32);
    return ids;
}

gboolean gd_link_is_up(const GdLink *link)
{
    return (link->nl.flags & IFF_UP) != 0;
}

const char *gd_link_operstate_name(const GdLink *link)
{
    static const char *const names[] = {"unknown", "notpresent", "down", "lowerlayerdown",
                                        "testing", "dormant",    "up"};
    if (link->nl.operstate < G_N_ELEMENTS(names))
        return names[link->nl.operstate];
    return "unknown";
}

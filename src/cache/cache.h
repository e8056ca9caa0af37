/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cache: the kernel's links, their addresses and group membership, kept
 * current from rtnetlink events; ENOBUFS resync; change sets.
 * May call: netlink. Never includes GDBus.
 */
#pragma once

#include "netlink/nl.h"

#include <glib.h>

typedef struct {
    GdNlLink nl;
    GArray *addrs; /* of GdNlAddr, in arrival order */
} GdLink;

typedef struct GdCache GdCache;

/* What changed since the last take: ifindexes of links that were added or
 * changed (their current state is in the cache), ifindexes removed, groups
 * whose membership or member state changed. */
typedef struct {
    GHashTable *changed;    /* int ifindex set */
    GHashTable *removed;    /* int ifindex set */
    GHashTable *groups;     /* uint32 group id set */
    GHashTable *membership; /* groups whose member list changed (subset of groups) */
    gboolean resync;        /* the change set comes from a resync */
} GdChangeSet;

void gd_change_set_free(GdChangeSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdChangeSet, gd_change_set_free)
gboolean gd_change_set_is_empty(const GdChangeSet *set);

/* Called on the main loop when changes are ready to be published: the event
 * socket is drained and no flush hold is active. */
typedef void (*GdCacheChangedFunc)(GdCache *cache, gpointer user_data);

/* Called on the main loop for every link whose state or addresses changed
 * (or that was removed: then it is no longer in the cache), as the event is
 * applied: before coalescing, for reactions that cannot wait (MPTCP
 * failover). group: the link's group (its old group when it moved, the
 * watch is then called for both). Keep it cheap: it runs per event. */
typedef void (*GdCacheLinkWatchFunc)(GdCache *cache, int ifindex, uint32_t group,
                                     gpointer user_data);
void gd_cache_set_link_watch(GdCache *cache, GdCacheLinkWatchFunc func, gpointer user_data);

/* Called on the main loop, as the event is applied, when a link appears
 * (an index the cache did not have) or takes another name: what a policy
 * matches on may match it now, and hot-plug must not wait for the
 * coalesced publication. Keep it cheap. */
typedef void (*GdCacheLinkAppearedFunc)(GdCache *cache, int ifindex, gpointer user_data);
void gd_cache_set_link_appeared(GdCache *cache, GdCacheLinkAppearedFunc func, gpointer user_data);

/* A cache without sockets: fed by gd_cache_apply_message() (unit tests). */
GdCache *gd_cache_new_detached(void);
/* A detached cache's changed callback (gd_cache_open() sets an open one's):
 * called when an operation's hold is released (gd_cache_release()). */
void gd_cache_set_changed(GdCache *cache, GdCacheChangedFunc on_changed, gpointer user_data);
/* Opens the event and dump sockets, subscribes, then dumps links and
 * addresses. rcvbuf: event socket receive buffer in bytes. */
int gd_cache_open(int rcvbuf, GdCacheChangedFunc on_changed, gpointer user_data, GdCache **out);
void gd_cache_free(GdCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdCache, gd_cache_free)

/* Feed one RTM_{NEW,DEL}{LINK,ADDR}. Returns 0, or a negative errno for a
 * message that was malformed (logged and ignored). */
int gd_cache_apply_message(GdCache *cache, const struct nlmsghdr *nlh);

/* Mark-and-sweep around a full set of dumps: links and addresses not seen
 * between begin and end are removed, everything that differs is recorded. */
void gd_cache_resync_begin(GdCache *cache);
void gd_cache_resync_end(GdCache *cache);

/* Re-dump links and addresses now and diff (what ENOBUFS triggers). */
int gd_cache_resync(GdCache *cache);
/* Process what is queued on the event socket now (resyncing on overrun). */
int gd_cache_process_events(GdCache *cache);
/* Re-read the given links with one batched RTM_GETLINK each; links that
 * are gone are removed. For changes the kernel does not announce. */
int gd_cache_refresh_links(GdCache *cache, const int *ifindexes, guint n);

/* The same for links expected in group (after a change to it): with
 * group-dump kernels one filtered dump, else one dump of all links when
 * the targets are many (>= 512 and a quarter of all links), then requests
 * for the links the dump did not return; otherwise
 * gd_cache_refresh_links(). */
int gd_cache_refresh_group(GdCache *cache, uint32_t group, const int *ifindexes, guint n);

/* Records that the kernel acknowledged moving these links to group (stock
 * kernels announce no group change of a DOWN link): the cache's copy of
 * each is updated as an event would have. */
void gd_cache_note_group_moves(GdCache *cache, const int *ifindexes, guint n, uint32_t group);

/* The kernel's GdKernelFeature bits (gd_nl_probe_features()), set once
 * after opening: group-dump for refreshes. */
void gd_cache_set_kernel_features(GdCache *cache, unsigned features);
unsigned gd_cache_kernel_features(GdCache *cache);

/* While held (counted: one hold per submitted operation), change sets
 * accumulate and the changed callback is not called: one operation's whole
 * burst becomes one publication. Release reads what is queued and
 * publishes at once, since the caller's operation has finished. */
void gd_cache_hold(GdCache *cache);
void gd_cache_release(GdCache *cache);
/* n holds at once, one publication (gd_cache_release() publishes on each,
 * and events read between two would make two). */
void gd_cache_release_n(GdCache *cache, guint n);

GdChangeSet *gd_cache_take_changes(GdCache *cache);

GdLink *gd_cache_link_by_index(GdCache *cache, int ifindex);
GdLink *gd_cache_link_by_name(GdCache *cache, const char *name);
guint gd_cache_link_count(GdCache *cache);
guint gd_cache_resync_count(GdCache *cache);
/* All links sorted by ifindex (GdLink*, not owned). */
GPtrArray *gd_cache_links(GdCache *cache);
/* Every link, in no order, without copying (func must not change the
 * cache). */
typedef void (*GdCacheLinkFunc)(const GdLink *link, gpointer user_data);
void gd_cache_foreach_link(GdCache *cache, GdCacheLinkFunc func, gpointer user_data);
/* Members of a group sorted by ifindex (GdLink*, not owned); empty array
 * for a group without members. */
GPtrArray *gd_cache_group_members(GdCache *cache, uint32_t group);
guint gd_cache_group_size(GdCache *cache, uint32_t group);
/* Group ids that have members, ascending. */
GArray *gd_cache_group_ids(GdCache *cache);

gboolean gd_link_is_up(const GdLink *link);
const char *gd_link_operstate_name(const GdLink *link);

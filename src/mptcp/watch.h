/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/watch: what the MPTCP manager needs beyond the link cache.
 *  - default routes per link (rtnetlink route events + dumps): a link that
 *    had a default route and lost it cannot carry traffic;
 *  - subflow progress (sock_diag): samples of the MPTCP subflows on the
 *    watched links, judged by mptcp/stall (link up, path dead), with the
 *    ICMP echoes it asks for (mptcp/echo);
 *  - the heal of a dead path: echoes over it until it answers.
 * Used by the Linux platform (platform-linux.c).
 * May call: netlink, cache, mptcp/stall, mptcp/echo.
 */
#pragma once

#include "cache/cache.h"
#include "mptcp/stall.h"

typedef struct GdMpWatch GdMpWatch;

typedef void (*GdMpWatchRoutesFunc)(GdMpWatch *watch, gpointer user_data);
/* target: an address that answered over the link before (NULL: none). */
typedef void (*GdMpWatchStallFunc)(GdMpWatch *watch, int ifindex, const char *detail,
                                   const GdMpAddr *target, gpointer user_data);
/* A probed path answered (gd_mp_watch_set_heal_probes()). */
typedef void (*GdMpWatchAliveFunc)(GdMpWatch *watch, int ifindex, gpointer user_data);

int gd_mp_watch_new(GdCache *cache, GdMpWatchRoutesFunc routes_changed, GdMpWatchStallFunc stalled,
                    GdMpWatchAliveFunc alive, gpointer user_data, GdMpWatch **out);
void gd_mp_watch_free(GdMpWatch *watch);

/* Routes are watched only while some [MPTCP] group is managed: the route
 * events of thousands of links coming up are not free. */
int gd_mp_watch_set_routes(GdMpWatch *watch, gboolean on);

/* Reads the default routes again (the kernel removes IPv4 routes of a link
 * that goes down, or of a removed address, without a notification). */
void gd_mp_watch_refresh_routes(GdMpWatch *watch);
/* TRUE when ifindex had a default route since groupd started and has none now. */
gboolean gd_mp_watch_route_lost(GdMpWatch *watch, int ifindex);

/* Watches the subflows of these links every interval_ms, and sooner when
 * mptcp/stall has something due (0 or n 0: stop). */
void gd_mp_watch_set_stall_links(GdMpWatch *watch, const int *ifindexes, guint n,
                                 guint interval_ms);
/* Echoes over these paths every GD_MP_HEAL_PROBE_MS until they are taken
 * away; each answer is reported. */
void gd_mp_watch_set_heal_probes(GdMpWatch *watch, const GdMpPathProbe *probes, guint n);

/* ---- parsers, pure for tests ---- */

/* Adds the output links of a default route (RTM_NEWROUTE, main or another
 * non-local table, unicast, prefix length 0, single or multipath) to set. */
void gd_mp_watch_default_route_links(const struct nlmsghdr *nlh, GHashTable *set);
/* The gateway of a single-path default route (RTA_OIF and RTA_GATEWAY):
 * TRUE, with its link. */
gboolean gd_mp_watch_default_route_gateway(const struct nlmsghdr *nlh, int *ifindex,
                                           GdMpAddr *gateway);
/* One sock_diag answer: 0 and *out (ifindex 0) for an MPTCP subflow with
 * its tcp_info, -EINVAL for anything else. */
int gd_mp_watch_parse_subflow(const struct nlmsghdr *nlh, GdMpSubflowSample *out);

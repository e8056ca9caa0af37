/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/watch: what the MPTCP manager needs beyond the link cache.
 *  - default routes per link (rtnetlink route events + dumps): a link that
 *    had a default route and lost it cannot carry traffic;
 *  - subflow progress (sock_diag): an MPTCP subflow on a watched link whose
 *    retransmission timer fired with data unacknowledged, while nothing on
 *    that link made progress, is a silent failure (link up, path dead).
 * May call: netlink, cache.
 */
#pragma once

#include "cache/cache.h"

typedef struct GdMptcpWatch GdMptcpWatch;

typedef void (*GdMptcpRoutesFunc)(GdMptcpWatch *watch, gpointer user_data);
typedef void (*GdMptcpStallFunc)(GdMptcpWatch *watch, int ifindex, const char *detail,
                                 gpointer user_data);

int gd_mptcp_watch_new(GdCache *cache, GdMptcpRoutesFunc routes_changed, GdMptcpStallFunc stalled,
                       gpointer user_data, GdMptcpWatch **out);
void gd_mptcp_watch_free(GdMptcpWatch *watch);

/* Routes are watched only while some [MPTCP] group is managed: the route
 * events of thousands of links coming up are not free. */
int gd_mptcp_watch_set_routes(GdMptcpWatch *watch, gboolean on);

/* Reads the default routes again (the kernel removes IPv4 routes of a link
 * that goes down, or of a removed address, without a notification). */
void gd_mptcp_watch_refresh_routes(GdMptcpWatch *watch);
/* TRUE when ifindex had a default route since groupd started and has none now. */
gboolean gd_mptcp_watch_route_lost(GdMptcpWatch *watch, int ifindex);

/* Watches the subflows of these links every interval_ms (0 or n 0: stop). */
void gd_mptcp_watch_set_stall_links(GdMptcpWatch *watch, const int *ifindexes, guint n,
                                    guint interval_ms);

/* The decision for one subflow, pure for tests: TRUE when its
 * retransmission timer fired (retransmits >= 1) with data unacknowledged
 * and no ACK for at least min_silence_ms. */
gboolean gd_mptcp_subflow_stalled(guint retransmits, guint unacked, guint last_ack_recv_ms,
                                  guint min_silence_ms);

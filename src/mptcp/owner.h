/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/owner: who manages the MPTCP endpoints of this network namespace —
 * groupd, or another path manager (mptcpd, NetworkManager, endpoints
 * someone else made) that groupd leaves alone unless Owner=groupd. Pure:
 * the platform reads /proc, the manager describes endpoints.
 * May call: mptcp/pm (types), config (types), GLib.
 */
#pragma once

#include "config/config.h"
#include "mptcp/pm.h"

#include <sys/types.h>

typedef struct {
    gboolean available; /* the kernel has the mptcp_pm family */
    GdMptcpMode mode;
    gboolean forced;      /* Owner=groupd */
    const char *listener; /* another path manager in the namespace, described, or NULL */
    const char *external_owner, *external_detail; /* seen from outside (the bus), or NULL */
    const char *foreign; /* the first endpoint groupd did not make, described, or NULL */
} GdMpOwnerFacts;

/* TRUE when the owner depends on listener, external_owner and foreign:
 * otherwise they need not be gathered. */
gboolean gd_mp_owner_contested(const GdMpOwnerFacts *facts);
/* owner: "none", "groupd", "mptcpd", the external owner or
 * "foreign-endpoints"; detail: why groupd does not manage, or NULL. */
void gd_mp_owner_decide(const GdMpOwnerFacts *facts, char **owner, char **detail);

/* The index in have (GdMptcpEndpoint) of the first endpoint whose id is
 * not in owned, or -1. */
int gd_mp_owner_first_foreign(const GArray *have, GHashTable *owned);

/* ---- other path managers: generic netlink sockets of other processes
 * that joined mptcp_pm_events ---- */

typedef struct {
    guint portid;   /* the process id, for a socket bound by the kernel's default */
    gboolean known; /* its membership of events_group could be read */
} GdMpListener;

/* From /proc/net/netlink (per namespace): the generic netlink sockets of
 * processes other than self that may listen to events_group. The Groups
 * column shows the first 32 groups only: beyond, every socket may. */
GArray *gd_mp_owner_listeners(const char *proc_net_netlink, pid_t self, uint32_t events_group);
/* What a listener is, from its /proc/<pid>/comm (NULL: unreadable, with
 * comm_errno): a description when it is a path manager, else NULL. Under
 * ProtectProc=invisible other users' processes are hidden: a listener
 * groupd cannot name may be a manager. */
char *gd_mp_owner_describe_listener(const GdMpListener *listener, const char *comm, int comm_errno);

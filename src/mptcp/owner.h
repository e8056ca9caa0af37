/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/owner: who manages the MPTCP endpoints of this network namespace —
 * groupd, or another path manager (mptcpd, NetworkManager, endpoints
 * someone else made) that groupd leaves alone unless Owner=groupd. Pure:
 * the platform reads /proc, the manager describes endpoints and what
 * NetworkManager does on the members' devices.
 *
 * NetworkManager is an owner by what it does, not by being on the bus: it
 * adds endpoints for a device's addresses when the device's applied
 * connection.mptcp-flags enable MPTCP (the default does, subject to the
 * sysctl net.mptcp.enabled) and the device has a default route (unless
 * "also-without-default-route"). Where it does so on a member of an
 * [MPTCP] group, the two would fight over the same endpoints (it re-adds
 * them, with its flags, whenever it re-applies), so groupd stands down and
 * says how to hand them over: `groupctl mptcp hand-over` sets the
 * devices' connection.mptcp-flags to "disabled" through NetworkManager's
 * API, after which NetworkManager removes its endpoints and leaves MPTCP
 * on them to groupd. Until what NetworkManager manages is known (at start)
 * groupd decides nothing and writes nothing; while NetworkManager restarts
 * its last known settings stand (peers/ keeps them for a grace period),
 * so a restart never makes groupd take over.
 * May call: mptcp/pm (types), config (types), GLib.
 */
#pragma once

#include "config/config.h"
#include "mptcp/pm.h"

#include <sys/types.h>

/* A member device on which NetworkManager's MPTCP is on. */
typedef struct {
    const char *ifname;
    const char *source; /* NetworkManager's connection id */
    uint32_t flags;     /* its connection.mptcp-flags as applied (0: the default) */
} GdMpOwnerNm;

typedef struct {
    gboolean available; /* the kernel has the mptcp_pm family */
    GdMptcpMode mode;
    gboolean forced;       /* Owner=groupd */
    gboolean peers_known;  /* what NetworkManager manages is known (peers settled) */
    const char *listener;  /* another path manager in the namespace, described, or NULL */
    const GdMpOwnerNm *nm; /* members where NetworkManager adds endpoints */
    guint n_nm;
    const char *foreign; /* the first endpoint groupd did not make, described, or NULL */
} GdMpOwnerFacts;

/* TRUE when the owner depends on peers_known, listener, nm and foreign:
 * otherwise they need not be gathered. */
gboolean gd_mp_owner_contested(const GdMpOwnerFacts *facts);
/* owner: "none", "groupd", "mptcpd", "NetworkManager" or
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

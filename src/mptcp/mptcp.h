/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp: the MPTCP endpoints of the groups that have an [MPTCP] section,
 * and the failover policy across them (failover, power-save, aggregate).
 * Judges each group's health from the cache (admin state, carrier,
 * addresses), its default routes and the progress of its subflows
 * (sock_diag); keeps the kernel's endpoints in line (mptcp_pm generic
 * netlink) and follows connections from the kernel's events.
 * May call: netlink, cache, config, policy/facts. Never includes GDBus.
 */
#pragma once

#include "cache/cache.h"
#include "config/config.h"
#include "mptcp/pm.h"

#include <glib.h>

typedef struct GdMptcp GdMptcp;

/* Something the bus shows changed (coalesced on the main loop). */
typedef void (*GdMptcpChangedFunc)(GdMptcp *mptcp, gpointer user_data);
/* The active group changed: has_*: whether there is one. */
typedef void (*GdMptcpActiveFunc)(GdMptcp *mptcp, gboolean has_group, uint32_t group,
                                  gboolean had_previous, uint32_t previous, const char *reason,
                                  gpointer user_data);

/* Opens the generic netlink sockets and the route watch. Without MPTCP in
 * the kernel the object still exists and says so (Owner "none"). */
int gd_mptcp_new(GdCache *cache, GdMptcpChangedFunc changed, GdMptcpActiveFunc active_changed,
                 gpointer user_data, GdMptcp **out);
void gd_mptcp_free(GdMptcp *mptcp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdMptcp, gd_mptcp_free)

/* Takes the [MPTCP] parts of config (copied; config may go away after).
 * The same pointer again does nothing: call it whenever the configuration
 * may have been replaced. Drops SetMode()/SetPreference() overrides. */
void gd_mptcp_set_config(GdMptcp *mptcp, const GdConfig *config);
/* Where to record the endpoints groupd made (a file in its runtime
 * directory), so that after a restart they are known from others'. */
void gd_mptcp_set_state_file(GdMptcp *mptcp, const char *path);
/* Another endpoint owner seen from outside this module (the bus sees
 * NetworkManager's name); NULL clears it. */
void gd_mptcp_set_external_owner(GdMptcp *mptcp, const char *owner, const char *detail);

/* Run-time changes until the next reload. -EINVAL: a group without [MPTCP];
 * -ENOENT (failover): no such group; -EHOSTUNREACH: nowhere to go. */
int gd_mptcp_set_mode(GdMptcp *mptcp, GdMptcpMode mode);
int gd_mptcp_set_preference(GdMptcp *mptcp, const uint32_t *groups, guint n);
/* to: the group to move to; has_to FALSE for the next healthy one. */
int gd_mptcp_failover(GdMptcp *mptcp, gboolean has_to, uint32_t to);
/* TRUE when group has an [MPTCP] section in the running configuration. */
gboolean gd_mptcp_group_configured(GdMptcp *mptcp, uint32_t group);

/* ---- what the bus shows ---- */

typedef struct {
    GdMptcpEndpoint ep;
    gboolean owned;        /* groupd's */
    uint32_t group;        /* when owned */
    char ifname[IFNAMSIZ]; /* "" when not bound to a device */
} GdMptcpEndpointInfo;

typedef struct {
    uint32_t group;
    const char *state; /* "active", "standby", "down", "hold-down" */
    const char *reason;
} GdMptcpHealth;

typedef struct {
    char *local, *remote, *interface;
    gboolean backup;      /* either end asked for it: peer_backup, or its endpoint is backup */
    gboolean peer_backup; /* the peer's MP_PRIO/MP_JOIN backup bit (the kernel's event) */
    uint8_t family;
    uint8_t local_addr[16];
} GdMptcpSubflow;

typedef struct {
    uint32_t token;
    char *local, *remote;
    GPtrArray *subflows; /* GdMptcpSubflow* */
} GdMptcpConnection;

typedef struct {
    char *path, *previous, *value;
} GdMptcpSysctl;

GdMptcpMode gd_mptcp_mode(GdMptcp *mptcp);
GArray *gd_mptcp_preference(GdMptcp *mptcp); /* uint32_t, owned by the caller */
gboolean gd_mptcp_active_group(GdMptcp *mptcp, uint32_t *group);
GArray *gd_mptcp_endpoints(GdMptcp *mptcp); /* GdMptcpEndpointInfo, caller's */
gboolean gd_mptcp_limits(GdMptcp *mptcp, GdMptcpLimits *out);
GPtrArray *gd_mptcp_connections(GdMptcp *mptcp); /* GdMptcpConnection*, not owned */
const char *gd_mptcp_owner(GdMptcp *mptcp, const char **detail);
GArray *gd_mptcp_health(GdMptcp *mptcp);            /* GdMptcpHealth, strings not owned */
GPtrArray *gd_mptcp_sysctl_changes(GdMptcp *mptcp); /* GdMptcpSysctl*, not owned */
guint gd_mptcp_failover_count(GdMptcp *mptcp);
const char *gd_mptcp_last_error(GdMptcp *mptcp); /* "" when none */

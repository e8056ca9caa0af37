/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp: the MPTCP endpoints of the groups that have an [MPTCP] section,
 * and the failover policy across them (failover, power-save, aggregate).
 * Judges each group's health from the cache (admin state, carrier,
 * addresses), its default routes and the progress of its subflows
 * (sock_diag); keeps the kernel's endpoints in line (mptcp_pm generic
 * netlink) and follows connections from the kernel's events.
 * The module's interface: the manager (manager.c). Its decisions are pure
 * functions in their own files (health, active, endpoints, owner, sysctls,
 * stall, connections); what it asks of the system goes through
 * mptcp/platform.h.
 * May call: netlink, cache, config, policy/facts. Never includes GDBus.
 */
#pragma once

#include "cache/cache.h"
#include "config/config.h"
#include "mptcp/endpoints.h"
#include "mptcp/sysctls.h"
#include "peers/peer-link.h"

#include <glib.h>

typedef struct GdMpManager GdMpManager;
typedef struct GdMpPlatform GdMpPlatform;

/* Something the bus shows changed (coalesced on the main loop). */
typedef void (*GdMpManagerChangedFunc)(GdMpManager *manager, gpointer user_data);
/* The active group changed: has_*: whether there is one. */
typedef void (*GdMpManagerActiveFunc)(GdMpManager *manager, gboolean has_group, uint32_t group,
                                      gboolean had_previous, uint32_t previous, const char *reason,
                                      gpointer user_data);

/* Opens the Linux platform (generic netlink sockets, the route watch).
 * Without MPTCP in the kernel the object still exists and says so (Owner
 * "none"). */
int gd_mp_manager_new(GdCache *cache, GdMpManagerChangedFunc changed,
                      GdMpManagerActiveFunc active_changed, gpointer user_data, GdMpManager **out);
/* The same on another platform, which the manager then owns (unit tests). */
GdMpManager *gd_mp_manager_new_on(GdCache *cache, GdMpPlatform *platform,
                                  GdMpManagerChangedFunc changed,
                                  GdMpManagerActiveFunc active_changed, gpointer user_data);
void gd_mp_manager_free(GdMpManager *manager);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdMpManager, gd_mp_manager_free)

/* Takes the [MPTCP] parts of config (copied; config may go away after).
 * The same pointer again does nothing: call it whenever the configuration
 * may have been replaced. Drops SetMode()/SetPreference() overrides. */
void gd_mp_manager_set_config(GdMpManager *manager, const GdConfig *config);
/* Where to record the endpoints groupd made (a file in its runtime
 * directory), so that after a restart they are known from others'. */
void gd_mp_manager_set_state_file(GdMpManager *manager, const char *path);
/* Who else manages the members' devices (peers/peers.h's lookup): where
 * NetworkManager adds endpoints itself, groupd does not manage them (see
 * mptcp/owner.h). Once set, groupd decides nothing until
 * gd_mp_manager_peers_changed() says the first look is complete. */
void gd_mp_manager_set_peers(GdMpManager *manager, GdPeerLookupFunc lookup, gpointer data);
/* What a lookup answers may have changed; settled: the first look is done. */
void gd_mp_manager_peers_changed(GdMpManager *manager, gboolean settled);

/* Run-time changes until the next reload. -EINVAL: a group without [MPTCP];
 * -ENOENT (failover): no such group; -EHOSTUNREACH: nowhere to go. */
int gd_mp_manager_set_mode(GdMpManager *manager, GdMptcpMode mode);
int gd_mp_manager_set_preference(GdMpManager *manager, const uint32_t *groups, guint n);
/* to: the group to move to; has_to FALSE for the next healthy one. */
int gd_mp_manager_failover(GdMpManager *manager, gboolean has_to, uint32_t to);
/* TRUE when group has an [MPTCP] section in the running configuration. */
gboolean gd_mp_manager_group_configured(GdMpManager *manager, uint32_t group);

/* ---- what the bus shows (GdMptcpEndpointInfo, GdMptcpHealth, GdMptcpConnection,
 * GdMptcpSysctl: see endpoints.h, active.h, connections.h, sysctls.h) ---- */

GdMptcpMode gd_mp_manager_mode(GdMpManager *manager);
GArray *gd_mp_manager_preference(GdMpManager *manager); /* uint32_t, owned by the caller */
gboolean gd_mp_manager_active_group(GdMpManager *manager, uint32_t *group);
GArray *gd_mp_manager_endpoints(GdMpManager *manager); /* GdMptcpEndpointInfo, caller's */
gboolean gd_mp_manager_limits(GdMpManager *manager, GdMptcpLimits *out);
GPtrArray *gd_mp_manager_connections(GdMpManager *manager); /* GdMptcpConnection*, not owned */
const char *gd_mp_manager_owner(GdMpManager *manager, const char **detail);
GArray *gd_mp_manager_health(GdMpManager *manager); /* GdMptcpHealth, strings not owned */
GPtrArray *gd_mp_manager_sysctl_changes(GdMpManager *manager); /* GdMptcpSysctl*, not owned */
guint gd_mp_manager_failover_count(GdMpManager *manager);
const char *gd_mp_manager_last_error(GdMpManager *manager); /* "" when none */

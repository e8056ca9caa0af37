/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/connections: the MPTCP connections and their subflows, as the
 * kernel's mptcp_pm events tell them. Pure: the manager resolves the
 * interface names from the cache and passes them in.
 * May call: mptcp/pm, GLib.
 */
#pragma once

#include "mptcp/pm.h"

#include <glib.h>

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

/* token → GdMptcpConnection*, owning them. */
GHashTable *gd_mp_connections_new(void);

/* The name of the link ifindex (> 0), else of the link that has addr, into
 * buf ("" when none); returns buf. The manager's, from the cache. */
typedef const char *(*GdMpIfnameFunc)(int ifindex, uint8_t family, const uint8_t *addr,
                                      char buf[IFNAMSIZ], gpointer data);

/* Applies one event. local, remote: its addresses with ports ("" without
 * a family); endpoints: the kernel's (GdMptcpEndpoint), for the backup
 * flag. Returns FALSE for events that change nothing here. */
gboolean gd_mp_connections_apply(GHashTable *connections, const GdMptcpEvent *event,
                                 const char *local, const char *remote, GdMpIfnameFunc ifname,
                                 gpointer ifname_data, const GArray *endpoints);

/* Recomputes every subflow's backup flag after the endpoints changed: a
 * subflow is backup when the peer asked for it or its local endpoint is
 * backup (the kernel's events carry only the former, and no event follows
 * SET_FLAGS on this side). */
void gd_mp_connections_update_backup(GHashTable *connections, const GArray *endpoints);

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * peers: who manages each link besides groupd, followed as it changes.
 *   - NetworkManager, through its D-Bus API on groupd's bus: every device
 *     (GetDevices, DeviceAdded/DeviceRemoved), its Managed and State
 *     (StateChanged, PropertiesChanged) and, once it is being activated,
 *     its applied connection (Device.GetAppliedConnection), read again when
 *     the device changes state and when the kernel reports a change of the
 *     links (a reapply changes the link, not the device's state).
 *   - systemd-networkd, through its per-link state files
 *     (ROOT/run/systemd/netif/links/IFINDEX, watched with inotify) and the
 *     .network file (and drop-ins) each one names, read under ROOT.
 * When NetworkManager leaves the bus its devices stay its own for a grace
 * period: a restart takes about a second, and a link must not look
 * unmanaged meanwhile (a policy matching ManagedBy=none would take it, and
 * MPTCP would take over its endpoints). What a link's manager applies is a
 * GdPeerLink (peers/peer-link.h), the one type the rest of groupd sees.
 * May call: peers/peer-link, log, GLib/GIO (GDBus). Used by daemon and bus.
 */
#pragma once

#include "peers/peer-link.h"

#include <gio/gio.h>

typedef struct GdPeers GdPeers;

/* Something a lookup answers changed (coalesced on the main loop). */
typedef void (*GdPeersChangedFunc)(GdPeers *peers, gpointer user_data);

/* conn: the bus NetworkManager is on (NULL: NetworkManager is not
 * followed). root: where networkd's files are read from (NULL or "": "/").
 * grace_msec: how long NetworkManager's devices stay its own after it left
 * the bus. */
GdPeers *gd_peers_new(GDBusConnection *conn, const char *root, guint grace_msec,
                      GdPeersChangedFunc changed, gpointer user_data);
void gd_peers_free(GdPeers *peers);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdPeers, gd_peers_free)

/* A new grace period ([Daemon] ManagerRestartSec= after a reload). */
void gd_peers_set_grace(GdPeers *peers, guint grace_msec);

/* The other manager of a link, or NULL. NetworkManager's devices are known
 * by name, networkd's links by ifindex. A GdPeerLookupFunc (data: peers). */
const GdPeerLink *gd_peers_lookup(int ifindex, const char *ifname, gpointer peers);

/* TRUE once the first look is complete: NetworkManager's name resolved
 * (and, when it is on the bus, every device read) and networkd's files
 * read. Before that nobody may be taken for "none". */
gboolean gd_peers_settled(GdPeers *peers);
/* NetworkManager is on the bus, or left it less than the grace period ago. */
gboolean gd_peers_nm_present(GdPeers *peers);
/* NetworkManager left the bus and the grace period runs. */
gboolean gd_peers_nm_restarting(GdPeers *peers);

/* Reads NetworkManager's applied connections every msec (0: stop). A
 * reapply is announced by no signal; when it changes nothing on the link
 * (only the MPTCP endpoints, say) polling is the one way to see it. The
 * daemon polls while groupd stands down for NetworkManager's MPTCP
 * endpoints, so that a hand-over is seen. */
void gd_peers_set_polling(GdPeers *peers, guint msec);

/* The kernel reported changes of links: read NetworkManager's applied
 * connections again (soon, once for a burst). */
void gd_peers_links_changed(GdPeers *peers);

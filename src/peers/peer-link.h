/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * peers/peer-link: what another network manager (NetworkManager,
 * systemd-networkd) says about one link — that it manages it, where its
 * settings come from, and the values it applies to the link whenever it
 * activates, re-applies, restarts or sees the link plugged in. Pure: the
 * parsers read NetworkManager's applied connection (a GVariant, as
 * Device.GetAppliedConnection returns it) and networkd's per-link state
 * file and .network files (text); nothing here talks to a bus or reads a
 * file. Used by policy/conflicts (which compares these values with a
 * group's policy) and mptcp/owner (NetworkManager's MPTCP settings).
 * May call: netlink (address and MAC text forms), GLib.
 */
#pragma once

#include "netlink/nl.h"

#include <glib.h>

typedef enum {
    GD_PEER_NONE,
    GD_PEER_NETWORKMANAGER,
    GD_PEER_NETWORKD,
} GdPeerKind;

/* "none", "NetworkManager", "systemd-networkd": ManagedBy's words. */
const char *gd_peer_kind_name(GdPeerKind kind);
/* The words, NULL-terminated, in enum order (for [Match] ManagedBy=). */
extern const char *const gd_peer_kind_names[];

/* NetworkManager's connection.mptcp-flags bits (NM_MPTCP_FLAGS_*). */
#define GD_NM_MPTCP_DISABLED            0x1u
#define GD_NM_MPTCP_ENABLED             0x2u
#define GD_NM_MPTCP_ALSO_WITHOUT_SYSCTL 0x4u
#define GD_NM_MPTCP_ALSO_WITHOUT_ROUTE  0x8u
#define GD_NM_MPTCP_SIGNAL              0x10u
#define GD_NM_MPTCP_SUBFLOW             0x20u
#define GD_NM_MPTCP_BACKUP              0x40u
#define GD_NM_MPTCP_FULLMESH            0x80u

typedef struct {
    GdPeerKind manager;
    /* Where the values come from: NetworkManager's connection id, or the
     * path of networkd's .network file. NULL when the manager has the link
     * but applies no profile (NetworkManager: managed, not activated). */
    char *source;
    /* NetworkManager: the device has an activated connection; networkd: the
     * link is configured (or being configured). */
    gboolean active;

    gboolean set_mtu;
    uint32_t mtu;
    gboolean set_state;
    gboolean up;
    gboolean set_group;
    uint32_t group;
    gboolean set_hwaddr;
    uint8_t hwaddr[GD_NL_MAX_HWADDR];
    uint8_t hwaddr_len;
    gboolean set_txqlen;
    uint32_t txqlen;
    /* Per family (0: IPv4, 1: IPv6): the manager owns the link's addresses
     * of that family and removes those it does not list when it applies. */
    gboolean owns_addresses[2];
    GArray *addresses; /* GdNlAddr (ifindex 0), the ones it lists; never NULL */

    /* NetworkManager: connection.mptcp-flags as applied (0: its default). */
    gboolean has_mptcp_flags;
    uint32_t mptcp_flags;
} GdPeerLink;

GdPeerLink *gd_peer_link_new(GdPeerKind manager);
GdPeerLink *gd_peer_link_copy(const GdPeerLink *link);
void gd_peer_link_free(GdPeerLink *link);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdPeerLink, gd_peer_link_free)
/* Same manager, source and values. */
gboolean gd_peer_link_equal(const GdPeerLink *a, const GdPeerLink *b);
/* "NetworkManager connection \"Home\"", "systemd-networkd /etc/…/x.network",
 * "NetworkManager (no active connection)". */
char *gd_peer_link_describe(const GdPeerLink *link);

/* ---- NetworkManager ---- */

/* NetworkManager's device states (NM_DEVICE_STATE_*) that matter here. */
#define GD_NM_DEVICE_STATE_UNMANAGED 10
#define GD_NM_DEVICE_STATE_ACTIVATED 100

/* A managed device of NetworkManager's. applied: its applied connection
 * (a{sa{sv}}) when it has one (state ≥ prepare), else NULL. A device in
 * any state but unmanaged is NetworkManager's (it sets it up and waits for
 * a profile). Returns NULL when the device is not managed. */
GdPeerLink *gd_peer_link_from_nm(gboolean managed, guint32 state, GVariant *applied);

/* NetworkManager adds MPTCP endpoints for the device's addresses of one
 * family when its effective flags are enabled and the sysctl
 * net.mptcp.enabled is on (or "also-without-sysctl"), and the device has a
 * default route of that family (or "also-without-default-route"). flags: as
 * applied, 0 for the default ("enabled,subflow" unless NetworkManager.conf
 * says otherwise, which groupd cannot see: it takes the fallback). */
uint32_t gd_nm_mptcp_effective(uint32_t flags);
gboolean gd_nm_mptcp_adds_endpoints(uint32_t flags, gboolean sysctl_enabled,
                                    gboolean has_default_route);
/* "enabled,subflow" from the bits. */
char *gd_nm_mptcp_flags_text(uint32_t flags);

/* ---- systemd-networkd ---- */

/* networkd's state file of one link (/run/systemd/netif/links/IFINDEX):
 * whether networkd manages it (ADMIN_STATE other than "unmanaged") and the
 * .network file it applies (NETWORK_FILE=), with its drop-ins
 * (NETWORK_FILE_DROPINS=, quoted, space-separated). Returns FALSE when
 * networkd does not manage the link. *network_file and *dropins: NULL when
 * none. */
gboolean gd_networkd_state_parse(const char *text, char **network_file, GStrv *dropins,
                                 char **admin_state);

/* Adds what one .network file (or drop-in) sets to link, in file order:
 * [Link] MTUBytes=, MACAddress=, Group=, ActivationPolicy=; [Network]
 * Address=; [Address] Address=. A later file overrides single values and
 * adds addresses, as networkd reads them. Values networkd would refuse are
 * ignored (networkd ignores them too). */
void gd_networkd_network_parse(const char *text, GdPeerLink *link);

/* How the policy engine and the MPTCP manager ask who manages a link (the
 * daemon gives them peers/peers.h's lookup): NULL when nobody does. */
typedef const GdPeerLink *(*GdPeerLookupFunc)(int ifindex, const char *ifname, gpointer data);

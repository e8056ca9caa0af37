/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * policy/conflicts: where a group policy and another network manager
 * (NetworkManager, systemd-networkd) want different things for the same
 * link. Neither manager enforces its profile continuously: each applies it
 * on activation, reapply/reconfigure, restart and hot-plug, and accepts
 * outside changes in between. A policy that differs is therefore a tug of
 * war on those events — groupd's drift repair puts its value back a
 * debounce later — which is why it is reported, not fought in silence.
 *
 * A conflict is one link and one attribute: MTU, State, Group (networkd's
 * Group=), Address (a policy address the manager removes when it applies,
 * because it owns the link's addresses of that family and does not list
 * it), MACAddress, TxQueueLength. The policy's [Group] OtherManagers= says
 * what groupd does about it:
 *   enforce  groupd keeps its value (and counts each repair);
 *   yield    groupd leaves the link to the other manager: it does not move
 *            it into the group, and on a link that is a member already it
 *            sends no attribute the manager sets otherwise (the group
 *            message reaches every member, so that attribute is left out
 *            of it for the whole group) and adds no policy address the
 *            manager would remove.
 * Pure: the engine passes the links, their policy and what their manager
 * applies; it keeps the repair counts and logs.
 * May call: peers/peer-link, config (types), netlink (text forms), json-glib.
 */
#pragma once

#include "config/config.h"
#include "peers/peer-link.h"
#include "policy/planner.h"

#include <json-glib/json-glib.h>

typedef enum {
    GD_CONFLICT_MTU,
    GD_CONFLICT_STATE,
    GD_CONFLICT_GROUP,
    GD_CONFLICT_ADDRESS,
    GD_CONFLICT_HWADDR,
    GD_CONFLICT_TXQLEN,
    GD_CONFLICT_N_ATTRS,
} GdConflictAttr;

#define GD_CONFLICT_BIT(attr) (1u << (attr))

/* "MTU", "State", "Group", "Address", "MACAddress", "TxQueueLength": the
 * [Link] keys, as Plan() and the Group object name attributes. */
const char *gd_conflict_attr_name(GdConflictAttr attr);

typedef struct {
    int ifindex;
    char link[IFNAMSIZ];
    uint32_t group; /* the policy's group */
    GdConflictAttr attr;
    char *ours;   /* groupd's value, as text ("1400", "up", "100", "10.0.0.1/24") */
    char *theirs; /* the other manager's ("1500"; addresses: its list, or "none") */
    GdPeerKind manager;
    char *source;     /* NetworkManager's connection id, networkd's .network file */
    gboolean yield;   /* the policy yields (OtherManagers=yield) */
    gboolean differs; /* the link does not show groupd's value now */
    guint repairs;    /* filled in by the engine: times groupd put its value back */
} GdConflict;

void gd_conflict_free(GdConflict *conflict);
/* "ifindex/attribute/ours": the key under which a conflict is logged once
 * and its repairs are counted. */
char *gd_conflict_key(const GdConflict *conflict);

/* The conflicts of one link (link: its current state) with the policy of
 * group, whose desired [Link] (overrides merged) and addresses are given,
 * appended to out (GdConflict *). peer: what its manager applies; NULL or
 * a manager that applies no profile gives none. Returns the attributes in
 * conflict (GD_CONFLICT_BIT). */
guint32 gd_conflicts_of_link(const GdLink *link, uint32_t group, const GdNlLinkChange *desired,
                             const GArray *addresses, gboolean yield, const GdPeerLink *peer,
                             GPtrArray *out);

/* Before planning: for each of the n links of facts, who else manages it
 * (lookup; NULL: nobody is known) into match.managed_by, then its
 * conflicts with the policy that applies to it — its first match, else
 * the policy of the group it is in — with overrides (group id → the
 * GdNlLinkChange a SetGroup merged in, may be NULL), and the attributes
 * that policy yields into yields. Returns the conflicts (GdConflict *),
 * ascending by ifindex, then attribute. */
GPtrArray *gd_conflicts_prepare(const GdConfig *config, GHashTable *overrides,
                                GdPlanLinkFacts *facts, guint n, GdPeerLookupFunc lookup,
                                gpointer lookup_data);

/* The conflicts of group (in out's order) as a JSON array:
 *   [{"link":"wlan0","attribute":"MTU","groupd":"1400","other":"1500",
 *     "manager":"NetworkManager","source":"Home","action":"enforce",
 *     "repairs":2}]
 * Names in their shown form (text/text.h). */
void gd_conflicts_to_json(JsonBuilder *b, const GPtrArray *conflicts, uint32_t group);

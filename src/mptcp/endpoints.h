/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/endpoints: the endpoints the mode wants for the groups' members,
 * and what to ask of the kernel to get there from the endpoints it has:
 * deletes first (the kernel re-injects the data stranded on their subflows
 * at once), then flag changes, then adds. Which endpoints are groupd's
 * (adopted, or new after an add). Pure: the manager sends the requests.
 * May call: mptcp/active, mptcp/health, mptcp/pm (types), config (types).
 */
#pragma once

#include "mptcp/active.h"

/* One endpoint the mode wants, for a member of group. */
typedef struct {
    GdMptcpEndpoint ep;
    uint32_t group;
} GdMpWant;

/* GdMpWant in order of need: the active group's first (when more than the
 * kernel keeps are wanted, it is the one that must have its endpoints),
 * then the others in preference order, Role=always groups, probes of
 * stalled groups. managed: groupd owns the endpoints (else none). */
GArray *gd_mp_endpoints_desired(const GdMpState *st, gboolean managed, gint64 now);

/* A want left out because another member has its address: the kernel
 * keeps one endpoint per address (whatever the device). */
typedef struct {
    GdMpWant want;
    char *text; /* names both members and their groups */
} GdMpShared;

/* Removes from wants (in order of need) every want whose address an
 * earlier one has; returns them (GdMpShared, caller's, freeing the texts). */
GArray *gd_mp_endpoints_drop_shared(const GdMpState *st, GArray *wants);

/* Same address and device: the same endpoint for groupd. */
gboolean gd_mp_endpoints_same(const GdMptcpEndpoint *a, const GdMptcpEndpoint *b);

/* Owner=groupd taking over a namespace where groupd owns nothing yet and
 * no endpoint is what it wants (backup aside, which the mode switches in
 * place): one FLUSH_ADDRS instead of a delete per endpoint. Never once
 * groupd has endpoints of its own: a flush would close the subflows that
 * carry the traffic. */
gboolean gd_mp_endpoints_flush_first(const GArray *have, const GArray *wants, guint n_owned,
                                     gboolean manage_all);

typedef enum {
    GD_MP_ENDPOINT_DELETE,    /* ep */
    GD_MP_ENDPOINT_REPLACE,   /* delete old, then add ep: flags other than backup differ */
    GD_MP_ENDPOINT_SET_FLAGS, /* ep: old with the wanted backup flag */
    GD_MP_ENDPOINT_ADD,       /* ep */
    GD_MP_ENDPOINT_BLOCKED,   /* ep cannot be added: old has its address and is not groupd's */
} GdMpEndpointOp;

typedef struct {
    GdMpEndpointOp op;
    GdMptcpEndpoint ep;
    GdMptcpEndpoint old; /* REPLACE: the endpoint it replaces */
} GdMpEndpointAction;

/* The requests that bring have (the kernel's GdMptcpEndpoint) to the
 * first GD_MPTCP_MAX_LIMIT of wants, in order. Only endpoints in owned
 * (ids) are deleted, or every one with manage_all (Owner=groupd). */
GArray *gd_mp_endpoints_diff(const GArray *have, const GArray *wants, GHashTable *owned,
                             gboolean manage_all);

/* The group whose member has ep's address (on ep's device when it has
 * one); FALSE when none. */
gboolean gd_mp_endpoints_group_of(const GdMpState *st, const GdMptcpEndpoint *ep, uint32_t *group);

/* An endpoint someone made that is exactly what groupd would make for a
 * member (its address, bound to that member, the group's flags but for
 * backup, which the mode decides) can be taken as groupd's own. Returns the
 * indexes in have (guint) of the ones not yet in owned, with their group
 * (uint32_t) in groups. */
GArray *gd_mp_endpoints_adoptable(const GdMpState *st, const GArray *have, GHashTable *owned,
                                  GArray *groups);

/* After adds: the kernel chose the ids, so the endpoints of have that are
 * wanted and whose ids were not in before are groupd's; added to owned. */
void gd_mp_endpoints_claim_new(const GArray *have, const GArray *wants, GHashTable *before,
                               GHashTable *owned);

/* The state file's text: the endpoints of have that are in owned, "id
 * address ifindex" per line, so that a restarted groupd knows them from
 * endpoints others made. */
char *gd_mp_endpoints_owned_text(const GArray *have, GHashTable *owned);
/* Adds to owned the endpoints of have that text names (same id, address
 * and device). */
void gd_mp_endpoints_owned_parse(const char *text, const GArray *have, GHashTable *owned);

/* One endpoint as the bus shows it. */
typedef struct {
    GdMptcpEndpoint ep;
    gboolean owned;        /* groupd's */
    uint32_t group;        /* when owned */
    char ifname[IFNAMSIZ]; /* "" when not bound to a device */
} GdMptcpEndpointInfo;

/* have (GdMptcpEndpoint) as GdMptcpEndpointInfo: an endpoint in owned is
 * shown as groupd's when a group's member has its address. ifname is left
 * empty for the caller. */
GArray *gd_mp_endpoints_info(const GdMpState *st, const GArray *have, GHashTable *owned);

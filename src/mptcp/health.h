/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/health: whether each [MPTCP] group can carry traffic, and when a
 * group that recovered may carry it again (hold-down, doubled by flap
 * dampening), including the probing of a group whose path failed silently.
 * Pure: plain structs in, plain structs out, the time is an argument
 * (monotonic µs). The manager fills the members from the cache and logs
 * what these functions report.
 * May call: netlink (types), config (types), GLib.
 */
#pragma once

#include "config/config.h"
#include "mptcp/stall.h"
#include "netlink/nl.h"

#include <glib.h>

/* A stalled group's probe subflow must come up within this time. */
#define GD_MP_HEALTH_PROBE_TIMEOUT_MSEC 3000

/* One member link, copied from the cache when the manager decides. */
typedef struct {
    GdNlLink nl;
    GArray *addrs;       /* GdNlAddr */
    gboolean route_lost; /* it had a default route since start and has none now */
} GdMpMember;

/* One group with an [MPTCP] section: its configuration and its health. */
typedef struct {
    uint32_t id;
    char *name;         /* Name=, else NULL: messages then show the number */
    uint32_t flags;     /* Endpoint= */
    char *link_class;   /* Class= */
    gboolean always;    /* Role=always */
    GPtrArray *members; /* GdMpMember*, in ifindex order */
    char link_type[32]; /* the first member's type (policy/facts), "" without members */

    gboolean healthy;
    char *reason;          /* why down, or "" */
    gint64 healthy_since;  /* µs */
    gint64 eligible_at;    /* healthy and past its hold-down from then on */
    GArray *failures;      /* gint64 µs, within the flap window */
    gboolean stalled;      /* silent failure seen; cleared by a new subflow or an echo */
    gint64 stall_probe_at; /* when to try its endpoints again (or, watched by echoes,
                            * when a stall with no connection left is dropped) */
    int stall_ifindex;     /* the member whose path died */
    gboolean stall_echo;   /* its heal is watched by echoes over stall_path */
    GdMpPathProbe stall_path;
    char *stall_reason;
    char *hold_text; /* the Health reason while held down */
} GdMpGroup;

GdMpGroup *gd_mp_health_group_new(uint32_t id);
void gd_mp_health_group_free(GdMpGroup *group);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdMpGroup, gd_mp_health_group_free)
/* A member copied from a cache link (addrs copied). */
GdMpMember *gd_mp_health_member_new(const GdNlLink *nl, const GArray *addrs, gboolean route_lost);
void gd_mp_health_member_free(gpointer member);
/* Name=, else the number written into buf. */
const char *gd_mp_health_label(const GdMpGroup *group, char *buf, size_t len);

/* An address an endpoint can use: IPv4 not host/link scope; IPv6 global,
 * not tentative, deprecated or failed DAD. */
gboolean gd_mp_health_addr_usable(const GdNlAddr *addr);
/* Why one member cannot carry traffic, or NULL when it can. */
char *gd_mp_health_member_problem(const GdMpMember *member);

/* The hold-down a recovery waits at now: the configured one, doubled for
 * each failure past FlapThreshold within FlapWindowSec, at most
 * HoldDownMaxSec. Forgets the failures older than the window. */
gint64 gd_mp_health_hold_down(GdMpGroup *group, const GdMptcpConfig *cfg, gint64 now);

typedef enum {
    GD_MP_HEALTH_SAME,     /* nothing changed */
    GD_MP_HEALTH_UP,       /* became healthy (held down when eligible_at > now) */
    GD_MP_HEALTH_DOWN,     /* was healthy, is not: a failure was recorded */
    GD_MP_HEALTH_REJUDGED, /* still not healthy, for another reason */
} GdMpHealthChange;

/* Judges the group from its members and its stall at now. */
GdMpHealthChange gd_mp_health_judge(GdMpGroup *group, const GdMptcpConfig *cfg, gint64 now);

/* ---- silent failures: a stall, its probes ---- */

typedef enum {
    GD_MP_STALL_NONE,
    GD_MP_STALL_OVER,         /* probe due and no connection to probe with: stall dropped */
    GD_MP_STALL_PROBE_FAILED, /* the probe's subflow did not come up in time */
} GdMpStallTick;

/* The path of member ifindex died silently: the group is down until it
 * works again. path (an address that answered echoes over the member
 * before): echoes over it tell when (gd_mp_health_path_alive()); NULL: a
 * subflow that comes up on the group tells, probed with backup endpoints
 * once its hold-down passed. Should the member then fail visibly (down, no
 * carrier, no address…), that failure takes over: the stall is dropped and
 * the member's recovery ends it. FALSE: it already was stalled. */
gboolean gd_mp_health_stall(GdMpGroup *group, const GdMptcpConfig *cfg, const char *reason,
                            int ifindex, const GdMpPathProbe *path, gint64 now);
/* Time passing over a stalled group (before judging it). */
GdMpStallTick gd_mp_health_stall_tick(GdMpGroup *group, const GdMptcpConfig *cfg,
                                      gboolean has_connections, gint64 now);
/* TRUE when its probe endpoints are out (stalled without an echo path,
 * probe time reached). */
gboolean gd_mp_health_probing(const GdMpGroup *group, gint64 now);
/* The path to probe with echoes, or NULL. */
const GdMpPathProbe *gd_mp_health_echo_path(const GdMpGroup *group);
/* An echo over ifindex came back: the stall is over (TRUE), if it was one
 * watched over that link. */
gboolean gd_mp_health_path_alive(GdMpGroup *group, int ifindex);
/* The probe failed: a failure is recorded and the next probe waits the
 * hold-down from now; returns that wait in µs. */
gint64 gd_mp_health_probe_failed(GdMpGroup *group, const GdMptcpConfig *cfg, gint64 now);
/* A subflow came up on the group: its path works. FALSE: it was not stalled. */
gboolean gd_mp_health_subflow_up(GdMpGroup *group);

/* The group is left by force (Failover()): held down as if it had failed. */
void gd_mp_health_hold_after_leaving(GdMpGroup *group, const GdMptcpConfig *cfg, gint64 now);

/* The next moment the group's state changes by time alone (hold-down end,
 * probe, probe timeout), or G_MAXINT64. */
gint64 gd_mp_health_next_change(const GdMpGroup *group, gint64 now);

/* The group's Health entry: "down", "active", "hold-down" or "standby";
 * *reason points into group (valid until the next call). */
const char *gd_mp_health_state(GdMpGroup *group, gboolean active, gint64 now, const char **reason);

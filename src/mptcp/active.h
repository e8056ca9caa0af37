/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/active: which [MPTCP] group carries the traffic. The preference
 * order (explicit, else by link class), the choice of the active group
 * with hold-down (a recovered group waits; it never leaves us without a
 * path), power-save's make-before-break, SetPreference() and Failover().
 * Pure: the manager applies the choice (logs, counts, callbacks).
 * May call: mptcp/health, mptcp/connections (types), config (types), GLib.
 */
#pragma once

#include "mptcp/connections.h"
#include "mptcp/health.h"

/* power-save: the group left after a switch keeps its endpoints at most
 * this long, waiting for the new group's subflows. */
#define GD_MP_ACTIVE_SWITCH_SETTLE_MAX_MSEC 3000

/* What the selection decides over; the manager owns it. */
typedef struct {
    GdMptcpMode mode;
    GHashTable *groups; /* id → GdMpGroup* */
    GArray *preference; /* uint32_t: the explicit order, or NULL: derived */
    gboolean has_active;
    uint32_t active;
    gboolean has_leaving; /* power-save: the group being left after a switch */
    uint32_t leaving;
    gint64 leaving_deadline;
} GdMpState;

GdMpGroup *gd_mp_active_group(const GdMpState *st, uint32_t id);

/* Walks the members of every group:
 *   GdMpMemberIter it;
 *   gd_mp_active_iter_members(&it, st);
 *   while (gd_mp_active_next_member(&it, &group, &member)) … */
typedef struct {
    GHashTableIter groups;
    const GdMpGroup *group;
    guint next;
} GdMpMemberIter;
void gd_mp_active_iter_members(GdMpMemberIter *it, const GdMpState *st);
gboolean gd_mp_active_next_member(GdMpMemberIter *it, const GdMpGroup **group,
                                  const GdMpMember **member);

/* ether 0, wlan 1, wwan 2, unknown 3: the group's link type, else Class=. */
int gd_mp_active_class_rank(const GdMpGroup *group);
/* The failover order (uint32_t ids, caller's): the explicit order's groups
 * that exist and are not Role=always, else those groups by class rank,
 * then id. */
GArray *gd_mp_active_preference(const GdMpState *st);

typedef struct {
    gboolean change; /* FALSE: keep what is active */
    gboolean has;
    uint32_t id;
    char *reason;
} GdMpChoice;
void gd_mp_active_choice_clear(GdMpChoice *choice);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(GdMpChoice, gd_mp_active_choice_clear)

/* The group that should be active at now. managed: groupd owns the
 * endpoints. trigger: why this runs, for a reason nothing else explains. */
void gd_mp_active_choose(const GdMpState *st, const GdMptcpConfig *cfg, gboolean managed,
                         gint64 now, const char *trigger, GdMpChoice *out);

/* Makes id active (has FALSE: none). Returns FALSE when it already is. A
 * power-save switch away from a healthy group keeps that group as the one
 * being left until GD_MP_ACTIVE_SWITCH_SETTLE_MAX_MSEC after now. */
gboolean gd_mp_active_set(GdMpState *st, gboolean has, uint32_t id, gint64 now);

/* power-save: TRUE when the group being left may go: every connection has
 * a subflow on a member of the active group, or the deadline passed. */
gboolean gd_mp_active_leaving_done(const GdMpState *st, GHashTable *connections, gint64 now);

/* SetPreference(): every group must be a Role=failover [MPTCP] group,
 * each given once (-EINVAL); replaces the order. */
int gd_mp_active_set_preference(GdMpState *st, const uint32_t *groups, guint n);
/* After SetPreference(): the group that now comes before the active one
 * and may carry traffic, or NULL. */
GdMpGroup *gd_mp_active_preferred(const GdMpState *st, gint64 now);

/* Failover(): the group to move to (to, or the next healthy one when
 * has_to is FALSE); the group left is held down as after a failure.
 * available: groupd manages the endpoints. -ENOENT: no such group;
 * -EHOSTUNREACH: nowhere to go (mode, owner, health). */
int gd_mp_active_failover(GdMpState *st, const GdMptcpConfig *cfg, gboolean available,
                          gboolean has_to, uint32_t to, gint64 now, uint32_t *target);

/* A new configuration: its mode, its preference (explicit or none) and
 * its [MPTCP] groups. Groups that stay keep their health; new ones start
 * unjudged. The active group is left as it is (it may be gone). */
void gd_mp_active_configure(GdMpState *st, const GdConfig *config);

/* One group's entry in the Health property. */
typedef struct {
    uint32_t group;
    const char *state; /* "active", "standby", "down", "hold-down" */
    const char *reason;
} GdMptcpHealth;

/* GdMptcpHealth of every group: preference order, then Role=always ones.
 * The strings point into the groups (valid until the next call). */
GArray *gd_mp_active_health(const GdMpState *st, gint64 now);

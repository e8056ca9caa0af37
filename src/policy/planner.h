/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * policy/planner: the pure planner. Policies (config) + a snapshot of links
 * (cache entries and their sysfs facts) + runtime overrides → a plan: per
 * policy group, the links to move into it, the one group-scoped change and
 * the addresses to add. No sockets, no sysfs, no bus, no clock: everything
 * it needs is passed in, and the plan copies what it keeps (it holds no
 * pointer into the cache or the config).
 *
 * Rules:
 *   - A link belongs to the first policy (config order) whose [Match] it
 *     matches. A link matching no policy is never moved (not back to group
 *     0 either) and never gets an address from groupd.
 *   - The members a group WILL have after the moves are: the links whose
 *     first match is its policy, plus the links already in the kernel group
 *     that match no policy (placed there by hand). The group message reaches
 *     every member of the kernel group, so those are part of the change and
 *     of its validation; for the same reason (one group, one desired state)
 *     they are also given the policy's addresses and counted in Drifted.
 *     A link in the group whose first match is another policy is moved out
 *     and is not a future member.
 *   - The group-scoped change carries only the desired attributes that at
 *     least one future member does not have yet; none at all when every
 *     member already matches. The kernel applies it to every member anyway
 *     (re-applying a value a member already has is harmless).
 *   - Addresses a policy names are desired; addresses it does not name are
 *     left alone (the planner never removes an address).
 *   - Group= in [Match] is the link's group before the move: a rule like
 *     "Group=0 Name=eth*" moves eth0 once, after which it matches nothing
 *     and stays where it is.
 *
 * Hot-plug: the engine plans the links that appeared alone (a snapshot
 * of just them): their moves, the attributes they lack (a group change
 * whose members are only they, which the runner sends per link) and their
 * addresses. The other members and their drift are left to the whole
 * plan.
 */
#pragma once

#include "cache/cache.h"
#include "config/config.h"
#include "netlink/nl.h"
#include "policy/ops.h"

#include <glib.h>

/* One link of the snapshot: its cache entry and what [Match] sees of it.
 * match must describe link (gd_plan_match_input() fills the fields that
 * come from the cache entry); type and driver come from sysfs. */
typedef struct {
    const GdLink *link;
    GdMatchInput match;
    /* Attributes another manager sets otherwise and the link's policy
     * yields to it (GD_CONFLICT_BIT of policy/conflicts.h): a link with any
     * is not moved into the group; a member's are left out of the group
     * message, and Address means no policy address is added to it. */
    guint32 yields;
} GdPlanLinkFacts;

/* Fills match from link (name, kind, hardware address, group) and the given
 * sysfs facts (may be NULL). match points into link and type/driver. */
void gd_plan_match_input(const GdLink *link, const char *type, const char *driver,
                         GdMatchInput *match);

/* A link to move into a group. */
typedef struct {
    int ifindex;
    char name[IFNAMSIZ];
    uint32_t from; /* its kernel group now */
} GdPlanMove;

/* One policy address and the future members lacking it. */
typedef struct {
    GdNlAddr addr;    /* ifindex 0 */
    GArray *targets;  /* int ifindexes, ascending; never empty */
    GPtrArray *names; /* char *, the targets' names, same order */
} GdPlanAddrAdd;

typedef struct {
    uint32_t id;
    char *name;             /* the policy's name, or NULL */
    GdNlLinkChange desired; /* [Link] with the runtime override merged over it */
    gboolean overridden;    /* a runtime override applied */
    GArray *moves;          /* GdPlanMove, ascending ifindex */
    /* The future members as they are now (group: their current one),
     * ascending ifindex. */
    GArray *members; /* GdNlLink */
    /* What the group message carries: the desired attributes some future
     * member lacks. Nothing set: no group message. */
    GdNlLinkChange change;
    GPtrArray *addr_adds; /* GdPlanAddrAdd *, policy address order */
    guint n_current;      /* kernel members now */
    /* Kernel members now that do not show desired or lack a policy
     * address (what Group.Drifted reports). */
    guint drifted;
    /* gd_op_validate_change() of change over the future members: the
     * kernel would stop the group message half-way. Empty without change.
     * The caller decides (the planner still lists the change). */
    GPtrArray *problems; /* char * */
} GdPlanGroup;

typedef struct {
    GPtrArray *groups; /* GdPlanGroup *, one per policy, config order */
    /* GdConflict * (policy/conflicts.h), set by the caller for the JSON:
     * each group lists its own; NULL: none. */
    GPtrArray *conflicts;
} GdPlan;

void gd_plan_free(GdPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdPlan, gd_plan_free)

/* Plans config over the n links of facts (any order). overrides (may be
 * NULL): group id (GUINT_TO_POINTER, g_direct_hash) → GdNlLinkChange *,
 * the runtime state a SetGroup gave a policy group; its set fields replace
 * the policy's [Link] ones until the next reload. Overrides of groups
 * without a policy are ignored. Returns 0 with *out set, or -EINVAL when a
 * link is NULL or two facts have the same ifindex. */
int gd_plan_build(const GdConfig *config, const GdPlanLinkFacts *facts, guint n,
                  GHashTable *overrides, GdPlan **out);

/* The plan's group id, or NULL when no policy has it. */
const GdPlanGroup *gd_plan_group(const GdPlan *plan, uint32_t id);
/* TRUE when the plan has no operation (problems alone do not count: they
 * exist only with a change). */
gboolean gd_plan_is_empty(const GdPlan *plan);
/* Whether change sets any attribute. */
gboolean gd_plan_change_is_empty(const GdNlLinkChange *change);

/* The operations, in the order to run them (GdOp *, owned by the array):
 *   1. per group (config order) one GD_OP_SET_LINK_GROUP of its moves;
 *   2. per group one GD_OP_GROUP_CHANGE (targets: the future members, for
 *      reporting; the kernel message names only the group);
 *   3. per group and policy address some future member lacks, one
 *      GD_OP_ADDR_ADD (never a GD_OP_ADDR_DEL).
 * Targets ascend by ifindex. A group change whose group has problems is
 * included: the caller refuses it (gd_plan_group(plan, op->group)). */
GPtrArray *gd_plan_to_ops(const GdPlan *plan);

/* The plan as JSON (UTF-8; names and other outside text in their shown
 * form, text/text.h, as on the bus):
 *   {"groups":[{"id":100,"name":"ppp","members":3,"drifted":1,
 *     "override":false,"desired":{"MTU":1400,"State":"up"},
 *     "moves":[{"link":"ppp2","from":0}],
 *     "change":{"MTU":{"to":1400,"from":[{"value":1500,"links":["ppp2"]}]}},
 *     "addresses":[{"address":"10.0.0.1/24","links":["ppp2"]}],
 *     "problems":[],"conflicts":[…]}]}
 * "name" is null for a policy without one, "change" null without a change.
 * Attributes use the [Link] and SetGroup keys: "MTU", "TxQueueLength"
 * (numbers), "State" ("up"/"down"), "MACAddress" ("aa:bb:…", null for
 * a member without one). "from"
 * groups the future members that differ by their current value, in order
 * of first appearance; "members" counts the future members. "conflicts":
 * plan->conflicts of the group (gd_conflicts_to_json()). */
char *gd_plan_to_json(const GdPlan *plan);

/* Chooses the kernel path of one of the plan's operations (the runner's
 * gd_runner_choose()). */
typedef void (*GdPlanPathFunc)(const GdOp *op, GdKpathChoice *choice, gpointer user_data);
/* gd_plan_to_json() with, per group, how its operations would reach the
 * kernel now ("kernel"; null members for operations the plan has not):
 *   "kernel":{"moves":{"path":"per-link","messages":2,"chunk":1024,
 *     "expected_ms":0.1,"hold_ms":0.1,"group_ms":null,"per_link_ms":0.1,
 *     "reason":"no group message does only this"},
 *    "change":{"path":"group",…},"addresses":[{…},…]}
 * "path" is "group" (one group-scoped message: one RTNL hold for all) or
 * "per-link" (one message per link, "chunk" per sendmsg()); "messages" the
 * rtnetlink requests it sends; "expected_ms" its expected kernel time;
 * "hold_ms" the longest RTNL hold expected; "group_ms" and "per_link_ms"
 * what each path is expected to cost (group_ms null where no group message
 * can do it); "reason" why. */
char *gd_plan_to_json_with_paths(const GdPlan *plan, GdPlanPathFunc choose, gpointer user_data);

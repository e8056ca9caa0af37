/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * policy/runner: the one owner of a group operation's life, whoever asked
 * for it (a D-Bus call, a policy apply, a drift repair). It holds the cache
 * (so the operation's burst of events becomes one publication), submits the
 * operation to the executor, reads the events the kernel queued and records
 * the moves it acknowledged, reads back what a refusal or a lost answer
 * left, classifies the outcome, and hands the caller one GdOpResult. The
 * caller only decides what to make of it: the bus formats a reply, the
 * engine backs off. May call: cache, netlink, the executor (ops.h), the
 * cost model (kpath.h).
 *
 * The runner also chooses each operation's kernel path (kpath.h), right
 * before it goes to the kernel, from what the cache shows then: one group
 * message, or per-link messages in chunks. Both give the same result: a
 * group change on the per-link path stops at the first member in the
 * kernel's order (ascending ifindex) that refuses, as the group message
 * stops there. The executor sends the members in an order of its own
 * within windows of the kernel's order (the one the kernel finds their
 * devices fastest in), so it sends every member before the refusing one,
 * no more after it, and takes back what the kernel did to those after it
 * that it had sent (their earlier values sent again): the members before
 * it keep the change and the others do not. Members
 * that show the change already get no message (an MTU, state or queue
 * length at its value is a no-op that cannot fail); for a MAC change every
 * member gets one, since a member that cannot change its address refuses
 * whatever it is. The measured kernel times calibrate the cost model.
 */
#pragma once

#include "policy/ops.h"

#include <glib.h>

typedef struct GdRunner GdRunner;

typedef enum {
    GD_OP_APPLIED, /* every target has the change */
    GD_OP_PARTIAL, /* some targets have it, some do not */
    GD_OP_REFUSED, /* no target has it */
} GdOpOutcome;

/* What became of one operation. The one rule for a lost answer (the
 * request socket overran, or no answer came in time): the target is read
 * back, and counts as applied when it shows the change, as refused when not.
 * Nothing is undone either way. */
typedef struct {
    GdOp *op; /* as the executor left it: acks, times */
    GdOpOutcome outcome;
    /* Targets that were sent and now show the change. A group change's
     * members that showed it before are in neither list. */
    guint applied;
    /* Of those, how many because the read-back showed it (lost answers). */
    guint lost;
    /* Names of the targets that changed (only filled when not every target
     * did: for the message of a partial change). */
    GPtrArray *applied_names;
    /* Targets that did not change: "name: reason" for per-link operations,
     * the name for a group change. */
    GPtrArray *refused;
    /* The first refusal: a negative errno and the kernel's text (or NULL). */
    int error;
    const char *extack;
    /* A group change refused part-way: the member the kernel stopped at
     * (the one its message names on validating kernels, else the first
     * unchanged member), or NULL. */
    const char *stopped_at;
    /* Address adds the kernel acknowledged that the links do not show. */
    guint silent;
    /* Targets that were deleted before the kernel reached them: neither
     * applied nor refused. */
    guint gone;
    GdKpath path; /* the kernel path taken (GD_KPATH_AUTO: never sent) */

    /* private */
    GdRunner *runner;
    gboolean held;
    char *stopped_at_owned;
} GdOpResult;

/* Called on the main loop with the outcome. The cache is still held by the
 * operation: it is released (reading what is queued and publishing) when
 * this returns, unless gd_op_result_release() or gd_op_result_take_hold()
 * was called. result and result->op are the runner's. */
typedef void (*GdOpResultFunc)(GdOpResult *result, gpointer user_data);

GdRunner *gd_runner_new(GdCache *cache, GdExecutor *executor);
void gd_runner_free(GdRunner *runner);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdRunner, gd_runner_free)

/* Runs op (taking it); done gets the result. Operations run one at a time,
 * in order. */
void gd_runner_submit(GdRunner *runner, GdOp *op, GdOpResultFunc done, gpointer user_data);

/* Operations queued or running. */
guint gd_runner_pending(GdRunner *runner);

/* Every operation takes this path where it can (tests, working around a
 * kernel); GD_KPATH_AUTO (the default) lets the cost model choose. */
void gd_runner_force_path(GdRunner *runner, GdKpath path);
/* The cost model keeps its default costs: measured operations are not
 * folded in (tests that need the choice not to depend on the machine's
 * load). What it counts towards measuring a group message again still
 * counts. */
void gd_runner_keep_default_costs(GdRunner *runner, gboolean keep);
/* The path op would take now, and why (for the plan): a group change is
 * taken to be for its targets, the members after the plan's moves. */
void gd_runner_choose(GdRunner *runner, const GdOp *op, GdKpathChoice *choice);
/* Operations sent by each path, indexed by GdKpath (AUTO: none). */
void gd_runner_path_counts(GdRunner *runner, guint64 counts[GD_KPATH_N]);
/* The cost model as calibrated so far. */
const GdKpathModel *gd_runner_model(GdRunner *runner);
GdExecutor *gd_runner_executor(GdRunner *runner);

/* Releases the operation's hold on the cache now: what the kernel queued is
 * read and published before the caller goes on (e.g. before a reply, so
 * that group objects a move created exist when the caller asks). */
void gd_op_result_release(GdOpResult *result);
/* The caller takes the hold over and releases the cache itself later
 * (gd_cache_release()), e.g. to publish shortly after a reply. */
void gd_op_result_take_hold(GdOpResult *result);

/* One line for logs and LastError: "membership change refused on 2 of 64
 * links: a: Operation not supported, b: …" (at most `limit` names). */
char *gd_op_result_describe(const GdOpResult *result, guint limit);

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * policy/runner: the one owner of a group operation's life, whoever asked
 * for it (a D-Bus call, a policy apply, a drift repair). It holds the cache
 * (so the operation's burst of events becomes one publication), submits the
 * operation to the executor, reads the events the kernel queued and records
 * the moves it acknowledged, reads back what a refusal or a lost answer
 * left, classifies the outcome, and hands the caller one GdOpResult. The
 * caller only decides what to make of it: the bus formats a reply, the
 * engine backs off. May call: cache, netlink, the executor (ops.h).
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
    /* One group-scoped message refused as a whole: nothing changed, and
     * the kernel's text names the member. */
    gboolean whole_group;
    /* Address adds the kernel acknowledged that the links do not show. */
    guint silent;

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

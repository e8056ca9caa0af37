/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The life of a group operation: hold, submit, events, moves, outcome,
 * release (runner.h). */
#include "runner.h"
#include "log/log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

struct GdRunner {
    GdCache *cache;
    GdExecutor *executor;
};

/* One submitted operation. */
typedef struct {
    GdRunner *runner;
    GdOpResultFunc done;
    gpointer user_data;
    /* Per-link operations: the targets' names when sent (the cache's
     * entries may change while the kernel works). */
    GPtrArray *names;
    /* Group change: the targets that showed the change before it ran. */
    GHashTable *already;
} Run;

static void run_free(Run *run)
{
    g_clear_pointer(&run->names, g_ptr_array_unref);
    g_clear_pointer(&run->already, g_hash_table_unref);
    g_free(run);
}

GdRunner *gd_runner_new(GdCache *cache, GdExecutor *executor)
{
    GdRunner *runner = g_new0(GdRunner, 1);
    runner->cache = cache;
    runner->executor = executor;
    return runner;
}

void gd_runner_free(GdRunner *runner)
{
    g_free(runner);
}

guint gd_runner_pending(GdRunner *runner)
{
    return runner->executor ? gd_executor_pending(runner->executor) : 0;
}

GdExecutor *gd_runner_executor(GdRunner *runner)
{
    return runner->executor;
}

void gd_op_result_release(GdOpResult *result)
{
    if (!result->held)
        return;
    result->held = FALSE;
    gd_cache_release(result->runner->cache);
}

void gd_op_result_take_hold(GdOpResult *result)
{
    result->held = FALSE;
}

static gboolean answer_lost(int error)
{
    return error == -ENOBUFS || error == -ETIMEDOUT;
}

/* Whether target i of a per-link operation reads back as done. */
static gboolean shows_change(GdCache *cache, const GdOp *op, guint i)
{
    GdLink *link = gd_cache_link_by_index(cache, g_array_index(op->targets, int, i));
    if (!link)
        return FALSE;
    switch (op->kind) {
    case GD_OP_SET_LINK_GROUP:
        return link->nl.group == op->group;
    case GD_OP_ADDR_ADD:
    case GD_OP_ADDR_DEL: {
        GdNlAddr want = op->addrs ? g_array_index(op->addrs, GdNlAddr, i) : op->addr;
        gboolean has = gd_link_has_addr(link, &want);
        return op->kind == GD_OP_ADDR_ADD ? has : !has;
    }
    case GD_OP_GROUP_CHANGE:
        return gd_link_matches_change(link, &op->change);
    }
    return FALSE;
}

/* Validating kernels start the message of a refused group change with the
 * member's name ("veth3: mtu greater than device maximum"). */
static char *kernel_named_member(GdCache *cache, const GdOp *op)
{
    if (!(gd_cache_kernel_features(cache) & GD_KF_VALIDATE) || !op->extack)
        return NULL;
    const char *colon = strstr(op->extack, ": ");
    if (!colon || colon == op->extack || colon - op->extack >= IFNAMSIZ)
        return NULL;
    g_autofree char *name = g_strndup(op->extack, colon - op->extack);
    GdLink *link = gd_cache_link_by_name(cache, name);
    return link && link->nl.group == op->group ? g_steal_pointer(&name) : NULL;
}

static void set_outcome(GdOpResult *result, guint sent)
{
    if (result->applied == sent)
        result->outcome = GD_OP_APPLIED;
    else if (result->applied == 0)
        result->outcome = GD_OP_REFUSED;
    else
        result->outcome = GD_OP_PARTIAL;
}

/* One group-scoped RTM_NEWLINK. The kernel changes member after member and
 * stops at the first that refuses, keeping what it changed: after an error
 * the members are read again and each is told apart. */
static void classify_group_change(Run *run, GdOpResult *result)
{
    GdCache *cache = run->runner->cache;
    GdOp *op = result->op;
    guint sent = op->targets->len - g_hash_table_size(run->already);

    if (op->error == 0) {
        result->applied = sent;
        set_outcome(result, sent);
        return;
    }
    gd_cache_process_events(cache);
    gd_cache_refresh_group(cache, op->group, (const int *)(void *)op->targets->data,
                           op->targets->len);
    sent = 0;
    for (guint i = 0; i < op->targets->len; i++) {
        int ifindex = g_array_index(op->targets, int, i);
        GdLink *link = gd_cache_link_by_index(cache, ifindex);
        if (!link || g_hash_table_contains(run->already, GINT_TO_POINTER(ifindex)))
            continue;
        sent++;
        if (gd_link_matches_change(link, &op->change)) {
            result->applied++;
            g_ptr_array_add(result->applied_names, g_strdup(link->nl.name));
        } else {
            g_ptr_array_add(result->refused, g_strdup(link->nl.name));
        }
    }
    set_outcome(result, sent);
    if (answer_lost(op->error) && result->outcome == GD_OP_APPLIED) {
        result->lost = result->applied;
        return;
    }
    if (result->outcome == GD_OP_APPLIED && sent > 0) {
        /* The kernel said no, yet every member shows the change (it was
         * there already, or came from elsewhere meanwhile): the refusal
         * stands, with nothing left unchanged to name. */
        result->outcome = GD_OP_PARTIAL;
    }
    result->error = op->error;
    result->extack = op->extack;
    result->stopped_at_owned = kernel_named_member(cache, op);
    result->stopped_at = result->stopped_at_owned ? result->stopped_at_owned
                         : result->refused->len   ? result->refused->pdata[0]
                                                  : NULL;
}

/* One message per target in one sendmsg(), or one group-scoped message
 * whose answer every target shares. */
static void classify_per_link(Run *run, GdOpResult *result)
{
    GdCache *cache = run->runner->cache;
    GdOp *op = result->op;
    guint n = op->targets->len;

    if (op->kind == GD_OP_SET_LINK_GROUP)
        gd_op_record_moves(op, cache);
    if (!op->acks) {
        /* Never reached the kernel (the socket failed, or the daemon is
         * stopping): every target shares the error. */
        result->error = op->error < 0 ? op->error : -EIO;
        for (guint i = 0; i < n; i++)
            g_ptr_array_add(result->refused, g_strdup_printf("%s: %s", (char *)run->names->pdata[i],
                                                             g_strerror(-result->error)));
        set_outcome(result, n);
        return;
    }
    if (op->group_scoped && n > 0 && op->acks[0].error < 0 && !answer_lost(op->acks[0].error)) {
        /* One answer for the group, all or nothing. */
        result->whole_group = TRUE;
        result->error = op->acks[0].error;
        result->extack = op->acks[0].extack;
        for (guint i = 0; i < n; i++)
            g_ptr_array_add(result->refused, g_strdup(run->names->pdata[i]));
        set_outcome(result, n);
        return;
    }
    for (guint i = 0; i < n; i++) {
        const GdNlAck *ack = &op->acks[i];
        const char *name = run->names->pdata[i];
        if (ack->error == 0 && op->kind == GD_OP_ADDR_ADD && !shows_change(cache, op, i)) {
            /* Acknowledged, yet not there (the cache has read the kernel's
             * events by now): reported, not counted as done. */
            result->silent++;
            g_ptr_array_add(result->refused,
                            g_strdup_printf("%s: acknowledged by the kernel, but not added", name));
            continue;
        }
        if (ack->error == 0 || (answer_lost(ack->error) && shows_change(cache, op, i))) {
            result->applied++;
            result->lost += ack->error != 0;
            g_ptr_array_add(result->applied_names, g_strdup(name));
            continue;
        }
        if (result->error == 0) {
            result->error = ack->error;
            result->extack = ack->extack;
        }
        g_ptr_array_add(result->refused,
                        g_strdup_printf("%s: %s%s%s", name, g_strerror(-ack->error),
                                        ack->extack ? ", " : "", ack->extack ? ack->extack : ""));
    }
    set_outcome(result, n);
    if (result->outcome != GD_OP_APPLIED && result->error == 0)
        result->error = -EIO; /* only silent adds: the kernel said yes */
}

static void op_done_cb(GdOp *op, gpointer user_data)
{
    Run *run = user_data;
    GdOpResult result = {
        .op = op,
        .runner = run->runner,
        .held = TRUE,
        .applied_names = g_ptr_array_new_with_free_func(g_free),
        .refused = g_ptr_array_new_with_free_func(g_free),
    };

    if (op->kind == GD_OP_GROUP_CHANGE) {
        /* Success needs no reading: the caller answers at the kernel's ack,
         * and the events are read when the hold is released. */
        classify_group_change(run, &result);
    } else {
        /* Lost answers and moves are judged from the cache: read what the
         * kernel queued first. */
        gd_cache_process_events(run->runner->cache);
        classify_per_link(run, &result);
    }
    if (result.lost)
        gd_log_group(G_LOG_LEVEL_WARNING, op->group,
                     "%s: the kernel's answers for %u links were lost; the links read back show "
                     "the change in place",
                     gd_op_kind_name(op->kind), result.lost);

    run->done(&result, run->user_data);

    gd_op_result_release(&result);
    g_ptr_array_unref(result.applied_names);
    g_ptr_array_unref(result.refused);
    g_free(result.stopped_at_owned);
    gd_op_free(op);
    run_free(run);
}

void gd_runner_submit(GdRunner *runner, GdOp *op, GdOpResultFunc done, gpointer user_data)
{
    Run *run = g_new0(Run, 1);
    run->runner = runner;
    run->done = done;
    run->user_data = user_data;
    if (op->kind == GD_OP_GROUP_CHANGE) {
        run->already = g_hash_table_new(NULL, NULL);
        for (guint i = 0; i < op->targets->len; i++) {
            int ifindex = g_array_index(op->targets, int, i);
            GdLink *link = gd_cache_link_by_index(runner->cache, ifindex);
            if (link && gd_link_matches_change(link, &op->change))
                g_hash_table_add(run->already, GINT_TO_POINTER(ifindex));
        }
    } else {
        run->names = g_ptr_array_new_full(op->targets->len, g_free);
        for (guint i = 0; i < op->targets->len; i++) {
            GdLink *link =
                gd_cache_link_by_index(runner->cache, g_array_index(op->targets, int, i));
            g_ptr_array_add(run->names, g_strdup(link ? link->nl.name : "(gone)"));
        }
    }
    gd_cache_hold(runner->cache);
    gd_executor_submit(runner->executor, op, op_done_cb, run);
}

char *gd_op_result_describe(const GdOpResult *result, guint limit)
{
    const GdOp *op = result->op;
    if (op->kind == GD_OP_GROUP_CHANGE || result->whole_group)
        return g_strdup_printf("%s refused: %s (errno %d)%s%s", gd_op_kind_name(op->kind),
                               g_strerror(-result->error), -result->error,
                               result->extack ? ": " : "", result->extack ? result->extack : "");
    g_autofree char *list = gd_format_names(result->refused, limit);
    return g_strdup_printf("%s refused on %u of %u links: %s", gd_op_kind_name(op->kind),
                           result->refused->len, op->targets->len, list);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Runs group operations against the kernel, one at a time, on a worker
 * thread: a group change on thousands of UP members holds the calling
 * thread inside sendmsg() for seconds, and the bus must keep answering. */
#include "ops.h"
#include "log/log.h"

#include <errno.h>
#include <gio/gio.h>

/* Acks of a 32k-link batch arrive in one burst. */
#define REQUEST_SOCKET_RCVBUF (64 * 1024 * 1024)
/* Counted from when sendmsg() returns: by then the kernel has run every
 * request and queued every ack. */
#define ACK_TIMEOUT_MS 10000

struct GdExecutor {
    GdExecutorBackend backend;
    gpointer backend_data;
    GdNlSocket *sock; /* the kernel backend's; used by one worker at a time */
    GQueue queue;     /* of Job */
    gboolean running;
    gboolean freed;   /* freed while a job ran: the job's end frees it */
    guint64 requests; /* rtnetlink requests sent */
    guint64 sends;    /* sendmsg() calls */
};

typedef struct {
    GdExecutor *executor;
    GdOp *op;
    GdOpDoneFunc done;
    gpointer user_data;
} Job;

static void run_in_kernel(GdOp *op, gpointer data);

GdExecutor *gd_executor_new_with_backend(const GdExecutorBackend *backend, gpointer data)
{
    GdExecutor *executor = g_new0(GdExecutor, 1);
    g_queue_init(&executor->queue);
    executor->backend = *backend;
    executor->backend_data = data;
    return executor;
}

int gd_executor_new(int rcvbuf, GdExecutor **out)
{
    static const GdExecutorBackend kernel = {.run = run_in_kernel, .threaded = TRUE};
    g_autoptr(GdExecutor) executor = gd_executor_new_with_backend(&kernel, NULL);
    int r =
        gd_nl_socket_open(NULL, 0, rcvbuf > 0 ? rcvbuf : REQUEST_SOCKET_RCVBUF, 0, &executor->sock);
    if (r < 0)
        return r;
    executor->backend_data = executor->sock;
    *out = g_steal_pointer(&executor);
    return 0;
}

void gd_executor_shutdown(GdExecutor *executor)
{
    /* Queued operations never reach the kernel: their callers are told. */
    Job *job;
    while ((job = g_queue_pop_head(&executor->queue))) {
        job->op->error = -ECANCELED;
        job->done(job->op, job->user_data);
        g_free(job);
    }
    /* The running one is in the kernel already: let it finish and answer. */
    while (executor->running)
        g_main_context_iteration(NULL, TRUE);
}

void gd_executor_free(GdExecutor *executor)
{
    if (!executor)
        return;
    /* Jobs still queued are dropped unanswered (gd_executor_shutdown()
     * answers them). A running job keeps the executor alive through its
     * task (see job_finished_cb). */
    Job *job;
    while ((job = g_queue_pop_head(&executor->queue))) {
        gd_op_free(job->op);
        g_free(job);
    }
    if (executor->running) {
        executor->freed = TRUE;
        return;
    }
    if (executor->sock)
        gd_nl_socket_close(executor->sock);
    g_free(executor);
}

static void run_group_change(GdNlSocket *sock, GdOp *op)
{
    uint8_t buf[GD_NL_MSG_MAX];
    uint32_t seq = gd_nl_socket_reserve_seq(sock, 1);
    struct nlmsghdr *nlh = gd_nl_put_group_change(buf, seq, op->group, &op->change);
    GdNlAck ack = {0};
    int r = gd_nl_transact(sock, nlh, nlh->nlmsg_len, seq, 1, &ack, NULL, NULL, ACK_TIMEOUT_MS);
    op->error = r < 0 ? r : ack.error;
    op->extack = g_steal_pointer(&ack.extack);
}

static void run_group_addr(GdNlSocket *sock, GdOp *op)
{
    uint8_t buf[GD_NL_MSG_MAX];
    uint32_t seq = gd_nl_socket_reserve_seq(sock, 1);
    struct nlmsghdr *nlh = gd_nl_put_group_addr(
        buf, seq, op->kind == GD_OP_ADDR_ADD ? RTM_NEWADDR : RTM_DELADDR, op->group, &op->addr);
    GdNlAck ack = {0};
    int r = gd_nl_transact(sock, nlh, nlh->nlmsg_len, seq, 1, &ack, NULL, NULL, ACK_TIMEOUT_MS);
    /* All or nothing in the kernel: every target shares the answer. */
    op->acks = g_new0(GdNlAck, op->targets->len);
    for (guint i = 0; i < op->targets->len; i++) {
        op->acks[i].error = ack.error;
        op->acks[i].extack = g_strdup(ack.extack);
    }
    op->error = r;
    gd_nl_ack_clear(&ack);
}

static void run_per_link(GdNlSocket *sock, GdOp *op)
{
    guint n = op->targets->len;
    uint32_t first = gd_nl_socket_reserve_seq(sock, n);
    g_autoptr(GdNlBatch) batch = gd_nl_batch_new(n, first);

    for (guint i = 0; i < n; i++) {
        int ifindex = g_array_index(op->targets, int, i);
        uint32_t seq;
        void *slot = gd_nl_batch_slot(batch, &seq);
        if (op->kind == GD_OP_SET_LINK_GROUP) {
            gd_nl_put_link_set_group(slot, seq, ifindex, op->group);
        } else {
            GdNlAddr addr = op->addrs ? g_array_index(op->addrs, GdNlAddr, i) : op->addr;
            addr.ifindex = ifindex;
            gd_nl_put_addr(slot, seq, op->kind == GD_OP_ADDR_ADD ? RTM_NEWADDR : RTM_DELADDR,
                           &addr);
        }
        gd_nl_batch_commit(batch);
    }
    size_t len;
    const void *data = gd_nl_batch_data(batch, &len);
    op->acks = g_new0(GdNlAck, n);
    op->error = gd_nl_transact(sock, data, len, first, n, op->acks, NULL, NULL, ACK_TIMEOUT_MS);
}

static void run_in_kernel(GdOp *op, gpointer data)
{
    GdNlSocket *sock = data;
    if (op->kind == GD_OP_GROUP_CHANGE)
        run_group_change(sock, op);
    else if (op->group_scoped)
        run_group_addr(sock, op);
    else
        run_per_link(sock, op);
}

static void run_job(Job *job)
{
    GdOp *op = job->op;
    op->started_at = g_get_monotonic_time();
    job->executor->backend.run(op, job->executor->backend_data);
    op->finished_at = g_get_monotonic_time();
    op->kernel_usec = op->finished_at - op->started_at;
}

static void worker(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
    run_job(task_data);
    g_task_return_boolean(task, TRUE);
}

static void run_next(GdExecutor *executor);

static void job_finished_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
    Job *job = user_data;
    GdExecutor *executor = job->executor;
    if (executor->freed) {
        gd_op_free(job->op);
        if (executor->sock)
            gd_nl_socket_close(executor->sock);
        g_free(executor);
        g_free(job);
        return;
    }
    executor->running = FALSE;
    GdOp *op = job->op;
    executor->sends++;
    executor->requests += op->kind == GD_OP_GROUP_CHANGE || op->group_scoped ? 1 : op->targets->len;
    gd_log_about(
        G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, &(GdLogAbout){.has_group = TRUE, .group = op->group},
        "%s on group %s: %s; queued %.2f ms, kernel %.2f ms, back on the loop after %.2f ms",
        gd_op_kind_name(op->kind), GD_LOG_GROUP(op->group),
        op->error < 0 ? g_strerror(-op->error) : "done",
        (op->started_at - op->submitted_at) / 1000.0, op->kernel_usec / 1000.0,
        (g_get_monotonic_time() - op->finished_at) / 1000.0);
    job->done(job->op, job->user_data);
    g_free(job);
    run_next(executor);
}

static gboolean run_on_loop_cb(gpointer user_data)
{
    Job *job = user_data;
    run_job(job);
    job_finished_cb(NULL, NULL, job);
    return G_SOURCE_REMOVE;
}

static void run_next(GdExecutor *executor)
{
    if (executor->running)
        return;
    Job *job = g_queue_pop_head(&executor->queue);
    if (!job)
        return;
    executor->running = TRUE;
    if (!executor->backend.threaded) {
        g_idle_add(run_on_loop_cb, job);
        return;
    }
    g_autoptr(GTask) task = g_task_new(NULL, NULL, job_finished_cb, job);
    g_task_set_task_data(task, job, NULL);
    g_task_run_in_thread(task, worker);
}

void gd_executor_submit(GdExecutor *executor, GdOp *op, GdOpDoneFunc done, gpointer user_data)
{
    Job *job = g_new0(Job, 1);
    op->submitted_at = g_get_monotonic_time();
    job->executor = executor;
    job->op = op;
    job->done = done;
    job->user_data = user_data;
    g_queue_push_tail(&executor->queue, job);
    run_next(executor);
}

void gd_executor_counters(GdExecutor *executor, guint64 *requests, guint64 *sends)
{
    *requests = executor->requests;
    *sends = executor->sends;
}

guint gd_executor_pending(GdExecutor *executor)
{
    return executor->queue.length + (executor->running ? 1 : 0);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Runs group operations against the kernel, one at a time, on a worker
 * thread: a group change on thousands of UP members holds the calling
 * thread inside sendmsg() for seconds, and the bus must keep answering. */
#include "ops.h"
#include "log/log.h"

#include <errno.h>
#include <gio/gio.h>
#include <time.h>

/* Acks of a 32k-link batch arrive in one burst. */
#define REQUEST_SOCKET_RCVBUF (64 * 1024 * 1024)
/* Counted from when sendmsg() returns: by then the kernel has run every
 * request and queued every ack. */
#define ACK_TIMEOUT_MS 10000
/* Per-link messages go out window by window: this many targets in the
 * kernel's order, sent in the order the kernel finds their devices fastest
 * (gd_nl_lookup_order()). The larger, the fewer device lookups miss the
 * CPU's cache; a group change stopped by a refusal takes back at most
 * this many. */
#define LOOKUP_WINDOW 8192

struct GdExecutor {
    GdExecutorBackend backend;
    gpointer backend_data;
    GdNlSocket *sock;  /* the kernel backend's; used by one worker at a time */
    gboolean ack_each; /* the kernel backend asks for an ack on every request */
    GQueue queue;      /* of Job */
    gboolean running;
    gboolean freed;   /* freed while a job ran: the job's end frees it */
    guint64 requests; /* rtnetlink requests sent */
    guint64 sends;    /* sendmsg() calls */
};

typedef struct {
    GdExecutor *executor;
    GdOp *op;
    GdOpPrepareFunc prepare;
    GdOpDoneFunc done;
    gpointer user_data;
} Job;

static void kernel_run_group(GdOp *op, gpointer data);
static int kernel_run_links(GdOp *op, const guint *positions, guint n, const GdNlLinkChange *values,
                            GdNlAck *acks, gpointer data);

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
    static const GdExecutorBackend kernel = {
        .run_group = kernel_run_group,
        .run_links = kernel_run_links,
        .threaded = TRUE,
    };
    g_autoptr(GdExecutor) executor = gd_executor_new_with_backend(&kernel, NULL);
    int r =
        gd_nl_socket_open(NULL, 0, rcvbuf > 0 ? rcvbuf : REQUEST_SOCKET_RCVBUF, 0, &executor->sock);
    if (r < 0)
        return r;
    /* A small buffer is for tests that make the answers get lost: there
     * must be answers to lose. */
    executor->ack_each = rcvbuf > 0;
    executor->backend_data = executor;
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

/* A group change: the only operation one group-scoped message does. */
static void kernel_run_group(GdOp *op, gpointer data)
{
    GdNlSocket *sock = ((GdExecutor *)data)->sock;
    uint8_t buf[GD_NL_MSG_MAX];
    uint32_t seq = gd_nl_socket_reserve_seq(sock, 1);
    GdNlAck ack = {0};
    struct nlmsghdr *nlh = gd_nl_put_group_change(buf, seq, op->group, &op->change);
    int r = gd_nl_transact(sock, nlh, nlh->nlmsg_len, seq, 1, &ack, NULL, NULL, ACK_TIMEOUT_MS);
    op->error = r < 0 ? r : ack.error;
    op->extack = g_steal_pointer(&ack.extack);
}

/* One chunk, in the order given, only the last request asking for an ack
 * (refusals are answered anyway, gd_nl_transact_final_ack()). */
static int kernel_run_links(GdOp *op, const guint *positions, guint n, const GdNlLinkChange *values,
                            GdNlAck *acks, gpointer data)
{
    GdExecutor *executor = data;
    GdNlSocket *sock = executor->sock;
    uint32_t first_seq = gd_nl_socket_reserve_seq(sock, n);
    g_autoptr(GdNlBatch) batch = gd_nl_batch_new(n, first_seq);

    for (guint k = 0; k < n; k++) {
        guint i = positions[k];
        int ifindex = g_array_index(op->targets, int, i);
        uint32_t seq;
        void *slot = gd_nl_batch_slot(batch, &seq);
        struct nlmsghdr *nlh = NULL;
        switch (op->kind) {
        case GD_OP_GROUP_CHANGE:
            nlh = gd_nl_put_link_change(slot, seq, ifindex, values ? &values[k] : &op->change);
            break;
        case GD_OP_SET_LINK_GROUP:
            nlh = gd_nl_put_link_set_group(slot, seq, ifindex, op->group);
            break;
        case GD_OP_ADDR_ADD:
        case GD_OP_ADDR_DEL: {
            GdNlAddr addr = op->addrs ? g_array_index(op->addrs, GdNlAddr, i) : op->addr;
            addr.ifindex = ifindex;
            nlh = gd_nl_put_addr(slot, seq, op->kind == GD_OP_ADDR_ADD ? RTM_NEWADDR : RTM_DELADDR,
                                 &addr);
            break;
        }
        }
        if (k + 1 < n && !executor->ack_each)
            nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
        gd_nl_batch_commit(batch);
    }
    size_t len;
    const void *bytes = gd_nl_batch_data(batch, &len);
    if (executor->ack_each)
        return gd_nl_transact(sock, bytes, len, first_seq, n, acks, NULL, NULL, ACK_TIMEOUT_MS);
    return gd_nl_transact_final_ack(sock, bytes, len, first_seq, n, first_seq + n - 1, acks,
                                    ACK_TIMEOUT_MS);
}

static gboolean answer_lost(int error)
{
    return error == -ENOBUFS || error == -ETIMEDOUT;
}

/* A refusal that stops a group change: not a lost answer, and not a link
 * that is gone (the group message would not have reached it). */
static gboolean stops(const GdNlAck *ack)
{
    return ack->error < 0 && !answer_lost(ack->error) && ack->error != -ENODEV;
}

static gint64 thread_cpu_usec(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
        return 0;
    return (gint64)ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* Sends the targets at positions[0..n), in that order, and times it; their
 * answers go to acks[position]. values: an undo's, one per position. */
static int send_chunk(GdExecutor *executor, GdOp *op, const guint *positions, guint n,
                      const GdNlLinkChange *values, GdNlAck *acks)
{
    g_autofree GdNlAck *answers = g_new0(GdNlAck, n);
    gint64 start = g_get_monotonic_time();
    int r = executor->backend.run_links(op, positions, n, values, answers, executor->backend_data);
    op->longest_send_usec = MAX(op->longest_send_usec, g_get_monotonic_time() - start);
    op->sends++;
    op->requests += n;
    for (guint k = 0; k < n; k++) {
        gd_nl_ack_clear(&acks[positions[k]]);
        acks[positions[k]] = answers[k];
    }
    return r;
}

/* A group change on the per-link path stopped at target `stop`: the group
 * message would have left the members after it alone, so what the kernel
 * did to those that were sent (sent[i]) is taken back. */
static void undo_after(GdExecutor *executor, GdOp *op, guint stop, const guint8 *sent, guint chunk)
{
    /* A refused message changed nothing, unless it carried several
     * attributes and the kernel set some before the one it refused. */
    const GdNlLinkChange *c = &op->change;
    gboolean partial = c->set_mtu + c->set_state + c->set_hwaddr + c->set_txqlen > 1;
    g_autoptr(GArray) undo = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = stop + 1; i < op->targets->len; i++)
        if (sent[i] && (op->acks[i].error == 0 || (partial && op->acks[i].error != -ENODEV)))
            g_array_append_val(undo, i);
    /* The undo's answers are its own: the targets keep those of the change. */
    g_autofree GdNlAck *undo_acks = g_new0(GdNlAck, op->targets->len);
    g_autofree GdNlLinkChange *values = g_new(GdNlLinkChange, MIN(chunk, undo->len));
    for (guint a = 0; a < undo->len; a += chunk) {
        guint n = MIN(chunk, undo->len - a);
        const guint *positions = &g_array_index(undo, guint, a);
        for (guint k = 0; k < n; k++)
            values[k] = g_array_index(op->before, GdNlLinkChange, positions[k]);
        send_chunk(executor, op, positions, n, values, undo_acks);
        for (guint k = 0; k < n; k++) {
            GdNlAck *ack = &undo_acks[positions[k]];
            op->undone++;
            if (ack->error < 0 && ack->error != -ENODEV)
                op->undo_failed++;
            gd_nl_ack_clear(ack);
        }
    }
}

/* Per-link messages, chunk after chunk, the answers read in between; in
 * each window of the kernel's order, in the order the kernel finds the
 * devices fastest. A group change stops as the group message does: at its
 * first refusal in the kernel's order. Targets before it are all sent
 * (some may have been sent already), those after it are not sent any
 * more, and the ones that were are taken back. */
static void run_chunked(GdExecutor *executor, GdOp *op)
{
    guint n = op->targets->len;
    guint chunk = op->chunk ? op->chunk : GD_KPATH_CHUNK_MAX;
    gboolean stop_at_refusal = op->kind == GD_OP_GROUP_CHANGE;
    const int *ifindexes = (const int *)(void *)op->targets->data;
    g_autofree guint *order = g_new(guint, MIN(n, LOOKUP_WINDOW));
    g_autofree guint *positions = g_new(guint, chunk);
    g_autofree guint8 *sent = g_new0(guint8, n);
    guint stop = n; /* the first refusal in the kernel's order */
    op->acks = g_new0(GdNlAck, n);
    op->sent = n;
    for (guint w = 0; w < n && stop == n; w += LOOKUP_WINDOW) {
        guint wn = MIN(LOOKUP_WINDOW, n - w);
        gd_nl_lookup_order(ifindexes + w, wn, order);
        for (guint k = 0; k < wn;) {
            guint count = 0;
            for (; k < wn && count < chunk; k++)
                if (w + order[k] < stop)
                    positions[count++] = w + order[k];
            if (count == 0)
                break;
            int r = send_chunk(executor, op, positions, count, NULL, op->acks);
            for (guint i = 0; i < count; i++)
                sent[positions[i]] = 1;
            if (r < 0 && !answer_lost(r)) {
                /* The socket failed: what was not sent shares the error. */
                op->error = r;
                for (guint i = 0; i < n; i++)
                    if (!sent[i])
                        op->acks[i].error = r;
                return;
            }
            if (r < 0)
                op->error = r; /* answers lost: the runner reads the links back */
            if (!stop_at_refusal)
                continue;
            for (guint i = 0; i < count; i++)
                if (positions[i] < stop && stops(&op->acks[positions[i]]))
                    stop = positions[i];
        }
    }
    if (stop == n)
        return;
    op->stopped = stop;
    op->error = op->acks[stop].error;
    g_free(op->extack);
    op->extack = g_strdup(op->acks[stop].extack);
    if (op->before)
        undo_after(executor, op, stop, sent, chunk);
    op->sent = stop + 1;
}

static void run_job(Job *job)
{
    GdOp *op = job->op;
    GdExecutor *executor = job->executor;
    op->started_at = g_get_monotonic_time();
    gint64 cpu = thread_cpu_usec();
    if (op->path == GD_KPATH_AUTO) /* not chosen: what the kind has always been */
        op->path = op->kind == GD_OP_GROUP_CHANGE ? GD_KPATH_GROUP : GD_KPATH_PER_LINK;
    if (op->path == GD_KPATH_GROUP) {
        executor->backend.run_group(op, executor->backend_data);
        op->sends = 1;
        op->requests = 1;
    } else {
        run_chunked(executor, op);
    }
    op->cpu_usec = thread_cpu_usec() - cpu;
    op->finished_at = g_get_monotonic_time();
    op->kernel_usec = op->finished_at - op->started_at;
    if (op->path == GD_KPATH_GROUP)
        op->longest_send_usec = op->kernel_usec;
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
    executor->sends += op->sends;
    executor->requests += op->requests;
    gd_log_about(G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG,
                 &(GdLogAbout){.has_group = TRUE, .group = op->group},
                 "%s on group %s (%s): %s; queued %.2f ms, kernel %.2f ms (%u sends, longest "
                 "%.2f ms, CPU %.2f ms), back on the loop after %.2f ms",
                 gd_op_kind_name(op->kind), GD_LOG_GROUP(op->group), gd_kpath_name(op->path),
                 op->error < 0 ? g_strerror(-op->error) : "done",
                 (op->started_at - op->submitted_at) / 1000.0, op->kernel_usec / 1000.0, op->sends,
                 op->longest_send_usec / 1000.0, op->cpu_usec / 1000.0,
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
    if (job->prepare)
        job->prepare(job->op, job->user_data);
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
    gd_executor_submit_prepared(executor, op, NULL, done, user_data);
}

void gd_executor_submit_prepared(GdExecutor *executor, GdOp *op, GdOpPrepareFunc prepare,
                                 GdOpDoneFunc done, gpointer user_data)
{
    Job *job = g_new0(Job, 1);
    op->submitted_at = g_get_monotonic_time();
    job->executor = executor;
    job->op = op;
    job->prepare = prepare;
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

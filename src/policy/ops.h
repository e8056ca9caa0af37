/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * policy: group operations. ops.c is pure (validation against a cache
 * snapshot, checking results) but for gd_op_record_moves(); executor.c
 * runs operations against the kernel on a worker thread. May call: cache,
 * netlink, config.
 */
#pragma once

#include "cache/cache.h"
#include "netlink/nl.h"
#include "policy/kpath.h"

#include <glib.h>

typedef enum {
    GD_OP_GROUP_CHANGE,   /* a change of a group's members: one group-scoped
                           * RTM_NEWLINK, or one per member (kpath.h) */
    GD_OP_SET_LINK_GROUP, /* one RTM_NEWLINK per link */
    GD_OP_ADDR_ADD,       /* one RTM_NEWADDR per link */
    GD_OP_ADDR_DEL,       /* one RTM_DELADDR per link */
} GdOpKind;

typedef struct {
    GdOpKind kind;
    uint32_t group;        /* the group changed, or the target group */
    GdNlLinkChange change; /* GD_OP_GROUP_CHANGE */
    GdNlAddr addr;         /* address ops; ifindex is set per target */
    /* int ifindexes. A group change: its members, in the kernel's order
     * (ascending ifindex, the order of the device list for links that
     * were created here with an index the kernel picked). */
    GArray *targets;
    /* Address ops carrying several addresses: one GdNlAddr per target
     * (ifindex set), in the same order. NULL: addr for every target. */
    GArray *addrs;
    /* A group change for only some of the group's members (a hot-plugged
     * link): never a group message, which would reach them all. */
    gboolean subset;

    /* Set by the runner before the executor runs it. */
    GdKpath path; /* GD_KPATH_GROUP: one group-scoped message; else per-link */
    guint chunk;  /* per-link messages per sendmsg() */
    /* A group change on the per-link path: per target, its values of the
     * changed attributes before (what the undo after a refusal sends). */
    GArray *before; /* GdNlLinkChange */

    /* Filled by the executor. */
    int error;     /* transport error or the group message's error */
    char *extack;  /* the kernel's message for error */
    GdNlAck *acks; /* per target, for per-link ops */
    /* Per-link messages: a group change that stopped at a refusal kept
     * targets [0, sent); the others were not sent or were taken back
     * (undone). Otherwise every target; one whose message never reached
     * the kernel (the socket failed) has the socket's error in its ack. */
    guint sent;
    /* A group change on the per-link path stopped at this target (the
     * first that refused, as the group message stops), or G_MAXUINT. */
    guint stopped;
    guint undone;      /* targets after it whose change was taken back */
    guint undo_failed; /* …of them, those whose undo the kernel refused */
    guint sends;       /* sendmsg() calls */
    guint requests;    /* rtnetlink requests */
    gint64 kernel_usec;
    gint64 cpu_usec;          /* the worker's CPU time in the kernel request */
    gint64 longest_send_usec; /* the longest sendmsg()-to-answers (a chunk) */
    /* Monotonic times, for the log: queued, started, answered. */
    gint64 submitted_at;
    gint64 started_at;
    gint64 finished_at;
} GdOp;

GdOp *gd_op_new(GdOpKind kind, uint32_t group);
void gd_op_free(GdOp *op);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdOp, gd_op_free)
const char *gd_op_kind_name(GdOpKind kind);

/* ---- pure checks ---- */

/* Problems that make change fail on some members, each naming the member
 * ("veth0: MTU 70000 above its maximum 65535"). Empty when none. */
GPtrArray *gd_op_validate_change(GPtrArray *members, const GdNlLinkChange *change);
/* Copies the attributes over sets into into (over wins). */
void gd_link_change_merge(GdNlLinkChange *into, const GdNlLinkChange *over);
/* Names of the members (GdLink*) that have IPv4 (an MTU of at least
 * GD_NL_IPV4_MIN_MTU) and would lose it to the MTU change sets; empty when
 * it sets none below that. */
GPtrArray *gd_op_ipv4_losers(GPtrArray *members, const GdNlLinkChange *change);
/* Whether link already shows every attribute of change. */
gboolean gd_link_matches_change(const GdLink *link, const GdNlLinkChange *change);
gboolean gd_link_has_addr(const GdLink *link, const GdNlAddr *addr);
/* After a GD_OP_SET_LINK_GROUP (and after reading queued events): brings
 * the cache up to date with the moves. Kernels with group-notify announced
 * them; on others each acknowledged move is recorded as done, and the
 * links whose answer was lost are read back. */
void gd_op_record_moves(const GdOp *op, GdCache *cache);
/* "a, b, c and 12 more" for messages; at most `limit` names. */
char *gd_format_names(GPtrArray *names, guint limit);

/* ---- executor ---- */

typedef struct GdExecutor GdExecutor;
typedef void (*GdOpDoneFunc)(GdOp *op, gpointer user_data);

/* rcvbuf: the request socket's receive buffer (0: 64 MiB, room for the
 * answers of the largest batch); smaller only to test lost answers: then
 * every per-link request asks for an ack (else only a chunk's last does,
 * and the others are answered only when refused). */
int gd_executor_new(int rcvbuf, GdExecutor **out);

/* What the executor sends operations to: the kernel (above), or a fake in
 * the unit tests. Called on a worker thread when threaded, else on the
 * main loop from an idle callback. The executor itself orders and splits
 * per-link operations into chunks: the targets go window by window of the
 * kernel's order (ascending ifindex), each window in the order the kernel
 * finds their devices fastest (gd_nl_lookup_order()). It stops a group
 * change at its first refusal in the kernel's order: the targets before it
 * are all sent, and what the kernel did to those after it that were sent
 * already is taken back. */
typedef struct {
    /* One group-scoped message, for a group change: fills op->error and
     * op->extack. */
    void (*run_group)(GdOp *op, gpointer data);
    /* The targets of op at positions[0..n) (indexes into op->targets),
     * one message each, in that order, in one sendmsg(), the answers in
     * acks[0..n). A group change's messages carry op->change, or
     * values[0..n) when values is not NULL (an undo). Returns 0, or a
     * negative errno of the transport (answers not received keep
     * -ETIMEDOUT or -ENOBUFS). */
    int (*run_links)(GdOp *op, const guint *positions, guint n, const GdNlLinkChange *values,
                     GdNlAck *acks, gpointer data);
    gboolean threaded;
} GdExecutorBackend;
GdExecutor *gd_executor_new_with_backend(const GdExecutorBackend *backend, gpointer data);
void gd_executor_free(GdExecutor *executor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdExecutor, gd_executor_free)
/* Queues op (taking it); done runs on the main loop when the kernel has
 * answered, and owns op from then on. Operations run one at a time, in
 * order. */
void gd_executor_submit(GdExecutor *executor, GdOp *op, GdOpDoneFunc done, gpointer user_data);
/* The same, and prepare runs on the main loop right before op goes to the
 * kernel (after every operation queued before it was answered): the last
 * moment to decide what it sends. An operation cancelled while queued is
 * answered without it. */
typedef void (*GdOpPrepareFunc)(GdOp *op, gpointer user_data);
void gd_executor_submit_prepared(GdExecutor *executor, GdOp *op, GdOpPrepareFunc prepare,
                                 GdOpDoneFunc done, gpointer user_data);
/* On exit: answers queued operations with -ECANCELED and waits (running
 * the main loop) for the one in the kernel to finish and be answered. */
void gd_executor_shutdown(GdExecutor *executor);
/* Operations queued or running. */
guint gd_executor_pending(GdExecutor *executor);
/* rtnetlink requests sent and the sendmsg() calls that carried them. */
void gd_executor_counters(GdExecutor *executor, guint64 *requests, guint64 *sends);

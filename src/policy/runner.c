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
    GdKpathModel model;
    GdKpath forced;
    gboolean default_costs; /* no calibration (tests) */
    guint64 sent_by_path[GD_KPATH_N];
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
    /* What the path choice saw, made right before the kernel got it. */
    gboolean prepared;
    GdKpathInput input;
    GdKpathChoice choice;
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
    gd_kpath_model_init(&runner->model);
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

void gd_runner_force_path(GdRunner *runner, GdKpath path)
{
    runner->forced = path;
}

void gd_runner_keep_default_costs(GdRunner *runner, gboolean keep)
{
    runner->default_costs = keep;
}

void gd_runner_path_counts(GdRunner *runner, guint64 counts[GD_KPATH_N])
{
    memcpy(counts, runner->sent_by_path, sizeof(runner->sent_by_path));
}

const GdKpathModel *gd_runner_model(GdRunner *runner)
{
    return &runner->model;
}

/* ---- the kernel path ---- */

static gboolean link_local6(const GdNlAddr *addr)
{
    return addr->family == AF_INET6 && addr->addr[0] == 0xfe && (addr->addr[1] & 0xc0) == 0x80;
}

static void add_fib(const GdLink *link, gpointer user_data)
{
    double *fib = user_data;
    guint addrs6 = 0;
    for (guint i = 0; i < link->addrs->len; i++) {
        const GdNlAddr *addr = &g_array_index(link->addrs, GdNlAddr, i);
        addrs6 += addr->family == AF_INET6 && !link_local6(addr);
    }
    *fib = gd_kpath_fib_add_link(*fib, &link->nl, addrs6);
}

/* The links a group change is for, as the group message would find them
 * now: the group's members (ascending ifindex), or of the targets those
 * still in the group (a change for some members only). A plan's change
 * (planned) is for its targets, the members the group will have after the
 * plan's moves. */
static GPtrArray *change_members(GdRunner *runner, const GdOp *op, gboolean planned)
{
    if (!op->subset && !planned)
        return gd_cache_group_members(runner->cache, op->group);
    GPtrArray *members = g_ptr_array_new();
    for (guint i = 0; i < op->targets->len; i++) {
        GdLink *link = gd_cache_link_by_index(runner->cache, g_array_index(op->targets, int, i));
        if (link && (planned || link->nl.group == op->group))
            g_ptr_array_add(members, link);
    }
    return members;
}

/* One prefix an address op adds (or removes) routes on. */
typedef struct {
    GdNlAddr prefix; /* the address masked to its prefix length */
    guint targets;   /* of the operation */
    guint sharing;   /* links that have it already */
} Prefix;

static GdNlAddr masked(const GdNlAddr *addr)
{
    GdNlAddr m = {.family = addr->family, .prefixlen = addr->prefixlen};
    guint len = addr->family == AF_INET ? 4 : 16;
    guint bits = MIN(addr->prefixlen, len * 8);
    memcpy(m.addr, addr->addr, bits / 8);
    if (bits % 8)
        m.addr[bits / 8] = addr->addr[bits / 8] & (uint8_t)(0xff << (8 - bits % 8));
    return m;
}

static gboolean same_prefix(const GdNlAddr *a, const GdNlAddr *b)
{
    return a->family == b->family && a->prefixlen == b->prefixlen &&
           memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static void count_prefixes(const GdLink *link, gpointer user_data)
{
    GArray *prefixes = user_data;
    for (guint i = 0; i < link->addrs->len; i++) {
        const GdNlAddr *addr = &g_array_index(link->addrs, GdNlAddr, i);
        for (guint p = 0; p < prefixes->len; p++) {
            Prefix *prefix = &g_array_index(prefixes, Prefix, p);
            if (addr->family != prefix->prefix.family ||
                addr->prefixlen != prefix->prefix.prefixlen)
                continue;
            GdNlAddr m = masked(addr);
            if (same_prefix(&m, &prefix->prefix))
                prefix->sharing++;
        }
    }
}

/* Address ops: per prefix, how many targets and how many links have it
 * (a prefix route on N links is one FIB node with N routes). */
static void describe_addresses(GdCache *cache, const GdOp *op, GdKpathInput *in)
{
    g_autoptr(GArray) prefixes = g_array_new(FALSE, FALSE, sizeof(Prefix));
    for (guint i = 0; i < op->targets->len; i++) {
        GdNlAddr m = masked(op->addrs ? &g_array_index(op->addrs, GdNlAddr, i) : &op->addr);
        guint p = 0;
        while (p < prefixes->len && !same_prefix(&g_array_index(prefixes, Prefix, p).prefix, &m))
            p++;
        if (p == prefixes->len)
            g_array_append_val(prefixes, ((Prefix){.prefix = m}));
        g_array_index(prefixes, Prefix, p).targets++;
    }
    gd_cache_foreach_link(cache, count_prefixes, prefixes);
    for (guint p = 0; p < prefixes->len; p++) {
        const Prefix *prefix = &g_array_index(prefixes, Prefix, p);
        gd_kpath_input_add_addresses(in, prefix->targets, prefix->sharing);
    }
}

/* What op is to the cost model. members: change_members() for a group
 * change, else NULL. */
static void describe(GdRunner *runner, const GdOp *op, GPtrArray *members, GdKpathInput *in,
                     gboolean *group_possible)
{
    GdCache *cache = runner->cache;
    double fib = 0;
    gd_cache_foreach_link(cache, add_fib, &fib);
    GdKpathKind kind = op->kind == GD_OP_GROUP_CHANGE     ? GD_KPATH_LINKS
                       : op->kind == GD_OP_SET_LINK_GROUP ? GD_KPATH_MOVES
                                                          : GD_KPATH_ADDRESSES;
    gd_kpath_input_init(in, kind, gd_cache_link_count(cache), fib, gd_cache_kernel_features(cache),
                        op->kind == GD_OP_GROUP_CHANGE ? &op->change : NULL);
    switch (op->kind) {
    case GD_OP_GROUP_CHANGE:
        for (guint i = 0; i < members->len; i++)
            gd_kpath_input_add_member(in, &((const GdLink *)members->pdata[i])->nl);
        *group_possible = !op->subset;
        return;
    case GD_OP_SET_LINK_GROUP:
        for (guint i = 0; i < op->targets->len; i++) {
            GdLink *link = gd_cache_link_by_index(cache, g_array_index(op->targets, int, i));
            if (link && link->nl.group != op->group)
                gd_kpath_input_add_move(in, &link->nl);
        }
        *group_possible = FALSE;
        return;
    case GD_OP_ADDR_ADD:
    case GD_OP_ADDR_DEL:
        describe_addresses(cache, op, in);
        *group_possible = FALSE;
        return;
    }
}

void gd_runner_choose(GdRunner *runner, const GdOp *op, GdKpathChoice *choice)
{
    g_autoptr(GPtrArray) members =
        op->kind == GD_OP_GROUP_CHANGE ? change_members(runner, op, TRUE) : NULL;
    GdKpathInput in;
    gboolean group_possible;
    describe(runner, op, members, &in, &group_possible);
    gd_kpath_choose(&runner->model, &in, group_possible, runner->forced, choice);
}

/* The values of change's attributes that link has now (to take it back). */
static GdNlLinkChange values_before(const GdLink *link, const GdNlLinkChange *change)
{
    GdNlLinkChange before = {
        .set_mtu = change->set_mtu,
        .mtu = link->nl.mtu,
        .set_state = change->set_state,
        .up = gd_link_is_up(link),
        .set_hwaddr = change->set_hwaddr,
        .hwaddr_len = link->nl.hwaddr_len,
        .set_txqlen = change->set_txqlen,
        .txqlen = link->nl.txqlen,
    };
    memcpy(before.hwaddr, link->nl.hwaddr, sizeof(before.hwaddr));
    return before;
}

/* Right before op goes to the kernel: the path, and for a group change the
 * members it is for now. */
static void prepare_cb(GdOp *op, gpointer user_data)
{
    Run *run = user_data;
    GdRunner *runner = run->runner;
    g_autoptr(GPtrArray) members =
        op->kind == GD_OP_GROUP_CHANGE ? change_members(runner, op, FALSE) : NULL;
    gboolean group_possible;
    describe(runner, op, members, &run->input, &group_possible);
    gd_kpath_choose(&runner->model, &run->input, group_possible, runner->forced, &run->choice);
    gd_kpath_model_chosen(&runner->model, &run->input, &run->choice);
    run->prepared = TRUE;
    op->path = run->choice.path;
    op->chunk = run->choice.chunk;
    if (op->kind != GD_OP_GROUP_CHANGE)
        return;
    g_hash_table_remove_all(run->already);
    g_array_set_size(op->targets, 0);
    gboolean per_link = op->path == GD_KPATH_PER_LINK;
    if (per_link)
        op->before = g_array_new(FALSE, FALSE, sizeof(GdNlLinkChange));
    for (guint i = 0; i < members->len; i++) {
        const GdLink *link = members->pdata[i];
        gboolean has = gd_link_matches_change(link, &op->change);
        if (has)
            g_hash_table_add(run->already, GINT_TO_POINTER(link->nl.ifindex));
        /* Per-link: no message where it would be a no-op. */
        if (per_link && has && !op->change.set_hwaddr)
            continue;
        g_array_append_val(op->targets, link->nl.ifindex);
        if (per_link) {
            GdNlLinkChange before = values_before(link, &op->change);
            g_array_append_val(op->before, before);
        }
    }
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

/* A group change, by either path. The group message changes member after
 * member and stops at the first that refuses, keeping what it changed; the
 * per-link path does the same (runner.h). After an error the members are
 * read again and each is told apart. */
static void classify_group_change(Run *run, GdOpResult *result)
{
    GdCache *cache = run->runner->cache;
    GdOp *op = result->op;
    guint eligible = 0, missing = 0;
    for (guint i = 0; i < op->targets->len; i++) {
        int ifindex = g_array_index(op->targets, int, i);
        if (!g_hash_table_contains(run->already, GINT_TO_POINTER(ifindex)))
            eligible++;
        /* A per-link message to a link deleted meanwhile. */
        if (op->acks && i < op->sent && op->acks[i].error == -ENODEV)
            missing++;
    }
    if (op->error == 0 && missing == 0) {
        result->applied = eligible;
        set_outcome(result, eligible);
        return;
    }
    gd_cache_process_events(cache);
    if (op->error != 0)
        gd_cache_refresh_group(cache, op->group, (const int *)(void *)op->targets->data,
                               op->targets->len);
    guint sent = 0;
    for (guint i = 0; i < op->targets->len; i++) {
        int ifindex = g_array_index(op->targets, int, i);
        GdLink *link = gd_cache_link_by_index(cache, ifindex);
        if (!link) {
            result->gone++;
            continue;
        }
        if (g_hash_table_contains(run->already, GINT_TO_POINTER(ifindex)))
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
    if (op->error == 0) {
        /* Only answers of "no such device": from links that are gone (not
         * counted), or from one that is there and refused. */
        if (result->outcome != GD_OP_APPLIED) {
            result->error = -ENODEV;
            result->stopped_at = result->refused->pdata[0];
        }
        return;
    }
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
    if (op->stopped < op->targets->len) {
        /* Per-link: the member that refused is known. */
        GdLink *link = gd_cache_link_by_index(cache, g_array_index(op->targets, int, op->stopped));
        result->stopped_at_owned = link ? g_strdup(link->nl.name) : NULL;
    } else {
        result->stopped_at_owned = kernel_named_member(cache, op);
    }
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
    guint gone = 0;
    for (guint i = 0; i < n; i++) {
        const GdNlAck *ack = &op->acks[i];
        const char *name = run->names->pdata[i];
        if ((ack->error == -ENODEV || ack->error == 0) &&
            !gd_cache_link_by_index(cache, g_array_index(op->targets, int, i))) {
            /* Deleted before the kernel got to it, or right after: nothing
             * to report. */
            gone++;
            continue;
        }
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
    result->gone = gone;
    set_outcome(result, n - gone);
    if (result->outcome != GD_OP_APPLIED && result->error == 0)
        result->error = -EIO; /* only silent adds: the kernel said yes */
}

static const char *path_words(GdKpath path)
{
    return path == GD_KPATH_GROUP ? "one group message" : "per-link messages";
}

/* The operation's one line: what it was, the path and why, what it took
 * against what the model expected. */
static void log_operation(Run *run, const GdOp *op)
{
    const GdKpathChoice *c = &run->choice;
    g_autofree char *sends = NULL;
    if (op->path == GD_KPATH_PER_LINK)
        sends = g_strdup_printf(" (%u in %u sends, the longest %.1f ms%s)", op->requests, op->sends,
                                op->longest_send_usec / 1000.0,
                                op->undone ? ", the changes after the refusal taken back" : "");
    g_message("group %u: %s of %u links by %s%s: %.1f ms; expected %.1f ms, the group message "
              "%.1f ms, per-link %.1f ms: %s",
              op->group, gd_op_kind_name(op->kind), op->targets->len, path_words(op->path),
              sends ? sends : "", op->kernel_usec / 1000.0,
              (op->path == GD_KPATH_GROUP ? c->group_ns : c->per_link_ns) / 1e6, c->group_ns / 1e6,
              c->per_link_ns / 1e6, c->reason);
}

static void op_done_cb(GdOp *op, gpointer user_data)
{
    Run *run = user_data;
    GdRunner *runner = run->runner;
    GdOpResult result = {
        .op = op,
        .runner = run->runner,
        .held = TRUE,
        .applied_names = g_ptr_array_new_with_free_func(g_free),
        .refused = g_ptr_array_new_with_free_func(g_free),
        .path = run->prepared ? op->path : GD_KPATH_AUTO,
    };
    if (run->prepared) {
        runner->sent_by_path[op->path]++;
        log_operation(run, op);
        /* A whole run teaches the model; a stopped or failed one ran only
         * part of what it describes. */
        if (op->error == 0 && op->undone == 0 && !runner->default_costs)
            gd_kpath_model_observe(&runner->model, &run->input, op->path, op->kernel_usec * 1000.0);
    }

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
        /* Filled right before the kernel gets it (prepare_cb). */
        run->already = g_hash_table_new(NULL, NULL);
    } else {
        run->names = g_ptr_array_new_full(op->targets->len, g_free);
        for (guint i = 0; i < op->targets->len; i++) {
            GdLink *link =
                gd_cache_link_by_index(runner->cache, g_array_index(op->targets, int, i));
            g_ptr_array_add(run->names, g_strdup(link ? link->nl.name : "(gone)"));
        }
    }
    gd_cache_hold(runner->cache);
    gd_executor_submit_prepared(runner->executor, op, prepare_cb, op_done_cb, run);
}

char *gd_op_result_describe(const GdOpResult *result, guint limit)
{
    const GdOp *op = result->op;
    if (op->kind == GD_OP_GROUP_CHANGE)
        return g_strdup_printf("%s refused: %s (errno %d)%s%s", gd_op_kind_name(op->kind),
                               g_strerror(-result->error), -result->error,
                               result->extack ? ": " : "", result->extack ? result->extack : "");
    g_autofree char *list = gd_format_names(result->refused, limit);
    return g_strdup_printf("%s refused on %u of %u links: %s", gd_op_kind_name(op->kind),
                           result->refused->len, op->targets->len, list);
}

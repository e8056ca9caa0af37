/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/policy/runner.c on the fake kernel (fake-kernel.c): the
 * outcome of every kind of operation when the kernel applies it, stops
 * part-way, refuses it, loses its answers or acknowledges what it did not
 * do, and what the cache shows afterwards.
 */
#include "fake-kernel.h"
#include "policy/runner.h"

#include <errno.h>
#include <string.h>

typedef struct {
    GdCache *cache;
    FakeKernel *fk;
    GdExecutor *executor;
    GdRunner *runner;
    /* The last result, copied out of the callback. */
    gboolean done;
    GdOpOutcome outcome;
    guint applied, lost, silent, gone;
    GdKpath path;
    int error;
    char *extack;
    char *stopped_at;
    char *applied_names;
    char *refused;
    char *described;
    gboolean take_hold;
} Fx;

/* data: the kernel path to force (GD_KPATH_AUTO: the cost model's). */
static void fx_set_up(Fx *fx, gconstpointer data)
{
    fx->cache = gd_cache_new_detached();
    fx->fk = fake_kernel_new(fx->cache);
    fx->executor = fake_kernel_executor(fx->fk);
    fx->runner = gd_runner_new(fx->cache, fx->executor);
    gd_runner_force_path(fx->runner, (GdKpath)GPOINTER_TO_INT(data));
    /* Group 100: a1..a4, DOWN; a5 in group 200. */
    const char *names[] = {"a1", "a2", "a3", "a4"};
    for (int i = 0; i < 4; i++)
        fake_kernel_add_link(fx->fk, i + 1, names[i], 100, FALSE);
    fake_kernel_add_link(fx->fk, 5, "a5", 200, FALSE);
}

static void clear_result(Fx *fx)
{
    g_clear_pointer(&fx->extack, g_free);
    g_clear_pointer(&fx->stopped_at, g_free);
    g_clear_pointer(&fx->applied_names, g_free);
    g_clear_pointer(&fx->refused, g_free);
    g_clear_pointer(&fx->described, g_free);
    fx->done = FALSE;
}

static void fx_tear_down(Fx *fx, gconstpointer data)
{
    clear_result(fx);
    gd_runner_free(fx->runner);
    gd_executor_free(fx->executor);
    fake_kernel_free(fx->fk);
    gd_cache_free(fx->cache);
}

static char *join(GPtrArray *a)
{
    g_ptr_array_add(a, NULL);
    char *text = g_strjoinv(",", (char **)a->pdata);
    g_ptr_array_remove_index(a, a->len - 1);
    return text;
}

static void done_cb(GdOpResult *result, gpointer user_data)
{
    Fx *fx = user_data;
    fx->done = TRUE;
    fx->outcome = result->outcome;
    fx->applied = result->applied;
    fx->lost = result->lost;
    fx->silent = result->silent;
    fx->gone = result->gone;
    fx->path = result->path;
    fx->error = result->error;
    fx->extack = g_strdup(result->extack);
    fx->stopped_at = g_strdup(result->stopped_at);
    fx->applied_names = join(result->applied_names);
    fx->refused = join(result->refused);
    fx->described = gd_op_result_describe(result, 8);
    if (fx->take_hold)
        gd_op_result_take_hold(result);
}

static void run(Fx *fx, GdOp *op)
{
    clear_result(fx);
    gd_runner_submit(fx->runner, op, done_cb, fx);
    g_assert_cmpuint(gd_runner_pending(fx->runner), ==, 1);
    while (!fx->done)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpuint(gd_runner_pending(fx->runner), ==, 0);
}

static GdOp *mtu_op(Fx *fx, uint32_t group, uint32_t mtu)
{
    GdOp *op = gd_op_new(GD_OP_GROUP_CHANGE, group);
    op->change.set_mtu = true;
    op->change.mtu = mtu;
    g_autoptr(GPtrArray) members = gd_cache_group_members(fx->cache, group);
    for (guint i = 0; i < members->len; i++)
        g_array_append_val(op->targets, ((GdLink *)members->pdata[i])->nl.ifindex);
    return op;
}

static GdOp *per_link_op(GdOpKind kind, uint32_t group, const int *ifindexes, const char *cidr)
{
    GdOp *op = gd_op_new(kind, group);
    for (const int *i = ifindexes; *i; i++)
        g_array_append_val(op->targets, *i);
    if (cidr)
        g_assert_cmpint(gd_nl_cidr_parse(cidr, &op->addr), ==, 0);
    return op;
}

static uint32_t cached_mtu(Fx *fx, int ifindex)
{
    return gd_cache_link_by_index(fx->cache, ifindex)->nl.mtu;
}

/* ---- group change ---- */

static void test_group_change_applied(Fx *fx, gconstpointer data)
{
    run(fx, mtu_op(fx, 100, 1400));
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(fx->applied, ==, 4);
    g_assert_cmpint(fx->error, ==, 0);
    for (int i = 1; i <= 4; i++)
        g_assert_cmpuint(cached_mtu(fx, i), ==, 1400);
    g_assert_cmpuint(cached_mtu(fx, 5), ==, 1500);
}

static void test_group_change_stopped_part_way(Fx *fx, gconstpointer data)
{
    fake_kernel_refuse(fx->fk, 3, -EINVAL, NULL);
    run(fx, mtu_op(fx, 100, 1400));
    g_assert_cmpint(fx->outcome, ==, GD_OP_PARTIAL);
    g_assert_cmpuint(fx->applied, ==, 2);
    g_assert_cmpstr(fx->applied_names, ==, "a1,a2");
    g_assert_cmpstr(fx->refused, ==, "a3,a4");
    g_assert_cmpstr(fx->stopped_at, ==, "a3");
    g_assert_cmpint(fx->error, ==, -EINVAL);
    /* What the kernel kept, the cache shows. */
    g_assert_cmpuint(cached_mtu(fx, 2), ==, 1400);
    g_assert_cmpuint(cached_mtu(fx, 3), ==, 1500);
    g_assert_cmpstr(fx->described, ==, "group change refused: Invalid argument (errno 22)");
}

static void test_group_change_named_member(Fx *fx, gconstpointer data)
{
    /* A validating kernel names the member that refused: that one is
     * reported, not merely the first unchanged. */
    gd_cache_set_kernel_features(fx->cache, GD_KF_VALIDATE);
    fake_kernel_refuse(fx->fk, 1, -ERANGE, "a4: mtu greater than device maximum");
    run(fx, mtu_op(fx, 100, 1400));
    g_assert_cmpint(fx->outcome, ==, GD_OP_REFUSED);
    g_assert_cmpstr(fx->stopped_at, ==, "a4");
    g_assert_cmpstr(fx->extack, ==, "a4: mtu greater than device maximum");
}

static void test_group_change_refused(Fx *fx, gconstpointer data)
{
    fake_kernel_refuse(fx->fk, 1, -EPERM, "not allowed");
    run(fx, mtu_op(fx, 100, 1400));
    g_assert_cmpint(fx->outcome, ==, GD_OP_REFUSED);
    g_assert_cmpuint(fx->applied, ==, 0);
    g_assert_cmpstr(fx->refused, ==, "a1,a2,a3,a4");
    g_assert_cmpstr(fx->described, ==,
                    "group change refused: Operation not permitted (errno 1): not allowed");
}

static void test_group_change_already_matching(Fx *fx, gconstpointer data)
{
    /* a1 has the MTU already: it is in neither list when the kernel stops. */
    run(fx, per_link_op(GD_OP_SET_LINK_GROUP, 300, (const int[]){1, 0}, NULL));
    run(fx, mtu_op(fx, 300, 1400));
    run(fx, per_link_op(GD_OP_SET_LINK_GROUP, 100, (const int[]){1, 0}, NULL));
    fake_kernel_refuse(fx->fk, 2, -EINVAL, NULL);
    run(fx, mtu_op(fx, 100, 1400));
    g_assert_cmpint(fx->outcome, ==, GD_OP_REFUSED);
    g_assert_cmpstr(fx->applied_names, ==, "");
    g_assert_cmpstr(fx->refused, ==, "a2,a3,a4");
}

/* The one rule for a lost answer: read back; applied when it shows. */
static void test_group_change_lost_answer(Fx *fx, gconstpointer data)
{
    fake_kernel_lose_answers(fx->fk, TRUE);
    g_test_expect_message("groupd-policy", G_LOG_LEVEL_MESSAGE,
                          GPOINTER_TO_INT(data) == GD_KPATH_PER_LINK
                              ? "group 100: group change of 4 links by per-link messages*"
                              : "group 100: group change of 4 links by one group message*");
    g_test_expect_message("groupd-policy", G_LOG_LEVEL_WARNING,
                          "group 100: group change: the kernel's answers for 4 links were lost*");
    run(fx, mtu_op(fx, 100, 1400));
    g_test_assert_expected_messages();
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(fx->applied, ==, 4);
    g_assert_cmpuint(fx->lost, ==, 4);
}

/* ---- per-link operations ---- */

static void test_moves_applied(Fx *fx, gconstpointer data)
{
    run(fx, per_link_op(GD_OP_SET_LINK_GROUP, 200, (const int[]){1, 2, 0}, NULL));
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(fx->applied, ==, 2);
    g_assert_cmpuint(gd_cache_group_size(fx->cache, 200), ==, 3);
    g_assert_cmpuint(gd_cache_group_size(fx->cache, 100), ==, 2);
}

static void test_moves_unannounced(Fx *fx, gconstpointer data)
{
    /* Stock kernels say nothing when a DOWN link changes group: the acks
     * are what the cache goes by. */
    fake_kernel_announce_down_moves(fx->fk, FALSE);
    run(fx, per_link_op(GD_OP_SET_LINK_GROUP, 200, (const int[]){3, 4, 0}, NULL));
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(gd_cache_link_by_index(fx->cache, 3)->nl.group, ==, 200);
    g_assert_cmpuint(gd_cache_link_by_index(fx->cache, 4)->nl.group, ==, 200);
}

static void test_moves_partial(Fx *fx, gconstpointer data)
{
    fake_kernel_refuse(fx->fk, 2, -EOPNOTSUPP, "no groups here");
    run(fx, per_link_op(GD_OP_SET_LINK_GROUP, 200, (const int[]){1, 2, 3, 0}, NULL));
    g_assert_cmpint(fx->outcome, ==, GD_OP_PARTIAL);
    g_assert_cmpuint(fx->applied, ==, 2);
    g_assert_cmpstr(fx->refused, ==, "a2: Operation not supported, no groups here");
    g_assert_cmpint(fx->error, ==, -EOPNOTSUPP);
    g_assert_cmpstr(fx->described, ==,
                    "membership change refused on 1 of 3 links: a2: Operation not supported, no "
                    "groups here");
    g_assert_cmpuint(gd_cache_link_by_index(fx->cache, 2)->nl.group, ==, 100);
}

static void test_moves_lost_answers(Fx *fx, gconstpointer data)
{
    /* Lost, but done: applied. Lost and not done (the link refused): not. */
    fake_kernel_lose_answers(fx->fk, TRUE);
    fake_kernel_refuse(fx->fk, 2, -EOPNOTSUPP, NULL);
    g_test_expect_message("groupd-policy", G_LOG_LEVEL_MESSAGE,
                          "group 200: membership change of 2 links by per-link messages*");
    g_test_expect_message("groupd-policy", G_LOG_LEVEL_WARNING,
                          "group 200: membership change: the kernel's answers for 1 links*");
    run(fx, per_link_op(GD_OP_SET_LINK_GROUP, 200, (const int[]){1, 2, 0}, NULL));
    g_test_assert_expected_messages();
    g_assert_cmpint(fx->outcome, ==, GD_OP_PARTIAL);
    g_assert_cmpuint(fx->applied, ==, 1);
    g_assert_cmpuint(fx->lost, ==, 1);
    g_assert_cmpstr(fx->applied_names, ==, "a1");
    g_assert_cmpstr(fx->refused, ==, "a2: No buffer space available");
}

static void test_address_add_and_remove(Fx *fx, gconstpointer data)
{
    run(fx, per_link_op(GD_OP_ADDR_ADD, 100, (const int[]){1, 2, 0}, "10.9.0.1/24"));
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_true(fake_kernel_has_addr(fx->fk, 2, "10.9.0.1/24"));
    g_assert_cmpuint(gd_cache_link_by_index(fx->cache, 2)->addrs->len, ==, 1);
    /* a1 has it already: refused there, done on a3. */
    run(fx, per_link_op(GD_OP_ADDR_ADD, 100, (const int[]){1, 3, 0}, "10.9.0.1/24"));
    g_assert_cmpint(fx->outcome, ==, GD_OP_PARTIAL);
    g_assert_cmpstr(fx->refused, ==, "a1: File exists");
    run(fx, per_link_op(GD_OP_ADDR_DEL, 100, (const int[]){1, 2, 3, 0}, "10.9.0.1/24"));
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(gd_cache_link_by_index(fx->cache, 3)->addrs->len, ==, 0);
}

static void test_address_add_silent(Fx *fx, gconstpointer data)
{
    /* Acknowledged, not made: not counted as done, whatever the ack said. */
    fake_kernel_silent_adds(fx->fk, TRUE);
    run(fx, per_link_op(GD_OP_ADDR_ADD, 100, (const int[]){1, 2, 0}, "10.9.0.1/24"));
    g_assert_cmpint(fx->outcome, ==, GD_OP_REFUSED);
    g_assert_cmpuint(fx->silent, ==, 2);
    g_assert_cmpint(fx->error, ==, -EIO);
    g_assert_cmpstr(fx->refused, ==,
                    "a1: acknowledged by the kernel, but not added,a2: acknowledged by the kernel, "
                    "but not added");
}

static void test_link_gone_before_the_kernel(Fx *fx, gconstpointer data)
{
    /* Deleted between the call and the kernel: the kernel answers ENODEV,
     * and a link that is gone is neither applied nor refused (no error for
     * what nobody can change any more). */
    GdOp *op = per_link_op(GD_OP_SET_LINK_GROUP, 200, (const int[]){1, 2, 0}, NULL);
    gd_runner_submit(fx->runner, op, done_cb, fx);
    fake_kernel_del_link(fx->fk, 2);
    while (!fx->done)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(fx->applied, ==, 1);
    g_assert_cmpuint(fx->gone, ==, 1);
    g_assert_cmpstr(fx->refused, ==, "");
}

static void test_link_gone_after_the_kernel(Fx *fx, gconstpointer data)
{
    /* Added, acknowledged, then the link deleted before the answers are
     * read: gone, not "acknowledged but not added". */
    fake_kernel_delete_after_next(fx->fk, 2);
    run(fx, per_link_op(GD_OP_ADDR_ADD, 100, (const int[]){1, 2, 0}, "10.9.0.1/24"));
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(fx->applied, ==, 1);
    g_assert_cmpuint(fx->silent, ==, 0);
    g_assert_cmpuint(fx->gone, ==, 1);
    g_assert_cmpstr(fx->refused, ==, "");
}

/* ---- the executor's queue ---- */

static void count_cb(GdOpResult *result, gpointer user_data)
{
    guint *order = user_data;
    /* Results come in submission order: this one's group is its number. */
    g_assert_cmpuint(result->op->group, ==, 300 + *order);
    (*order)++;
}

static void test_in_order(Fx *fx, gconstpointer data)
{
    guint order = 0;
    for (guint i = 0; i < 3; i++)
        gd_runner_submit(fx->runner,
                         per_link_op(GD_OP_SET_LINK_GROUP, 300 + i, (const int[]){1, 0}, NULL),
                         count_cb, &order);
    g_assert_cmpuint(gd_runner_pending(fx->runner), ==, 3);
    while (order < 3)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, 3);
    g_assert_cmpuint(gd_cache_link_by_index(fx->cache, 1)->nl.group, ==, 302);
}

static void cancelled_cb(GdOpResult *result, gpointer user_data)
{
    guint *n = user_data;
    g_assert_cmpint(result->outcome, ==, GD_OP_REFUSED);
    g_assert_cmpint(result->error, ==, -ECANCELED);
    (*n)++;
}

static void test_shutdown_answers_queued(Fx *fx, gconstpointer data)
{
    /* On exit, the operation with the kernel finishes and is answered;
     * those still queued never reach the kernel, and their callers hear so. */
    guint cancelled = 0;
    gd_runner_submit(fx->runner, mtu_op(fx, 100, 1400), done_cb, fx);
    gd_runner_submit(fx->runner, per_link_op(GD_OP_SET_LINK_GROUP, 200, (const int[]){1, 0}, NULL),
                     cancelled_cb, &cancelled);
    gd_executor_shutdown(fx->executor);
    g_assert_true(fx->done);
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(cancelled, ==, 1);
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, 1);
    g_assert_cmpuint(gd_cache_link_by_index(fx->cache, 1)->nl.group, ==, 100);
}

static void test_hold_taken_over(Fx *fx, gconstpointer data)
{
    /* A caller that takes the hold over releases the cache itself. */
    fx->take_hold = TRUE;
    run(fx, mtu_op(fx, 100, 1400));
    gd_cache_release(fx->cache);
    g_assert_cmpuint(cached_mtu(fx, 1), ==, 1400);
}

/* ---- the per-link path of a group change ---- */

static void test_per_link_undoes_the_tail(Fx *fx, gconstpointer data)
{
    /* a2 refuses: the group message would stop there, with a1 changed and
     * a3, a4 untouched. The per-link messages reached a3 and a4 in the same
     * sendmsg(); they are set back. */
    fake_kernel_refuse(fx->fk, 2, -EBUSY, "busy");
    run(fx, mtu_op(fx, 100, 1400));
    g_assert_cmpint(fx->path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpint(fx->outcome, ==, GD_OP_PARTIAL);
    g_assert_cmpstr(fx->applied_names, ==, "a1");
    g_assert_cmpstr(fx->refused, ==, "a2,a3,a4");
    g_assert_cmpstr(fx->stopped_at, ==, "a2");
    g_assert_cmpint(fx->error, ==, -EBUSY);
    g_assert_cmpstr(fx->extack, ==, "busy");
    const uint32_t want[] = {0, 1400, 1500, 1500, 1500, 1500};
    for (int i = 1; i <= 5; i++) {
        g_assert_cmpuint(fake_kernel_link(fx->fk, i)->mtu, ==, want[i]);
        g_assert_cmpuint(cached_mtu(fx, i), ==, want[i]);
    }
    /* a1..a4 once each, then a3 and a4 back. */
    g_assert_cmpuint(fake_kernel_link_messages(fx->fk), ==, 6);
    g_assert_cmpuint(fake_kernel_group_messages(fx->fk), ==, 0);
}

static void test_per_link_skips_members_that_have_it(Fx *fx, gconstpointer data)
{
    fake_kernel_set_mtu(fx->fk, 1, 1400);
    fake_kernel_set_mtu(fx->fk, 3, 1400);
    run(fx, mtu_op(fx, 100, 1400));
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(fx->applied, ==, 2);
    g_assert_cmpuint(fake_kernel_link_messages(fx->fk), ==, 2);
    for (int i = 1; i <= 4; i++)
        g_assert_cmpuint(cached_mtu(fx, i), ==, 1400);
}

static void test_per_link_nothing_to_send(Fx *fx, gconstpointer data)
{
    /* Every member has it: the cost model sends nothing at all. */
    gd_runner_force_path(fx->runner, GD_KPATH_AUTO);
    for (int i = 1; i <= 4; i++)
        fake_kernel_set_mtu(fx->fk, i, 1400);
    run(fx, mtu_op(fx, 100, 1400));
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(fx->applied, ==, 0);
    g_assert_cmpuint(fake_kernel_link_messages(fx->fk) + fake_kernel_group_messages(fx->fk), ==, 0);
}

static void test_per_link_mac_to_every_member(Fx *fx, gconstpointer data)
{
    /* A member with the address already still gets the message: one that
     * cannot change its address refuses it whatever it is, and would stop
     * the group message. */
    GdOp *op = gd_op_new(GD_OP_GROUP_CHANGE, 100);
    op->change.set_hwaddr = true;
    op->change.hwaddr_len = 6;
    memcpy(op->change.hwaddr, fake_kernel_link(fx->fk, 1)->hwaddr, 6);
    fake_kernel_refuse(fx->fk, 1, -EOPNOTSUPP, NULL);
    run(fx, op);
    g_assert_cmpint(fx->outcome, ==, GD_OP_REFUSED);
    g_assert_cmpstr(fx->stopped_at, ==, "a1");
    g_assert_cmpint(fx->error, ==, -EOPNOTSUPP);
    g_assert_cmpstr(fx->refused, ==, "a2,a3,a4");
    g_assert_cmpmem(fake_kernel_link(fx->fk, 2)->hwaddr, 6,
                    ((const uint8_t[]){0x02, 0, 0, 0, 0, 2}), 6);
}

static void test_per_link_subset(Fx *fx, gconstpointer data)
{
    /* A change for some members only (a hot-plugged link): never a group
     * message, even when forced, and targets outside the group are left
     * alone. */
    GdOp *op = mtu_op(fx, 100, 1400);
    g_array_set_size(op->targets, 0);
    g_array_append_vals(op->targets, (const int[]){2, 5}, 2);
    op->subset = TRUE;
    run(fx, op);
    g_assert_cmpint(fx->path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(fx->applied, ==, 1);
    const uint32_t want[] = {0, 1500, 1400, 1500, 1500, 1500};
    for (int i = 1; i <= 5; i++)
        g_assert_cmpuint(fake_kernel_link(fx->fk, i)->mtu, ==, want[i]);
}

static void test_per_link_member_gone(Fx *fx, gconstpointer data)
{
    /* a3 is deleted after the path was chosen, before the kernel got its
     * message: not a refusal, and the others go on. */
    gd_runner_submit(fx->runner, mtu_op(fx, 100, 1400), done_cb, fx);
    fake_kernel_del_link(fx->fk, 3);
    while (!fx->done)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(fx->applied, ==, 3);
    g_assert_cmpuint(fx->gone, ==, 1);
    g_assert_cmpint(fx->error, ==, 0);
    g_assert_cmpuint(cached_mtu(fx, 4), ==, 1400);
}

/* Links of group 300 whose indexes share the kernel's index lists: 10,
 * 266, 522 and 778 list 10, 11 and 267 list 11. In the kernel's order
 * (positions 0..5): 10 c1, 11 c2, 266 c3, 267 c4, 522 c5, 778 c6; sent list
 * by list, newest first: 778, 522, 266, 10, then 267, 11. */
static const int shared_lists[] = {10, 11, 266, 267, 522, 778};

static void add_shared_lists(Fx *fx)
{
    for (guint i = 0; i < G_N_ELEMENTS(shared_lists); i++) {
        g_autofree char *name = g_strdup_printf("c%u", i + 1);
        fake_kernel_add_link(fx->fk, shared_lists[i], name, 300, FALSE);
    }
}

static void assert_sent(Fx *fx, const int *want, guint n)
{
    const GArray *sent = fake_kernel_sent(fx->fk);
    g_assert_cmpmem(sent->data, sent->len * sizeof(int), want, n * sizeof(int));
}

static void test_per_link_lookup_order_stops_as_the_group_message(Fx *fx, gconstpointer data)
{
    /* c3 (266) refuses. The messages go out in the lookup order, so c5
     * and c6 were changed before c3's refusal, and c1, c2, c4 after: the
     * group message would have stopped at c3 with c1 and c2 changed, so c4,
     * c5 and c6 are set back, and the result is the group message's. */
    add_shared_lists(fx);
    fake_kernel_refuse(fx->fk, 266, -EBUSY, "busy");
    run(fx, mtu_op(fx, 300, 1400));
    g_assert_cmpint(fx->path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpint(fx->outcome, ==, GD_OP_PARTIAL);
    g_assert_cmpstr(fx->applied_names, ==, "c1,c2");
    g_assert_cmpstr(fx->refused, ==, "c3,c4,c5,c6");
    g_assert_cmpstr(fx->stopped_at, ==, "c3");
    g_assert_cmpint(fx->error, ==, -EBUSY);
    g_assert_cmpstr(fx->extack, ==, "busy");
    const uint32_t want[] = {1400, 1400, 1500, 1500, 1500, 1500};
    for (guint i = 0; i < G_N_ELEMENTS(shared_lists); i++) {
        g_assert_cmpuint(fake_kernel_link(fx->fk, shared_lists[i])->mtu, ==, want[i]);
        g_assert_cmpuint(cached_mtu(fx, shared_lists[i]), ==, want[i]);
    }
    /* One chunk in the lookup order, then the undo of c4, c5, c6. */
    const int sent[] = {778, 522, 266, 10, 267, 11, 267, 522, 778};
    assert_sent(fx, sent, G_N_ELEMENTS(sent));
}

static void test_per_link_lookup_order_applied(Fx *fx, gconstpointer data)
{
    add_shared_lists(fx);
    run(fx, mtu_op(fx, 300, 1400));
    g_assert_cmpint(fx->outcome, ==, GD_OP_APPLIED);
    g_assert_cmpuint(fx->applied, ==, 6);
    const int sent[] = {778, 522, 266, 10, 267, 11};
    assert_sent(fx, sent, G_N_ELEMENTS(sent));
    for (guint i = 0; i < G_N_ELEMENTS(shared_lists); i++)
        g_assert_cmpuint(cached_mtu(fx, shared_lists[i]), ==, 1400);
}

/* The executor alone, chunks of two: an MTU change of group 300 with the
 * undo values the runner would give it. */
static void executor_done_cb(GdOp *op, gpointer user_data)
{
    *(GdOp **)user_data = op;
}

static GdOp *run_in_chunks_of_two(Fx *fx)
{
    GdOp *op = mtu_op(fx, 300, 1400);
    op->path = GD_KPATH_PER_LINK;
    op->chunk = 2;
    op->before = g_array_new(FALSE, FALSE, sizeof(GdNlLinkChange));
    for (guint i = 0; i < op->targets->len; i++) {
        GdNlLinkChange before = {.set_mtu = true, .mtu = 1500};
        g_array_append_val(op->before, before);
    }
    GdOp *done = NULL;
    gd_executor_submit(fx->executor, op, executor_done_cb, &done);
    while (!done)
        g_main_context_iteration(NULL, TRUE);
    return done;
}

static void test_executor_earlier_refusal_in_a_later_chunk(Fx *fx, gconstpointer data)
{
    /* Chunks (778, 522), (266, 10), (267, 11). c5 (522) refuses in the
     * first: the rest before it in the kernel's order still goes out, and
     * c2 (11) refuses in the last, earlier in the kernel's order: the
     * group message would have stopped there, with only c1 changed. */
    add_shared_lists(fx);
    fake_kernel_refuse(fx->fk, 522, -ERANGE, NULL);
    fake_kernel_refuse(fx->fk, 11, -EBUSY, "busy");
    g_autoptr(GdOp) op = run_in_chunks_of_two(fx);
    g_assert_cmpuint(op->stopped, ==, 1);
    g_assert_cmpuint(op->sent, ==, 2);
    g_assert_cmpint(op->error, ==, -EBUSY);
    g_assert_cmpstr(op->extack, ==, "busy");
    /* Three chunks, the undo in two. */
    g_assert_cmpuint(op->sends, ==, 5);
    g_assert_cmpint(op->acks[1].error, ==, -EBUSY);
    g_assert_cmpint(op->acks[4].error, ==, -ERANGE);
    /* c3, c4, c6 set back; c5 refused, so unchanged. */
    g_assert_cmpuint(op->undone, ==, 3);
    const int sent[] = {778, 522, 266, 10, 267, 11, 266, 267, 778};
    assert_sent(fx, sent, G_N_ELEMENTS(sent));
    for (guint i = 0; i < G_N_ELEMENTS(shared_lists); i++)
        g_assert_cmpuint(fake_kernel_link(fx->fk, shared_lists[i])->mtu, ==, i == 0 ? 1400 : 1500);
}

static void test_executor_later_targets_not_sent_after_a_refusal(Fx *fx, gconstpointer data)
{
    /* c1 (10), the first in the kernel's order, refuses in the second
     * chunk: the third (267, 11), after it, never goes out, and the first
     * chunk's changes are set back. */
    add_shared_lists(fx);
    fake_kernel_refuse(fx->fk, 10, -EBUSY, NULL);
    g_autoptr(GdOp) op = run_in_chunks_of_two(fx);
    g_assert_cmpuint(op->stopped, ==, 0);
    g_assert_cmpuint(op->sent, ==, 1);
    /* Two chunks, the undo in two. */
    g_assert_cmpuint(op->sends, ==, 4);
    g_assert_cmpuint(op->requests, ==, 7);
    g_assert_cmpuint(op->undone, ==, 3);
    const int sent[] = {778, 522, 266, 10, 266, 522, 778};
    assert_sent(fx, sent, G_N_ELEMENTS(sent));
    for (guint i = 0; i < G_N_ELEMENTS(shared_lists); i++)
        g_assert_cmpuint(fake_kernel_link(fx->fk, shared_lists[i])->mtu, ==, 1500);
}

static void test_executor_moves_in_lookup_order(Fx *fx, gconstpointer data)
{
    /* Moves and addresses do not stop: every target is sent, each answer
     * filed under its own target. */
    add_shared_lists(fx);
    fake_kernel_refuse(fx->fk, 266, -EBUSY, NULL);
    GdOp *op = gd_op_new(GD_OP_SET_LINK_GROUP, 400);
    g_array_append_vals(op->targets, shared_lists, G_N_ELEMENTS(shared_lists));
    op->path = GD_KPATH_PER_LINK;
    op->chunk = 4;
    GdOp *done = NULL;
    gd_executor_submit(fx->executor, op, executor_done_cb, &done);
    while (!done)
        g_main_context_iteration(NULL, TRUE);
    g_autoptr(GdOp) owned = done;
    const int sent[] = {778, 522, 266, 10, 267, 11};
    assert_sent(fx, sent, G_N_ELEMENTS(sent));
    for (guint i = 0; i < G_N_ELEMENTS(shared_lists); i++) {
        g_assert_cmpint(done->acks[i].error, ==, shared_lists[i] == 266 ? -EBUSY : 0);
        g_assert_cmpuint(fake_kernel_link(fx->fk, shared_lists[i])->group, ==,
                         shared_lists[i] == 266 ? 300 : 400);
    }
    g_assert_cmpuint(done->sends, ==, 2);
}

static void test_paths_counted(Fx *fx, gconstpointer data)
{
    guint64 counts[GD_KPATH_N];
    run(fx, mtu_op(fx, 100, 1400));
    gd_runner_force_path(fx->runner, GD_KPATH_PER_LINK);
    run(fx, mtu_op(fx, 100, 1450));
    run(fx, per_link_op(GD_OP_SET_LINK_GROUP, 200, (const int[]){1, 0}, NULL));
    gd_runner_path_counts(fx->runner, counts);
    g_assert_cmpuint(counts[GD_KPATH_AUTO], ==, 0);
    g_assert_cmpuint(counts[GD_KPATH_GROUP], ==, 1);
    g_assert_cmpuint(counts[GD_KPATH_PER_LINK], ==, 2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fx, NULL, fx_set_up, fn, fx_tear_down)
/* Both kernel paths of a group change give the same result. */
#define ADD_BOTH(path, fn)                                                                         \
    do {                                                                                           \
        g_test_add(path "/group", Fx, GINT_TO_POINTER(GD_KPATH_GROUP), fx_set_up, fn,              \
                   fx_tear_down);                                                                  \
        g_test_add(path "/per-link", Fx, GINT_TO_POINTER(GD_KPATH_PER_LINK), fx_set_up, fn,        \
                   fx_tear_down);                                                                  \
    } while (0)
#define ADD_PER_LINK(path, fn)                                                                     \
    g_test_add(path, Fx, GINT_TO_POINTER(GD_KPATH_PER_LINK), fx_set_up, fn, fx_tear_down)
    ADD_BOTH("/runner/group-change/applied", test_group_change_applied);
    ADD_BOTH("/runner/group-change/stopped-part-way", test_group_change_stopped_part_way);
    g_test_add("/runner/group-change/named-member", Fx, GINT_TO_POINTER(GD_KPATH_GROUP), fx_set_up,
               test_group_change_named_member, fx_tear_down);
    ADD_BOTH("/runner/group-change/refused", test_group_change_refused);
    ADD_BOTH("/runner/group-change/already-matching", test_group_change_already_matching);
    ADD_BOTH("/runner/group-change/lost-answer", test_group_change_lost_answer);
    ADD_PER_LINK("/runner/per-link/undoes-the-tail", test_per_link_undoes_the_tail);
    ADD_PER_LINK("/runner/per-link/skips-members-that-have-it",
                 test_per_link_skips_members_that_have_it);
    ADD_PER_LINK("/runner/per-link/nothing-to-send", test_per_link_nothing_to_send);
    ADD_PER_LINK("/runner/per-link/mac-to-every-member", test_per_link_mac_to_every_member);
    g_test_add("/runner/per-link/subset", Fx, GINT_TO_POINTER(GD_KPATH_GROUP), fx_set_up,
               test_per_link_subset, fx_tear_down);
    ADD_PER_LINK("/runner/per-link/member-gone", test_per_link_member_gone);
    ADD_PER_LINK("/runner/per-link/lookup-order/stops-as-the-group-message",
                 test_per_link_lookup_order_stops_as_the_group_message);
    ADD_PER_LINK("/runner/per-link/lookup-order/applied", test_per_link_lookup_order_applied);
    ADD("/executor/per-link/earlier-refusal-in-a-later-chunk",
        test_executor_earlier_refusal_in_a_later_chunk);
    ADD("/executor/per-link/later-targets-not-sent-after-a-refusal",
        test_executor_later_targets_not_sent_after_a_refusal);
    ADD("/executor/per-link/moves-in-lookup-order", test_executor_moves_in_lookup_order);
    ADD("/runner/paths-counted", test_paths_counted);
    ADD("/runner/moves/applied", test_moves_applied);
    ADD("/runner/moves/unannounced", test_moves_unannounced);
    ADD("/runner/moves/partial", test_moves_partial);
    ADD("/runner/moves/lost-answers", test_moves_lost_answers);
    ADD("/runner/address/add-and-remove", test_address_add_and_remove);
    ADD("/runner/address/silent-add", test_address_add_silent);
    ADD("/runner/link-gone", test_link_gone_before_the_kernel);
    ADD("/runner/link-gone-after-the-answer", test_link_gone_after_the_kernel);
    ADD("/runner/in-order", test_in_order);
    ADD("/runner/shutdown", test_shutdown_answers_queued);
    ADD("/runner/hold-taken-over", test_hold_taken_over);
    return g_test_run();
}

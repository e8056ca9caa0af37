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

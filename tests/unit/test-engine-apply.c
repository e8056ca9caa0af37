/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/policy/engine.c applying policies through the runner on
 * the fake kernel (fake-kernel.c): the first apply, a refusal and its
 * back-off, a lost answer judged by the same rule as a D-Bus call's, drift
 * repair and hot-plug. The configuration lives in a temporary directory.
 */
#include "fake-kernel.h"
#include "policy/engine.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

typedef struct {
    char *root;
    GPtrArray *files; /* relative paths written, removed in teardown */
    GdCache *cache;
    FakeKernel *fk;
    GdExecutor *executor;
    GdRunner *runner;
    GdGroupNames *names;
    GdEngine *engine;
    guint changes;
    gboolean done;
    char *error;
} Fx;

/* Warnings the code logged, checked by the tests (they are not fatal here). */
static GPtrArray *warnings;

static void log_cb(const char *domain, GLogLevelFlags level, const char *message,
                   gpointer user_data)
{
    if (level & G_LOG_LEVEL_WARNING)
        g_ptr_array_add(warnings, g_strdup(message));
}

static gboolean warned(const char *pattern)
{
    for (guint i = 0; i < warnings->len; i++)
        if (g_pattern_match_simple(pattern, warnings->pdata[i]))
            return TRUE;
    return FALSE;
}

static void write_file(Fx *fx, const char *rel, const char *text)
{
    g_autofree char *path = g_build_filename(fx->root, rel, NULL);
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    g_autoptr(GError) error = NULL;
    g_assert_true(g_file_set_contents(path, text, -1, &error));
    g_ptr_array_add(fx->files, g_strdup(rel));
}

static void changed_cb(GdEngine *engine, gpointer user_data)
{
    ((Fx *)user_data)->changes++;
}

static void fx_set_up(Fx *fx, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    fx->root = g_dir_make_tmp("gd-test-engine-apply-XXXXXX", &error);
    g_assert_no_error(error);
    fx->files = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_set_size(warnings, 0);
    write_file(fx, "etc/groupd/groupd.conf", "[Daemon]\nDriftDebounceSec=0.01\n");
    write_file(fx, GD_CONFIG_ADMIN_DIR "/50-web.group",
               "[Group]\nName=web\nId=100\n[Match]\nName=web*\n[Link]\nMTU=1400\n"
               "[Address]\nAddress=10.7.0.1/24\n");
    fx->cache = gd_cache_new_detached();
    fx->fk = fake_kernel_new(fx->cache);
    fx->executor = fake_kernel_executor(fx->fk);
    fx->runner = gd_runner_new(fx->cache, fx->executor);
    /* Stock kernel: DOWN links' moves are not announced. */
    fake_kernel_announce_down_moves(fx->fk, FALSE);
    fake_kernel_add_link(fx->fk, 1, "web1", 0, FALSE);
    fake_kernel_add_link(fx->fk, 2, "web2", 0, TRUE);
    fake_kernel_add_link(fx->fk, 3, "db1", 0, FALSE);
}

static void fx_tear_down(Fx *fx, gconstpointer data)
{
    gd_engine_free(fx->engine);
    gd_group_names_free(fx->names);
    gd_runner_free(fx->runner);
    gd_executor_free(fx->executor);
    fake_kernel_free(fx->fk);
    gd_cache_free(fx->cache);
    g_free(fx->error);
    for (guint i = 0; i < fx->files->len; i++) {
        g_autofree char *path = g_build_filename(fx->root, fx->files->pdata[i], NULL);
        g_assert_cmpint(g_remove(path), ==, 0);
    }
    const char *const dirs[] = {GD_CONFIG_ADMIN_DIR, "etc/groupd", "etc"};
    for (guint i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *path = g_build_filename(fx->root, dirs[i], NULL);
        g_rmdir(path);
    }
    g_assert_cmpint(g_rmdir(fx->root), ==, 0);
    g_ptr_array_unref(fx->files);
    g_free(fx->root);
}

static void done_cb(GdEngine *engine, const char *plan_json, const char *error, gpointer user_data)
{
    Fx *fx = user_data;
    fx->done = TRUE;
    g_free(fx->error);
    fx->error = g_strdup(error);
}

static void wait_done(Fx *fx)
{
    while (!fx->done)
        g_main_context_iteration(NULL, TRUE);
}

static void start(Fx *fx)
{
    fx->names = gd_group_names_load(fx->root);
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    GdConfig *config = NULL;
    g_assert_cmpint(gd_config_load(fx->root, fx->names, &config, errors), ==, 0);
    fx->engine = gd_engine_new(fx->cache, fx->runner, fx->names, fx->root, config, changed_cb, fx);
    fx->done = FALSE;
    gd_engine_start(fx->engine, done_cb, fx);
    wait_done(fx);
}

static const char *last_error(Fx *fx, uint32_t id)
{
    GdEngineGroupState state;
    g_assert_true(gd_engine_group_state(fx->engine, id, &state));
    return state.last_error;
}

/* Runs the loop for msec (debounce and retry timers). */
static void spin(guint msec)
{
    gint64 until = g_get_monotonic_time() + msec * 1000;
    while (g_get_monotonic_time() < until)
        g_main_context_iteration(NULL, FALSE);
}

static void test_first_apply(Fx *fx, gconstpointer data)
{
    start(fx);
    g_assert_null(fx->error);
    for (int i = 1; i <= 2; i++) {
        const GdNlLink *l = fake_kernel_link(fx->fk, i);
        g_assert_cmpuint(l->group, ==, 100);
        g_assert_cmpuint(l->mtu, ==, 1400);
        g_assert_true(fake_kernel_has_addr(fx->fk, i, "10.7.0.1/24"));
        /* The cache agrees, unannounced moves included. */
        g_assert_cmpuint(gd_cache_link_by_index(fx->cache, i)->nl.group, ==, 100);
    }
    g_assert_cmpuint(fake_kernel_link(fx->fk, 3)->group, ==, 0);
    /* One message each: the moves, the group change, the addresses. */
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, 3);
    g_assert_cmpstr(last_error(fx, 100), ==, "");
    /* Nothing left to do: applying again sends nothing. */
    gd_engine_links_changed(fx->engine);
    spin(50);
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, 3);
}

static void test_refusal_backs_off(Fx *fx, gconstpointer data)
{
    /* web2 is in the group already and refuses every change. */
    fake_kernel_add_link(fx->fk, 2, "web2", 100, TRUE);
    fake_kernel_refuse(fx->fk, 2, -EINVAL, "web2: mtu out of range");
    start(fx);
    g_assert_true(warned("group 100: apply: group change refused: Invalid argument (errno 22): "
                         "web2: mtu out of range"));
    g_assert_nonnull(fx->error);
    g_assert_nonnull(strstr(last_error(fx, 100), "refused"));
    /* The group change stopped at web2: web1 has the MTU, web2 not. */
    g_assert_cmpuint(fake_kernel_link(fx->fk, 1)->mtu, ==, 1400);
    g_assert_cmpuint(fake_kernel_link(fx->fk, 2)->mtu, ==, 1500);
    /* Backing off: a change of links does not retry before the timer. */
    guint ops = fake_kernel_ops(fx->fk);
    gd_engine_links_changed(fx->engine);
    spin(100);
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, ops);
    /* Once the kernel accepts, the retry (after 1 s) clears the error. */
    fake_kernel_refuse(fx->fk, 2, 0, NULL);
    spin(1200);
    g_assert_cmpuint(fake_kernel_link(fx->fk, 2)->mtu, ==, 1400);
    g_assert_cmpstr(last_error(fx, 100), ==, "");
}

/* A lost answer whose change is in place is applied here too, as for a
 * D-Bus call: no LastError, no back-off. */
static void test_lost_answer_applied(Fx *fx, gconstpointer data)
{
    fake_kernel_lose_answers(fx->fk, TRUE);
    /* What a lost answer leaves is read back; the detached cache cannot ask
     * the fake, which announces every move instead. */
    fake_kernel_announce_down_moves(fx->fk, TRUE);
    start(fx);
    g_assert_true(
        warned("group 100: membership change: the kernel's answers for 2 links were lost*"));
    g_assert_true(warned("group 100: group change: the kernel's answers for 2 links were lost*"));
    g_assert_true(warned("group 100: address add: the kernel's answers for 2 links were lost*"));
    g_assert_false(warned("*apply:*"));
    g_assert_null(fx->error);
    g_assert_cmpstr(last_error(fx, 100), ==, "");
    g_assert_cmpuint(fake_kernel_link(fx->fk, 2)->mtu, ==, 1400);
}

static void test_drift_and_hotplug(Fx *fx, gconstpointer data)
{
    start(fx);
    guint ops = fake_kernel_ops(fx->fk);
    /* Someone else changes web1's MTU: put back after the debounce. */
    fake_kernel_set_mtu(fx->fk, 1, 1500);
    gd_engine_links_changed(fx->engine);
    spin(200);
    g_assert_cmpuint(fake_kernel_link(fx->fk, 1)->mtu, ==, 1400);
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, ops + 1);
    /* A new link that matches joins and gets the policy. */
    fake_kernel_add_link(fx->fk, 4, "web3", 0, FALSE);
    gd_engine_links_changed(fx->engine);
    spin(200);
    const GdNlLink *l = fake_kernel_link(fx->fk, 4);
    g_assert_cmpuint(l->group, ==, 100);
    g_assert_cmpuint(l->mtu, ==, 1400);
    g_assert_true(fake_kernel_has_addr(fx->fk, 4, "10.7.0.1/24"));
}

/* groupd.conf again (the file fx_set_up() wrote). */
static void rewrite_daemon_conf(Fx *fx, const char *text)
{
    g_autofree char *path = g_build_filename(fx->root, "etc/groupd/groupd.conf", NULL);
    g_autoptr(GError) error = NULL;
    g_assert_true(g_file_set_contents(path, text, -1, &error));
}

/* Until the kernel shows link ifindex in the web policy, or a bound. */
static gboolean wait_configured(Fx *fx, int ifindex, guint msec)
{
    gint64 until = g_get_monotonic_time() + msec * 1000;
    while (g_get_monotonic_time() < until) {
        const GdNlLink *l = fake_kernel_link(fx->fk, ifindex);
        if (l && l->group == 100 && l->mtu == 1400 &&
            fake_kernel_has_addr(fx->fk, ifindex, "10.7.0.1/24"))
            return TRUE;
        g_main_context_iteration(NULL, FALSE);
    }
    return FALSE;
}

static void test_hotplug_without_the_debounce(Fx *fx, gconstpointer data)
{
    /* A drift debounce of a minute: the new link does not wait for it, and
     * the drift of another member is left to it. */
    rewrite_daemon_conf(fx, "[Daemon]\nDriftDebounceSec=60\n");
    start(fx);
    fake_kernel_set_mtu(fx->fk, 1, 9000);
    gd_engine_links_changed(fx->engine);
    guint ops = fake_kernel_ops(fx->fk);
    guint link_messages = fake_kernel_link_messages(fx->fk);
    guint group_messages = fake_kernel_group_messages(fx->fk);
    fake_kernel_add_link(fx->fk, 4, "web3", 0, FALSE);
    g_assert_true(wait_configured(fx, 4, 1000));
    /* Its move, its MTU (one per-link message, for it alone), its address. */
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, ops + 3);
    g_assert_cmpuint(fake_kernel_link_messages(fx->fk), ==, link_messages + 3);
    g_assert_cmpuint(fake_kernel_group_messages(fx->fk), ==, group_messages);
    spin(100);
    g_assert_cmpuint(fake_kernel_link(fx->fk, 1)->mtu, ==, 9000);
    g_assert_cmpuint(fake_kernel_link(fx->fk, 3)->group, ==, 0);
    g_assert_cmpstr(last_error(fx, 100), ==, "");
}

static void test_hotplug_burst_in_one_batch(Fx *fx, gconstpointer data)
{
    rewrite_daemon_conf(fx, "[Daemon]\nDriftDebounceSec=60\n");
    start(fx);
    guint ops = fake_kernel_ops(fx->fk);
    /* Announced together (one read of the event socket): one batch. */
    for (int i = 0; i < 50; i++) {
        g_autofree char *name = g_strdup_printf("web%d", 10 + i);
        fake_kernel_add_link(fx->fk, 10 + i, name, 0, FALSE);
    }
    fake_kernel_add_link(fx->fk, 99, "db9", 0, FALSE);
    for (int i = 0; i < 50; i++)
        g_assert_true(wait_configured(fx, 10 + i, 1000));
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, ops + 3);
    g_assert_cmpuint(fake_kernel_link(fx->fk, 99)->group, ==, 0);
    g_assert_cmpuint(fake_kernel_link(fx->fk, 99)->mtu, ==, 1500);
}

static void test_hotplug_link_gone(Fx *fx, gconstpointer data)
{
    /* Deleted before its batch ran: nothing sent, nothing said. */
    rewrite_daemon_conf(fx, "[Daemon]\nDriftDebounceSec=60\n");
    start(fx);
    guint ops = fake_kernel_ops(fx->fk);
    g_ptr_array_set_size(warnings, 0);
    fake_kernel_add_link(fx->fk, 4, "web3", 0, FALSE);
    fake_kernel_del_link(fx->fk, 4);
    spin(100);
    g_assert_cmpuint(fake_kernel_ops(fx->fk), ==, ops);
    g_assert_cmpuint(warnings->len, ==, 0);
    g_assert_cmpstr(last_error(fx, 100), ==, "");
}

static void test_hotplug_renamed(Fx *fx, gconstpointer data)
{
    /* A link that takes a matching name (udev renames links) is new to the
     * policy. */
    rewrite_daemon_conf(fx, "[Daemon]\nDriftDebounceSec=60\n");
    start(fx);
    fake_kernel_add_link(fx->fk, 4, "eth9", 0, FALSE);
    spin(50);
    g_assert_cmpuint(fake_kernel_link(fx->fk, 4)->group, ==, 0);
    fake_kernel_rename(fx->fk, 4, "web9");
    g_assert_true(wait_configured(fx, 4, 1000));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
    warnings = g_ptr_array_new_with_free_func(g_free);
    g_log_set_handler("groupd-policy", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, log_cb, NULL);
#define ADD(path, fn) g_test_add(path, Fx, NULL, fx_set_up, fn, fx_tear_down)
    ADD("/engine-apply/first-apply", test_first_apply);
    ADD("/engine-apply/refusal-backs-off", test_refusal_backs_off);
    ADD("/engine-apply/lost-answer-applied", test_lost_answer_applied);
    ADD("/engine-apply/drift-and-hotplug", test_drift_and_hotplug);
    ADD("/engine-apply/hotplug/without-the-debounce", test_hotplug_without_the_debounce);
    ADD("/engine-apply/hotplug/burst-in-one-batch", test_hotplug_burst_in_one_batch);
    ADD("/engine-apply/hotplug/link-gone", test_hotplug_link_gone);
    ADD("/engine-apply/hotplug/renamed", test_hotplug_renamed);
    return g_test_run();
}

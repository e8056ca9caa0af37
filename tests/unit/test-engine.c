/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of the runtime overrides of src/policy/engine.c: what a
 * SetGroup on a policy group leaves behind. The engine runs on a detached,
 * empty cache and without an executor (no link: no operation), over a
 * configuration root in a temporary directory. Under ASan these catch an
 * override freed while still stored (SetGroup twice on one group).
 */
#include "policy/engine.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

typedef struct {
    char *root;
    GdCache *cache;
    GdGroupNames *names;
    GdEngine *engine;
    guint changes;
} Fixture;

static void write_file(const char *root, const char *rel, const char *text)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    g_autoptr(GError) error = NULL;
    g_assert_true(g_file_set_contents(path, text, -1, &error));
    g_assert_no_error(error);
}

static void changed_cb(GdEngine *engine, gpointer user_data)
{
    ((Fixture *)user_data)->changes++;
}

static void fixture_set_up(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    f->root = g_dir_make_tmp("gd-test-engine-XXXXXX", &error);
    g_assert_no_error(error);
    write_file(f->root, GD_CONFIG_ADMIN_DIR "/50-web.group",
               "[Group]\nName=web\nId=100\n[Match]\nName=web*\n[Link]\nMTU=1400\n");
    write_file(f->root, GD_CONFIG_ADMIN_DIR "/60-db.group",
               "[Group]\nName=db\nId=200\n[Match]\nName=db*\n");
    f->names = gd_group_names_load(f->root);
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    GdConfig *config = NULL;
    g_assert_cmpint(gd_config_load(f->root, f->names, &config, errors), ==, 0);
    f->cache = gd_cache_new_detached();
    f->engine = gd_engine_new(f->cache, NULL, f->names, f->root, config, changed_cb, f);
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
    gd_engine_free(f->engine);
    gd_cache_free(f->cache);
    gd_group_names_free(f->names);
    /* The tree is ours: a few files and directories. */
    const char *const files[] = {GD_CONFIG_ADMIN_DIR "/50-web.group",
                                 GD_CONFIG_ADMIN_DIR "/60-db.group", GD_CONFIG_ADMIN_DIR,
                                 "etc/groupd", "etc"};
    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *path = g_build_filename(f->root, files[i], NULL);
        g_remove(path);
    }
    g_assert_cmpint(g_rmdir(f->root), ==, 0);
    g_free(f->root);
}

static GdNlLinkChange mtu_change(uint32_t mtu)
{
    GdNlLinkChange c = {.set_mtu = true, .mtu = mtu};
    return c;
}

static GdNlLinkChange state_change(gboolean up)
{
    GdNlLinkChange c = {.set_state = true, .up = up};
    return c;
}

static void assert_desired(GdEngine *engine, uint32_t id, gboolean overridden, uint32_t mtu, int up)
{
    GdEngineGroupState state;
    g_assert_true(gd_engine_group_state(engine, id, &state));
    g_assert_cmpint(state.overridden, ==, overridden);
    g_assert_true(state.desired.set_mtu == (mtu != 0));
    if (mtu)
        g_assert_cmpuint(state.desired.mtu, ==, mtu);
    g_assert_true(state.desired.set_state == (up >= 0));
    if (up >= 0)
        g_assert_cmpint(state.desired.up, ==, up);
}

/* SetGroup after SetGroup on one policy group, all accepted: each merges
 * into the one override (the second used to free it while stored). */
static void test_repeated_overrides(Fixture *f, gconstpointer data)
{
    GdEngineOverrideUndo undo;
    assert_desired(f->engine, 100, FALSE, 1400, -1);
    for (guint round = 0; round < 50; round++) {
        GdNlLinkChange mtu = mtu_change(1300 + round);
        g_assert_true(gd_engine_set_override(f->engine, 100, &mtu, &undo));
        g_assert_cmpint(undo.had_previous, ==, round > 0);
        if (round > 0)
            g_assert_cmpuint(undo.previous.mtu, ==, 1300 + round - 1);
        gd_engine_override_done(f->engine, 100, TRUE, &undo);
        assert_desired(f->engine, 100, TRUE, 1300 + round, round > 0 ? (int)(round % 2) : -1);
        GdNlLinkChange state = state_change((round + 1) % 2);
        g_assert_true(gd_engine_set_override(f->engine, 100, &state, &undo));
        g_assert_true(undo.had_previous);
        gd_engine_override_done(f->engine, 100, TRUE, &undo);
        assert_desired(f->engine, 100, TRUE, 1300 + round, (round + 1) % 2);
    }
    /* A group without a policy takes no override. */
    GdNlLinkChange mtu = mtu_change(1280);
    GdEngineGroupState state;
    g_assert_false(gd_engine_set_override(f->engine, 300, &mtu, &undo));
    g_assert_false(gd_engine_group_state(f->engine, 300, &state));
}

/* Two calls in flight on one group, both overlapping: the second merges
 * into what the first left; a refused one restores what it replaced. */
static void test_refused_override_restores(Fixture *f, gconstpointer data)
{
    GdEngineOverrideUndo first, second;
    GdNlLinkChange mtu = mtu_change(1300);
    g_assert_true(gd_engine_set_override(f->engine, 100, &mtu, &first));
    g_assert_false(first.had_previous);
    GdNlLinkChange state = state_change(TRUE);
    g_assert_true(gd_engine_set_override(f->engine, 100, &state, &second));
    g_assert_true(second.had_previous);
    assert_desired(f->engine, 100, TRUE, 1300, TRUE);
    /* The second refused: back to the first's override. */
    gd_engine_override_done(f->engine, 100, FALSE, &second);
    assert_desired(f->engine, 100, TRUE, 1300, -1);
    /* The first accepted: it stays. */
    gd_engine_override_done(f->engine, 100, TRUE, &first);
    assert_desired(f->engine, 100, TRUE, 1300, -1);
    /* A third, refused, with an override stored: the stored one stays. */
    mtu = mtu_change(1200);
    g_assert_true(gd_engine_set_override(f->engine, 100, &mtu, &first));
    gd_engine_override_done(f->engine, 100, FALSE, &first);
    assert_desired(f->engine, 100, TRUE, 1300, -1);
    /* Without any before it: refused means no override at all. */
    g_assert_true(gd_engine_set_override(f->engine, 200, &mtu, &second));
    g_assert_false(second.had_previous);
    gd_engine_override_done(f->engine, 200, FALSE, &second);
    assert_desired(f->engine, 200, FALSE, 0, -1);
}

static void reload_done_cb(GdEngine *engine, const char *plan_json, const char *error,
                           gpointer user_data)
{
    g_assert_null(error);
    g_assert_nonnull(plan_json);
    (*(guint *)user_data)++;
}

/* An override across a reload: the reload drops it, and a call that was
 * in flight meanwhile neither brings it back when refused nor breaks the
 * next override. */
static void test_override_across_reload(Fixture *f, gconstpointer data)
{
    GdEngineOverrideUndo undo, before_reload;
    GdNlLinkChange mtu = mtu_change(1300);
    g_assert_true(gd_engine_set_override(f->engine, 100, &mtu, &undo));
    gd_engine_override_done(f->engine, 100, TRUE, &undo);
    mtu = mtu_change(1280);
    g_assert_true(gd_engine_set_override(f->engine, 100, &mtu, &before_reload));
    g_assert_true(before_reload.had_previous);

    guint reloads = 0, changes = f->changes;
    gd_engine_reload(f->engine, FALSE, reload_done_cb, &reloads);
    g_assert_cmpuint(reloads, ==, 1);
    g_assert_cmpuint(f->changes, >, changes);
    assert_desired(f->engine, 100, FALSE, 1400, -1);

    /* The call from before the reload is refused now: nothing comes back. */
    gd_engine_override_done(f->engine, 100, FALSE, &before_reload);
    assert_desired(f->engine, 100, FALSE, 1400, -1);

    for (guint round = 0; round < 3; round++) {
        GdNlLinkChange state = state_change(round % 2);
        g_assert_true(gd_engine_set_override(f->engine, 100, &state, &undo));
        g_assert_cmpint(undo.had_previous, ==, round > 0);
        gd_engine_override_done(f->engine, 100, TRUE, &undo);
        assert_desired(f->engine, 100, TRUE, 1400, round % 2);
    }
    /* And once more across a second reload, accepted this time. */
    g_assert_true(gd_engine_set_override(f->engine, 100, &mtu, &undo));
    gd_engine_reload(f->engine, FALSE, reload_done_cb, &reloads);
    g_assert_cmpuint(reloads, ==, 2);
    gd_engine_override_done(f->engine, 100, TRUE, &undo);
    assert_desired(f->engine, 100, FALSE, 1400, -1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/engine/override/repeated", Fixture, NULL, fixture_set_up, test_repeated_overrides,
               fixture_tear_down);
    g_test_add("/engine/override/refused-restores", Fixture, NULL, fixture_set_up,
               test_refused_override_restores, fixture_tear_down);
    g_test_add("/engine/override/across-reload", Fixture, NULL, fixture_set_up,
               test_override_across_reload, fixture_tear_down);
    return g_test_run();
}

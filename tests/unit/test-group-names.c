/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/config/group-names.c: the iproute2 group file format,
 * resolving group texts, and where the file is read from.
 */
#include "config/group-names.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

static GdGroupNames *parse(const char *text, GPtrArray *warnings)
{
    return gd_group_names_parse(text, strlen(text), warnings);
}

static void assert_resolves(const GdGroupNames *names, const char *text, uint32_t want)
{
    uint32_t id = 0xdeadbeef;
    g_test_message("resolve \"%s\"", text);
    g_assert_cmpint(gd_group_names_resolve(names, text, &id), ==, 0);
    g_assert_cmpuint(id, ==, want);
}

static void assert_resolve_fails(const GdGroupNames *names, const char *text, int want)
{
    uint32_t id = 0xdeadbeef;
    g_test_message("resolve \"%s\"", text);
    g_assert_cmpint(gd_group_names_resolve(names, text, &id), ==, want);
    g_assert_cmpuint(id, ==, 0xdeadbeef);
}

/* ---- the file format ---- */

static void test_parse_format(void)
{
    const char *text = "# /etc/iproute2/group\n"
                       "#\n"
                       "0\tdefault\n"
                       "\n"
                       "   \n"
                       "10 ten\n"
                       "\t20\t\ttwenty   # trailing comment\n"
                       "0x64 hundred\n"
                       "0XfF two-fifty-five\n"
                       "4294967295 last\n"
                       "30 under_score.dot:colon\n"
                       "40 crlf\r\n"
                       "50 no-newline-at-end";
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GdGroupNames) names = parse(text, warnings);
    for (guint i = 0; i < warnings->len; i++)
        g_test_message("warning: %s", (char *)warnings->pdata[i]);
    g_assert_cmpuint(warnings->len, ==, 0);

    g_assert_cmpstr(gd_group_names_name(names, 0), ==, "default");
    g_assert_cmpstr(gd_group_names_name(names, 10), ==, "ten");
    g_assert_cmpstr(gd_group_names_name(names, 20), ==, "twenty");
    g_assert_cmpstr(gd_group_names_name(names, 100), ==, "hundred");
    g_assert_cmpstr(gd_group_names_name(names, 255), ==, "two-fifty-five");
    g_assert_cmpstr(gd_group_names_name(names, 4294967295u), ==, "last");
    g_assert_cmpstr(gd_group_names_name(names, 30), ==, "under_score.dot:colon");
    g_assert_cmpstr(gd_group_names_name(names, 40), ==, "crlf");
    g_assert_cmpstr(gd_group_names_name(names, 50), ==, "no-newline-at-end");
    g_assert_null(gd_group_names_name(names, 1));
    g_assert_null(gd_group_names_name(names, 11));

    assert_resolves(names, "ten", 10);
    assert_resolves(names, "twenty", 20);
    assert_resolves(names, "hundred", 100);
    assert_resolves(names, "last", 4294967295u);
    assert_resolves(names, "default", 0);
    /* A parsed text has no source file. */
    g_assert_null(gd_group_names_source(names));
}

static void test_parse_default_always(void)
{
    /* Empty data, comments only, and a file without a line for 0. */
    const char *texts[] = {"", "# nothing\n\n", "7 seven\n"};
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
        g_autoptr(GdGroupNames) names = parse(texts[i], NULL);
        g_assert_cmpstr(gd_group_names_name(names, 0), ==, "default");
        assert_resolves(names, "default", 0);
    }
}

static void test_parse_bad_lines(void)
{
    const char *text = "10 ten\n"
                       "abc def\n"        /* id not a number */
                       "11\n"             /* no name */
                       "12 a b\n"         /* extra field */
                       "13 9lives\n"      /* a name that reads as a number */
                       "14 sp@ce\n"       /* a character ip refuses */
                       "4294967296 big\n" /* above 32 bits */
                       "-1 minus\n"       /* negative */
                       "0x hex\n"         /* no hex digits */
                       "0x1g bad-hex\n"   /* not hex */
                       "15abc glued\n"    /* garbage after the number */
                       "16 sixteen\n";
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GdGroupNames) names = parse(text, warnings);
    for (guint i = 0; i < warnings->len; i++)
        g_test_message("warning: %s", (char *)warnings->pdata[i]);
    g_assert_cmpuint(warnings->len, ==, 10);
    /* Each warning names its line. */
    g_assert_nonnull(strstr(warnings->pdata[0], "line 2"));
    g_assert_nonnull(strstr(warnings->pdata[0], "abc def"));
    g_assert_nonnull(strstr(warnings->pdata[9], "line 11"));

    /* The good lines around them count. */
    g_assert_cmpstr(gd_group_names_name(names, 10), ==, "ten");
    g_assert_cmpstr(gd_group_names_name(names, 16), ==, "sixteen");
    g_assert_cmpstr(gd_group_names_name(names, 0), ==, "default");
    for (uint32_t id = 11; id <= 15; id++)
        g_assert_null(gd_group_names_name(names, id));
    assert_resolve_fails(names, "def", -ENOENT);
    assert_resolve_fails(names, "big", -ENOENT);
    assert_resolve_fails(names, "minus", -ENOENT);
    assert_resolve_fails(names, "glued", -ENOENT);

    /* Without a warnings array the bad lines are skipped all the same. */
    g_autoptr(GdGroupNames) quiet = parse(text, NULL);
    g_assert_cmpstr(gd_group_names_name(quiet, 16), ==, "sixteen");
}

static void test_parse_duplicates(void)
{
    /* The same id twice: the later name wins, the earlier one is gone. */
    g_autoptr(GdGroupNames) names = parse("5 five\n5 cinq\n0 zero\n", NULL);
    g_assert_cmpstr(gd_group_names_name(names, 5), ==, "cinq");
    assert_resolves(names, "cinq", 5);
    assert_resolve_fails(names, "five", -ENOENT);
    /* "0 default" may be renamed like any other. */
    g_assert_cmpstr(gd_group_names_name(names, 0), ==, "zero");
    assert_resolves(names, "zero", 0);

    /* The same name twice: the later id wins. */
    g_autoptr(GdGroupNames) same = parse("6 same\n7 same\n", NULL);
    assert_resolves(same, "same", 7);
    g_assert_cmpstr(gd_group_names_name(same, 6), ==, "same");
    g_assert_cmpstr(gd_group_names_name(same, 7), ==, "same");
}

/* ---- resolving ---- */

static void test_resolve(void)
{
    g_autoptr(GdGroupNames) names = parse("100 uplinks\n200 ppp\n", NULL);

    assert_resolves(names, "uplinks", 100);
    assert_resolves(names, "ppp", 200);
    assert_resolves(names, "default", 0);
    /* Numbers need no name. */
    assert_resolves(names, "0", 0);
    assert_resolves(names, "100", 100);
    assert_resolves(names, "12345", 12345);
    assert_resolves(names, "0x64", 100);
    assert_resolves(names, "0XC8", 200);
    assert_resolves(names, "4294967295", 4294967295u);
    assert_resolves(names, "0xffffffff", 4294967295u);

    assert_resolve_fails(names, "", -EINVAL);
    assert_resolve_fails(names, NULL, -EINVAL);
    assert_resolve_fails(names, "12abc", -EINVAL);
    assert_resolve_fails(names, "4294967296", -EINVAL);
    assert_resolve_fails(names, "99999999999999999999999", -EINVAL);
    assert_resolve_fails(names, "0x100000000", -EINVAL);
    assert_resolve_fails(names, "0x", -EINVAL);
    assert_resolve_fails(names, "0xg", -EINVAL);
    assert_resolve_fails(names, "1 ", -EINVAL);
    assert_resolve_fails(names, "1.5", -EINVAL);

    assert_resolve_fails(names, "nosuch", -ENOENT);
    assert_resolve_fails(names, "Uplinks", -ENOENT);
    assert_resolve_fails(names, "uplinks ", -ENOENT);
}

/* ---- loading ---- */

static char *make_root(void)
{
    g_autoptr(GError) error = NULL;
    char *root = g_dir_make_tmp("groupd-test-XXXXXX", &error);
    g_assert_no_error(error);
    return root;
}

static void write_file(const char *root, const char *relpath, const char *contents)
{
    g_autofree char *path = g_build_filename(root, relpath, NULL);
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    g_autoptr(GError) error = NULL;
    g_file_set_contents(path, contents, -1, &error);
    g_assert_no_error(error);
}

static void remove_tree(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    if (dir) {
        const char *name;
        while ((name = g_dir_read_name(dir))) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            remove_tree(child);
        }
        g_dir_close(dir);
    }
    g_assert_cmpint(g_remove(path), ==, 0);
}

static void test_load_etc(void)
{
    g_autofree char *root = make_root();
    write_file(root, "etc/iproute2/group", "0 default\n100 etc\n");
    write_file(root, "usr/share/iproute2/group", "0 default\n100 usr\n200 usr-only\n");

    g_autoptr(GdGroupNames) names = gd_group_names_load(root);
    g_autofree char *want = g_build_filename(root, "etc/iproute2/group", NULL);
    g_assert_cmpstr(gd_group_names_source(names), ==, want);
    g_assert_cmpstr(gd_group_names_name(names, 100), ==, "etc");
    /* The files are alternatives, not layers. */
    g_assert_null(gd_group_names_name(names, 200));
    assert_resolve_fails(names, "usr-only", -ENOENT);
    assert_resolves(names, "default", 0);

    remove_tree(root);
}

static void test_load_usr(void)
{
    g_autofree char *root = make_root();
    write_file(root, "usr/share/iproute2/group", "# vendor\n0 default\n100 usr\n");

    g_autoptr(GdGroupNames) names = gd_group_names_load(root);
    g_autofree char *want = g_build_filename(root, "usr/share/iproute2/group", NULL);
    g_assert_cmpstr(gd_group_names_source(names), ==, want);
    assert_resolves(names, "usr", 100);
    assert_resolves(names, "default", 0);

    remove_tree(root);
}

static void test_load_none(void)
{
    g_autofree char *root = make_root();
    /* The directories exist, the files do not. */
    g_autofree char *etc = g_build_filename(root, "etc", "iproute2", NULL);
    g_assert_cmpint(g_mkdir_with_parents(etc, 0755), ==, 0);

    g_autoptr(GdGroupNames) names = gd_group_names_load(root);
    g_assert_null(gd_group_names_source(names));
    g_assert_cmpstr(gd_group_names_name(names, 0), ==, "default");
    assert_resolves(names, "default", 0);
    assert_resolves(names, "7", 7);
    assert_resolve_fails(names, "anything", -ENOENT);

    remove_tree(root);
}

static void test_load_unreadable(void)
{
    /* etc/iproute2/group exists but cannot be read (a directory; root reads
     * through permission bits): say so and fall back to the vendor file. */
    g_autofree char *root = make_root();
    g_autofree char *dir = g_build_filename(root, "etc", "iproute2", "group", NULL);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    write_file(root, "usr/share/iproute2/group", "100 vendor\n");

    g_test_expect_message("groupd-config", G_LOG_LEVEL_WARNING, "*etc/iproute2/group*");
    g_autoptr(GdGroupNames) names = gd_group_names_load(root);
    g_test_assert_expected_messages();
    g_autofree char *want = g_build_filename(root, "usr/share/iproute2/group", NULL);
    g_assert_cmpstr(gd_group_names_source(names), ==, want);
    assert_resolves(names, "vendor", 100);

    remove_tree(root);
}

static void test_load_bad_lines_warn(void)
{
    g_autofree char *root = make_root();
    write_file(root, "etc/iproute2/group", "100 good\nnot a line\n101 also-good\n");

    g_test_expect_message("groupd-config", G_LOG_LEVEL_WARNING, "*line 2*skipped*");
    g_autoptr(GdGroupNames) names = gd_group_names_load(root);
    g_test_assert_expected_messages();
    assert_resolves(names, "good", 100);
    assert_resolves(names, "also-good", 101);

    remove_tree(root);
}

static void test_load_trailing_slash(void)
{
    /* A trailing slash on the root changes nothing. */
    g_autofree char *root = make_root();
    write_file(root, "etc/iproute2/group", "100 slash\n");
    g_autofree char *slashed = g_strconcat(root, "/", NULL);
    g_autoptr(GdGroupNames) names = gd_group_names_load(slashed);
    assert_resolves(names, "slash", 100);
    remove_tree(root);
}

/* ---- names that move between ids ---- */

static void test_parse_duplicate_name_then_rename(void)
{
    /* 10 and 20 are both "foo" (the later, 20, wins the name); then 10 is
     * renamed. 20 is still "foo", so "foo" must still resolve to it. */
    g_autoptr(GdGroupNames) names = parse("10 foo\n20 foo\n10 bar\n", NULL);
    g_assert_cmpstr(gd_group_names_name(names, 10), ==, "bar");
    g_assert_cmpstr(gd_group_names_name(names, 20), ==, "foo");
    assert_resolves(names, "bar", 10);
    assert_resolves(names, "foo", 20);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/group-names/parse/format", test_parse_format);
    g_test_add_func("/group-names/parse/default-always", test_parse_default_always);
    g_test_add_func("/group-names/parse/bad-lines", test_parse_bad_lines);
    g_test_add_func("/group-names/parse/duplicates", test_parse_duplicates);
    g_test_add_func("/group-names/resolve", test_resolve);
    g_test_add_func("/group-names/load/etc", test_load_etc);
    g_test_add_func("/group-names/load/usr-share", test_load_usr);
    g_test_add_func("/group-names/load/none", test_load_none);
    g_test_add_func("/group-names/load/unreadable", test_load_unreadable);
    g_test_add_func("/group-names/load/bad-lines-warn", test_load_bad_lines_warn);
    g_test_add_func("/group-names/load/trailing-slash", test_load_trailing_slash);
    /* Registered last: fails while add_name() drops the by-name entry of an
     * id's old name even when that name now belongs to another id. */
    g_test_add_func("/group-names/duplicates/name-then-rename",
                    test_parse_duplicate_name_then_rename);

    return g_test_run();
}

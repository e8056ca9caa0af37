/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/text/text.c: the shown form of outside text (invalid
 * bytes and noncharacters as \xNN, a backslash as \\), its round trip, and
 * the control characters a terminal must not get.
 */
#include "text/text.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

typedef struct {
    const char *raw;
    const char *shown;
} Case;

static const Case cases[] = {
    {"", ""},
    {"eth0", "eth0"},
    {"bad\xff\xfe", "bad\\xff\\xfe"},
    {"a\\b", "a\\\\b"},
    {"a\\xff", "a\\\\xff"},
    {"\\", "\\\\"},
    {"caf\xc3\xa9", "caf\xc3\xa9"},               /* é: valid, kept */
    {"caf\xc3", "caf\\xc3"},                      /* cut in the middle */
    {"\xc3\xc3\xa9", "\\xc3\xc3\xa9"},            /* a lone lead byte, then é */
    {"\xc0\x80", "\\xc0\\x80"},                   /* overlong NUL */
    {"\xed\xa0\x80", "\\xed\\xa0\\x80"},          /* a UTF-16 surrogate */
    {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* above U+10FFFF */
    {"\xef\xbf\xbe", "\\xef\\xbf\\xbe"},          /* U+FFFE */
    {"\xef\xbf\xbf", "\\xef\\xbf\\xbf"},          /* U+FFFF */
    {"\xef\xb7\x90", "\\xef\\xb7\\x90"},          /* U+FDD0 */
    {"\xf0\x9f\xbf\xbf", "\\xf0\\x9f\\xbf\\xbf"}, /* U+1FFFF */
    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},     /* U+1F600: kept */
    {"tab\there", "tab\there"},                   /* controls are valid UTF-8 */
    {"\x1b[31m", "\x1b[31m"},
    {"\x80", "\\x80"},
};

static void test_cases(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *shown = gd_text_escape(cases[i].raw);
        g_assert_cmpstr(shown, ==, cases[i].shown);
        g_assert_true(g_utf8_validate(shown, -1, NULL));
        g_assert_cmpint(gd_text_is_plain(cases[i].raw), ==,
                        strcmp(cases[i].raw, cases[i].shown) == 0);
        g_autofree char *raw = NULL;
        g_assert_cmpint(gd_text_unescape(shown, &raw), ==, 0);
        g_assert_cmpstr(raw, ==, cases[i].raw);
        g_autoptr(GString) appended = g_string_new("x:");
        gd_text_append_escaped(appended, cases[i].raw);
        g_assert_cmpstr(appended->str + 2, ==, cases[i].shown);
    }
}

/* Every string of one or two bytes, and of three with a backslash or a
 * lead byte first: the shown form is valid UTF-8 free of noncharacters
 * and gives the bytes back. */
static void check_round_trip(const char *raw)
{
    g_autofree char *shown = gd_text_escape(raw);
    g_assert_true(g_utf8_validate(shown, -1, NULL));
    for (const char *p = shown; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        g_assert_false((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE);
    }
    g_autofree char *back = NULL;
    g_assert_cmpint(gd_text_unescape(shown, &back), ==, 0);
    g_assert_cmpstr(back, ==, raw);
    /* Escaping is idempotent on plain text only. */
    g_autofree char *twice = gd_text_escape(shown);
    g_assert_cmpint(g_str_equal(twice, shown), ==, gd_text_is_plain(shown));
}

static void test_round_trip(void)
{
    char buf[4] = {0};
    for (int a = 1; a < 256; a++) {
        buf[0] = (char)a;
        buf[1] = 0;
        check_round_trip(buf);
        for (int b = 1; b < 256; b++) {
            buf[1] = (char)b;
            buf[2] = 0;
            check_round_trip(buf);
            if (a == '\\' || a >= 0xC0)
                for (int c = 1; c < 256; c += 7) {
                    buf[2] = (char)c;
                    check_round_trip(buf);
                    buf[2] = 0;
                }
        }
    }
}

/* Valid text may go on D-Bus as it is: only backslashes would change. */
static void test_valid(void)
{
    const char *const valid[] = {"", "eth0", "a\\b", "bad\\xff", "caf\xc3\xa9", "\x1b[0m"};
    const char *const invalid[] = {"bad\xff", "caf\xc3", "\xef\xbf\xbe", "\xed\xa0\x80"};
    for (guint i = 0; i < G_N_ELEMENTS(valid); i++)
        g_assert_true(gd_text_is_valid(valid[i]));
    for (guint i = 0; i < G_N_ELEMENTS(invalid); i++)
        g_assert_false(gd_text_is_valid(invalid[i]));
}

static void test_unescape_errors(void)
{
    const char *const bad[] = {"\\",    "a\\",   "\\q",   "\\x",    "\\x1",
                               "\\xg0", "\\x00", "\\X41", "a\\\\\\"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *raw = (char *)"untouched";
        g_assert_cmpint(gd_text_unescape(bad[i], &raw), ==, -EINVAL);
        g_assert_null(raw);
    }
    /* Upper-case digits and escaped plain bytes are taken too. */
    g_autofree char *raw = NULL;
    g_assert_cmpint(gd_text_unescape("bad\\xFF\\x41", &raw), ==, 0);
    g_assert_cmpstr(raw, ==,
                    "bad\xff"
                    "A");
}

static void test_controls(void)
{
    const Case controls[] = {
        {"eth0", "eth0"},
        {"a\x1b[31mb", "a\\x1b[31mb"},
        {"bad\\xff", "bad\\xff"}, /* a shown form stays as it is */
        {"del\x7f", "del\\x7f"},
        {"c1\xc2\x85", "c1\\xc2\\x85"}, /* U+0085, both bytes */
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"raw\xff", "raw\\xff"}, /* not UTF-8 at all: the byte */
    };
    for (guint i = 0; i < G_N_ELEMENTS(controls); i++) {
        g_autofree char *shown = gd_text_escape_controls(controls[i].raw);
        g_assert_cmpstr(shown, ==, controls[i].shown);
    }
    /* What a terminal shows, the daemon takes back: \x1b is the byte. */
    g_autofree char *raw = NULL;
    g_assert_cmpint(gd_text_unescape("a\\x1b[31mb", &raw), ==, 0);
    g_assert_cmpstr(raw, ==, "a\x1b[31mb");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/text/cases", test_cases);
    g_test_add_func("/text/round-trip", test_round_trip);
    g_test_add_func("/text/valid", test_valid);
    g_test_add_func("/text/unescape-errors", test_unescape_errors);
    g_test_add_func("/text/controls", test_controls);
    return g_test_run();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The shown form of outside text: invalid bytes as \xNN, \ as \\. */
#include "text.h"

#include <errno.h>
#include <string.h>

static gboolean noncharacter(gunichar c)
{
    return (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

/* Length of the valid, allowed character at p, or 0 for a byte to escape. */
static gsize char_length(const char *p)
{
    guchar first = (guchar)*p;
    if (first < 0x80)
        return 1;
    gunichar c = g_utf8_get_char_validated(p, -1);
    if (c == (gunichar)-1 || c == (gunichar)-2 || noncharacter(c))
        return 0;
    return (gsize)(g_utf8_next_char(p) - p);
}

static void append_byte(GString *out, guchar byte)
{
    static const char hex[] = "0123456789abcdef";
    char text[4] = {'\\', 'x', hex[byte >> 4], hex[byte & 0xF]};
    g_string_append_len(out, text, sizeof(text));
}

void gd_text_append_escaped(GString *out, const char *raw)
{
    const char *p = raw;
    while (*p) {
        gsize n = char_length(p);
        if (n == 0) {
            append_byte(out, (guchar)*p++);
        } else if (*p == '\\') {
            g_string_append(out, "\\\\");
            p++;
        } else {
            g_string_append_len(out, p, (gssize)n);
            p += n;
        }
    }
}

gboolean gd_text_is_plain(const char *raw)
{
    for (const char *p = raw; *p;) {
        /* The common case, ASCII without a backslash, costs one test. */
        if ((guchar)*p < 0x80 && *p != '\\') {
            p++;
            continue;
        }
        gsize n = *p == '\\' ? 0 : char_length(p);
        if (n == 0)
            return FALSE;
        p += n;
    }
    return TRUE;
}

gboolean gd_text_is_valid(const char *text)
{
    for (const char *p = text; *p;) {
        gsize n = char_length(p);
        if (n == 0)
            return FALSE;
        p += n;
    }
    return TRUE;
}

char *gd_text_escape(const char *raw)
{
    if (gd_text_is_plain(raw))
        return g_strdup(raw);
    GString *out = g_string_sized_new(strlen(raw) * 2 + 1);
    gd_text_append_escaped(out, raw);
    return g_string_free(out, FALSE);
}

int gd_text_unescape(const char *shown, char **raw)
{
    GString *out = g_string_sized_new(strlen(shown) + 1);
    for (const char *p = shown; *p; p++) {
        if (*p != '\\') {
            g_string_append_c(out, *p);
            continue;
        }
        if (p[1] == '\\') {
            g_string_append_c(out, '\\');
            p++;
            continue;
        }
        int high, low;
        if (p[1] != 'x' || (high = g_ascii_xdigit_value(p[2])) < 0 ||
            (low = g_ascii_xdigit_value(p[3])) < 0 || (high == 0 && low == 0)) {
            g_string_free(out, TRUE);
            *raw = NULL;
            return -EINVAL;
        }
        g_string_append_c(out, (char)(high << 4 | low));
        p += 3;
    }
    *raw = g_string_free(out, FALSE);
    return 0;
}

static gboolean control(gunichar c)
{
    return c < 0x20 || (c >= 0x7F && c < 0xA0);
}

char *gd_text_escape_controls(const char *text)
{
    GString *out = g_string_sized_new(strlen(text) + 1);
    for (const char *p = text; *p;) {
        gunichar c = g_utf8_get_char_validated(p, -1);
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            /* Not UTF-8 after all: the byte, as the rule writes it. */
            append_byte(out, (guchar)*p++);
            continue;
        }
        const char *next = g_utf8_next_char(p);
        if (control(c))
            for (; p < next; p++)
                append_byte(out, (guchar)*p);
        else
            g_string_append_len(out, p, next - p);
        p = next;
    }
    return g_string_free(out, FALSE);
}

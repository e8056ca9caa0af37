/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The line reader of the configuration files and their error messages. */
#include "config/reader.h"

#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* ---- error messages ---- */

/* Messages quote paths and file contents as they are (bytes): the bus
 * shows them by the rule of text/text.h as they leave. */
void report_take(Report *r, char *msg)
{
    g_ptr_array_add(r->errors, msg);
}

void report_file(Report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    report_take(r, g_strdup_printf("%s: %s", r->path, reason));
}

void report_line(Report *r, guint line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    report_take(r, g_strdup_printf("%s:%u: %s", r->path, line, reason));
}

void report_key(Report *r, const char *section, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    report_take(r, g_strdup_printf("%s: [%s] %s: %s", r->path, section, key, reason));
}

/* A line quoted in a message, cut when long. */
static char *quote_line(const char *line)
{
    if (g_utf8_strlen(line, -1) <= 60)
        return g_strdup_printf("\"%s\"", line);
    g_autofree char *head = g_utf8_substring(line, 0, 60);
    return g_strdup_printf("\"%s…\"", head);
}

/* ---- the line reader ---- */

/* GKeyFile's grammar, read here rather than by GKeyFile because GKeyFile
 * stops at the first bad line without saying which, keeps only the last of
 * a repeated key, and accepts invalid UTF-8. */

static void item_free(gpointer data)
{
    Item *item = data;
    g_free(item->section);
    g_free(item->key);
    g_free(item->value);
    g_free(item);
}

static gboolean valid_key_name(const char *key)
{
    if (!*key)
        return FALSE;
    for (const char *p = key; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("_-.", *p))
            return FALSE;
    return TRUE;
}

/* As GKeyFile: no brackets or control characters, not empty. */
static gboolean valid_section_name(const char *name)
{
    if (!*name)
        return FALSE;
    for (const char *p = name; *p; p++)
        if (*p == '[' || *p == ']' || g_ascii_iscntrl(*p))
            return FALSE;
    return TRUE;
}

GPtrArray *gd_cfg_reader_scan(Report *r, const char *data, gsize len, guint *syntax_errors)
{
    GPtrArray *items = g_ptr_array_new_with_free_func(item_free);
    g_autofree char *section = NULL;
    gboolean bad_section = FALSE;
    guint before = r->errors->len;

    if (memchr(data, '\0', len)) {
        report_file(r, "contains a NUL byte");
        *syntax_errors = 1;
        return items;
    }
    const char *p = data, *end = data + len;
    for (guint n = 1; p < end; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)((nl ? nl : end) - p);
        if (l && p[l - 1] == '\r')
            l--;
        g_autofree char *line = g_strndup(p, l);
        p = nl ? nl + 1 : end;

        if (!g_utf8_validate(line, -1, NULL)) {
            report_line(r, n, "not valid UTF-8");
            continue;
        }
        g_strstrip(line);
        if (!*line || *line == '#')
            continue;
        if (*line == '[') {
            char *close = strchr(line, ']');
            if (close && close[1] == '\0') {
                *close = '\0';
                if (valid_section_name(line + 1)) {
                    g_free(section);
                    section = g_strdup(line + 1);
                    bad_section = FALSE;
                    Item *item = g_new0(Item, 1);
                    item->line = n;
                    item->section = g_strdup(section);
                    g_ptr_array_add(items, item);
                    continue;
                }
                *close = ']';
            }
            g_autofree char *q = quote_line(line);
            report_line(r, n, "%s is not a valid [Section] line", q);
            bad_section = TRUE;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq || eq == line) {
            g_autofree char *q = quote_line(line);
            report_line(r, n, "%s is not a [Section], Key=Value or # comment line", q);
            continue;
        }
        *eq = '\0';
        char *key = g_strchomp(line);
        char *value = g_strchug(eq + 1);
        if (!valid_key_name(key)) {
            g_autofree char *q = quote_line(key);
            report_line(r, n, "invalid key name %s (letters, digits, \"_-.\")", q);
            continue;
        }
        if (!section && !bad_section) {
            report_line(r, n, "%s= comes before any [Section]", key);
            continue;
        }
        /* "MTU=1400   # jumbo" would otherwise keep the comment in the value. */
        if (strstr(value, " #") || strstr(value, "\t#")) {
            report_line(r, n, "a # comment must be on a line of its own");
            continue;
        }
        if (bad_section)
            continue;
        Item *item = g_new0(Item, 1);
        item->line = n;
        item->section = g_strdup(section);
        item->key = g_strdup(key);
        item->value = g_strdup(value);
        g_ptr_array_add(items, item);
    }
    *syntax_errors = r->errors->len - before;
    return items;
}

int gd_config_check_syntax(const char *path, const char *data, gsize len, GPtrArray *errors)
{
    g_autoptr(GPtrArray) own_errors = errors ? NULL : g_ptr_array_new_with_free_func(g_free);
    Report r = {.path = path, .errors = errors ? errors : own_errors};
    guint syntax_errors;
    g_autoptr(GPtrArray) items = gd_cfg_reader_scan(&r, data, len, &syntax_errors);
    return syntax_errors ? -EINVAL : 0;
}

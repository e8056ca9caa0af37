/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Errors, colour and the JSON writer. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "groupctl.h"
#include "text/text.h"

/* Errors that mean "nobody answers", not "groupd said no". */
static const char *const no_daemon_errors[] = {
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoServer",
    "org.freedesktop.DBus.Error.Disconnected",
};

void print_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *shown = gd_text_escape_controls(text);
    puts(shown);
}

int report_bus_error(const sd_bus_error *error, int r)
{
    if (sd_bus_error_is_set(error)) {
        g_autofree char *message =
            gd_text_escape_controls(error->message ? error->message : strerror(-r));
        fprintf(stderr, "groupctl: %s: %s\n", error->name, message);
        for (size_t i = 0; i < G_N_ELEMENTS(no_daemon_errors); i++)
            if (sd_bus_error_has_name(error, no_daemon_errors[i]))
                return EXIT_NOBUS;
        return EXIT_DAEMON;
    }
    fprintf(stderr, "groupctl: the call failed: %s\n", strerror(-r));
    if (r == -ENOTCONN || r == -ECONNRESET || r == -ECONNREFUSED || r == -ENOENT)
        return EXIT_NOBUS;
    return EXIT_DAEMON;
}

int report_errno(const char *what, int r)
{
    fprintf(stderr, "groupctl: %s: %s\n", what, strerror(r < 0 ? -r : r));
    return EXIT_DAEMON;
}

bool use_colour(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *term = getenv("TERM");
        cached = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !(term && !strcmp(term, "dumb"));
    }
    return cached;
}

const char *colour_on(const char *state)
{
    if (!use_colour() || !state)
        return NULL;
    if (!strcmp(state, "up"))
        return "\033[0;32m";
    if (!strcmp(state, "down") || !strcmp(state, "lowerlayerdown"))
        return "\033[0;90m";
    if (!strcmp(state, "mixed") || !strcmp(state, "dormant"))
        return "\033[0;33m";
    if (!strcmp(state, "error"))
        return "\033[0;31m";
    return NULL;
}

const char *colour_off(void)
{
    return "\033[0m";
}

void json_escape(GString *s, const char *text)
{
    g_string_append_c(s, '"');
    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '"':
            g_string_append(s, "\\\"");
            break;
        case '\\':
            g_string_append(s, "\\\\");
            break;
        case '\n':
            g_string_append(s, "\\n");
            break;
        case '\r':
            g_string_append(s, "\\r");
            break;
        case '\t':
            g_string_append(s, "\\t");
            break;
        default:
            if (c < 0x20)
                g_string_append_printf(s, "\\u%04x", c);
            else
                g_string_append_c(s, (char)c);
        }
    }
    g_string_append_c(s, '"');
}

void jw_init(JsonW *w)
{
    w->s = g_string_new(NULL);
    w->depth = 0;
    w->first[0] = true;
}

/* A value (or a key) is about to be written at the current level. */
static void jw_sep(JsonW *w)
{
    if (!w->first[w->depth])
        g_string_append_c(w->s, ',');
    w->first[w->depth] = false;
}

static void jw_open(JsonW *w, char c)
{
    jw_sep(w);
    g_string_append_c(w->s, c);
    g_assert(w->depth + 1 < G_N_ELEMENTS(w->first));
    w->first[++w->depth] = true;
}

static void jw_close(JsonW *w, char c)
{
    g_string_append_c(w->s, c);
    w->depth--;
}

void jw_obj_begin(JsonW *w)
{
    jw_open(w, '{');
}
void jw_obj_end(JsonW *w)
{
    jw_close(w, '}');
}
void jw_arr_begin(JsonW *w)
{
    jw_open(w, '[');
}
void jw_arr_end(JsonW *w)
{
    jw_close(w, ']');
}

void jw_key(JsonW *w, const char *key)
{
    jw_sep(w);
    json_escape(w->s, key);
    g_string_append_c(w->s, ':');
    /* The value that follows needs no comma. */
    w->first[w->depth] = true;
}

void jw_str(JsonW *w, const char *v)
{
    jw_sep(w);
    json_escape(w->s, v ? v : "");
}

void jw_uint(JsonW *w, uint64_t v)
{
    jw_sep(w);
    g_string_append_printf(w->s, "%" PRIu64, v);
}

void jw_int(JsonW *w, int64_t v)
{
    jw_sep(w);
    g_string_append_printf(w->s, "%" PRId64, v);
}

void jw_bool(JsonW *w, bool v)
{
    jw_sep(w);
    g_string_append(w->s, v ? "true" : "false");
}

void jw_null(JsonW *w)
{
    jw_sep(w);
    g_string_append(w->s, "null");
}

void jw_print(JsonW *w)
{
    puts(w->s->str);
    g_string_free(w->s, TRUE);
    w->s = NULL;
}

void jw_gvariant(JsonW *w, GVariant *v)
{
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_VARIANT)) {
        g_autoptr(GVariant) inner = g_variant_get_variant(v);
        jw_gvariant(w, inner);
        return;
    }
    switch (g_variant_classify(v)) {
    case G_VARIANT_CLASS_BOOLEAN:
        jw_bool(w, g_variant_get_boolean(v));
        return;
    case G_VARIANT_CLASS_BYTE:
        jw_uint(w, g_variant_get_byte(v));
        return;
    case G_VARIANT_CLASS_UINT16:
        jw_uint(w, g_variant_get_uint16(v));
        return;
    case G_VARIANT_CLASS_UINT32:
        jw_uint(w, g_variant_get_uint32(v));
        return;
    case G_VARIANT_CLASS_UINT64:
        jw_uint(w, g_variant_get_uint64(v));
        return;
    case G_VARIANT_CLASS_INT16:
        jw_int(w, g_variant_get_int16(v));
        return;
    case G_VARIANT_CLASS_INT32:
        jw_int(w, g_variant_get_int32(v));
        return;
    case G_VARIANT_CLASS_INT64:
        jw_int(w, g_variant_get_int64(v));
        return;
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
        jw_str(w, g_variant_get_string(v, NULL));
        return;
    case G_VARIANT_CLASS_ARRAY:
        if (g_variant_type_is_dict_entry(g_variant_type_element(g_variant_get_type(v))) &&
            g_variant_type_equal(g_variant_type_key(g_variant_type_element(g_variant_get_type(v))),
                                 G_VARIANT_TYPE_STRING)) {
            GVariantIter it;
            const char *key;
            GVariant *value;
            jw_obj_begin(w);
            g_variant_iter_init(&it, v);
            while (g_variant_iter_next(&it, "{&s@*}", &key, &value)) {
                jw_key(w, key);
                jw_gvariant(w, value);
                g_variant_unref(value);
            }
            jw_obj_end(w);
            return;
        }
        G_GNUC_FALLTHROUGH;
    case G_VARIANT_CLASS_TUPLE:
    case G_VARIANT_CLASS_DICT_ENTRY: {
        jw_arr_begin(w);
        for (gsize i = 0; i < g_variant_n_children(v); i++) {
            g_autoptr(GVariant) child = g_variant_get_child_value(v, i);
            jw_gvariant(w, child);
        }
        jw_arr_end(w);
        return;
    }
    default:
        jw_null(w);
        return;
    }
}

char *gvariant_text(GVariant *v)
{
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_VARIANT)) {
        g_autoptr(GVariant) inner = g_variant_get_variant(v);
        return gvariant_text(inner);
    }
    /* "-" for nothing, so that a field is never blank. */
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING)) {
        const char *str = g_variant_get_string(v, NULL);
        return g_strdup(*str ? str : "-");
    }
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN))
        return g_strdup(g_variant_get_boolean(v) ? "yes" : "no");
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING_ARRAY)) {
        g_autofree const char **strv = g_variant_get_strv(v, NULL);
        return strv[0] ? g_strjoinv(", ", (char **)strv) : g_strdup("-");
    }
    return g_variant_print(v, FALSE);
}

void jw_dict_object(JsonW *w, GVariant *dict, const char *const *keys, size_t n_keys)
{
    jw_obj_begin(w);
    for (size_t k = 0; k < n_keys; k++) {
        g_autoptr(GVariant) v = g_variant_lookup_value(dict, keys[k], NULL);
        jw_key(w, keys[k]);
        if (v)
            jw_gvariant(w, v);
        else
            jw_null(w);
    }
    jw_obj_end(w);
}

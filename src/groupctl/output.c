/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Errors, colour and JSON output. */
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

int report_bus_error(const GError *error)
{
    if (g_dbus_error_is_remote_error(error)) {
        g_autofree char *name = g_dbus_error_get_remote_error(error);
        g_autoptr(GError) stripped = g_error_copy(error);
        g_dbus_error_strip_remote_error(stripped);
        g_autofree char *message = gd_text_escape_controls(stripped->message);
        fprintf(stderr, "groupctl: %s: %s\n", name, message);
        for (size_t i = 0; i < G_N_ELEMENTS(no_daemon_errors); i++)
            if (!strcmp(name, no_daemon_errors[i]))
                return EXIT_NOBUS;
        return EXIT_DAEMON;
    }
    /* Not from the wire: the connection, a timeout, a reply of another type. */
    fprintf(stderr, "groupctl: the call failed: %s\n", error->message);
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
        g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
        g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
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

static void jb_key(JsonBuilder *b, const char *key)
{
    if (key)
        json_builder_set_member_name(b, key);
}

void jb_str(JsonBuilder *b, const char *key, const char *value)
{
    jb_key(b, key);
    json_builder_add_string_value(b, value ? value : "");
}

void jb_int(JsonBuilder *b, const char *key, int64_t value)
{
    jb_key(b, key);
    json_builder_add_int_value(b, value);
}

void jb_bool(JsonBuilder *b, const char *key, bool value)
{
    jb_key(b, key);
    json_builder_add_boolean_value(b, value);
}

void jb_gvariant(JsonBuilder *b, const char *key, GVariant *value)
{
    jb_key(b, key);
    json_builder_add_value(b, json_gvariant_serialize(value));
}

void jb_dict_object(JsonBuilder *b, const char *key, GVariant *dict, const char *const *keys,
                    size_t n_keys)
{
    jb_key(b, key);
    json_builder_begin_object(b);
    for (size_t k = 0; k < n_keys; k++) {
        g_autoptr(GVariant) v = g_variant_lookup_value(dict, keys[k], NULL);
        if (v) {
            jb_gvariant(b, keys[k], v);
        } else {
            json_builder_set_member_name(b, keys[k]);
            json_builder_add_null_value(b);
        }
    }
    json_builder_end_object(b);
}

void jb_print(JsonBuilder *b)
{
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autofree char *raw = json_to_string(root, FALSE);
    /* json-glib 1.6 (Debian 12) writes U+001F as is, which JSON forbids
     * (its generator escapes the controls below it only); a 0x1f byte of
     * its output can only be that character, inside a string. */
    g_autoptr(GString) text = g_string_new(raw);
    g_string_replace(text, "\x1f", "\\u001f", 0);
    puts(text->str);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The iproute2 device group name file. */
#include "group-names.h"

#include <errno.h>
#include <string.h>

struct GdGroupNames {
    GHashTable *by_id;   /* id → name (owned) */
    GHashTable *by_name; /* name → id */
    char *source;
};

static GdGroupNames *names_new(void)
{
    GdGroupNames *names = g_new0(GdGroupNames, 1);
    names->by_id = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    names->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    return names;
}

void gd_group_names_free(GdGroupNames *names)
{
    if (!names)
        return;
    g_hash_table_unref(names->by_name);
    g_hash_table_unref(names->by_id);
    g_free(names->source);
    g_free(names);
}

/* Decimal or 0x-hexadecimal, the whole string, within uint32. */
static gboolean parse_id(const char *text, uint32_t *out)
{
    guint64 value;
    guint base = 10;
    const char *digits = text;
    if (g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X")) {
        base = 16;
        digits = text + 2;
    }
    if (!*digits || !g_ascii_isxdigit(*digits) || (base == 10 && !g_ascii_isdigit(*digits)))
        return FALSE;
    if (!g_ascii_string_to_unsigned(digits, base, 0, G_MAXUINT32, &value, NULL))
        return FALSE;
    *out = (uint32_t)value;
    return TRUE;
}

gboolean gd_group_names_valid_name(const char *name)
{
    if (!*name || strlen(name) > 255 || g_ascii_isdigit(name[0]))
        return FALSE;
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("_-.:", *p))
            return FALSE;
    return TRUE;
}

static void add_name(GdGroupNames *names, uint32_t id, const char *name)
{
    const char *old = g_hash_table_lookup(names->by_id, GUINT_TO_POINTER(id));
    gpointer owner;
    g_autofree char *renamed = NULL;
    if (old && g_hash_table_lookup_extended(names->by_name, old, NULL, &owner) &&
        GPOINTER_TO_UINT(owner) == id) {
        g_hash_table_remove(names->by_name, old);
        renamed = g_strdup(old);
    }
    char *copy = g_strdup(name);
    g_hash_table_replace(names->by_name, copy, GUINT_TO_POINTER(id));
    g_hash_table_insert(names->by_id, GUINT_TO_POINTER(id), copy);
    if (renamed && !g_str_equal(renamed, name)) {
        /* Another id may still carry the old name ("20 dup", "21 dup",
         * "21 x"): the name resolves to it again. */
        GHashTableIter iter;
        gpointer key, value;
        g_hash_table_iter_init(&iter, names->by_id);
        while (g_hash_table_iter_next(&iter, &key, &value))
            if (g_str_equal(value, renamed)) {
                g_hash_table_replace(names->by_name, value, key);
                break;
            }
    }
}

GdGroupNames *gd_group_names_parse(const char *data, gsize len, GPtrArray *warnings)
{
    GdGroupNames *names = names_new();
    g_autofree char *text = g_strndup(data, len);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    add_name(names, 0, "default");
    for (guint n = 0; lines[n]; n++) {
        char *line = lines[n];
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        g_strstrip(line);
        if (!*line)
            continue;
        g_auto(GStrv) fields = g_strsplit_set(line, " \t", -1);
        const char *f[2] = {NULL, NULL};
        guint nf = 0;
        gboolean extra = FALSE;
        for (guint i = 0; fields[i]; i++) {
            if (!*fields[i])
                continue;
            if (nf < 2)
                f[nf++] = fields[i];
            else
                extra = TRUE;
        }
        uint32_t id;
        if (nf != 2 || extra || !parse_id(f[0], &id) || !gd_group_names_valid_name(f[1])) {
            if (warnings)
                g_ptr_array_add(
                    warnings,
                    g_strdup_printf("line %u: expected \"ID NAME\", got \"%s\"", n + 1, line));
            continue;
        }
        add_name(names, id, f[1]);
    }
    return names;
}

GdGroupNames *gd_group_names_load(const char *root)
{
    const char *const candidates[] = {"etc/iproute2/group", "usr/share/iproute2/group"};
    for (guint i = 0; i < G_N_ELEMENTS(candidates); i++) {
        g_autofree char *path = g_build_filename(root && *root ? root : "/", candidates[i], NULL);
        g_autofree char *data = NULL;
        gsize len;
        g_autoptr(GError) error = NULL;
        if (!g_file_get_contents(path, &data, &len, &error)) {
            if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
                g_warning("%s: %s", path, error->message);
            continue;
        }
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
        GdGroupNames *names = gd_group_names_parse(data, len, warnings);
        for (guint w = 0; w < warnings->len; w++)
            g_warning("%s: %s (skipped)", path, (char *)warnings->pdata[w]);
        names->source = g_steal_pointer(&path);
        return names;
    }
    return gd_group_names_parse("", 0, NULL);
}

const char *gd_group_names_name(const GdGroupNames *names, uint32_t id)
{
    return g_hash_table_lookup(names->by_id, GUINT_TO_POINTER(id));
}

int gd_group_names_resolve(const GdGroupNames *names, const char *text, uint32_t *id)
{
    gpointer value;
    if (!text || !*text)
        return -EINVAL;
    if (g_ascii_isdigit(text[0]))
        return parse_id(text, id) ? 0 : -EINVAL;
    if (!g_hash_table_lookup_extended(names->by_name, text, NULL, &value))
        return -ENOENT;
    *id = GPOINTER_TO_UINT(value);
    return 0;
}

const char *gd_group_names_source(const GdGroupNames *names)
{
    return names->source;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 * [Match]: its values parsed, and the rules evaluated against a link. */
#include "config/keys.h"

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

/* ---- [Match] ---- */

void gd_match_clear(GdMatch *match)
{
    GdMatchKey *keys[] = {&match->name,   &match->kind,   &match->type,
                          &match->driver, &match->hwaddr, &match->group};
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
        g_clear_pointer(&keys[i]->values, g_strfreev);
        keys[i]->set = keys[i]->negate = FALSE;
    }
    g_clear_pointer(&match->hwaddrs, g_array_unref);
    g_clear_pointer(&match->groups, g_array_unref);
}

/* "a b c" or "!a b c" into key; FALSE (reported) for an empty list or a
 * '!' that is not first. */
static gboolean parse_match_list(const KeyInput *in, GdMatchKey *key)
{
    const Item *item = in->item;
    const char *text = item->value;
    gboolean negate = *text == '!';
    g_auto(GStrv) words = g_strsplit_set(negate ? text + 1 : text, " \t", -1);
    g_autoptr(GStrvBuilder) values = g_strv_builder_new();
    guint n = 0;
    for (guint i = 0; words[i]; i++) {
        if (!*words[i])
            continue;
        if (words[i][0] == '!') {
            report_key(in->r, item->section, item->key,
                       "\"!\" negates the whole list and goes only at its start");
            return FALSE;
        }
        g_strv_builder_add(values, words[i]);
        n++;
    }
    if (n == 0) {
        report_key(in->r, item->section, item->key, negate ? "nothing after \"!\"" : "empty value");
        return FALSE;
    }
    key->set = TRUE;
    key->negate = negate;
    key->values = g_strv_builder_end(values);
    return TRUE;
}

/* Name=, Kind=, Type=, Driver=: globs into the key's GdMatchKey. */
gboolean gd_cfg_match_globs(const KeyInput *in, void *match)
{
    return parse_match_list(in, key_field(in, match));
}

/* A list whose values convert one by one into the elements of an array
 * (element_size bytes each); FALSE when the list or a value is bad (each
 * reported), and then key and *elements_out are left as they are. */
static gboolean
parse_converted_list(const KeyInput *in, GdMatchKey *key, GArray **elements_out, guint element_size,
                     gboolean (*convert)(const KeyInput *in, const char *value, void *element))
{
    GdMatchKey parsed = {0};
    if (!parse_match_list(in, &parsed))
        return FALSE;
    g_auto(GStrv) values = parsed.values;
    g_autoptr(GArray) elements = g_array_sized_new(FALSE, TRUE, element_size, 4);
    gboolean ok = TRUE;
    for (guint i = 0; values[i]; i++) {
        g_array_set_size(elements, elements->len + 1);
        void *element = elements->data + (gsize)(elements->len - 1) * element_size;
        if (!convert(in, values[i], element)) {
            g_array_set_size(elements, elements->len - 1);
            ok = FALSE;
        }
    }
    if (!ok)
        return FALSE;
    *key = parsed;
    key->values = g_steal_pointer(&values);
    *elements_out = g_steal_pointer(&elements);
    return TRUE;
}

static gboolean convert_hwaddr(const KeyInput *in, const char *value, void *element)
{
    GdMatchHwaddr *hw = element;
    return gd_cfg_keys_parse_hwaddr(in, value, hw->bytes, &hw->len);
}

static gboolean convert_group(const KeyInput *in, const char *value, void *element)
{
    int err = gd_group_names_resolve(in->names, value, element);
    if (err == -ENOENT)
        report_key(in->r, in->item->section, in->item->key, "no group is named \"%s\" in %s", value,
                   gd_cfg_keys_names_source(in->names));
    else if (err < 0)
        report_key(in->r, in->item->section, in->item->key,
                   "\"%s\" is not a group number (0..4294967295) or name", value);
    return err == 0;
}

/* MACAddress=: hardware addresses. */
gboolean gd_cfg_match_hwaddrs(const KeyInput *in, void *match)
{
    GdMatch *m = match;
    return parse_converted_list(in, &m->hwaddr, &m->hwaddrs, sizeof(GdMatchHwaddr), convert_hwaddr);
}

/* Group=: group numbers or iproute2 names, resolved. */
gboolean gd_cfg_match_groups(const KeyInput *in, void *match)
{
    GdMatch *m = match;
    return parse_converted_list(in, &m->group, &m->groups, sizeof(uint32_t), convert_group);
}

/* Whether one key holds: any value matched, inverted by '!'. */
static gboolean key_holds(const GdMatchKey *key, gboolean any)
{
    return key->negate ? !any : any;
}

static gboolean any_glob(const GdMatchKey *key, const char *text)
{
    if (!text || !*text)
        return FALSE; /* nothing to match: no kind, no driver… */
    for (guint i = 0; key->values[i]; i++)
        if (fnmatch(key->values[i], text, 0) == 0)
            return TRUE;
    return FALSE;
}

gboolean gd_match_link(const GdMatch *m, const GdMatchInput *link)
{
    const struct {
        const GdMatchKey *key;
        const char *text;
    } globs[] = {
        {&m->name, link->name},
        {&m->kind, link->kind},
        {&m->type, link->type},
        {&m->driver, link->driver},
    };
    gboolean any_set = FALSE;

    for (guint i = 0; i < G_N_ELEMENTS(globs); i++) {
        if (!globs[i].key->set)
            continue;
        any_set = TRUE;
        if (!key_holds(globs[i].key, any_glob(globs[i].key, globs[i].text)))
            return FALSE;
    }
    if (m->hwaddr.set) {
        gboolean any = FALSE;
        any_set = TRUE;
        for (guint i = 0; i < m->hwaddrs->len && link->hwaddr_len && !any; i++) {
            const GdMatchHwaddr *hw = &g_array_index(m->hwaddrs, GdMatchHwaddr, i);
            any = hw->len == link->hwaddr_len && memcmp(hw->bytes, link->hwaddr, hw->len) == 0;
        }
        if (!key_holds(&m->hwaddr, any))
            return FALSE;
    }
    if (m->group.set) {
        gboolean any = FALSE;
        any_set = TRUE;
        for (guint i = 0; i < m->groups->len && !any; i++)
            any = g_array_index(m->groups, uint32_t, i) == link->group;
        if (!key_holds(&m->group, any))
            return FALSE;
    }
    /* No keys: no automatic members (see config.h). */
    return any_set;
}

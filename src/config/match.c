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
gboolean match_globs(const KeyInput *in, void *match)
{
    return parse_match_list(in, key_field(in, match));
}

/* MACAddress=: hardware addresses. */
gboolean match_hwaddrs(const KeyInput *in, void *match)
{
    GdMatch *m = match;
    GdMatchKey parsed = {0};
    if (!parse_match_list(in, &parsed))
        return FALSE;
    g_auto(GStrv) values = parsed.values;
    g_autoptr(GArray) hwaddrs = g_array_new(FALSE, TRUE, sizeof(GdMatchHwaddr));
    gboolean ok = TRUE;
    for (guint i = 0; values[i]; i++) {
        GdMatchHwaddr hw = {0};
        if (parse_hwaddr(in, values[i], hw.bytes, &hw.len))
            g_array_append_val(hwaddrs, hw);
        else
            ok = FALSE;
    }
    if (!ok)
        return FALSE;
    m->hwaddr = parsed;
    m->hwaddr.values = g_steal_pointer(&values);
    m->hwaddrs = g_steal_pointer(&hwaddrs);
    return TRUE;
}

/* Group=: group numbers or iproute2 names, resolved. */
gboolean match_groups(const KeyInput *in, void *match)
{
    GdMatch *m = match;
    const Item *item = in->item;
    GdMatchKey parsed = {0};
    if (!parse_match_list(in, &parsed))
        return FALSE;
    g_auto(GStrv) values = parsed.values;
    g_autoptr(GArray) groups = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    gboolean ok = TRUE;
    for (guint i = 0; values[i]; i++) {
        uint32_t id;
        int err = gd_group_names_resolve(in->names, values[i], &id);
        if (err == 0) {
            g_array_append_val(groups, id);
            continue;
        }
        ok = FALSE;
        if (err == -ENOENT)
            report_key(in->r, item->section, item->key, "no group is named \"%s\" in %s", values[i],
                       names_source(in->names));
        else
            report_key(in->r, item->section, item->key,
                       "\"%s\" is not a group number (0..4294967295) or name", values[i]);
    }
    if (!ok)
        return FALSE;
    m->group = parsed;
    m->group.values = g_steal_pointer(&values);
    m->groups = g_steal_pointer(&groups);
    return TRUE;
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

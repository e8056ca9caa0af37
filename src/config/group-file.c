/* SPDX-License-Identifier: LGPL-2.1-or-later
 * One *.group file: parsed by the key tables, then its identity checked
 * against the iproute2 group names. */
#include "config/keys.h"

#include <sys/socket.h>

void gd_group_policy_free(GdGroupPolicy *policy)
{
    if (!policy)
        return;
    g_free(policy->path);
    g_free(policy->file_name);
    g_free(policy->name);
    gd_match_clear(&policy->match);
    g_clear_pointer(&policy->addresses, g_array_unref);
    g_free(policy->mptcp.link_class);
    g_free(policy);
}

/* ---- [Group] ---- */

gboolean gd_cfg_group_file_name(const KeyInput *in, void *group_file)
{
    GroupFile *gf = group_file;
    gf->has_name = TRUE;
    if (!gd_group_names_valid_name(in->item->value)) {
        report_key(in->r, in->item->section, in->item->key,
                   "\"%s\" is not a group name (letters, digits, \"_-.:\"; not starting with a "
                   "digit)",
                   in->item->value);
        return FALSE;
    }
    gf->name_ok = TRUE;
    gf->policy.name = g_strdup(in->item->value);
    return TRUE;
}

gboolean gd_cfg_group_file_id(const KeyInput *in, void *group_file)
{
    GroupFile *gf = group_file;
    guint64 id;
    gf->has_id = TRUE;
    if (!gd_cfg_keys_parse_uint(in, &id))
        return FALSE;
    gf->id_ok = TRUE;
    gf->policy.id = (uint32_t)id;
    return TRUE;
}

/* ---- the file ---- */

/* Id= and Name= against the iproute2 file. */
static void check_identity(Report *r, GroupFile *gf, const GdGroupNames *names, guint syntax_errors,
                           gboolean *id_known)
{
    GdGroupPolicy *policy = &gf->policy;
    uint32_t by_name = 0;
    gboolean name_known =
        gf->name_ok && names && gd_group_names_resolve(names, policy->name, &by_name) == 0;
    if (!gf->has_id) {
        if (name_known) {
            policy->id = by_name;
            *id_known = TRUE;
        } else if (syntax_errors) {
            /* The Id= line may be the bad one: saying "missing" would mislead. */
        } else if (gf->name_ok) {
            report_key(r, "Group", "Id", "missing, and \"%s\" is not in %s", policy->name,
                       gd_cfg_keys_names_source(names));
        } else if (!gf->has_name) {
            report_key(r, "Group", "Id", "missing (needed unless Name= is in %s)",
                       gd_cfg_keys_names_source(names));
        }
    } else if (gf->id_ok) {
        const char *known = names ? gd_group_names_name(names, policy->id) : NULL;
        *id_known = TRUE;
        if (gf->name_ok && name_known && by_name != policy->id)
            report_key(r, "Group", "Name", "\"%s\" is group %u in %s, not %u", policy->name,
                       by_name, gd_cfg_keys_names_source(names), policy->id);
        if (gf->name_ok && known && !g_str_equal(known, policy->name))
            report_key(r, "Group", "Id", "group %u is named \"%s\" in %s, not \"%s\"", policy->id,
                       known, gd_cfg_keys_names_source(names), policy->name);
        if (!gf->has_name && known)
            policy->name = g_strdup(known);
    }
}

GdGroupPolicy *parse_group_file(Report *r, const char *data, gsize len, const GdGroupNames *names,
                                gboolean *id_known)
{
    guint syntax_errors;
    g_autoptr(GPtrArray) items = gd_cfg_reader_scan(r, data, len, &syntax_errors);
    GroupFile gf = {0};
    GdGroupPolicy *policy = &gf.policy;

    gd_cfg_keys_set_defaults(&gd_cfg_keys_group_file, &gf);
    policy->path = g_strdup(r->path);
    policy->file_name = g_path_get_basename(r->path);
    policy->addresses = g_array_new(FALSE, TRUE, sizeof(GdNlAddr));
    *id_known = FALSE;
    gd_cfg_keys_parse_items(&gd_cfg_keys_group_file, r, items, names, &gf);
    check_identity(r, &gf, names, syntax_errors, id_known);
    /* Below 68 the kernel takes IPv4 away from a link: the addresses could
     * not stay. (An MTU this low without IPv4 addresses is allowed.) */
    if (policy->link.set_mtu && policy->link.mtu < GD_NL_IPV4_MIN_MTU) {
        for (guint i = 0; i < policy->addresses->len; i++) {
            if (g_array_index(policy->addresses, GdNlAddr, i).family == AF_INET) {
                report_key(r, "Link", "MTU",
                           "%u is below %u, the least IPv4 works with, and [Address] has IPv4 "
                           "addresses",
                           policy->link.mtu, GD_NL_IPV4_MIN_MTU);
                break;
            }
        }
    }
    /* The group message reaches every member of group 0: lo, the uplink and
     * every link nobody configured. D-Bus changes it only when forced; a
     * policy may move links into it but never change it. */
    if (*id_known && policy->id == 0 &&
        (policy->link.set_mtu || policy->link.set_state || policy->link.set_hwaddr ||
         policy->link.set_txqlen || policy->addresses->len > 0))
        report_key(r, "Group", "Id",
                   "group 0 (default) holds every link nobody configured, lo and the uplink "
                   "included: its policy may not have [Link] or [Address] settings");
    return g_memdup2(policy, sizeof(*policy));
}

GdGroupPolicy *gd_group_policy_parse(const char *path, const char *data, gsize len,
                                     const GdGroupNames *names, GPtrArray *errors)
{
    g_autoptr(GPtrArray) own_errors = errors ? NULL : g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GdGroupNames) builtin = names ? NULL : gd_group_names_parse("", 0, NULL);
    Report r = {.path = path, .errors = errors ? errors : own_errors};
    guint before = r.errors->len;
    gboolean id_known;
    g_autoptr(GdGroupPolicy) policy =
        parse_group_file(&r, data, len, names ? names : builtin, &id_known);
    return r.errors->len > before ? NULL : g_steal_pointer(&policy);
}

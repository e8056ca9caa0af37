/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl links [GROUP]: the links of the namespace, or of one group. */
#include "groupctl.h"

#include <string.h>

int verb_links(Ctl *ctl, int argc, char **argv)
{
    g_autoptr(GVariant) reply = NULL;
    g_autoptr(GHashTable) names = NULL;
    bool filter = argc > 1;
    uint32_t want = 0;
    int r;

    if (filter) {
        r = resolve_group(ctl, argv[1], &want);
        if (r)
            return r;
    }
    r = group_names(ctl, &names);
    if (r)
        return r;
    r = call_manager(ctl, "ListLinks", NULL, "(a(isuus))", &reply);
    if (r)
        return r;
    /* Who else manages each link: ifindex → (manager, source). */
    g_autoptr(GVariant) managers = NULL;
    r = call_manager(ctl, "ListLinkManagers", NULL, "(a(iss))", &managers);
    if (r)
        return r;
    g_autoptr(GHashTable) managed = g_hash_table_new(NULL, NULL);
    g_autoptr(GVariant) manager_list = g_variant_get_child_value(managers, 0);
    bool any_managed = false;
    for (gsize i = 0; i < g_variant_n_children(manager_list); i++) {
        GVariant *entry = g_variant_get_child_value(manager_list, i);
        int32_t idx;
        const char *who;
        g_variant_get(entry, "(i&s&s)", &idx, &who, NULL);
        any_managed = any_managed || strcmp(who, "none") != 0;
        g_hash_table_insert(managed, GINT_TO_POINTER(idx), entry); /* kept by manager_list */
        g_variant_unref(entry);
    }

    /* The MANAGED-BY column only where another manager has a link. */
    static const char *const headers[] = {"IDX", "NAME", "GROUP", "MTU", "OPERSTATE", "MANAGED-BY"};
    static const Align align[] = {ALIGN_RIGHT, ALIGN_LEFT, ALIGN_LEFT,
                                  ALIGN_RIGHT, ALIGN_LEFT, ALIGN_LEFT};
    g_autoptr(Table) t = table_new(any_managed ? 6 : 5, headers, align);
    table_set_min_width(t, 3, 5);
    g_autoptr(JsonBuilder) b = json_builder_new();
    unsigned shown = 0;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "Links");
    json_builder_begin_array(b);

    g_autoptr(GVariantIter) it = NULL;
    int32_t ifindex;
    const char *name, *operstate;
    uint32_t group, mtu;
    g_variant_get(reply, "(a(isuus))", &it);
    while (g_variant_iter_next(it, "(i&suu&s)", &ifindex, &name, &group, &mtu, &operstate)) {
        if (filter && group != want)
            continue;
        const char *gname = g_hash_table_lookup(names, GUINT_TO_POINTER(group));
        const char *who = "none", *source = "";
        GVariant *entry = g_hash_table_lookup(managed, GINT_TO_POINTER(ifindex));
        if (entry)
            g_variant_get(entry, "(i&s&s)", NULL, &who, &source);
        shown++;
        if (ctl->json) {
            json_builder_begin_object(b);
            jb_int(b, "Index", ifindex);
            jb_str(b, "Name", name);
            jb_int(b, "Group", group);
            jb_str(b, "GroupName", gname);
            jb_int(b, "MTU", mtu);
            jb_str(b, "OperState", operstate);
            jb_str(b, "ManagedBy", who);
            jb_str(b, "ManagedBySource", source);
            json_builder_end_object(b);
            continue;
        }
        g_autofree char *idx = g_strdup_printf("%d", ifindex);
        g_autofree char *grp = gname && *gname ? g_strdup_printf("%u (%s)", group, gname)
                                               : g_strdup_printf("%u", group);
        g_autofree char *mtus = g_strdup_printf("%u", mtu);
        const char *cells[] = {idx, name, grp, mtus, operstate, who};
        table_add_row(t, cells, 4, colour_on(operstate));
    }
    if (ctl->json) {
        json_builder_end_array(b);
        json_builder_end_object(b);
        jb_print(b);
        return EXIT_OK;
    }
    table_print(t, ctl->legend);
    if (ctl->legend)
        printf("\n%u link%s listed.\n", shown, shown == 1 ? "" : "s");
    return EXIT_OK;
}

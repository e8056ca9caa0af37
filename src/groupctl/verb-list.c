/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl list: every group object (with members or a policy). */
#include <string.h>

#include "groupctl.h"

static int by_id(gconstpointer a, gconstpointer b)
{
    uint32_t x = 0, y = 0;
    g_variant_lookup(*(GVariant *const *)a, "Id", "u", &x);
    g_variant_lookup(*(GVariant *const *)b, "Id", "u", &y);
    return x < y ? -1 : x > y;
}

/* GetManagedObjects in one call rather than GetAll per group: one round
 * trip however many groups there are. */
static int group_objects(Ctl *ctl, GPtrArray **out)
{
    g_autoptr(GVariant) reply = NULL;
    g_autoptr(GVariantIter) it = NULL;
    int r = call_groupd(ctl, GD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                        "GetManagedObjects", NULL, "(a{oa{sa{sv}}})", &reply);
    if (r)
        return r;

    g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
    GVariant *ifaces;
    g_variant_get(reply, "(a{oa{sa{sv}}})", &it);
    while (g_variant_iter_next(it, "{&o@a{sa{sv}}}", NULL, &ifaces)) {
        GVariant *props = g_variant_lookup_value(ifaces, GD_GROUP_IFACE, G_VARIANT_TYPE_VARDICT);
        if (props)
            g_ptr_array_add(groups, props);
        g_variant_unref(ifaces);
    }
    g_ptr_array_sort(groups, by_id);
    *out = g_steal_pointer(&groups);
    return 0;
}

int verb_list(Ctl *ctl, int argc, char **argv)
{
    g_autoptr(GPtrArray) groups = NULL;
    int r = group_objects(ctl, &groups);
    if (r)
        return r;

    if (ctl->json) {
        static const char *const keys[] = {"Id", "Name", "MemberCount", "MTU", "State", "Drifted"};
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "Groups");
        json_builder_begin_array(b);
        for (unsigned i = 0; i < groups->len; i++)
            jb_dict_object(b, NULL, groups->pdata[i], keys, G_N_ELEMENTS(keys));
        json_builder_end_array(b);
        json_builder_end_object(b);
        jb_print(b);
        return EXIT_OK;
    }

    static const char *const headers[] = {"ID", "NAME", "MEMBERS", "MTU", "STATE", "DRIFTED"};
    static const Align align[] = {ALIGN_RIGHT, ALIGN_LEFT, ALIGN_RIGHT,
                                  ALIGN_RIGHT, ALIGN_LEFT, ALIGN_RIGHT};
    g_autoptr(Table) t = table_new(6, headers, align);
    /* MTUs up to 65536 keep the column's width whatever the groups. */
    table_set_min_width(t, 3, 5);
    for (unsigned i = 0; i < groups->len; i++) {
        GVariant *g = groups->pdata[i];
        uint32_t id = 0, count = 0, mtu = 0, drifted = 0;
        const char *name = "", *state = "";
        g_variant_lookup(g, "Id", "u", &id);
        g_variant_lookup(g, "Name", "&s", &name);
        g_variant_lookup(g, "MemberCount", "u", &count);
        g_variant_lookup(g, "MTU", "u", &mtu);
        g_variant_lookup(g, "State", "&s", &state);
        g_variant_lookup(g, "Drifted", "u", &drifted);
        g_autofree char *ids = g_strdup_printf("%u", id);
        g_autofree char *counts = g_strdup_printf("%u", count);
        /* 0: the members' MTUs differ. */
        g_autofree char *mtus = mtu ? g_strdup_printf("%u", mtu) : g_strdup("-");
        g_autofree char *drifts = g_strdup_printf("%u", drifted);
        const char *cells[] = {ids, *name ? name : "-", counts, mtus, state, drifts};
        table_add_row(t, cells, 4, colour_on(state));
    }
    table_print(t, ctl->legend);
    if (ctl->legend)
        printf("\n%u group%s listed.\n", groups->len, groups->len == 1 ? "" : "s");
    return EXIT_OK;
}

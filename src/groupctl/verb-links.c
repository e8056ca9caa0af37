/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl links [GROUP]: the links of the namespace, or of one group. */
#include "groupctl.h"

int verb_links(Ctl *ctl, int argc, char **argv)
{
    _cleanup_msg_ sd_bus_message *reply = NULL;
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
    r = call_manager(ctl, "ListLinks", &reply, NULL);
    if (r)
        return r;

    static const char *const headers[] = {"IDX", "NAME", "GROUP", "MTU", "OPERSTATE"};
    static const Align align[] = {ALIGN_RIGHT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_RIGHT, ALIGN_LEFT};
    g_autoptr(Table) t = table_new(5, headers, align);
    table_set_min_width(t, 3, 5);
    JsonW w = {0};
    unsigned shown = 0;
    if (ctl->json) {
        jw_init(&w);
        jw_obj_begin(&w);
        jw_key(&w, "Links");
        jw_arr_begin(&w);
    }

    int32_t ifindex;
    const char *name, *operstate;
    uint32_t group, mtu;
    r = sd_bus_message_enter_container(reply, 'a', "(isuus)");
    while (r >= 0 && (r = sd_bus_message_read(reply, "(isuus)", &ifindex, &name, &group, &mtu,
                                              &operstate)) > 0) {
        if (filter && group != want)
            continue;
        const char *gname = g_hash_table_lookup(names, GUINT_TO_POINTER(group));
        shown++;
        if (ctl->json) {
            jw_obj_begin(&w);
            jw_key(&w, "Index");
            jw_int(&w, ifindex);
            jw_key(&w, "Name");
            jw_str(&w, name);
            jw_key(&w, "Group");
            jw_uint(&w, group);
            jw_key(&w, "GroupName");
            jw_str(&w, gname ? gname : "");
            jw_key(&w, "MTU");
            jw_uint(&w, mtu);
            jw_key(&w, "OperState");
            jw_str(&w, operstate);
            jw_obj_end(&w);
            continue;
        }
        g_autofree char *idx = g_strdup_printf("%d", ifindex);
        g_autofree char *grp = gname && *gname ? g_strdup_printf("%u (%s)", group, gname)
                                               : g_strdup_printf("%u", group);
        g_autofree char *mtus = g_strdup_printf("%u", mtu);
        const char *cells[] = {idx, name, grp, mtus, operstate};
        table_add_row(t, cells, 4, colour_on(operstate));
    }
    if (r < 0) {
        if (w.s)
            g_string_free(w.s, TRUE);
        return report_errno("reading ListLinks", r);
    }
    if (ctl->json) {
        jw_arr_end(&w);
        jw_obj_end(&w);
        jw_print(&w);
        return EXIT_OK;
    }
    table_print(t, ctl->legend);
    if (ctl->legend)
        printf("\n%u link%s listed.\n", shown, shown == 1 ? "" : "s");
    return EXIT_OK;
}

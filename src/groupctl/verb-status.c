/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl status: the daemon's version and counters. */
#include "groupctl.h"

int verb_status(Ctl *ctl, int argc, char **argv)
{
    g_autoptr(GVariant) props = NULL;
    g_autoptr(GHashTable) names = NULL;
    const char *version = "";
    uint32_t links = 0, resyncs = 0;
    uint64_t requests = 0, sends = 0;
    g_autofree const char **features = NULL;

    int r = get_all(ctl, GD_MANAGER_PATH, GD_MANAGER_IFACE, &props);
    if (r)
        return r;
    r = group_names(ctl, &names);
    if (r)
        return r;
    g_variant_lookup(props, "Version", "&s", &version);
    g_variant_lookup(props, "LinkCount", "u", &links);
    g_variant_lookup(props, "ResyncCount", "u", &resyncs);
    g_variant_lookup(props, "NetlinkRequests", "t", &requests);
    g_variant_lookup(props, "NetlinkSends", "t", &sends);
    if (!g_variant_lookup(props, "KernelFeatures", "^a&s", &features))
        features = g_new0(const char *, 1);
    unsigned groups = g_hash_table_size(names);

    if (ctl->json) {
        JsonW w;
        jw_init(&w);
        jw_obj_begin(&w);
        jw_key(&w, "Version");
        jw_str(&w, version);
        jw_key(&w, "LinkCount");
        jw_uint(&w, links);
        jw_key(&w, "GroupCount");
        jw_uint(&w, groups);
        jw_key(&w, "ResyncCount");
        jw_uint(&w, resyncs);
        jw_key(&w, "NetlinkRequests");
        jw_uint(&w, requests);
        jw_key(&w, "NetlinkSends");
        jw_uint(&w, sends);
        jw_key(&w, "KernelFeatures");
        jw_arr_begin(&w);
        for (const char **f = features; *f; f++)
            jw_str(&w, *f);
        jw_arr_end(&w);
        jw_obj_end(&w);
        jw_print(&w);
        return EXIT_OK;
    }
    printf("        Version: %s\n", version);
    printf("          Links: %u\n", links);
    printf("         Groups: %u\n", groups);
    printf("        Resyncs: %u\n", resyncs);
    printf("NetlinkRequests: %" G_GUINT64_FORMAT "\n", requests);
    printf("   NetlinkSends: %" G_GUINT64_FORMAT "\n", sends);
    g_autofree char *list = g_strjoinv(" ", (char **)features);
    printf(" KernelFeatures: %s\n", *list ? list : "none (stock kernel)");
    return EXIT_OK;
}

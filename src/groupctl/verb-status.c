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
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        jb_str(b, "Version", version);
        jb_int(b, "LinkCount", links);
        jb_int(b, "GroupCount", groups);
        jb_int(b, "ResyncCount", resyncs);
        jb_int(b, "NetlinkRequests", (int64_t)requests);
        jb_int(b, "NetlinkSends", (int64_t)sends);
        json_builder_set_member_name(b, "KernelFeatures");
        json_builder_begin_array(b);
        for (const char **f = features; *f; f++)
            jb_str(b, NULL, *f);
        json_builder_end_array(b);
        json_builder_end_object(b);
        jb_print(b);
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

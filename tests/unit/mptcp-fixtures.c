/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mptcp-fixtures.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <linux/if.h>
#include <string.h>

GdNlAddr fx_addr(const char *cidr, uint8_t scope, uint32_t ifa_flags)
{
    GdNlAddr a;
    g_assert_cmpint(gd_nl_cidr_parse(cidr, &a), ==, 0);
    a.scope = scope;
    a.flags = ifa_flags;
    return a;
}

GdMpMember *fx_member(int ifindex, const char *name, unsigned flags, const char *const *addrs)
{
    GdNlLink nl = {.ifindex = ifindex, .carrier = (flags & FX_CARRIER) ? 1 : 0};
    g_strlcpy(nl.name, name, sizeof(nl.name));
    if (flags & FX_UP)
        nl.flags |= IFF_UP;
    g_autoptr(GArray) list = g_array_new(FALSE, FALSE, sizeof(GdNlAddr));
    for (guint i = 0; addrs && addrs[i]; i++) {
        GdNlAddr a = fx_addr(addrs[i], 0, 0);
        a.ifindex = ifindex;
        g_array_append_val(list, a);
    }
    return gd_mp_health_member_new(&nl, list, (flags & FX_ROUTE_LOST) != 0);
}

GdMpGroup *fx_group(uint32_t id, const char *name)
{
    GdMpGroup *g = gd_mp_health_group_new(id);
    g->name = g_strdup(name);
    g->flags = GD_MPTCP_FLAG_SUBFLOW;
    return g;
}

GdMpGroup *fx_group_healthy(uint32_t id, const char *name, gboolean healthy)
{
    GdMpGroup *g = fx_group(id, name);
    g->healthy = healthy;
    g_free(g->reason);
    g->reason = g_strdup(healthy ? "" : "carrier lost");
    return g;
}

GdMptcpConfig fx_config(void)
{
    g_auto(GdDaemonConfig) defaults = {0};
    gd_daemon_config_init(&defaults);
    GdMptcpConfig cfg = defaults.mptcp;
    cfg.mode = GD_MPTCP_MODE_FAILOVER;
    return cfg;
}

GdMpState fx_state(GdMptcpMode mode)
{
    return (GdMpState){
        .mode = mode,
        .groups = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)gd_mp_health_group_free),
    };
}

GdMpGroup *fx_add(GdMpState *st, GdMpGroup *group)
{
    g_hash_table_insert(st->groups, GUINT_TO_POINTER(group->id), group);
    return group;
}

void fx_state_clear(GdMpState *st)
{
    g_clear_pointer(&st->groups, g_hash_table_unref);
    g_clear_pointer(&st->preference, g_array_unref);
}

GdMptcpEndpoint fx_endpoint(const char *addr, int ifindex, uint32_t flags)
{
    GdMptcpEndpoint ep = {.flags = flags, .ifindex = ifindex};
    ep.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    g_assert_cmpint(inet_pton(ep.family, addr, ep.addr), ==, 1);
    return ep;
}

GdConfig *fx_load(const char *conf, const char *const *groups)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *root = g_dir_make_tmp("groupd-mptcp-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *dir = g_build_filename(root, GD_CONFIG_ADMIN_DIR, NULL);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(written, g_build_filename(root, GD_CONFIG_FILE, NULL));
    g_assert_true(g_file_set_contents(written->pdata[0], conf, -1, NULL));
    for (guint i = 0; groups && groups[i]; i += 2) {
        char *path = g_build_filename(dir, groups[i], NULL);
        g_ptr_array_add(written, path);
        g_assert_true(g_file_set_contents(path, groups[i + 1], -1, NULL));
    }
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    GdConfig *config = NULL;
    int r = gd_config_load(root, NULL, &config, errors);
    for (guint i = 0; i < errors->len; i++)
        g_printerr("%s\n", (char *)errors->pdata[i]);
    g_assert_cmpint(r, ==, 0);
    for (guint i = 0; i < written->len; i++)
        g_assert_cmpint(g_remove(written->pdata[i]), ==, 0);
    /* The directories made above, deepest first. */
    g_autofree char *d = g_strdup(dir);
    while (strlen(d) > strlen(root)) {
        g_assert_cmpint(g_rmdir(d), ==, 0);
        char *up = g_path_get_dirname(d);
        g_free(d);
        d = up;
    }
    g_assert_cmpint(g_rmdir(root), ==, 0);
    return config;
}

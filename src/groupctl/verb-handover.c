/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl mptcp hand-over | hand-back: NetworkManager's MPTCP on the
 * devices of groupd's [MPTCP] groups, given to groupd or given back.
 *
 * NetworkManager adds MPTCP endpoints for its devices' addresses (its
 * connection.mptcp-flags; the default does so where net.mptcp.enabled is
 * on and the device has a default route) and re-adds them, with its flags,
 * whenever it applies a profile. groupd's failover needs the endpoints of
 * those devices to be its own, so it leaves them alone as long as
 * NetworkManager makes them. This command is the user's consent to the
 * hand-over: through NetworkManager's D-Bus API (as nmcli does) it sets
 * connection.mptcp-flags to "disabled" (0x1) in every profile that can
 * activate on those devices, on disk (Update2), and re-applies the active
 * one (Device.Reapply), after which NetworkManager removes its endpoints
 * and never touches MPTCP on those devices again — across reapply, restart
 * and reconnection — and groupd takes them over. hand-back sets the flags
 * back to 0 (NetworkManager's default). Nothing else of the profiles
 * changes; their secrets are read and written back with them. */
#include "groupctl.h"

#define NM_NAME     "org.freedesktop.NetworkManager"
#define NM_PATH     "/org/freedesktop/NetworkManager"
#define NM_DEVICE   NM_NAME ".Device"
#define NM_SETTING  NM_NAME ".Settings.Connection"
#define NM_TIMEOUT  30000
#define NM_DISABLED 0x1u
#define NM_TO_DISK  0x1u /* Update2: NM_SETTINGS_UPDATE2_FLAG_TO_DISK */

static GVariant *nm_call(Ctl *ctl, const char *path, const char *iface, const char *method,
                         GVariant *params, const char *reply_type, GError **error)
{
    return g_dbus_connection_call_sync(ctl->bus, NM_NAME, path, iface, method, params,
                                       reply_type ? G_VARIANT_TYPE(reply_type) : NULL,
                                       G_DBUS_CALL_FLAGS_NONE, NM_TIMEOUT, NULL, error);
}

static GVariant *nm_property(Ctl *ctl, const char *path, const char *iface, const char *name,
                             GError **error)
{
    g_autoptr(GVariant) reply = nm_call(ctl, path, "org.freedesktop.DBus.Properties", "Get",
                                        g_variant_new("(ss)", iface, name), "(v)", error);
    if (!reply)
        return NULL;
    GVariant *value;
    g_variant_get(reply, "(v)", &value);
    return value;
}

/* The member links of groupd's [MPTCP] groups, by name. */
static int mptcp_member_links(Ctl *ctl, GPtrArray *out)
{
    g_autoptr(GVariant) props = NULL;
    int r = get_all(ctl, GD_MPTCP_PATH, GD_MPTCP_IFACE, &props);
    if (r)
        return r;
    g_autoptr(GVariant) pref = g_variant_lookup_value(props, "Preference", G_VARIANT_TYPE("as"));
    g_autoptr(GHashTable) ids = g_hash_table_new(NULL, NULL);
    g_autoptr(GVariantIter) it = NULL;
    const char *group;
    g_variant_get(pref ? pref : g_variant_new_strv(NULL, 0), "as", &it);
    while (g_variant_iter_next(it, "&s", &group)) {
        uint32_t id;
        if (resolve_group(ctl, group, &id) == 0)
            g_hash_table_add(ids, GUINT_TO_POINTER(id));
    }
    g_autoptr(GVariant) links = NULL;
    r = call_manager(ctl, "ListLinks", NULL, "(a(isuus))", &links);
    if (r)
        return r;
    g_autoptr(GVariantIter) li = NULL;
    const char *name, *oper;
    int32_t ifindex;
    uint32_t gid, mtu;
    g_variant_get(links, "(a(isuus))", &li);
    while (g_variant_iter_next(li, "(i&suu&s)", &ifindex, &name, &gid, &mtu, &oper))
        if (g_hash_table_contains(ids, GUINT_TO_POINTER(gid)))
            g_ptr_array_add(out, g_strdup(name));
    return 0;
}

/* settings with connection.mptcp-flags set to flags (0: removed). */
static GVariant *with_mptcp_flags(GVariant *settings, uint32_t flags)
{
    GVariantBuilder all;
    g_variant_builder_init(&all, G_VARIANT_TYPE("a{sa{sv}}"));
    GVariantIter it;
    const char *setting;
    GVariant *values;
    g_variant_iter_init(&it, settings);
    while (g_variant_iter_next(&it, "{&s@a{sv}}", &setting, &values)) {
        GVariantBuilder one;
        g_variant_builder_init(&one, G_VARIANT_TYPE("a{sv}"));
        GVariantIter vi;
        const char *key;
        GVariant *value;
        g_variant_iter_init(&vi, values);
        while (g_variant_iter_next(&vi, "{&sv}", &key, &value)) {
            if (!(g_str_equal(setting, "connection") && g_str_equal(key, "mptcp-flags")))
                g_variant_builder_add(&one, "{sv}", key, value);
            g_variant_unref(value);
        }
        if (g_str_equal(setting, "connection") && flags)
            g_variant_builder_add(&one, "{sv}", "mptcp-flags", g_variant_new_uint32(flags));
        g_variant_builder_add(&all, "{s@a{sv}}", setting, g_variant_builder_end(&one));
        g_variant_unref(values);
    }
    return g_variant_builder_end(&all);
}

/* settings with the secrets of every setting that has some merged in:
 * Update2 replaces the whole profile, and GetSettings leaves them out. */
static GVariant *with_secrets(Ctl *ctl, const char *path, GVariant *settings)
{
    GVariantBuilder all;
    g_variant_builder_init(&all, G_VARIANT_TYPE("a{sa{sv}}"));
    GVariantIter it;
    const char *setting;
    GVariant *values;
    g_variant_iter_init(&it, settings);
    while (g_variant_iter_next(&it, "{&s@a{sv}}", &setting, &values)) {
        g_autoptr(GVariant) owned = values;
        GVariantDict merged;
        g_variant_dict_init(&merged, owned);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = nm_call(ctl, path, NM_SETTING, "GetSecrets",
                                            g_variant_new("(s)", setting), "(a{sa{sv}})", &error);
        g_autoptr(GVariant) secrets = reply ? g_variant_get_child_value(reply, 0) : NULL;
        g_autoptr(GVariant) mine =
            secrets ? g_variant_lookup_value(secrets, setting, G_VARIANT_TYPE("a{sv}")) : NULL;
        GVariantIter si;
        const char *key;
        GVariant *value;
        /* A setting without secrets answers with an error: nothing to add. */
        if (mine) {
            g_variant_iter_init(&si, mine);
            while (g_variant_iter_next(&si, "{&sv}", &key, &value)) {
                g_variant_dict_insert_value(&merged, key, value);
                g_variant_unref(value);
            }
        }
        g_variant_builder_add(&all, "{s@a{sv}}", setting, g_variant_dict_end(&merged));
    }
    return g_variant_builder_end(&all);
}

typedef struct {
    char *link, *id, *from, *to;
    bool reapplied;
    char *error;
} Change;

static void change_free(Change *c)
{
    g_free(c->link);
    g_free(c->id);
    g_free(c->from);
    g_free(c->to);
    g_free(c->error);
    g_free(c);
}

static char *flags_text(uint32_t flags)
{
    return flags == 0             ? g_strdup("default")
           : flags == NM_DISABLED ? g_strdup("disabled")
                                  : g_strdup_printf("0x%x", flags);
}

/* One profile of link's device: its flags set, on disk. */
static Change *update_profile(Ctl *ctl, const char *link, const char *path, uint32_t flags)
{
    Change *c = g_new0(Change, 1);
    c->link = g_strdup(link);
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        nm_call(ctl, path, NM_SETTING, "GetSettings", NULL, "(a{sa{sv}})", &error);
    if (!reply) {
        c->id = g_strdup(path);
        c->error = g_strdup(error->message);
        return c;
    }
    g_autoptr(GVariant) settings = g_variant_get_child_value(reply, 0);
    g_autoptr(GVariant) connection =
        g_variant_lookup_value(settings, "connection", G_VARIANT_TYPE("a{sv}"));
    const char *id = NULL;
    uint32_t was = 0;
    if (connection) {
        g_variant_lookup(connection, "id", "&s", &id);
        g_variant_lookup(connection, "mptcp-flags", "u", &was);
    }
    c->id = g_strdup(id ? id : path);
    c->from = flags_text(was);
    c->to = flags_text(flags);
    if (was == flags)
        return c;
    g_autoptr(GVariant) full = g_variant_ref_sink(with_secrets(ctl, path, settings));
    g_autoptr(GVariant) changed = g_variant_ref_sink(with_mptcp_flags(full, flags));
    g_autoptr(GVariant) done =
        nm_call(ctl, path, NM_SETTING, "Update2",
                g_variant_new("(@a{sa{sv}}u@a{sv})", changed, NM_TO_DISK,
                              g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
                "(a{sv})", &error);
    if (!done)
        c->error = g_strdup(error->message);
    return c;
}

static int hand(Ctl *ctl, bool over)
{
    g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(g_free);
    int r = mptcp_member_links(ctl, links);
    if (r)
        return r;
    const uint32_t flags = over ? NM_DISABLED : 0;
    g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func((GDestroyNotify)change_free);
    bool failed = false;
    for (guint i = 0; i < links->len; i++) {
        const char *link = links->pdata[i];
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) dev = nm_call(ctl, NM_PATH, NM_NAME, "GetDeviceByIpIface",
                                          g_variant_new("(s)", link), "(o)", &error);
        if (!dev)
            continue; /* not a NetworkManager device (or no NetworkManager) */
        const char *dev_path;
        g_variant_get(dev, "(&o)", &dev_path);
        /* Every profile that can activate on the device, and the active one. */
        g_autoptr(GHashTable) profiles =
            g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GVariant) available =
            nm_property(ctl, dev_path, NM_DEVICE, "AvailableConnections", NULL);
        g_autoptr(GVariant) active =
            nm_property(ctl, dev_path, NM_DEVICE, "ActiveConnection", NULL);
        g_autofree char *active_profile = NULL;
        if (active && !g_str_equal(g_variant_get_string(active, NULL), "/")) {
            g_autoptr(GVariant) conn =
                nm_property(ctl, g_variant_get_string(active, NULL), NM_NAME ".Connection.Active",
                            "Connection", NULL);
            if (conn)
                active_profile = g_variant_dup_string(conn, NULL);
        }
        if (active_profile)
            g_hash_table_add(profiles, g_strdup(active_profile));
        for (gsize k = 0; available && k < g_variant_n_children(available); k++) {
            g_autoptr(GVariant) p = g_variant_get_child_value(available, k);
            g_hash_table_add(profiles, g_variant_dup_string(p, NULL));
        }
        bool changed_active = false;
        GHashTableIter it;
        gpointer path;
        g_hash_table_iter_init(&it, profiles);
        while (g_hash_table_iter_next(&it, &path, NULL)) {
            Change *c = update_profile(ctl, link, path, flags);
            failed = failed || c->error;
            if (!c->error && g_strcmp0(c->from, c->to) != 0 && active_profile &&
                g_str_equal(path, active_profile))
                changed_active = true;
            g_ptr_array_add(changes, c);
        }
        if (!changed_active)
            continue;
        /* The active profile as changed, now: NetworkManager removes (or
         * adds) its endpoints. An empty connection re-applies the profile. */
        g_autoptr(GVariant) done =
            nm_call(ctl, dev_path, NM_DEVICE, "Reapply",
                    g_variant_new("(@a{sa{sv}}tu)",
                                  g_variant_new_array(G_VARIANT_TYPE("{sa{sv}}"), NULL, 0), 0, 0),
                    NULL, &error);
        for (guint k = 0; k < changes->len; k++) {
            Change *c = changes->pdata[k];
            if (g_str_equal(c->link, link) && !c->error && g_strcmp0(c->from, c->to) != 0)
                c->reapplied = done != NULL;
        }
        if (!done) {
            failed = true;
            g_printerr("groupctl: %s: Reapply: %s\n", link, error->message);
        }
    }
    if (ctl->json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "Profiles");
        json_builder_begin_array(b);
        for (guint i = 0; i < changes->len; i++) {
            const Change *c = changes->pdata[i];
            json_builder_begin_object(b);
            jb_str(b, "Link", c->link);
            jb_str(b, "Connection", c->id);
            jb_str(b, "From", c->from);
            jb_str(b, "To", c->to);
            jb_bool(b, "Reapplied", c->reapplied);
            jb_str(b, "Error", c->error);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
        jb_print(b);
    } else {
        for (guint i = 0; i < changes->len; i++) {
            const Change *c = changes->pdata[i];
            if (c->error)
                print_line("%s: connection \"%s\": %s", c->link, c->id, c->error);
            else if (g_strcmp0(c->from, c->to) == 0)
                print_line("%s: connection \"%s\": connection.mptcp-flags already %s", c->link,
                           c->id, c->to);
            else
                print_line("%s: connection \"%s\": connection.mptcp-flags %s -> %s%s", c->link,
                           c->id, c->from, c->to, c->reapplied ? " (re-applied)" : "");
        }
        if (changes->len == 0)
            printf("No NetworkManager profile on the devices of groupd's MPTCP groups.\n");
    }
    return failed ? EXIT_DAEMON : EXIT_OK;
}

int mptcp_hand_over(Ctl *ctl, bool over)
{
    return hand(ctl, over);
}

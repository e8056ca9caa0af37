/* SPDX-License-Identifier: LGPL-2.1-or-later
 * net.groupd1.Group: a hand-written interface skeleton over the generated
 * introspection data. gdbus-codegen skeletons store every property and
 * always emit full values; here Members is computed from the cache when
 * read and only invalidated in PropertiesChanged, so 32k names never ride
 * in a signal, and all changes of one publication leave as one signal. */
#include "bus.h"
#include "gd-dbus-generated.h"
#include "log/log.h"
#include "policy/group-summary.h"

struct _GdBusGroup {
    GDBusInterfaceSkeleton parent;
    GdBus *bus;
    uint32_t id;
    /* Published policy state. */
    GVariant *policy;
    guint drifted;
    char *last_error;
    /* What was last published. */
    GdGroupSummary summary;
    char *name;
};

G_DEFINE_TYPE(GdBusGroup, gd_bus_group, G_TYPE_DBUS_INTERFACE_SKELETON)

static void summarize(GdBusGroup *self, GdGroupSummary *out)
{
    g_autoptr(GPtrArray) members = gd_cache_group_members(self->bus->cache, self->id);
    gd_group_summary_of(members, out);
}

static GVariant *members_variant(GdBusGroup *self)
{
    g_autoptr(GPtrArray) members = gd_cache_group_members(self->bus->cache, self->id);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("as"));
    for (guint i = 0; i < members->len; i++)
        g_variant_builder_add(&b, "@s", gd_bus_shown_text(((GdLink *)members->pdata[i])->nl.name));
    return g_variant_builder_end(&b);
}

static GVariant *policy_variant(GdBusGroup *self, guint *drifted, const char **last_error)
{
    GdEngineGroupState state;
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    gboolean has = gd_engine_group_state(self->bus->engine, self->id, &state);
    *drifted = has ? state.drifted : 0;
    *last_error = has ? state.last_error : "";
    if (!has)
        return g_variant_ref_sink(g_variant_builder_end(&b));
    g_variant_builder_add(&b, "{sv}", "File", gd_bus_shown_text(state.file));
    if (state.desired.set_mtu)
        g_variant_builder_add(&b, "{sv}", "MTU", g_variant_new_uint32(state.desired.mtu));
    if (state.desired.set_state)
        g_variant_builder_add(&b, "{sv}", "State",
                              g_variant_new_string(state.desired.up ? "up" : "down"));
    if (state.desired.set_hwaddr) {
        g_autofree char *mac = gd_nl_hwaddr_format(state.desired.hwaddr, state.desired.hwaddr_len);
        g_variant_builder_add(&b, "{sv}", "MACAddress", g_variant_new_string(mac));
    }
    if (state.desired.set_txqlen)
        g_variant_builder_add(&b, "{sv}", "TxQueueLength",
                              g_variant_new_uint32(state.desired.txqlen));
    GVariantBuilder addrs;
    g_variant_builder_init(&addrs, G_VARIANT_TYPE("as"));
    for (guint i = 0; state.addresses && i < state.addresses->len; i++) {
        g_autofree char *text = gd_nl_addr_format(&g_array_index(state.addresses, GdNlAddr, i));
        g_variant_builder_add(&addrs, "s", text);
    }
    g_variant_builder_add(&b, "{sv}", "Addresses", g_variant_builder_end(&addrs));
    g_variant_builder_add(&b, "{sv}", "Overridden", g_variant_new_boolean(state.overridden));
    return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* Floating, or (Policy) a full reference. */
static GVariant *make_property_value(GdBusGroup *self, const char *name)
{
    if (g_str_equal(name, "Policy"))
        return g_variant_ref(self->policy);
    if (g_str_equal(name, "Drifted"))
        return g_variant_new_uint32(self->drifted);
    if (g_str_equal(name, "LastError"))
        return gd_bus_shown_text(self->last_error);
    if (g_str_equal(name, "Id"))
        return g_variant_new_uint32(self->id);
    if (g_str_equal(name, "Name"))
        return gd_bus_shown_text(self->name);
    if (g_str_equal(name, "MemberCount"))
        return g_variant_new_uint32(self->summary.member_count);
    if (g_str_equal(name, "Members"))
        return members_variant(self);
    if (g_str_equal(name, "MTU"))
        return g_variant_new_uint32(self->summary.mtu);
    if (g_str_equal(name, "State"))
        return g_variant_new_string(self->summary.state);
    if (g_str_equal(name, "TxQueueLength"))
        return g_variant_new_uint32(self->summary.txqlen);
    return NULL;
}

/* A new full reference to the value of a property, or NULL. */
static GVariant *property_value(GdBusGroup *self, const char *name)
{
    GVariant *value = make_property_value(self, name);
    if (value && g_variant_is_floating(value))
        g_variant_ref_sink(value);
    return value;
}

static GVariant *get_property_cb(GDBusConnection *conn, const char *sender, const char *path,
                                 const char *interface, const char *name, GError **error,
                                 gpointer user_data)
{
    GdBusGroup *self = GD_BUS_GROUP(user_data);
    /* A caller reading after its own change sees it (see gd_bus_flush). */
    g_object_ref(self);
    gd_bus_flush(self->bus);
    GVariant *value = property_value(self, name);
    g_object_unref(self);
    if (!value)
        g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s", name);
    return value;
}

static const GDBusInterfaceVTable group_vtable = {
    .method_call = NULL,
    .get_property = get_property_cb,
    .set_property = NULL,
};

static GDBusInterfaceInfo *iface_get_info(GDBusInterfaceSkeleton *skeleton)
{
    return gd_dbus_group_interface_info();
}

static GDBusInterfaceVTable *iface_get_vtable(GDBusInterfaceSkeleton *skeleton)
{
    return (GDBusInterfaceVTable *)&group_vtable;
}

static GVariant *iface_get_properties(GDBusInterfaceSkeleton *skeleton)
{
    GdBusGroup *self = GD_BUS_GROUP(skeleton);
    GDBusInterfaceInfo *info = gd_dbus_group_interface_info();
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    for (guint i = 0; info->properties[i]; i++) {
        g_autoptr(GVariant) value = property_value(self, info->properties[i]->name);
        g_variant_builder_add(&b, "{sv}", info->properties[i]->name, value);
    }
    return g_variant_builder_end(&b);
}

static void iface_flush(GDBusInterfaceSkeleton *skeleton)
{
    /* Nothing is deferred: refresh() emits at once. */
}

static void gd_bus_group_finalize(GObject *object)
{
    GdBusGroup *self = GD_BUS_GROUP(object);
    g_free(self->name);
    g_free(self->last_error);
    g_clear_pointer(&self->policy, g_variant_unref);
    G_OBJECT_CLASS(gd_bus_group_parent_class)->finalize(object);
}

static void gd_bus_group_class_init(GdBusGroupClass *klass)
{
    GDBusInterfaceSkeletonClass *skeleton_class = G_DBUS_INTERFACE_SKELETON_CLASS(klass);
    G_OBJECT_CLASS(klass)->finalize = gd_bus_group_finalize;
    skeleton_class->get_info = iface_get_info;
    skeleton_class->get_vtable = iface_get_vtable;
    skeleton_class->get_properties = iface_get_properties;
    skeleton_class->flush = iface_flush;
}

static void gd_bus_group_init(GdBusGroup *self)
{
}

static char *group_name(GdBusGroup *self)
{
    const char *name = gd_bus_group_name(self->bus, self->id);
    return g_strdup(name ? name : "");
}

GdBusGroup *gd_bus_group_new(GdBus *bus, uint32_t id)
{
    GdBusGroup *self = g_object_new(GD_TYPE_BUS_GROUP, NULL);
    const char *last_error;
    self->bus = bus;
    self->id = id;
    self->policy = policy_variant(self, &self->drifted, &last_error);
    self->last_error = g_strdup(last_error);
    self->name = group_name(self);
    summarize(self, &self->summary);
    return self;
}

void gd_bus_group_refresh(GdBusGroup *self, gboolean members_changed)
{
    GdGroupSummary s;
    GVariantBuilder changed;
    gboolean any = FALSE;
    g_autofree char *name = group_name(self);

    summarize(self, &s);
    g_variant_builder_init(&changed, G_VARIANT_TYPE("a{sv}"));
#define UPDATE(field, prop, variant)                                                               \
    if (self->summary.field != s.field) {                                                          \
        g_variant_builder_add(&changed, "{sv}", prop, variant(s.field));                           \
        any = TRUE;                                                                                \
    }
    UPDATE(member_count, "MemberCount", g_variant_new_uint32)
    UPDATE(mtu, "MTU", g_variant_new_uint32)
    UPDATE(txqlen, "TxQueueLength", g_variant_new_uint32)
#undef UPDATE
    if (!g_str_equal(self->summary.state, s.state)) {
        g_variant_builder_add(&changed, "{sv}", "State", g_variant_new_string(s.state));
        any = TRUE;
    }
    self->summary = s;
    if (!g_str_equal(self->name, name)) {
        g_free(self->name);
        self->name = g_steal_pointer(&name);
        g_variant_builder_add(&changed, "{sv}", "Name", gd_bus_shown_text(self->name));
        any = TRUE;
    }
    guint drifted;
    const char *last_error;
    g_autoptr(GVariant) policy = policy_variant(self, &drifted, &last_error);
    if (!g_variant_equal(policy, self->policy)) {
        g_variant_unref(self->policy);
        self->policy = g_variant_ref(policy);
        g_variant_builder_add(&changed, "{sv}", "Policy", policy);
        any = TRUE;
    }
    if (drifted != self->drifted) {
        self->drifted = drifted;
        g_variant_builder_add(&changed, "{sv}", "Drifted", g_variant_new_uint32(drifted));
        any = TRUE;
    }
    if (!g_str_equal(last_error, self->last_error)) {
        g_free(self->last_error);
        self->last_error = g_strdup(last_error);
        g_variant_builder_add(&changed, "{sv}", "LastError", gd_bus_shown_text(last_error));
        any = TRUE;
    }
    GVariant *changed_v = g_variant_builder_end(&changed);
    GDBusConnection *conn =
        g_dbus_interface_skeleton_get_connection(G_DBUS_INTERFACE_SKELETON(self));
    if ((!any && !members_changed) || !conn) {
        g_variant_unref(g_variant_ref_sink(changed_v));
        return;
    }
    const char *invalidated[] = {"Members", NULL};
    g_autoptr(GError) error = NULL;
    if (!g_dbus_connection_emit_signal(
            conn, NULL, g_dbus_interface_skeleton_get_object_path(G_DBUS_INTERFACE_SKELETON(self)),
            "org.freedesktop.DBus.Properties", "PropertiesChanged",
            g_variant_new("(s@a{sv}^as)", "net.groupd1.Group", changed_v,
                          members_changed ? invalidated : invalidated + 1),
            &error))
        gd_log_group(G_LOG_LEVEL_WARNING, self->id, "PropertiesChanged: %s", error->message);
}

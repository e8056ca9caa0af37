/* SPDX-License-Identifier: LGPL-2.1-or-later
 * net.groupd1.Group: a hand-written interface skeleton over the generated
 * introspection data. gdbus-codegen skeletons store every property and
 * always emit full values; here Members is computed from the cache when
 * read and only invalidated in PropertiesChanged, so 32k names never ride
 * in a signal, and all changes of one publication leave as one signal. */
#include "bus.h"
#include "gd-dbus-generated.h"

#include <string.h>

struct _GdGroupIface {
    GDBusInterfaceSkeleton parent;
    GdBus *bus;
    GdCache *cache;
    GdGroupNames *names;
    GdEngine *engine;
    uint32_t id;
    /* Published policy state. */
    GVariant *policy;
    guint drifted;
    char *last_error;
    /* What was last published. */
    guint member_count;
    guint mtu;
    guint txqlen;
    const char *state;
    char *name;
};

G_DEFINE_TYPE(GdGroupIface, gd_group_iface, G_TYPE_DBUS_INTERFACE_SKELETON)

typedef struct {
    guint member_count;
    guint mtu;
    guint txqlen;
    const char *state;
} Summary;

static void summarize(GdGroupIface *self, Summary *out)
{
    g_autoptr(GPtrArray) members = gd_cache_group_members(self->cache, self->id);
    guint up = 0;
    memset(out, 0, sizeof(*out));
    out->member_count = members->len;
    for (guint i = 0; i < members->len; i++) {
        const GdLink *link = members->pdata[i];
        if (i == 0) {
            out->mtu = link->nl.mtu;
            out->txqlen = link->nl.txqlen;
        } else {
            if (out->mtu != link->nl.mtu)
                out->mtu = 0;
            if (out->txqlen != link->nl.txqlen)
                out->txqlen = 0;
        }
        up += gd_link_is_up(link) ? 1 : 0;
    }
    out->state = up == 0 ? "down" : up == members->len ? "up" : "mixed";
}

static GVariant *members_variant(GdGroupIface *self)
{
    g_autoptr(GPtrArray) members = gd_cache_group_members(self->cache, self->id);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("as"));
    for (guint i = 0; i < members->len; i++)
        g_variant_builder_add(&b, "@s", gd_bus_text(((GdLink *)members->pdata[i])->nl.name));
    return g_variant_builder_end(&b);
}

static GVariant *policy_variant(GdGroupIface *self, guint *drifted, const char **last_error)
{
    GdEngineGroupState state;
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    gboolean has = self->engine && gd_engine_group_state(self->engine, self->id, &state);
    *drifted = has ? state.drifted : 0;
    *last_error = has ? state.last_error : "";
    if (!has)
        return g_variant_ref_sink(g_variant_builder_end(&b));
    g_variant_builder_add(&b, "{sv}", "File", gd_bus_text(state.file));
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
static GVariant *make_property_value(GdGroupIface *self, const char *name)
{
    if (g_str_equal(name, "Policy"))
        return g_variant_ref(self->policy);
    if (g_str_equal(name, "Drifted"))
        return g_variant_new_uint32(self->drifted);
    if (g_str_equal(name, "LastError"))
        return gd_bus_text(self->last_error);
    if (g_str_equal(name, "Id"))
        return g_variant_new_uint32(self->id);
    if (g_str_equal(name, "Name"))
        return gd_bus_text(self->name);
    if (g_str_equal(name, "MemberCount"))
        return g_variant_new_uint32(self->member_count);
    if (g_str_equal(name, "Members"))
        return members_variant(self);
    if (g_str_equal(name, "MTU"))
        return g_variant_new_uint32(self->mtu);
    if (g_str_equal(name, "State"))
        return g_variant_new_string(self->state);
    if (g_str_equal(name, "TxQueueLength"))
        return g_variant_new_uint32(self->txqlen);
    return NULL;
}

/* A new full reference to the value of a property, or NULL. */
static GVariant *property_value(GdGroupIface *self, const char *name)
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
    GdGroupIface *self = GD_GROUP_IFACE(user_data);
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
    GdGroupIface *self = GD_GROUP_IFACE(skeleton);
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

static void gd_group_iface_finalize(GObject *object)
{
    GdGroupIface *self = GD_GROUP_IFACE(object);
    g_free(self->name);
    g_free(self->last_error);
    g_clear_pointer(&self->policy, g_variant_unref);
    G_OBJECT_CLASS(gd_group_iface_parent_class)->finalize(object);
}

static void gd_group_iface_class_init(GdGroupIfaceClass *klass)
{
    GDBusInterfaceSkeletonClass *skeleton_class = G_DBUS_INTERFACE_SKELETON_CLASS(klass);
    G_OBJECT_CLASS(klass)->finalize = gd_group_iface_finalize;
    skeleton_class->get_info = iface_get_info;
    skeleton_class->get_vtable = iface_get_vtable;
    skeleton_class->get_properties = iface_get_properties;
    skeleton_class->flush = iface_flush;
}

static void gd_group_iface_init(GdGroupIface *self)
{
}

const char *gd_bus_group_name(GdGroupNames *names, GdEngine *engine, uint32_t id)
{
    const char *name = engine ? gd_engine_group_name(engine, id) : NULL;
    return name ? name : gd_group_names_name(names, id);
}

static char *group_name(GdGroupIface *self)
{
    const char *name = gd_bus_group_name(self->names, self->engine, self->id);
    return g_strdup(name ? name : "");
}

GdGroupIface *gd_group_iface_new(GdBus *bus, GdCache *cache, GdGroupNames *names, GdEngine *engine,
                                 uint32_t id)
{
    GdGroupIface *self = g_object_new(GD_TYPE_GROUP_IFACE, NULL);
    self->bus = bus;
    Summary s;
    const char *last_error;
    self->cache = cache;
    self->names = names;
    self->engine = engine;
    self->id = id;
    self->policy = policy_variant(self, &self->drifted, &last_error);
    self->last_error = g_strdup(last_error);
    self->name = group_name(self);
    summarize(self, &s);
    self->member_count = s.member_count;
    self->mtu = s.mtu;
    self->txqlen = s.txqlen;
    self->state = s.state;
    return self;
}

uint32_t gd_group_iface_get_id(GdGroupIface *iface)
{
    return iface->id;
}

void gd_group_iface_refresh(GdGroupIface *self, gboolean members_changed)
{
    Summary s;
    GVariantBuilder changed;
    gboolean any = FALSE;
    g_autofree char *name = group_name(self);

    summarize(self, &s);
    g_variant_builder_init(&changed, G_VARIANT_TYPE("a{sv}"));
#define UPDATE(field, prop, variant)                                                               \
    if (self->field != s.field) {                                                                  \
        self->field = s.field;                                                                     \
        g_variant_builder_add(&changed, "{sv}", prop, variant(s.field));                           \
        any = TRUE;                                                                                \
    }
    UPDATE(member_count, "MemberCount", g_variant_new_uint32)
    UPDATE(mtu, "MTU", g_variant_new_uint32)
    UPDATE(txqlen, "TxQueueLength", g_variant_new_uint32)
#undef UPDATE
    if (!g_str_equal(self->state, s.state)) {
        self->state = s.state;
        g_variant_builder_add(&changed, "{sv}", "State", g_variant_new_string(s.state));
        any = TRUE;
    }
    if (!g_str_equal(self->name, name)) {
        g_free(self->name);
        self->name = g_steal_pointer(&name);
        g_variant_builder_add(&changed, "{sv}", "Name", gd_bus_text(self->name));
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
        g_variant_builder_add(&changed, "{sv}", "LastError", gd_bus_text(last_error));
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
        g_warning("group %u: PropertiesChanged: %s", self->id, error->message);
}

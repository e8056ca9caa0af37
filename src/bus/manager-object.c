/* SPDX-License-Identifier: LGPL-2.1-or-later
 * net.groupd1.Manager on the generated skeleton: its table of methods, the
 * reads, Reload, and LinksChanged. The changes to groups are group-ops.c's. */
#include "bus.h"
#include "gd-dbus-generated.h"

#include <errno.h>
#include <string.h>

struct GdBusManager {
    GdBus *bus;
    GdDBusManager *skeleton;
};

static gint compare_int(gconstpointer a, gconstpointer b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void gd_bus_manager_publish(GdBusManager *m, const GdChangeSet *set)
{
    GdCache *cache = m->bus->cache;
    GHashTableIter iter;
    gpointer key;
    g_autoptr(GArray) indexes = g_array_new(FALSE, FALSE, sizeof(int));
    g_hash_table_iter_init(&iter, set->changed);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        int ifindex = GPOINTER_TO_INT(key);
        g_array_append_val(indexes, ifindex);
    }
    g_array_sort(indexes, compare_int);
    g_autoptr(GPtrArray) links = g_ptr_array_sized_new(indexes->len);
    for (guint i = 0; i < indexes->len; i++) {
        GdLink *link = gd_cache_link_by_index(cache, g_array_index(indexes, int, i));
        if (link)
            g_ptr_array_add(links, link);
    }
    if (indexes->len > 0 || g_hash_table_size(set->removed) > 0 || set->resync) {
        GVariantBuilder removed;
        g_variant_builder_init(&removed, G_VARIANT_TYPE("ai"));
        g_hash_table_iter_init(&iter, set->removed);
        while (g_hash_table_iter_next(&iter, &key, NULL))
            g_variant_builder_add(&removed, "i", GPOINTER_TO_INT(key));
        gd_dbus_manager_emit_links_changed(m->skeleton, gd_bus_link_list(links),
                                           g_variant_builder_end(&removed), set->resync ? 1 : 0);
    }
    gd_dbus_manager_set_link_count(m->skeleton, gd_cache_link_count(cache));
    gd_dbus_manager_set_resync_count(m->skeleton, gd_cache_resync_count(cache));
}

void gd_bus_manager_set_counters(GdBusManager *m, guint64 requests, guint64 sends,
                                 const guint64 *paths)
{
    gd_dbus_manager_set_netlink_requests(m->skeleton, requests);
    gd_dbus_manager_set_netlink_sends(m->skeleton, sends);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{st}"));
    for (GdKpath p = GD_KPATH_GROUP; p <= GD_KPATH_PER_LINK; p++)
        g_variant_builder_add(&b, "{st}", gd_kpath_name(p), paths[p]);
    gd_dbus_manager_set_kernel_paths(m->skeleton, g_variant_builder_end(&b));
}

/* ---- calls ---- */

/* A copy of strv in one block (freed with g_free()): SetLinkGroup may name
 * 65536 links, which it keeps until the reply, after GDBus has made its own
 * copy for the handler. */
static char **strv_packed(const char *const *strv)
{
    gsize n = 0, chars = 0;
    for (; strv[n]; n++)
        chars += strlen(strv[n]) + 1;
    char **copy = g_malloc((n + 1) * sizeof(char *) + chars);
    char *text = (char *)(copy + n + 1);
    for (gsize i = 0; i < n; i++) {
        gsize len = strlen(strv[i]) + 1;
        copy[i] = memcpy(text, strv[i], len);
        text += len;
    }
    copy[n] = NULL;
    return copy;
}

static void call_free(GdBusManagerCall *call)
{
    g_clear_object(&call->base.invocation);
    g_free(call->group);
    g_free(call->links);
    g_free(call->address);
    g_free(call->name);
    g_clear_pointer(&call->props, g_variant_unref);
    g_clear_pointer(&call->options, g_variant_unref);
    g_free(call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdBusManagerCall, call_free)

static GdBusManagerCall *call_new(GdBus *bus, GDBusMethodInvocation *invocation)
{
    GdBusManagerCall *call = g_new0(GdBusManagerCall, 1);
    call->base.bus = bus;
    call->base.invocation = invocation; /* the reply consumes the handler's reference */
    call->base.free = (GDestroyNotify)call_free;
    return call;
}

static gboolean start(GdBusManagerCall *call);

/* The generated handle-* signals' typed handlers: each keeps its arguments. */

static gboolean handle_no_args(GdDBusManager *skeleton, GDBusMethodInvocation *invocation,
                               GdBus *bus)
{
    return start(call_new(bus, invocation));
}

static gboolean handle_get_link(GdDBusManager *skeleton, GDBusMethodInvocation *invocation,
                                const char *name, GdBus *bus)
{
    GdBusManagerCall *call = call_new(bus, invocation);
    call->name = g_strdup(name);
    return start(call);
}

static gboolean handle_set_link_group(GdDBusManager *skeleton, GDBusMethodInvocation *invocation,
                                      const char *const *links, const char *group, GdBus *bus)
{
    GdBusManagerCall *call = call_new(bus, invocation);
    call->links = strv_packed(links);
    call->group = g_strdup(group);
    return start(call);
}

static gboolean handle_set_group(GdDBusManager *skeleton, GDBusMethodInvocation *invocation,
                                 const char *group, GVariant *props, GVariant *options, GdBus *bus)
{
    GdBusManagerCall *call = call_new(bus, invocation);
    call->group = g_strdup(group);
    call->props = g_variant_ref(props);
    call->options = g_variant_ref(options);
    return start(call);
}

static gboolean handle_group_address(GdDBusManager *skeleton, GDBusMethodInvocation *invocation,
                                     const char *group, const char *address, GVariant *options,
                                     GdBus *bus)
{
    GdBusManagerCall *call = call_new(bus, invocation);
    call->group = g_strdup(group);
    call->address = g_strdup(address);
    call->options = g_variant_ref(options);
    return start(call);
}

static gboolean handle_reload(GdDBusManager *skeleton, GDBusMethodInvocation *invocation,
                              guint32 flags, GdBus *bus)
{
    GdBusManagerCall *call = call_new(bus, invocation);
    call->flags = flags;
    return start(call);
}

/* ---- reads ---- */

static void list_groups(GdBusCall *base)
{
    g_autoptr(GdBusManagerCall) call = (GdBusManagerCall *)base;
    GdBus *bus = call->base.bus;
    g_autoptr(GArray) ids = gd_cache_group_ids(bus->cache);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(usu)"));
    for (guint i = 0; i < ids->len; i++) {
        uint32_t id = g_array_index(ids, uint32_t, i);
        const char *name = gd_bus_group_name(bus, id);
        g_variant_builder_add(&b, "(u@su)", id, gd_bus_shown_text(name ? name : ""),
                              gd_cache_group_size(bus->cache, id));
    }
    gd_dbus_manager_complete_list_groups(
        bus->manager->skeleton, g_steal_pointer(&call->base.invocation), g_variant_builder_end(&b));
}

static void list_links(GdBusCall *base)
{
    g_autoptr(GdBusManagerCall) call = (GdBusManagerCall *)base;
    GdBus *bus = call->base.bus;
    g_autoptr(GPtrArray) links = gd_cache_links(bus->cache);
    gd_dbus_manager_complete_list_links(
        bus->manager->skeleton, g_steal_pointer(&call->base.invocation), gd_bus_link_list(links));
}

static const GdPeerLink *peer_of(GdBus *bus, const GdLink *link)
{
    return bus->peer_lookup ? bus->peer_lookup(link->nl.ifindex, link->nl.name, bus->peer_data)
                            : NULL;
}

static int compare_ifindex(gconstpointer a, gconstpointer b)
{
    const GdLink *x = *(const GdLink *const *)a, *y = *(const GdLink *const *)b;
    return (x->nl.ifindex > y->nl.ifindex) - (x->nl.ifindex < y->nl.ifindex);
}

static void list_link_managers(GdBusCall *base)
{
    g_autoptr(GdBusManagerCall) call = (GdBusManagerCall *)base;
    GdBus *bus = call->base.bus;
    g_autoptr(GPtrArray) links = gd_cache_links(bus->cache);
    g_ptr_array_sort(links, compare_ifindex);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(iss)"));
    for (guint i = 0; i < links->len; i++) {
        const GdLink *link = links->pdata[i];
        const GdPeerLink *peer = peer_of(bus, link);
        g_variant_builder_add(&b, "(is@s)", link->nl.ifindex,
                              gd_peer_kind_name(peer ? peer->manager : GD_PEER_NONE),
                              gd_bus_shown_text(peer && peer->source ? peer->source : ""));
    }
    gd_dbus_manager_complete_list_link_managers(
        bus->manager->skeleton, g_steal_pointer(&call->base.invocation), g_variant_builder_end(&b));
}

static GVariant *link_properties(GdBus *bus, const GdLink *link)
{
    GVariantBuilder b, addrs;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_init(&addrs, G_VARIANT_TYPE("as"));
    for (guint i = 0; i < link->addrs->len; i++) {
        g_autofree char *text = gd_nl_addr_format(&g_array_index(link->addrs, GdNlAddr, i));
        g_variant_builder_add(&addrs, "s", text);
    }
    g_autofree char *mac = gd_nl_hwaddr_format(link->nl.hwaddr, link->nl.hwaddr_len);
    const char *group_name = gd_bus_group_name(bus, link->nl.group);
    g_variant_builder_add(&b, "{sv}", "Index", g_variant_new_int32(link->nl.ifindex));
    g_variant_builder_add(&b, "{sv}", "Name", gd_bus_shown_text(link->nl.name));
    g_variant_builder_add(&b, "{sv}", "Group", g_variant_new_uint32(link->nl.group));
    g_variant_builder_add(&b, "{sv}", "GroupName", gd_bus_shown_text(group_name ? group_name : ""));
    g_variant_builder_add(&b, "{sv}", "MTU", g_variant_new_uint32(link->nl.mtu));
    g_variant_builder_add(&b, "{sv}", "MinMTU", g_variant_new_uint32(link->nl.min_mtu));
    g_variant_builder_add(&b, "{sv}", "MaxMTU", g_variant_new_uint32(link->nl.max_mtu));
    g_variant_builder_add(&b, "{sv}", "State",
                          g_variant_new_string(gd_link_is_up(link) ? "up" : "down"));
    g_variant_builder_add(&b, "{sv}", "OperState",
                          g_variant_new_string(gd_link_operstate_name(link)));
    g_variant_builder_add(&b, "{sv}", "Carrier", g_variant_new_boolean(link->nl.carrier > 0));
    g_variant_builder_add(&b, "{sv}", "MACAddress", g_variant_new_string(mac));
    g_variant_builder_add(&b, "{sv}", "Kind", gd_bus_shown_text(link->nl.kind));
    g_variant_builder_add(&b, "{sv}", "TxQueueLength", g_variant_new_uint32(link->nl.txqlen));
    g_variant_builder_add(&b, "{sv}", "Addresses", g_variant_builder_end(&addrs));
    const GdPeerLink *peer = peer_of(bus, link);
    g_variant_builder_add(
        &b, "{sv}", "ManagedBy",
        g_variant_new_string(gd_peer_kind_name(peer ? peer->manager : GD_PEER_NONE)));
    g_variant_builder_add(&b, "{sv}", "ManagedBySource",
                          gd_bus_shown_text(peer && peer->source ? peer->source : ""));
    return g_variant_builder_end(&b);
}

static void get_link(GdBusCall *base)
{
    g_autoptr(GdBusManagerCall) call = (GdBusManagerCall *)base;
    GdBus *bus = base->bus;
    g_autoptr(GError) error = NULL;
    GdLink *link = gd_bus_resolve_link(bus, call->name);
    if (!link) {
        g_autofree char *clipped = gd_bus_clip_link_name(call->name);
        error = gd_bus_error_from_errno(-ENODEV, FALSE, NULL, "no such link: \"%s\"", clipped);
        gd_bus_error_return(g_steal_pointer(&base->invocation), error);
        return;
    }
    gd_dbus_manager_complete_get_link(bus->manager->skeleton, g_steal_pointer(&base->invocation),
                                      link_properties(bus, link));
}

static void plan(GdBusCall *base)
{
    g_autoptr(GdBusManagerCall) call = (GdBusManagerCall *)base;
    GdBus *bus = call->base.bus;
    g_autofree char *json = gd_engine_plan_json(bus->engine);
    gd_dbus_manager_complete_plan(bus->manager->skeleton, g_steal_pointer(&call->base.invocation),
                                  json);
}

/* ---- Reload ---- */

static void reload_done_cb(GdEngine *engine, const char *plan_json, const char *error,
                           gpointer user_data)
{
    g_autoptr(GdBusManagerCall) call = user_data;
    GDBusMethodInvocation *invocation = g_steal_pointer(&call->base.invocation);
    g_autoptr(GError) gerror = NULL;
    if (error && !plan_json)
        gerror = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_INVALID_ARGS,
                             "the configuration has errors; the running one stays:\n%s", error);
    else if (error)
        gerror = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_PARTIALLY_APPLIED,
                             "the configuration was loaded, but the kernel refused part of it "
                             "(groupd retries with back-off):\n%s",
                             error);
    if (gerror)
        gd_bus_error_return(invocation, gerror);
    else
        gd_dbus_manager_complete_reload(call->base.bus->manager->skeleton, invocation,
                                        plan_json ? plan_json : "{}");
}

static void reload(GdBusCall *base)
{
    g_autoptr(GdBusManagerCall) call = (GdBusManagerCall *)base;
    GdBus *bus = base->bus;
    if (call->flags & ~1u) {
        g_autoptr(GError) error =
            g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_INVALID_ARGS,
                        "unknown flags 0x%x (known: 1, dry run)", call->flags & ~1u);
        gd_bus_error_return(g_steal_pointer(&base->invocation), error);
        return;
    }
    gboolean dry_run = (call->flags & 1) != 0;
    gd_engine_reload(bus->engine, dry_run, reload_done_cb, g_steal_pointer(&call));
}

/* ---- the table ---- */

static const GdBusMethod methods[] = {
    {"ListGroups", NULL, G_CALLBACK(handle_no_args), list_groups},
    {"ListLinks", NULL, G_CALLBACK(handle_no_args), list_links},
    {"GetLink", NULL, G_CALLBACK(handle_get_link), get_link},
    {"ListLinkManagers", NULL, G_CALLBACK(handle_no_args), list_link_managers},
    {"Plan", NULL, G_CALLBACK(handle_no_args), plan},
    {"SetLinkGroup", "net.groupd1.set-link-group", G_CALLBACK(handle_set_link_group),
     gd_bus_group_ops_set_link_group},
    {"SetGroup", "net.groupd1.set-group", G_CALLBACK(handle_set_group), gd_bus_group_ops_set_group},
    {"AddGroupAddress", "net.groupd1.group-address", G_CALLBACK(handle_group_address),
     gd_bus_group_ops_add_address},
    {"RemoveGroupAddress", "net.groupd1.group-address", G_CALLBACK(handle_group_address),
     gd_bus_group_ops_remove_address},
    {"Reload", "net.groupd1.reload", G_CALLBACK(handle_reload), reload},
};

const GdBusMethod *gd_bus_manager_methods(guint *n)
{
    *n = G_N_ELEMENTS(methods);
    return methods;
}

static gboolean start(GdBusManagerCall *call)
{
    return gd_bus_methods_start(&call->base, methods, G_N_ELEMENTS(methods));
}

/* ---- lifecycle ---- */

GdBusManager *gd_bus_manager_new(GdBus *bus)
{
    GdBusManager *m = g_new0(GdBusManager, 1);
    g_autoptr(GError) error = NULL;
    m->bus = bus;
    m->skeleton = gd_dbus_manager_skeleton_new();
    gd_dbus_manager_set_version(m->skeleton, bus->options.version);
    gd_dbus_manager_set_link_count(m->skeleton, gd_cache_link_count(bus->cache));
    g_auto(GStrv) features = gd_nl_feature_names(gd_cache_kernel_features(bus->cache));
    gd_dbus_manager_set_kernel_features(m->skeleton, (const char *const *)features);
    gd_dbus_manager_set_resync_count(m->skeleton, gd_cache_resync_count(bus->cache));
    gd_bus_methods_connect(m->skeleton, methods, G_N_ELEMENTS(methods), bus);
    if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(m->skeleton), bus->conn,
                                          GD_BUS_PATH, &error))
        g_error("exporting %s: %s", GD_BUS_PATH, error->message);
    return m;
}

void gd_bus_manager_free(GdBusManager *m)
{
    g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(m->skeleton));
    g_object_unref(m->skeleton);
    g_free(m);
}

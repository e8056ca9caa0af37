/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The service: its objects (the Manager, one Group object per group with
 * members or a policy, Mptcp) and the publication of cache changes,
 * deferred shortly after a reply. */
#include "bus.h"
#include "text/text.h"

#include <errno.h>

/* ---- group objects ---- */

static void group_object_add(GdBus *bus, uint32_t id)
{
    g_autofree char *path = g_strdup_printf(GD_BUS_GROUP_PATH_PREFIX "%u", id);
    g_autoptr(GDBusObjectSkeleton) object = g_dbus_object_skeleton_new(path);
    g_autoptr(GdBusGroup) group = gd_bus_group_new(bus, id);
    g_dbus_object_skeleton_add_interface(object, G_DBUS_INTERFACE_SKELETON(group));
    g_dbus_object_manager_server_export(bus->object_manager, object);
    g_hash_table_insert(bus->groups, GUINT_TO_POINTER(id), g_steal_pointer(&object));
}

static void group_object_remove(GdBus *bus, uint32_t id)
{
    g_autofree char *path = g_strdup_printf(GD_BUS_GROUP_PATH_PREFIX "%u", id);
    g_dbus_object_manager_server_unexport(bus->object_manager, path);
    g_hash_table_remove(bus->groups, GUINT_TO_POINTER(id));
}

static GdBusGroup *group_of(GDBusObjectSkeleton *object)
{
    GList *ifaces = g_dbus_object_get_interfaces(G_DBUS_OBJECT(object));
    GdBusGroup *group = ifaces ? ifaces->data : NULL;
    g_list_free_full(ifaces, g_object_unref);
    return group;
}

/* A group is an object while it has members or a policy. */
static gboolean group_wanted(GdBus *bus, uint32_t id)
{
    GdEngineGroupState state;
    return gd_cache_group_size(bus->cache, id) > 0 ||
           gd_engine_group_state(bus->engine, id, &state);
}

/* Each group of ids appears, disappears or is refreshed. */
static void update_groups(GdBus *bus, GHashTable *ids, GHashTable *membership, gboolean resync)
{
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, ids);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        uint32_t id = GPOINTER_TO_UINT(key);
        GDBusObjectSkeleton *object = g_hash_table_lookup(bus->groups, key);
        gboolean wanted = group_wanted(bus, id);
        if (!wanted && object)
            group_object_remove(bus, id);
        else if (wanted && !object)
            group_object_add(bus, id);
        else if (object)
            gd_bus_group_refresh(group_of(object),
                                 resync || (membership && g_hash_table_contains(membership, key)));
    }
}

void gd_bus_update_counters(GdBus *bus)
{
    guint64 requests, sends;
    gd_executor_counters(gd_runner_executor(bus->runner), &requests, &sends);
    guint64 paths[GD_KPATH_N];
    gd_runner_path_counts(bus->runner, paths);
    gd_bus_manager_set_counters(bus->manager, requests, sends, paths);
}

void gd_bus_policy_changed(GdBus *bus)
{
    g_autoptr(GHashTable) ids = g_hash_table_new(NULL, NULL);
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, bus->groups);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_hash_table_add(ids, key);
    g_autoptr(GArray) policy_ids = gd_engine_policy_groups(bus->engine);
    for (guint i = 0; i < policy_ids->len; i++)
        g_hash_table_add(ids, GUINT_TO_POINTER(g_array_index(policy_ids, uint32_t, i)));
    update_groups(bus, ids, NULL, FALSE);
    gd_bus_update_counters(bus);
}

void gd_bus_publish(GdBus *bus)
{
    g_autoptr(GdChangeSet) set = gd_cache_take_changes(bus->cache);
    if (gd_change_set_is_empty(set))
        return;
    bus->publications++;
    /* One LinksChanged for the whole batch. */
    gd_bus_manager_publish(bus->manager, set);

    /* Group objects: appear, disappear, or one PropertiesChanged each. */
    GHashTable *touched = set->groups;
    if (set->resync) {
        /* Every exported group, too: one may have lost all members. */
        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init(&iter, bus->groups);
        while (g_hash_table_iter_next(&iter, &key, NULL))
            g_hash_table_add(touched, key);
        g_autoptr(GArray) ids = gd_cache_group_ids(bus->cache);
        for (guint i = 0; i < ids->len; i++)
            g_hash_table_add(touched, GUINT_TO_POINTER(g_array_index(ids, uint32_t, i)));
    }
    update_groups(bus, touched, set->membership, set->resync);
    gd_bus_update_counters(bus);
    g_debug("publication %u: %u links changed, %u removed, %u groups touched%s", bus->publications,
            g_hash_table_size(set->changed), g_hash_table_size(set->removed),
            g_hash_table_size(touched), set->resync ? " (resync)" : "");
}

/* ---- publication after a reply ---- */

/* Publishing a 2048-link change (building LinksChanged, serialising it,
 * dbus-daemon routing it) right after the reply competes for the CPU with
 * the reply itself: on 2 cores it made SetGroup 1.33x the raw group
 * message, deferred 1.05x. The cache is still read at once (the event
 * source does), and every read of the bus flushes what is deferred first,
 * so no caller sees the state before its own change. */
#define DEFER_PUBLICATION_MS 10

static void run_deferred(GdBus *bus)
{
    g_clear_handle_id(&bus->deferred_timer, g_source_remove);
    bus->flushing = TRUE;
    for (; bus->deferred_releases > 0; bus->deferred_releases--)
        gd_cache_release(bus->cache);
    bus->flushing = FALSE;
}

static gboolean deferred_cb(gpointer user_data)
{
    GdBus *bus = user_data;
    bus->deferred_timer = 0;
    run_deferred(bus);
    return G_SOURCE_REMOVE;
}

void gd_bus_defer_release(GdBus *bus)
{
    bus->deferred_releases++;
    if (!bus->deferred_timer)
        bus->deferred_timer = g_timeout_add(DEFER_PUBLICATION_MS, deferred_cb, bus);
}

void gd_bus_flush(GdBus *bus)
{
    if (!bus->flushing && bus->deferred_releases > 0)
        run_deferred(bus);
}

/* ---- names ---- */

const char *gd_bus_group_name(GdBus *bus, uint32_t id)
{
    const char *name = gd_engine_group_name(bus->engine, id);
    return name ? name : gd_group_names_name(bus->names, id);
}

const char *gd_bus_group_display(GdBus *bus, uint32_t id, char *buf, size_t size)
{
    const char *name = gd_bus_group_name(bus, id);
    if (name)
        return name;
    g_snprintf(buf, size, "%u", id);
    return buf;
}

gboolean gd_bus_resolve_group(GdBus *bus, const char *shown, uint32_t *id, GError **error)
{
    /* Names are in their shown form on the bus (text/text.h). */
    g_autofree char *text = NULL;
    int r = gd_text_unescape(shown, &text);
    if (r < 0)
        text = g_strdup(shown);
    else
        r = gd_group_names_resolve(bus->names, text, id);
    if (r == -ENOENT)
        r = gd_engine_resolve_name(bus->engine, text, id);
    if (r >= 0)
        return TRUE;
    g_autofree char *clipped = gd_bus_args_clip(text, 64);
    if (r == -ENOENT)
        *error = gd_bus_error_from_errno(r, FALSE, NULL, "no group named \"%s\"", clipped);
    else
        *error = gd_bus_error_from_errno(
            r, FALSE, NULL, "invalid group \"%s\": a number or a name is expected", clipped);
    return FALSE;
}

GdLink *gd_bus_resolve_link(GdBus *bus, const char *shown)
{
    g_autofree char *raw = NULL;
    if (!*shown || gd_text_unescape(shown, &raw) < 0)
        return NULL;
    return gd_cache_link_by_name(bus->cache, raw);
}

char *gd_bus_clip_link_name(const char *shown)
{
    g_autofree char *raw = NULL;
    return gd_bus_args_clip(gd_text_unescape(shown, &raw) < 0 ? shown : raw, 32);
}

/* ---- lifecycle ---- */

GdBus *gd_bus_new(GDBusConnection *conn, GdCache *cache, GdRunner *runner, GdGroupNames *names,
                  GdEngine *engine, const GdBusOptions *options)
{
    GdBus *bus = g_new0(GdBus, 1);
    bus->conn = g_object_ref(conn);
    bus->cache = cache;
    bus->runner = runner;
    bus->names = names;
    bus->engine = engine;
    bus->options = *options;
    if (bus->options.max_pending == 0)
        bus->options.max_pending = 64;
    bus->auth = gd_bus_auth_new(conn, options->admin_gid);
    bus->groups = g_hash_table_new_full(NULL, NULL, NULL, g_object_unref);
    bus->manager = gd_bus_manager_new(bus);

    bus->object_manager = g_dbus_object_manager_server_new(GD_BUS_PATH);
    g_autoptr(GArray) ids = gd_cache_group_ids(cache);
    for (guint i = 0; i < ids->len; i++)
        group_object_add(bus, g_array_index(ids, uint32_t, i));
    g_autoptr(GArray) policy_ids = gd_engine_policy_groups(engine);
    for (guint i = 0; i < policy_ids->len; i++) {
        uint32_t id = g_array_index(policy_ids, uint32_t, i);
        if (!g_hash_table_contains(bus->groups, GUINT_TO_POINTER(id)))
            group_object_add(bus, id);
    }
    gd_bus_update_counters(bus);
    g_dbus_object_manager_server_set_connection(bus->object_manager, conn);
    /* What the cache gathered before the bus existed is in the objects. */
    gd_change_set_free(gd_cache_take_changes(cache));
    return bus;
}

void gd_bus_free(GdBus *bus)
{
    if (!bus)
        return;
    run_deferred(bus);
    gd_bus_mptcp_unexport(bus);
    gd_bus_manager_free(bus->manager);
    g_dbus_object_manager_server_set_connection(bus->object_manager, NULL);
    g_object_unref(bus->object_manager);
    g_hash_table_unref(bus->groups);
    gd_bus_auth_free(bus->auth);
    g_object_unref(bus->conn);
    g_free(bus);
}

void gd_bus_set_peers(GdBus *bus, GdPeerLookupFunc lookup, gpointer data)
{
    bus->peer_lookup = lookup;
    bus->peer_data = data;
}

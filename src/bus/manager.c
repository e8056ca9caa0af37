/* SPDX-License-Identifier: LGPL-2.1-or-later
 * net.groupd1.Manager and the publication of cache changes. */
#include "bus.h"
#include "gd-bus-generated.h"
#include "text/text.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <sys/socket.h>

/* A larger SetLinkGroup is refused rather than queued. */
#define MAX_LINKS_PER_CALL 65536
/* Names quoted in one error message. */
#define NAMES_IN_MESSAGE 16

struct GdBus {
    GDBusConnection *conn;
    GdCache *cache;
    GdRunner *runner;
    GdGroupNames *names;
    GdEngine *engine;
    GdBusOptions options;
    GdAuth *auth;
    GdBusManager *manager;
    GDBusObjectManagerServer *object_manager;
    GHashTable *groups; /* id → GDBusObjectSkeleton (owned) */
    guint publications;
    /* Work left after replies: reading what the kernel did into the cache
     * and publishing it (see defer_release). */
    guint deferred_releases;
    guint deferred_timer;
    gboolean flushing;
};

/* One mutating call with the kernel, from submission to reply. */
typedef struct {
    GdBus *bus;
    GDBusMethodInvocation *invocation;
    /* A SetGroup on a policy group: the override it replaced, to restore
     * when the kernel refuses the change. */
    gboolean overrode;
    GdEngineOverrideUndo undo;
} Call;

static void call_free(Call *call)
{
    g_clear_object(&call->invocation);
    g_free(call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Call, call_free)

static void return_error(GDBusMethodInvocation *invocation, GdBusError code, const char *format,
                         ...) G_GNUC_PRINTF(3, 4);

static void return_error(GDBusMethodInvocation *invocation, GdBusError code, const char *format,
                         ...)
{
    va_list ap;
    va_start(ap, format);
    g_autoptr(GError) error = g_error_new_valist(GD_BUS_ERROR, code, format, ap);
    va_end(ap);
    gd_bus_return_gerror(invocation, error);
}

static void return_gerror(GDBusMethodInvocation *invocation, GError *error)
{
    gd_bus_return_gerror(invocation, error);
}

/* ---- publication ---- */

static gint compare_int(gconstpointer a, gconstpointer b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void group_object_add(GdBus *bus, uint32_t id)
{
    g_autofree char *path = g_strdup_printf(GD_BUS_GROUP_PATH_PREFIX "%u", id);
    g_autoptr(GDBusObjectSkeleton) object = g_dbus_object_skeleton_new(path);
    g_autoptr(GdGroupIface) iface =
        gd_group_iface_new(bus, bus->cache, bus->names, bus->engine, id);
    g_dbus_object_skeleton_add_interface(object, G_DBUS_INTERFACE_SKELETON(iface));
    g_dbus_object_manager_server_export(bus->object_manager, object);
    g_hash_table_insert(bus->groups, GUINT_TO_POINTER(id), g_steal_pointer(&object));
}

static void group_object_remove(GdBus *bus, uint32_t id)
{
    g_autofree char *path = g_strdup_printf(GD_BUS_GROUP_PATH_PREFIX "%u", id);
    g_dbus_object_manager_server_unexport(bus->object_manager, path);
    g_hash_table_remove(bus->groups, GUINT_TO_POINTER(id));
}

static GdGroupIface *group_iface(GDBusObjectSkeleton *object)
{
    GList *ifaces = g_dbus_object_get_interfaces(G_DBUS_OBJECT(object));
    GdGroupIface *iface = ifaces ? ifaces->data : NULL;
    g_list_free_full(ifaces, g_object_unref);
    return iface;
}

/* A group is an object while it has members or a policy. */
static gboolean group_wanted(GdBus *bus, uint32_t id)
{
    GdEngineGroupState state;
    return gd_cache_group_size(bus->cache, id) > 0 ||
           (bus->engine && gd_engine_group_state(bus->engine, id, &state));
}

static void update_counters(GdBus *bus)
{
    guint64 requests, sends;
    gd_executor_counters(gd_runner_executor(bus->runner), &requests, &sends);
    gd_bus_manager_set_netlink_requests(bus->manager, requests);
    gd_bus_manager_set_netlink_sends(bus->manager, sends);
    guint64 paths[GD_KPATH_N];
    gd_runner_path_counts(bus->runner, paths);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{st}"));
    for (GdKpath p = GD_KPATH_GROUP; p <= GD_KPATH_PER_LINK; p++)
        g_variant_builder_add(&b, "{st}", gd_kpath_name(p), paths[p]);
    gd_bus_manager_set_kernel_paths(bus->manager, g_variant_builder_end(&b));
}

void gd_bus_policy_changed(GdBus *bus)
{
    g_autoptr(GHashTable) ids = g_hash_table_new(NULL, NULL);
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, bus->groups);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_hash_table_add(ids, key);
    if (bus->engine) {
        g_autoptr(GArray) policy_ids = gd_engine_policy_groups(bus->engine);
        for (guint i = 0; i < policy_ids->len; i++)
            g_hash_table_add(ids, GUINT_TO_POINTER(g_array_index(policy_ids, uint32_t, i)));
    }
    g_hash_table_iter_init(&iter, ids);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        uint32_t id = GPOINTER_TO_UINT(key);
        value = g_hash_table_lookup(bus->groups, key);
        gboolean wanted = group_wanted(bus, id);
        if (!wanted && value)
            group_object_remove(bus, id);
        else if (wanted && !value)
            group_object_add(bus, id);
        else if (value)
            gd_group_iface_refresh(group_iface(value), FALSE);
    }
    update_counters(bus);
}

void gd_bus_publish(GdBus *bus)
{
    g_autoptr(GdChangeSet) set = gd_cache_take_changes(bus->cache);
    GHashTableIter iter;
    gpointer key;

    if (gd_change_set_is_empty(set))
        return;
    bus->publications++;

    /* One LinksChanged for the whole batch. */
    GVariantBuilder removed;
    g_variant_builder_init(&removed, G_VARIANT_TYPE("ai"));
    g_autoptr(GArray) indexes = g_array_new(FALSE, FALSE, sizeof(int));
    g_hash_table_iter_init(&iter, set->changed);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        int ifindex = GPOINTER_TO_INT(key);
        g_array_append_val(indexes, ifindex);
    }
    g_array_sort(indexes, compare_int);
    g_autoptr(GPtrArray) links = g_ptr_array_sized_new(indexes->len);
    for (guint i = 0; i < indexes->len; i++) {
        GdLink *link = gd_cache_link_by_index(bus->cache, g_array_index(indexes, int, i));
        if (link)
            g_ptr_array_add(links, link);
    }
    g_hash_table_iter_init(&iter, set->removed);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_variant_builder_add(&removed, "i", GPOINTER_TO_INT(key));
    guint n_changed = indexes->len, n_removed = g_hash_table_size(set->removed);
    if (n_changed || n_removed || set->resync)
        gd_bus_manager_emit_links_changed(bus->manager, gd_bus_link_list(links),
                                          g_variant_builder_end(&removed), set->resync ? 1 : 0);
    else
        g_variant_builder_clear(&removed);

    /* Group objects: appear, disappear, or one PropertiesChanged each. */
    GHashTable *touched = set->groups;
    if (set->resync) {
        /* Every exported group, too: one may have lost all members. */
        g_hash_table_iter_init(&iter, bus->groups);
        while (g_hash_table_iter_next(&iter, &key, NULL))
            g_hash_table_add(touched, key);
        g_autoptr(GArray) ids = gd_cache_group_ids(bus->cache);
        for (guint i = 0; i < ids->len; i++)
            g_hash_table_add(touched, GUINT_TO_POINTER(g_array_index(ids, uint32_t, i)));
    }
    g_hash_table_iter_init(&iter, touched);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        uint32_t id = GPOINTER_TO_UINT(key);
        GDBusObjectSkeleton *object = g_hash_table_lookup(bus->groups, key);
        gboolean wanted = group_wanted(bus, id);
        if (!wanted && object)
            group_object_remove(bus, id);
        else if (wanted && !object)
            group_object_add(bus, id);
        else if (object)
            gd_group_iface_refresh(group_iface(object),
                                   set->resync || g_hash_table_contains(set->membership, key));
    }

    gd_bus_manager_set_link_count(bus->manager, gd_cache_link_count(bus->cache));
    gd_bus_manager_set_resync_count(bus->manager, gd_cache_resync_count(bus->cache));
    update_counters(bus);
    g_debug("publication %u: %u links changed, %u removed, %u groups touched%s", bus->publications,
            n_changed, n_removed, g_hash_table_size(touched), set->resync ? " (resync)" : "");
}

/* ---- argument parsing ---- */

/* A link named by the shown form of its name (text/text.h): "bad\\xff"
 * is the link whose name has the byte 0xff. */
static GdLink *link_by_shown_name(GdBus *bus, const char *shown)
{
    g_autofree char *raw = NULL;
    if (!*shown || gd_text_unescape(shown, &raw) < 0)
        return NULL;
    return gd_cache_link_by_name(bus->cache, raw);
}

/* A caller's link name for an error message, which is shown as a whole:
 * the bytes it stands for, so that it reads as the caller wrote it. */
static char *clip_name(const char *shown)
{
    g_autofree char *raw = NULL;
    return gd_op_clip(gd_text_unescape(shown, &raw) < 0 ? shown : raw, 32);
}

static gboolean parse_options(GVariant *options, gboolean *force, GError **error)
{
    g_autofree char *message = NULL;
    int r = gd_op_parse_options(options, force, &message);
    if (r < 0)
        *error = gd_bus_error_from_errno(r, FALSE, NULL, "%s", message);
    return r >= 0;
}

static gboolean resolve_group(GdBus *bus, const char *shown, uint32_t *id, GError **error)
{
    /* Names are in their shown form on the bus (text/text.h). */
    g_autofree char *text = NULL;
    int r = gd_text_unescape(shown, &text);
    if (r < 0)
        text = g_strdup(shown);
    else
        r = gd_group_names_resolve(bus->names, text, id);
    if (r == -ENOENT && bus->engine)
        r = gd_engine_resolve_name(bus->engine, text, id);
    if (r >= 0)
        return TRUE;
    g_autofree char *clipped = gd_op_clip(text, 64);
    if (r == -ENOENT)
        *error = gd_bus_error_from_errno(r, FALSE, NULL, "no group named \"%s\"", clipped);
    else
        *error = gd_bus_error_from_errno(
            r, FALSE, NULL, "invalid group \"%s\": a number or a name is expected", clipped);
    return FALSE;
}

static const char *group_label(GdBus *bus, uint32_t id, char *buf, size_t size)
{
    const char *name = gd_bus_group_name(bus->names, bus->engine, id);
    if (name)
        g_snprintf(buf, size, "%u (%s)", id, name);
    else
        g_snprintf(buf, size, "%u", id);
    return buf;
}

static gboolean check_protected(GdBus *bus, uint32_t id, gboolean force, GError **error)
{
    if (id != 0 || force)
        return TRUE;
    g_set_error(error, GD_BUS_ERROR, GD_BUS_ERROR_DEFAULT_GROUP_PROTECTED,
                "group 0 (default) holds every unconfigured link, lo and the uplink included; "
                "pass the option {\"force\": <true>} to change it");
    return FALSE;
}

static gboolean parse_link_change(GVariant *props, GdNlLinkChange *change, GError **error)
{
    g_autofree char *message = NULL;
    int r = gd_op_parse_link_change(props, change, &message);
    if (r < 0)
        *error = gd_bus_error_from_errno(r, FALSE, NULL, "%s", message);
    return r >= 0;
}

static GPtrArray *members_or_error(GdBus *bus, uint32_t id, GError **error)
{
    GPtrArray *members = gd_cache_group_members(bus->cache, id);
    if (members->len > 0)
        return members;
    g_ptr_array_unref(members);
    char label[300];
    *error = gd_bus_error_from_errno(-ENOENT, FALSE, NULL, "group %s has no members",
                                     group_label(bus, id, label, sizeof(label)));
    return NULL;
}

static gboolean check_capacity(GdBus *bus, GError **error)
{
    if (gd_runner_pending(bus->runner) < bus->options.max_pending)
        return TRUE;
    *error =
        gd_bus_error_from_errno(-EBUSY, FALSE, NULL, "%u operations are queued; try again later",
                                gd_runner_pending(bus->runner));
    return FALSE;
}

/* ---- completion ---- */

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

/* After a reply: release the cache hold (and so publish) soon. */
static void defer_release(GdBus *bus)
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

static void submit(GdBus *bus, GDBusMethodInvocation *invocation, GdOp *op, GdOpResultFunc done,
                   Call **out)
{
    Call *call = g_new0(Call, 1);
    call->bus = bus;
    call->invocation = invocation; /* the reply consumes the handler's reference */
    if (out)
        *out = call;
    gd_runner_submit(bus->runner, op, done, call);
}

/* "Operation not permitted (errno 1): the kernel's text" */
static char *kernel_text(const GdOpResult *result)
{
    return g_strdup_printf("%s (errno %d)%s%s", g_strerror(-result->error), -result->error,
                           result->extack ? ": " : "", result->extack ? result->extack : "");
}

static void reply_error(Call *call, GError *error)
{
    g_warning("%s", error->message);
    return_gerror(g_steal_pointer(&call->invocation), error);
}

static void group_change_done(GdOpResult *result, gpointer user_data)
{
    g_autoptr(Call) call = user_data;
    GdBus *bus = call->bus;
    const GdOp *op = result->op;
    char label[300];
    group_label(bus, op->group, label, sizeof(label));
    update_counters(bus); /* a caller's next read sees its request counted */
    if (call->overrode)
        gd_engine_override_done(bus->engine, op->group, result->outcome == GD_OP_APPLIED,
                                &call->undo);

    if (result->outcome == GD_OP_APPLIED) {
        /* Reply at the kernel's ack; the events it queued are read right
         * after, before the loop dispatches anything else, so a caller's
         * next read already sees them. */
        g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation), NULL);
        gd_op_result_take_hold(result);
        defer_release(bus);
        g_message("group %s: changed %u members in %.1f ms", label, op->targets->len,
                  op->kernel_usec / 1000.0);
        return;
    }
    gd_op_result_release(result);
    g_autoptr(GError) error = NULL;
    if (result->outcome == GD_OP_REFUSED) {
        error = gd_bus_error_from_errno(result->error, TRUE, result->extack,
                                        "group %s: the kernel refused the change; nothing changed",
                                        label);
    } else {
        g_autofree char *ok = gd_format_names(result->applied_names, NAMES_IN_MESSAGE);
        g_autofree char *bad = gd_format_names(result->refused, NAMES_IN_MESSAGE);
        g_autofree char *kernel = kernel_text(result);
        error = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_PARTIALLY_APPLIED,
                            "group %s: the kernel stopped at %s: %s; changed %u members (%s); not "
                            "changed %u members (%s)",
                            label, result->stopped_at ? result->stopped_at : "?", kernel,
                            result->applied, ok, result->refused->len, bad);
    }
    reply_error(call, error);
}

/* The reply to a per-link operation (membership, addresses). */
static void per_link_reply(Call *call, const GdOpResult *result)
{
    const GdOp *op = result->op;
    char label[300];
    group_label(call->bus, op->group, label, sizeof(label));
    g_autoptr(GError) error = NULL;

    if (result->outcome == GD_OP_APPLIED) {
        g_message("group %s: %s on %u links in %.1f ms", label, gd_op_kind_name(op->kind),
                  result->applied, op->kernel_usec / 1000.0);
        g_dbus_method_invocation_return_value(
            g_steal_pointer(&call->invocation),
            op->kind == GD_OP_SET_LINK_GROUP ? g_variant_new("(u)", result->applied) : NULL);
        return;
    }
    g_autofree char *list = gd_format_names(result->refused, NAMES_IN_MESSAGE);
    if (result->whole_group)
        /* One message for the group: one answer, all or nothing, and the
         * kernel's text names the member that refused. */
        error = gd_bus_error_from_errno(
            result->error, TRUE, result->extack,
            "group %s: the kernel refused the %s for the whole group (%u members); nothing "
            "changed",
            label, gd_op_kind_name(op->kind), op->targets->len);
    else if (result->outcome == GD_OP_REFUSED && result->silent == result->refused->len)
        error = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_KERNEL,
                            "group %s: %s acknowledged on all %u links but done on none (%s)",
                            label, gd_op_kind_name(op->kind), result->refused->len, list);
    else if (result->outcome == GD_OP_REFUSED)
        error = gd_bus_error_from_errno(result->error, TRUE, result->extack,
                                        "group %s: %s refused on all %u links (%s)", label,
                                        gd_op_kind_name(op->kind), result->refused->len, list);
    else
        error = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_PARTIALLY_APPLIED,
                            "group %s: %s applied on %u links, refused on %u: %s", label,
                            gd_op_kind_name(op->kind), result->applied, result->refused->len, list);
    reply_error(call, error);
}

static void set_link_group_done(GdOpResult *result, gpointer user_data)
{
    g_autoptr(Call) call = user_data;
    update_counters(call->bus);
    /* A move can create or remove group objects, and a Get on an object
     * that is not exported yet is answered by GDBus itself, before any
     * flush of ours: publish before the reply. */
    gd_bus_flush(call->bus);
    gd_op_result_release(result);
    per_link_reply(call, result);
}

static void address_done(GdOpResult *result, gpointer user_data)
{
    g_autoptr(Call) call = user_data;
    update_counters(call->bus);
    per_link_reply(call, result);
    gd_op_result_take_hold(result);
    defer_release(call->bus);
}

/* ---- method bodies (after authorization) ---- */

static void do_set_group(GdBus *bus, GDBusMethodInvocation *invocation)
{
    const char *group_text;
    g_autoptr(GVariant) props = NULL, options = NULL;
    g_autoptr(GError) error = NULL;
    gboolean force;
    uint32_t id;
    GdNlLinkChange change;

    g_variant_get(g_dbus_method_invocation_get_parameters(invocation), "(&s@a{sv}@a{sv})",
                  &group_text, &props, &options);
    if (!parse_options(options, &force, &error) || !resolve_group(bus, group_text, &id, &error) ||
        !check_protected(bus, id, force, &error) || !parse_link_change(props, &change, &error)) {
        return_gerror(invocation, error);
        return;
    }
    g_autoptr(GPtrArray) members = members_or_error(bus, id, &error);
    if (!members) {
        return_gerror(invocation, error);
        return;
    }
    g_autoptr(GPtrArray) losers = gd_op_ipv4_losers(members, &change);
    if (losers->len > 0 && !force) {
        g_autofree char *list = gd_format_names(losers, NAMES_IN_MESSAGE);
        char label[300];
        return_error(invocation, GD_BUS_ERROR_INVALID_ARGS,
                     "group %s: MTU %u is below %u, the least IPv4 works with: the kernel would "
                     "remove IPv4 and its addresses from %u of %u members (%s); pass the option "
                     "{\"force\": <true>} to do it anyway",
                     group_label(bus, id, label, sizeof(label)), change.mtu, GD_NL_IPV4_MIN_MTU,
                     losers->len, members->len, list);
        return;
    }
    if (!bus->options.skip_validation) {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(members, &change);
        if (problems->len > 0) {
            g_autofree char *list = gd_format_names(problems, NAMES_IN_MESSAGE);
            char label[300];
            return_error(invocation, GD_BUS_ERROR_INVALID_ARGS,
                         "group %s: %u of %u members would refuse the change, nothing was sent: %s",
                         group_label(bus, id, label, sizeof(label)), problems->len, members->len,
                         list);
            return;
        }
    }
    if (!check_capacity(bus, &error)) {
        return_gerror(invocation, error);
        return;
    }

    GdOp *op = gd_op_new(GD_OP_GROUP_CHANGE, id);
    op->change = change;
    for (guint i = 0; i < members->len; i++)
        g_array_append_val(op->targets, ((const GdLink *)members->pdata[i])->nl.ifindex);
    Call *call;
    submit(bus, invocation, op, group_change_done, &call);
    /* On a policy group the change is the desired state from now on, so
     * drift repair (queued behind this call, or later) keeps it. */
    call->overrode = bus->engine && gd_engine_set_override(bus->engine, id, &change, &call->undo);
}

static void do_set_link_group(GdBus *bus, GDBusMethodInvocation *invocation)
{
    g_autoptr(GVariant) links = NULL;
    const char *group_text;
    g_autoptr(GError) error = NULL;
    uint32_t id;

    g_variant_get(g_dbus_method_invocation_get_parameters(invocation), "(@as&s)", &links,
                  &group_text);
    gsize n = g_variant_n_children(links);
    if (n == 0 || n > MAX_LINKS_PER_CALL) {
        return_error(invocation, GD_BUS_ERROR_INVALID_ARGS,
                     "between 1 and %u link names are expected, not %" G_GSIZE_FORMAT,
                     MAX_LINKS_PER_CALL, n);
        return;
    }
    if (!resolve_group(bus, group_text, &id, &error)) {
        return_gerror(invocation, error);
        return;
    }
    g_autoptr(GPtrArray) unknown = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    g_autoptr(GdOp) op = gd_op_new(GD_OP_SET_LINK_GROUP, id);
    GVariantIter iter;
    const char *name;
    g_variant_iter_init(&iter, links);
    while (g_variant_iter_next(&iter, "&s", &name)) {
        GdLink *link = link_by_shown_name(bus, name);
        if (!link) {
            g_autofree char *clipped = clip_name(name);
            g_ptr_array_add(unknown, g_strdup_printf("\"%s\"", clipped));
            continue;
        }
        /* Only links outside the group are sent: each ack is one move. */
        if (!g_hash_table_add(seen, GINT_TO_POINTER(link->nl.ifindex)) || link->nl.group == id)
            continue;
        g_array_append_val(op->targets, link->nl.ifindex);
    }
    if (unknown->len > 0) {
        g_autofree char *list = gd_format_names(unknown, NAMES_IN_MESSAGE);
        error =
            gd_bus_error_from_errno(-ENODEV, FALSE, NULL, "no such link: %s; nothing moved", list);
        return_gerror(invocation, error);
        return;
    }
    if (op->targets->len == 0) {
        g_dbus_method_invocation_return_value(invocation, g_variant_new("(u)", 0));
        return;
    }
    if (!check_capacity(bus, &error)) {
        return_gerror(invocation, error);
        return;
    }
    submit(bus, invocation, g_steal_pointer(&op), set_link_group_done, NULL);
}

static void do_group_address(GdBus *bus, GDBusMethodInvocation *invocation, gboolean add)
{
    const char *group_text, *address;
    g_autoptr(GVariant) options = NULL;
    g_autoptr(GError) error = NULL;
    gboolean force;
    uint32_t id;
    GdNlAddr addr;
    char label[300];

    g_variant_get(g_dbus_method_invocation_get_parameters(invocation), "(&s&s@a{sv})", &group_text,
                  &address, &options);
    if (!parse_options(options, &force, &error) || !resolve_group(bus, group_text, &id, &error) ||
        !check_protected(bus, id, force, &error)) {
        return_gerror(invocation, error);
        return;
    }
    int r = gd_nl_cidr_parse(address, &addr);
    if (r < 0) {
        g_autofree char *clipped = gd_op_clip(address, 64);
        error = gd_bus_error_from_errno(r, FALSE, NULL,
                                        "malformed address \"%s\": expected an IPv4 or IPv6 "
                                        "address with an optional /prefix",
                                        clipped);
        return_gerror(invocation, error);
        return;
    }
    if (add && gd_nl_addr_is_unspecified(&addr)) {
        /* The kernel would acknowledge 0.0.0.0 and add nothing. */
        g_autofree char *clipped = gd_op_clip(address, 64);
        return_error(invocation, GD_BUS_ERROR_INVALID_ARGS,
                     "\"%s\" is the unspecified address, which no interface can have", clipped);
        return;
    }
    g_autoptr(GPtrArray) members = members_or_error(bus, id, &error);
    if (!members) {
        return_gerror(invocation, error);
        return;
    }
    g_autoptr(GdOp) op = gd_op_new(add ? GD_OP_ADDR_ADD : GD_OP_ADDR_DEL, id);
    op->addr = addr;
    /* group-addr kernels take one message for the whole group; an add is
     * sent that way only when no member has the address yet, so that no
     * member's "already there" can fail it. */
    gboolean any_has = FALSE;
    for (guint i = 0; i < members->len && !any_has; i++)
        any_has = gd_link_has_addr(members->pdata[i], &addr);
    op->group_scoped =
        (gd_cache_kernel_features(bus->cache) & GD_KF_GROUP_ADDR) && (!add || !any_has);
    for (guint i = 0; i < members->len; i++) {
        const GdLink *link = members->pdata[i];
        if (!add && !gd_link_has_addr(link, &addr))
            continue;
        g_array_append_val(op->targets, link->nl.ifindex);
    }
    if (op->targets->len == 0) {
        return_error(invocation, GD_BUS_ERROR_INVALID_ARGS,
                     "no member of group %s has the address %s",
                     group_label(bus, id, label, sizeof(label)), address);
        return;
    }
    if (!check_capacity(bus, &error)) {
        return_gerror(invocation, error);
        return;
    }
    submit(bus, invocation, g_steal_pointer(&op), address_done, NULL);
}

static void reload_done_cb(GdEngine *engine, const char *plan_json, const char *error,
                           gpointer user_data)
{
    g_autoptr(GDBusMethodInvocation) invocation = user_data;
    if (error && !plan_json) {
        return_error(invocation, GD_BUS_ERROR_INVALID_ARGS,
                     "the configuration has errors; the running one stays:\n%s", error);
        return;
    }
    if (error) {
        return_error(invocation, GD_BUS_ERROR_PARTIALLY_APPLIED,
                     "the configuration was loaded, but the kernel refused part of it (groupd "
                     "retries with back-off):\n%s",
                     error);
        return;
    }
    g_dbus_method_invocation_return_value(invocation,
                                          g_variant_new("(s)", plan_json ? plan_json : "{}"));
}

static void do_reload(GdBus *bus, GDBusMethodInvocation *invocation)
{
    guint32 flags;
    g_variant_get(g_dbus_method_invocation_get_parameters(invocation), "(u)", &flags);
    if (flags & ~1u) {
        return_error(invocation, GD_BUS_ERROR_INVALID_ARGS,
                     "unknown flags 0x%x (known: 1, dry run)", flags & ~1u);
        return;
    }
    gd_engine_reload(bus->engine, (flags & 1) != 0, reload_done_cb, g_object_ref(invocation));
}

static void authorized_cb(GDBusMethodInvocation *invocation, gboolean allowed, gpointer user_data)
{
    GdBus *bus = user_data;
    const char *method = g_dbus_method_invocation_get_method_name(invocation);
    if (!allowed) {
        return_error(invocation, GD_BUS_ERROR_ACCESS_DENIED,
                     "%s changes network configuration: only root%s may call it, or a caller "
                     "polkit authorizes for %s",
                     method, bus->options.admin_gid >= 0 ? " and the admin group" : "",
                     gd_auth_action_for(method));
        return;
    }
    /* Validation reads the cache: it must show the caller's earlier changes. */
    gd_bus_flush(bus);
    if (g_str_equal(method, "SetGroup"))
        do_set_group(bus, invocation);
    else if (g_str_equal(method, "SetLinkGroup"))
        do_set_link_group(bus, invocation);
    else if (g_str_equal(method, "AddGroupAddress"))
        do_group_address(bus, invocation, TRUE);
    else if (g_str_equal(method, "RemoveGroupAddress"))
        do_group_address(bus, invocation, FALSE);
    else if (g_str_equal(method, "Reload"))
        do_reload(bus, invocation);
    else
        g_assert_not_reached();
}

static gboolean begin_mutation(GdBus *bus, GDBusMethodInvocation *invocation)
{
    gd_auth_check(bus->auth, invocation, authorized_cb, bus);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The generated handle-* signals carry the arguments before user_data;
 * the bodies read them from the invocation after authorization. */
static gboolean handle_set_link_group(GdBusManager *skeleton, GDBusMethodInvocation *invocation,
                                      const char *const *links, const char *group, GdBus *bus)
{
    return begin_mutation(bus, invocation);
}

static gboolean handle_set_group(GdBusManager *skeleton, GDBusMethodInvocation *invocation,
                                 const char *group, GVariant *props, GVariant *options, GdBus *bus)
{
    return begin_mutation(bus, invocation);
}

static gboolean handle_group_address(GdBusManager *skeleton, GDBusMethodInvocation *invocation,
                                     const char *group, const char *address, GVariant *options,
                                     GdBus *bus)
{
    return begin_mutation(bus, invocation);
}

static gboolean handle_reload(GdBusManager *skeleton, GDBusMethodInvocation *invocation,
                              guint32 flags, GdBus *bus)
{
    return begin_mutation(bus, invocation);
}

/* ---- reads ---- */

static gboolean handle_plan(GdBusManager *skeleton, GDBusMethodInvocation *invocation,
                            gpointer user_data)
{
    GdBus *bus = user_data;
    gd_bus_flush(bus);
    g_autofree char *json = gd_engine_plan_json(bus->engine);
    gd_bus_manager_complete_plan(skeleton, invocation, json);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean handle_list_groups(GdBusManager *skeleton, GDBusMethodInvocation *invocation,
                                   gpointer user_data)
{
    GdBus *bus = user_data;
    gd_bus_flush(bus);
    g_autoptr(GArray) ids = gd_cache_group_ids(bus->cache);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(usu)"));
    for (guint i = 0; i < ids->len; i++) {
        uint32_t id = g_array_index(ids, uint32_t, i);
        const char *name = gd_bus_group_name(bus->names, bus->engine, id);
        g_variant_builder_add(&b, "(u@su)", id, gd_bus_text(name ? name : ""),
                              gd_cache_group_size(bus->cache, id));
    }
    gd_bus_manager_complete_list_groups(skeleton, invocation, g_variant_builder_end(&b));
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean handle_list_links(GdBusManager *skeleton, GDBusMethodInvocation *invocation,
                                  gpointer user_data)
{
    GdBus *bus = user_data;
    gd_bus_flush(bus);
    g_autoptr(GPtrArray) links = gd_cache_links(bus->cache);
    gd_bus_manager_complete_list_links(skeleton, invocation, gd_bus_link_list(links));
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean handle_get_link(GdBusManager *skeleton, GDBusMethodInvocation *invocation,
                                const char *name, gpointer user_data)
{
    GdBus *bus = user_data;
    gd_bus_flush(bus);
    GdLink *link = link_by_shown_name(bus, name);
    if (!link) {
        g_autofree char *clipped = clip_name(name);
        g_autoptr(GError) error =
            gd_bus_error_from_errno(-ENODEV, FALSE, NULL, "no such link: \"%s\"", clipped);
        return_gerror(invocation, error);
        return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
    GVariantBuilder b, addrs;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_init(&addrs, G_VARIANT_TYPE("as"));
    for (guint i = 0; i < link->addrs->len; i++) {
        g_autofree char *text = gd_nl_addr_format(&g_array_index(link->addrs, GdNlAddr, i));
        g_variant_builder_add(&addrs, "s", text);
    }
    g_autofree char *mac = gd_nl_hwaddr_format(link->nl.hwaddr, link->nl.hwaddr_len);
    const char *group_name = gd_bus_group_name(bus->names, bus->engine, link->nl.group);
    g_variant_builder_add(&b, "{sv}", "Index", g_variant_new_int32(link->nl.ifindex));
    g_variant_builder_add(&b, "{sv}", "Name", gd_bus_text(link->nl.name));
    g_variant_builder_add(&b, "{sv}", "Group", g_variant_new_uint32(link->nl.group));
    g_variant_builder_add(&b, "{sv}", "GroupName", gd_bus_text(group_name ? group_name : ""));
    g_variant_builder_add(&b, "{sv}", "MTU", g_variant_new_uint32(link->nl.mtu));
    g_variant_builder_add(&b, "{sv}", "MinMTU", g_variant_new_uint32(link->nl.min_mtu));
    g_variant_builder_add(&b, "{sv}", "MaxMTU", g_variant_new_uint32(link->nl.max_mtu));
    g_variant_builder_add(&b, "{sv}", "State",
                          g_variant_new_string(gd_link_is_up(link) ? "up" : "down"));
    g_variant_builder_add(&b, "{sv}", "OperState",
                          g_variant_new_string(gd_link_operstate_name(link)));
    g_variant_builder_add(&b, "{sv}", "Carrier", g_variant_new_boolean(link->nl.carrier > 0));
    g_variant_builder_add(&b, "{sv}", "MACAddress", g_variant_new_string(mac));
    g_variant_builder_add(&b, "{sv}", "Kind", gd_bus_text(link->nl.kind));
    g_variant_builder_add(&b, "{sv}", "TxQueueLength", g_variant_new_uint32(link->nl.txqlen));
    g_variant_builder_add(&b, "{sv}", "Addresses", g_variant_builder_end(&addrs));
    gd_bus_manager_complete_get_link(skeleton, invocation, g_variant_builder_end(&b));
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- lifecycle ---- */

GdBus *gd_bus_new(GDBusConnection *conn, GdCache *cache, GdRunner *runner, GdGroupNames *names,
                  GdEngine *engine, const GdBusOptions *options)
{
    GdBus *bus = g_new0(GdBus, 1);
    g_autoptr(GError) error = NULL;

    bus->conn = g_object_ref(conn);
    bus->cache = cache;
    bus->runner = runner;
    bus->names = names;
    bus->engine = engine;
    bus->options = *options;
    if (bus->options.max_pending == 0)
        bus->options.max_pending = 64;
    bus->auth = gd_auth_new(conn, options->admin_gid);
    bus->groups = g_hash_table_new_full(NULL, NULL, NULL, g_object_unref);

    bus->manager = gd_bus_manager_skeleton_new();
    gd_bus_manager_set_version(bus->manager, options->version);
    gd_bus_manager_set_link_count(bus->manager, gd_cache_link_count(cache));
    g_auto(GStrv) features = gd_nl_feature_names(gd_cache_kernel_features(cache));
    gd_bus_manager_set_kernel_features(bus->manager, (const char *const *)features);
    gd_bus_manager_set_resync_count(bus->manager, gd_cache_resync_count(cache));
    g_signal_connect(bus->manager, "handle-list-groups", G_CALLBACK(handle_list_groups), bus);
    g_signal_connect(bus->manager, "handle-list-links", G_CALLBACK(handle_list_links), bus);
    g_signal_connect(bus->manager, "handle-get-link", G_CALLBACK(handle_get_link), bus);
    g_signal_connect(bus->manager, "handle-plan", G_CALLBACK(handle_plan), bus);
    g_signal_connect(bus->manager, "handle-reload", G_CALLBACK(handle_reload), bus);
    g_signal_connect(bus->manager, "handle-set-link-group", G_CALLBACK(handle_set_link_group), bus);
    g_signal_connect(bus->manager, "handle-set-group", G_CALLBACK(handle_set_group), bus);
    g_signal_connect(bus->manager, "handle-add-group-address", G_CALLBACK(handle_group_address),
                     bus);
    g_signal_connect(bus->manager, "handle-remove-group-address", G_CALLBACK(handle_group_address),
                     bus);
    if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(bus->manager), conn,
                                          GD_BUS_PATH, &error))
        g_error("exporting %s: %s", GD_BUS_PATH, error->message);

    bus->object_manager = g_dbus_object_manager_server_new(GD_BUS_PATH);
    g_autoptr(GArray) ids = gd_cache_group_ids(cache);
    for (guint i = 0; i < ids->len; i++)
        group_object_add(bus, g_array_index(ids, uint32_t, i));
    if (engine) {
        g_autoptr(GArray) policy_ids = gd_engine_policy_groups(engine);
        for (guint i = 0; i < policy_ids->len; i++) {
            uint32_t id = g_array_index(policy_ids, uint32_t, i);
            if (!g_hash_table_contains(bus->groups, GUINT_TO_POINTER(id)))
                group_object_add(bus, id);
        }
    }
    update_counters(bus);
    g_dbus_object_manager_server_set_connection(bus->object_manager, conn);
    /* What the cache gathered before the bus existed is in the objects. */
    gd_change_set_free(gd_cache_take_changes(cache));
    return bus;
}

GDBusObjectManagerServer *gd_bus_object_manager(GdBus *bus)
{
    return bus->object_manager;
}

GdAuth *gd_bus_auth(GdBus *bus)
{
    return bus->auth;
}

const char *gd_bus_group_display(GdBus *bus, uint32_t id, char *buf, size_t size)
{
    const char *name = gd_bus_group_name(bus->names, bus->engine, id);
    if (name)
        return name;
    g_snprintf(buf, size, "%u", id);
    return buf;
}

gboolean gd_bus_resolve_group(GdBus *bus, const char *text, uint32_t *id, GError **error)
{
    return resolve_group(bus, text, id, error);
}

void gd_bus_free(GdBus *bus)
{
    if (!bus)
        return;
    run_deferred(bus);
    g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(bus->manager));
    g_object_unref(bus->manager);
    g_dbus_object_manager_server_set_connection(bus->object_manager, NULL);
    g_object_unref(bus->object_manager);
    g_hash_table_unref(bus->groups);
    gd_auth_free(bus->auth);
    g_object_unref(bus->conn);
    g_free(bus);
}

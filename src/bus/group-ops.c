/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The Manager's changes to groups (SetGroup, SetLinkGroup,
 * Add/RemoveGroupAddress): their typed arguments checked and made into a
 * GdOp, the operation run by the runner, and the reply formatted from its
 * GdOpResult. */
#include "bus.h"
#include "log/log.h"

#include <errno.h>

/* A larger SetLinkGroup is refused rather than queued. */
#define MAX_LINKS_PER_CALL 65536
/* Names quoted in one error message. */
#define NAMES_IN_MESSAGE 16

static void call_free(GdBusManagerCall *call)
{
    call->base.free(call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdBusManagerCall, call_free)

static void reply_error(GdBusManagerCall *call, const GError *error)
{
    gd_bus_error_return(g_steal_pointer(&call->base.invocation), error);
}

/* ---- checks ---- */

/* The options and the group of a call that changes a group: group 0
 * only with "force". */
static gboolean changeable_group(GdBus *bus, const GdBusManagerCall *call, gboolean *force,
                                 uint32_t *id, GError **error)
{
    if (!gd_bus_args_options(call->options, force, error) ||
        !gd_bus_resolve_group(bus, call->group, id, error))
        return FALSE;
    if (*id != 0 || *force)
        return TRUE;
    g_set_error(error, GD_BUS_ERROR, GD_BUS_ERROR_DEFAULT_GROUP_PROTECTED,
                "group 0 (default) holds every unconfigured link, lo and the uplink included; "
                "pass the option {\"force\": <true>} to change it");
    return FALSE;
}

static GPtrArray *members_or_error(GdBus *bus, uint32_t id, GError **error)
{
    GPtrArray *members = gd_cache_group_members(bus->cache, id);
    if (members->len > 0)
        return members;
    g_ptr_array_unref(members);
    *error =
        gd_bus_error_from_errno(-ENOENT, FALSE, NULL, "group %s has no members", GD_LOG_GROUP(id));
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

/* ---- replies ---- */

/* "Operation not permitted (errno 1): the kernel's text" */
static char *kernel_text(const GdOpResult *result)
{
    return g_strdup_printf("%s (errno %d)%s%s", g_strerror(-result->error), -result->error,
                           result->extack ? ": " : "", result->extack ? result->extack : "");
}

/* An operation that did not fully apply: logged, and the caller's error. */
static void reply_failure(GdBusManagerCall *call, uint32_t group, const GError *error)
{
    gd_log_group_fields(G_LOG_LEVEL_WARNING, group, "%s", error->message);
    reply_error(call, error);
}

static void group_change_done(GdOpResult *result, gpointer user_data)
{
    g_autoptr(GdBusManagerCall) call = user_data;
    GdBus *bus = call->base.bus;
    const GdOp *op = result->op;
    const char *label = GD_LOG_GROUP(op->group);
    gd_bus_update_counters(bus); /* a caller's next read sees its request counted */
    if (call->overrode)
        gd_engine_override_done(bus->engine, op->group, result->outcome == GD_OP_APPLIED,
                                &call->undo);

    if (result->outcome == GD_OP_APPLIED) {
        /* Reply at the kernel's ack; the events it queued are read right
         * after, before the loop dispatches anything else, so a caller's
         * next read already sees them. */
        g_dbus_method_invocation_return_value(g_steal_pointer(&call->base.invocation), NULL);
        gd_op_result_take_hold(result);
        gd_bus_defer_release(bus);
        gd_log_group(G_LOG_LEVEL_MESSAGE, op->group, "changed %u members in %.1f ms",
                     op->targets->len, op->kernel_usec / 1000.0);
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
    reply_failure(call, op->group, error);
}

/* The reply to a per-link operation (membership, addresses). */
static void per_link_reply(GdBusManagerCall *call, const GdOpResult *result)
{
    const GdOp *op = result->op;
    const char *label = GD_LOG_GROUP(op->group);
    const char *kind = gd_op_kind_name(op->kind);
    g_autoptr(GError) error = NULL;

    if (result->outcome == GD_OP_APPLIED) {
        gd_log_group(G_LOG_LEVEL_MESSAGE, op->group, "%s on %u links in %.1f ms", kind,
                     result->applied, op->kernel_usec / 1000.0);
        g_dbus_method_invocation_return_value(
            g_steal_pointer(&call->base.invocation),
            op->kind == GD_OP_SET_LINK_GROUP ? g_variant_new("(u)", result->applied) : NULL);
        return;
    }
    g_autofree char *list = gd_format_names(result->refused, NAMES_IN_MESSAGE);
    if (result->outcome == GD_OP_REFUSED && result->silent == result->refused->len)
        error = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_KERNEL,
                            "group %s: %s acknowledged on all %u links but done on none (%s)",
                            label, kind, result->refused->len, list);
    else if (result->outcome == GD_OP_REFUSED)
        error = gd_bus_error_from_errno(result->error, TRUE, result->extack,
                                        "group %s: %s refused on all %u links (%s)", label, kind,
                                        result->refused->len, list);
    else
        error = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_PARTIALLY_APPLIED,
                            "group %s: %s applied on %u links, refused on %u: %s", label, kind,
                            result->applied, result->refused->len, list);
    reply_failure(call, op->group, error);
}

static void set_link_group_done(GdOpResult *result, gpointer user_data)
{
    g_autoptr(GdBusManagerCall) call = user_data;
    gd_bus_update_counters(call->base.bus);
    /* A move can create or remove group objects, and a Get on an object
     * that is not exported yet is answered by GDBus itself, before any
     * flush of ours: publish before the reply. */
    gd_bus_flush(call->base.bus);
    gd_op_result_release(result);
    per_link_reply(call, result);
}

static void address_done(GdOpResult *result, gpointer user_data)
{
    g_autoptr(GdBusManagerCall) call = user_data;
    gd_bus_update_counters(call->base.bus);
    per_link_reply(call, result);
    gd_op_result_take_hold(result);
    gd_bus_defer_release(call->base.bus);
}

/* ---- the methods ---- */

void gd_bus_group_ops_set_group(GdBusCall *base)
{
    g_autoptr(GdBusManagerCall) call = (GdBusManagerCall *)base;
    GdBus *bus = base->bus;
    g_autoptr(GError) error = NULL;
    gboolean force;
    uint32_t id;
    GdNlLinkChange change;

    if (!changeable_group(bus, call, &force, &id, &error) ||
        !gd_bus_args_link_change(call->props, &change, &error)) {
        reply_error(call, error);
        return;
    }
    g_autoptr(GPtrArray) members = members_or_error(bus, id, &error);
    if (!members) {
        reply_error(call, error);
        return;
    }
    g_autoptr(GPtrArray) losers = gd_op_ipv4_losers(members, &change);
    if (losers->len > 0 && !force) {
        g_autofree char *list = gd_format_names(losers, NAMES_IN_MESSAGE);
        error = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_INVALID_ARGS,
                            "group %s: MTU %u is below %u, the least IPv4 works with: the kernel "
                            "would remove IPv4 and its addresses from %u of %u members (%s); pass "
                            "the option {\"force\": <true>} to do it anyway",
                            GD_LOG_GROUP(id), change.mtu, GD_NL_IPV4_MIN_MTU, losers->len,
                            members->len, list);
        reply_error(call, error);
        return;
    }
    if (!bus->options.skip_validation) {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(members, &change);
        if (problems->len > 0) {
            g_autofree char *list = gd_format_names(problems, NAMES_IN_MESSAGE);
            error = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_INVALID_ARGS,
                                "group %s: %u of %u members would refuse the change, nothing was "
                                "sent: %s",
                                GD_LOG_GROUP(id), problems->len, members->len, list);
            reply_error(call, error);
            return;
        }
    }
    if (!check_capacity(bus, &error)) {
        reply_error(call, error);
        return;
    }

    GdOp *op = gd_op_new(GD_OP_GROUP_CHANGE, id);
    op->change = change;
    for (guint i = 0; i < members->len; i++)
        g_array_append_val(op->targets, ((const GdLink *)members->pdata[i])->nl.ifindex);
    /* On a policy group the change is the desired state from now on, so
     * drift repair (queued behind this call, or later) keeps it. */
    call->overrode = gd_engine_set_override(bus->engine, id, &change, &call->undo);
    gd_runner_submit(bus->runner, op, group_change_done, g_steal_pointer(&call));
}

void gd_bus_group_ops_set_link_group(GdBusCall *base)
{
    g_autoptr(GdBusManagerCall) call = (GdBusManagerCall *)base;
    GdBus *bus = base->bus;
    g_autoptr(GError) error = NULL;
    uint32_t id;

    guint n = g_strv_length(call->links);
    if (n == 0 || n > MAX_LINKS_PER_CALL) {
        error =
            g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_INVALID_ARGS,
                        "between 1 and %u link names are expected, not %u", MAX_LINKS_PER_CALL, n);
        reply_error(call, error);
        return;
    }
    if (!gd_bus_resolve_group(bus, call->group, &id, &error)) {
        reply_error(call, error);
        return;
    }
    g_autoptr(GPtrArray) unknown = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    g_autoptr(GdOp) op = gd_op_new(GD_OP_SET_LINK_GROUP, id);
    for (guint i = 0; i < n; i++) {
        GdLink *link = gd_bus_resolve_link(bus, call->links[i]);
        if (!link) {
            g_autofree char *clipped = gd_bus_clip_link_name(call->links[i]);
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
        reply_error(call, error);
        return;
    }
    if (op->targets->len == 0) {
        g_dbus_method_invocation_return_value(g_steal_pointer(&call->base.invocation),
                                              g_variant_new("(u)", 0));
        return;
    }
    if (!check_capacity(bus, &error)) {
        reply_error(call, error);
        return;
    }
    gd_runner_submit(bus->runner, g_steal_pointer(&op), set_link_group_done,
                     g_steal_pointer(&call));
}

static void group_address(GdBusCall *base, gboolean add)
{
    g_autoptr(GdBusManagerCall) call = (GdBusManagerCall *)base;
    GdBus *bus = base->bus;
    g_autoptr(GError) error = NULL;
    gboolean force;
    uint32_t id;
    GdNlAddr addr;

    if (!changeable_group(bus, call, &force, &id, &error)) {
        reply_error(call, error);
        return;
    }
    int r = gd_nl_cidr_parse(call->address, &addr);
    if (r < 0 || (add && gd_nl_addr_is_unspecified(&addr))) {
        g_autofree char *clipped = gd_bus_args_clip(call->address, 64);
        if (r < 0)
            error = gd_bus_error_from_errno(r, FALSE, NULL,
                                            "malformed address \"%s\": expected an IPv4 or IPv6 "
                                            "address with an optional /prefix",
                                            clipped);
        else /* the kernel would acknowledge 0.0.0.0 and add nothing */
            error = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_INVALID_ARGS,
                                "\"%s\" is the unspecified address, which no interface can have",
                                clipped);
        reply_error(call, error);
        return;
    }
    g_autoptr(GPtrArray) members = members_or_error(bus, id, &error);
    if (!members) {
        reply_error(call, error);
        return;
    }
    g_autoptr(GdOp) op = gd_op_new(add ? GD_OP_ADDR_ADD : GD_OP_ADDR_DEL, id);
    op->addr = addr;
    for (guint i = 0; i < members->len; i++) {
        const GdLink *link = members->pdata[i];
        if (!add && !gd_link_has_addr(link, &addr))
            continue;
        g_array_append_val(op->targets, link->nl.ifindex);
    }
    if (op->targets->len == 0) {
        error = g_error_new(GD_BUS_ERROR, GD_BUS_ERROR_INVALID_ARGS,
                            "no member of group %s has the address %s", GD_LOG_GROUP(id),
                            call->address);
        reply_error(call, error);
        return;
    }
    if (!check_capacity(bus, &error)) {
        reply_error(call, error);
        return;
    }
    gd_runner_submit(bus->runner, g_steal_pointer(&op), address_done, g_steal_pointer(&call));
}

void gd_bus_group_ops_add_address(GdBusCall *call)
{
    group_address(call, TRUE);
}

void gd_bus_group_ops_remove_address(GdBusCall *call)
{
    group_address(call, FALSE);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * /net/groupd1/mptcp: net.groupd1.Mptcp on the generated skeleton. The
 * properties are recomputed from the MPTCP manager when it says something
 * changed; the skeleton emits PropertiesChanged only for what differs.
 * Every string from the manager (interface and group names, the kernel's
 * and other owners' words, sysctl values) goes out in its shown form
 * (text/text.h), made here: src/mptcp/ keeps the bytes. */
#include "bus.h"
#include "gd-dbus-generated.h"
#include "text/text.h"

#include <errno.h>

#define NM_NAME "org.freedesktop.NetworkManager"

struct GdBusMptcp {
    GdBus *bus;
    GdMpManager *mptcp;
    GdDBusMptcp *skeleton;
    guint nm_watch;
};

/* A call of the Mptcp object: the typed arguments of its method. */
typedef struct {
    GdBusCall base;
    char *text;    /* SetMode's mode, Failover's group */
    char **groups; /* SetPreference */
} MptcpCall;

static void refresh(GdBusMptcp *o)
{
    GdMpManager *m = o->mptcp;
    GdDBusMptcp *sk = o->skeleton;
    char buf[16];

    gd_dbus_mptcp_set_mode(sk, gd_mptcp_mode_name(gd_mp_manager_mode(m)));

    g_autoptr(GArray) pref = gd_mp_manager_preference(m);
    g_autoptr(GStrvBuilder) names = g_strv_builder_new();
    for (guint i = 0; i < pref->len; i++) {
        g_autofree char *name = gd_text_escape(
            gd_bus_group_display(o->bus, g_array_index(pref, uint32_t, i), buf, sizeof(buf)));
        g_strv_builder_add(names, name);
    }
    g_auto(GStrv) pref_names = g_strv_builder_end(names);
    gd_dbus_mptcp_set_preference(sk, (const char *const *)pref_names);

    uint32_t active;
    g_autofree char *active_name =
        gd_text_escape(gd_mp_manager_active_group(m, &active)
                           ? gd_bus_group_display(o->bus, active, buf, sizeof(buf))
                           : "");
    gd_dbus_mptcp_set_active_group(sk, active_name);

    g_autoptr(GArray) eps = gd_mp_manager_endpoints(m);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(usssas)"));
    for (guint i = 0; i < eps->len; i++) {
        const GdMptcpEndpointInfo *info = &g_array_index(eps, GdMptcpEndpointInfo, i);
        g_autofree char *addr = gd_mp_pm_addr_format(info->ep.family, info->ep.addr);
        g_auto(GStrv) flags = gd_mptcp_flags_names(info->ep.flags);
        char group_buf[16];
        const char *group =
            info->owned ? gd_bus_group_display(o->bus, info->group, group_buf, sizeof(group_buf))
                        : "";
        g_variant_builder_add(&b, "(u@s@s@s^as)", (guint32)info->ep.id, gd_bus_shown_text(addr),
                              gd_bus_shown_text(info->ifname), gd_bus_shown_text(group), flags);
    }
    gd_dbus_mptcp_set_endpoints(sk, g_variant_builder_end(&b));

    GdMptcpLimits limits;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{su}"));
    if (gd_mp_manager_limits(m, &limits)) {
        g_variant_builder_add(&b, "{su}", "subflows", limits.subflows);
        g_variant_builder_add(&b, "{su}", "add_addr_accepted", limits.add_addr_accepted);
    }
    gd_dbus_mptcp_set_limits(sk, g_variant_builder_end(&b));

    g_autoptr(GPtrArray) conns = gd_mp_manager_connections(m);
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(ussa(sssb))"));
    for (guint i = 0; i < conns->len; i++) {
        const GdMptcpConnection *c = conns->pdata[i];
        GVariantBuilder sb;
        g_variant_builder_init(&sb, G_VARIANT_TYPE("a(sssb)"));
        for (guint k = 0; k < c->subflows->len; k++) {
            const GdMptcpSubflow *s = c->subflows->pdata[k];
            g_variant_builder_add(&sb, "(@s@s@sb)", gd_bus_shown_text(s->local),
                                  gd_bus_shown_text(s->remote),
                                  gd_bus_shown_text(s->interface ? s->interface : ""), s->backup);
        }
        g_variant_builder_add(&b, "(u@s@sa(sssb))", c->token, gd_bus_shown_text(c->local),
                              gd_bus_shown_text(c->remote), &sb);
    }
    gd_dbus_mptcp_set_connections(sk, g_variant_builder_end(&b));

    const char *detail;
    g_autofree char *owner = gd_text_escape(gd_mp_manager_owner(m, &detail));
    g_autofree char *owner_detail = gd_text_escape(detail);
    gd_dbus_mptcp_set_owner(sk, owner);
    gd_dbus_mptcp_set_owner_detail(sk, owner_detail);

    g_autoptr(GArray) health = gd_mp_manager_health(m);
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(sss)"));
    for (guint i = 0; i < health->len; i++) {
        const GdMptcpHealth *h = &g_array_index(health, GdMptcpHealth, i);
        g_variant_builder_add(
            &b, "(@s@s@s)",
            gd_bus_shown_text(gd_bus_group_display(o->bus, h->group, buf, sizeof(buf))),
            gd_bus_shown_text(h->state), gd_bus_shown_text(h->reason));
    }
    gd_dbus_mptcp_set_health(sk, g_variant_builder_end(&b));

    GPtrArray *sysctls = gd_mp_manager_sysctl_changes(m);
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(sss)"));
    for (guint i = 0; i < sysctls->len; i++) {
        const GdMptcpSysctl *s = sysctls->pdata[i];
        g_variant_builder_add(&b, "(@s@s@s)", gd_bus_shown_text(s->path),
                              gd_bus_shown_text(s->previous), gd_bus_shown_text(s->value));
    }
    gd_dbus_mptcp_set_sysctl_changes(sk, g_variant_builder_end(&b));

    gd_dbus_mptcp_set_failover_count(sk, gd_mp_manager_failover_count(m));
    g_autofree char *last_error = gd_text_escape(gd_mp_manager_last_error(m));
    gd_dbus_mptcp_set_last_error(sk, last_error);
}

void gd_bus_mptcp_refresh(GdBus *bus)
{
    if (bus->mptcp)
        refresh(bus->mptcp);
}

void gd_bus_mptcp_active_changed(GdBus *bus, gboolean has_group, uint32_t group,
                                 gboolean had_previous, uint32_t previous, const char *reason)
{
    if (!bus->mptcp)
        return;
    char a[16], b[16];
    refresh(bus->mptcp);
    g_autofree char *now =
        gd_text_escape(has_group ? gd_bus_group_display(bus, group, a, sizeof(a)) : "");
    g_autofree char *before =
        gd_text_escape(had_previous ? gd_bus_group_display(bus, previous, b, sizeof(b)) : "");
    g_autofree char *why = gd_text_escape(reason);
    gd_dbus_mptcp_emit_active_group_changed(bus->mptcp->skeleton, now, before, why);
}

/* ---- methods ---- */

static void call_free(MptcpCall *call)
{
    g_clear_object(&call->base.invocation);
    g_free(call->text);
    g_strfreev(call->groups);
    g_free(call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MptcpCall, call_free)

static void reply_error(MptcpCall *call, const GError *error)
{
    gd_bus_error_return(g_steal_pointer(&call->base.invocation), error);
}

static void set_mode(GdBusCall *base)
{
    g_autoptr(MptcpCall) call = (MptcpCall *)base;
    GdBusMptcp *o = base->bus->mptcp;
    GdMptcpMode mode;
    if (gd_mptcp_mode_parse(call->text, &mode) < 0) {
        g_autofree char *shown = gd_bus_args_clip(call->text, 32);
        g_autoptr(GError) error = gd_bus_error_from_errno(
            -EINVAL, FALSE, NULL, "unknown mode \"%s\" (off, failover, power-save, aggregate)",
            shown);
        reply_error(call, error);
        return;
    }
    gd_mp_manager_set_mode(o->mptcp, mode);
    refresh(o);
    gd_dbus_mptcp_complete_set_mode(o->skeleton, g_steal_pointer(&base->invocation));
}

static void set_preference(GdBusCall *base)
{
    g_autoptr(MptcpCall) call = (MptcpCall *)base;
    GdBusMptcp *o = base->bus->mptcp;
    g_autoptr(GError) error = NULL;
    guint n = g_strv_length(call->groups);
    if (n > 64) {
        error = gd_bus_error_from_errno(-E2BIG, FALSE, NULL, "%u groups: at most 64", n);
        reply_error(call, error);
        return;
    }
    g_autofree uint32_t *ids = g_new0(uint32_t, n + 1);
    for (guint i = 0; i < n; i++) {
        if (!gd_bus_resolve_group(base->bus, call->groups[i], &ids[i], &error)) {
            reply_error(call, error);
            return;
        }
    }
    int r = gd_mp_manager_set_preference(o->mptcp, ids, n);
    if (r < 0) {
        error = gd_bus_error_from_errno(r, FALSE, NULL,
                                        "every group must have an [MPTCP] section with "
                                        "Role=failover, each given once");
        reply_error(call, error);
        return;
    }
    refresh(o);
    gd_dbus_mptcp_complete_set_preference(o->skeleton, g_steal_pointer(&base->invocation));
}

static void failover(GdBusCall *base)
{
    g_autoptr(MptcpCall) call = (MptcpCall *)base;
    GdBusMptcp *o = base->bus->mptcp;
    g_autoptr(GError) error = NULL;
    uint32_t to = 0;
    gboolean has_to = *call->text != '\0';
    if (has_to && !gd_bus_resolve_group(base->bus, call->text, &to, &error)) {
        reply_error(call, error);
        return;
    }
    if (has_to && !gd_mp_manager_group_configured(o->mptcp, to)) {
        g_autofree char *shown = gd_bus_args_clip(call->text, 64);
        error = gd_bus_error_from_errno(-EINVAL, FALSE, NULL, "group \"%s\" has no [MPTCP] section",
                                        shown);
        reply_error(call, error);
        return;
    }
    int r = gd_mp_manager_failover(o->mptcp, has_to, to);
    if (r < 0) {
        error = gd_bus_error_from_errno(r, FALSE, NULL, "no failover possible: %s",
                                        has_to ? "that group is not healthy or already active"
                                               : "no other healthy group, mode off or "
                                                 "aggregate, or another endpoint owner");
        reply_error(call, error);
        return;
    }
    refresh(o);
    gd_dbus_mptcp_complete_failover(o->skeleton, g_steal_pointer(&base->invocation));
}

static gboolean start(GdBus *bus, GDBusMethodInvocation *invocation, char *text, char **groups);

/* The generated handle-* signals' typed handlers: each keeps its arguments. */

static gboolean handle_text(GdDBusMptcp *skeleton, GDBusMethodInvocation *invocation,
                            const char *text, GdBus *bus)
{
    return start(bus, invocation, g_strdup(text), NULL);
}

static gboolean handle_set_preference(GdDBusMptcp *skeleton, GDBusMethodInvocation *invocation,
                                      const char *const *groups, GdBus *bus)
{
    return start(bus, invocation, NULL, g_strdupv((char **)groups));
}

static const GdBusMethod methods[] = {
    {"SetMode", "net.groupd1.manage-mptcp", G_CALLBACK(handle_text), set_mode},
    {"SetPreference", "net.groupd1.manage-mptcp", G_CALLBACK(handle_set_preference),
     set_preference},
    {"Failover", "net.groupd1.manage-mptcp", G_CALLBACK(handle_text), failover},
};

const GdBusMethod *gd_bus_mptcp_methods(guint *n)
{
    *n = G_N_ELEMENTS(methods);
    return methods;
}

static gboolean start(GdBus *bus, GDBusMethodInvocation *invocation, char *text, char **groups)
{
    MptcpCall *call = g_new0(MptcpCall, 1);
    call->base.bus = bus;
    call->base.invocation = invocation; /* the reply consumes the handler's reference */
    call->base.free = (GDestroyNotify)call_free;
    call->text = text;
    call->groups = groups;
    return gd_bus_methods_start(&call->base, methods, G_N_ELEMENTS(methods));
}

/* ---- NetworkManager as another owner ---- */

static void nm_appeared(GDBusConnection *conn, const char *name, const char *owner,
                        gpointer user_data)
{
    GdBusMptcp *o = user_data;
    g_autofree char *detail = g_strdup_printf(
        "NetworkManager is on the bus (%s); since 1.40 it adds MPTCP endpoints for its "
        "connections (connection.mptcp-flags)",
        owner);
    gd_mp_manager_set_external_owner(o->mptcp, "NetworkManager", detail);
}

static void nm_vanished(GDBusConnection *conn, const char *name, gpointer user_data)
{
    GdBusMptcp *o = user_data;
    gd_mp_manager_set_external_owner(o->mptcp, NULL, NULL);
}

void gd_bus_mptcp_export(GdBus *bus, GdMpManager *mptcp)
{
    g_return_if_fail(!bus->mptcp);
    GdBusMptcp *o = g_new0(GdBusMptcp, 1);
    o->bus = bus;
    o->mptcp = mptcp;
    o->skeleton = gd_dbus_mptcp_skeleton_new();
    gd_bus_methods_connect(o->skeleton, methods, G_N_ELEMENTS(methods), bus);
    refresh(o);
    g_autoptr(GDBusObjectSkeleton) object = g_dbus_object_skeleton_new(GD_BUS_MPTCP_PATH);
    g_dbus_object_skeleton_add_interface(object, G_DBUS_INTERFACE_SKELETON(o->skeleton));
    g_dbus_object_manager_server_export(bus->object_manager, object);
    o->nm_watch = g_bus_watch_name_on_connection(bus->conn, NM_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                 nm_appeared, nm_vanished, o, NULL);
    bus->mptcp = o;
}

void gd_bus_mptcp_unexport(GdBus *bus)
{
    GdBusMptcp *o = bus->mptcp;
    if (!o)
        return;
    g_bus_unwatch_name(o->nm_watch);
    g_dbus_object_manager_server_unexport(bus->object_manager, GD_BUS_MPTCP_PATH);
    g_object_unref(o->skeleton);
    g_free(o);
    bus->mptcp = NULL;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One table of methods per object: each names the method, the polkit
 * action that allows it (none for a read) and its typed handler and body.
 * The generated skeleton's handle-<name> signal gives the handler the
 * typed arguments, which it keeps in the call through the (asynchronous)
 * authorization to the body: nothing is read from the message twice. */
#include "bus.h"

#include <errno.h>

/* gdbus-codegen's signal for a method: "SetLinkGroup" → "handle-set-link-group". */
static char *signal_name(const char *method)
{
    GString *s = g_string_new("handle");
    for (const char *c = method; *c; c++) {
        if (g_ascii_isupper(*c))
            g_string_append_c(s, '-');
        g_string_append_c(s, g_ascii_tolower(*c));
    }
    return g_string_free(s, FALSE);
}

void gd_bus_methods_connect(gpointer skeleton, const GdBusMethod *methods, guint n,
                            gpointer user_data)
{
    for (guint i = 0; i < n; i++) {
        g_autofree char *signal = signal_name(methods[i].name);
        g_signal_connect(skeleton, signal, methods[i].handle, user_data);
    }
}

const GdBusMethod *gd_bus_methods_find(const GdBusMethod *methods, guint n, const char *name)
{
    for (guint i = 0; i < n; i++)
        if (g_str_equal(methods[i].name, name))
            return &methods[i];
    return NULL;
}

/* Every method sees what the caller's earlier calls changed: what replies
 * left to publish later is published first (validation reads the cache). */
static void run(GdBusCall *call)
{
    gd_bus_flush(call->bus);
    call->method->run(call);
}

static void authorized_cb(GDBusMethodInvocation *invocation, gboolean allowed, gpointer user_data)
{
    GdBusCall *call = user_data;
    if (allowed) {
        run(call);
        return;
    }
    g_autoptr(GError) error = gd_bus_error_from_errno(
        -EACCES, FALSE, NULL,
        "%s changes network configuration: only root%s may call it, or a caller polkit "
        "authorizes for %s",
        call->method->name, call->bus->options.admin_gid >= 0 ? " and the admin group" : "",
        call->method->action);
    gd_bus_error_return(g_steal_pointer(&call->invocation), error);
    call->free(call);
}

gboolean gd_bus_methods_start(GdBusCall *call, const GdBusMethod *methods, guint n)
{
    call->method =
        gd_bus_methods_find(methods, n, g_dbus_method_invocation_get_method_name(call->invocation));
    g_assert(call->method);
    if (!call->method->action)
        run(call);
    else
        gd_bus_auth_check(call->bus->auth, call->invocation, call->method->action, authorized_cb,
                          call);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

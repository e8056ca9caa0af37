/* SPDX-License-Identifier: LGPL-2.1-or-later
 * net.groupd1.Error.*: the domain and the one mapping from errno. */
#include "bus.h"

#include <errno.h>

static const GDBusErrorEntry error_entries[] = {
    {GD_BUS_ERROR_NO_SUCH_GROUP, "net.groupd1.Error.NoSuchGroup"},
    {GD_BUS_ERROR_NO_SUCH_LINK, "net.groupd1.Error.NoSuchLink"},
    {GD_BUS_ERROR_INVALID_ARGS, "net.groupd1.Error.InvalidArgs"},
    {GD_BUS_ERROR_ACCESS_DENIED, "net.groupd1.Error.AccessDenied"},
    {GD_BUS_ERROR_PARTIALLY_APPLIED, "net.groupd1.Error.PartiallyApplied"},
    {GD_BUS_ERROR_DEFAULT_GROUP_PROTECTED, "net.groupd1.Error.DefaultGroupProtected"},
    {GD_BUS_ERROR_KERNEL, "net.groupd1.Error.Kernel"},
    {GD_BUS_ERROR_BUSY, "net.groupd1.Error.Busy"},
    {GD_BUS_ERROR_NOT_POSSIBLE, "net.groupd1.Error.NotPossible"},
};

GQuark gd_bus_error_quark(void)
{
    static gsize quark = 0;
    g_dbus_error_register_error_domain("gd-bus-error-quark", &quark, error_entries,
                                       G_N_ELEMENTS(error_entries));
    return (GQuark)quark;
}

static GdBusError code_for_errno(int err, gboolean from_kernel)
{
    switch (-err) {
    case EBUSY:
    case EAGAIN:
        return GD_BUS_ERROR_BUSY;
    default:
        break;
    }
    if (from_kernel)
        return GD_BUS_ERROR_KERNEL;
    switch (-err) {
    case ENODEV:
    case ENXIO:
        return GD_BUS_ERROR_NO_SUCH_LINK;
    case ENOENT:
        return GD_BUS_ERROR_NO_SUCH_GROUP;
    case EINVAL:
    case ERANGE:
    case E2BIG:
    case EDOM:
        return GD_BUS_ERROR_INVALID_ARGS;
    case EACCES:
    case EPERM:
        return GD_BUS_ERROR_ACCESS_DENIED;
    case EHOSTUNREACH:
        return GD_BUS_ERROR_NOT_POSSIBLE;
    default:
        return GD_BUS_ERROR_KERNEL;
    }
}

GError *gd_bus_error_from_errno(int err, gboolean from_kernel, const char *extack,
                                const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *context = g_strdup_vprintf(format, ap);
    va_end(ap);
    if (err >= 0)
        err = -EIO;
    GdBusError code = code_for_errno(err, from_kernel);
    if (!from_kernel)
        return g_error_new_literal(GD_BUS_ERROR, code, context);
    return g_error_new(GD_BUS_ERROR, code, "%s: %s (errno %d)%s%s", context, g_strerror(-err), -err,
                       extack ? ": " : "", extack ? extack : "");
}

void gd_bus_error_return(GDBusMethodInvocation *invocation, const GError *error)
{
    g_autoptr(GError) shown = gd_bus_shown_error(error);
    g_debug("%s from %s: %s", g_dbus_method_invocation_get_method_name(invocation),
            g_dbus_method_invocation_get_sender(invocation), shown->message);
    g_dbus_method_invocation_return_gerror(invocation, shown);
}

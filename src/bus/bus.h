/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bus: the net.groupd1 D-Bus API on the generated skeletons; batched
 * signals; caller authorization; the one errno → D-Bus error mapping.
 * May call: policy, cache, config, netlink (types).
 */
#pragma once

#include "cache/cache.h"
#include "mptcp/mptcp.h"
#include "config/group-names.h"
#include "policy/engine.h"
#include "policy/ops.h"

#include <gio/gio.h>

#define GD_BUS_NAME              "net.groupd1"
#define GD_BUS_PATH              "/net/groupd1"
#define GD_BUS_GROUP_PATH_PREFIX "/net/groupd1/group/"

typedef enum {
    GD_BUS_ERROR_NO_SUCH_GROUP,
    GD_BUS_ERROR_NO_SUCH_LINK,
    GD_BUS_ERROR_INVALID_ARGS,
    GD_BUS_ERROR_ACCESS_DENIED,
    GD_BUS_ERROR_PARTIALLY_APPLIED,
    GD_BUS_ERROR_DEFAULT_GROUP_PROTECTED,
    GD_BUS_ERROR_KERNEL,
    GD_BUS_ERROR_BUSY,
    GD_BUS_ERROR_NOT_POSSIBLE,
} GdBusError;

#define GD_BUS_ERROR (gd_bus_error_quark())
GQuark gd_bus_error_quark(void);

/* The one mapping from a module's negative errno to a net.groupd1.Error.
 * from_kernel: the errno is the kernel's answer to a request (its extack
 * text, if any, is added); otherwise it is groupd's own (-ENODEV: no such
 * link, -ENOENT: no such group, -EINVAL/-ERANGE/-E2BIG: invalid argument,
 * -EBUSY: busy, -EACCES/-EPERM: access denied, -EHOSTUNREACH: not possible
 * now, e.g. no other healthy group to fail over to). */
GError *gd_bus_error_from_errno(int err, gboolean from_kernel, const char *extack,
                                const char *format, ...) G_GNUC_PRINTF(4, 5);

/* Outside text (interface, file and group names, the kernel's messages)
 * leaves on the bus in its shown form (text/text.h): bytes that are not
 * UTF-8 as \xNN, a backslash as \\. A string GVariant of raw (floating). */
GVariant *gd_bus_text(const char *raw);
/* Returns error to the caller, its whole message in the shown form (it
 * quotes names, paths and kernel text as they are). */
void gd_bus_return_gerror(GDBusMethodInvocation *invocation, const GError *error);

typedef struct {
    const char *version;
    gboolean skip_validation; /* test-only: send changes the cache says will fail */
    gint64 admin_gid;         /* -1: only root may change anything */
    guint max_pending;        /* queued operations before Busy */
} GdBusOptions;

typedef struct GdBus GdBus;

/* Exports the objects on conn (the name is owned by the caller). */
GdBus *gd_bus_new(GDBusConnection *conn, GdCache *cache, GdExecutor *executor, GdGroupNames *names,
                  GdEngine *engine, const GdBusOptions *options);
void gd_bus_free(GdBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdBus, gd_bus_free)

/* Exports /net/groupd1/mptcp (net.groupd1.Mptcp) for mptcp, which must
 * outlive bus; and watches NetworkManager's name as another endpoint owner. */
void gd_bus_export_mptcp(GdBus *bus, GdMptcp *mptcp);
void gd_bus_unexport_mptcp(GdBus *bus);
/* The MPTCP manager's changed and active-group callbacks. */
void gd_bus_mptcp_changed(GdBus *bus);
void gd_bus_mptcp_active_changed(GdBus *bus, gboolean has_group, uint32_t group,
                                 gboolean had_previous, uint32_t previous, const char *reason);

/* Publishes the cache's pending changes: LinksChanged, group objects,
 * PropertiesChanged. The cache's changed callback. */
void gd_bus_publish(GdBus *bus);
/* The engine's policies, drift or errors changed: group objects follow. */
void gd_bus_policy_changed(GdBus *bus);

/* ---- internal to bus/ ---- */

GDBusObjectManagerServer *gd_bus_object_manager(GdBus *bus);
/* A group as the API names it: its name, else its number (in buf). */
const char *gd_bus_group_display(GdBus *bus, uint32_t id, char *buf, size_t size);
/* A group's name or number into its id; FALSE with a typed error. */
gboolean gd_bus_resolve_group(GdBus *bus, const char *text, uint32_t *id, GError **error);
typedef struct GdAuth GdAuth;
GdAuth *gd_bus_auth(GdBus *bus);

typedef void (*GdAuthDoneFunc)(GDBusMethodInvocation *invocation, gboolean allowed,
                               gpointer user_data);
GdAuth *gd_auth_new(GDBusConnection *conn, gint64 admin_gid);
void gd_auth_free(GdAuth *auth);
/* The polkit action of a mutating method, or NULL. */
const char *gd_auth_action_for(const char *method);
/* Root and the admin group from the caller's credentials (cached per
 * unique name); anyone else if polkit on the bus authorizes the action. */
void gd_auth_check(GdAuth *auth, GDBusMethodInvocation *invocation, GdAuthDoneFunc done,
                   gpointer user_data);

#define GD_TYPE_GROUP_IFACE (gd_group_iface_get_type())
G_DECLARE_FINAL_TYPE(GdGroupIface, gd_group_iface, GD, GROUP_IFACE, GDBusInterfaceSkeleton)
GdGroupIface *gd_group_iface_new(GdBus *bus, GdCache *cache, GdGroupNames *names, GdEngine *engine,
                                 uint32_t id);
/* Publishes at once what replies left for later: reads see their writes. */
void gd_bus_flush(GdBus *bus);

/* ListLinks' and LinksChanged's a(isuus) for links (GdLink*): index, name,
 * group, MTU, operational state; serialised directly (link-list.c). */
GVariant *gd_bus_link_list(GPtrArray *links);
uint32_t gd_group_iface_get_id(GdGroupIface *iface);
/* A group's name: its policy's Name=, else the iproute2 file's, else NULL. */
const char *gd_bus_group_name(GdGroupNames *names, GdEngine *engine, uint32_t id);
/* Recomputes the properties from the cache and emits one PropertiesChanged
 * for what differs; members_changed invalidates Members. */
void gd_group_iface_refresh(GdGroupIface *iface, gboolean members_changed);

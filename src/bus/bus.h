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
#include "policy/runner.h"

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
/* The error with its whole message in the shown form (it quotes names,
 * paths and kernel text as they are), and returning that to the caller. */
GError *gd_bus_error_shown(const GError *error);
void gd_bus_return_gerror(GDBusMethodInvocation *invocation, const GError *error);

typedef struct {
    const char *version;
    gboolean skip_validation; /* test-only: send changes the cache says will fail */
    gint64 admin_gid;         /* -1: only root may change anything */
    guint max_pending;        /* queued operations before Busy */
} GdBusOptions;

typedef struct GdBus GdBus;

/* Exports the objects on conn (the name is owned by the caller). */
GdBus *gd_bus_new(GDBusConnection *conn, GdCache *cache, GdRunner *runner, GdGroupNames *names,
                  GdEngine *engine, const GdBusOptions *options);
void gd_bus_free(GdBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdBus, gd_bus_free)

/* Exports /net/groupd1/mptcp (net.groupd1.Mptcp) for mptcp, which must
 * outlive bus; and watches NetworkManager's name as another endpoint owner. */
void gd_bus_export_mptcp(GdBus *bus, GdMpManager *mptcp);
void gd_bus_unexport_mptcp(GdBus *bus);
/* The MPTCP manager's changed and active-group callbacks. */
void gd_bus_refresh_mptcp(GdBus *bus);
void gd_bus_signal_mptcp_active(GdBus *bus, gboolean has_group, uint32_t group,
                                gboolean had_previous, uint32_t previous, const char *reason);

/* Publishes the cache's pending changes: LinksChanged, group objects,
 * PropertiesChanged. The cache's changed callback. */
void gd_bus_publish(GdBus *bus);
/* The engine's policies, drift or errors changed: group objects follow. */
void gd_bus_policy_changed(GdBus *bus);

/* Connects to the bus at address (NULL: the system or session bus, as
 * type) through the guard (guard.c), which reads every message to groupd
 * before GDBus does: one of more than GD_BUS_GUARD_MAX_BYTES or
 * GD_BUS_GUARD_MAX_VALUES values, or malformed, is never given to GDBus
 * (which parses a whole body before it looks at the signature: 24 MB of
 * empty strings cost it 500 MB); a method call gets
 * net.groupd1.Error.InvalidArgs from the guard. */
GDBusConnection *gd_bus_connect(const char *address, GBusType type, GError **error);

/* ---- internal to bus/ ---- */

/* The largest valid call, SetLinkGroup with 65536 names of 15 bytes, has
 * 1.3 MB and 65538 values; GDBus takes about 170 bytes per value. */
#define GD_BUS_GUARD_MAX_BYTES  (2 * 1024 * 1024)
#define GD_BUS_GUARD_MAX_VALUES 70000
/* Header fields beyond this: the message is dropped unread. */
#define GD_BUS_GUARD_MAX_HEADER (64 * 1024)
/* A large message, of which GDBus holds one at a time (guard.c). */
#define GD_BUS_GUARD_LARGE_BYTES  (256 * 1024)
#define GD_BUS_GUARD_LARGE_VALUES 10000

/* The D-Bus wire format (wire.c): pure functions over bytes. */
enum {
    GD_WIRE_METHOD_CALL = 1,
    GD_WIRE_METHOD_RETURN = 2,
    GD_WIRE_ERROR = 3,
    GD_WIRE_SIGNAL = 4,
};
typedef struct {
    gboolean big_endian;
    guint8 type, flags;
    guint32 body_len, serial, fields_len;
    gsize header_len; /* the 16 fixed bytes, the fields, padding to 8 */
    gsize total;      /* header_len + body_len */
} GdWireFixed;
typedef struct {
    char *path, *interface, *member, *error_name, *destination, *sender;
    char *signature; /* "" when the field is absent */
    gboolean has_reply_serial;
    guint32 reply_serial, unix_fds;
} GdWireHeader;
/* The first 16 bytes of a message: 0, or -EBADMSG. */
int gd_wire_parse_fixed(const guint8 *data, GdWireFixed *out);
/* The header fields (data holds fixed->header_len bytes): 0, or -EBADMSG
 * for anything GDBus would refuse. out is to be cleared either way. */
int gd_wire_parse_header(const guint8 *data, const GdWireFixed *fixed, GdWireHeader *out);
void gd_wire_header_clear(GdWireHeader *header);
/* Walks the body (message[body_offset..len)) as signature says, counting
 * values (basic or container, each one) without allocating: 0, -E2BIG
 * past max_values, -EBADMSG when malformed. */
int gd_wire_count_values(const guint8 *message, gsize len, gsize body_offset, gboolean big_endian,
                         const char *signature, gsize max_values, gsize *count);
/* A little-endian error reply to call (whose header has a sender). */
GByteArray *gd_wire_error_reply(const GdWireFixed *call, const GdWireHeader *header, guint32 serial,
                                const char *error_name, const char *message);

/* The guard's streams (guard.c): pure state over the bytes each way. */
typedef struct GdGuardFilter GdGuardFilter;
GdGuardFilter *gd_guard_filter_new(void);
void gd_guard_filter_free(GdGuardFilter *filter);
/* Bytes from the bus: what GDBus may read goes to to_daemon, error
 * replies to to_bus (at a message boundary of the daemon's stream). */
void gd_guard_filter_from_bus(GdGuardFilter *filter, const guint8 *data, gsize len,
                              GByteArray *to_daemon, GByteArray *to_bus);
/* Bytes from GDBus: to the bus; the authentication's NEGOTIATE_UNIX_FD is
 * answered with ERROR here (no file descriptor passes the guard). */
void gd_guard_filter_from_daemon(GdGuardFilter *filter, const guint8 *data, gsize len,
                                 GByteArray *to_daemon, GByteArray *to_bus);
/* Why the streams cannot go on (a framing error), or NULL. */
const char *gd_guard_filter_broken(const GdGuardFilter *filter);
/* Messages refused (answered or dropped) so far. */
guint64 gd_guard_filter_refused(const GdGuardFilter *filter);
/* Large calls (GD_BUS_GUARD_LARGE_BYTES or GD_BUS_GUARD_LARGE_VALUES and more) passed on so far. */
guint64 gd_guard_filter_large(const GdGuardFilter *filter);

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

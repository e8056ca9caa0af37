/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bus: the net.groupd1 D-Bus API on the code gdbus-codegen generates from
 * dbus/net.groupd1.*.xml (gd-dbus-generated.h: gd_dbus_*, GdDBus*); batched signals;
 * caller authorization; the one errno → D-Bus error mapping. Hand-written
 * functions are named after their file: gd_bus_<file>_* (bus.c: gd_bus_*;
 * guard.c: gd_bus_guard_*, gd_guard_filter_*; wire.c: gd_wire_*).
 * May call: policy, mptcp, cache, config, text, log.
 */
#pragma once

#include "cache/cache.h"
#include "config/group-names.h"
#include "mptcp/mptcp.h"
#include "peers/peer-link.h"
#include "policy/engine.h"
#include "policy/ops.h"
#include "policy/runner.h"

#include <gio/gio.h>

#define GD_BUS_NAME              "net.groupd1"
#define GD_BUS_PATH              "/net/groupd1"
#define GD_BUS_GROUP_PATH_PREFIX "/net/groupd1/group/"
#define GD_BUS_MPTCP_PATH        "/net/groupd1/mptcp"

/* ---- errors (errors.c) ---- */

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
/* Answers invocation (consuming it) with error in its shown form; error
 * stays the caller's. */
void gd_bus_error_return(GDBusMethodInvocation *invocation, const GError *error);

/* ---- outside text as it leaves (shown.c) ---- */

/* Outside text (interface, file and group names, the kernel's messages)
 * leaves on the bus in its shown form (text/text.h): bytes that are not
 * UTF-8 as \xNN, a backslash as \\. A string GVariant of raw (floating). */
GVariant *gd_bus_shown_text(const char *raw);
/* The error with its whole message in the shown form (it quotes names,
 * paths and kernel text as they are). */
GError *gd_bus_shown_error(const GError *error);

/* ---- the service (bus.c) ---- */

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
/* Who else manages each link (peers/peers.h): GetLink's ManagedBy,
 * ListLinkManagers(). Without it every link is managed by "none". */
void gd_bus_set_peers(GdBus *bus, GdPeerLookupFunc lookup, gpointer data);
void gd_bus_free(GdBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdBus, gd_bus_free)

/* Publishes the cache's pending changes: LinksChanged, group objects,
 * PropertiesChanged. The cache's changed callback. */
void gd_bus_publish(GdBus *bus);
/* The engine's policies, drift or errors changed: group objects follow. */
void gd_bus_policy_changed(GdBus *bus);
/* A group's name: its policy's Name=, else the iproute2 file's, else NULL
 * (what the API shows, and the logs' namer, log/log.h). */
const char *gd_bus_group_name(GdBus *bus, uint32_t id);

/* ---- /net/groupd1/mptcp (mptcp-object.c) ---- */

/* Exports net.groupd1.Mptcp for mptcp, which must outlive its export. */
void gd_bus_mptcp_export(GdBus *bus, GdMpManager *mptcp);
void gd_bus_mptcp_unexport(GdBus *bus);
/* The MPTCP manager's changed and active-group callbacks. */
void gd_bus_mptcp_refresh(GdBus *bus);
void gd_bus_mptcp_active_changed(GdBus *bus, gboolean has_group, uint32_t group,
                                 gboolean had_previous, uint32_t previous, const char *reason);

/* ---- the connection (guard.c) ---- */

/* Connects to the bus at address (NULL: the system or session bus, as
 * type) through the guard, which reads every message to groupd before
 * GDBus does: one of more than GD_BUS_GUARD_MAX_BYTES or
 * GD_BUS_GUARD_MAX_VALUES values, or malformed, is never given to GDBus
 * (which parses a whole body before it looks at the signature: 24 MB of
 * empty strings cost it 500 MB); a method call gets
 * net.groupd1.Error.InvalidArgs from the guard. */
GDBusConnection *gd_bus_guard_connect(const char *address, GBusType type, GError **error);

/* ======== internal to bus/ ======== */

typedef struct GdBusAuth GdBusAuth;
typedef struct GdBusManager GdBusManager;
typedef struct GdBusMptcp GdBusMptcp;

struct GdBus {
    GDBusConnection *conn;
    GdCache *cache;
    GdRunner *runner;
    GdGroupNames *names;
    GdEngine *engine;
    GdBusOptions options;
    GdBusAuth *auth;
    GdBusManager *manager;
    GdBusMptcp *mptcp; /* while exported */
    GDBusObjectManagerServer *object_manager;
    GdPeerLookupFunc peer_lookup; /* who else manages a link (gd_bus_set_peers()) */
    gpointer peer_data;
    GHashTable *groups; /* id → GDBusObjectSkeleton (owned) */
    guint publications;
    /* Work left after replies: reading what the kernel did into the cache
     * and publishing it (gd_bus_defer_release()). */
    guint deferred_releases;
    guint deferred_timer;
    gboolean flushing;
};

/* Publishes at once what replies left for later: reads see their writes. */
void gd_bus_flush(GdBus *bus);
/* After a reply: the operation's cache hold (taken over from its
 * GdOpResult) is released, and so published, shortly. */
void gd_bus_defer_release(GdBus *bus);
/* The Manager's netlink counters from the executor. */
void gd_bus_update_counters(GdBus *bus);
/* A group's name or number (in its shown form) into its id; FALSE with a
 * typed error (NoSuchGroup, InvalidArgs). */
gboolean gd_bus_resolve_group(GdBus *bus, const char *shown, uint32_t *id, GError **error);
/* A link named by the shown form of its name (text/text.h): "bad\\xff" is
 * the link whose name has the byte 0xff. NULL when there is none. */
GdLink *gd_bus_resolve_link(GdBus *bus, const char *shown);
/* A caller's link name for an error message, which is shown as a whole:
 * the bytes it stands for, so that it reads as the caller wrote it. */
char *gd_bus_clip_link_name(const char *shown);
/* A group as the API names it: its name, else its number (in buf). */
const char *gd_bus_group_display(GdBus *bus, uint32_t id, char *buf, size_t size);

/* ---- one table of methods per object (methods.c) ---- */

typedef struct GdBusCall GdBusCall;
typedef void (*GdBusMethodRun)(GdBusCall *call);

/* A method of one of groupd's objects, one table per object. */
typedef struct {
    const char *name; /* as in dbus/net.groupd1.*.xml */
    /* The polkit action (data/net.groupd1.policy) that allows a method that
     * changes something; NULL for a read, which every caller may make (as
     * dbus/net.groupd1.conf says). */
    const char *action;
    /* The typed handler of the generated handle-<name> signal: it copies
     * its arguments into a call and starts it (gd_bus_methods_start()). */
    GCallback handle;
    /* The body, once the caller may call the method: it owns the call and
     * answers it. */
    GdBusMethodRun run;
} GdBusMethod;

/* One call, from its handle-* signal to its reply; an object's own call
 * struct begins with it. */
struct GdBusCall {
    GdBus *bus;
    const GdBusMethod *method;
    GDBusMethodInvocation *invocation; /* the reply consumes it */
    GDestroyNotify free;               /* frees the object's whole call */
};

/* Connects each method's handle to skeleton's handle-<name> signal. */
void gd_bus_methods_connect(gpointer skeleton, const GdBusMethod *methods, guint n,
                            gpointer user_data);
/* The method of methods called name, or NULL. */
const GdBusMethod *gd_bus_methods_find(const GdBusMethod *methods, guint n, const char *name);
/* Starts call (bus, invocation and free set) as the method of methods the
 * invocation names: a read runs at once, a change once the caller is
 * authorized; otherwise the caller gets AccessDenied and call is freed.
 * Returns G_DBUS_METHOD_INVOCATION_HANDLED for the handle-* handler. */
gboolean gd_bus_methods_start(GdBusCall *call, const GdBusMethod *methods, guint n);
/* The objects' tables (manager-object.c, mptcp-object.c). */
const GdBusMethod *gd_bus_manager_methods(guint *n);
const GdBusMethod *gd_bus_mptcp_methods(guint *n);

/* ---- authorization (auth.c) ---- */

typedef void (*GdBusAuthDoneFunc)(GDBusMethodInvocation *invocation, gboolean allowed,
                                  gpointer user_data);
GdBusAuth *gd_bus_auth_new(GDBusConnection *conn, gint64 admin_gid);
void gd_bus_auth_free(GdBusAuth *auth);
/* Root and the admin group from the caller's credentials (cached per
 * unique name); anyone else if polkit on the bus authorizes action. */
void gd_bus_auth_check(GdBusAuth *auth, GDBusMethodInvocation *invocation, const char *action,
                       GdBusAuthDoneFunc done, gpointer user_data);

/* ---- arguments (args.c): pure, reached by a fuzzer ---- */

/* A copy of the UTF-8 text cut to at most max bytes, between characters
 * (for quoting a caller's argument in an error message). */
char *gd_bus_args_clip(const char *text, gsize max);
/* SetGroup's props: "MTU" u (1…2^31-1), "State" s ("up"/"down"),
 * "MACAddress" s, "TxQueueLength" u; at least one, no other key. FALSE with
 * InvalidArgs and a bounded UTF-8 message. */
gboolean gd_bus_args_link_change(GVariant *props, GdNlLinkChange *change, GError **error);
/* The options of mutating calls: only "force" b. Same contract. */
gboolean gd_bus_args_options(GVariant *options, gboolean *force, GError **error);

/* ---- net.groupd1.Manager (manager-object.c, group-ops.c) ---- */

GdBusManager *gd_bus_manager_new(GdBus *bus);
void gd_bus_manager_free(GdBusManager *manager);
/* LinksChanged for set, and LinkCount and ResyncCount. */
void gd_bus_manager_publish(GdBusManager *manager, const GdChangeSet *set);
/* paths: operations per kernel path, GD_KPATH_N of them. */
void gd_bus_manager_set_counters(GdBusManager *manager, guint64 requests, guint64 sends,
                                 const guint64 *paths);

/* A call of the Manager: the typed arguments of its method. */
typedef struct {
    GdBusCall base;
    char *group;       /* SetGroup, SetLinkGroup, Add/RemoveGroupAddress */
    char **links;      /* SetLinkGroup (one block: g_free()) */
    char *address;     /* Add/RemoveGroupAddress */
    char *name;        /* GetLink */
    GVariant *props;   /* SetGroup */
    GVariant *options; /* SetGroup, Add/RemoveGroupAddress */
    guint32 flags;     /* Reload */
    /* A SetGroup on a policy group: the override it replaced, to restore
     * when the kernel refuses the change. */
    gboolean overrode;
    GdEngineOverrideUndo undo;
} GdBusManagerCall;

/* The Manager's changes to groups, from their arguments to a GdOp, through
 * the runner, to the reply from its GdOpResult (group-ops.c). */
void gd_bus_group_ops_set_group(GdBusCall *call);
void gd_bus_group_ops_set_link_group(GdBusCall *call);
void gd_bus_group_ops_add_address(GdBusCall *call);
void gd_bus_group_ops_remove_address(GdBusCall *call);

/* ---- net.groupd1.Group (group-object.c) ---- */

/* One hand-written interface skeleton per group with members or a policy. */
#define GD_TYPE_BUS_GROUP (gd_bus_group_get_type())
G_DECLARE_FINAL_TYPE(GdBusGroup, gd_bus_group, GD, BUS_GROUP, GDBusInterfaceSkeleton)
GdBusGroup *gd_bus_group_new(GdBus *bus, uint32_t id);
/* Recomputes the properties from the cache and emits one PropertiesChanged
 * for what differs; members_changed invalidates Members. */
void gd_bus_group_refresh(GdBusGroup *group, gboolean members_changed);

/* ListLinks' and LinksChanged's a(isuus) for links (GdLink*): index, name,
 * group, MTU, operational state; serialised directly (link-list.c). */
GVariant *gd_bus_link_list(GPtrArray *links);

/* ---- the guard (guard.c) and the wire format (wire.c) ---- */

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

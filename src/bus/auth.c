/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Who may change the network: root and members of the admin group, from
 * the caller's credentials as the bus daemon knows them
 * (GetConnectionCredentials), never from anything the caller says; anyone
 * else only when polkit, if it is on the bus, authorizes the action
 * (org.freedesktop.PolicyKit1.Authority.CheckAuthorization with the
 * caller's bus name as subject). Without polkit: denied. */
#include "bus.h"

/* Unique names are never reused on a bus, so a cached answer stays true;
 * the table is only bounded. */
#define AUTH_CACHE_MAX 1024

struct GdBusAuth {
    GDBusConnection *conn;
    gint64 admin_gid;
    GHashTable *allowed; /* unique name → GINT_TO_POINTER(1 allowed, 2 denied) */
};

typedef struct {
    GdBusAuth *auth;
    GDBusMethodInvocation *invocation;
    GdBusAuthDoneFunc done;
    gpointer user_data;
    const char *action;   /* the polkit action the method needs (static) */
    gboolean interactive; /* the call allowed interactive authorization */
} Check;

/* Polkit may ask the user for a password: give it time. */
#define POLKIT_INTERACTIVE_TIMEOUT_MS (5 * 60 * 1000)
#define POLKIT_TIMEOUT_MS             25000

static void check_finish(Check *check, gboolean allowed)
{
    check->done(check->invocation, allowed, check->user_data);
    g_object_unref(check->invocation);
    g_free(check);
}

/* Why polkit said no, in the words an administrator needs. */
static const char *refusal_reason(const Check *check, gboolean challenge, GVariant *details)
{
    const char *dismissed = NULL;
    if (!challenge)
        return "not allowed for this caller";
    if (g_variant_lookup(details, "polkit.dismissed", "&s", &dismissed) && *dismissed)
        return "authentication was required and the caller dismissed it";
    if (check->interactive)
        return "authentication was required, but no polkit authentication agent answered "
               "for the caller";
    return "authentication was required, and the call did not allow interactive "
           "authorization";
}

static void polkit_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
    Check *check = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
    const char *sender = g_dbus_method_invocation_get_sender(check->invocation);
    const char *action = check->action;
    gboolean authorized = FALSE, challenge = FALSE;
    g_autoptr(GVariant) details = NULL;

    if (!reply) {
        /* No polkit on this bus (or it failed): the credential check said no. */
        g_debug("caller %s: polkit unavailable (%s); denied", sender, error->message);
        check_finish(check, FALSE);
        return;
    }
    g_variant_get(reply, "((bb@a{ss}))", &authorized, &challenge, &details);
    if (authorized)
        g_message("caller %s: polkit authorized %s", sender, action);
    else
        g_message("caller %s: polkit refused %s: %s", sender, action,
                  refusal_reason(check, challenge, details));
    check_finish(check, authorized);
}

static void ask_polkit(Check *check)
{
    GDBusMethodInvocation *invocation = check->invocation;
    const char *action = check->action;
    gboolean interactive =
        (g_dbus_message_get_flags(g_dbus_method_invocation_get_message(invocation)) &
         G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION) != 0;
    check->interactive = interactive;
    GVariantBuilder subject;
    g_variant_builder_init(&subject, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&subject, "{sv}", "name",
                          g_variant_new_string(g_dbus_method_invocation_get_sender(invocation)));
    g_dbus_connection_call(
        check->auth->conn, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
        "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
        g_variant_new("((sa{sv})sa{ss}us)", "system-bus-name", &subject, action, NULL,
                      interactive ? 1u : 0u, ""),
        G_VARIANT_TYPE("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE,
        interactive ? POLKIT_INTERACTIVE_TIMEOUT_MS : POLKIT_TIMEOUT_MS, NULL, polkit_cb, check);
}

GdBusAuth *gd_bus_auth_new(GDBusConnection *conn, gint64 admin_gid)
{
    GdBusAuth *auth = g_new0(GdBusAuth, 1);
    auth->conn = g_object_ref(conn);
    auth->admin_gid = admin_gid;
    auth->allowed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return auth;
}

void gd_bus_auth_free(GdBusAuth *auth)
{
    if (!auth)
        return;
    g_object_unref(auth->conn);
    g_hash_table_unref(auth->allowed);
    g_free(auth);
}

static gboolean credentials_allow(GdBusAuth *auth, GVariant *creds, const char *sender)
{
    guint32 uid;
    if (!g_variant_lookup(creds, "UnixUserID", "u", &uid)) {
        g_message("caller %s: the bus gave no uid; denied", sender);
        return FALSE;
    }
    if (uid == 0)
        return TRUE;
    if (auth->admin_gid >= 0) {
        g_autoptr(GVariant) gids =
            g_variant_lookup_value(creds, "UnixGroupIDs", G_VARIANT_TYPE("au"));
        gsize n = 0;
        const guint32 *list = gids ? g_variant_get_fixed_array(gids, &n, sizeof(guint32)) : NULL;
        for (gsize i = 0; i < n; i++)
            if ((gint64)list[i] == auth->admin_gid)
                return TRUE;
    }
    g_message("caller %s: uid %u is neither root nor in the admin group", sender, uid);
    return FALSE;
}

static void credentials_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
    Check *check = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
    const char *sender = g_dbus_method_invocation_get_sender(check->invocation);

    if (!reply) {
        g_message("caller %s: credentials unavailable (%s); denied", sender, error->message);
        check_finish(check, FALSE);
        return;
    }
    g_autoptr(GVariant) creds = g_variant_get_child_value(reply, 0);
    gboolean allowed = credentials_allow(check->auth, creds, sender);
    if (g_hash_table_size(check->auth->allowed) >= AUTH_CACHE_MAX)
        g_hash_table_remove_all(check->auth->allowed);
    g_hash_table_insert(check->auth->allowed, g_strdup(sender), GINT_TO_POINTER(allowed ? 1 : 2));
    if (allowed)
        check_finish(check, TRUE);
    else
        ask_polkit(check);
}

void gd_bus_auth_check(GdBusAuth *auth, GDBusMethodInvocation *invocation, const char *action,
                       GdBusAuthDoneFunc done, gpointer user_data)
{
    const char *sender = g_dbus_method_invocation_get_sender(invocation);
    if (!sender) {
        /* A peer-to-peer connection: only the daemon's own tests use one. */
        done(invocation, FALSE, user_data);
        return;
    }
    Check *check = g_new0(Check, 1);
    check->auth = auth;
    check->invocation = g_object_ref(invocation);
    check->action = action;
    check->done = done;
    check->user_data = user_data;
    /* Credentials are cached per unique name; polkit's answers are not
     * (they may be temporary or depend on the session). */
    gpointer cached = g_hash_table_lookup(auth->allowed, sender);
    if (cached) {
        if (GPOINTER_TO_INT(cached) == 1)
            check_finish(check, TRUE);
        else
            ask_polkit(check);
        return;
    }
    g_dbus_connection_call(auth->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                           "org.freedesktop.DBus", "GetConnectionCredentials",
                           g_variant_new("(s)", sender), G_VARIANT_TYPE("(a{sv})"),
                           G_DBUS_CALL_FLAGS_NONE, 5000, NULL, credentials_cb, check);
}

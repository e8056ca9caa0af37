/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Who may change the network: root, and members of the admin group. The
 * caller's credentials come from the bus daemon (GetConnectionCredentials),
 * never from anything the caller says. */
#include "bus.h"

/* Unique names are never reused on a bus, so a cached answer stays true;
 * the table is only bounded. */
#define AUTH_CACHE_MAX 1024

struct GdAuth {
    GDBusConnection *conn;
    gint64 admin_gid;
    GHashTable *allowed; /* unique name → GINT_TO_POINTER(1 allowed, 2 denied) */
};

typedef struct {
    GdAuth *auth;
    GDBusMethodInvocation *invocation;
    GdAuthDoneFunc done;
    gpointer user_data;
} Check;

GdAuth *gd_auth_new(GDBusConnection *conn, gint64 admin_gid)
{
    GdAuth *auth = g_new0(GdAuth, 1);
    auth->conn = g_object_ref(conn);
    auth->admin_gid = admin_gid;
    auth->allowed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return auth;
}

void gd_auth_free(GdAuth *auth)
{
    if (!auth)
        return;
    g_object_unref(auth->conn);
    g_hash_table_unref(auth->allowed);
    g_free(auth);
}

static gboolean credentials_allow(GdAuth *auth, GVariant *creds, const char *sender)
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
    g_message("caller %s: uid %u may not change network configuration", sender, uid);
    return FALSE;
}

static void credentials_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
    Check *check = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
    const char *sender = g_dbus_method_invocation_get_sender(check->invocation);
    gboolean allowed = FALSE;

    if (reply) {
        g_autoptr(GVariant) creds = g_variant_get_child_value(reply, 0);
        allowed = credentials_allow(check->auth, creds, sender);
        if (g_hash_table_size(check->auth->allowed) >= AUTH_CACHE_MAX)
            g_hash_table_remove_all(check->auth->allowed);
        g_hash_table_insert(check->auth->allowed, g_strdup(sender),
                            GINT_TO_POINTER(allowed ? 1 : 2));
    } else {
        g_message("caller %s: credentials unavailable (%s); denied", sender, error->message);
    }
    check->done(check->invocation, allowed, check->user_data);
    g_object_unref(check->invocation);
    g_free(check);
}

void gd_auth_check(GdAuth *auth, GDBusMethodInvocation *invocation, GdAuthDoneFunc done,
                   gpointer user_data)
{
    const char *sender = g_dbus_method_invocation_get_sender(invocation);
    if (!sender) {
        /* A peer-to-peer connection: only the daemon's own tests use one. */
        done(invocation, FALSE, user_data);
        return;
    }
    gpointer cached = g_hash_table_lookup(auth->allowed, sender);
    if (cached) {
        done(invocation, GPOINTER_TO_INT(cached) == 1, user_data);
        return;
    }
    Check *check = g_new0(Check, 1);
    check->auth = auth;
    check->invocation = g_object_ref(invocation);
    check->done = done;
    check->user_data = user_data;
    g_dbus_connection_call(auth->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                           "org.freedesktop.DBus", "GetConnectionCredentials",
                           g_variant_new("(s)", sender), G_VARIANT_TYPE("(a{sv})"),
                           G_DBUS_CALL_FLAGS_NONE, 5000, NULL, credentials_cb, check);
}

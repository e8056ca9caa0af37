/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl monitor: one line per batch groupd signals (LinksChanged,
 * PropertiesChanged, group objects appearing or going), until SIGINT/SIGTERM
 * or --count batches. Also the signal loop `mptcp monitor` shares. */
#include <signal.h>
#include <string.h>

#include <glib-unix.h>

#include "groupctl.h"

/* ---- the loop ---- */

typedef struct {
    Ctl *ctl;
    GMainLoop *loop;
    unsigned seen;
    int exit_code;
    bool done;
} Monitor;

/* One subscription's callback data. */
typedef struct {
    Monitor *mon;
    const MonitorMatch *match;
} Subscription;

static void monitor_stop(Monitor *mon, int exit_code)
{
    if (mon->done)
        return;
    mon->done = true;
    mon->exit_code = exit_code;
    g_main_loop_quit(mon->loop);
}

static bool path_under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

static void on_signal(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                      const char *member, GVariant *params, gpointer data)
{
    const Subscription *sub = data;
    Monitor *mon = sub->mon;
    /* Signals already queued when the loop was told to stop: --count is
     * exact. */
    if (mon->done)
        return;
    if (sub->match->path_prefix && !path_under(path, sub->match->path))
        return;
    if (!sub->match->func(mon->ctl, path, member, params))
        return;
    fflush(stdout);
    if (mon->ctl->count && ++mon->seen >= mon->ctl->count)
        monitor_stop(mon, EXIT_OK);
}

static void on_owner_changed(GDBusConnection *bus, const char *sender, const char *path,
                             const char *iface, const char *member, GVariant *params, gpointer data)
{
    const char *new_owner;
    if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(sss)")))
        return;
    g_variant_get(params, "(&s&s&s)", NULL, NULL, &new_owner);
    if (!*new_owner) {
        fprintf(stderr, "groupctl: groupd left the bus\n");
        monitor_stop(data, EXIT_NOBUS);
    }
}

static void on_closed(GDBusConnection *bus, gboolean remote_peer_vanished, GError *error,
                      gpointer data)
{
    /* GLib's words for an end of file are obscure. */
    fprintf(stderr, "groupctl: reading the bus: %s\n",
            remote_peer_vanished || !error ? "the bus closed the connection" : error->message);
    monitor_stop(data, EXIT_DAEMON);
}

static gboolean on_unix_signal(gpointer data)
{
    monitor_stop(data, EXIT_OK);
    return G_SOURCE_CONTINUE;
}

int monitor_run(Ctl *ctl, const char *what, const MonitorMatch *matches, size_t n_matches)
{
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    Monitor mon = {.ctl = ctl, .loop = loop};
    g_autofree char *owner = NULL, *still_owner = NULL;
    int r = bus_groupd_owner(ctl, &owner);
    if (r)
        return r;

    /* Signals of the unique name: a groupd started later is not this one. */
    g_autofree Subscription *subs = g_new(Subscription, n_matches);
    g_autofree unsigned *ids = g_new(unsigned, n_matches + 1);
    for (size_t i = 0; i < n_matches; i++) {
        const MonitorMatch *m = &matches[i];
        subs[i] = (Subscription){&mon, m};
        ids[i] = g_dbus_connection_signal_subscribe(
            ctl->bus, owner, m->iface, m->member, m->path_prefix ? NULL : m->path, NULL,
            G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &subs[i], NULL);
    }
    ids[n_matches] = g_dbus_connection_signal_subscribe(
        ctl->bus, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged", NULL,
        GD_BUS_NAME, G_DBUS_SIGNAL_FLAGS_NONE, on_owner_changed, &mon, NULL);
    gulong closed_id = g_signal_connect(ctl->bus, "closed", G_CALLBACK(on_closed), &mon);
    unsigned sigint_id = g_unix_signal_add(SIGINT, on_unix_signal, &mon);
    unsigned sigterm_id = g_unix_signal_add(SIGTERM, on_unix_signal, &mon);

    /* The bus handles a connection's messages in order: once this call
     * returns, it has every match rule above, and no signal can slip by
     * after the "Monitoring" line. It also tells whether groupd is still
     * the one subscribed to. */
    r = bus_groupd_owner(ctl, &still_owner);
    if (r == 0 && strcmp(owner, still_owner) != 0) {
        fprintf(stderr, "groupctl: groupd left the bus\n");
        r = EXIT_NOBUS;
    }
    if (r == 0) {
        /* Tests (and users) wait for this line before changing anything. */
        fprintf(stderr, "Monitoring %s (%s), Ctrl-C to stop.\n", what, owner);
        g_main_loop_run(loop);
        r = mon.exit_code;
    }

    g_source_remove(sigint_id);
    g_source_remove(sigterm_id);
    g_signal_handler_disconnect(ctl->bus, closed_id);
    for (size_t i = 0; i <= n_matches; i++)
        g_dbus_connection_signal_unsubscribe(ctl->bus, ids[i]);
    return r;
}

/* ---- groupctl monitor ---- */

/* "ifb0 ifb1 … (+N)" */
static void append_names(GString *s, GPtrArray *names)
{
    enum { MAX_SHOWN = 8 };
    for (unsigned i = 0; i < names->len && i < MAX_SHOWN; i++)
        g_string_append_printf(s, "%s%s", i ? " " : "", (char *)names->pdata[i]);
    if (names->len > MAX_SHOWN)
        g_string_append_printf(s, " ... (+%u)", names->len - MAX_SHOWN);
}

static bool on_links_changed(Ctl *ctl, const char *path, const char *member, GVariant *params)
{
    if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(a(isuus)aiu)"))) {
        fprintf(stderr, "groupctl: ignoring a malformed LinksChanged\n");
        return false;
    }
    g_autoptr(GVariant) changed = g_variant_get_child_value(params, 0);
    g_autoptr(GVariant) removed = g_variant_get_child_value(params, 1);
    uint32_t flags;
    g_variant_get_child(params, 2, "u", &flags);
    GVariantIter it;
    int32_t idx;
    const char *name, *oper;
    uint32_t group, mtu;
    g_variant_iter_init(&it, changed);
    if (ctl->json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        jb_str(b, "Signal", "LinksChanged");
        json_builder_set_member_name(b, "Changed");
        json_builder_begin_array(b);
        while (g_variant_iter_next(&it, "(i&suu&s)", &idx, &name, &group, &mtu, &oper)) {
            json_builder_begin_object(b);
            jb_int(b, "Index", idx);
            jb_str(b, "Name", name);
            jb_int(b, "Group", group);
            jb_int(b, "MTU", mtu);
            jb_str(b, "OperState", oper);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        jb_gvariant(b, "Removed", removed);
        jb_int(b, "Flags", flags);
        json_builder_end_object(b);
        jb_print(b);
        return true;
    }
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    while (g_variant_iter_next(&it, "(i&suu&s)", NULL, &name, NULL, NULL, NULL))
        g_ptr_array_add(names, g_strdup(name));
    g_autoptr(GString) s = g_string_new(NULL);
    g_string_append_printf(s, "LinksChanged: %u changed", names->len);
    if (names->len) {
        g_string_append(s, " (");
        append_names(s, names);
        g_string_append(s, ")");
    }
    g_string_append_printf(s, ", %zu removed%s", g_variant_n_children(removed),
                           flags & 1 ? " [resync]" : "");
    print_line("%s", s->str);
    return true;
}

static const char *object_name(const char *path, char *buf, size_t size)
{
    if (g_str_has_prefix(path, GD_GROUP_PREFIX))
        snprintf(buf, size, "group %s", path + strlen(GD_GROUP_PREFIX));
    else if (!strcmp(path, GD_MANAGER_PATH))
        snprintf(buf, size, "manager");
    else
        snprintf(buf, size, "%s", path);
    return buf;
}

/* The object a signal of ObjectManager names (its first argument). */
static const char *signal_object(GVariant *params, char *buf, size_t size)
{
    g_autoptr(GVariant) first = g_variant_get_child_value(params, 0);
    return object_name(g_variant_get_string(first, NULL), buf, size);
}

static bool first_is_path(GVariant *params)
{
    if (g_variant_n_children(params) < 1)
        return false;
    g_autoptr(GVariant) first = g_variant_get_child_value(params, 0);
    return g_variant_is_of_type(first, G_VARIANT_TYPE_OBJECT_PATH);
}

static bool on_generic(Ctl *ctl, const char *path, const char *member, GVariant *params)
{
    char buf[256];

    if (ctl->json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        jb_str(b, "Signal", member);
        jb_str(b, "Path", path);
        /* The arguments' tuple, as an array. */
        jb_gvariant(b, "Arguments", params);
        json_builder_end_object(b);
        jb_print(b);
        return true;
    }

    g_autoptr(GString) s = g_string_new(NULL);
    if (!strcmp(member, "PropertiesChanged") &&
        g_variant_is_of_type(params, G_VARIANT_TYPE("(sa{sv}as)"))) {
        /* (s interface, a{sv} changed, as invalidated) */
        g_autoptr(GVariantIter) it = NULL;
        g_autofree const char **inval = NULL;
        const char *key;
        GVariant *value;
        g_string_append_printf(s, "PropertiesChanged %s:", object_name(path, buf, sizeof buf));
        g_variant_get(params, "(&sa{sv}^a&s)", NULL, &it, &inval);
        while (g_variant_iter_next(it, "{&sv}", &key, &value)) {
            g_autofree char *text = gvariant_text(value);
            g_string_append_printf(s, " %s=%s", key, text);
            g_variant_unref(value);
        }
        if (inval[0]) {
            g_autofree char *joined = g_strjoinv(",", (char **)inval);
            g_string_append_printf(s, " (invalidated: %s)", joined);
        }
    } else if (!strcmp(member, "InterfacesAdded") && first_is_path(params)) {
        g_string_append_printf(s, "%s appeared", signal_object(params, buf, sizeof buf));
    } else if (!strcmp(member, "InterfacesRemoved") && first_is_path(params)) {
        g_string_append_printf(s, "%s disappeared", signal_object(params, buf, sizeof buf));
    } else {
        g_string_append_printf(s, "%s %s", member, path);
    }
    print_line("%s", s->str);
    return true;
}

int verb_monitor(Ctl *ctl, int argc, char **argv)
{
    static const MonitorMatch matches[] = {
        {GD_MANAGER_PATH, false, GD_MANAGER_IFACE, "LinksChanged", on_links_changed},
        /* Every object of groupd: the manager, groups, MPTCP. */
        {GD_MANAGER_PATH, true, "org.freedesktop.DBus.Properties", "PropertiesChanged", on_generic},
        {GD_MANAGER_PATH, false, "org.freedesktop.DBus.ObjectManager", NULL, on_generic},
    };
    return monitor_run(ctl, GD_BUS_NAME, matches, G_N_ELEMENTS(matches));
}

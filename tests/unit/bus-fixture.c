/* SPDX-License-Identifier: LGPL-2.1-or-later
 * groupd's bus objects on a private bus, the fake kernel and the fake
 * MPTCP platform (bus-fixture.h). */
#include "bus-fixture.h"
#include "log/log.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY         65534
#define CALL_TIMEOUT_S 20

/* ---- the private bus, one per test program ---- */

static char *bus_dir;
static char *bus_address;
static GPid bus_pid;

/* Any user may connect and call; nothing is activated. */
static const char bus_config[] =
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig>\n"
    "  <listen>unix:dir=%s</listen>\n"
    "  <auth>EXTERNAL</auth>\n"
    "  <policy context=\"default\">\n"
    "    <allow user=\"*\"/>\n"
    "    <allow own=\"*\"/>\n"
    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
    "    <allow eavesdrop=\"true\"/>\n"
    "  </policy>\n"
    "</busconfig>\n";

static void stop_bus(void)
{
    if (bus_pid > 0) {
        kill(bus_pid, SIGTERM);
        waitpid(bus_pid, NULL, 0);
        g_spawn_close_pid(bus_pid);
    }
    g_autofree char *conf = g_build_filename(bus_dir, "bus.conf", NULL);
    g_remove(conf);
    /* The socket the daemon left. */
    g_autoptr(GDir) dir = g_dir_open(bus_dir, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(bus_dir, name, NULL);
        g_remove(path);
    }
    g_rmdir(bus_dir);
}

static void child_setup(gpointer data)
{
    /* The bus goes when the test program does, however it ends. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static const char *private_bus(void)
{
    if (bus_address)
        return bus_address;
    g_autoptr(GError) error = NULL;
    bus_dir = g_dir_make_tmp("gd-test-bus-XXXXXX", &error);
    g_assert_no_error(error);
    /* uid 65534 connects too. */
    g_assert_cmpint(g_chmod(bus_dir, 0755), ==, 0);
    g_autofree char *conf = g_build_filename(bus_dir, "bus.conf", NULL);
    g_autofree char *text = g_strdup_printf(bus_config, bus_dir);
    g_assert_true(g_file_set_contents(conf, text, -1, &error));
    g_autofree char *conf_arg = g_strdup_printf("--config-file=%s", conf);
    char *argv[] = {"dbus-daemon", "--nofork", "--print-address=1", conf_arg, NULL};
    int out = -1;
    if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                  child_setup, NULL, &bus_pid, NULL, &out, NULL, &error))
        g_error("cannot start dbus-daemon (tools/install-deps.sh installs it): %s", error->message);
    atexit(stop_bus);
    GString *line = g_string_new(NULL);
    char c;
    while (read(out, &c, 1) == 1 && c != '\n')
        g_string_append_c(line, c);
    close(out);
    if (line->len == 0)
        g_error("dbus-daemon printed no address");
    bus_address = g_string_free(line, FALSE);
    return bus_address;
}

GDBusConnection *bus_fx_connect(void)
{
    g_autoptr(GError) error = NULL;
    GDBusConnection *conn =
        g_dbus_connection_new_for_address_sync(private_bus(),
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, &error);
    g_assert_no_error(error);
    return conn;
}

/* A caller root's credentials do not allow: uid 65534 (the bus takes the
 * credentials when the connection is made). */
static GDBusConnection *connect_unprivileged(void)
{
    if (geteuid() != 0)
        return bus_fx_connect();
    g_assert_cmpint(seteuid(NOBODY), ==, 0);
    GDBusConnection *conn = bus_fx_connect();
    g_assert_cmpint(seteuid(0), ==, 0);
    return conn;
}

/* ---- the fake polkit authority ---- */

static const char polkit_xml[] = "<node><interface name='org.freedesktop.PolicyKit1.Authority'>"
                                 "<method name='CheckAuthorization'>"
                                 "<arg type='(sa{sv})' name='subject' direction='in'/>"
                                 "<arg type='s' name='action_id' direction='in'/>"
                                 "<arg type='a{ss}' name='details' direction='in'/>"
                                 "<arg type='u' name='flags' direction='in'/>"
                                 "<arg type='s' name='cancellation_id' direction='in'/>"
                                 "<arg type='(bba{ss})' name='result' direction='out'/>"
                                 "</method></interface></node>";

static void polkit_call_cb(GDBusConnection *conn, const char *sender, const char *path,
                           const char *iface, const char *method, GVariant *args,
                           GDBusMethodInvocation *invocation, gpointer user_data)
{
    BusFx *fx = user_data;
    const char *kind, *action;
    guint32 flags;
    g_autoptr(GVariant) subject = NULL, details = NULL;
    g_variant_get(args, "((&s@a{sv})&s@a{ss}u&s)", &kind, &subject, &action, &details, &flags,
                  NULL);
    g_assert_cmpstr(kind, ==, "system-bus-name");
    fx->polkit_calls++;
    g_free(fx->polkit_action);
    fx->polkit_action = g_strdup(action);
    fx->polkit_interactive = (flags & 1) != 0;
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{ss}"));
    if (fx->polkit == POLKIT_DISMISSED)
        g_variant_builder_add(&b, "{ss}", "polkit.dismissed", "true");
    g_dbus_method_invocation_return_value(
        invocation,
        g_variant_new("((bba{ss}))", fx->polkit == POLKIT_YES,
                      fx->polkit == POLKIT_CHALLENGE || fx->polkit == POLKIT_DISMISSED, &b));
}

static void polkit_start(BusFx *fx)
{
    static const GDBusInterfaceVTable vtable = {.method_call = polkit_call_cb};
    g_autoptr(GError) error = NULL;
    g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml(polkit_xml, &error);
    g_assert_no_error(error);
    fx->polkit_conn = bus_fx_connect();
    fx->polkit_object =
        g_dbus_connection_register_object(fx->polkit_conn, "/org/freedesktop/PolicyKit1/Authority",
                                          info->interfaces[0], &vtable, fx, NULL, &error);
    g_assert_no_error(error);
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
        fx->polkit_conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "RequestName", g_variant_new("(su)", "org.freedesktop.PolicyKit1", 4u), NULL,
        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
    g_assert_no_error(error);
}

void bus_fx_set_polkit(BusFx *fx, PolkitAnswer answer)
{
    fx->polkit = answer;
    if (answer != POLKIT_ABSENT)
        return;
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
        fx->polkit_conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "ReleaseName", g_variant_new("(s)", "org.freedesktop.PolicyKit1"), NULL,
        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
    g_assert_no_error(error);
}

/* ---- signals ---- */

static void links_changed_cb(GDBusConnection *conn, const char *sender, const char *path,
                             const char *iface, const char *signal, GVariant *args,
                             gpointer user_data)
{
    BusFx *fx = user_data;
    fx->links_changed++;
    g_clear_pointer(&fx->last_links_changed, g_variant_unref);
    fx->last_links_changed = g_variant_ref(args);
}

static void props_changed_cb(GDBusConnection *conn, const char *sender, const char *path,
                             const char *iface, const char *signal, GVariant *args,
                             gpointer user_data)
{
    BusFx *fx = user_data;
    const char *changed_iface;
    g_variant_get_child(args, 0, "&s", &changed_iface);
    if (!g_str_equal(changed_iface, "net.groupd1.Group"))
        return;
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(fx->props_changed, path));
    g_hash_table_insert(fx->props_changed, g_strdup(path), GUINT_TO_POINTER(n + 1));
    g_clear_pointer(&fx->last_props_changed, g_variant_unref);
    fx->last_props_changed = g_variant_ref(args);
}

static void objects_cb(GDBusConnection *conn, const char *sender, const char *path,
                       const char *iface, const char *signal, GVariant *args, gpointer user_data)
{
    BusFx *fx = user_data;
    if (g_str_equal(signal, "InterfacesAdded"))
        fx->objects_added++;
    else
        fx->objects_removed++;
}

static void active_changed_cb(GDBusConnection *conn, const char *sender, const char *path,
                              const char *iface, const char *signal, GVariant *args,
                              gpointer user_data)
{
    BusFx *fx = user_data;
    fx->active_changed++;
    g_clear_pointer(&fx->last_active_changed, g_variant_unref);
    fx->last_active_changed = g_variant_ref(args);
}

static void subscribe(BusFx *fx)
{
    GDBusConnection *c = fx->client;
    const char *s = fx->server_name;
    fx->subscriptions[0] = g_dbus_connection_signal_subscribe(
        c, s, "net.groupd1.Manager", "LinksChanged", GD_BUS_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
        links_changed_cb, fx, NULL);
    fx->subscriptions[1] = g_dbus_connection_signal_subscribe(
        c, s, "org.freedesktop.DBus.Properties", "PropertiesChanged", NULL, NULL,
        G_DBUS_SIGNAL_FLAGS_NONE, props_changed_cb, fx, NULL);
    fx->subscriptions[2] = g_dbus_connection_signal_subscribe(
        c, s, "org.freedesktop.DBus.ObjectManager", NULL, GD_BUS_PATH, NULL,
        G_DBUS_SIGNAL_FLAGS_NONE, objects_cb, fx, NULL);
    fx->subscriptions[3] = g_dbus_connection_signal_subscribe(
        c, s, "net.groupd1.Mptcp", "ActiveGroupChanged", GD_BUS_MPTCP_PATH, NULL,
        G_DBUS_SIGNAL_FLAGS_NONE, active_changed_cb, fx, NULL);
}

void bus_fx_reset_signals(BusFx *fx)
{
    fx->links_changed = 0;
    fx->objects_added = fx->objects_removed = 0;
    fx->active_changed = 0;
    g_hash_table_remove_all(fx->props_changed);
    g_clear_pointer(&fx->last_links_changed, g_variant_unref);
    g_clear_pointer(&fx->last_props_changed, g_variant_unref);
    g_clear_pointer(&fx->last_active_changed, g_variant_unref);
}

guint bus_fx_group_signals(BusFx *fx, uint32_t id)
{
    g_autofree char *path = g_strdup_printf(GD_BUS_GROUP_PATH_PREFIX "%u", id);
    return GPOINTER_TO_UINT(g_hash_table_lookup(fx->props_changed, path));
}

/* ---- calls ---- */

typedef struct {
    gboolean done;
    GVariant *reply;
    GError *error;
} Pending;

static void call_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
    Pending *p = user_data;
    p->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &p->error);
    p->done = TRUE;
}

static gboolean timeout_cb(gpointer user_data)
{
    g_error("no answer within %d s", CALL_TIMEOUT_S);
    return G_SOURCE_REMOVE;
}

GVariant *bus_fx_call_as(BusFx *fx, GDBusConnection *conn, const char *path, const char *iface,
                         const char *method, GVariant *args, GError **error)
{
    Pending p = {0};
    g_dbus_connection_call(conn, fx->server_name, path, iface, method, args, NULL, fx->call_flags,
                           CALL_TIMEOUT_S * 1000, NULL, call_done_cb, &p);
    guint timeout = g_timeout_add_seconds(CALL_TIMEOUT_S + 5, timeout_cb, NULL);
    while (!p.done)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(timeout);
    if (p.error)
        g_propagate_error(error, p.error);
    return p.reply;
}

GVariant *bus_fx_call(BusFx *fx, const char *method, GVariant *args, GError **error)
{
    return bus_fx_call_as(fx, fx->client, GD_BUS_PATH, "net.groupd1.Manager", method, args, error);
}

char *bus_fx_call_fails(BusFx *fx, const char *path, const char *iface, const char *method,
                        GVariant *args, const char *name, const char *pattern)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = bus_fx_call_as(fx, fx->client, path, iface, method, args, &error);
    g_assert_null(reply);
    g_assert_nonnull(error);
    g_autofree char *remote = g_dbus_error_get_remote_error(error);
    g_autofree char *want = g_strconcat("net.groupd1.Error.", name, NULL);
    g_dbus_error_strip_remote_error(error);
    if (g_strcmp0(remote, want) != 0 || !g_pattern_match_simple(pattern, error->message))
        g_error("%s: expected %s \"%s\", got %s \"%s\"", method, want, pattern, remote,
                error->message);
    return g_strdup(error->message);
}

GVariant *bus_fx_property(BusFx *fx, const char *path, const char *iface, const char *name)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        bus_fx_call_as(fx, fx->client, path, "org.freedesktop.DBus.Properties", "Get",
                       g_variant_new("(ss)", iface, name), &error);
    g_assert_no_error(error);
    GVariant *value;
    g_variant_get(reply, "(v)", &value);
    return value;
}

GVariant *bus_fx_group_property(BusFx *fx, uint32_t id, const char *name)
{
    g_autofree char *path = g_strdup_printf(GD_BUS_GROUP_PATH_PREFIX "%u", id);
    return bus_fx_property(fx, path, "net.groupd1.Group", name);
}

gboolean bus_fx_group_exists(BusFx *fx, uint32_t id)
{
    g_autofree char *path = g_strdup_printf(GD_BUS_GROUP_PATH_PREFIX "%u", id);
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        bus_fx_call_as(fx, fx->client, path, "org.freedesktop.DBus.Properties", "GetAll",
                       g_variant_new("(s)", "net.groupd1.Group"), &error);
    return reply != NULL;
}

void bus_fx_kernel_changed(BusFx *fx)
{
    gd_bus_publish(fx->bus);
}

void bus_fx_settle(BusFx *fx)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = bus_fx_call(fx, "ListGroups", NULL, &error);
    g_assert_no_error(error);
}

/* ---- groupd's warnings ---- */

static const char *const domains[] = {"groupd-bus", "groupd-policy", "groupd-mptcp",
                                      "groupd-cache"};
static BusFx *current;

static void log_cb(const char *domain, GLogLevelFlags level, const char *message,
                   gpointer user_data)
{
    if ((level & G_LOG_LEVEL_WARNING) && current)
        g_ptr_array_add(current->warnings, g_strdup(message));
}

/* groupd's warnings are checked by the tests, not fatal. */
static gboolean fatal_cb(const char *domain, GLogLevelFlags level, const char *message,
                         gpointer user_data)
{
    for (guint i = 0; i < G_N_ELEMENTS(domains); i++)
        if (g_strcmp0(domain, domains[i]) == 0 && (level & G_LOG_LEVEL_WARNING))
            return FALSE;
    return TRUE;
}

void bus_fx_expect_warning(BusFx *fx, const char *pattern)
{
    g_ptr_array_add(fx->expected_warnings, g_strdup(pattern));
}

void bus_fx_assert_warnings(BusFx *fx)
{
    for (guint i = 0; i < MAX(fx->warnings->len, fx->expected_warnings->len); i++) {
        const char *seen = i < fx->warnings->len ? fx->warnings->pdata[i] : "(nothing)";
        const char *want =
            i < fx->expected_warnings->len ? fx->expected_warnings->pdata[i] : "(nothing)";
        if (!g_pattern_match_simple(want, seen))
            g_assert_cmpstr(seen, ==, want);
    }
    g_ptr_array_set_size(fx->warnings, 0);
    g_ptr_array_set_size(fx->expected_warnings, 0);
}

/* ---- setup ---- */

void bus_fx_write(BusFx *fx, const char *rel, const char *text)
{
    g_autofree char *path = g_build_filename(fx->root, rel, NULL);
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    g_autoptr(GError) error = NULL;
    g_assert_true(g_file_set_contents(path, text, -1, &error));
}

static void remove_tree(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;
        while (dir && (name = g_dir_read_name(dir))) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            remove_tree(child);
        }
        g_rmdir(path);
    } else {
        g_remove(path);
    }
}

static void cache_changed_cb(GdCache *cache, gpointer user_data)
{
    BusFx *fx = user_data;
    if (fx->bus)
        gd_bus_publish(fx->bus);
}

static void engine_changed_cb(GdEngine *engine, gpointer user_data)
{
    BusFx *fx = user_data;
    if (fx->bus)
        gd_bus_policy_changed(fx->bus);
}

static void mptcp_changed_cb(GdMpManager *m, gpointer user_data)
{
    BusFx *fx = user_data;
    if (fx->bus)
        gd_bus_mptcp_refresh(fx->bus);
}

static void mptcp_active_cb(GdMpManager *m, gboolean has_group, uint32_t group,
                            gboolean had_previous, uint32_t previous, const char *reason,
                            gpointer user_data)
{
    BusFx *fx = user_data;
    if (fx->bus)
        gd_bus_mptcp_active_changed(fx->bus, has_group, group, had_previous, previous, reason);
}

static void start_done_cb(GdEngine *engine, const char *plan, const char *error, gpointer data)
{
    g_assert_null(error);
    *(gboolean *)data = TRUE;
}

static const char *group_name_cb(uint32_t id, gpointer user_data)
{
    BusFx *fx = user_data;
    return fx->bus ? gd_bus_group_name(fx->bus, id) : NULL;
}

void bus_fx_restart_bus(BusFx *fx, const GdBusOptions *options)
{
    gd_bus_free(fx->bus);
    fx->options = *options;
    fx->bus = gd_bus_new(fx->server, fx->cache, fx->runner, fx->names, fx->engine, &fx->options);
    gd_bus_mptcp_export(fx->bus, fx->mptcp);
}

void bus_fx_set_up(BusFx *fx, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    memset(fx, 0, sizeof(*fx));
    fx->warnings = g_ptr_array_new_with_free_func(g_free);
    fx->expected_warnings = g_ptr_array_new_with_free_func(g_free);
    current = fx;
    /* GTest resets it before each test. */
    g_test_log_set_fatal_handler(fatal_cb, NULL);
    static gsize handlers;
    if (g_once_init_enter(&handlers)) {
        for (guint i = 0; i < G_N_ELEMENTS(domains); i++)
            g_log_set_handler(domains[i],
                              G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO |
                                  G_LOG_FLAG_FATAL,
                              log_cb, NULL);
        g_once_init_leave(&handlers, 1);
    }
    fx->props_changed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    fx->root = g_dir_make_tmp("gd-test-bus-root-XXXXXX", &error);
    g_assert_no_error(error);
    bus_fx_write(fx, "etc/groupd/groupd.conf", "[Daemon]\nDriftDebounceSec=0.01\n");
    bus_fx_write(fx, "etc/iproute2/group", "200 ppp\n");
    bus_fx_write(fx, GD_CONFIG_ADMIN_DIR "/50-web.group",
                 "[Group]\nName=web\nId=100\n[Match]\nName=web*\n[Link]\nMTU=1400\n");
    bus_fx_write(fx, GD_CONFIG_ADMIN_DIR "/10-wifi.group",
                 "[Group]\nName=wifi\nId=10\n[Match]\nName=wlan*\n[MPTCP]\n");
    bus_fx_write(fx, GD_CONFIG_ADMIN_DIR "/20-cellular.group",
                 "[Group]\nName=cellular\nId=20\n[Match]\nName=wwan*\n[MPTCP]\n");

    fx->cache = gd_cache_new_detached();
    gd_cache_set_changed(fx->cache, cache_changed_cb, fx);
    fx->fk = fake_kernel_new(fx->cache);
    fx->executor = fake_kernel_executor(fx->fk);
    fx->runner = gd_runner_new(fx->cache, fx->executor);
    fake_kernel_add_link(fx->fk, ETH0, "eth0", 0, TRUE);
    for (int i = 0; i < 3; i++) {
        g_autofree char *name = g_strdup_printf("web%d", i + 1);
        fake_kernel_add_link(fx->fk, WEB1 + i, name, 100, FALSE);
    }
    for (int i = 0; i < 4; i++) {
        g_autofree char *name = g_strdup_printf("ppp%d", i);
        fake_kernel_add_link(fx->fk, PPP0 + i, name, 200, i == 0);
    }
    fake_kernel_add_link(fx->fk, WLAN0, "wlan0", 10, TRUE);
    fake_kernel_add_addr(fx->fk, WLAN0, "10.1.0.2/24");
    fake_kernel_add_link(fx->fk, WWAN0, "wwan0", 20, TRUE);
    fake_kernel_add_addr(fx->fk, WWAN0, "10.2.0.2/24");

    fx->names = gd_group_names_load(fx->root);
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    GdConfig *config = NULL;
    g_assert_cmpint(gd_config_load(fx->root, fx->names, &config, errors), ==, 0);
    fx->engine =
        gd_engine_new(fx->cache, fx->runner, fx->names, fx->root, config, engine_changed_cb, fx);
    gboolean started = FALSE;
    gd_engine_start(fx->engine, start_done_cb, &started);
    while (!started)
        g_main_context_iteration(NULL, TRUE);
    fx->platform = fake_platform_new(TRUE);
    /* The sysctls as a distribution leaves them. */
    const char *const sysctls[] = {
        "net/mptcp/stale_loss_cnt",      "4", "net/ipv4/conf/all/rp_filter",   "1",
        "net/ipv4/conf/wlan0/rp_filter", "1", "net/ipv4/conf/wwan0/rp_filter", "0"};
    for (guint i = 0; i < G_N_ELEMENTS(sysctls); i += 2)
        g_hash_table_insert(fx->platform->sysctls, g_strdup(sysctls[i]), g_strdup(sysctls[i + 1]));
    fx->mptcp =
        gd_mp_manager_new_on(fx->cache, &fx->platform->base, mptcp_changed_cb, mptcp_active_cb, fx);
    gd_mp_manager_set_config(fx->mptcp, gd_engine_config(fx->engine));

    fx->server = gd_bus_guard_connect(private_bus(), G_BUS_TYPE_NONE, &error);
    g_assert_no_error(error);
    fx->server_name = g_dbus_connection_get_unique_name(fx->server);
    fx->options = (GdBusOptions){.version = "test", .admin_gid = -1, .max_pending = 64};
    fx->bus = gd_bus_new(fx->server, fx->cache, fx->runner, fx->names, fx->engine, &fx->options);
    gd_bus_mptcp_export(fx->bus, fx->mptcp);
    gd_log_set_group_namer(group_name_cb, fx);

    fx->client = connect_unprivileged();
    subscribe(fx);
    fx->polkit = POLKIT_YES;
    polkit_start(fx);
    /* What the start published is not the tests'. */
    bus_fx_settle(fx);
    bus_fx_reset_signals(fx);
}

static void close_connection(GDBusConnection **conn)
{
    if (!*conn)
        return;
    g_dbus_connection_close_sync(*conn, NULL, NULL);
    g_clear_object(conn);
}

void bus_fx_tear_down(BusFx *fx, gconstpointer data)
{
    bus_fx_assert_warnings(fx);
    gd_log_set_group_namer(NULL, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(fx->subscriptions); i++)
        g_dbus_connection_signal_unsubscribe(fx->client, fx->subscriptions[i]);
    close_connection(&fx->client);
    if (fx->polkit_object)
        g_dbus_connection_unregister_object(fx->polkit_conn, fx->polkit_object);
    close_connection(&fx->polkit_conn);
    gd_bus_free(fx->bus);
    gd_mp_manager_free(fx->mptcp);
    gd_engine_free(fx->engine);
    gd_group_names_free(fx->names);
    gd_runner_free(fx->runner);
    gd_executor_free(fx->executor);
    fake_kernel_free(fx->fk);
    gd_cache_free(fx->cache);
    close_connection(&fx->server);
    /* What the connections left on the loop (their last references). */
    while (g_main_context_iteration(NULL, FALSE))
        ;
    bus_fx_reset_signals(fx);
    g_hash_table_unref(fx->props_changed);
    g_free(fx->polkit_action);
    remove_tree(fx->root);
    g_free(fx->root);
    g_ptr_array_unref(fx->warnings);
    g_ptr_array_unref(fx->expected_warnings);
    current = NULL;
}

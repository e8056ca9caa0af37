/* SPDX-License-Identifier: LGPL-2.1-or-later
 * groupd: options, wiring, sd_notify, signals. */
#include "bus/bus.h"
#include "cache/cache.h"
#include "config/config.h"
#include "config/group-names.h"
#include "log/log.h"
#include "peers/peers.h"
#include "policy/engine.h"
#include "policy/ops.h"

#include <errno.h>
#include <glib-unix.h>
#include <cap-ng.h>
#include <grp.h>
#include <linux/capability.h>
#include <locale.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    GMainLoop *loop;
    GdCache *cache;
    GdBus *bus;
    GdEngine *engine;
    GdMpManager *mptcp;
    GdPeers *peers;
    gboolean engine_started; /* after the first look at the other managers */
    guint settle_timer;
    int exit_code;
    gboolean ready;
    gboolean name_owned;
    gboolean applied; /* the first apply finished */
} Daemon;

static GLogLevelFlags log_threshold = G_LOG_LEVEL_MESSAGE;

static GLogWriterOutput write_log(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                                  gpointer user_data)
{
    if (g_log_writer_is_journald(fileno(stderr)) &&
        g_log_writer_journald(level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;
    return g_log_writer_standard_streams(level, fields, n_fields, user_data);
}

static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                                   gpointer user_data)
{
    /* Lower flag values are more severe. */
    if ((level & G_LOG_LEVEL_MASK) > log_threshold)
        return G_LOG_WRITER_HANDLED;
    /* The journal gets GROUP=, GROUP_NAME=, INTERFACE= (log/log.h). */
    return gd_log_write_fields(level, fields, n_fields, write_log, user_data);
}

static gboolean parse_log_level(const char *text, GLogLevelFlags *out)
{
    static const struct {
        const char *name;
        GLogLevelFlags level;
    } levels[] = {
        {"error", G_LOG_LEVEL_CRITICAL}, {"warning", G_LOG_LEVEL_WARNING},
        {"notice", G_LOG_LEVEL_MESSAGE}, {"info", G_LOG_LEVEL_INFO},
        {"debug", G_LOG_LEVEL_DEBUG},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(levels); i++)
        if (g_str_equal(text, levels[i].name)) {
            *out = levels[i].level;
            return TRUE;
        }
    return FALSE;
}

static void cache_changed_cb(GdCache *cache, gpointer user_data)
{
    Daemon *daemon = user_data;
    if (!daemon->bus)
        return;
    gd_bus_publish(daemon->bus);
    if (daemon->engine)
        gd_engine_links_changed(daemon->engine);
    /* NetworkManager's reapply changes links, not its devices' state. */
    gd_peers_links_changed(daemon->peers);
    if (daemon->ready) {
        g_autoptr(GArray) groups = gd_cache_group_ids(cache);
        sd_notifyf(0, "STATUS=Managing %u links in %u groups (%u resyncs)",
                   gd_cache_link_count(cache), groups->len, gd_cache_resync_count(cache));
    }
}

static void engine_changed_cb(GdEngine *engine, gpointer user_data)
{
    Daemon *daemon = user_data;
    if (daemon->bus)
        gd_bus_policy_changed(daemon->bus);
    /* A reload replaces the configuration: MPTCP follows (same pointer: no-op). */
    if (daemon->mptcp)
        gd_mp_manager_set_config(daemon->mptcp, gd_engine_config(engine));
    if (daemon->peers)
        gd_peers_set_grace(daemon->peers, gd_engine_daemon_config(engine)->manager_restart_msec);
}

/* While groupd stands down for NetworkManager's MPTCP endpoints it reads
 * NetworkManager's settings every so often: a reapply that hands them
 * over (mptcp-flags "disabled") is announced by no signal. */
#define NM_MPTCP_POLL_MSEC 2000

static void mptcp_changed_cb(GdMpManager *mptcp, gpointer user_data)
{
    Daemon *daemon = user_data;
    if (daemon->bus)
        gd_bus_mptcp_refresh(daemon->bus);
    const char *detail;
    gd_peers_set_polling(daemon->peers,
                         g_str_equal(gd_mp_manager_owner(mptcp, &detail), "NetworkManager")
                             ? NM_MPTCP_POLL_MSEC
                             : 0);
}

static void mptcp_active_cb(GdMpManager *mptcp, gboolean has_group, uint32_t group,
                            gboolean had_previous, uint32_t previous, const char *reason,
                            gpointer user_data)
{
    Daemon *daemon = user_data;
    if (daemon->bus)
        gd_bus_mptcp_active_changed(daemon->bus, has_group, group, had_previous, previous, reason);
}

/* Logs name a group as the API does (log/log.h). */
static const char *group_name_cb(uint32_t id, gpointer user_data)
{
    Daemon *daemon = user_data;
    return daemon->bus ? gd_bus_group_name(daemon->bus, id) : NULL;
}

static void first_apply_done_cb(GdEngine *engine, const char *plan, const char *error,
                                gpointer user_data);

/* The first apply waits for the first look at the other network managers:
 * before it, a link NetworkManager manages would look unmanaged ([Match]
 * ManagedBy=none) and its conflicts unknown. */
static void start_engine(Daemon *daemon)
{
    if (daemon->engine_started)
        return;
    daemon->engine_started = TRUE;
    g_clear_handle_id(&daemon->settle_timer, g_source_remove);
    gd_engine_start(daemon->engine, first_apply_done_cb, daemon);
}

#define PEERS_SETTLE_MSEC 10000

static gboolean settle_timeout_cb(gpointer user_data)
{
    Daemon *daemon = user_data;
    daemon->settle_timer = 0;
    g_warning("NetworkManager did not describe its devices within %u ms: applying the policies "
              "without knowing which links it manages",
              PEERS_SETTLE_MSEC);
    start_engine(daemon);
    return G_SOURCE_REMOVE;
}

static void peers_changed_cb(GdPeers *peers, gpointer user_data)
{
    Daemon *daemon = user_data;
    gboolean settled = gd_peers_settled(peers);
    if (daemon->mptcp)
        gd_mp_manager_peers_changed(daemon->mptcp, settled);
    if (!daemon->engine)
        return;
    if (daemon->engine_started)
        gd_engine_peers_changed(daemon->engine);
    else if (settled)
        start_engine(daemon);
}

static void notify_ready(Daemon *daemon)
{
    /* Ready means: on the bus, and the policies applied once. */
    if (daemon->ready || !daemon->name_owned || !daemon->applied)
        return;
    daemon->ready = TRUE;
    g_autoptr(GArray) groups = gd_cache_group_ids(daemon->cache);
    g_message("ready: %u links in %u groups", gd_cache_link_count(daemon->cache), groups->len);
    sd_notifyf(0, "READY=1\nSTATUS=Managing %u links in %u groups",
               gd_cache_link_count(daemon->cache), groups->len);
}

static void first_apply_done_cb(GdEngine *engine, const char *plan, const char *error,
                                gpointer user_data)
{
    Daemon *daemon = user_data;
    if (error)
        g_warning("the first apply did not fully succeed (retrying with back-off):\n%s", error);
    daemon->applied = TRUE;
    notify_ready(daemon);
}

static void reload_done_cb(GdEngine *engine, const char *plan, const char *error,
                           gpointer user_data)
{
    if (!error)
        g_message("reload on SIGHUP applied");
}

static gboolean reload_cb(gpointer user_data)
{
    Daemon *daemon = user_data;
    g_message("reloading on SIGHUP");
    gd_engine_reload(daemon->engine, FALSE, reload_done_cb, daemon);
    return G_SOURCE_CONTINUE;
}

/* Whether SET holds a capability other than CAP_NET_ADMIN. Capabilities
 * past the running kernel's last one read as absent. */
static gboolean holds_other_capability(capng_type_t set)
{
    for (unsigned cap = 0; cap < 64; cap++)
        if (cap != CAP_NET_ADMIN && capng_have_capability(set, cap))
            return TRUE;
    return FALSE;
}

/* Once the sockets are open, groupd needs CAP_NET_ADMIN (the kernel checks
 * it on every rtnetlink change, at sendmsg() time) and nothing else, and it
 * starts no programs: nothing inheritable or ambient. Started by hand as
 * root it drops the rest, bounding set included (root has CAP_SETPCAP).
 * Under its unit it already holds only CAP_NET_ADMIN, the bounding set is
 * the unit's, and capset() is filtered (~@privileged): it only clears the
 * ambient set (a prctl()) and changes nothing it need not, so it asks
 * libcap-ng for nothing that fails (which it would log at priority err). */
static void drop_capabilities(void)
{
    if (capng_get_caps_process() < 0) {
        g_warning("cannot read this process's capabilities; keeping them");
        return;
    }
    gboolean net_admin = capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN);
    gboolean setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
    gboolean extra =
        holds_other_capability(CAPNG_EFFECTIVE) || holds_other_capability(CAPNG_PERMITTED);
    gboolean inheritable = capng_have_capability(CAPNG_INHERITABLE, CAP_NET_ADMIN) ||
                           holds_other_capability(CAPNG_INHERITABLE);
    gboolean ambient = capng_have_capabilities(CAPNG_SELECT_AMBIENT) != CAPNG_NONE;
    gboolean bounds = setpcap && holds_other_capability(CAPNG_BOUNDING_SET);

    /* Only the sets that differ from what groupd keeps. */
    capng_select_t apply = 0;
    if (extra || inheritable)
        apply |= CAPNG_SELECT_CAPS;
    if (ambient)
        apply |= CAPNG_SELECT_AMBIENT;
    if (bounds)
        apply |= CAPNG_SELECT_BOUNDS;
    if (apply == 0) {
        g_debug("capabilities: %s, nothing to drop", net_admin ? "only CAP_NET_ADMIN" : "none");
        return;
    }

    capng_clear(CAPNG_SELECT_ALL);
    if (net_admin)
        capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
                     CAP_NET_ADMIN);
    /* libcap-ng drops the bounding set first, while CAP_SETPCAP is still
     * effective, then calls capset(), then clears the ambient set. */
    int r = capng_apply(apply);
    if (r == 0) {
        if (extra || bounds)
            g_message("capabilities dropped: %s",
                      net_admin ? "only CAP_NET_ADMIN left" : "none left");
        else
            g_debug("capabilities: inheritable and ambient sets cleared");
    } else if (extra)
        g_warning("dropping capabilities failed (%d); keeping them", r);
    else
        /* capset() refused (a system call filter) for the inheritable set
         * alone: harmless, the ambient set is empty and groupd runs no
         * program. */
        g_debug("capabilities: the inheritable set stays (%d)", r);
}

static gboolean quit_cb(gpointer user_data)
{
    Daemon *daemon = user_data;
    g_message("stopping on signal");
    sd_notify(0, "STOPPING=1");
    g_main_loop_quit(daemon->loop);
    return G_SOURCE_CONTINUE;
}

static gboolean watchdog_cb(gpointer user_data)
{
    sd_notify(0, "WATCHDOG=1");
    return G_SOURCE_CONTINUE;
}

static void name_acquired_cb(GDBusConnection *conn, const char *name, gpointer user_data)
{
    Daemon *daemon = user_data;
    g_message("owning %s", name);
    daemon->name_owned = TRUE;
    notify_ready(daemon);
}

static void name_lost_cb(GDBusConnection *conn, const char *name, gpointer user_data)
{
    Daemon *daemon = user_data;
    if (!conn)
        g_warning("lost the bus connection");
    else
        g_warning("could not own %s (another instance runs, or the bus policy forbids it)", name);
    daemon->exit_code = 1;
    g_main_loop_quit(daemon->loop);
}

static GDBusConnection *connect_bus(const char *address, const char *kind, GError **error)
{
    /* Through the guard (src/bus/guard.c), which bounds what a message
     * costs before GDBus reads it. */
    if (address)
        return gd_bus_guard_connect(address, G_BUS_TYPE_NONE, error);
    if (g_str_equal(kind, "session"))
        return gd_bus_guard_connect(NULL, G_BUS_TYPE_SESSION, error);
    if (g_str_equal(kind, "system"))
        return gd_bus_guard_connect(NULL, G_BUS_TYPE_SYSTEM, error);
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--bus must be \"system\" or \"session\", not \"%s\"", kind);
    return NULL;
}

int main(int argc, char **argv)
{
    g_autofree char *config_root = NULL;
    g_autofree char *log_level = NULL;
    g_autofree char *bus_address = NULL;
    g_autofree char *bus_kind = NULL;
    g_autofree char *admin_group = NULL;
    gint64 rcvbuf = 0;
    gboolean skip_validation = FALSE;
    gboolean default_costs = FALSE;
    gint request_rcvbuf = 0;
    g_autofree char *ignore_features = NULL;
    g_autofree char *kernel_path = NULL;
    gboolean show_version = FALSE;
    g_autoptr(GError) error = NULL;
    int r;

    const GOptionEntry entries[] = {
        {"config-root", 0, 0, G_OPTION_ARG_FILENAME, &config_root,
         "Prefix every configuration path with DIR", "DIR"},
        {"netlink-rcvbuf", 0, 0, G_OPTION_ARG_INT64, &rcvbuf,
         "Receive buffer of the netlink event socket (default 32 MiB)", "BYTES"},
        {"log-level", 0, 0, G_OPTION_ARG_STRING, &log_level,
         "error, warning, notice (default), info or debug", "LEVEL"},
        {"bus", 0, 0, G_OPTION_ARG_STRING, &bus_kind, "system (default) or session", "BUS"},
        {"bus-address", 0, 0, G_OPTION_ARG_STRING, &bus_address,
         "Connect to the message bus at ADDRESS", "ADDRESS"},
        {"admin-group", 0, 0, G_OPTION_ARG_STRING, &admin_group,
         "Members of this Unix group may change the configuration too", "GROUP"},
        {"test-request-rcvbuf", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &request_rcvbuf,
         "Receive buffer of the request socket in bytes: small loses the kernel's answers "
         "(tests)",
         "BYTES"},
        {"ignore-kernel-features", 0, 0, G_OPTION_ARG_STRING, &ignore_features,
         "Do not use these kernel features (names as in KernelFeatures, or \"all\"): the "
         "stock-kernel paths, for tests and for working around a kernel bug",
         "LIST"},
        {"kernel-path", 0, 0, G_OPTION_ARG_STRING, &kernel_path,
         "How changes of many links reach the kernel: auto (default: the cost model picks one "
         "group message or per-link messages), group or per-link (where the operation can)",
         "PATH"},
        {"test-default-costs", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &default_costs,
         "Keep the cost model's default costs: no calibration from measured operations", NULL},
        {"test-skip-validation", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &skip_validation,
         "Tests only: send changes the cache says members will refuse", NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &show_version, "Print the version and exit", NULL},
        {NULL},
    };

    setlocale(LC_ALL, "");
    g_autoptr(GOptionContext) context = g_option_context_new("- network interfaces in groups");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "groupd: %s\n", error->message);
        return 2;
    }
    if (show_version) {
        printf("groupd %s\n", GROUPD_VERSION);
        return 0;
    }
    if (log_level && !parse_log_level(log_level, &log_threshold)) {
        fprintf(stderr, "groupd: unknown log level \"%s\"\n", log_level);
        return 2;
    }
    if (rcvbuf != 0 && (rcvbuf < 4096 || rcvbuf > G_MAXINT32 / 2)) {
        fprintf(stderr, "groupd: --netlink-rcvbuf must be between 4096 and %d\n", G_MAXINT32 / 2);
        return 2;
    }
    unsigned ignored_features = 0;
    if (ignore_features) {
        g_autofree char *bad = NULL;
        if (strcmp(ignore_features, "all") == 0)
            ignored_features = GD_KF_ALL;
        else if (gd_nl_feature_parse(ignore_features, &ignored_features, &bad) < 0) {
            fprintf(stderr, "groupd: --ignore-kernel-features: unknown feature \"%s\"\n", bad);
            return 2;
        }
    }
    GdKpath forced_path = GD_KPATH_AUTO;
    if (kernel_path && gd_kpath_parse(kernel_path, &forced_path) < 0) {
        fprintf(stderr, "groupd: --kernel-path must be auto, group or per-link, not \"%s\"\n",
                kernel_path);
        return 2;
    }
    g_log_set_writer_func(log_writer, NULL, NULL);
    if (skip_validation)
        g_warning("--test-skip-validation: changes members will refuse are sent anyway");

    g_autoptr(GdGroupNames) names = gd_group_names_load(config_root);
    g_autoptr(GPtrArray) config_errors = g_ptr_array_new_with_free_func(g_free);
    GdConfig *config = NULL;
    if (gd_config_load(config_root, names, &config, config_errors) < 0) {
        /* A bad configuration never runs: say everything that is wrong. */
        for (guint i = 0; i < config_errors->len; i++)
            fprintf(stderr, "groupd: %s\n", (char *)config_errors->pdata[i]);
        fprintf(stderr, "groupd: refusing to start with a bad configuration\n");
        return 1;
    }
    if (rcvbuf == 0)
        rcvbuf = config->daemon.netlink_receive_buffer;
    gint64 admin_gid = -1;
    const char *admin = admin_group ? admin_group : config->daemon.admin_group;
    if (admin && *admin) {
        struct group *gr = getgrnam(admin);
        if (gr)
            admin_gid = gr->gr_gid;
        else if (admin_group) {
            fprintf(stderr, "groupd: no such Unix group \"%s\"\n", admin_group);
            gd_config_free(config);
            return 2;
        } else
            g_message("admin group \"%s\" does not exist: only root may change links", admin);
    }

    unsigned features = 0;
    r = gd_nl_probe_features(&features);
    if (r < 0)
        g_warning("probing the kernel's group features: %s; using none", g_strerror(-r));
    features &= ~ignored_features;
    g_auto(GStrv) feature_names = gd_nl_feature_names(features);
    g_autofree char *feature_list = g_strjoinv(" ", feature_names);
    g_message("kernel group features: %s", *feature_list ? feature_list : "none (stock kernel)");

    Daemon daemon = {.loop = g_main_loop_new(NULL, FALSE)};
    g_autoptr(GdExecutor) executor = NULL;
    r = gd_executor_new(request_rcvbuf, &executor);
    if (r < 0) {
        g_critical("opening the netlink request socket: %s", g_strerror(-r));
        return 1;
    }
    r = gd_cache_open((int)rcvbuf, cache_changed_cb, &daemon, &daemon.cache);
    if (r < 0) {
        g_critical("reading links from the kernel: %s", g_strerror(-r));
        return 1;
    }
    gd_cache_set_kernel_features(daemon.cache, features);
    r = gd_mp_manager_new(daemon.cache, mptcp_changed_cb, mptcp_active_cb, &daemon, &daemon.mptcp);
    if (r < 0) {
        g_critical("opening the MPTCP and route sockets: %s", g_strerror(-r));
        gd_cache_free(daemon.cache);
        return 1;
    }
    /* Capabilities are per thread: drop them before GDBus, GTask and the
     * signal sources start any. */
    drop_capabilities();
    g_autoptr(GDBusConnection) conn =
        connect_bus(bus_address, bus_kind ? bus_kind : "system", &error);
    if (!conn) {
        g_critical("connecting to the bus: %s", error->message);
        gd_mp_manager_free(daemon.mptcp);
        gd_cache_free(daemon.cache);
        return 1;
    }
    g_dbus_connection_set_exit_on_close(conn, FALSE);

    const GdBusOptions options = {
        .version = GROUPD_VERSION,
        .skip_validation = skip_validation,
        .admin_gid = admin_gid,
        .max_pending = 64,
    };
    /* One runner for every operation, whoever asks: calls and applies queue
     * behind each other in the executor, in order. */
    g_autoptr(GdRunner) runner = gd_runner_new(daemon.cache, executor);
    gd_runner_force_path(runner, forced_path);
    gd_runner_keep_default_costs(runner, default_costs);
    if (default_costs)
        g_warning("--test-default-costs: the kernel path is chosen from the default costs alone");
    if (forced_path != GD_KPATH_AUTO)
        g_message("kernel path: %s wherever an operation can take it", gd_kpath_name(forced_path));
    daemon.engine =
        gd_engine_new(daemon.cache, runner, names, config_root, config, engine_changed_cb, &daemon);
    daemon.bus = gd_bus_new(conn, daemon.cache, runner, names, daemon.engine, &options);
    gd_bus_mptcp_export(daemon.bus, daemon.mptcp);
    gd_log_set_group_namer(group_name_cb, &daemon);
    /* One file per network namespace: instances in other namespaces may
     * share the runtime directory. */
    struct stat netns_stat = {0};
    stat("/proc/self/ns/net", &netns_stat);
    g_autofree char *mptcp_state_name =
        g_strdup_printf("run/groupd/mptcp-endpoints.%lu", (unsigned long)netns_stat.st_ino);
    g_autofree char *mptcp_state =
        g_build_filename(config_root && *config_root ? config_root : "/", mptcp_state_name, NULL);
    gd_mp_manager_set_state_file(daemon.mptcp, mptcp_state);
    gd_mp_manager_set_config(daemon.mptcp, gd_engine_config(daemon.engine));
    /* Who else manages the links: NetworkManager on this bus, networkd's
     * files under the root. */
    daemon.peers = gd_peers_new(conn, config_root,
                                gd_engine_daemon_config(daemon.engine)->manager_restart_msec,
                                peers_changed_cb, &daemon);
    gd_engine_set_peers(daemon.engine, gd_peers_lookup, daemon.peers);
    gd_bus_set_peers(daemon.bus, gd_peers_lookup, daemon.peers);
    gd_mp_manager_set_peers(daemon.mptcp, gd_peers_lookup, daemon.peers);
    daemon.settle_timer = g_timeout_add(PEERS_SETTLE_MSEC, settle_timeout_cb, &daemon);
    guint owner = g_bus_own_name_on_connection(conn, GD_BUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                               name_acquired_cb, name_lost_cb, &daemon, NULL);

    g_unix_signal_add(SIGTERM, quit_cb, &daemon);
    g_unix_signal_add(SIGINT, quit_cb, &daemon);
    g_unix_signal_add(SIGHUP, reload_cb, &daemon);
    guint64 watchdog_usec = 0;
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0)
        g_timeout_add((guint)(watchdog_usec / 2000), watchdog_cb, NULL);

    g_main_loop_run(daemon.loop);

    g_bus_unown_name(owner);
    /* Answer every caller before the objects that answer them go. */
    gd_executor_shutdown(executor);
    gd_log_set_group_namer(NULL, NULL);
    gd_bus_mptcp_unexport(daemon.bus);
    g_clear_handle_id(&daemon.settle_timer, g_source_remove);
    gd_bus_set_peers(daemon.bus, NULL, NULL);
    g_clear_pointer(&daemon.bus, gd_bus_free);
    g_clear_pointer(&daemon.mptcp, gd_mp_manager_free);
    g_clear_pointer(&daemon.engine, gd_engine_free);
    g_clear_pointer(&daemon.peers, gd_peers_free);
    g_dbus_connection_flush_sync(conn, NULL, NULL);
    g_clear_pointer(&runner, gd_runner_free);
    g_clear_pointer(&executor, gd_executor_free);
    gd_cache_free(daemon.cache);
    g_main_loop_unref(daemon.loop);
    return daemon.exit_code;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/mptcp/manager.c and kernel.c without a kernel: the manager on the
 * fake platform (an in-memory path manager, sysctls, routes and a clock
 * the test moves), over a detached cache fed with rtnetlink messages.
 * Each test plays a scenario the integration tests play against the real
 * kernel, and checks what the manager asked of the kernel, what it shows
 * and what it logged. */
#include <netinet/in.h>

#include "mptcp-fake-platform.h"
#include "mptcp-fixtures.h"
#include "mptcp/mptcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <libmnl/libmnl.h>
#include <linux/mptcp.h>
#include <string.h>
#include <unistd.h>

#define DOMAIN "groupd-mptcp"

enum { WIFI = 10, CELL = 20, VPN = 40, WLAN0 = 3, WWAN0 = 4, TUN0 = 5 };

static const char *const groups_files[] = {
    "10-wifi.group", "[Group]\nId=10\nName=wifi\n[Match]\nName=wlan*\n[MPTCP]\n", "20-cell.group",
    "[Group]\nId=20\nName=cellular\n[Match]\nName=wwan*\n[MPTCP]\n", NULL};

typedef struct {
    GdCache *cache;
    FakePlatform *f;
    GdMpManager *m;
    GdConfig *config;
    char *dir;
    char *state_path;
    guint changed;
    GString *switches; /* "none→wifi (reason)\n"… */
} Fx;

static void changed_cb(GdMpManager *m, gpointer data)
{
    ((Fx *)data)->changed++;
}

static void active_cb(GdMpManager *m, gboolean has, uint32_t group, gboolean had, uint32_t previous,
                      const char *reason, gpointer data)
{
    Fx *fx = data;
    g_string_append_printf(fx->switches, "%s→%s (%s)\n",
                           had ? (previous == WIFI ? "wifi" : "cellular") : "none",
                           has ? (group == WIFI ? "wifi" : "cellular") : "none", reason);
}

/* Runs what the manager scheduled (reconciles, change notifications). */
static void settle(void)
{
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

/* The manager's warnings, checked in order against what a test expects:
 * an unexpected one fails the test at its next check. */
static GPtrArray *warnings, *expected_warnings;

static void log_cb(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
    if (level & G_LOG_LEVEL_WARNING)
        g_ptr_array_add(warnings, g_strdup(message));
}

static gboolean fatal_cb(const char *domain, GLogLevelFlags level, const char *message,
                         gpointer data)
{
    return !(g_strcmp0(domain, DOMAIN) == 0 && (level & G_LOG_LEVEL_WARNING));
}

#define EXPECT_WARNING(pattern) g_ptr_array_add(expected_warnings, g_strdup(pattern))

static void assert_warnings(void)
{
    for (guint i = 0; i < MAX(warnings->len, expected_warnings->len); i++) {
        const char *seen = i < warnings->len ? warnings->pdata[i] : "(nothing)";
        const char *want = i < expected_warnings->len ? expected_warnings->pdata[i] : "(nothing)";
        if (!g_pattern_match_simple(want, seen))
            g_assert_cmpstr(seen, ==, want);
    }
    g_ptr_array_set_size(warnings, 0);
    g_ptr_array_set_size(expected_warnings, 0);
}

/* The kernel announces link ifindex: up/carrier as flags. */
static void put_link(Fx *fx, int ifindex, const char *name, uint32_t group, gboolean up,
                     gboolean carrier)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = gd_nl_put_link_set_group(buf, 0, ifindex, group);
    struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    ifi->ifi_flags = (up ? IFF_UP : 0) | (carrier ? IFF_LOWER_UP : 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    mnl_attr_put_u8(nlh, IFLA_CARRIER, carrier);
    g_assert_cmpint(gd_cache_apply_message(fx->cache, nlh), ==, 0);
}

static void address(Fx *fx, uint16_t type, int ifindex, const char *cidr)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    GdNlAddr a = fx_addr(cidr, 0, 0);
    a.ifindex = ifindex;
    g_assert_cmpint(gd_cache_apply_message(fx->cache, gd_nl_put_addr(buf, 0, type, &a)), ==, 0);
}

/* The sysctls as a distribution leaves them (path, value pairs), and the
 * links' types. */
static const char *const distribution_sysctls[] = {
    "net/mptcp/stale_loss_cnt", "4", "net/ipv4/conf/all/rp_filter", "1",
    "net/ipv4/conf/wlan0/rp_filter", "1", "net/ipv4/conf/wwan0/rp_filter", "0",
    "net/ipv4/conf/tun0/rp_filter", "2",
    /* systemd's: every group may ping */
    GD_MP_SYSCTL_PING_RANGE, "0\t2147483647", NULL};

static void distribution_defaults(FakePlatform *f)
{
    for (guint i = 0; distribution_sysctls[i]; i += 2)
        g_hash_table_insert(f->sysctls, g_strdup(distribution_sysctls[i]),
                            g_strdup(distribution_sysctls[i + 1]));
    g_hash_table_insert(f->link_types, g_strdup("wlan0"), g_strdup("wlan"));
    g_hash_table_insert(f->link_types, g_strdup("wwan0"), g_strdup("wwan"));
}

static GdConfig *load(const char *conf, const char *const *groups)
{
    return fx_load(conf, groups ? groups : groups_files);
}

/* Loads conf (and groups, NULL: wifi and cellular) and hands it over. */
static void configure(Fx *fx, const char *conf, const char *const *groups)
{
    g_clear_pointer(&fx->config, gd_config_free);
    fx->config = load(conf, groups);
    gd_mp_manager_set_config(fx->m, fx->config);
    settle();
}

/* wlan0 in wifi and wwan0 in cellular, up with an address each; the
 * sysctls as a distribution leaves them; the manager configured. */
static void fx_setup(Fx *fx, const char *conf, const char *const *groups)
{
    memset(fx, 0, sizeof(*fx));
    /* GTest resets this before each test. */
    g_test_log_set_fatal_handler(fatal_cb, NULL);
    fx->switches = g_string_new(NULL);
    fx->cache = gd_cache_new_detached();
    fx->f = fake_platform_new(TRUE);
    distribution_defaults(fx->f);
    put_link(fx, WLAN0, "wlan0", WIFI, TRUE, TRUE);
    put_link(fx, WWAN0, "wwan0", CELL, TRUE, TRUE);
    address(fx, RTM_NEWADDR, WLAN0, "10.1.0.2/24");
    address(fx, RTM_NEWADDR, WWAN0, "10.2.0.2/24");
    fx->m = gd_mp_manager_new_on(fx->cache, &fx->f->base, changed_cb, active_cb, fx);
    g_autoptr(GError) error = NULL;
    fx->dir = g_dir_make_tmp("groupd-mptcp-state-XXXXXX", &error);
    g_assert_no_error(error);
    fx->state_path = g_build_filename(fx->dir, "run", "mptcp-endpoints", NULL);
    gd_mp_manager_set_state_file(fx->m, fx->state_path);
    if (conf)
        configure(fx, conf, groups);
}

static void fx_teardown(Fx *fx)
{
    assert_warnings();
    gd_mp_manager_free(fx->m);
    gd_cache_free(fx->cache);
    gd_config_free(fx->config);
    g_remove(fx->state_path);
    g_autofree char *run = g_path_get_dirname(fx->state_path);
    g_rmdir(run);
    g_rmdir(fx->dir);
    g_free(fx->state_path);
    g_free(fx->dir);
    g_string_free(fx->switches, TRUE);
}

/* The kernel's endpoints: "10.1.0.2 3 subflow; …" in its table's order. */
static char *kernel_endpoints(Fx *fx)
{
    g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < fx->f->endpoints->len; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(fx->f->endpoints, GdMptcpEndpoint, i);
        g_autofree char *addr = gd_mp_pm_addr_format(ep->family, ep->addr);
        g_auto(GStrv) flags = gd_mptcp_flags_names(ep->flags);
        g_autofree char *flag_text = g_strjoinv(",", flags);
        g_ptr_array_add(parts, g_strdup_printf("%s %d %s", addr, ep->ifindex, flag_text));
    }
    g_ptr_array_add(parts, NULL);
    return g_strjoinv("; ", (char **)parts->pdata);
}

#define assert_endpoints(fx, text)                                                                 \
    do {                                                                                           \
        g_autofree char *have_ = kernel_endpoints(fx);                                             \
        g_assert_cmpstr(have_, ==, text);                                                          \
    } while (0)

static uint32_t active_group(Fx *fx)
{
    uint32_t group = 0;
    return gd_mp_manager_active_group(fx->m, &group) ? group : 0;
}

/* One entry of the Health property. */
static const char *health_of(Fx *fx, uint32_t group, const char **reason)
{
    g_autoptr(GArray) health = gd_mp_manager_health(fx->m);
    for (guint i = 0; i < health->len; i++) {
        const GdMptcpHealth *h = &g_array_index(health, GdMptcpHealth, i);
        if (h->group == group) {
            if (reason)
                *reason = h->reason;
            return h->state;
        }
    }
    return NULL;
}

#define FAILOVER_CONF "[MPTCP]\nMode=failover\nPreference=wifi cellular\nHoldDownSec=5\n"
#define BOTH          "10.1.0.2 3 subflow; 10.2.0.2 4 subflow,backup"

static void test_start(void)
{
    Fx fx;
    fx_setup(&fx, FAILOVER_CONF, NULL);
    /* The active group's endpoint, the standby's backup. */
    assert_endpoints(&fx, BOTH);
    g_assert_cmpuint(active_group(&fx), ==, WIFI);
    g_assert_cmpstr(fx.switches->str, ==, "none→wifi (wifi is the first healthy group)\n");
    g_assert_cmpuint(gd_mp_manager_failover_count(fx.m), ==, 1);
    g_assert_cmpuint(fx.changed, >, 0);
    const char *detail;
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "groupd");
    g_assert_cmpstr(detail, ==, "");
    g_assert_cmpstr(gd_mp_manager_last_error(fx.m), ==, "");
    g_assert_cmpint(gd_mp_manager_mode(fx.m), ==, GD_MPTCP_MODE_FAILOVER);
    g_assert_true(gd_mp_manager_group_configured(fx.m, WIFI));
    g_assert_false(gd_mp_manager_group_configured(fx.m, 30));
    g_assert_true(fx.f->watching_routes);
    GdMptcpLimits limits;
    g_assert_true(gd_mp_manager_limits(fx.m, &limits));
    g_assert_cmpuint(limits.subflows, ==, 2);
    g_assert_cmpuint(fake_platform_count(fx.f, MPTCP_PM_CMD_SET_LIMITS), ==, 0);
    g_assert_cmpstr(health_of(&fx, WIFI, NULL), ==, "active");
    g_assert_cmpstr(health_of(&fx, CELL, NULL), ==, "standby");
    g_autoptr(GArray) pref = gd_mp_manager_preference(fx.m);
    g_assert_cmpuint(pref->len, ==, 2);
    g_assert_cmpuint(g_array_index(pref, uint32_t, 0), ==, WIFI);

    /* The sysctls failover needs: stale_loss_cnt, and a loose rp_filter
     * (wwan0's 0 is strict under conf/all=1). */
    g_assert_cmpstr(g_hash_table_lookup(fx.f->sysctls, "net/mptcp/stale_loss_cnt"), ==, "2");
    g_assert_cmpstr(g_hash_table_lookup(fx.f->sysctls, "net/ipv4/conf/wlan0/rp_filter"), ==, "2");
    g_assert_cmpstr(g_hash_table_lookup(fx.f->sysctls, "net/ipv4/conf/wwan0/rp_filter"), ==, "2");
    GPtrArray *changes = gd_mp_manager_sysctl_changes(fx.m);
    g_assert_cmpuint(changes->len, ==, 3);
    const GdMptcpSysctl *first = changes->pdata[0];
    g_assert_cmpstr(first->path, ==, "net/mptcp/stale_loss_cnt");
    g_assert_cmpstr(first->previous, ==, "4");

    /* What the bus shows of them: groupd's, bound, grouped. */
    g_autoptr(GArray) eps = gd_mp_manager_endpoints(fx.m);
    g_assert_cmpuint(eps->len, ==, 2);
    const GdMptcpEndpointInfo *wlan = &g_array_index(eps, GdMptcpEndpointInfo, 0);
    g_assert_true(wlan->owned);
    g_assert_cmpuint(wlan->group, ==, WIFI);
    g_assert_cmpstr(wlan->ifname, ==, "wlan0");

    /* The state file names them for the next start. */
    g_autofree char *state = NULL;
    g_assert_true(g_file_get_contents(fx.state_path, &state, NULL, NULL));
    g_assert_cmpstr(state, ==,
                    "# endpoints groupd made: id address ifindex\n1 10.1.0.2 3\n2 10.2.0.2 4\n");

    /* Nothing changes: a reconcile asks nothing of the kernel. */
    fake_platform_forget_requests(fx.f);
    fake_platform_routes_changed(fx.f);
    settle();
    g_assert_cmpuint(fx.f->requests->len, ==, 0);
    /* The same configuration again is nothing. */
    gd_mp_manager_set_config(fx.m, fx.config);
    g_assert_cmpuint(fx.f->requests->len, ==, 0);
    fx_teardown(&fx);
}

static void test_failover_and_return(void)
{
    Fx fx;
    fx_setup(&fx, FAILOVER_CONF, NULL);
    fake_platform_forget_requests(fx.f);

    /* Carrier loss on wlan0: its endpoint goes first (re-injection), then
     * the cellular one loses backup in place. */
    put_link(&fx, WLAN0, "wlan0", WIFI, TRUE, FALSE);
    settle();
    assert_endpoints(&fx, "10.2.0.2 4 subflow");
    g_assert_cmpuint(fx.f->requests->len, ==, 2);
    g_assert_cmpuint(g_array_index(fx.f->requests, FakeRequest, 0).cmd, ==, MPTCP_PM_CMD_DEL_ADDR);
    g_assert_cmpuint(g_array_index(fx.f->requests, FakeRequest, 1).cmd, ==, MPTCP_PM_CMD_SET_FLAGS);
    g_assert_cmpuint(active_group(&fx), ==, CELL);
    g_assert_true(g_str_has_suffix(fx.switches->str, "wifi→cellular (carrier lost on wlan0)\n"));
    const char *reason = NULL;
    g_assert_cmpstr(health_of(&fx, WIFI, &reason), ==, "down");
    g_assert_cmpstr(reason, ==, "carrier lost on wlan0");
    g_assert_cmpint(fake_platform_next_timer(fx.f), ==, G_MAXINT64);

    /* It comes back: held down 5 s, no endpoint meanwhile (no flapping). */
    put_link(&fx, WLAN0, "wlan0", WIFI, TRUE, TRUE);
    settle();
    g_assert_cmpuint(active_group(&fx), ==, CELL);
    assert_endpoints(&fx, "10.2.0.2 4 subflow");
    g_assert_cmpstr(health_of(&fx, WIFI, &reason), ==, "hold-down");
    g_assert_cmpstr(reason, ==, "recovered; the hold-down ends in 5.0 s");
    g_assert_cmpint(fake_platform_next_timer(fx.f), ==, fx.f->now + SEC(5));
    fake_platform_advance(fx.f, SEC(4));
    settle();
    g_assert_cmpuint(active_group(&fx), ==, CELL);

    /* The hold-down passed: back to wifi, cellular backup again. */
    fake_platform_advance(fx.f, SEC(1));
    settle();
    g_assert_cmpuint(active_group(&fx), ==, WIFI);
    g_assert_true(g_str_has_suffix(fx.switches->str,
                                   "cellular→wifi (wifi recovered (hold-down 5.0 s passed))\n"));
    assert_endpoints(&fx, "10.2.0.2 4 subflow,backup; 10.1.0.2 3 subflow");
    g_assert_cmpuint(gd_mp_manager_failover_count(fx.m), ==, 3);

    /* Flapping: three more failures within the window double the hold-down. */
    for (guint i = 0; i < 3; i++) {
        put_link(&fx, WLAN0, "wlan0", WIFI, TRUE, FALSE);
        settle();
        put_link(&fx, WLAN0, "wlan0", WIFI, TRUE, TRUE);
        settle();
        fake_platform_advance(fx.f, fake_platform_next_timer(fx.f) - fx.f->now);
        settle();
    }
    put_link(&fx, WLAN0, "wlan0", WIFI, TRUE, FALSE);
    settle();
    put_link(&fx, WLAN0, "wlan0", WIFI, TRUE, TRUE);
    settle();
    g_assert_cmpint(fake_platform_next_timer(fx.f) - fx.f->now, ==, SEC(20));
    fx_teardown(&fx);
}

static GdMptcpEvent event(uint8_t type, uint32_t token, const char *saddr, int ifindex)
{
    GdMptcpEvent ev = {.type = type, .token = token, .ifindex = ifindex, .backup = -1};
    if (saddr) {
        ev.family = AF_INET;
        g_assert_cmpint(inet_pton(AF_INET, saddr, ev.saddr), ==, 1);
        g_assert_cmpint(inet_pton(AF_INET, "10.9.0.1", ev.daddr), ==, 1);
        ev.sport = 40000 + (uint16_t)ifindex;
        ev.dport = 80;
    }
    return ev;
}

static void send_event(Fx *fx, uint8_t type, uint32_t token, const char *saddr, int ifindex)
{
    GdMptcpEvent ev = event(type, token, saddr, ifindex);
    fake_platform_event(fx->f, &ev);
    settle();
}

static void test_power_save(void)
{
    Fx fx;
    fx_setup(&fx, "[MPTCP]\nMode=power-save\nPreference=wifi cellular\nHoldDownSec=5\n", NULL);
    /* Only the active group has endpoints. */
    assert_endpoints(&fx, "10.1.0.2 3 subflow");
    send_event(&fx, MPTCP_EVENT_CREATED, 1, "10.1.0.2", 0);
    send_event(&fx, MPTCP_EVENT_ESTABLISHED, 1, "10.1.0.2", 0);
    g_autoptr(GPtrArray) conns = gd_mp_manager_connections(fx.m);
    g_assert_cmpuint(conns->len, ==, 1);
    const GdMptcpConnection *c = conns->pdata[0];
    g_assert_cmpstr(((GdMptcpSubflow *)c->subflows->pdata[0])->interface, ==, "wlan0");

    /* Failover() to a healthy group: make before break — wifi keeps its
     * endpoint until the connection has a subflow on cellular. */
    g_assert_cmpint(gd_mp_manager_failover(fx.m, FALSE, 0), ==, 0);
    settle();
    g_assert_cmpuint(active_group(&fx), ==, CELL);
    assert_endpoints(&fx, "10.1.0.2 3 subflow; 10.2.0.2 4 subflow");
    send_event(&fx, MPTCP_EVENT_SUB_ESTABLISHED, 1, "10.2.0.2", WWAN0);
    assert_endpoints(&fx, "10.2.0.2 4 subflow");
    g_assert_cmpstr(health_of(&fx, WIFI, NULL), ==, "hold-down");
    /* The kernel closes the subflow of the deleted endpoint. */
    send_event(&fx, MPTCP_EVENT_SUB_CLOSED, 1, "10.1.0.2", 0);

    /* Back to wifi by force; no subflow comes: it goes at the deadline. */
    g_assert_cmpint(gd_mp_manager_failover(fx.m, TRUE, WIFI), ==, 0);
    settle();
    g_assert_cmpuint(active_group(&fx), ==, WIFI);
    assert_endpoints(&fx, "10.2.0.2 4 subflow; 10.1.0.2 3 subflow");
    fake_platform_advance(fx.f, GD_MP_ACTIVE_SWITCH_SETTLE_MAX_MSEC * 1000 - 1);
    settle();
    assert_endpoints(&fx, "10.2.0.2 4 subflow; 10.1.0.2 3 subflow");
    fake_platform_advance(fx.f, 1);
    settle();
    assert_endpoints(&fx, "10.1.0.2 3 subflow");

    /* Aggregate: every group, no active one; off: groupd's endpoints go. */
    g_assert_cmpint(gd_mp_manager_set_mode(fx.m, GD_MPTCP_MODE_AGGREGATE), ==, 0);
    settle();
    g_assert_cmpuint(active_group(&fx), ==, 0);
    g_assert_true(g_str_has_suffix(fx.switches->str, "wifi→none (aggregate mode)\n"));
    /* Cellular is still held down after it was left. */
    assert_endpoints(&fx, "10.1.0.2 3 subflow");
    fake_platform_advance(fx.f, fake_platform_next_timer(fx.f) - fx.f->now);
    settle();
    assert_endpoints(&fx, "10.1.0.2 3 subflow; 10.2.0.2 4 subflow");
    g_assert_cmpint(gd_mp_manager_set_mode(fx.m, GD_MPTCP_MODE_AGGREGATE), ==, 0);
    g_assert_cmpint(gd_mp_manager_failover(fx.m, FALSE, 0), ==, -EHOSTUNREACH);
    g_assert_cmpint(gd_mp_manager_set_mode(fx.m, GD_MPTCP_MODE_OFF), ==, 0);
    settle();
    assert_endpoints(&fx, "");
    const char *detail;
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "none");
    send_event(&fx, MPTCP_EVENT_CLOSED, 1, NULL, 0);
    g_autoptr(GPtrArray) none = gd_mp_manager_connections(fx.m);
    g_assert_cmpuint(none->len, ==, 0);
    fx_teardown(&fx);
}

static void test_owners(void)
{
    /* Another path manager runs: groupd leaves the endpoints and sysctls. */
    Fx fx;
    fx_setup(&fx, NULL, NULL);
    fx.f->listener = g_strdup("mptcpd runs in this network namespace (pid 77)");
    EXPECT_WARNING("mptcp: not managing endpoints: mptcpd runs in this network namespace (pid "
                   "77); set [MPTCP] Owner=groupd to take over");
    configure(&fx, FAILOVER_CONF, NULL);
    assert_warnings();
    const char *detail;
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "mptcpd");
    assert_endpoints(&fx, "");
    g_assert_cmpuint(active_group(&fx), ==, 0);
    g_assert_cmpstr(g_hash_table_lookup(fx.f->sysctls, "net/mptcp/stale_loss_cnt"), ==, "4");
    g_assert_cmpint(gd_mp_manager_failover(fx.m, FALSE, 0), ==, -EHOSTUNREACH);
    /* It went away. */
    g_clear_pointer(&fx.f->listener, g_free);
    fake_platform_routes_changed(fx.f);
    settle();
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "groupd");
    assert_endpoints(&fx, BOTH);

    /* NetworkManager, seen by the bus: groupd stands down, leaving what is
     * there; back when it goes. */
    EXPECT_WARNING("mptcp: not managing endpoints: NM is on the bus; set [MPTCP] Owner=groupd "
                   "to take over");
    gd_mp_manager_set_external_owner(fx.m, "NetworkManager", "NM is on the bus");
    gd_mp_manager_set_external_owner(fx.m, "NetworkManager", "NM is on the bus");
    settle();
    assert_warnings();
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "NetworkManager");
    g_assert_cmpuint(active_group(&fx), ==, 0);
    assert_endpoints(&fx, BOTH);
    gd_mp_manager_set_external_owner(fx.m, NULL, NULL);
    settle();
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "groupd");
    g_assert_cmpuint(active_group(&fx), ==, WIFI);

    /* groupd deleted its endpoint (id 1); the kernel gives the id to the
     * next endpoint someone adds, which is not groupd's. */
    put_link(&fx, WLAN0, "wlan0", WIFI, TRUE, FALSE);
    settle();
    g_assert_cmpuint(fake_platform_add_endpoint(fx.f, "10.9.0.1", 0, GD_MPTCP_FLAG_SIGNAL), ==, 1);
    EXPECT_WARNING("mptcp: not managing endpoints: endpoint 10.9.0.1 [signal] (id 1) was not made "
                   "by groupd; *");
    fake_platform_routes_changed(fx.f);
    settle();
    assert_warnings();
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "foreign-endpoints");
    fx_teardown(&fx);

    /* An endpoint groupd did not make: foreign-endpoints. */
    fx_setup(&fx, NULL, NULL);
    fake_platform_add_endpoint(fx.f, "10.9.0.1", 0, GD_MPTCP_FLAG_SIGNAL);
    fake_platform_add_endpoint(fx.f, "10.1.0.2", WLAN0, GD_MPTCP_FLAG_SIGNAL);
    EXPECT_WARNING("mptcp: not managing endpoints: endpoint 10.9.0.1 [signal] (id 1) was not made "
                   "by groupd; set [MPTCP] Owner=groupd to take over");
    configure(&fx, FAILOVER_CONF, NULL);
    assert_warnings();
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "foreign-endpoints");
    g_assert_cmpuint(fx.f->requests->len, ==, 0);
    g_autoptr(GArray) eps = gd_mp_manager_endpoints(fx.m);
    g_assert_false(g_array_index(eps, GdMptcpEndpointInfo, 1).owned);
    fx_teardown(&fx);

    /* Owner=groupd over the same: none is wanted, one flush. */
    fx_setup(&fx, NULL, NULL);
    fake_platform_add_endpoint(fx.f, "10.9.0.1", 0, GD_MPTCP_FLAG_SIGNAL);
    fake_platform_add_endpoint(fx.f, "10.1.0.2", WLAN0, GD_MPTCP_FLAG_SIGNAL);
    configure(&fx, FAILOVER_CONF "Owner=groupd\n", NULL);
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "groupd");
    g_assert_cmpuint(fake_platform_count(fx.f, MPTCP_PM_CMD_FLUSH_ADDRS), ==, 1);
    g_assert_cmpuint(fake_platform_count(fx.f, MPTCP_PM_CMD_DEL_ADDR), ==, 0);
    assert_endpoints(&fx, BOTH);
    fx_teardown(&fx);

    /* What groupd would make, made by someone else: taken as groupd's, its
     * backup flag put right in place. */
    fx_setup(&fx, NULL, NULL);
    fake_platform_add_endpoint(fx.f, "10.1.0.2", WLAN0,
                               GD_MPTCP_FLAG_SUBFLOW | GD_MPTCP_FLAG_BACKUP);
    configure(&fx, FAILOVER_CONF, NULL);
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "groupd");
    g_assert_cmpuint(fake_platform_count(fx.f, MPTCP_PM_CMD_SET_FLAGS), ==, 1);
    g_assert_cmpuint(fake_platform_count(fx.f, MPTCP_PM_CMD_ADD_ADDR), ==, 1);
    assert_endpoints(&fx, BOTH);
    fx_teardown(&fx);
}

static void test_refusals(void)
{
    Fx fx;
    fx_setup(&fx, NULL, NULL);
    fx.f->fail_cmd = MPTCP_PM_CMD_ADD_ADDR;
    fx.f->fail_errno = EEXIST;
    fx.f->fail_extack = g_strdup("address already in use");
    EXPECT_WARNING("mptcp: cannot add endpoint 10.1.0.2 dev wlan0 [subflow]: address already in "
                   "use (tried again in 1 s)");
    EXPECT_WARNING("mptcp: cannot add endpoint 10.2.0.2 dev wwan0 [subflow backup]: address "
                   "already in use (tried again in 1 s)");
    configure(&fx, FAILOVER_CONF, NULL);
    assert_warnings();
    const char *both_refused =
        "cannot add endpoint 10.1.0.2 dev wlan0 [subflow]: address already in use; "
        "cannot add endpoint 10.2.0.2 dev wwan0 [subflow backup]: address already in use";
    g_assert_cmpstr(gd_mp_manager_last_error(fx.m), ==, both_refused);
    g_assert_cmpuint(fake_platform_count(fx.f, MPTCP_PM_CMD_ADD_ADDR), ==, 2);
    fake_platform_forget_requests(fx.f);
    /* Tried again after 1 s, 2 s, 4 s… at most 60 s apart, logged once,
     * shown all along. */
    const int waits[] = {1, 2, 4, 8, 16, 32, 60, 60};
    for (guint i = 0; i < G_N_ELEMENTS(waits); i++) {
        g_assert_cmpint(fake_platform_next_timer(fx.f), ==, fx.f->now + SEC(waits[i]));
        /* Something else happens meanwhile: nothing is asked again early. */
        fake_platform_routes_changed(fx.f);
        settle();
        g_assert_cmpuint(fake_platform_count(fx.f, MPTCP_PM_CMD_ADD_ADDR), ==, 0);
        g_assert_cmpstr(gd_mp_manager_last_error(fx.m), ==, both_refused);
        fake_platform_advance(fx.f, SEC(waits[i]));
        settle();
        g_assert_cmpuint(fake_platform_count(fx.f, MPTCP_PM_CMD_ADD_ADDR), ==, 2);
        fake_platform_forget_requests(fx.f);
        g_assert_cmpstr(gd_mp_manager_last_error(fx.m), ==, both_refused);
        assert_warnings();
    }
    /* Once it works, LastError clears. */
    fx.f->fail_cmd = -1;
    fake_platform_advance(fx.f, SEC(60));
    settle();
    assert_endpoints(&fx, BOTH);
    g_assert_cmpstr(gd_mp_manager_last_error(fx.m), ==, "");
    g_assert_cmpint(fake_platform_next_timer(fx.f), ==, G_MAXINT64);

    /* Without the kernel's message, the errno's. */
    fx.f->fail_cmd = MPTCP_PM_CMD_DEL_ADDR;
    fx.f->fail_errno = EPERM;
    g_clear_pointer(&fx.f->fail_extack, g_free);
    EXPECT_WARNING("mptcp: cannot delete endpoint 10.1.0.2 dev wlan0 [subflow]: Operation not "
                   "permitted (tried again in 1 s)");
    put_link(&fx, WLAN0, "wlan0", WIFI, FALSE, TRUE);
    settle();
    assert_warnings();
    g_assert_cmpuint(active_group(&fx), ==, CELL);
    fx.f->fail_cmd = -1;

    /* Sysctls it cannot read or write. */
    g_hash_table_remove(fx.f->sysctls, "net/mptcp/stale_loss_cnt");
    g_hash_table_insert(fx.f->sysctls, g_strdup("net/ipv4/conf/wwan0/rp_filter"), g_strdup("1"));
    g_hash_table_add(fx.f->read_only, g_strdup("net/ipv4/conf/wwan0/rp_filter"));
    EXPECT_WARNING("mptcp: cannot read sysctl net/mptcp/stale_loss_cnt: No such file or directory");
    EXPECT_WARNING("mptcp: cannot set sysctl net/ipv4/conf/wwan0/rp_filter=2: Permission denied");
    fake_platform_routes_changed(fx.f);
    settle();
    assert_warnings();
    g_assert_true(g_str_has_prefix(gd_mp_manager_last_error(fx.m),
                                   "cannot read sysctl net/mptcp/stale_loss_cnt"));
    /* The same problems again: shown, not logged again. */
    fake_platform_routes_changed(fx.f);
    settle();
    assert_warnings();
    g_assert_true(g_str_has_prefix(gd_mp_manager_last_error(fx.m),
                                   "cannot read sysctl net/mptcp/stale_loss_cnt"));

    /* The endpoints cannot be read: nothing is decided, tried again. */
    fx.f->dump_errno = EIO;
    fake_platform_forget_requests(fx.f);
    put_link(&fx, WLAN0, "wlan0", WIFI, TRUE, TRUE);
    settle();
    g_assert_cmpuint(fx.f->requests->len, ==, 0);
    g_assert_cmpint(fake_platform_next_timer(fx.f), ==, fx.f->now + SEC(1));
    fx_teardown(&fx);

    /* Limits: set outside a reconcile, a refusal is LastError at once. */
    fx_setup(&fx, NULL, NULL);
    fx.f->fail_cmd = MPTCP_PM_CMD_SET_LIMITS;
    fx.f->fail_errno = EINVAL;
    fx.f->fail_extack = g_strdup("limit greater than maximum");
    EXPECT_WARNING("mptcp: cannot set limits: limit greater than maximum");
    fx.config = load(FAILOVER_CONF "Subflows=4\nAddAddrAccepted=1\n", NULL);
    gd_mp_manager_set_config(fx.m, fx.config);
    assert_warnings();
    g_assert_cmpstr(gd_mp_manager_last_error(fx.m), ==,
                    "cannot set limits: limit greater than maximum");
    settle();
    g_assert_cmpstr(gd_mp_manager_last_error(fx.m), ==, "");
    fx_teardown(&fx);

    fx_setup(&fx, FAILOVER_CONF "Subflows=4\nAddAddrAccepted=1\n", NULL);
    GdMptcpLimits limits;
    g_assert_true(gd_mp_manager_limits(fx.m, &limits));
    g_assert_cmpuint(limits.subflows, ==, 4);
    g_assert_cmpuint(limits.add_addr_accepted, ==, 1);
    fx_teardown(&fx);
}

static void test_too_many(void)
{
    Fx fx;
    fx_setup(&fx, NULL, NULL);
    for (int i = 3; i <= 10; i++) {
        g_autofree char *cidr = g_strdup_printf("10.1.0.%d/24", i);
        address(&fx, RTM_NEWADDR, WLAN0, cidr);
    }
    EXPECT_WARNING("mptcp: 10 endpoints wanted, the kernel keeps at most 8; left out: endpoint "
                   "10.1.0.10 dev wlan0 [subflow], endpoint 10.2.0.2 dev wwan0 [subflow backup]");
    configure(&fx, FAILOVER_CONF, NULL);
    assert_warnings();
    g_assert_cmpuint(fx.f->endpoints->len, ==, 8);
    g_assert_true(g_str_has_prefix(gd_mp_manager_last_error(fx.m), "10 endpoints wanted"));
    fx_teardown(&fx);
}

static void test_stall(void)
{
    Fx fx;
    fx_setup(&fx, FAILOVER_CONF, NULL);
    g_assert_cmpuint(fx.f->subflow_links->len, ==, 0);
    send_event(&fx, MPTCP_EVENT_CREATED, 1, "10.1.0.2", 0);
    /* A connection: the active group's links are watched. */
    g_assert_cmpuint(fx.f->subflow_links->len, ==, 1);
    g_assert_cmpint(g_array_index(fx.f->subflow_links, int, 0), ==, WLAN0);
    g_assert_cmpuint(fx.f->subflow_interval, ==, 100);

    EXPECT_WARNING("mptcp: group 10: subflows stalled on wlan0 (no ACK for 300 ms)");
    fake_platform_stalled(fx.f, WLAN0, "no ACK for 300 ms");
    fake_platform_stalled(fx.f, WLAN0, "again"); /* already stalled: nothing */
    fake_platform_stalled(fx.f, 99, "no link");  /* unknown link: nothing */
    settle();
    assert_warnings();
    g_assert_cmpuint(active_group(&fx), ==, CELL);
    const char *reason = NULL;
    g_assert_cmpstr(health_of(&fx, WIFI, &reason), ==, "down");
    g_assert_cmpstr(reason, ==, "subflows stalled on wlan0 (no ACK for 300 ms)");
    assert_endpoints(&fx, "10.2.0.2 4 subflow");
    g_assert_cmpint(g_array_index(fx.f->subflow_links, int, 0), ==, WWAN0);

    /* The hold-down passed: a backup probe on wifi; a subflow comes up on
     * it, the stall is over; wifi returns after its hold-down. */
    fake_platform_advance(fx.f, SEC(5));
    settle();
    assert_endpoints(&fx, "10.2.0.2 4 subflow; 10.1.0.2 3 subflow,backup");
    send_event(&fx, MPTCP_EVENT_SUB_ESTABLISHED, 1, "10.1.0.2", WLAN0);
    g_assert_cmpstr(health_of(&fx, WIFI, NULL), ==, "hold-down");
    fake_platform_advance(fx.f, fake_platform_next_timer(fx.f) - fx.f->now);
    settle();
    g_assert_cmpuint(active_group(&fx), ==, WIFI);

    /* Stalled again; the probe's subflow closes: failed, next probe later. */
    EXPECT_WARNING("mptcp: group 10: subflows stalled on wlan0 (x)");
    fake_platform_stalled(fx.f, WLAN0, "x");
    settle();
    assert_warnings();
    gint64 probe = fake_platform_next_timer(fx.f);
    fake_platform_advance(fx.f, probe - fx.f->now);
    settle();
    send_event(&fx, MPTCP_EVENT_SUB_CLOSED, 1, "10.1.0.2", 0);
    g_assert_cmpint(fake_platform_next_timer(fx.f), ==, probe + SEC(5));
    /* The next probe: no subflow comes up in time. */
    fake_platform_advance(fx.f, fake_platform_next_timer(fx.f) - fx.f->now);
    settle();
    assert_endpoints(&fx, "10.2.0.2 4 subflow; 10.1.0.2 3 subflow,backup");
    fake_platform_advance(fx.f, GD_MP_HEALTH_PROBE_TIMEOUT_MSEC * 1000);
    settle();
    assert_endpoints(&fx, "10.2.0.2 4 subflow");
    g_assert_cmpstr(health_of(&fx, WIFI, NULL), ==, "down");

    /* The connection closes: nothing to probe with, the stall is over. */
    send_event(&fx, MPTCP_EVENT_CLOSED, 1, NULL, 0);
    g_assert_cmpuint(fx.f->subflow_links->len, ==, 0);
    fake_platform_advance(fx.f, fake_platform_next_timer(fx.f) - fx.f->now);
    settle();
    g_assert_cmpstr(health_of(&fx, WIFI, NULL), ==, "hold-down");
    fx_teardown(&fx);
}

/* A silent path found by the watch with an address that answers over it:
 * no probe endpoints, echoes over the path until it answers, then the
 * hold-down from that answer. */
static void test_stall_watched_by_echoes(void)
{
    Fx fx;
    fx_setup(&fx, FAILOVER_CONF, NULL);
    send_event(&fx, MPTCP_EVENT_CREATED, 1, "10.1.0.2", 0);
    g_assert_cmpuint(fx.f->probed_paths->len, ==, 0);
    EXPECT_WARNING("mptcp: group 10: subflows stalled on wlan0 (no data for 220 ms, no answer "
                   "from 10.9.0.1 in 120 ms)");
    fake_platform_stalled_at(fx.f, WLAN0, "no data for 220 ms, no answer from 10.9.0.1 in 120 ms",
                             "10.9.0.1");
    settle();
    assert_warnings();
    g_assert_cmpuint(active_group(&fx), ==, CELL);
    assert_endpoints(&fx, "10.2.0.2 4 subflow");
    g_assert_cmpuint(fx.f->probed_paths->len, ==, 1);
    const GdMpPathProbe *p = &g_array_index(fx.f->probed_paths, GdMpPathProbe, 0);
    g_assert_cmpint(p->ifindex, ==, WLAN0);
    g_autofree char *target = gd_mp_pm_addr_format(p->target.family, p->target.addr);
    g_assert_cmpstr(target, ==, "10.9.0.1");

    /* Long after the hold-down: still no probe endpoint, still echoes. */
    fake_platform_advance(fx.f, SEC(30));
    settle();
    assert_endpoints(&fx, "10.2.0.2 4 subflow");
    g_assert_cmpuint(fx.f->probed_paths->len, ==, 1);
    g_assert_cmpstr(health_of(&fx, WIFI, NULL), ==, "down");

    /* An answer over another link changes nothing; over wlan0 it ends the
     * stall, and the hold-down runs from there. */
    fake_platform_path_alive(fx.f, WWAN0);
    fake_platform_path_alive(fx.f, 99);
    settle();
    g_assert_cmpstr(health_of(&fx, WIFI, NULL), ==, "down");
    fake_platform_path_alive(fx.f, WLAN0);
    settle();
    g_assert_cmpstr(health_of(&fx, WIFI, NULL), ==, "hold-down");
    g_assert_cmpuint(fx.f->probed_paths->len, ==, 0);
    gint64 healed = fx.f->now;
    g_assert_cmpint(fake_platform_next_timer(fx.f), ==, healed + SEC(5));
    fake_platform_advance(fx.f, SEC(5));
    settle();
    g_assert_cmpuint(active_group(&fx), ==, WIFI);
    assert_endpoints(&fx, "10.2.0.2 4 subflow,backup; 10.1.0.2 3 subflow");

    /* Stalled again, and the connection closes: once nothing waits for the
     * path, the stall is over after the hold-down. */
    EXPECT_WARNING("mptcp: group 10: subflows stalled on wlan0 (z)");
    fake_platform_stalled_at(fx.f, WLAN0, "z", "10.9.0.1");
    settle();
    assert_warnings();
    fake_platform_advance(fx.f, SEC(20));
    settle();
    g_assert_cmpstr(health_of(&fx, WIFI, NULL), ==, "down");
    send_event(&fx, MPTCP_EVENT_CLOSED, 1, NULL, 0);
    settle();
    g_assert_cmpuint(fx.f->probed_paths->len, ==, 0);
    g_assert_cmpstr(health_of(&fx, WIFI, NULL), ==, "hold-down");
    fx_teardown(&fx);
}

/* The watch's echoes need ping sockets: a range that leaves groupd out is
 * widened when it starts watching, and recorded. */
static void test_ping_range(void)
{
    Fx fx;
    fx_setup(&fx, NULL, NULL);
    g_hash_table_insert(fx.f->sysctls, g_strdup(GD_MP_SYSCTL_PING_RANGE), g_strdup("1\t0"));
    configure(&fx, FAILOVER_CONF, NULL);
    /* Not before there is something to watch. */
    g_assert_cmpstr(g_hash_table_lookup(fx.f->sysctls, GD_MP_SYSCTL_PING_RANGE), ==, "1\t0");
    send_event(&fx, MPTCP_EVENT_CREATED, 1, "10.1.0.2", 0);
    g_autofree char *want = g_strdup_printf("%u %u", (unsigned)getegid(), (unsigned)getegid());
    g_assert_cmpstr(g_hash_table_lookup(fx.f->sysctls, GD_MP_SYSCTL_PING_RANGE), ==, want);
    GPtrArray *changes = gd_mp_manager_sysctl_changes(fx.m);
    gboolean recorded = FALSE;
    for (guint i = 0; i < changes->len; i++) {
        const GdMptcpSysctl *c = changes->pdata[i];
        if (g_str_equal(c->path, GD_MP_SYSCTL_PING_RANGE)) {
            g_assert_cmpstr(c->previous, ==, "1 0");
            g_assert_cmpstr(c->value, ==, want);
            recorded = TRUE;
        }
    }
    g_assert_true(recorded);
    fx_teardown(&fx);
}

/* Two members with one address: one endpoint, and a message naming both,
 * logged once; the kernel is not asked for what it would refuse. */
static void test_shared_address(void)
{
    Fx fx;
    fx_setup(&fx, NULL, NULL);
    put_link(&fx, 6, "wlan1", WIFI, TRUE, TRUE);
    address(&fx, RTM_NEWADDR, 6, "10.1.0.2/24");
    g_hash_table_insert(fx.f->sysctls, g_strdup("net/ipv4/conf/wlan1/rp_filter"), g_strdup("2"));
    const char *text = "wlan1 (group wifi) and wlan0 (group wifi) share the address 10.1.0.2: "
                       "the kernel keeps one MPTCP endpoint per address, wlan1 gets none";
    g_autofree char *warning = g_strdup_printf("mptcp: %s (tried again in 1 s)", text);
    EXPECT_WARNING(warning);
    configure(&fx, FAILOVER_CONF, NULL);
    assert_warnings();
    assert_endpoints(&fx, BOTH);
    g_assert_cmpstr(gd_mp_manager_last_error(fx.m), ==, text);
    /* Still so at the next tries: shown, not logged. */
    for (int i = 0; i < 3; i++) {
        fake_platform_advance(fx.f, fake_platform_next_timer(fx.f) - fx.f->now);
        settle();
        assert_warnings();
        g_assert_cmpstr(gd_mp_manager_last_error(fx.m), ==, text);
    }
    g_assert_cmpuint(fake_platform_count(fx.f, MPTCP_PM_CMD_ADD_ADDR), ==, 2);
    /* wlan1 gets an address of its own: the problem is gone. */
    address(&fx, RTM_DELADDR, 6, "10.1.0.2/24");
    address(&fx, RTM_NEWADDR, 6, "10.1.0.3/24");
    put_link(&fx, 6, "wlan1", WIFI, TRUE, TRUE);
    settle();
    g_assert_cmpstr(gd_mp_manager_last_error(fx.m), ==, "");
    g_assert_cmpint(fake_platform_next_timer(fx.f), ==, G_MAXINT64);
    assert_endpoints(&fx, BOTH "; 10.1.0.3 6 subflow");
    fx_teardown(&fx);
}

static void test_api(void)
{
    Fx fx;
    fx_setup(&fx, FAILOVER_CONF, NULL);
    /* A new order makes cellular first: it is active at once. */
    g_assert_cmpint(gd_mp_manager_set_preference(fx.m, (const uint32_t[]){CELL, WIFI}, 2), ==, 0);
    settle();
    g_assert_cmpuint(active_group(&fx), ==, CELL);
    g_assert_true(g_str_has_suffix(fx.switches->str,
                                   "wifi→cellular (preference changed: cellular comes first)\n"));
    assert_endpoints(&fx, "10.1.0.2 3 subflow,backup; 10.2.0.2 4 subflow");
    g_assert_cmpint(gd_mp_manager_set_preference(fx.m, (const uint32_t[]){WIFI, 30}, 2), ==,
                    -EINVAL);
    g_autoptr(GArray) pref = gd_mp_manager_preference(fx.m);
    g_assert_cmpuint(g_array_index(pref, uint32_t, 0), ==, CELL);

    /* Failover(): to a group that is not there, down or active. */
    g_assert_cmpint(gd_mp_manager_failover(fx.m, TRUE, 30), ==, -ENOENT);
    g_assert_cmpint(gd_mp_manager_failover(fx.m, TRUE, CELL), ==, -EHOSTUNREACH);
    g_assert_cmpint(gd_mp_manager_failover(fx.m, TRUE, WIFI), ==, 0);
    settle();
    g_assert_cmpuint(active_group(&fx), ==, WIFI);
    g_assert_true(g_str_has_suffix(fx.switches->str, "cellular→wifi (forced by Failover())\n"));
    /* Cellular was held down: no backup endpoint until it may return. */
    assert_endpoints(&fx, "10.1.0.2 3 subflow");
    g_assert_cmpint(gd_mp_manager_set_mode(fx.m, GD_MPTCP_MODE_FAILOVER), ==, 0);

    /* A reload drops the overrides and the groups that lost [MPTCP]. */
    const char *only_cell[] = {
        "20-cell.group", "[Group]\nId=20\nName=cellular\n[Match]\nName=wwan*\n[MPTCP]\n",
        "10-wifi.group", "[Group]\nId=10\nName=wifi\n[Match]\nName=wlan*\n", NULL};
    GdConfig *reload = load("[MPTCP]\nMode=failover\n", only_cell);
    gd_mp_manager_set_config(fx.m, reload);
    gd_config_free(fx.config);
    fx.config = reload;
    g_assert_true(g_str_has_suffix(fx.switches->str,
                                   "wifi→none (the group has no [MPTCP] section any more)\n"));
    settle();
    g_assert_false(gd_mp_manager_group_configured(fx.m, WIFI));
    g_assert_cmpuint(active_group(&fx), ==, CELL);
    assert_endpoints(&fx, "10.2.0.2 4 subflow");

    /* Its default route lost: down. */
    g_hash_table_add(fx.f->routes_lost, GINT_TO_POINTER(WWAN0));
    fake_platform_routes_changed(fx.f);
    settle();
    const char *reason = NULL;
    g_assert_cmpstr(health_of(&fx, CELL, &reason), ==, "down");
    g_assert_cmpstr(reason, ==, "default route lost on wwan0");
    g_assert_cmpuint(active_group(&fx), ==, 0);
    assert_endpoints(&fx, "");
    fx_teardown(&fx);
}

static void test_restart(void)
{
    Fx fx;
    fx_setup(&fx, FAILOVER_CONF, NULL);
    g_autoptr(GArray) kernel = g_array_copy(fx.f->endpoints);
    g_autofree char *state_path = g_strdup(fx.state_path);
    /* Killed: the endpoints stay; someone changes one meanwhile. */
    gd_mp_manager_free(fx.m);
    g_array_index(kernel, GdMptcpEndpoint, 1).flags |= GD_MPTCP_FLAG_FULLMESH;

    fx.f = fake_platform_new(TRUE);
    g_array_append_vals(fx.f->endpoints, kernel->data, kernel->len);
    distribution_defaults(fx.f);
    fx.m = gd_mp_manager_new_on(fx.cache, &fx.f->base, changed_cb, active_cb, &fx);
    gd_mp_manager_set_state_file(fx.m, state_path);
    GdConfig *again = load(FAILOVER_CONF, NULL);
    gd_mp_manager_set_config(fx.m, again);
    gd_config_free(fx.config);
    fx.config = again;
    settle();
    /* The state file says they are groupd's: put back, not foreign. */
    const char *detail;
    g_assert_cmpstr(gd_mp_manager_owner(fx.m, &detail), ==, "groupd");
    assert_endpoints(&fx, "10.1.0.2 3 subflow; 10.2.0.2 4 subflow,backup");
    g_autoptr(GArray) eps = gd_mp_manager_endpoints(fx.m);
    g_assert_true(g_array_index(eps, GdMptcpEndpointInfo, 0).owned);
    g_assert_true(g_array_index(eps, GdMptcpEndpointInfo, 1).owned);
    fx_teardown(&fx);
}

static void test_unavailable(void)
{
    GdCache *cache = gd_cache_new_detached();
    FakePlatform *f = fake_platform_new(FALSE);
    GdMpManager *m = gd_mp_manager_new_on(cache, &f->base, NULL, NULL, NULL);
    const char *detail;
    g_assert_cmpstr(gd_mp_manager_owner(m, &detail), ==, "none");
    g_assert_cmpstr(detail, ==, "the kernel has no MPTCP path manager (mptcp_pm)");
    g_autoptr(GdConfig) config = load(FAILOVER_CONF "Subflows=3\n", NULL);
    gd_mp_manager_set_config(m, config);
    settle();
    g_assert_cmpuint(f->requests->len, ==, 0);
    g_assert_false(f->watching_routes);
    g_assert_cmpint(gd_mp_manager_failover(m, FALSE, 0), ==, -EHOSTUNREACH);
    GdMptcpLimits limits;
    g_assert_false(gd_mp_manager_limits(m, &limits));
    gd_mp_manager_free(m);
    gd_cache_free(cache);
}

static void test_always(void)
{
    const char *files[] = {"10-wifi.group",
                           "[Group]\nId=10\nName=wifi\n[Match]\nName=wlan*\n[MPTCP]\n",
                           "40-vpn.group",
                           "[Group]\nId=40\nName=vpn\n[Match]\nName=tun*\n[MPTCP]\nRole=always\n"
                           "Endpoint=signal subflow\n",
                           NULL};
    Fx fx;
    fx_setup(&fx, NULL, NULL);
    put_link(&fx, TUN0, "tun0", VPN, TRUE, TRUE);
    address(&fx, RTM_NEWADDR, TUN0, "10.3.0.2/24");
    configure(&fx, "[MPTCP]\nMode=power-save\nRelaxRpFilter=no\nStaleLossCount=keep\n", files);
    /* Role=always: its endpoints with its flags, whatever the mode. */
    assert_endpoints(&fx, "10.1.0.2 3 subflow; 10.3.0.2 5 signal,subflow");
    g_autoptr(GArray) pref = gd_mp_manager_preference(fx.m);
    g_assert_cmpuint(pref->len, ==, 1);
    g_assert_cmpstr(health_of(&fx, VPN, NULL), ==, "standby");
    /* Neither sysctl is touched. */
    g_assert_cmpuint(gd_mp_manager_sysctl_changes(fx.m)->len, ==, 0);
    /* Its address goes: its endpoint goes. */
    address(&fx, RTM_DELADDR, TUN0, "10.3.0.2/24");
    settle();
    assert_endpoints(&fx, "10.1.0.2 3 subflow");
    g_assert_cmpstr(health_of(&fx, VPN, NULL), ==, "down");
    fx_teardown(&fx);
}

static void test_event_details(void)
{
    Fx fx;
    fx_setup(&fx, FAILOVER_CONF, NULL);
    send_event(&fx, MPTCP_EVENT_CREATED, 5, "10.1.0.2", 0);
    GdMptcpEvent ev = event(MPTCP_EVENT_SUB_ESTABLISHED, 5, "10.2.0.2", WWAN0);
    ev.backup = 0;
    fake_platform_event(fx.f, &ev);
    settle();
    g_autoptr(GPtrArray) conns = gd_mp_manager_connections(fx.m);
    const GdMptcpConnection *c = conns->pdata[0];
    g_assert_cmpuint(c->subflows->len, ==, 2);
    /* Backup from our side: the endpoint is backup, the peer did not ask. */
    const GdMptcpSubflow *s = c->subflows->pdata[1];
    g_assert_cmpstr(s->interface, ==, "wwan0");
    g_assert_true(s->backup && !s->peer_backup);
    /* The peer's addresses are only logged; an unknown event is ignored. */
    guint changed = fx.changed;
    send_event(&fx, MPTCP_EVENT_ANNOUNCED, 5, "10.9.0.2", 0);
    send_event(&fx, MPTCP_EVENT_REMOVED, 5, NULL, 0);
    send_event(&fx, 200, 5, NULL, 0);
    g_assert_cmpuint(fx.changed, ==, changed);
    /* Failover: the subflow on cellular is not backup any more. */
    put_link(&fx, WLAN0, "wlan0", WIFI, TRUE, FALSE);
    settle();
    g_assert_false(s->backup);
    fx_teardown(&fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    warnings = g_ptr_array_new_with_free_func(g_free);
    expected_warnings = g_ptr_array_new_with_free_func(g_free);
    g_log_set_handler(DOMAIN,
                      G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO |
                          G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                      log_cb, NULL);
    g_test_add_func("/mptcp/manager/start", test_start);
    g_test_add_func("/mptcp/manager/failover-and-return", test_failover_and_return);
    g_test_add_func("/mptcp/manager/power-save", test_power_save);
    g_test_add_func("/mptcp/manager/owners", test_owners);
    g_test_add_func("/mptcp/manager/refusals", test_refusals);
    g_test_add_func("/mptcp/manager/too-many", test_too_many);
    g_test_add_func("/mptcp/manager/stall", test_stall);
    g_test_add_func("/mptcp/manager/stall-watched-by-echoes", test_stall_watched_by_echoes);
    g_test_add_func("/mptcp/manager/ping-range", test_ping_range);
    g_test_add_func("/mptcp/manager/shared-address", test_shared_address);
    g_test_add_func("/mptcp/manager/api", test_api);
    g_test_add_func("/mptcp/manager/restart", test_restart);
    g_test_add_func("/mptcp/manager/unavailable", test_unavailable);
    g_test_add_func("/mptcp/manager/always", test_always);
    g_test_add_func("/mptcp/manager/event-details", test_event_details);
    return g_test_run();
}

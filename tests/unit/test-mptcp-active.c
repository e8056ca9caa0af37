/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/mptcp/active.c: the preference order, the choice of the active
 * group (hold-down delays a return but never leaves us without a path),
 * power-save's make-before-break, SetPreference(), Failover(), the Health
 * view and a new configuration. */
#include <netinet/in.h>

#include "mptcp-fixtures.h"

#include <errno.h>
#include <linux/mptcp.h>

enum { WIFI = 10, CELL = 20, ETH = 30, ALWAYS = 40 };

/* wifi (wlan, id 10), cellular (wwan, id 20), all healthy and eligible. */
static GdMpState two_groups(GdMptcpMode mode)
{
    GdMpState st = fx_state(mode);
    g_strlcpy(fx_add(&st, fx_group_healthy(WIFI, "wifi", TRUE))->link_type, "wlan", 32);
    g_strlcpy(fx_add(&st, fx_group_healthy(CELL, "cellular", TRUE))->link_type, "wwan", 32);
    return st;
}

static void assert_order(GArray *order, const uint32_t *expected, guint n)
{
    g_assert_cmpuint(order->len, ==, n);
    for (guint i = 0; i < n; i++)
        g_assert_cmpuint(g_array_index(order, uint32_t, i), ==, expected[i]);
}

static void test_class_rank(void)
{
    const struct {
        const char *type, *link_class;
        int rank;
    } cases[] = {
        {"ether", NULL, 0},
        {"wlan", NULL, 1},
        {"wwan", NULL, 2},
        {"", "wlan", 1},
        {"", "ether", 0},
        {"", NULL, 3},
        /* The link's own type wins over Class=; types that say nothing
         * about the medium leave it to Class=. */
        {"wlan", "wwan", 1},
        {"bridge", "wwan", 2},
        {"ppp", NULL, 3},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GdMpGroup) g = fx_group(1, NULL);
        g_strlcpy(g->link_type, cases[i].type, sizeof(g->link_type));
        g->link_class = g_strdup(cases[i].link_class);
        g_assert_cmpint(gd_mp_active_class_rank(g), ==, cases[i].rank);
    }
}

static void test_preference(void)
{
    GdMpState st = two_groups(GD_MPTCP_MODE_FAILOVER);
    GdMpGroup *eth = fx_add(&st, fx_group_healthy(ETH, "lan", TRUE));
    g_strlcpy(eth->link_type, "ether", 32);
    fx_add(&st, fx_group_healthy(ALWAYS, "vpn", TRUE))->always = TRUE;
    GdMpGroup *other = fx_add(&st, fx_group_healthy(5, "other", TRUE));
    /* Derived: ether, wlan, wwan, unknown; Role=always takes no part. */
    g_autoptr(GArray) derived = gd_mp_active_preference(&st);
    assert_order(derived, (const uint32_t[]){ETH, WIFI, CELL, 5}, 4);
    /* Same rank: by id. */
    g_strlcpy(other->link_type, "wlan", 32);
    g_autoptr(GArray) tie = gd_mp_active_preference(&st);
    assert_order(tie, (const uint32_t[]){ETH, 5, WIFI, CELL}, 4);
    /* Explicit: as given, without unknown groups and Role=always ones. */
    g_assert_cmpint(gd_mp_active_set_preference(&st, (const uint32_t[]){CELL, WIFI}, 2), ==, 0);
    g_array_append_val(st.preference, (uint32_t){ALWAYS});
    g_array_append_val(st.preference, (uint32_t){99});
    g_autoptr(GArray) explicit = gd_mp_active_preference(&st);
    assert_order(explicit, (const uint32_t[]){CELL, WIFI}, 2);
    fx_state_clear(&st);
}

static void test_set_preference(void)
{
    GdMpState st = two_groups(GD_MPTCP_MODE_FAILOVER);
    fx_add(&st, fx_group_healthy(ALWAYS, "vpn", TRUE))->always = TRUE;
    const struct {
        uint32_t groups[3];
        guint n;
        int result;
    } cases[] = {
        {{CELL, WIFI}, 2, 0},
        {{WIFI}, 1, 0},
        {{0}, 0, 0},
        {{WIFI, 99}, 2, -EINVAL},         /* no such [MPTCP] group */
        {{WIFI, ALWAYS}, 2, -EINVAL},     /* Role=always */
        {{WIFI, CELL, WIFI}, 3, -EINVAL}, /* twice */
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GArray) before = gd_mp_active_preference(&st);
        g_assert_cmpint(gd_mp_active_set_preference(&st, cases[i].groups, cases[i].n), ==,
                        cases[i].result);
        g_autoptr(GArray) after = gd_mp_active_preference(&st);
        if (cases[i].result == 0)
            assert_order(after, cases[i].groups, cases[i].n);
        else
            assert_order(after, (const uint32_t *)(void *)before->data, before->len);
    }
    fx_state_clear(&st);
}

/* The choice, from the groups' health and hold-down and what is active. */
static void test_choose(void)
{
    GdMptcpConfig cfg = fx_config();
    const gint64 now = SEC(100);
    const struct {
        GdMptcpMode mode;
        gboolean managed;
        int active;                  /* 0: none */
        gboolean wifi_ok, cell_ok;   /* healthy */
        gint64 wifi_held, cell_held; /* seconds of hold-down left */
        gboolean change;
        int chosen; /* 0: none */
        const char *reason;
    } cases[] = {
        /* Off, aggregate and another owner: no active group. */
        {GD_MPTCP_MODE_OFF, TRUE, WIFI, TRUE, TRUE, 0, 0, TRUE, 0, "mode off"},
        {GD_MPTCP_MODE_AGGREGATE, TRUE, 0, TRUE, TRUE, 0, 0, TRUE, 0, "aggregate mode"},
        {GD_MPTCP_MODE_FAILOVER, FALSE, WIFI, TRUE, TRUE, 0, 0, TRUE, 0,
         "another owner manages the endpoints"},
        /* The first healthy group in order. */
        {GD_MPTCP_MODE_FAILOVER, TRUE, 0, TRUE, TRUE, 0, 0, TRUE, WIFI,
         "wifi is the first healthy group"},
        {GD_MPTCP_MODE_FAILOVER, TRUE, 0, FALSE, TRUE, 0, 0, TRUE, CELL,
         "cellular is the first healthy group"},
        /* The active group is healthy and first: nothing to do. */
        {GD_MPTCP_MODE_FAILOVER, TRUE, WIFI, TRUE, TRUE, 0, 0, FALSE, WIFI, NULL},
        /* Failover: the reason is the failed group's. */
        {GD_MPTCP_MODE_FAILOVER, TRUE, WIFI, FALSE, TRUE, 0, 0, TRUE, CELL,
         "carrier lost on wlan0"},
        /* Return once the hold-down passed... */
        {GD_MPTCP_MODE_POWER_SAVE, TRUE, CELL, TRUE, TRUE, 0, 0, TRUE, WIFI,
         "wifi recovered (hold-down 5.0 s passed)"},
        /* ...not before. */
        {GD_MPTCP_MODE_FAILOVER, TRUE, CELL, TRUE, TRUE, 3, 0, FALSE, CELL, NULL},
        /* A group in hold-down still beats having no path at all. */
        {GD_MPTCP_MODE_FAILOVER, TRUE, CELL, TRUE, FALSE, 3, 0, TRUE, WIFI,
         "carrier lost on wwan0"},
        {GD_MPTCP_MODE_FAILOVER, TRUE, 0, TRUE, TRUE, 3, 2, TRUE, WIFI,
         "wifi is the first healthy group"},
        /* The active group in hold-down (forced there) is kept. */
        {GD_MPTCP_MODE_FAILOVER, TRUE, CELL, TRUE, TRUE, 3, 3, FALSE, CELL, NULL},
        /* Nothing healthy. */
        {GD_MPTCP_MODE_FAILOVER, TRUE, WIFI, FALSE, FALSE, 0, 0, TRUE, 0,
         "no healthy group (carrier lost on wlan0)"},
        {GD_MPTCP_MODE_FAILOVER, TRUE, 0, FALSE, FALSE, 0, 0, TRUE, 0,
         "no healthy group (link change)"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GdMpState st = two_groups(cases[i].mode);
        GdMpGroup *wifi = gd_mp_active_group(&st, WIFI), *cell = gd_mp_active_group(&st, CELL);
        wifi->healthy = cases[i].wifi_ok;
        cell->healthy = cases[i].cell_ok;
        g_free(wifi->reason);
        wifi->reason = g_strdup(cases[i].wifi_ok ? "" : "carrier lost on wlan0");
        g_free(cell->reason);
        cell->reason = g_strdup(cases[i].cell_ok ? "" : "carrier lost on wwan0");
        wifi->eligible_at = now + SEC(cases[i].wifi_held);
        cell->eligible_at = now + SEC(cases[i].cell_held);
        st.has_active = cases[i].active != 0;
        st.active = (uint32_t)cases[i].active;
        g_auto(GdMpChoice) choice;
        gd_mp_active_choose(&st, &cfg, cases[i].managed, now, "link change", &choice);
        g_assert_cmpint(choice.change, ==, cases[i].change);
        g_assert_cmpstr(choice.reason, ==, cases[i].reason);
        if (choice.change) {
            g_assert_cmpint(choice.has, ==, cases[i].chosen != 0);
            g_assert_cmpuint(choice.id, ==, (uint32_t)cases[i].chosen);
        }
        fx_state_clear(&st);
    }
}

static const char *names_of(int ifindex, uint8_t family, const uint8_t *addr, char buf[IFNAMSIZ],
                            gpointer data)
{
    g_strlcpy(buf, ifindex == 3 ? "wlan0" : ifindex == 4 ? "wwan0" : "", IFNAMSIZ);
    return buf;
}

/* A subflow of connection token on link ifindex (3 wlan0, 4 wwan0). */
static void subflow_on(GHashTable *conns, uint32_t token, int ifindex, const char *local)
{
    GdMptcpEvent ev = {.type = MPTCP_EVENT_SUB_ESTABLISHED,
                       .token = token,
                       .family = AF_INET,
                       .ifindex = ifindex,
                       .backup = -1};
    g_autoptr(GArray) none = g_array_new(FALSE, FALSE, sizeof(GdMptcpEndpoint));
    g_assert_true(gd_mp_connections_apply(conns, &ev, local, "10.9.0.1:80", names_of, NULL, none));
}

static void test_set_and_leaving(void)
{
    const gint64 now = SEC(100);
    /* power-save, from a healthy group: it is left only once the new one
     * carries every connection (or at the deadline). */
    GdMpState st = two_groups(GD_MPTCP_MODE_POWER_SAVE);
    const char *v4[] = {"10.2.0.2/24", NULL};
    g_ptr_array_add(gd_mp_active_group(&st, CELL)->members, fx_member(4, "wwan0", FX_OK, v4));
    g_assert_true(gd_mp_active_set(&st, TRUE, WIFI, now));
    g_assert_false(st.has_leaving); /* nothing was active */
    g_assert_false(gd_mp_active_set(&st, TRUE, WIFI, now));
    g_assert_true(gd_mp_active_set(&st, TRUE, CELL, now));
    g_assert_true(st.has_leaving);
    g_assert_cmpuint(st.leaving, ==, WIFI);
    g_assert_cmpint(st.leaving_deadline, ==, now + GD_MP_ACTIVE_SWITCH_SETTLE_MAX_MSEC * 1000);

    g_autoptr(GHashTable) conns = gd_mp_connections_new();
    g_assert_true(gd_mp_active_leaving_done(&st, conns, now)); /* no connection to wait for */
    subflow_on(conns, 1, 3, "10.1.0.2:4000");
    g_assert_false(gd_mp_active_leaving_done(&st, conns, now));
    g_assert_true(gd_mp_active_leaving_done(&st, conns, st.leaving_deadline));
    subflow_on(conns, 1, 4, "10.2.0.2:4001");
    g_assert_true(gd_mp_active_leaving_done(&st, conns, now));
    subflow_on(conns, 2, 3, "10.1.0.2:4002");
    g_assert_false(gd_mp_active_leaving_done(&st, conns, now));
    /* Leaving power-save ends the wait. */
    st.mode = GD_MPTCP_MODE_FAILOVER;
    g_assert_true(gd_mp_active_leaving_done(&st, conns, now));

    /* A switch away from a failed group, or in failover, leaves nothing. */
    st.mode = GD_MPTCP_MODE_POWER_SAVE;
    gd_mp_active_group(&st, CELL)->healthy = FALSE;
    g_assert_true(gd_mp_active_set(&st, TRUE, WIFI, now));
    g_assert_false(st.has_leaving);
    st.mode = GD_MPTCP_MODE_FAILOVER;
    gd_mp_active_group(&st, WIFI)->healthy = TRUE;
    g_assert_true(gd_mp_active_set(&st, TRUE, CELL, now));
    g_assert_false(st.has_leaving);
    g_assert_true(gd_mp_active_set(&st, FALSE, 0, now));
    g_assert_false(st.has_active);
    fx_state_clear(&st);
}

static void test_preferred(void)
{
    const gint64 now = SEC(100);
    const struct {
        uint32_t order[2];
        int active;
        gboolean wifi_ok;
        gint64 wifi_held;
        int preferred;
    } cases[] = {
        {{WIFI, CELL}, CELL, TRUE, 0, WIFI}, {{WIFI, CELL}, CELL, TRUE, 2, 0}, /* in hold-down */
        {{WIFI, CELL}, CELL, FALSE, 0, 0},                                     /* not healthy */
        {{CELL, WIFI}, CELL, TRUE, 0, 0}, /* the active one comes first */
        {{WIFI, CELL}, 0, TRUE, 0, 0},    /* nothing active: the next choice decides */
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GdMpState st = two_groups(GD_MPTCP_MODE_FAILOVER);
        GdMpGroup *wifi = gd_mp_active_group(&st, WIFI);
        wifi->healthy = cases[i].wifi_ok;
        wifi->eligible_at = now + SEC(cases[i].wifi_held);
        g_assert_cmpint(gd_mp_active_set_preference(&st, cases[i].order, 2), ==, 0);
        st.has_active = cases[i].active != 0;
        st.active = (uint32_t)cases[i].active;
        GdMpGroup *g = gd_mp_active_preferred(&st, now);
        g_assert_cmpuint(g ? g->id : 0, ==, (uint32_t)cases[i].preferred);
        fx_state_clear(&st);
    }
}

static void test_failover(void)
{
    GdMptcpConfig cfg = fx_config();
    const gint64 now = SEC(100);
    const struct {
        GdMptcpMode mode;
        gboolean available;
        gboolean has_to;
        uint32_t to;
        gboolean cell_ok;
        int result;
        uint32_t target;
    } cases[] = {
        {GD_MPTCP_MODE_FAILOVER, TRUE, FALSE, 0, TRUE, 0, CELL},
        {GD_MPTCP_MODE_FAILOVER, TRUE, TRUE, CELL, TRUE, 0, CELL},
        {GD_MPTCP_MODE_POWER_SAVE, TRUE, TRUE, CELL, TRUE, 0, CELL},
        {GD_MPTCP_MODE_FAILOVER, TRUE, TRUE, WIFI, TRUE, -EHOSTUNREACH, 0}, /* already active */
        {GD_MPTCP_MODE_FAILOVER, TRUE, TRUE, CELL, FALSE, -EHOSTUNREACH, 0},
        {GD_MPTCP_MODE_FAILOVER, TRUE, FALSE, 0, FALSE, -EHOSTUNREACH, 0},
        {GD_MPTCP_MODE_FAILOVER, TRUE, TRUE, 99, TRUE, -ENOENT, 0},
        {GD_MPTCP_MODE_OFF, TRUE, FALSE, 0, TRUE, -EHOSTUNREACH, 0},
        {GD_MPTCP_MODE_AGGREGATE, TRUE, FALSE, 0, TRUE, -EHOSTUNREACH, 0},
        {GD_MPTCP_MODE_FAILOVER, FALSE, FALSE, 0, TRUE, -EHOSTUNREACH, 0},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GdMpState st = two_groups(cases[i].mode);
        GdMpGroup *wifi = gd_mp_active_group(&st, WIFI), *cell = gd_mp_active_group(&st, CELL);
        cell->healthy = cases[i].cell_ok;
        cell->eligible_at = now + SEC(30); /* in hold-down: Failover() goes there anyway */
        st.has_active = TRUE;
        st.active = WIFI;
        uint32_t target = 0;
        g_assert_cmpint(gd_mp_active_failover(&st, &cfg, cases[i].available, cases[i].has_to,
                                              cases[i].to, now, &target),
                        ==, cases[i].result);
        if (cases[i].result == 0) {
            g_assert_cmpuint(target, ==, cases[i].target);
            /* The group left is held down as after a failure; the target
             * may carry traffic now. */
            g_assert_cmpuint(wifi->failures->len, ==, 1);
            g_assert_cmpint(wifi->eligible_at, ==, now + SEC(5));
            g_assert_cmpint(cell->eligible_at, ==, now);
        } else {
            g_assert_cmpuint(wifi->failures->len, ==, 0);
        }
        fx_state_clear(&st);
    }
}

static void test_health_view(void)
{
    const gint64 now = SEC(100);
    GdMpState st = two_groups(GD_MPTCP_MODE_FAILOVER);
    GdMpGroup *vpn = fx_add(&st, fx_group_healthy(ALWAYS, "vpn", FALSE));
    vpn->always = TRUE;
    gd_mp_active_group(&st, WIFI)->eligible_at = now + SEC(2);
    st.has_active = TRUE;
    st.active = CELL;
    g_autoptr(GArray) view = gd_mp_active_health(&st, now);
    const GdMptcpHealth expected[] = {
        {WIFI, "hold-down", "recovered; the hold-down ends in 2.0 s"},
        {CELL, "active", ""},
        {ALWAYS, "down", "carrier lost"},
    };
    g_assert_cmpuint(view->len, ==, G_N_ELEMENTS(expected));
    for (guint i = 0; i < view->len; i++) {
        const GdMptcpHealth *h = &g_array_index(view, GdMptcpHealth, i);
        g_assert_cmpuint(h->group, ==, expected[i].group);
        g_assert_cmpstr(h->state, ==, expected[i].state);
        g_assert_cmpstr(h->reason, ==, expected[i].reason);
    }
    fx_state_clear(&st);
}

static void test_configure(void)
{
    const char *files[] = {"10-wifi.group",
                           "[Group]\nId=10\nName=wifi\n[Match]\nName=wlan*\n[MPTCP]\n",
                           "20-cell.group",
                           "[Group]\nId=20\nName=cellular\n[Match]\nName=wwan*\n[MPTCP]\n"
                           "Endpoint=subflow fullmesh\nClass=wwan\n",
                           "30-vpn.group",
                           "[Group]\nId=40\n[Match]\nName=tun*\n[MPTCP]\nRole=always\n",
                           "50-plain.group",
                           "[Group]\nId=50\n[Match]\nName=eth*\n",
                           NULL};
    g_autoptr(GdConfig) config =
        fx_load("[MPTCP]\nMode=power-save\nPreference=cellular wifi\n", files);
    GdMpState st = fx_state(GD_MPTCP_MODE_OFF);
    /* A group that stays keeps its health; one that goes is dropped. */
    GdMpGroup *kept = fx_add(&st, fx_group_healthy(WIFI, "old name", TRUE));
    gint64 t = SEC(7);
    g_array_append_val(kept->failures, t);
    fx_add(&st, fx_group_healthy(77, "gone", TRUE));
    gd_mp_active_configure(&st, config);
    g_assert_cmpint(st.mode, ==, GD_MPTCP_MODE_POWER_SAVE);
    g_assert_cmpuint(g_hash_table_size(st.groups), ==, 3);
    g_assert_null(gd_mp_active_group(&st, 77));
    g_assert_null(gd_mp_active_group(&st, 50));
    GdMpGroup *wifi = gd_mp_active_group(&st, WIFI);
    g_assert_true(wifi->healthy);
    g_assert_cmpuint(wifi->failures->len, ==, 1);
    g_assert_cmpstr(wifi->name, ==, "wifi");
    GdMpGroup *cell = gd_mp_active_group(&st, CELL);
    g_assert_false(cell->healthy);
    g_assert_cmpstr(cell->reason, ==, "not judged yet");
    g_assert_cmpuint(cell->flags, ==, GD_MPTCP_FLAG_SUBFLOW | GD_MPTCP_FLAG_FULLMESH);
    g_assert_cmpstr(cell->link_class, ==, "wwan");
    GdMpGroup *vpn = gd_mp_active_group(&st, ALWAYS);
    g_assert_true(vpn->always);
    g_assert_null(vpn->name);
    g_autoptr(GArray) order = gd_mp_active_preference(&st);
    assert_order(order, (const uint32_t[]){CELL, WIFI}, 2);
    fx_state_clear(&st);
}

static void test_member_walk(void)
{
    GdMpState st = two_groups(GD_MPTCP_MODE_FAILOVER);
    fx_add(&st, fx_group(5, "empty"));
    const char *v4[] = {"10.0.0.2/24", NULL};
    g_ptr_array_add(gd_mp_active_group(&st, WIFI)->members, fx_member(3, "wlan0", FX_OK, v4));
    g_ptr_array_add(gd_mp_active_group(&st, WIFI)->members, fx_member(5, "wlan1", FX_OK, v4));
    g_ptr_array_add(gd_mp_active_group(&st, CELL)->members, fx_member(4, "wwan0", FX_OK, v4));
    GdMpMemberIter it;
    const GdMpGroup *g;
    const GdMpMember *m;
    int sum = 0;
    guint n = 0;
    gd_mp_active_iter_members(&it, &st);
    while (gd_mp_active_next_member(&it, &g, &m)) {
        g_assert_true(g_ptr_array_find(g->members, m, NULL));
        sum += m->nl.ifindex;
        n++;
    }
    g_assert_cmpuint(n, ==, 3);
    g_assert_cmpint(sum, ==, 12);
    fx_state_clear(&st);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptcp/active/class-rank", test_class_rank);
    g_test_add_func("/mptcp/active/preference", test_preference);
    g_test_add_func("/mptcp/active/set-preference", test_set_preference);
    g_test_add_func("/mptcp/active/choose", test_choose);
    g_test_add_func("/mptcp/active/set-and-leaving", test_set_and_leaving);
    g_test_add_func("/mptcp/active/preferred", test_preferred);
    g_test_add_func("/mptcp/active/failover", test_failover);
    g_test_add_func("/mptcp/active/health-view", test_health_view);
    g_test_add_func("/mptcp/active/configure", test_configure);
    g_test_add_func("/mptcp/active/member-walk", test_member_walk);
    return g_test_run();
}

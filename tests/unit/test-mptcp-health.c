/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/mptcp/health.c: when a member can carry traffic, the hold-down and
 * its doubling under flapping, the transitions of a group's health, and
 * the probing of a group whose path failed silently. */
#include "mptcp-fixtures.h"

#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

static void test_addr_usable(void)
{
    const struct {
        const char *cidr;
        uint8_t scope;
        uint32_t flags;
        gboolean usable;
    } cases[] = {
        {"10.0.0.2/24", RT_SCOPE_UNIVERSE, 0, TRUE},
        {"10.0.0.2/24", RT_SCOPE_SITE, 0, TRUE},
        {"127.0.0.1/8", RT_SCOPE_HOST, 0, FALSE},
        {"169.254.1.1/16", RT_SCOPE_LINK, 0, FALSE},
        {"fd00::2/64", RT_SCOPE_UNIVERSE, 0, TRUE},
        {"fe80::1/64", RT_SCOPE_LINK, 0, FALSE},
        {"fd00::2/64", RT_SCOPE_UNIVERSE, IFA_F_TENTATIVE, FALSE},
        {"fd00::2/64", RT_SCOPE_UNIVERSE, IFA_F_DADFAILED, FALSE},
        {"fd00::2/64", RT_SCOPE_UNIVERSE, IFA_F_DEPRECATED, FALSE},
        /* IPv4 has no DAD: the IPv6 flags do not apply. */
        {"10.0.0.2/24", RT_SCOPE_UNIVERSE, IFA_F_TENTATIVE, TRUE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GdNlAddr a = fx_addr(cases[i].cidr, cases[i].scope, cases[i].flags);
        g_assert_cmpint(gd_mp_health_addr_usable(&a), ==, cases[i].usable);
    }
}

static void test_member_problem(void)
{
    const char *v4[] = {"10.0.0.2/24", NULL};
    const struct {
        unsigned flags;
        const char *const *addrs;
        int8_t carrier; /* 0: from flags; else the IFLA_CARRIER the kernel sent, -1 absent */
        gboolean lower_up;
        const char *problem;
    } cases[] = {
        {FX_OK, v4, 0, FALSE, NULL},
        {FX_CARRIER, v4, 0, FALSE, "wlan0 is down"},
        {FX_UP, v4, 0, FALSE, "carrier lost on wlan0"},
        {FX_OK, NULL, 0, FALSE, "no address on wlan0"},
        {FX_OK | FX_ROUTE_LOST, v4, 0, FALSE, "default route lost on wlan0"},
        /* Without IFLA_CARRIER, IFF_LOWER_UP says it. */
        {FX_UP, v4, -1, TRUE, NULL},
        {FX_UP, v4, -1, FALSE, "carrier lost on wlan0"},
        /* The first problem is named: down before carrier before address. */
        {FX_ROUTE_LOST, NULL, 0, FALSE, "wlan0 is down"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GdMpMember *m = fx_member(3, "wlan0", cases[i].flags, cases[i].addrs);
        if (cases[i].carrier == -1) {
            m->nl.carrier = -1;
            if (cases[i].lower_up)
                m->nl.flags |= IFF_LOWER_UP;
        }
        g_autofree char *p = gd_mp_health_member_problem(m);
        g_assert_cmpstr(p, ==, cases[i].problem);
        gd_mp_health_member_free(m);
    }
    /* An address that cannot be used is no address. */
    GdMpMember *m = fx_member(3, "wlan0", FX_OK, NULL);
    GdNlAddr link_local = fx_addr("fe80::1/64", RT_SCOPE_LINK, 0);
    g_array_append_val(m->addrs, link_local);
    g_autofree char *p = gd_mp_health_member_problem(m);
    g_assert_cmpstr(p, ==, "no address on wlan0");
    gd_mp_health_member_free(m);
}

static void test_hold_down(void)
{
    GdMptcpConfig cfg = fx_config(); /* 5 s, doubled past 3 failures in 60 s, at most 60 s */
    const struct {
        guint failures;      /* within the window, one a second before now */
        guint old;           /* and these, older than the window */
        guint max_msec;      /* HoldDownMaxSec (0: the config's) */
        gint64 expected_sec; /* the hold-down */
        guint left;          /* failures remembered after */
    } cases[] = {
        {0, 0, 0, 5, 0},
        {1, 0, 0, 5, 1},
        {3, 0, 0, 5, 3},
        {4, 0, 0, 10, 4},
        {5, 0, 0, 20, 5},
        {6, 0, 0, 40, 6},
        {7, 0, 0, 60, 7},
        {12, 0, 0, 60, 12},
        /* Failures out of the window are forgotten. */
        {2, 5, 0, 5, 2},
        /* A maximum below the hold-down does not shorten it. */
        {9, 0, 1000, 5, 9},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GdMpGroup) g = fx_group(1, "wifi");
        gint64 now = SEC(1000);
        for (guint k = 0; k < cases[i].old; k++) {
            gint64 t = now - SEC(61 + k);
            g_array_prepend_val(g->failures, t);
        }
        for (guint k = 0; k < cases[i].failures; k++) {
            gint64 t = now - SEC(cases[i].failures - k);
            g_array_append_val(g->failures, t);
        }
        cfg.hold_down_max_msec = cases[i].max_msec ? cases[i].max_msec : 60000;
        g_assert_cmpint(gd_mp_health_hold_down(g, &cfg, now), ==, SEC(cases[i].expected_sec));
        g_assert_cmpuint(g->failures->len, ==, cases[i].left);
    }
}

/* A sequence of judgements of one group: what its members are at each
 * step, and what the judgement says. */
static void test_judge(void)
{
    GdMptcpConfig cfg = fx_config();
    const char *v4[] = {"10.0.0.2/24", NULL};
    const struct {
        gint64 at_sec;
        unsigned wlan0, wlan1; /* member flags; 0: that member is absent */
        GdMpHealthChange change;
        gboolean healthy;
        const char *reason;
        gint64 eligible_sec; /* after an UP: when it may carry traffic again */
        guint failures;
    } steps[] = {
        /* From "not judged yet", first judged down: no failure counted. */
        {0, FX_UP, 0, GD_MP_HEALTH_REJUDGED, FALSE, "carrier lost on wlan0", 0, 0},
        {1, FX_UP, 0, GD_MP_HEALTH_SAME, FALSE, "carrier lost on wlan0", 0, 0},
        {2, FX_CARRIER, 0, GD_MP_HEALTH_REJUDGED, FALSE, "wlan0 is down", 0, 0},
        /* Healthy with no failure on record: eligible at once. */
        {3, FX_OK, 0, GD_MP_HEALTH_UP, TRUE, "", 3, 0},
        {4, FX_OK, 0, GD_MP_HEALTH_SAME, TRUE, "", 3, 0},
        /* One member that works is enough. */
        {5, FX_OK, FX_UP, GD_MP_HEALTH_SAME, TRUE, "", 3, 0},
        /* Both fail: every member's problem is told. */
        {6, FX_UP, FX_UP, GD_MP_HEALTH_DOWN, FALSE, "carrier lost on wlan0; carrier lost on wlan1",
         3, 1},
        /* Back: held down for the hold-down from now. */
        {7, 0, FX_OK, GD_MP_HEALTH_UP, TRUE, "", 12, 1},
        /* No members at all. */
        {8, 0, 0, GD_MP_HEALTH_DOWN, FALSE, "no members", 12, 2},
    };
    g_autoptr(GdMpGroup) g = fx_group(7, "wifi");
    for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
        g_ptr_array_set_size(g->members, 0);
        if (steps[i].wlan0)
            g_ptr_array_add(g->members, fx_member(3, "wlan0", steps[i].wlan0, v4));
        if (steps[i].wlan1)
            g_ptr_array_add(g->members, fx_member(4, "wlan1", steps[i].wlan1, v4));
        gint64 now = SEC(100 + steps[i].at_sec);
        g_assert_cmpint(gd_mp_health_judge(g, &cfg, now), ==, steps[i].change);
        g_assert_cmpint(g->healthy, ==, steps[i].healthy);
        g_assert_cmpstr(g->reason, ==, steps[i].reason);
        if (steps[i].change == GD_MP_HEALTH_UP) {
            g_assert_cmpint(g->eligible_at, ==, SEC(100 + steps[i].eligible_sec));
            g_assert_cmpint(g->healthy_since, ==, now);
        }
        g_assert_cmpuint(g->failures->len, ==, steps[i].failures);
    }
}

static void test_stall_and_probe(void)
{
    GdMptcpConfig cfg = fx_config();
    const char *v4[] = {"10.0.0.2/24", NULL};
    g_autoptr(GdMpGroup) g = fx_group(7, "wifi");
    g_ptr_array_add(g->members, fx_member(3, "wlan0", FX_OK, v4));
    gint64 t0 = SEC(100);
    g_assert_cmpint(gd_mp_health_judge(g, &cfg, t0), ==, GD_MP_HEALTH_UP);
    g_assert_cmpint(gd_mp_health_next_change(g, t0), ==, G_MAXINT64);

    /* A stall: down with its reason although the link is fine. */
    g_assert_true(gd_mp_health_stall(g, &cfg, "subflows stalled on wlan0 (x)", 3, NULL, t0));
    g_assert_false(gd_mp_health_stall(g, &cfg, "again", 3, NULL, t0));
    g_assert_cmpint(g->stall_probe_at, ==, t0 + SEC(5));
    g_assert_cmpint(gd_mp_health_judge(g, &cfg, t0), ==, GD_MP_HEALTH_DOWN);
    g_assert_cmpstr(g->reason, ==, "subflows stalled on wlan0 (x)");
    g_assert_false(gd_mp_health_probing(g, t0 + SEC(4)));
    g_assert_cmpint(gd_mp_health_next_change(g, t0 + SEC(4)), ==, t0 + SEC(5));

    /* The probe is due: endpoints go out; until its timeout, nothing. */
    g_assert_true(gd_mp_health_probing(g, t0 + SEC(5)));
    g_assert_cmpint(gd_mp_health_stall_tick(g, &cfg, TRUE, t0 + SEC(6)), ==, GD_MP_STALL_NONE);
    g_assert_cmpint(gd_mp_health_next_change(g, t0 + SEC(6)), ==,
                    t0 + SEC(5) + GD_MP_HEALTH_PROBE_TIMEOUT_MSEC * 1000);
    /* No subflow came up in time: a failure, the next probe later. */
    gint64 t1 = t0 + SEC(5) + GD_MP_HEALTH_PROBE_TIMEOUT_MSEC * 1000;
    g_assert_cmpint(gd_mp_health_stall_tick(g, &cfg, TRUE, t1), ==, GD_MP_STALL_PROBE_FAILED);
    g_assert_cmpuint(g->failures->len, ==, 2);
    g_assert_cmpint(g->stall_probe_at, ==, t1 + SEC(5));
    /* Its subflow closed during the next probe: failed again. */
    gint64 t2 = t1 + SEC(5);
    g_assert_cmpint(gd_mp_health_probe_failed(g, &cfg, t2), ==, SEC(5));
    g_assert_cmpuint(g->failures->len, ==, 3);
    /* A fourth failure within the window doubles the wait. */
    gint64 t3 = t2 + SEC(5);
    g_assert_cmpint(gd_mp_health_probe_failed(g, &cfg, t3), ==, SEC(10));

    /* A subflow came up: the path works, the group is healthy again,
     * held down since it failed. */
    g_assert_true(gd_mp_health_subflow_up(g));
    g_assert_false(gd_mp_health_subflow_up(g));
    gint64 t4 = t3 + SEC(1);
    g_assert_cmpint(gd_mp_health_judge(g, &cfg, t4), ==, GD_MP_HEALTH_UP);
    g_assert_cmpint(g->eligible_at, ==, t4 + SEC(10));

    /* No connection left when the probe is due: the stall is dropped. */
    g_assert_true(gd_mp_health_stall(g, &cfg, "stalled", 3, NULL, t4));
    g_assert_cmpint(gd_mp_health_stall_tick(g, &cfg, FALSE, t4 + SEC(1)), ==, GD_MP_STALL_NONE);
    g_assert_cmpint(gd_mp_health_stall_tick(g, &cfg, FALSE, g->stall_probe_at), ==,
                    GD_MP_STALL_OVER);
    g_assert_false(g->stalled);
}

static void test_stall_watched_by_echoes(void)
{
    GdMptcpConfig cfg = fx_config();
    const char *v4[] = {"10.0.0.2/24", NULL};
    g_autoptr(GdMpGroup) g = fx_group(7, "wifi");
    g_ptr_array_add(g->members, fx_member(3, "wlan0", FX_OK, v4));
    gint64 t0 = SEC(100);
    gd_mp_health_judge(g, &cfg, t0);
    g_assert_null(gd_mp_health_echo_path(g));

    GdMpPathProbe path = {.ifindex = 3, .target = {.family = AF_INET, .addr = {10, 9, 0, 1}}};
    g_assert_true(gd_mp_health_stall(g, &cfg, "subflows stalled on wlan0 (y)", 3, &path, t0));
    g_assert_cmpint(gd_mp_health_judge(g, &cfg, t0), ==, GD_MP_HEALTH_DOWN);
    const GdMpPathProbe *probed = gd_mp_health_echo_path(g);
    g_assert_nonnull(probed);
    g_assert_cmpint(probed->ifindex, ==, 3);
    /* No probe endpoints, no probe timeout: the echoes tell. */
    g_assert_false(gd_mp_health_probing(g, t0 + SEC(60)));
    g_assert_cmpint(gd_mp_health_stall_tick(g, &cfg, TRUE, t0 + SEC(60)), ==, GD_MP_STALL_NONE);
    g_assert_cmpint(gd_mp_health_next_change(g, t0 + SEC(1)), ==, t0 + SEC(5));
    g_assert_cmpint(gd_mp_health_next_change(g, t0 + SEC(60)), ==, G_MAXINT64);
    /* An answer over another link is not this path's. */
    g_assert_false(gd_mp_health_path_alive(g, 4));
    g_assert_true(gd_mp_health_path_alive(g, 3));
    g_assert_false(gd_mp_health_path_alive(g, 3));
    g_assert_null(gd_mp_health_echo_path(g));
    /* Healthy from the answer on, held down from there. */
    gint64 t1 = t0 + SEC(30);
    g_assert_cmpint(gd_mp_health_judge(g, &cfg, t1), ==, GD_MP_HEALTH_UP);
    g_assert_cmpint(g->eligible_at, ==, t1 + SEC(5));

    /* Nothing waits for the path any more: the stall ends after the
     * hold-down, as without echoes. */
    g_assert_true(gd_mp_health_stall(g, &cfg, "stalled", 3, &path, t1));
    g_assert_cmpint(gd_mp_health_stall_tick(g, &cfg, FALSE, t1 + SEC(1)), ==, GD_MP_STALL_NONE);
    g_assert_cmpint(gd_mp_health_stall_tick(g, &cfg, FALSE, g->stall_probe_at), ==,
                    GD_MP_STALL_OVER);
    g_assert_null(gd_mp_health_echo_path(g));

    /* The stalled member then loses its carrier (the notification came
     * late): that failure takes over, and its recovery ends it. */
    gint64 t2 = g->stall_probe_at + SEC(100);
    gd_mp_health_judge(g, &cfg, t2);
    g_assert_true(g->healthy);
    g_assert_true(gd_mp_health_stall(g, &cfg, "stalled", 3, &path, t2));
    g_assert_cmpint(gd_mp_health_judge(g, &cfg, t2), ==, GD_MP_HEALTH_DOWN);
    GdMpMember *wlan0 = g->members->pdata[0];
    wlan0->nl.carrier = 0;
    g_assert_cmpint(gd_mp_health_judge(g, &cfg, t2 + SEC(1)), ==, GD_MP_HEALTH_REJUDGED);
    g_assert_cmpstr(g->reason, ==, "carrier lost on wlan0");
    g_assert_false(g->stalled);
    g_assert_null(gd_mp_health_echo_path(g));
    wlan0->nl.carrier = 1;
    g_assert_cmpint(gd_mp_health_judge(g, &cfg, t2 + SEC(3)), ==, GD_MP_HEALTH_UP);
    /* Another member's problem is not the stalled one's. */
    g_ptr_array_add(g->members, fx_member(4, "wlan1", FX_UP, v4));
    g_assert_true(gd_mp_health_stall(g, &cfg, "stalled", 3, &path, t2 + SEC(4)));
    gd_mp_health_judge(g, &cfg, t2 + SEC(4));
    g_assert_true(g->stalled);
}

static void test_state(void)
{
    GdMptcpConfig cfg = fx_config();
    const struct {
        gboolean healthy, active;
        gint64 eligible_in_sec;
        const char *state, *reason;
    } cases[] = {
        {FALSE, FALSE, 0, "down", "carrier lost"},
        {FALSE, TRUE, 0, "down", "carrier lost"},
        {TRUE, TRUE, 3, "active", ""},
        {TRUE, FALSE, 3, "hold-down", "recovered; the hold-down ends in 3.0 s"},
        {TRUE, FALSE, 0, "standby", ""},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GdMpGroup) g = fx_group_healthy(1, "wifi", cases[i].healthy);
        gint64 now = SEC(50);
        g->eligible_at = now + SEC(cases[i].eligible_in_sec);
        const char *reason;
        g_assert_cmpstr(gd_mp_health_state(g, cases[i].active, now, &reason), ==, cases[i].state);
        g_assert_cmpstr(reason, ==, cases[i].reason);
    }
    /* Leaving by force holds the group down as after a failure. */
    g_autoptr(GdMpGroup) g = fx_group_healthy(1, "wifi", TRUE);
    gd_mp_health_hold_after_leaving(g, &cfg, SEC(10));
    g_assert_cmpint(g->eligible_at, ==, SEC(15));
    g_assert_cmpint(gd_mp_health_next_change(g, SEC(11)), ==, SEC(15));
    char buf[16];
    g_assert_cmpstr(gd_mp_health_label(g, buf, sizeof(buf)), ==, "wifi");
    g_clear_pointer(&g->name, g_free);
    g_assert_cmpstr(gd_mp_health_label(g, buf, sizeof(buf)), ==, "1");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptcp/health/addr-usable", test_addr_usable);
    g_test_add_func("/mptcp/health/member-problem", test_member_problem);
    g_test_add_func("/mptcp/health/hold-down", test_hold_down);
    g_test_add_func("/mptcp/health/judge", test_judge);
    g_test_add_func("/mptcp/health/stall-and-probe", test_stall_and_probe);
    g_test_add_func("/mptcp/health/stall-watched-by-echoes", test_stall_watched_by_echoes);
    g_test_add_func("/mptcp/health/state", test_state);
    return g_test_run();
}

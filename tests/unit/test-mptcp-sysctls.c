/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/mptcp/sysctls.c: what MPTCP failover sets, when the current value
 * is good enough (rp_filter: the kernel applies the stricter of conf/all
 * and the link's), and the record of the changes. */
#include "mptcp-fixtures.h"
#include "mptcp/sysctls.h"

static void test_wanted(void)
{
    GdMptcpConfig cfg = fx_config();
    GdMpState st = fx_state(GD_MPTCP_MODE_FAILOVER);
    const char *v4[] = {"10.1.0.2/24", NULL};
    g_ptr_array_add(fx_add(&st, fx_group(10, "wifi"))->members, fx_member(3, "wlan0", FX_OK, v4));
    g_ptr_array_add(fx_add(&st, fx_group(20, "cell"))->members, fx_member(4, "wwan0", 0, NULL));
    const struct {
        int stale_loss_cnt;
        gboolean relax;
        const char *wanted;
    } cases[] = {
        {2, TRUE, "net/mptcp/stale_loss_cnt=2"}, /* then both members, in any order */
        {5, FALSE, "net/mptcp/stale_loss_cnt=5"},
        {-1, FALSE, ""},
        {-1, TRUE, ""},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        cfg.stale_loss_cnt = cases[i].stale_loss_cnt;
        cfg.relax_rp_filter = cases[i].relax;
        g_autoptr(GPtrArray) wishes = gd_mp_sysctls_wanted(&cfg, &st);
        guint first_rp = 0;
        if (*cases[i].wanted) {
            const GdMpSysctlWish *w = wishes->pdata[0];
            g_autofree char *text = g_strdup_printf("%s=%s", w->path, w->value);
            g_assert_cmpstr(text, ==, cases[i].wanted);
            g_assert_false(w->rp_filter);
            first_rp = 1;
        }
        g_assert_cmpuint(wishes->len, ==, first_rp + (cases[i].relax ? 2 : 0));
        gboolean wlan = FALSE, wwan = FALSE;
        for (guint k = first_rp; k < wishes->len; k++) {
            const GdMpSysctlWish *w = wishes->pdata[k];
            g_assert_true(w->rp_filter);
            g_assert_cmpstr(w->value, ==, "2");
            wlan |= g_str_equal(w->path, "net/ipv4/conf/wlan0/rp_filter");
            wwan |= g_str_equal(w->path, "net/ipv4/conf/wwan0/rp_filter");
        }
        g_assert_true(wlan == cases[i].relax && wwan == cases[i].relax);
    }
    fx_state_clear(&st);
}

static void test_keep(void)
{
    GdMpSysctlWish rp = {.path = "net/ipv4/conf/wlan0/rp_filter", .value = "2", .rp_filter = TRUE};
    GdMpSysctlWish stale = {.path = "net/mptcp/stale_loss_cnt", .value = "2"};
    const struct {
        const GdMpSysctlWish *wish;
        const char *current;
        gboolean all_strict;
        gboolean keep;
    } cases[] = {
        {&rp, "2", FALSE, TRUE},
        {&rp, "2", TRUE, TRUE},
        /* Off on the link is loose only while conf/all is not strict. */
        {&rp, "0", FALSE, TRUE},
        {&rp, "0", TRUE, FALSE},
        {&rp, "1", FALSE, FALSE},
        {&stale, "2", FALSE, TRUE},
        {&stale, "4", FALSE, FALSE},
        {&stale, "0", FALSE, FALSE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        g_assert_cmpint(gd_mp_sysctls_keep(cases[i].wish, cases[i].current, cases[i].all_strict),
                        ==, cases[i].keep);
}

static void test_ping_range(void)
{
    const struct {
        const char *current;
        uint32_t gid;
        const char *want; /* NULL: kept */
    } cases[] = {
        {"0\t2147483647", 0, NULL}, /* systemd's: everyone */
        {"0\t2147483647", 998, NULL},
        {"1\t0", 0, "0 0"}, /* a new namespace's: nobody */
        {"1\t0", 998, "998 998"},
        {"100\t200", 0, "0 200"}, /* widened, never narrowed */
        {"100\t200", 150, NULL},
        {"100\t200", 300, "100 300"},
        {"100 200\n", 300, "100 300"},
        {"garbage", 5, "5 5"},
        {"1", 5, "5 5"},
        {"1 2 3", 5, "5 5"},
        {"1\t99999999999", 5, "5 5"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = gd_mp_sysctls_ping_range(cases[i].current, cases[i].gid);
        g_assert_cmpstr(got, ==, cases[i].want);
    }
}

static void test_record(void)
{
    g_autoptr(GPtrArray) changes = gd_mp_sysctls_changes_new();
    gd_mp_sysctls_record(changes, "net/mptcp/stale_loss_cnt", "4", "2");
    gd_mp_sysctls_record(changes, "net/ipv4/conf/wlan0/rp_filter", "1", "2");
    /* Changed again (someone put it back): the first previous value stays. */
    gd_mp_sysctls_record(changes, "net/mptcp/stale_loss_cnt", "3", "5");
    g_assert_cmpuint(changes->len, ==, 2);
    const GdMptcpSysctl *s = changes->pdata[0];
    g_assert_cmpstr(s->path, ==, "net/mptcp/stale_loss_cnt");
    g_assert_cmpstr(s->previous, ==, "4");
    g_assert_cmpstr(s->value, ==, "5");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptcp/sysctls/wanted", test_wanted);
    g_test_add_func("/mptcp/sysctls/keep", test_keep);
    g_test_add_func("/mptcp/sysctls/ping-range", test_ping_range);
    g_test_add_func("/mptcp/sysctls/record", test_record);
    return g_test_run();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/mptcp/refusals.c: a refused request backs off 1 s → 60 s, starts
 * over when the reason changes, is forgotten when it went through or is no
 * longer asked for; a problem is logged once until a round without it. */
#include "mptcp-fixtures.h"
#include "mptcp/refusals.h"

static void test_back_off(void)
{
    g_autoptr(GdMpRefusals) r = gd_mp_refusals_new();
    const char *req = "add endpoint 10.1.0.2 dev wlan0 [subflow]";
    const char *text;
    gint64 now = SEC(100);
    g_assert_false(gd_mp_refusals_waiting(r, req, now, &text));
    g_assert_cmpint(gd_mp_refusals_next_retry(r), ==, G_MAXINT64);
    /* Each refusal doubles the wait, up to a minute. */
    const int waits[] = {1, 2, 4, 8, 16, 32, 60, 60, 60};
    for (guint i = 0; i < G_N_ELEMENTS(waits); i++) {
        g_assert_cmpint(gd_mp_refusals_refused(r, req, "File exists", now), ==, SEC(waits[i]));
        g_assert_cmpint(gd_mp_refusals_next_retry(r), ==, now + SEC(waits[i]));
        g_assert_true(gd_mp_refusals_waiting(r, req, now + SEC(waits[i]) - 1, &text));
        g_assert_cmpstr(text, ==, "File exists");
        g_assert_false(gd_mp_refusals_waiting(r, req, now + SEC(waits[i]), &text));
        now += SEC(waits[i]);
    }
    /* Another reason: the situation changed, the wait starts over. */
    g_assert_cmpint(gd_mp_refusals_refused(r, req, "Invalid argument", now), ==, SEC(1));
    /* Through: forgotten. */
    gd_mp_refusals_accepted(r, req);
    g_assert_false(gd_mp_refusals_waiting(r, req, now, &text));
    g_assert_cmpint(gd_mp_refusals_next_retry(r), ==, G_MAXINT64);

    /* A round that no longer asks for it forgets it; one that does keeps it. */
    gd_mp_refusals_refused(r, req, "File exists", now);
    gd_mp_refusals_refused(r, "delete endpoint 10.2.0.2", "No such entry", now + SEC(1));
    g_autoptr(GHashTable) asked = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_add(asked, (gpointer)req);
    gd_mp_refusals_round(r, asked);
    g_assert_true(gd_mp_refusals_waiting(r, req, now, &text));
    g_assert_cmpint(gd_mp_refusals_next_retry(r), ==, now + SEC(1));
    g_hash_table_remove_all(asked);
    gd_mp_refusals_round(r, asked);
    g_assert_false(gd_mp_refusals_waiting(r, req, now, &text));
    gd_mp_refusals_free(NULL);
}

static void test_reports(void)
{
    g_autoptr(GdMpReports) reports = gd_mp_reports_new();
    /* (text, round) → logged? */
    const struct {
        const char *text;
        gboolean new_round_before;
        gboolean logged;
    } steps[] = {
        {"cannot add A", FALSE, TRUE},
        {"cannot add A", FALSE, FALSE}, /* again in the same round */
        {"cannot set B", FALSE, TRUE},
        {"cannot add A", TRUE, FALSE}, /* the next round still has it */
        {"cannot add A", TRUE, FALSE},
        /* a round without B, then B again: logged */
        {"cannot set B", TRUE, TRUE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
        if (steps[i].new_round_before)
            gd_mp_reports_round(reports);
        g_assert_cmpint(gd_mp_reports_first(reports, steps[i].text), ==, steps[i].logged);
    }
    gd_mp_reports_free(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptcp/refusals/back-off", test_back_off);
    g_test_add_func("/mptcp/refusals/reports", test_reports);
    return g_test_run();
}

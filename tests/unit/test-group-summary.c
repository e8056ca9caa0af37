/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/policy/group-summary.c: a group as a whole from its
 * members, in a table (the Group object's MemberCount, MTU, TxQueueLength
 * and State).
 */
#include "policy/group-summary.h"

#include <linux/if.h>

typedef struct {
    uint32_t mtu, txqlen;
    gboolean up;
} Member;

static const struct {
    const char *name;
    Member members[4];
    guint n;
    GdGroupSummary want;
} cases[] = {
    {"no members", {{0}}, 0, {0, 0, 0, "down"}},
    {"one up", {{1500, 1000, TRUE}}, 1, {1, 1500, 1000, "up"}},
    {"one down", {{9000, 500, FALSE}}, 1, {1, 9000, 500, "down"}},
    {"all alike, up",
     {{1400, 1000, TRUE}, {1400, 1000, TRUE}, {1400, 1000, TRUE}},
     3,
     {3, 1400, 1000, "up"}},
    {"all down", {{1400, 1000, FALSE}, {1400, 1000, FALSE}}, 2, {2, 1400, 1000, "down"}},
    {"some up: mixed",
     {{1400, 1000, TRUE}, {1400, 1000, FALSE}, {1400, 1000, TRUE}},
     3,
     {3, 1400, 1000, "mixed"}},
    {"the last differs in MTU",
     {{1400, 1000, TRUE}, {1400, 1000, TRUE}, {1500, 1000, TRUE}},
     3,
     {3, 0, 1000, "up"}},
    {"the first differs in txqlen",
     {{1400, 10, FALSE}, {1400, 1000, FALSE}},
     2,
     {2, 1400, 0, "down"}},
    /* A difference is not undone by later members that agree with the first. */
    {"MTU a, b, a",
     {{1400, 1000, TRUE}, {1500, 1000, TRUE}, {1400, 1000, TRUE}},
     3,
     {3, 0, 1000, "up"}},
    {"everything differs",
     {{1400, 1, TRUE}, {1500, 2, FALSE}, {9000, 3, TRUE}, {68, 4, FALSE}},
     4,
     {4, 0, 0, "mixed"}},
};

static void test_table(void)
{
    for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
        g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < cases[c].n; i++) {
            GdLink *link = g_new0(GdLink, 1);
            link->nl.ifindex = (int)i + 1;
            link->nl.mtu = cases[c].members[i].mtu;
            link->nl.txqlen = cases[c].members[i].txqlen;
            link->nl.flags = cases[c].members[i].up ? IFF_UP | IFF_RUNNING : 0;
            g_ptr_array_add(members, link);
        }
        GdGroupSummary got;
        gd_group_summary_of(members, &got);
        g_test_message("%s", cases[c].name);
        g_assert_cmpuint(got.member_count, ==, cases[c].want.member_count);
        g_assert_cmpuint(got.mtu, ==, cases[c].want.mtu);
        g_assert_cmpuint(got.txqlen, ==, cases[c].want.txqlen);
        g_assert_cmpstr(got.state, ==, cases[c].want.state);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/group-summary/table", test_table);
    return g_test_run();
}

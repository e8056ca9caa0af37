/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/mptcp/endpoints.c: the endpoints each mode wants, the requests that
 * get the kernel there (deletes first, flags in place, other flags by a new
 * endpoint, a flush only when taking over), which endpoints are groupd's,
 * and the state file's text. */
#include <netinet/in.h>

#include "mptcp-fixtures.h"
#include "mptcp/endpoints.h"
#include "mptcp/pm.h"

#include <string.h>

enum { WIFI = 10, CELL = 20, VPN = 40 };

static const char *const wlan_addrs[] = {"10.1.0.2/24", "fd01::2/64", NULL};
static const char *const wwan_addrs[] = {"10.2.0.2/24", NULL};
static const char *const tun_addrs[] = {"10.3.0.2/24", NULL};

/* wifi (wlan0, ifindex 3, two addresses), cellular (wwan0, 4) and a
 * Role=always vpn (tun0, 5), healthy and eligible. */
static GdMpState three_groups(GdMptcpMode mode)
{
    GdMpState st = fx_state(mode);
    GdMpGroup *g = fx_add(&st, fx_group_healthy(WIFI, "wifi", TRUE));
    g_strlcpy(g->link_type, "wlan", 32);
    g_ptr_array_add(g->members, fx_member(3, "wlan0", FX_OK, wlan_addrs));
    g = fx_add(&st, fx_group_healthy(CELL, "cellular", TRUE));
    g_strlcpy(g->link_type, "wwan", 32);
    g_ptr_array_add(g->members, fx_member(4, "wwan0", FX_OK, wwan_addrs));
    g = fx_add(&st, fx_group_healthy(VPN, "vpn", TRUE));
    g->always = TRUE;
    g->flags |= GD_MPTCP_FLAG_SIGNAL;
    g_ptr_array_add(g->members, fx_member(5, "tun0", FX_OK, tun_addrs));
    return st;
}

/* "10.1.0.2 3 subflow,backup" */
static char *endpoint_words(const GdMptcpEndpoint *ep)
{
    g_autofree char *addr = gd_mp_pm_addr_format(ep->family, ep->addr);
    g_auto(GStrv) flags = gd_mptcp_flags_names(ep->flags);
    g_autofree char *flag_text = g_strjoinv(",", flags);
    return g_strdup_printf("%s %d %s", addr, ep->ifindex, flag_text);
}

/* The wants as "addr ifindex flags; …". */
static char *wants_text(const GArray *wants)
{
    g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < wants->len; i++)
        g_ptr_array_add(parts, endpoint_words(&g_array_index(wants, GdMpWant, i).ep));
    g_ptr_array_add(parts, NULL);
    return g_strjoinv("; ", (char **)parts->pdata);
}

#define WLAN_V4 "10.1.0.2 3"
#define WLAN_V6 "fd01::2 3"
#define WWAN    "10.2.0.2 4"
#define TUN     "10.3.0.2 5 signal,subflow"

static void test_desired(void)
{
    const gint64 now = SEC(100);
    const struct {
        const char *what;
        GdMptcpMode mode;
        gboolean managed;
        int active;
        gboolean wifi_ok, cell_ok;
        gint64 cell_held; /* seconds of hold-down left */
        int leaving;      /* power-save: the group being left */
        gboolean wifi_stalled;
        const char *wants;
    } cases[] = {
        {"failover: the active group's endpoints, the others backup", GD_MPTCP_MODE_FAILOVER, TRUE,
         WIFI, TRUE, TRUE, 0, 0, FALSE,
         WLAN_V4 " subflow; " WLAN_V6 " subflow; " WWAN " subflow,backup; " TUN},
        {"failover: a standby group in hold-down has none", GD_MPTCP_MODE_FAILOVER, TRUE, WIFI,
         TRUE, TRUE, 2, 0, FALSE, WLAN_V4 " subflow; " WLAN_V6 " subflow; " TUN},
        {"failover: a group that is down has none", GD_MPTCP_MODE_FAILOVER, TRUE, CELL, FALSE, TRUE,
         0, 0, FALSE, WWAN " subflow; " TUN},
        {"power-save: only the active group", GD_MPTCP_MODE_POWER_SAVE, TRUE, WIFI, TRUE, TRUE, 0,
         0, FALSE, WLAN_V4 " subflow; " WLAN_V6 " subflow; " TUN},
        {"power-save: the group being left keeps its endpoints (make before break)",
         GD_MPTCP_MODE_POWER_SAVE, TRUE, CELL, TRUE, TRUE, 0, WIFI, FALSE,
         WWAN " subflow; " WLAN_V4 " subflow; " WLAN_V6 " subflow; " TUN},
        {"aggregate: every group, as configured", GD_MPTCP_MODE_AGGREGATE, TRUE, 0, TRUE, TRUE, 0,
         0, FALSE, WLAN_V4 " subflow; " WLAN_V6 " subflow; " WWAN " subflow; " TUN},
        {"aggregate: hold-down applies too", GD_MPTCP_MODE_AGGREGATE, TRUE, 0, TRUE, TRUE, 2, 0,
         FALSE, WLAN_V4 " subflow; " WLAN_V6 " subflow; " TUN},
        {"a stalled group gets backup probes once due", GD_MPTCP_MODE_FAILOVER, TRUE, CELL, FALSE,
         TRUE, 0, 0, TRUE,
         WWAN " subflow; " TUN "; " WLAN_V4 " subflow,backup; " WLAN_V6 " subflow,backup"},
        {"off", GD_MPTCP_MODE_OFF, TRUE, 0, TRUE, TRUE, 0, 0, FALSE, ""},
        {"another owner", GD_MPTCP_MODE_FAILOVER, FALSE, WIFI, TRUE, TRUE, 0, 0, FALSE, ""},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("%s", cases[i].what);
        GdMpState st = three_groups(cases[i].mode);
        GdMpGroup *wifi = gd_mp_active_group(&st, WIFI), *cell = gd_mp_active_group(&st, CELL);
        wifi->healthy = cases[i].wifi_ok;
        cell->healthy = cases[i].cell_ok;
        cell->eligible_at = now + SEC(cases[i].cell_held);
        st.has_active = cases[i].active != 0;
        st.active = (uint32_t)cases[i].active;
        st.has_leaving = cases[i].leaving != 0;
        st.leaving = (uint32_t)cases[i].leaving;
        if (cases[i].wifi_stalled) {
            wifi->stalled = TRUE;
            wifi->stall_probe_at = now;
        }
        g_autoptr(GArray) wants = gd_mp_endpoints_desired(&st, cases[i].managed, now);
        g_autofree char *text = wants_text(wants);
        g_assert_cmpstr(text, ==, cases[i].wants);
        fx_state_clear(&st);
    }
}

static void test_desired_members(void)
{
    /* A member that cannot carry traffic, and unusable addresses, give no
     * endpoint; the group stays healthy through its other member. */
    GdMpState st = three_groups(GD_MPTCP_MODE_FAILOVER);
    GdMpGroup *wifi = gd_mp_active_group(&st, WIFI);
    g_ptr_array_add(wifi->members, fx_member(6, "wlan1", FX_UP, wlan_addrs));
    GdMpMember *m = wifi->members->pdata[0];
    g_array_index(m->addrs, GdNlAddr, 1).flags = 0x40; /* IFA_F_TENTATIVE */
    st.has_active = TRUE;
    st.active = WIFI;
    gd_mp_active_group(&st, CELL)->healthy = FALSE;
    g_autoptr(GArray) wants = gd_mp_endpoints_desired(&st, TRUE, SEC(1));
    g_autofree char *text = wants_text(wants);
    g_assert_cmpstr(text, ==, WLAN_V4 " subflow; " TUN);
    g_assert_cmpuint(g_array_index(wants, GdMpWant, 0).group, ==, WIFI);
    g_assert_cmpuint(g_array_index(wants, GdMpWant, 1).group, ==, VPN);
    fx_state_clear(&st);
}

typedef struct {
    const char *addr;
    int ifindex;
    uint32_t flags;
    uint8_t id; /* have: the kernel's id; want: its group */
} Ep;

static GArray *have_of(const Ep *eps)
{
    GArray *have = g_array_new(FALSE, TRUE, sizeof(GdMptcpEndpoint));
    for (guint i = 0; eps[i].addr; i++) {
        GdMptcpEndpoint ep = fx_endpoint(eps[i].addr, eps[i].ifindex, eps[i].flags);
        ep.id = eps[i].id;
        g_array_append_val(have, ep);
    }
    return have;
}

static GArray *wants_of(const Ep *eps)
{
    GArray *wants = g_array_new(FALSE, TRUE, sizeof(GdMpWant));
    for (guint i = 0; eps[i].addr; i++) {
        GdMpWant w = {.ep = fx_endpoint(eps[i].addr, eps[i].ifindex, eps[i].flags),
                      .group = eps[i].id};
        g_array_append_val(wants, w);
    }
    return wants;
}

static GHashTable *ids_of(const uint8_t *ids)
{
    GHashTable *set = g_hash_table_new(NULL, NULL);
    for (guint i = 0; ids[i]; i++)
        g_hash_table_add(set, GUINT_TO_POINTER(ids[i]));
    return set;
}

static char *actions_text(const GArray *actions)
{
    static const char *const ops[] = {"delete", "replace", "set", "add", "blocked"};
    g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < actions->len; i++) {
        const GdMpEndpointAction *a = &g_array_index(actions, GdMpEndpointAction, i);
        g_autofree char *words = endpoint_words(&a->ep);
        g_ptr_array_add(parts,
                        a->op == GD_MP_ENDPOINT_ADD
                            ? g_strdup_printf("%s %s", ops[a->op], words)
                            : g_strdup_printf("%s #%u %s", ops[a->op],
                                              a->op == GD_MP_ENDPOINT_DELETE ? a->ep.id : a->old.id,
                                              words));
    }
    g_ptr_array_add(parts, NULL);
    return g_strjoinv("; ", (char **)parts->pdata);
}

#define S  GD_MPTCP_FLAG_SUBFLOW
#define B  GD_MPTCP_FLAG_BACKUP
#define SG GD_MPTCP_FLAG_SIGNAL
#define F  GD_MPTCP_FLAG_FULLMESH

static void test_diff(void)
{
    const struct {
        const char *what;
        Ep have[5], wants[10];
        uint8_t owned[5];
        gboolean manage_all;
        const char *actions;
    } cases[] = {
        {"nothing there: adds in order",
         {{NULL}},
         {{"10.1.0.2", 3, S}, {"10.2.0.2", 4, S | B}, {NULL}},
         {0},
         FALSE,
         "add 10.1.0.2 3 subflow; add 10.2.0.2 4 subflow,backup"},
        {"all in place: nothing",
         {{"10.1.0.2", 3, S, 1}, {NULL}},
         {{"10.1.0.2", 3, S}, {NULL}},
         {1},
         FALSE,
         ""},
        {"failover: delete the failed group's first, then backup off in place",
         {{"10.1.0.2", 3, S, 1}, {"10.2.0.2", 4, S | B, 2}, {NULL}},
         {{"10.2.0.2", 4, S}, {NULL}},
         {1, 2},
         FALSE,
         "delete #1 10.1.0.2 3 subflow; set #2 10.2.0.2 4 subflow"},
        {"other flags change: a new endpoint",
         {{"10.2.0.2", 4, S | F | B, 2}, {NULL}},
         {{"10.2.0.2", 4, S | B}, {NULL}},
         {2},
         FALSE,
         "replace #2 10.2.0.2 4 subflow,backup"},
        {"the same address on another device is another endpoint",
         {{"10.2.0.2", 3, S, 2}, {NULL}},
         {{"10.2.0.2", 4, S}, {NULL}},
         {2},
         FALSE,
         "delete #2 10.2.0.2 3 subflow; add 10.2.0.2 4 subflow"},
        {"another's endpoint is deleted only with Owner=groupd; one in a wanted place is "
         "changed (the owner check before the diff stops groupd when it should not)",
         {{"10.9.0.9", 0, SG, 7}, {"10.1.0.2", 3, S | F, 8}, {NULL}},
         {{"10.1.0.2", 3, S}, {NULL}},
         {0},
         FALSE,
         "replace #8 10.1.0.2 3 subflow"},
        {"Owner=groupd: every endpoint is groupd's",
         {{"10.9.0.9", 0, SG, 7}, {NULL}},
         {{"10.1.0.2", 3, S}, {NULL}},
         {0},
         TRUE,
         "delete #7 10.9.0.9 0 signal; add 10.1.0.2 3 subflow"},
        {"another's endpoint with the address on another device (or none) blocks an add",
         {{"10.1.0.2", 0, SG, 7}, {"10.2.0.2", 9, S, 8}, {NULL}},
         {{"10.1.0.2", 3, S}, {"10.2.0.2", 4, S | B}, {NULL}},
         {0},
         FALSE,
         "blocked #7 10.1.0.2 3 subflow; blocked #8 10.2.0.2 4 subflow,backup"},
        {"… unless groupd may delete it",
         {{"10.1.0.2", 0, SG, 7}, {NULL}},
         {{"10.1.0.2", 3, S}, {NULL}},
         {0},
         TRUE,
         "delete #7 10.1.0.2 0 signal; add 10.1.0.2 3 subflow"},
        {"more than the kernel keeps: the first 8",
         {{"10.0.0.9", 9, S, 9}, {NULL}},
         {{"10.0.0.1", 1, S},
          {"10.0.0.2", 2, S},
          {"10.0.0.3", 3, S},
          {"10.0.0.4", 4, S},
          {"10.0.0.5", 5, S},
          {"10.0.0.6", 6, S},
          {"10.0.0.7", 7, S},
          {"10.0.0.8", 8, S},
          {"10.0.0.9", 9, S},
          {NULL}},
         {9},
         FALSE,
         "delete #9 10.0.0.9 9 subflow; add 10.0.0.1 1 subflow; add 10.0.0.2 2 subflow; "
         "add 10.0.0.3 3 subflow; add 10.0.0.4 4 subflow; add 10.0.0.5 5 subflow; "
         "add 10.0.0.6 6 subflow; add 10.0.0.7 7 subflow; add 10.0.0.8 8 subflow"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("%s", cases[i].what);
        g_autoptr(GArray) have = have_of(cases[i].have);
        g_autoptr(GArray) wants = wants_of(cases[i].wants);
        g_autoptr(GHashTable) owned = ids_of(cases[i].owned);
        g_autoptr(GArray) actions = gd_mp_endpoints_diff(have, wants, owned, cases[i].manage_all);
        g_autofree char *text = actions_text(actions);
        g_assert_cmpstr(text, ==, cases[i].actions);
    }
}

static void test_shared(void)
{
    /* wlan0 and wlan1 of wifi share 10.1.0.2 (an [Address] of the group);
     * wwan0 of cellular has it too. */
    GdMpState st = fx_state(GD_MPTCP_MODE_FAILOVER);
    const char *shared[] = {"10.1.0.2/24", NULL};
    const char *other[] = {"10.2.0.2/24", NULL};
    GdMpGroup *wifi = fx_add(&st, fx_group_healthy(WIFI, "wifi", TRUE));
    g_ptr_array_add(wifi->members, fx_member(3, "wlan0", FX_OK, shared));
    g_ptr_array_add(wifi->members, fx_member(6, "wlan1", FX_OK, shared));
    GdMpGroup *cell = fx_add(&st, fx_group_healthy(CELL, NULL, TRUE));
    g_ptr_array_add(cell->members, fx_member(4, "wwan0", FX_OK, shared));
    g_ptr_array_add(cell->members, fx_member(7, "wwan1", FX_OK, other));
    g_autoptr(GArray) wants = wants_of((const Ep[]){{"10.1.0.2", 3, S, WIFI},
                                                    {"10.1.0.2", 6, S, WIFI},
                                                    {"10.1.0.2", 4, S | B, CELL},
                                                    {"10.2.0.2", 7, S | B, CELL},
                                                    {NULL}});
    g_autoptr(GArray) dropped = gd_mp_endpoints_drop_shared(&st, wants);
    g_autofree char *kept = wants_text(wants);
    g_assert_cmpstr(kept, ==, "10.1.0.2 3 subflow; 10.2.0.2 7 subflow,backup");
    g_assert_cmpuint(dropped->len, ==, 2);
    const GdMpShared *d = &g_array_index(dropped, GdMpShared, 0);
    g_assert_cmpint(d->want.ep.ifindex, ==, 6);
    g_assert_cmpstr(d->text, ==,
                    "wlan1 (group wifi) and wlan0 (group wifi) share the address 10.1.0.2: the "
                    "kernel keeps one MPTCP endpoint per address, wlan1 gets none");
    d = &g_array_index(dropped, GdMpShared, 1);
    g_assert_cmpstr(d->text, ==,
                    "wwan0 (group 20) and wlan0 (group wifi) share the address 10.1.0.2: the "
                    "kernel keeps one MPTCP endpoint per address, wwan0 gets none");
    /* A want whose member is unknown (its link left) still says what it can. */
    g_autoptr(GArray) orphan =
        wants_of((const Ep[]){{"10.5.0.1", 8, S, 99}, {"10.5.0.1", 9, S, WIFI}, {NULL}});
    g_autoptr(GArray) dropped_orphan = gd_mp_endpoints_drop_shared(&st, orphan);
    g_assert_cmpstr(g_array_index(dropped_orphan, GdMpShared, 0).text, ==,
                    "? (group wifi) and ? (group ?) share the address 10.5.0.1: the kernel keeps "
                    "one MPTCP endpoint per address, ? gets none");
    fx_state_clear(&st);
}

static void test_flush_first(void)
{
    const struct {
        Ep have[4], wants[3];
        guint n_owned;
        gboolean manage_all, flush;
    } cases[] = {
        /* Taking over: none of two endpoints is wanted. */
        {{{"10.9.0.1", 0, SG, 1}, {"10.9.0.2", 0, SG, 2}, {NULL}},
         {{"10.1.0.2", 3, S}, {NULL}},
         0,
         TRUE,
         TRUE},
        /* One is wanted (backup aside): deletes one by one instead. */
        {{{"10.9.0.1", 0, SG, 1}, {"10.1.0.2", 3, S | B, 2}, {NULL}},
         {{"10.1.0.2", 3, S}, {NULL}},
         0,
         TRUE,
         FALSE},
        /* Wanted on another device, or with other flags: not wanted. */
        {{{"10.1.0.2", 4, S, 1}, {"10.1.0.3", 3, S | F, 2}, {NULL}},
         {{"10.1.0.2", 3, S}, {"10.1.0.3", 3, S}, {NULL}},
         0,
         TRUE,
         TRUE},
        /* Once groupd owns some: never (the flush closes live subflows). */
        {{{"10.9.0.1", 0, SG, 1}, {"10.9.0.2", 0, SG, 2}, {NULL}},
         {{"10.1.0.2", 3, S}, {NULL}},
         1,
         TRUE,
         FALSE},
        /* One endpoint: a delete is as cheap. */
        {{{"10.9.0.1", 0, SG, 1}, {NULL}}, {{"10.1.0.2", 3, S}, {NULL}}, 0, TRUE, FALSE},
        /* Not Owner=groupd: never. */
        {{{"10.9.0.1", 0, SG, 1}, {"10.9.0.2", 0, SG, 2}, {NULL}},
         {{"10.1.0.2", 3, S}, {NULL}},
         0,
         FALSE,
         FALSE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GArray) have = have_of(cases[i].have);
        g_autoptr(GArray) wants = wants_of(cases[i].wants);
        g_assert_cmpint(
            gd_mp_endpoints_flush_first(have, wants, cases[i].n_owned, cases[i].manage_all), ==,
            cases[i].flush);
    }
}

static void test_ownership(void)
{
    GdMpState st = three_groups(GD_MPTCP_MODE_FAILOVER);
    const Ep kernel[] = {
        {"10.1.0.2", 3, S | B, 1},  /* what wifi wants (backup aside) */
        {"fd01::2", 3, SG, 2},      /* wifi's address, other flags */
        {"10.2.0.2", 0, S, 3},      /* cellular's address, not bound to a device */
        {"10.3.0.2", 5, S | SG, 4}, /* vpn's, exactly */
        {"10.9.9.9", 3, S, 5},      /* no member has it */
        {NULL},
    };
    g_autoptr(GArray) have = have_of(kernel);
    const struct {
        guint index;
        gboolean found;
        uint32_t group;
    } groups[] = {{0, TRUE, WIFI}, {1, TRUE, WIFI}, {2, TRUE, CELL}, {3, TRUE, VPN}, {4, FALSE, 0}};
    for (guint i = 0; i < G_N_ELEMENTS(groups); i++) {
        uint32_t group = 0;
        g_assert_cmpint(gd_mp_endpoints_group_of(
                            &st, &g_array_index(have, GdMptcpEndpoint, groups[i].index), &group),
                        ==, groups[i].found);
        g_assert_cmpuint(group, ==, groups[i].group);
    }
    /* Adopted: bound to the member, the group's flags but for backup, not
     * owned yet. */
    g_autoptr(GHashTable) owned = ids_of((const uint8_t[]){4, 0});
    g_autoptr(GArray) adopt_groups = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_autoptr(GArray) adopt = gd_mp_endpoints_adoptable(&st, have, owned, adopt_groups);
    g_assert_cmpuint(adopt->len, ==, 1);
    g_assert_cmpuint(g_array_index(adopt, guint, 0), ==, 0);
    g_assert_cmpuint(g_array_index(adopt_groups, uint32_t, 0), ==, WIFI);

    /* What the bus shows: owned and a member's address. */
    g_hash_table_add(owned, GUINT_TO_POINTER(5));
    g_autoptr(GArray) info = gd_mp_endpoints_info(&st, have, owned);
    g_assert_cmpuint(info->len, ==, 5);
    for (guint i = 0; i < info->len; i++) {
        const GdMptcpEndpointInfo *e = &g_array_index(info, GdMptcpEndpointInfo, i);
        g_assert_cmpint(e->owned, ==, i == 3);
        g_assert_cmpstr(e->ifname, ==, "");
    }
    g_assert_cmpuint(g_array_index(info, GdMptcpEndpointInfo, 3).group, ==, VPN);

    /* After adds: the new ids that are wanted become groupd's. */
    g_autoptr(GHashTable) before = ids_of((const uint8_t[]){1, 2, 3, 0});
    g_autoptr(GArray) wants =
        wants_of((const Ep[]){{"10.3.0.2", 5, S}, {"10.9.9.9", 4, S}, {NULL}});
    g_autoptr(GHashTable) mine = g_hash_table_new(NULL, NULL);
    gd_mp_endpoints_claim_new(have, wants, before, mine);
    g_assert_cmpuint(g_hash_table_size(mine), ==, 1); /* 10.9.9.9 is wanted on another device */
    g_assert_true(g_hash_table_contains(mine, GUINT_TO_POINTER(4)));
    fx_state_clear(&st);
}

static void test_state_text(void)
{
    const Ep kernel[] = {
        {"10.1.0.2", 3, S, 1}, {"fd01::2", 3, S, 2}, {"10.9.0.1", 0, SG, 3}, {NULL}};
    g_autoptr(GArray) have = have_of(kernel);
    g_autoptr(GHashTable) owned = ids_of((const uint8_t[]){1, 2, 0});
    g_autofree char *text = gd_mp_endpoints_owned_text(have, owned);
    g_assert_cmpstr(text, ==,
                    "# endpoints groupd made: id address ifindex\n1 10.1.0.2 3\n2 fd01::2 3\n");
    /* Read back against the kernel's endpoints: only what still matches
     * (same id, address and device) is groupd's. */
    const Ep now[] = {{"10.1.0.2", 3, S, 1}, {"fd01::2", 4, S, 2}, {"10.9.0.1", 0, SG, 3}, {NULL}};
    g_autoptr(GArray) after = have_of(now);
    g_autoptr(GHashTable) known = g_hash_table_new(NULL, NULL);
    gd_mp_endpoints_owned_parse(text, after, known);
    g_assert_cmpuint(g_hash_table_size(known), ==, 1);
    g_assert_true(g_hash_table_contains(known, GUINT_TO_POINTER(1)));
    /* Lines that are not "id address ifindex" are ignored. */
    g_autoptr(GHashTable) none = g_hash_table_new(NULL, NULL);
    gd_mp_endpoints_owned_parse("garbage\n1 10.1.0.2\n\n# 1 10.1.0.2 3\n", after, none);
    g_assert_cmpuint(g_hash_table_size(none), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptcp/endpoints/desired", test_desired);
    g_test_add_func("/mptcp/endpoints/desired-members", test_desired_members);
    g_test_add_func("/mptcp/endpoints/diff", test_diff);
    g_test_add_func("/mptcp/endpoints/shared", test_shared);
    g_test_add_func("/mptcp/endpoints/flush-first", test_flush_first);
    g_test_add_func("/mptcp/endpoints/ownership", test_ownership);
    g_test_add_func("/mptcp/endpoints/state-text", test_state_text);
    return g_test_run();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/policy/conflicts.c: a group policy against what another network
 * manager applies to a link — each attribute, both values and the source;
 * OtherManagers=yield through the planner (the link not moved in, the
 * attribute left out of the group message, no address added); the JSON. */
#include "policy/conflicts.h"

#include "policy/ops.h"

#include <linux/if_arp.h>
#include <string.h>

static GdConfig *config_of(const char *const *texts)
{
    GdConfig *config = g_new0(GdConfig, 1);
    gd_daemon_config_init(&config->daemon);
    config->policies = g_ptr_array_new_with_free_func((GDestroyNotify)gd_group_policy_free);
    for (guint i = 0; texts[i]; i++) {
        g_autofree char *path = g_strdup_printf("/x/%02u.group", i);
        g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
        GdGroupPolicy *p = gd_group_policy_parse(path, texts[i], strlen(texts[i]), NULL, errors);
        for (guint e = 0; e < errors->len; e++)
            g_test_message("%s", (char *)errors->pdata[e]);
        g_assert_nonnull(p);
        g_ptr_array_add(config->policies, p);
    }
    return config;
}

static GdLink *link_new(int ifindex, const char *name, uint32_t group, uint32_t mtu,
                        const char *addr)
{
    GdLink *link = g_new0(GdLink, 1);
    link->nl.ifindex = ifindex;
    g_strlcpy(link->nl.name, name, sizeof(link->nl.name));
    link->nl.group = group;
    link->nl.mtu = mtu;
    link->nl.max_mtu = 65535;
    link->nl.txqlen = 1000;
    link->nl.flags = IFF_UP;
    link->nl.arptype = ARPHRD_ETHER;
    link->nl.hwaddr_len = 6;
    link->nl.hwaddr[0] = 0x02;
    link->nl.hwaddr[5] = (uint8_t)ifindex;
    link->addrs = g_array_new(FALSE, TRUE, sizeof(GdNlAddr));
    if (addr) {
        GdNlAddr a;
        g_assert_cmpint(gd_nl_cidr_parse(addr, &a), ==, 0);
        a.ifindex = ifindex;
        g_array_append_val(link->addrs, a);
    }
    return link;
}

static void link_free(GdLink *link)
{
    g_array_unref(link->addrs);
    g_free(link);
}

/* NetworkManager's profile "Home": MTU 1500, up, 10.0.0.2/24 (IPv4 owned). */
static GdPeerLink *home(void)
{
    GdPeerLink *p = gd_peer_link_new(GD_PEER_NETWORKMANAGER);
    p->source = g_strdup("Home");
    p->set_mtu = TRUE;
    p->mtu = 1500;
    p->set_state = p->up = TRUE;
    p->owns_addresses[0] = TRUE;
    GdNlAddr a;
    gd_nl_cidr_parse("10.0.0.2/24", &a);
    a.ifindex = 0;
    g_array_append_val(p->addresses, a);
    return p;
}

static char *describe(const GPtrArray *conflicts)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < conflicts->len; i++) {
        const GdConflict *c = conflicts->pdata[i];
        g_string_append_printf(s, "%s%s %s %s/%s %s %s%s%s", s->len ? "; " : "", c->link,
                               gd_conflict_attr_name(c->attr), c->ours, c->theirs,
                               gd_peer_kind_name(c->manager), c->source, c->yield ? " yield" : "",
                               c->differs ? " differs" : "");
    }
    return g_string_free(s, FALSE);
}

static void test_of_link(void)
{
    g_autoptr(GdPeerLink) nm = home();
    GdLink *link = link_new(3, "wlan0", 0, 1500, "10.0.0.2/24");
    GArray *addresses = g_array_new(FALSE, TRUE, sizeof(GdNlAddr));
    GdNlAddr a;
    gd_nl_cidr_parse("10.9.0.1/24", &a);
    a.ifindex = 0;
    g_array_append_val(addresses, a);
    gd_nl_cidr_parse("fd00::1/64", &a); /* IPv6: NetworkManager leaves it (not owned) */
    a.ifindex = 0;
    g_array_append_val(addresses, a);

    const struct {
        GdNlLinkChange desired;
        gboolean with_addresses, yield;
        guint32 mask;
        const char *want;
    } cases[] = {
        /* Same values, or nothing the policy sets: none. */
        {{.set_mtu = true, .mtu = 1500, .set_state = true, .up = true}, FALSE, FALSE, 0, ""},
        {{.set_txqlen = true, .txqlen = 5}, FALSE, FALSE, 0, ""},
        {{.set_mtu = true, .mtu = 1400},
         FALSE,
         FALSE,
         GD_CONFLICT_BIT(GD_CONFLICT_MTU),
         "wlan0 MTU 1400/1500 NetworkManager Home differs"},
        {{.set_state = true, .up = false},
         FALSE,
         TRUE,
         GD_CONFLICT_BIT(GD_CONFLICT_STATE),
         "wlan0 State down/up NetworkManager Home yield differs"},
        {{.set_mtu = true, .mtu = 1400},
         TRUE,
         FALSE,
         GD_CONFLICT_BIT(GD_CONFLICT_MTU) | GD_CONFLICT_BIT(GD_CONFLICT_GROUP) |
             GD_CONFLICT_BIT(GD_CONFLICT_ADDRESS),
         "wlan0 MTU 1400/1500 NetworkManager Home differs; "
         "wlan0 Group 100/7 NetworkManager Home differs; "
         "wlan0 Address 10.9.0.1/24/10.0.0.2/24 NetworkManager Home differs"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)gd_conflict_free);
        if (i == 4) {
            nm->set_group = TRUE;
            nm->group = 7;
        }
        guint32 mask = gd_conflicts_of_link(link, 100, &cases[i].desired,
                                            cases[i].with_addresses ? addresses : NULL,
                                            cases[i].yield, nm, out);
        g_assert_cmphex(mask, ==, cases[i].mask);
        g_autofree char *text = describe(out);
        g_assert_cmpstr(text, ==, cases[i].want);
    }
    /* The link already shows groupd's MTU: a conflict, but no repair due. */
    link->nl.mtu = 1400;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)gd_conflict_free);
    const GdNlLinkChange mtu = {.set_mtu = true, .mtu = 1400};
    gd_conflicts_of_link(link, 100, &mtu, NULL, FALSE, nm, out);
    g_autofree char *text = describe(out);
    g_assert_cmpstr(text, ==,
                    "wlan0 MTU 1400/1500 NetworkManager Home; "
                    "wlan0 Group 100/7 NetworkManager Home differs");
    g_autofree char *key = gd_conflict_key(out->pdata[0]);
    g_assert_cmpstr(key, ==, "3/MTU/1400");
    /* A manager that applies no profile: none. */
    g_clear_pointer(&nm->source, g_free);
    g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func((GDestroyNotify)gd_conflict_free);
    g_assert_cmphex(gd_conflicts_of_link(link, 100, &mtu, addresses, FALSE, nm, none), ==, 0);
    g_assert_cmpuint(none->len, ==, 0);
    g_array_unref(addresses);
    link_free(link);
}

/* MAC address and transmit queue length: both values; a link that shows
 * groupd's value already is a conflict with no repair due. */
static void test_mac_and_txqlen(void)
{
    g_autoptr(GdPeerLink) peer = gd_peer_link_new(GD_PEER_NETWORKD);
    peer->source = g_strdup("/etc/systemd/network/50-en0.network");
    peer->set_hwaddr = TRUE;
    peer->hwaddr_len = gd_nl_hwaddr_parse("02:00:00:00:00:09", peer->hwaddr, sizeof(peer->hwaddr));
    peer->set_txqlen = TRUE;
    peer->txqlen = 500;
    GdLink *link = link_new(5, "en0", 0, 1500, NULL);

    GdNlLinkChange desired = {.set_hwaddr = true, .set_txqlen = true, .txqlen = 1000};
    desired.hwaddr_len =
        gd_nl_hwaddr_parse("02:00:00:00:00:10", desired.hwaddr, sizeof(desired.hwaddr));
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)gd_conflict_free);
    guint32 mask = gd_conflicts_of_link(link, 100, &desired, NULL, FALSE, peer, out);
    g_assert_cmphex(mask, ==,
                    GD_CONFLICT_BIT(GD_CONFLICT_HWADDR) | GD_CONFLICT_BIT(GD_CONFLICT_TXQLEN));
    g_autofree char *text = describe(out);
    g_assert_cmpstr(text, ==,
                    "en0 MACAddress 02:00:00:00:00:10/02:00:00:00:00:09 systemd-networkd "
                    "/etc/systemd/network/50-en0.network differs; "
                    "en0 TxQueueLength 1000/500 systemd-networkd "
                    "/etc/systemd/network/50-en0.network");

    /* The same values: none. */
    peer->txqlen = 1000;
    memcpy(peer->hwaddr, desired.hwaddr, desired.hwaddr_len);
    g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func((GDestroyNotify)gd_conflict_free);
    g_assert_cmphex(gd_conflicts_of_link(link, 100, &desired, NULL, FALSE, peer, none), ==, 0);
    g_assert_cmpuint(none->len, ==, 0);
    link_free(link);
}

/* wlan0 is NetworkManager's ("Home"), eth1 nobody's. */
static const GdPeerLink *lookup(int ifindex, const char *ifname, gpointer data)
{
    return g_str_equal(ifname, "wlan0") ? data : NULL;
}

static GdPlan *plan_of(const char *const *texts, GdLink **links, guint n, GPtrArray **conflicts)
{
    g_autoptr(GdConfig) config = config_of(texts);
    g_autoptr(GdPeerLink) nm = home();
    g_autofree GdPlanLinkFacts *facts = g_new0(GdPlanLinkFacts, n);
    for (guint i = 0; i < n; i++) {
        facts[i].link = links[i];
        gd_plan_match_input(links[i], NULL, NULL, &facts[i].match);
    }
    *conflicts = gd_conflicts_prepare(config, NULL, facts, n, lookup, nm);
    GdPlan *plan = NULL;
    g_assert_cmpint(gd_plan_build(config, facts, n, NULL, &plan), ==, 0);
    plan->conflicts = g_ptr_array_ref(*conflicts);
    return plan;
}

static void test_enforce_and_yield(void)
{
    GdLink *links[] = {link_new(3, "wlan0", 0, 1500, "10.0.0.2/24"),
                       link_new(4, "eth1", 0, 1500, NULL)};
    const char *enforce[] = {"[Group]\nId=100\n[Match]\nName=wlan0 eth1\n[Link]\nMTU=1400\n"
                             "[Address]\nAddress=10.9.0.1/24\n",
                             NULL};
    g_autoptr(GPtrArray) c1 = NULL;
    g_autoptr(GdPlan) p1 = plan_of(enforce, links, 2, &c1);
    g_autofree char *t1 = describe(c1);
    g_assert_cmpstr(t1, ==,
                    "wlan0 MTU 1400/1500 NetworkManager Home differs; "
                    "wlan0 Address 10.9.0.1/24/10.0.0.2/24 NetworkManager Home differs");
    const GdPlanGroup *g1 = gd_plan_group(p1, 100);
    g_assert_cmpuint(g1->moves->len, ==, 2);
    g_assert_true(g1->change.set_mtu);
    g_assert_cmpuint(g1->addr_adds->len, ==, 1);
    GdPlanAddrAdd *add = g1->addr_adds->pdata[0];
    g_assert_cmpuint(add->targets->len, ==, 2);
    g_autofree char *json = gd_plan_to_json(p1);
    g_assert_nonnull(strstr(json, "\"conflicts\":[{\"link\":\"wlan0\",\"attribute\":\"MTU\","
                                  "\"groupd\":\"1400\",\"other\":\"1500\",\"manager\":"
                                  "\"NetworkManager\",\"source\":\"Home\",\"action\":\"enforce\","
                                  "\"repairs\":0},"));

    /* Yield: wlan0 is left out; eth1 joins and gets the MTU and address. */
    const char *yield[] = {"[Group]\nId=100\nOtherManagers=yield\n[Match]\nName=wlan0 eth1\n"
                           "[Link]\nMTU=1400\n[Address]\nAddress=10.9.0.1/24\n",
                           NULL};
    g_autoptr(GPtrArray) c2 = NULL;
    g_autoptr(GdPlan) p2 = plan_of(yield, links, 2, &c2);
    g_autofree char *t2 = describe(c2);
    g_assert_cmpstr(t2, ==,
                    "wlan0 MTU 1400/1500 NetworkManager Home yield differs; "
                    "wlan0 Address 10.9.0.1/24/10.0.0.2/24 NetworkManager Home yield differs");
    const GdPlanGroup *g2 = gd_plan_group(p2, 100);
    g_assert_cmpuint(g2->moves->len, ==, 1);
    g_assert_cmpint(g_array_index(g2->moves, GdPlanMove, 0).ifindex, ==, 4);
    g_assert_true(g2->change.set_mtu);
    g_autofree char *json2 = gd_plan_to_json(p2);
    g_assert_nonnull(strstr(json2, "\"action\":\"yield\""));

    /* Yield with wlan0 already a member (put there by hand): the MTU is
     * left out of the group message, no address is added to wlan0. */
    links[0]->nl.group = 100;
    links[1]->nl.group = 100;
    g_autoptr(GPtrArray) c3 = NULL;
    g_autoptr(GdPlan) p3 = plan_of(yield, links, 2, &c3);
    const GdPlanGroup *g3 = gd_plan_group(p3, 100);
    g_assert_cmpuint(g3->moves->len, ==, 0);
    g_assert_false(g3->change.set_mtu);
    g_assert_cmpuint(g3->addr_adds->len, ==, 1);
    add = g3->addr_adds->pdata[0];
    g_assert_cmpuint(add->targets->len, ==, 1);
    g_assert_cmpint(g_array_index(add->targets, int, 0), ==, 4);

    /* [Match] ManagedBy=: wlan0 is NetworkManager's, eth1 nobody's. */
    links[0]->nl.group = links[1]->nl.group = 0;
    const char *by[] = {"[Group]\nId=10\n[Match]\nManagedBy=NetworkManager\n",
                        "[Group]\nId=20\n[Match]\nManagedBy=none\n", NULL};
    g_autoptr(GPtrArray) c4 = NULL;
    g_autoptr(GdPlan) p4 = plan_of(by, links, 2, &c4);
    g_assert_cmpuint(gd_plan_group(p4, 10)->moves->len, ==, 1);
    g_assert_cmpint(g_array_index(gd_plan_group(p4, 10)->moves, GdPlanMove, 0).ifindex, ==, 3);
    g_assert_cmpint(g_array_index(gd_plan_group(p4, 20)->moves, GdPlanMove, 0).ifindex, ==, 4);
    link_free(links[0]);
    link_free(links[1]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/conflicts/of-link", test_of_link);
    g_test_add_func("/conflicts/mac-and-txqlen", test_mac_and_txqlen);
    g_test_add_func("/conflicts/enforce-and-yield", test_enforce_and_yield);
    return g_test_run();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/policy/planner.c, table-driven: policies parsed from
 * group file texts, links built by hand as the cache holds them, and the
 * plan checked through its operations (kind, group, change, address,
 * targets in ifindex order) and per-group figures (members, drift,
 * problems, the desired state). Every case also runs with the links given
 * in reverse order, and its JSON must parse. Then: hot-plug in two runs,
 * JSON text exactly, escaping, bad input.
 */
#include "policy/planner.h"

#include <errno.h>
#include <glib.h>
#include <linux/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_ITEMS 12

/* ---- building the inputs ---- */

typedef struct {
    int ifindex; /* 0 ends a list */
    const char *name;
    uint32_t group;
    uint32_t mtu; /* 0: 1500 */
    gboolean up;
    uint32_t txqlen;   /* 0: 1000 */
    uint32_t max_mtu;  /* 0: 65535 */
    const char *kind;  /* NULL: none */
    const char *type;  /* NULL: "ether" (what sysfs would say) */
    const char *addrs; /* space-separated CIDRs, NULL: none */
    const char *mac;   /* NULL: 02:00:00:00:00:<ifindex>, "": none */
} LinkSpec;

typedef struct {
    uint32_t id;       /* with props NULL: no override */
    const char *props; /* "MTU=1300 State=down …" */
} OverrideSpec;

static GdGroupNames *test_names(void)
{
    const char *text = "10 ten\n100 ppp\n200 veth\n300 tun\n";
    return gd_group_names_parse(text, strlen(text), NULL);
}

/* A configuration with the policies in the order given (as the loader
 * sorts them by file name, the names are made to sort that way). */
static GdConfig *make_config(const char *const *texts)
{
    g_autoptr(GdGroupNames) names = test_names();
    GdConfig *config = g_new0(GdConfig, 1);
    gd_daemon_config_init(&config->daemon);
    config->policies = g_ptr_array_new_with_free_func((GDestroyNotify)gd_group_policy_free);
    for (guint i = 0; texts[i]; i++) {
        g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *path = g_strdup_printf("/x/%02u-test.group", i);
        GdGroupPolicy *policy =
            gd_group_policy_parse(path, texts[i], strlen(texts[i]), names, errors);
        for (guint e = 0; e < errors->len; e++)
            g_test_message("%s", (char *)errors->pdata[e]);
        g_assert_nonnull(policy);
        g_ptr_array_add(config->policies, policy);
    }
    return config;
}

static GdLink *make_link(const LinkSpec *spec)
{
    GdLink *link = g_new0(GdLink, 1);
    link->nl.ifindex = spec->ifindex;
    g_strlcpy(link->nl.name, spec->name, sizeof(link->nl.name));
    link->nl.group = spec->group;
    link->nl.mtu = spec->mtu ? spec->mtu : 1500;
    link->nl.min_mtu = 68;
    link->nl.max_mtu = spec->max_mtu ? spec->max_mtu : 65535;
    link->nl.txqlen = spec->txqlen ? spec->txqlen : 1000;
    link->nl.flags = spec->up ? IFF_UP : 0;
    link->nl.arptype = ARPHRD_ETHER;
    link->nl.carrier = -1;
    if (!spec->mac) {
        const uint8_t mac[6] = {0x02, 0, 0, 0, 0, (uint8_t)spec->ifindex};
        memcpy(link->nl.hwaddr, mac, sizeof(mac));
        link->nl.hwaddr_len = sizeof(mac);
    } else if (*spec->mac) {
        int len = gd_nl_hwaddr_parse(spec->mac, link->nl.hwaddr, sizeof(link->nl.hwaddr));
        g_assert_cmpint(len, >, 0);
        link->nl.hwaddr_len = len;
    }
    if (spec->kind)
        g_strlcpy(link->nl.kind, spec->kind, sizeof(link->nl.kind));
    link->addrs = g_array_new(FALSE, FALSE, sizeof(GdNlAddr));
    g_auto(GStrv) cidrs = g_strsplit(spec->addrs ? spec->addrs : "", " ", -1);
    for (guint i = 0; cidrs[i]; i++) {
        if (!*cidrs[i])
            continue;
        GdNlAddr addr;
        g_assert_cmpint(gd_nl_cidr_parse(cidrs[i], &addr), ==, 0);
        addr.ifindex = spec->ifindex;
        g_array_append_val(link->addrs, addr);
    }
    return link;
}

static void link_free(GdLink *link)
{
    g_array_unref(link->addrs);
    g_free(link);
}

/* The links of specs and their facts; facts point into links. */
typedef struct {
    GPtrArray *links; /* GdLink * */
    GArray *facts;    /* GdPlanLinkFacts */
} Snapshot;

static void snapshot_init(Snapshot *snap, const LinkSpec *specs, gboolean reverse)
{
    snap->links = g_ptr_array_new_with_free_func((GDestroyNotify)link_free);
    snap->facts = g_array_new(FALSE, TRUE, sizeof(GdPlanLinkFacts));
    guint n = 0;
    while (specs[n].ifindex)
        n++;
    for (guint i = 0; i < n; i++) {
        const LinkSpec *spec = &specs[reverse ? n - 1 - i : i];
        GdLink *link = make_link(spec);
        g_ptr_array_add(snap->links, link);
        GdPlanLinkFacts facts = {.link = link};
        gd_plan_match_input(link, spec->type ? spec->type : "ether", NULL, &facts.match);
        g_array_append_val(snap->facts, facts);
    }
}

static void snapshot_clear(Snapshot *snap)
{
    g_clear_pointer(&snap->facts, g_array_unref);
    g_clear_pointer(&snap->links, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Snapshot, snapshot_clear)

static void parse_props(const char *props, GdNlLinkChange *change)
{
    g_auto(GStrv) items = g_strsplit(props, " ", -1);
    memset(change, 0, sizeof(*change));
    for (guint i = 0; items[i]; i++) {
        const char *value = strchr(items[i], '=') + 1;
        if (g_str_has_prefix(items[i], "MTU=")) {
            change->set_mtu = true;
            change->mtu = atoi(value);
        } else if (g_str_has_prefix(items[i], "State=")) {
            change->set_state = true;
            change->up = g_str_equal(value, "up");
        } else if (g_str_has_prefix(items[i], "TxQueueLength=")) {
            change->set_txqlen = true;
            change->txqlen = atoi(value);
        } else if (g_str_has_prefix(items[i], "MACAddress=")) {
            change->set_hwaddr = true;
            change->hwaddr_len = gd_nl_hwaddr_parse(value, change->hwaddr, sizeof(change->hwaddr));
        } else {
            g_assert_not_reached();
        }
    }
}

/* ---- describing the outputs ---- */

static void append_change(GString *s, const GdNlLinkChange *change)
{
    if (change->set_mtu)
        g_string_append_printf(s, " MTU=%u", change->mtu);
    if (change->set_state)
        g_string_append_printf(s, " State=%s", change->up ? "up" : "down");
    if (change->set_hwaddr) {
        g_autofree char *mac = gd_nl_hwaddr_format(change->hwaddr, change->hwaddr_len);
        g_string_append_printf(s, " MACAddress=%s", mac);
    }
    if (change->set_txqlen)
        g_string_append_printf(s, " TxQueueLength=%u", change->txqlen);
}

/* "move 100: 2 4", "change 100 MTU=1400: 1 2", "addr-add 100 10.0.0.1/32: 3" */
static char *describe_op(const GdOp *op)
{
    GString *s = g_string_new(NULL);
    switch (op->kind) {
    case GD_OP_SET_LINK_GROUP:
        g_string_append_printf(s, "move %u", op->group);
        break;
    case GD_OP_GROUP_CHANGE:
        g_string_append_printf(s, "change %u", op->group);
        append_change(s, &op->change);
        break;
    case GD_OP_ADDR_ADD:
    case GD_OP_ADDR_DEL: {
        g_autofree char *addr = gd_nl_addr_format(&op->addr);
        g_string_append_printf(s, "%s %u %s", op->kind == GD_OP_ADDR_ADD ? "addr-add" : "addr-del",
                               op->group, addr);
        /* The executor sets ifindex per target. */
        g_assert_cmpint(op->addr.ifindex, ==, 0);
        break;
    }
    }
    g_string_append_c(s, ':');
    for (guint i = 0; i < op->targets->len; i++)
        g_string_append_printf(s, " %d", g_array_index(op->targets, int, i));
    /* Nothing here is filled before the executor ran. */
    g_assert_null(op->acks);
    g_assert_cmpint(op->error, ==, 0);
    return g_string_free(s, FALSE);
}

/* "100 ppp: members=3 current=2 drifted=1 desired= MTU=1400 [override]
 *  [problems=a; b]" */
static char *describe_group(const GdPlanGroup *group)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%u %s: members=%u current=%u drifted=%u desired=", group->id,
                           group->name ? group->name : "-", group->members->len, group->n_current,
                           group->drifted);
    append_change(s, &group->desired);
    if (group->overridden)
        g_string_append(s, " override");
    if (group->problems->len > 0) {
        g_string_append(s, " problems=");
        for (guint i = 0; i < group->problems->len; i++)
            g_string_append_printf(s, "%s%s", i ? "; " : "", (char *)group->problems->pdata[i]);
    }
    return g_string_free(s, FALSE);
}

static void assert_strings(GPtrArray *got, const char *const *want, const char *what)
{
    guint n_want = 0;
    while (n_want < MAX_ITEMS && want[n_want])
        n_want++;
    for (guint i = 0; i < got->len; i++)
        g_test_message("%s got:  %s", what, (char *)got->pdata[i]);
    for (guint i = 0; i < n_want; i++)
        g_test_message("%s want: %s", what, want[i]);
    for (guint i = 0; i < MIN(got->len, n_want); i++)
        g_assert_cmpstr(got->pdata[i], ==, want[i]);
    g_assert_cmpuint(got->len, ==, n_want);
}

/* ---- a tiny JSON checker (RFC 8259 grammar, no semantics) ---- */

static void json_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

static gboolean json_value(const char **p, guint depth);

static gboolean json_str(const char **p)
{
    if (**p != '"')
        return FALSE;
    for ((*p)++; **p != '"'; (*p)++) {
        if ((unsigned char)**p < 0x20)
            return FALSE;
        if (**p != '\\')
            continue;
        (*p)++;
        if (**p == 'u') {
            for (int i = 1; i <= 4; i++)
                if (!g_ascii_isxdigit((*p)[i]))
                    return FALSE;
            *p += 4;
        } else if (!strchr("\"\\/bfnrt", **p) || !**p) {
            return FALSE;
        }
    }
    (*p)++;
    return TRUE;
}

static gboolean json_container(const char **p, guint depth, char close, gboolean object)
{
    (*p)++;
    json_ws(p);
    if (**p == close) {
        (*p)++;
        return TRUE;
    }
    for (;;) {
        if (object) {
            json_ws(p);
            if (!json_str(p))
                return FALSE;
            json_ws(p);
            if (*(*p)++ != ':')
                return FALSE;
        }
        if (!json_value(p, depth + 1))
            return FALSE;
        json_ws(p);
        char c = *(*p)++;
        if (c == close)
            return TRUE;
        if (c != ',')
            return FALSE;
    }
}

static gboolean json_value(const char **p, guint depth)
{
    if (depth > 32)
        return FALSE;
    json_ws(p);
    switch (**p) {
    case '{':
        return json_container(p, depth, '}', TRUE);
    case '[':
        return json_container(p, depth, ']', FALSE);
    case '"':
        return json_str(p);
    }
    for (const char *word = "true\0false\0null\0"; *word; word += strlen(word) + 1)
        if (g_str_has_prefix(*p, word)) {
            *p += strlen(word);
            return TRUE;
        }
    const char *start = *p;
    if (**p == '-')
        (*p)++;
    if (**p == '0')
        (*p)++;
    else
        while (g_ascii_isdigit(**p))
            (*p)++;
    return *p > start && g_ascii_isdigit((*p)[-1]);
}

static void assert_json_valid(const char *json)
{
    const char *p = json;
    g_assert_true(g_utf8_validate(json, -1, NULL));
    if (!json_value(&p, 0))
        g_error("invalid JSON at offset %td: %s", p - json, json);
    json_ws(&p);
    g_assert_cmpint(*p, ==, '\0');
}

static void test_json_checker(void)
{
    const char *good[] = {"{}", "[]", "{\"a\":[1,-2,0,true,false,null,\"x\\u00e9\\n\"]}",
                          " { \"a\" : { } } "};
    const char *bad[] = {"{", "[1,]", "{\"a\"}", "\"\x01\"", "01x", "{\"a\":1}}", "\"\\x\"", "tru"};
    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        const char *p = good[i];
        g_assert_true(json_value(&p, 0));
        json_ws(&p);
        g_assert_cmpint(*p, ==, '\0');
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *p = bad[i];
        gboolean ok = json_value(&p, 0);
        json_ws(&p);
        g_assert_false(ok && *p == '\0');
    }
}

/* ---- the table ---- */

/* Group file texts. */
#define P_TEN_PPP0 "[Group]\nName=ten\nId=10\n[Match]\nName=ppp0 ppp9\n"
#define P_PPP_BARE "[Group]\nName=ppp\nId=100\n[Match]\nName=ppp*\n"
#define P_PPP                                                                                      \
    "[Group]\nName=ppp\nId=100\n[Match]\nName=ppp*\n[Link]\nMTU=1400\nState=up\n"                  \
    "[Address]\nAddress=10.0.0.1/32\n"
#define P_VETH "[Group]\nName=veth\nId=200\n[Match]\nKind=veth\n"

typedef struct {
    const char *id; /* the test path */
    const char *name;
    const char *policies[MAX_ITEMS]; /* config order */
    LinkSpec links[MAX_ITEMS];
    OverrideSpec overrides[3];
    const char *ops[MAX_ITEMS];    /* describe_op() of each op, in order */
    const char *groups[MAX_ITEMS]; /* describe_group() of each policy */
} PlanCase;

static const PlanCase plan_cases[] = {
    {
        .id = "first-match",
        .name = "first match wins across overlapping policies",
        .policies = {P_TEN_PPP0, P_PPP_BARE},
        .links =
            {
                {1, "ppp0", 0},
                {2, "ppp1", 0},
                {3, "ppp2", 100},
                {4, "ppp3", 10}, /* in ten's group, belongs to ppp: moved out */
            },
        .ops = {"move 10: 1", "move 100: 2 4"},
        .groups =
            {
                "10 ten: members=1 current=1 drifted=0 desired=",
                "100 ppp: members=3 current=1 drifted=0 desired=",
            },
    },
    {
        .id = "policy-order",
        .name = "policy order decides, not specificity",
        .policies = {P_PPP_BARE, P_TEN_PPP0},
        .links = {{1, "ppp0", 0}, {2, "ppp1", 10}},
        .ops = {"move 100: 1 2"},
        .groups =
            {
                "100 ppp: members=2 current=0 drifted=0 desired=",
                "10 ten: members=0 current=1 drifted=0 desired=",
            },
    },
    {
        .id = "unmatched-untouched",
        .name = "links matching no policy are untouched",
        .policies = {P_PPP},
        .links =
            {
                {1, "lo", 0, .mtu = 65536},
                {2, "eth0", 5, .mtu = 9000}, /* a group without policy */
                {3, "wlan0", 0, .type = "wlan"},
            },
        .groups = {"100 ppp: members=0 current=0 drifted=0 desired= MTU=1400 State=up"},
    },
    {
        .id = "moves",
        .name = "moves only for links outside their group",
        .policies = {P_VETH},
        .links =
            {
                {1, "veth0", 200, .kind = "veth"},
                {2, "veth1", 0, .kind = "veth"},
                {3, "veth2", 200, .kind = "veth"},
                {4, "eth0", 0},
                {7, "veth3", 300, .kind = "veth"},
            },
        .ops = {"move 200: 2 7"},
        .groups = {"200 veth: members=4 current=2 drifted=0 desired="},
    },
    {
        .id = "change-differing-only",
        .name = "group change carries only the attributes some member lacks",
        .policies = {"[Group]\nId=100\n[Match]\nName=ppp*\n[Link]\nMTU=1400\nState=up\n"
                     "TxQueueLength=500\n"},
        .links =
            {
                {1, "ppp0", 100, .mtu = 1400, .up = TRUE, .txqlen = 1000},
                {2, "ppp1", 100, .mtu = 1500, .up = TRUE, .txqlen = 500},
            },
        .ops = {"change 100 MTU=1400 TxQueueLength=500: 1 2"},
        .groups = {"100 ppp: members=2 current=2 drifted=2 desired= MTU=1400 State=up "
                   "TxQueueLength=500"},
    },
    {
        .id = "state-down",
        .name = "State=down reaches the members that are up",
        .policies = {"[Group]\nId=100\n[Match]\nName=ppp*\n[Link]\nState=down\n"},
        .links = {{1, "ppp0", 100}, {2, "ppp1", 100, .up = TRUE}, {3, "ppp2", 100}},
        .ops = {"change 100 State=down: 1 2 3"},
        .groups = {"100 ppp: members=3 current=3 drifted=1 desired= State=down"},
    },
    {
        .id = "all-match-empty",
        .name = "nothing to do when every member matches",
        .policies = {P_PPP, P_VETH},
        .links =
            {
                {1, "ppp0", 100, .mtu = 1400, .up = TRUE, .addrs = "10.0.0.1/32"},
                {2, "ppp1", 100, .mtu = 1400, .up = TRUE, .addrs = "fd00::9/64 10.0.0.1/32"},
                {3, "veth0", 200, .kind = "veth"},
                {4, "eth0", 0},
            },
        .groups =
            {
                "100 ppp: members=2 current=2 drifted=0 desired= MTU=1400 State=up",
                "200 veth: members=1 current=1 drifted=0 desired=",
            },
    },
    {
        .id = "addresses",
        .name = "addresses only for the members lacking them, none removed",
        .policies = {"[Group]\nId=100\n[Match]\nName=ppp*\n[Address]\nAddress=10.0.0.1/24\n"
                     "Address=fd00::1/64\n"},
        .links =
            {
                {1, "ppp0", 100, .addrs = "192.168.1.1/24 10.0.0.1/24 fd00::1/64"},
                {2, "ppp1", 100, .addrs = "10.0.0.1/24"},
                {3, "ppp2", 100},
                {4, "ppp3", 100, .addrs = "10.0.0.1/16 fd00::1/64"}, /* other prefix */
            },
        .ops = {"addr-add 100 10.0.0.1/24: 3 4", "addr-add 100 fd00::1/64: 2 3"},
        .groups = {"100 ppp: members=4 current=4 drifted=3 desired="},
    },
    {
        .id = "override",
        .name = "a runtime override is merged over [Link]",
        .policies = {P_PPP},
        .links =
            {
                {1, "ppp0", 100, .mtu = 1400, .up = TRUE, .addrs = "10.0.0.1/32"},
                {2, "ppp1", 100, .mtu = 1300, .up = TRUE, .addrs = "10.0.0.1/32"},
            },
        .overrides = {{100, "MTU=1300"}, {5, "MTU=1000"}},
        .ops = {"change 100 MTU=1300: 1 2"},
        .groups = {"100 ppp: members=2 current=2 drifted=1 desired= MTU=1300 State=up override"},
    },
    {
        .id = "override-adds",
        .name = "an override may add attributes the policy leaves alone",
        .policies = {"[Group]\nId=100\n[Match]\nName=ppp*\n[Link]\nMTU=1400\n"},
        .links = {{1, "ppp0", 100, .mtu = 1400, .up = TRUE}, {2, "ppp1", 100, .mtu = 1400}},
        .overrides = {{100, "State=down TxQueueLength=10"}},
        .ops = {"change 100 State=down TxQueueLength=10: 1 2"},
        .groups = {"100 ppp: members=2 current=2 drifted=2 desired= MTU=1400 State=down "
                   "TxQueueLength=10 override"},
    },
    {
        .id = "drift",
        .name = "drift counts the current members only",
        .policies = {P_PPP},
        .links =
            {
                {1, "ppp0", 100, .mtu = 1400, .up = TRUE, .addrs = "10.0.0.1/32"},
                {2, "ppp1", 100, .mtu = 1500, .up = TRUE, .addrs = "10.0.0.1/32"},
                {3, "ppp2", 100, .mtu = 1400, .up = TRUE},
                {4, "ppp3", 0, .mtu = 1500}, /* moving in: not drifted, just new */
            },
        .ops = {"move 100: 4", "change 100 MTU=1400 State=up: 1 2 3 4",
                "addr-add 100 10.0.0.1/32: 3 4"},
        .groups = {"100 ppp: members=4 current=3 drifted=2 desired= MTU=1400 State=up"},
    },
    {
        .id = "hand-placed",
        .name = "a link put in a policy group by hand gets the group change",
        .policies = {P_PPP},
        .links =
            {
                {1, "ppp0", 100, .mtu = 1400, .up = TRUE, .addrs = "10.0.0.1/32"},
                {2, "dummy0", 100, .kind = "dummy"},
                {3, "dummy1", 0, .kind = "dummy"},
            },
        .ops = {"change 100 MTU=1400 State=up: 1 2", "addr-add 100 10.0.0.1/32: 2"},
        .groups = {"100 ppp: members=2 current=2 drifted=1 desired= MTU=1400 State=up"},
    },
    {
        .id = "no-match-section",
        .name = "a policy without [Match] only manages hand-placed members",
        .policies = {"[Group]\nName=tun\nId=300\n[Link]\nMTU=1280\n"},
        .links = {{1, "tun0", 300}, {2, "tun1", 0}},
        .ops = {"change 300 MTU=1280: 1"},
        .groups = {"300 tun: members=1 current=1 drifted=1 desired= MTU=1280"},
    },
    {
        .id = "moved-out",
        .name = "a member of another policy leaves before the group change",
        .policies = {"[Group]\nId=100\n[Match]\nName=ppp*\n[Link]\nMTU=1400\n",
                     "[Group]\nId=200\n[Match]\nKind=veth\n[Link]\nMTU=9000\n"},
        .links =
            {
                {1, "ppp0", 100, .mtu = 1400},
                {2, "veth0", 100, .kind = "veth"},
            },
        .ops = {"move 200: 2", "change 200 MTU=9000: 2"},
        .groups =
            {
                "100 ppp: members=1 current=2 drifted=1 desired= MTU=1400",
                "200 veth: members=1 current=0 drifted=0 desired= MTU=9000",
            },
    },
    {
        .id = "validation",
        .name = "validation covers the members moving in",
        .policies = {"[Group]\nId=100\n[Match]\nName=ppp*\n[Link]\nMTU=9000\nState=up\n"},
        .links =
            {
                {1, "ppp0", 100, .up = TRUE},
                {2, "ppp1", 0, .up = TRUE, .max_mtu = 1500},
                {3, "ppp2", 0, .up = TRUE, .max_mtu = 4000},
            },
        .ops = {"move 100: 2 3", "change 100 MTU=9000: 1 2 3"},
        .groups = {"100 ppp: members=3 current=1 drifted=1 desired= MTU=9000 State=up "
                   "problems=ppp1: MTU 9000 above its maximum 1500; ppp2: MTU 9000 above its "
                   "maximum 4000"},
    },
    {
        .id = "validation-hwaddr",
        .name = "a hardware address for a member without one",
        .policies = {"[Group]\nId=300\n[Match]\nName=tun*\n[Link]\nMACAddress=02:00:00:00:00:01\n"
                     "MTU=1400\n"},
        .links =
            {
                {1, "tun0", 300, .mtu = 1400},
                {2, "tun1", 300, .mac = ""},
            },
        .ops = {"change 300 MTU=1400 MACAddress=02:00:00:00:00:01: 1 2"},
        .groups = {"300 tun: members=2 current=2 drifted=1 desired= MTU=1400 "
                   "MACAddress=02:00:00:00:00:01 problems=tun1: has no hardware address to set"},
    },
    {
        .id = "validation-sent-only",
        .name = "no problem reported for an attribute every member has",
        .policies = {"[Group]\nId=300\n[Match]\nName=tun*\n[Link]\nMTU=1400\nState=up\n"},
        /* tun1 could not take 1400 but has it: the message carries State only */
        .links = {{1, "tun0", 300, .mtu = 1400, .up = TRUE},
                  {2, "tun1", 300, .mtu = 1400, .max_mtu = 1300}},
        .ops = {"change 300 State=up: 1 2"},
        .groups = {"300 tun: members=2 current=2 drifted=1 desired= MTU=1400 State=up"},
    },
    {
        .id = "hot-plug-differs",
        .name = "hot-plug: a new link that differs",
        .policies = {P_PPP},
        .links =
            {
                {1, "ppp0", 100, .mtu = 1400, .up = TRUE, .addrs = "10.0.0.1/32"},
                {2, "ppp1", 100, .mtu = 1400, .up = TRUE, .addrs = "10.0.0.1/32"},
                {9, "ppp9", 0},
            },
        .ops = {"move 100: 9", "change 100 MTU=1400 State=up: 1 2 9",
                "addr-add 100 10.0.0.1/32: 9"},
        .groups = {"100 ppp: members=3 current=2 drifted=0 desired= MTU=1400 State=up"},
    },
    {
        .id = "hot-plug-matches",
        .name = "hot-plug: a new link that already matches",
        .policies = {P_PPP},
        .links =
            {
                {1, "ppp0", 100, .mtu = 1400, .up = TRUE, .addrs = "10.0.0.1/32"},
                {2, "ppp1", 100, .mtu = 1400, .up = TRUE, .addrs = "10.0.0.1/32"},
                {9, "ppp9", 0, .mtu = 1400, .up = TRUE},
            },
        .ops = {"move 100: 9", "addr-add 100 10.0.0.1/32: 9"},
        .groups = {"100 ppp: members=3 current=2 drifted=0 desired= MTU=1400 State=up"},
    },
    {
        .id = "op-order",
        .name = "every kind of op, ordered moves, changes, addresses",
        .policies = {P_PPP, "[Group]\nId=200\n[Match]\nKind=veth\n[Link]\nMTU=9000\n"
                            "[Address]\nAddress=fd00::2/64\n"},
        .links =
            {
                {1, "veth0", 0, .kind = "veth"},
                {2, "ppp0", 0},
                {3, "veth1", 200, .kind = "veth", .mtu = 9000, .addrs = "fd00::2/64"},
            },
        .ops = {"move 100: 2", "move 200: 1", "change 100 MTU=1400 State=up: 2",
                "change 200 MTU=9000: 1 3", "addr-add 100 10.0.0.1/32: 2",
                "addr-add 200 fd00::2/64: 1"},
        .groups =
            {
                "100 ppp: members=1 current=0 drifted=0 desired= MTU=1400 State=up",
                "200 veth: members=2 current=1 drifted=0 desired= MTU=9000",
            },
    },
};

static void run_case(const PlanCase *c, gboolean reverse)
{
    g_autoptr(GdConfig) config = make_config(c->policies);
    g_auto(Snapshot) snap = {0};
    snapshot_init(&snap, c->links, reverse);
    g_autoptr(GHashTable) overrides = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    for (guint i = 0; i < G_N_ELEMENTS(c->overrides) && c->overrides[i].props; i++) {
        GdNlLinkChange *change = g_new0(GdNlLinkChange, 1);
        parse_props(c->overrides[i].props, change);
        g_hash_table_insert(overrides, GUINT_TO_POINTER(c->overrides[i].id), change);
    }

    g_autoptr(GdPlan) plan = NULL;
    g_assert_cmpint(gd_plan_build(config, (const GdPlanLinkFacts *)(void *)snap.facts->data,
                                  snap.facts->len, overrides, &plan),
                    ==, 0);
    g_assert_nonnull(plan);

    g_autoptr(GPtrArray) ops = gd_plan_to_ops(plan);
    g_autoptr(GPtrArray) got_ops = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < ops->len; i++)
        g_ptr_array_add(got_ops, describe_op(ops->pdata[i]));
    assert_strings(got_ops, c->ops, "op");

    g_autoptr(GPtrArray) got_groups = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < plan->groups->len; i++) {
        const GdPlanGroup *group = plan->groups->pdata[i];
        g_assert_true(gd_plan_group(plan, group->id) == group);
        g_ptr_array_add(got_groups, describe_group(group));
    }
    assert_strings(got_groups, c->groups, "group");
    g_assert_cmpint(gd_plan_is_empty(plan), ==, ops->len == 0);

    g_autofree char *json = gd_plan_to_json(plan);
    g_test_message("%s", json);
    assert_json_valid(json);
}

static void test_plan_case(gconstpointer data)
{
    const PlanCase *c = data;
    g_test_message("%s", c->name);
    run_case(c, FALSE);
    g_test_message("%s, links in reverse order", c->name);
    run_case(c, TRUE);
}

/* ---- hot-plug in two runs, as the daemon does it ---- */

static GdPlan *plan_for(const GdConfig *config, const LinkSpec *links)
{
    g_auto(Snapshot) snap = {0};
    GdPlan *plan = NULL;
    snapshot_init(&snap, links, FALSE);
    g_assert_cmpint(gd_plan_build(config, (const GdPlanLinkFacts *)(void *)snap.facts->data,
                                  snap.facts->len, NULL, &plan),
                    ==, 0);
    return plan;
}

static void test_hot_plug(void)
{
    const char *policies[] = {P_PPP, P_VETH, NULL};
    g_autoptr(GdConfig) config = make_config(policies);
    const LinkSpec before[] = {
        {1, "ppp0", 100, .mtu = 1400, .up = TRUE, .addrs = "10.0.0.1/32"},
        {2, "veth0", 200, .kind = "veth"},
        {0},
    };
    const LinkSpec after[] = {
        before[0],
        before[1],
        {5, "ppp5", 0, .mtu = 1400, .up = FALSE},
        {0},
    };
    g_autoptr(GdPlan) first = plan_for(config, before);
    g_assert_true(gd_plan_is_empty(first));
    g_autoptr(GPtrArray) none = gd_plan_to_ops(first);
    g_assert_cmpuint(none->len, ==, 0);

    g_autoptr(GdPlan) second = plan_for(config, after);
    g_assert_false(gd_plan_is_empty(second));
    g_autoptr(GPtrArray) ops = gd_plan_to_ops(second);
    g_assert_cmpuint(ops->len, ==, 3);

    const GdOp *move = ops->pdata[0];
    g_assert_cmpint(move->kind, ==, GD_OP_SET_LINK_GROUP);
    g_assert_cmpuint(move->group, ==, 100);
    g_assert_cmpuint(move->targets->len, ==, 1);
    g_assert_cmpint(g_array_index(move->targets, int, 0), ==, 5);

    /* Only State: the new link has the MTU already. The message reaches
     * ppp0 too, which is up already: harmless. */
    const GdOp *change = ops->pdata[1];
    g_assert_cmpint(change->kind, ==, GD_OP_GROUP_CHANGE);
    g_assert_cmpuint(change->group, ==, 100);
    g_assert_false(change->change.set_mtu);
    g_assert_true(change->change.set_state);
    g_assert_true(change->change.up);
    g_assert_false(change->change.set_hwaddr);
    g_assert_false(change->change.set_txqlen);
    g_assert_cmpuint(change->targets->len, ==, 2);

    const GdOp *addr = ops->pdata[2];
    g_assert_cmpint(addr->kind, ==, GD_OP_ADDR_ADD);
    g_assert_cmpuint(addr->targets->len, ==, 1);
    g_assert_cmpint(g_array_index(addr->targets, int, 0), ==, 5);
    g_assert_cmpint(addr->addr.family, ==, AF_INET);
    g_assert_cmpint(addr->addr.prefixlen, ==, 32);
    const uint8_t want[4] = {10, 0, 0, 1};
    g_assert_cmpmem(addr->addr.addr, 4, want, 4);

    /* The plan group is a snapshot: it names the links itself. */
    const GdPlanGroup *ppp = gd_plan_group(second, 100);
    g_assert_nonnull(ppp);
    g_assert_cmpuint(ppp->moves->len, ==, 1);
    g_assert_cmpstr(g_array_index(ppp->moves, GdPlanMove, 0).name, ==, "ppp5");
    g_assert_cmpuint(g_array_index(ppp->moves, GdPlanMove, 0).from, ==, 0);
    g_assert_null(gd_plan_group(second, 0));
}

/* ---- JSON ---- */

static void test_json_exact(void)
{
    const char *policies[] = {
        "[Group]\nName=ppp\nId=100\n[Match]\nName=ppp*\n[Link]\nMTU=1400\nState=up\n"
        "MACAddress=02:aa:00:00:00:01\n[Address]\nAddress=10.0.0.1/32\n",
        "[Group]\nId=77\n[Match]\nKind=veth\n",
        NULL,
    };
    g_autoptr(GdConfig) config = make_config(policies);
    const LinkSpec links[] = {
        {1, "ppp0", 100, .mtu = 1400, .up = TRUE, .addrs = "10.0.0.1/32", .mac = ""},
        {2, "ppp1", 100, .mtu = 1500, .up = TRUE, .mac = "02:aa:00:00:00:01"},
        {3, "ppp2", 0, .mtu = 1500, .addrs = "10.0.0.1/32", .mac = "02:aa:00:00:00:01"},
        {4, "ppp3", 5, .mtu = 9000, .mac = "02:aa:00:00:00:01", .max_mtu = 1500},
        {0},
    };
    g_autoptr(GdPlan) plan = plan_for(config, links);
    g_autofree char *json = gd_plan_to_json(plan);
    const char *want =
        "{\"groups\":["
        "{\"id\":100,\"name\":\"ppp\",\"members\":4,\"drifted\":2,\"override\":false,"
        "\"desired\":{\"MTU\":1400,\"State\":\"up\",\"MACAddress\":\"02:aa:00:00:00:01\"},"
        "\"moves\":[{\"link\":\"ppp2\",\"from\":0},{\"link\":\"ppp3\",\"from\":5}],"
        "\"change\":{"
        "\"MTU\":{\"to\":1400,\"from\":[{\"value\":1500,\"links\":[\"ppp1\",\"ppp2\"]},"
        "{\"value\":9000,\"links\":[\"ppp3\"]}]},"
        "\"State\":{\"to\":\"up\",\"from\":[{\"value\":\"down\",\"links\":[\"ppp2\",\"ppp3\"]}]},"
        "\"MACAddress\":{\"to\":\"02:aa:00:00:00:01\",\"from\":[{\"value\":null,\"links\":"
        "[\"ppp0\"]}]}},"
        "\"addresses\":[{\"address\":\"10.0.0.1/32\",\"links\":[\"ppp1\",\"ppp3\"]}],"
        "\"problems\":[\"ppp0: has no hardware address to set\"],\"conflicts\":[]},"
        "{\"id\":77,\"name\":null,\"members\":0,\"drifted\":0,\"override\":false,"
        "\"desired\":{},\"moves\":[],\"change\":null,\"addresses\":[],\"problems\":[],"
        "\"conflicts\":[]}"
        "]}";
    g_assert_cmpstr(json, ==, want);
    assert_json_valid(json);
}

static void test_json_escaping(void)
{
    const char *policies[] = {"[Group]\nId=100\n[Link]\nMTU=1400\n", NULL};
    g_autoptr(GdConfig) config = make_config(policies);
    /* Interface names are bytes: anything but '/', ':', whitespace and
     * NUL. None of these breaks the document; each is in its shown form
     * (text/text.h: \xNN for a byte that is not UTF-8, \\ for \), as on
     * the bus; controls are escaped by JSON, U+001F too. */
    const LinkSpec links[] = {
        {1, "a\"b\\c", 100},
        {2, "ctl\x01\x1f", 100},
        {3, "bad\xff\xfe", 100},
        {4, "caf\xc3\xa9", 100},
        {5, "cut\xc3", 100},
        {6, "bs\bdel\x7f", 100},
        {0},
    };
    g_autoptr(GdPlan) plan = plan_for(config, links);
    g_autofree char *json = gd_plan_to_json(plan);
    assert_json_valid(json);
    g_assert_nonnull(strstr(json, "\"links\":[\"a\\\"b\\\\\\\\c\",\"ctl\\u0001\\u001f\","
                                  "\"bad\\\\xff\\\\xfe\",\"caf\xc3\xa9\",\"cut\\\\xc3\","
                                  "\"bs\\bdel\\u007f\"]"));
}

/* ---- bad input, helpers ---- */

static void test_bad_input(void)
{
    const char *policies[] = {P_PPP, NULL};
    g_autoptr(GdConfig) config = make_config(policies);
    g_auto(Snapshot) snap = {0};
    const LinkSpec links[] = {{1, "ppp0", 0}, {2, "ppp1", 0}, {0}};
    snapshot_init(&snap, links, FALSE);
    GdPlanLinkFacts facts[3];
    memcpy(facts, snap.facts->data, 2 * sizeof(GdPlanLinkFacts));
    facts[2] = facts[0]; /* ifindex 1 twice */
    GdPlan sentinel;
    GdPlan *plan = &sentinel; /* must be reset on failure */
    g_assert_cmpint(gd_plan_build(config, facts, 3, NULL, &plan), ==, -EINVAL);
    g_assert_null(plan);
    facts[2].link = NULL;
    g_assert_cmpint(gd_plan_build(config, facts, 3, NULL, &plan), ==, -EINVAL);
    g_assert_null(plan);

    /* No links: one empty group per policy. */
    g_assert_cmpint(gd_plan_build(config, NULL, 0, NULL, &plan), ==, 0);
    g_assert_cmpuint(plan->groups->len, ==, 1);
    g_assert_true(gd_plan_is_empty(plan));
    gd_plan_free(plan);
}

static void test_match_input(void)
{
    const LinkSpec spec = {7, "veth7", 42, .kind = "veth"};
    GdLink *link = make_link(&spec);
    GdMatchInput match;
    gd_plan_match_input(link, "ether", "veth", &match);
    g_assert_cmpstr(match.name, ==, "veth7");
    g_assert_cmpstr(match.kind, ==, "veth");
    g_assert_cmpstr(match.type, ==, "ether");
    g_assert_cmpstr(match.driver, ==, "veth");
    g_assert_cmpuint(match.hwaddr_len, ==, 6);
    g_assert_true(match.hwaddr == link->nl.hwaddr);
    g_assert_cmpuint(match.group, ==, 42);

    link->nl.hwaddr_len = 0;
    gd_plan_match_input(link, NULL, NULL, &match);
    g_assert_null(match.hwaddr);
    g_assert_null(match.type);
    g_assert_null(match.driver);
    link_free(link);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/planner/json-checker", test_json_checker);
    for (guint i = 0; i < G_N_ELEMENTS(plan_cases); i++) {
        g_autofree char *path = g_strdup_printf("/planner/plan/%s", plan_cases[i].id);
        g_test_add_data_func(path, &plan_cases[i], test_plan_case);
    }
    g_test_add_func("/planner/hot-plug", test_hot_plug);
    g_test_add_func("/planner/json/exact", test_json_exact);
    g_test_add_func("/planner/json/escaping", test_json_escaping);
    g_test_add_func("/planner/bad-input", test_bad_input);
    g_test_add_func("/planner/match-input", test_match_input);
    return g_test_run();
}

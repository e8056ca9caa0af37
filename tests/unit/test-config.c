/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/config/: [Match] rules, group files and groupd.conf
 * parsed from text (every kind of bad value, with the exact message), the
 * key tables against what the parsers accept, and loading trees of
 * configuration directories made in temporary directories (order,
 * replacement, masking, symlinks, errors across files).
 * With --dump-config-keys it prints the key tables instead (see
 * dump_config_keys()).
 */
#include "config/config.h"

#include <errno.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BAD "/x/bad.group"

/* "100 ppp", "10 ten", "200 isp" and the built-in "0 default". */
static GdGroupNames *test_names(void)
{
    const char *text = "10 ten\n100 ppp\n200 isp\n";
    return gd_group_names_parse(text, strlen(text), NULL);
}

static GPtrArray *new_errors(void)
{
    return g_ptr_array_new_with_free_func(g_free);
}

/* errors must be exactly want (NULL-terminated), in order. */
static void assert_errors(GPtrArray *errors, const char *const *want)
{
    guint n_want = g_strv_length((char **)want);
    for (guint i = 0; i < errors->len; i++)
        g_test_message("got:  %s", (char *)errors->pdata[i]);
    for (guint i = 0; i < n_want; i++)
        g_test_message("want: %s", want[i]);
    for (guint i = 0; i < MIN(errors->len, n_want); i++)
        g_assert_cmpstr(errors->pdata[i], ==, want[i]);
    g_assert_cmpuint(errors->len, ==, n_want);
}

static GdGroupPolicy *parse_policy(const char *text, GPtrArray *errors)
{
    g_autoptr(GdGroupNames) names = test_names();
    return gd_group_policy_parse("/x/10-test.group", text, strlen(text), names, errors);
}

/* ---- [Match] rules ---- */

static const uint8_t mac_eth0[] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t mac_veth1[] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t mac_wlan0[] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const uint8_t mac_lo[] = {0, 0, 0, 0, 0, 0};

static const GdMatchInput link_eth0 = {"eth0", "", "ether", "e1000e", mac_eth0, 6, 0};
static const GdMatchInput link_veth1 = {"veth1", "veth", "ether", "veth", mac_veth1, 6, 10};
static const GdMatchInput link_wlan0 = {"wlan0", NULL, "wlan", "iwlwifi", mac_wlan0, 6, 0};
static const GdMatchInput link_ppp0 = {"ppp0", NULL, "ppp", NULL, NULL, 0, 100};
static const GdMatchInput link_lo = {"lo", NULL, "loopback", NULL, mac_lo, 6, 0};

static const struct {
    const char *rules; /* lines of [Match] */
    const GdMatchInput *link;
    gboolean want;
} match_cases[] = {
    /* globs and OR */
    {"Name=eth*", &link_eth0, TRUE},
    {"Name=eth*", &link_veth1, FALSE},
    {"Name=eth0", &link_eth0, TRUE},
    {"Name=eth", &link_eth0, FALSE},
    {"Name=eth* wlan*", &link_wlan0, TRUE},
    {"Name=eth* wlan*", &link_ppp0, FALSE},
    {"Name=  eth9 \t wlan0  ", &link_wlan0, TRUE},
    {"Name=ppp?", &link_ppp0, TRUE},
    {"Name=ppp[0-3]", &link_ppp0, TRUE},
    {"Name=ppp[4-9]", &link_ppp0, FALSE},
    {"Name=*", &link_lo, TRUE},
    /* negation of the whole list */
    {"Name=!eth* wlan*", &link_eth0, FALSE},
    {"Name=!eth* wlan*", &link_wlan0, FALSE},
    {"Name=!eth* wlan*", &link_ppp0, TRUE},
    {"Name=! eth*", &link_eth0, FALSE},
    {"Name=! eth*", &link_lo, TRUE},
    /* AND across keys */
    {"Name=eth*\nType=wlan", &link_eth0, FALSE},
    {"Name=wlan*\nType=wlan", &link_wlan0, TRUE},
    {"Name=*\nType=!ether", &link_eth0, FALSE},
    {"Name=*\nType=!ether", &link_lo, TRUE},
    /* Kind: a link without one matches no value */
    {"Kind=veth", &link_veth1, TRUE},
    {"Kind=veth", &link_eth0, FALSE},
    {"Kind=*", &link_veth1, TRUE},
    {"Kind=*", &link_eth0, FALSE},
    {"Kind=*", &link_wlan0, FALSE},
    {"Kind=!*", &link_eth0, TRUE},
    {"Kind=!*", &link_veth1, FALSE},
    {"Kind=!veth", &link_eth0, TRUE},
    /* Type */
    {"Type=ether", &link_eth0, TRUE},
    {"Type=ether", &link_veth1, TRUE},
    {"Type=ether", &link_wlan0, FALSE},
    {"Type=wlan wwan", &link_wlan0, TRUE},
    {"Type=loopback", &link_lo, TRUE},
    {"Type=!ether", &link_ppp0, TRUE},
    /* Driver */
    {"Driver=e1000*", &link_eth0, TRUE},
    {"Driver=e1000*", &link_veth1, FALSE},
    {"Driver=*", &link_ppp0, FALSE},
    {"Driver=!veth", &link_ppp0, TRUE},
    {"Driver=!veth", &link_veth1, FALSE},
    /* MACAddress: exact bytes, either case; none matches a link without */
    {"MACAddress=52:54:00:12:34:56", &link_eth0, TRUE},
    {"MACAddress=52:54:00:12:34:56", &link_veth1, FALSE},
    {"MACAddress=52:54:00:12:34:56 AA:BB:CC:DD:EE:FF", &link_wlan0, TRUE},
    {"MACAddress=52:54:00:12:34", &link_eth0, FALSE},
    {"MACAddress=00:00:00:00:00:00", &link_lo, TRUE},
    {"MACAddress=00:00:00:00:00:00", &link_ppp0, FALSE},
    {"MACAddress=!52:54:00:12:34:56", &link_eth0, FALSE},
    {"MACAddress=!52:54:00:12:34:56", &link_ppp0, TRUE},
    /* Group: numbers, 0x, iproute2 names */
    {"Group=0", &link_eth0, TRUE},
    {"Group=0", &link_ppp0, FALSE},
    {"Group=default", &link_eth0, TRUE},
    {"Group=ppp", &link_ppp0, TRUE},
    {"Group=0x64", &link_ppp0, TRUE},
    {"Group=ten 100", &link_veth1, TRUE},
    {"Group=ten 100", &link_ppp0, TRUE},
    {"Group=ten 100", &link_eth0, FALSE},
    {"Group=!default", &link_ppp0, TRUE},
    {"Group=!default", &link_eth0, FALSE},
    /* everything at once */
    {"Name=eth*\nKind=!*\nType=ether\nDriver=e1000e\nMACAddress=52:54:00:12:34:56\nGroup=default",
     &link_eth0, TRUE},
    {"Name=eth*\nKind=!*\nType=ether\nDriver=e1000e\nMACAddress=52:54:00:12:34:56\nGroup=ten",
     &link_eth0, FALSE},
    /* no keys: no automatic members */
    {"", &link_eth0, FALSE},
    {"", &link_lo, FALSE},
};

static void test_match_rules(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(match_cases); i++) {
        g_autofree char *text =
            g_strdup_printf("[Group]\nId=1\n[Match]\n%s\n", match_cases[i].rules);
        g_autoptr(GPtrArray) errors = new_errors();
        g_autofree char *rules = g_strescape(match_cases[i].rules, NULL);
        g_test_message("case %u: [Match] %s on %s", i, rules, match_cases[i].link->name);
        g_autoptr(GdGroupPolicy) policy = parse_policy(text, errors);
        assert_errors(errors, (const char *const[]){NULL});
        g_assert_nonnull(policy);
        g_assert_cmpint(gd_match_link(&policy->match, match_cases[i].link), ==,
                        match_cases[i].want);
    }
}

static void test_match_parsed(void)
{
    g_autoptr(GdGroupPolicy) policy = parse_policy("[Group]\nId=1\n[Match]\n"
                                                   "Name=!eth* wlan?\n"
                                                   "MACAddress=02:00:00:00:00:01\n"
                                                   "Group=ppp 7\n",
                                                   NULL);
    g_assert_nonnull(policy);
    const GdMatch *m = &policy->match;
    g_assert_true(m->name.set);
    g_assert_true(m->name.negate);
    g_assert_cmpstrv(m->name.values, ((const char *const[]){"eth*", "wlan?", NULL}));
    g_assert_false(m->kind.set);
    g_assert_null(m->kind.values);
    g_assert_false(m->type.set);
    g_assert_false(m->driver.set);
    g_assert_true(m->hwaddr.set);
    g_assert_false(m->hwaddr.negate);
    g_assert_cmpuint(m->hwaddrs->len, ==, 1);
    g_assert_cmpmem(g_array_index(m->hwaddrs, GdMatchHwaddr, 0).bytes, 6, mac_veth1, 6);
    g_assert_true(m->group.set);
    g_assert_cmpuint(m->groups->len, ==, 2);
    g_assert_cmpuint(g_array_index(m->groups, uint32_t, 0), ==, 100);
    g_assert_cmpuint(g_array_index(m->groups, uint32_t, 1), ==, 7);
}

static void test_match_no_section(void)
{
    /* A group file without [Match] has no automatic members. */
    g_autoptr(GdGroupPolicy) policy = parse_policy("[Group]\nId=1\n[Link]\nMTU=1400\n", NULL);
    g_assert_nonnull(policy);
    g_assert_false(gd_match_link(&policy->match, &link_eth0));
    g_assert_false(gd_match_link(&policy->match, &link_lo));
}

/* ---- group files: good ---- */

static void test_group_full(void)
{
    const char *text = "# A PPP concentrator\r\n"
                       "\r\n"
                       "[Group]\r\n"
                       "  Name = ppp\r\n"
                       "\r\n"
                       "[Match]\r\n"
                       "Name=ppp* tun*\r\n"
                       "Kind=!*\r\n"
                       "\r\n"
                       "[Link]\r\n"
                       "MTU=1400\r\n"
                       "State=up\r\n"
                       "MACAddress=02:00:00:aa:bb:cc\r\n"
                       "TxQueueLength=1000\r\n"
                       "\r\n"
                       "[Address]\r\n"
                       "Address=10.0.0.1/24\r\n"
                       "Address=fd00::1/64 192.168.7.1/32\r\n"
                       "[MPTCP]\r\n"
                       "Endpoint=subflow backup\r\n"
                       "Class=wwan\r\n"
                       "Role=always\r\n"
                       "[Address]\r\n"
                       "  Address =   172.16.0.1 \r\n"
                       "   # indented comment\r\n";
    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdGroupPolicy) p = parse_policy(text, errors);
    assert_errors(errors, (const char *const[]){NULL});
    g_assert_nonnull(p);

    g_assert_cmpstr(p->path, ==, "/x/10-test.group");
    g_assert_cmpstr(p->file_name, ==, "10-test.group");
    g_assert_cmpstr(p->name, ==, "ppp");
    g_assert_cmpuint(p->id, ==, 100); /* from the iproute2 names */

    g_assert_true(p->link.set_mtu);
    g_assert_cmpuint(p->link.mtu, ==, 1400);
    g_assert_true(p->link.set_state);
    g_assert_true(p->link.up);
    g_assert_true(p->link.set_hwaddr);
    g_assert_cmpuint(p->link.hwaddr_len, ==, 6);
    g_assert_cmpmem(p->link.hwaddr, 6, ((const uint8_t[]){0x02, 0, 0, 0xaa, 0xbb, 0xcc}), 6);
    g_assert_true(p->link.set_txqlen);
    g_assert_cmpuint(p->link.txqlen, ==, 1000);

    /* Repeated Address= and space-separated lists, in file order. */
    const char *const want_addrs[] = {"10.0.0.1/24", "fd00::1/64", "192.168.7.1/32",
                                      "172.16.0.1/32"};
    g_assert_cmpuint(p->addresses->len, ==, G_N_ELEMENTS(want_addrs));
    for (guint i = 0; i < G_N_ELEMENTS(want_addrs); i++) {
        g_autofree char *text_addr = gd_nl_addr_format(&g_array_index(p->addresses, GdNlAddr, i));
        g_assert_cmpstr(text_addr, ==, want_addrs[i]);
    }

    g_assert_true(p->mptcp.enabled);
    g_assert_cmpuint(p->mptcp.flags, ==, GD_MPTCP_FLAG_SUBFLOW | GD_MPTCP_FLAG_BACKUP);
    g_assert_cmpstr(p->mptcp.link_class, ==, "wwan");
    g_assert_true(p->mptcp.always);

    g_assert_true(gd_match_link(&p->match, &link_ppp0));
    g_assert_false(gd_match_link(&p->match, &link_veth1));
}

static void test_group_identity(void)
{
    const struct {
        const char *group;
        uint32_t id;
        const char *name;
    } cases[] = {
        {"Id=100", 100, "ppp"},               /* the name comes from iproute2 */
        {"Id=0x64", 100, "ppp"},              /* hexadecimal as in the group file */
        {"Id=300", 300, NULL},                /* no name anywhere */
        {"Name=ppp\nId=100", 100, "ppp"},     /* both, agreeing */
        {"Name=mine\nId=300", 300, "mine"},   /* both, unknown to iproute2 */
        {"Name=isp", 200, "isp"},             /* id from iproute2 */
        {"Id=0", 0, "default"},               /* the lowest */
        {"Id=4294967295", 4294967295u, NULL}, /* the highest */
        {"Name=a-b_c.d:e\nId=5", 5, "a-b_c.d:e"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf("[Group]\n%s\n", cases[i].group);
        g_autoptr(GPtrArray) errors = new_errors();
        g_autofree char *escaped = g_strescape(cases[i].group, NULL);
        g_test_message("[Group] %s", escaped);
        g_autoptr(GdGroupPolicy) p = parse_policy(text, errors);
        assert_errors(errors, (const char *const[]){NULL});
        g_assert_cmpuint(p->id, ==, cases[i].id);
        g_assert_cmpstr(p->name, ==, cases[i].name);
        /* Nothing else is managed. */
        g_assert_false(p->link.set_mtu || p->link.set_state || p->link.set_hwaddr ||
                       p->link.set_txqlen);
        g_assert_cmpuint(p->addresses->len, ==, 0);
        g_assert_false(p->mptcp.enabled);
    }
}

static void test_group_bounds(void)
{
    g_autoptr(GdGroupPolicy) low = parse_policy("[Group]\nId=1\n[Link]\nMTU=1\nTxQueueLength=0\n"
                                                "State=down\n[Address]\nAddress=fd00::2\n"
                                                "[MPTCP]\n",
                                                NULL);
    g_assert_nonnull(low);
    g_assert_cmpuint(low->link.mtu, ==, 1);
    g_assert_true(low->link.set_txqlen);
    g_assert_cmpuint(low->link.txqlen, ==, 0);
    g_assert_true(low->link.set_state);
    g_assert_false(low->link.up);
    g_autofree char *addr = gd_nl_addr_format(&g_array_index(low->addresses, GdNlAddr, 0));
    g_assert_cmpstr(addr, ==, "fd00::2/128");
    /* An empty [MPTCP] takes part with the default: subflow endpoints. */
    g_assert_true(low->mptcp.enabled);
    g_assert_cmpuint(low->mptcp.flags, ==, GD_MPTCP_FLAG_SUBFLOW);
    g_assert_false(low->mptcp.always);

    g_autoptr(GdGroupPolicy) high =
        parse_policy("[Group]\nId=1\n[Link]\nMTU=2147483647\nTxQueueLength=4294967295\n", NULL);
    g_assert_nonnull(high);
    g_assert_cmpuint(high->link.mtu, ==, 2147483647u);
    g_assert_cmpuint(high->link.txqlen, ==, 4294967295u);
}

/* ---- group files: bad, one message each, exact ---- */

static const struct {
    const char *text;
    const char *want[4];
    gsize len; /* 0: strlen(text) */
} bad_group_cases[] = {
    /* syntax */
    {"[Group]\nId=1\nthis is not a key\n",
     {BAD ":3: \"this is not a key\" is not a [Section], Key=Value or # comment line"}},
    {"[Group]\nId=1\n=5\n", {BAD ":3: \"=5\" is not a [Section], Key=Value or # comment line"}},
    {"[Group\nId=1\n", {BAD ":1: \"[Group\" is not a valid [Section] line"}},
    {"[Group] x\nId=1\n", {BAD ":1: \"[Group] x\" is not a valid [Section] line"}},
    {"[]\n[Group]\nId=1\n", {BAD ":1: \"[]\" is not a valid [Section] line"}},
    {"Id=1\n[Group]\nId=2\n", {BAD ":1: Id= comes before any [Section]"}},
    {"[Group]\nId=1\n; systemd comment\n",
     {BAD ":3: \"; systemd comment\" is not a [Section], Key=Value or # comment line"}},
    {"[Group]\nId=1\nTx Queue=5\n",
     {BAD ":3: invalid key name \"Tx Queue\" (letters, digits, \"_-.\")"}},
    {"[Group]\nId=1\n[Link]\nMTU[de]=5\n",
     {BAD ":4: invalid key name \"MTU[de]\" (letters, digits, \"_-.\")"}},
    {"[Group]\nId=1\n[Link]\nMTU=1400   # jumbo\n",
     {BAD ":4: a # comment must be on a line of its own"}},
    {"[Group]\nId=1\n[Link]\nMTU=1\xff\n", {BAD ":4: not valid UTF-8"}},
    {"[Group]\nId=1\n\0\n", {BAD ": contains a NUL byte"}, sizeof("[Group]\nId=1\n\0\n") - 1},
    {"[Group]\nId=1\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
     {BAD ":3: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…\" is not a "
          "[Section], Key=Value or # comment line"}},
    /* the keys under a bad section line are skipped, not blamed */
    {"[Group]\nId=1\n[Link\nMTU=0\n", {BAD ":3: \"[Link\" is not a valid [Section] line"}},
    /* unknown sections and keys */
    {"[Group]\nId=1\n[Network]\nDHCP=yes\n[Network]\nDNS=1.1.1.1\n",
     {BAD ": [Network]: unknown section"}},
    {"[Group]\nId=1\n[Link]\nMTu=1\n", {BAD ": [Link] MTu: unknown key"}},
    {"[Group]\nId=1\nName=one\nMTU=1\n", {BAD ": [Group] MTU: unknown key"}},
    {"[Group]\nId=1\n[Address]\nGateway=10.0.0.254\n", {BAD ": [Address] Gateway: unknown key"}},
    {"[Group]\nId=1\n[Match]\nPath=pci*\n", {BAD ": [Match] Path: unknown key"}},
    /* repeated and empty keys */
    {"[Group]\nId=1\n[Link]\nMTU=1400\n[Match]\n[Link]\nMTU=9000\n",
     {BAD ": [Link] MTU: given more than once (lines 4 and 7)"}},
    {"[Group]\nId=1\nId=1\n", {BAD ": [Group] Id: given more than once (lines 2 and 3)"}},
    {"[Group]\nId=1\n[Link]\nMTU=\n", {BAD ": [Link] MTU: empty value"}},
    {"[Group]\nId=1\n[Address]\nAddress=\n", {BAD ": [Address] Address: empty value"}},
    /* [Link] values */
    {"[Group]\nId=1\n[Link]\nMTU=0\n", {BAD ": [Link] MTU: \"0\" is out of range (1..2147483647)"}},
    {"[Group]\nId=1\n[Link]\nMTU=2147483648\n",
     {BAD ": [Link] MTU: \"2147483648\" is out of range (1..2147483647)"}},
    {"[Group]\nId=1\n[Link]\nMTU=99999999999999999999999\n",
     {BAD ": [Link] MTU: \"99999999999999999999999\" is out of range (1..2147483647)"}},
    {"[Group]\nId=1\n[Link]\nMTU=abc\n", {BAD ": [Link] MTU: \"abc\" is not a number"}},
    {"[Group]\nId=1\n[Link]\nMTU=-1\n", {BAD ": [Link] MTU: \"-1\" is not a number"}},
    {"[Group]\nId=1\n[Link]\nMTU=1400 1500\n", {BAD ": [Link] MTU: \"1400 1500\" is not a number"}},
    {"[Group]\nId=1\n[Link]\nMTU=0x10\n", {BAD ": [Link] MTU: \"0x10\" is not a number"}},
    {"[Group]\nId=1\n[Link]\nTxQueueLength=4294967296\n",
     {BAD ": [Link] TxQueueLength: \"4294967296\" is out of range (0..4294967295)"}},
    {"[Group]\nId=1\n[Address]\nAddress=0.0.0.0/0 10.0.0.1/24 ::\n",
     {BAD ": [Address] Address: \"0.0.0.0/0\" is the unspecified address, which no interface can "
          "have",
      BAD ": [Address] Address: \"::\" is the unspecified address, which no interface can have"}},
    {"[Group]\nId=1\n[Link]\nMTU=60\n[Address]\nAddress=fd00::1/64 10.0.0.1/24\n",
     {BAD ": [Link] MTU: 60 is below 68, the least IPv4 works with, and [Address] has IPv4 "
          "addresses"}},
    {"[Group]\nId=0\n[Link]\nMTU=1400\n",
     {BAD ": [Group] Id: group 0 (default) holds every link nobody configured, lo and the uplink "
          "included: its policy may not have [Link] or [Address] settings"}},
    {"[Group]\nName=default\n[Address]\nAddress=10.0.0.1/24\n",
     {BAD ": [Group] Id: group 0 (default) holds every link nobody configured, lo and the uplink "
          "included: its policy may not have [Link] or [Address] settings"}},
    {"[Group]\nId=1\n[Link]\nState=sideways\n",
     {BAD ": [Link] State: \"sideways\" is not \"up\" or \"down\""}},
    {"[Group]\nId=1\n[Link]\nState=UP\n", {BAD ": [Link] State: \"UP\" is not \"up\" or \"down\""}},
    {"[Group]\nId=1\n[Link]\nMACAddress=02:00:00:zz:00:01\n",
     {BAD ": [Link] MACAddress: \"02:00:00:zz:00:01\" is not a hardware address (hexadecimal "
          "bytes separated by \":\")"}},
    {"[Group]\nId=1\n[Link]\nMACAddress=0200.0000.0001\n",
     {BAD ": [Link] MACAddress: \"0200.0000.0001\" is not a hardware address (hexadecimal bytes "
          "separated by \":\")"}},
    /* [Address] */
    {"[Group]\nId=1\n[Address]\nAddress=10.0.0.300/24\n",
     {BAD ": [Address] Address: \"10.0.0.300/24\" is not an IPv4 or IPv6 address with an "
          "optional /prefix"}},
    {"[Group]\nId=1\n[Address]\nAddress=10.0.0.1/33 fd00::1/129 10.0.0.2/\n",
     {BAD ": [Address] Address: \"10.0.0.1/33\" is not an IPv4 or IPv6 address with an optional "
          "/prefix",
      BAD ": [Address] Address: \"fd00::1/129\" is not an IPv4 or IPv6 address with an optional "
          "/prefix",
      BAD ": [Address] Address: \"10.0.0.2/\" is not an IPv4 or IPv6 address with an optional "
          "/prefix"}},
    {"[Group]\nId=1\n[Address]\nAddress=10.0.0.1/24\nAddress=10.0.0.1/16\n",
     {BAD ": [Address] Address: \"10.0.0.1/16\" is given twice"}},
    {"[Group]\nId=1\n[Address]\nAddress=fd00::1/64 FD00:0::1/64\n",
     {BAD ": [Address] Address: \"FD00:0::1/64\" is given twice"}},
    /* [Group] */
    {"[Group]\nId=4294967296\n",
     {BAD ": [Group] Id: \"4294967296\" is out of range (0..4294967295)"}},
    {"[Group]\nId=0x100000000\n",
     {BAD ": [Group] Id: \"0x100000000\" is out of range (0..4294967295)"}},
    {"[Group]\nId=-5\n", {BAD ": [Group] Id: \"-5\" is not a number"}},
    {"[Group]\nId=ppp\n", {BAD ": [Group] Id: \"ppp\" is not a number"}},
    {"[Group]\nName=1abc\nId=5\n",
     {BAD ": [Group] Name: \"1abc\" is not a group name (letters, digits, \"_-.:\"; not starting "
          "with a digit)"}},
    {"[Group]\nName=nosuch\n",
     {BAD ": [Group] Id: missing, and \"nosuch\" is not in the iproute2 group file"}},
    {"[Link]\nMTU=1400\n",
     {BAD ": [Group] Id: missing (needed unless Name= is in the iproute2 group file)"}},
    {"", {BAD ": [Group] Id: missing (needed unless Name= is in the iproute2 group file)"}},
    {"[Group]\n",
     {BAD ": [Group] Id: missing (needed unless Name= is in the iproute2 group file)"}},
    /* name/id clashes with the iproute2 file ("100 ppp", "200 isp") */
    {"[Group]\nName=ppp\nId=200\n",
     {BAD ": [Group] Name: \"ppp\" is group 100 in the iproute2 group file, not 200",
      BAD ": [Group] Id: group 200 is named \"isp\" in the iproute2 group file, not \"ppp\""}},
    {"[Group]\nName=ppp\nId=300\n",
     {BAD ": [Group] Name: \"ppp\" is group 100 in the iproute2 group file, not 300"}},
    {"[Group]\nName=newname\nId=100\n",
     {BAD ": [Group] Id: group 100 is named \"ppp\" in the iproute2 group file, not \"newname\""}},
    {"[Group]\nName=other\nId=0\n",
     {BAD ": [Group] Id: group 0 is named \"default\" in the iproute2 group file, not \"other\""}},
    /* [Match] */
    {"[Group]\nId=1\n[Match]\nName=\n", {BAD ": [Match] Name: empty value"}},
    {"[Group]\nId=1\n[Match]\nKind=\n", {BAD ": [Match] Kind: empty value"}},
    {"[Group]\nId=1\n[Match]\nName=!\n", {BAD ": [Match] Name: nothing after \"!\""}},
    {"[Group]\nId=1\n[Match]\nName=eth0 !eth1\n",
     {BAD ": [Match] Name: \"!\" negates the whole list and goes only at its start"}},
    {"[Group]\nId=1\n[Match]\nName=!!eth0\n",
     {BAD ": [Match] Name: \"!\" negates the whole list and goes only at its start"}},
    {"[Group]\nId=1\n[Match]\nGroup=ten nosuch\n",
     {BAD ": [Match] Group: no group is named \"nosuch\" in the iproute2 group file"}},
    {"[Group]\nId=1\n[Match]\nGroup=12x 4294967296\n",
     {BAD ": [Match] Group: \"12x\" is not a group number (0..4294967295) or name",
      BAD ": [Match] Group: \"4294967296\" is not a group number (0..4294967295) or name"}},
    {"[Group]\nId=1\n[Match]\nMACAddress=52:54:00:12:34:56 xx\n",
     {BAD ": [Match] MACAddress: \"xx\" is not a hardware address (hexadecimal bytes separated "
          "by \":\")"}},
    {"[Group]\nId=1\n[Match]\nName=eth*\nName=wlan*\n",
     {BAD ": [Match] Name: given more than once (lines 4 and 5)"}},
};

static void test_group_bad(void)
{
    g_autoptr(GdGroupNames) names = test_names();
    for (guint i = 0; i < G_N_ELEMENTS(bad_group_cases); i++) {
        const char *text = bad_group_cases[i].text;
        gsize len = bad_group_cases[i].len ? bad_group_cases[i].len : strlen(text);
        g_autoptr(GPtrArray) errors = new_errors();
        g_autofree char *escaped = g_strescape(text, NULL);
        g_test_message("case %u: %s", i, escaped);
        g_autoptr(GdGroupPolicy) p = gd_group_policy_parse(BAD, text, len, names, errors);
        g_assert_null(p);
        assert_errors(errors, bad_group_cases[i].want);
    }
}

/* Every error in a file is reported, in file order, then the whole-file ones. */
static void test_group_all_errors(void)
{
    const char *text = "[Group]\n"            /* 1 */
                       "Name=ppp\n"           /* 2 */
                       "Id=abc\n"             /* 3 */
                       "[Match]\n"            /* 4 */
                       "Name=\n"              /* 5 */
                       "Group=nosuch\n"       /* 6 */
                       "[Link]\n"             /* 7 */
                       "MTU=0\n"              /* 8 */
                       "State=sideways\n"     /* 9 */
                       "MACAddress=zz\n"      /* 10 */
                       "Speed=1000\n"         /* 11 */
                       "[Bridge]\n"           /* 12 */
                       "STP=yes\n"            /* 13 */
                       "[Address]\n"          /* 14 */
                       "Address=1.2.3.4/99\n" /* 15 */
                       "[Link]\n"             /* 16 */
                       "MTU=1400\n";          /* 17 */
    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdGroupPolicy) p = parse_policy(text, errors);
    g_assert_null(p);
    assert_errors(
        errors,
        (const char *const[]){
            "/x/10-test.group: [Group] Id: \"abc\" is not a number",
            "/x/10-test.group: [Match] Name: empty value",
            "/x/10-test.group: [Match] Group: no group is named \"nosuch\" in the iproute2 group "
            "file",
            "/x/10-test.group: [Link] MTU: \"0\" is out of range (1..2147483647)",
            "/x/10-test.group: [Link] State: \"sideways\" is not \"up\" or \"down\"",
            "/x/10-test.group: [Link] MACAddress: \"zz\" is not a hardware address (hexadecimal "
            "bytes separated by \":\")",
            "/x/10-test.group: [Link] Speed: unknown key",
            "/x/10-test.group: [Bridge]: unknown section",
            "/x/10-test.group: [Address] Address: \"1.2.3.4/99\" is not an IPv4 or IPv6 address "
            "with an optional /prefix",
            "/x/10-test.group: [Link] MTU: given more than once (lines 8 and 17)",
            NULL,
        });

    /* Syntax errors and value errors together; "missing" is not claimed
     * when a bad line may have been the Id= one. */
    const char *mixed = "[Group]\n"
                        "Id 5\n"
                        "[Link]\n"
                        "MTU=0\n"
                        "junk\n";
    g_autoptr(GPtrArray) errors2 = new_errors();
    g_autoptr(GdGroupPolicy) p2 = parse_policy(mixed, errors2);
    g_assert_null(p2);
    assert_errors(errors2,
                  (const char *const[]){
                      "/x/10-test.group:2: \"Id 5\" is not a [Section], Key=Value or # comment "
                      "line",
                      "/x/10-test.group:5: \"junk\" is not a [Section], Key=Value or # comment "
                      "line",
                      "/x/10-test.group: [Link] MTU: \"0\" is out of range (1..2147483647)",
                      NULL,
                  });
}

/* The reader follows GKeyFile's grammar: what GKeyFile refuses is refused,
 * and what it accepts is accepted, except where this module is stricter on
 * purpose. Only the grammar is checked (gd_config_check_syntax), no key. */
static void test_grammar_like_gkeyfile(void)
{
    const struct {
        const char *lines;
        gboolean stricter; /* GKeyFile accepts, this module refuses */
    } cases[] = {
        {"a=b", FALSE},
        {"  a  =  b  ", FALSE},
        {"a==b", FALSE},
        {"a=", FALSE},
        {"# comment", FALSE},
        {"   # comment", FALSE},
        {"", FALSE},
        {"  \t ", FALSE},
        {"[MPTCP]", FALSE},
        {"  [MPTCP]  ", FALSE},
        {"a.b-c_d=1", FALSE},
        {"junk", FALSE},
        {"=b", FALSE},
        {"[MPTCP", FALSE},
        {"[MPTCP] x", FALSE},
        {"[]", FALSE},
        {"; comment", FALSE},
        {"a[=b", FALSE},
        {"a]=b", FALSE},
        {"a b=c", TRUE},         /* key names are letters, digits, "_-." */
        {"a[de]=b", TRUE},       /* no translations */
        {"a=b # comment", TRUE}, /* not a comment in GKeyFile either: refused */
        {"a=\xff", TRUE},        /* UTF-8 only */
    };
    g_autoptr(GdGroupNames) names = test_names();
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf("[Group]\nId=1\n[MPTCP]\n%s\n", cases[i].lines);
        g_autoptr(GKeyFile) kf = g_key_file_new();
        gboolean glib_ok =
            g_key_file_load_from_data(kf, text, (gsize)-1, G_KEY_FILE_KEEP_TRANSLATIONS, NULL);
        gboolean ok = gd_config_check_syntax(BAD, text, strlen(text), NULL) == 0;
        g_autofree char *escaped = g_strescape(cases[i].lines, NULL);
        g_test_message("case %u: \"%s\": GKeyFile %d, config %d", i, escaped, glib_ok, ok);
        if (cases[i].stricter) {
            g_assert_true(glib_ok);
            g_assert_false(ok);
        } else {
            g_assert_cmpint(glib_ok, ==, ok);
        }
    }
}

/* ---- groupd.conf ---- */

static void test_daemon_defaults(void)
{
    g_auto(GdDaemonConfig) d = {0};
    gd_daemon_config_init(&d);
    g_assert_true(d.repair_drift);
    g_assert_cmpstr(d.admin_group, ==, "netdev");
    g_assert_cmpint(d.netlink_receive_buffer, ==, 32 * 1024 * 1024);
    g_assert_cmpuint(d.drift_debounce_msec, ==, 1000);

    /* Comments, an empty [Daemon]: still the defaults. */
    const char *text = "# groupd.conf\n[Daemon]\n# RepairDrift=yes\n";
    g_autoptr(GPtrArray) errors = new_errors();
    g_assert_cmpint(gd_daemon_config_parse("/c", text, strlen(text), &d, errors), ==, 0);
    assert_errors(errors, (const char *const[]){NULL});
    g_assert_true(d.repair_drift);
    g_assert_cmpstr(d.admin_group, ==, "netdev");
}

static void test_daemon_full(void)
{
    g_auto(GdDaemonConfig) d = {0};
    gd_daemon_config_init(&d);
    const char *text = "[Daemon]\n"
                       "RepairDrift=no\n"
                       "AdminGroup=wheel\n"
                       "NetlinkReceiveBuffer=64M\n"
                       "DriftDebounceSec=0.5\n";
    g_autoptr(GPtrArray) errors = new_errors();
    g_assert_cmpint(gd_daemon_config_parse("/c", text, strlen(text), &d, errors), ==, 0);
    assert_errors(errors, (const char *const[]){NULL});
    g_assert_false(d.repair_drift);
    g_assert_cmpstr(d.admin_group, ==, "wheel");
    g_assert_cmpint(d.netlink_receive_buffer, ==, 64 * 1024 * 1024);
    g_assert_cmpuint(d.drift_debounce_msec, ==, 500);
}

static void test_daemon_values(void)
{
    const struct {
        const char *line;
        int rcvbuf;       /* 0: not this key */
        int debounce_ms;  /* -1: not this key */
        int repair_drift; /* -1: not this key */
    } cases[] = {
        {"NetlinkReceiveBuffer=4096", 4096, -1, -1},
        {"NetlinkReceiveBuffer=4K", 4096, -1, -1},
        {"NetlinkReceiveBuffer=1000000", 1000000, -1, -1},
        {"NetlinkReceiveBuffer=32M", 32 << 20, -1, -1},
        {"NetlinkReceiveBuffer=1023M", 1023 << 20, -1, -1},
        {"NetlinkReceiveBuffer=1073741823", 1073741823, -1, -1},
        {"DriftDebounceSec=0", 0, 0, -1},
        {"DriftDebounceSec=1", 0, 1000, -1},
        {"DriftDebounceSec=2.5", 0, 2500, -1},
        {"DriftDebounceSec=0.05", 0, 50, -1},
        {"DriftDebounceSec=0.025", 0, 25, -1},
        {"DriftDebounceSec=3600", 0, 3600000, -1},
        {"DriftDebounceSec=3600.000", 0, 3600000, -1},
        {"RepairDrift=yes", 0, -1, 1},
        {"RepairDrift=YES", 0, -1, 1},
        {"RepairDrift=true", 0, -1, 1},
        {"RepairDrift=on", 0, -1, 1},
        {"RepairDrift=1", 0, -1, 1},
        {"RepairDrift=no", 0, -1, 0},
        {"RepairDrift=false", 0, -1, 0},
        {"RepairDrift=off", 0, -1, 0},
        {"RepairDrift=0", 0, -1, 0},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(GdDaemonConfig) d = {0};
        gd_daemon_config_init(&d);
        g_autofree char *text = g_strdup_printf("[Daemon]\n%s\n", cases[i].line);
        g_autoptr(GPtrArray) errors = new_errors();
        g_test_message("%s", cases[i].line);
        g_assert_cmpint(gd_daemon_config_parse("/c", text, strlen(text), &d, errors), ==, 0);
        assert_errors(errors, (const char *const[]){NULL});
        if (cases[i].rcvbuf)
            g_assert_cmpint(d.netlink_receive_buffer, ==, cases[i].rcvbuf);
        if (cases[i].debounce_ms >= 0)
            g_assert_cmpuint(d.drift_debounce_msec, ==, (guint)cases[i].debounce_ms);
        if (cases[i].repair_drift >= 0)
            g_assert_cmpint(d.repair_drift, ==, cases[i].repair_drift);
    }
}

static void test_daemon_bad(void)
{
    const struct {
        const char *text;
        const char *want[4];
    } cases[] = {
        {"[Daemon]\nRepairDrift=maybe\n",
         {"/c: [Daemon] RepairDrift: \"maybe\" is not \"yes\" or \"no\""}},
        {"[Daemon]\nRepairDrift=\n", {"/c: [Daemon] RepairDrift: empty value"}},
        {"[Daemon]\nAdminGroup=net dev\n",
         {"/c: [Daemon] AdminGroup: \"net dev\" is not a Unix group name (letters, digits, "
          "\"_.-\")"}},
        {"[Daemon]\nAdminGroup=-x\n",
         {"/c: [Daemon] AdminGroup: \"-x\" is not a Unix group name (letters, digits, \"_.-\")"}},
        {"[Daemon]\nAdminGroup=123\n",
         {"/c: [Daemon] AdminGroup: \"123\" is not a Unix group name (letters, digits, \"_.-\")"}},
        {"[Daemon]\nNetlinkReceiveBuffer=abc\n",
         {"/c: [Daemon] NetlinkReceiveBuffer: \"abc\" is not a size (bytes, or with a K, M or G "
          "suffix)"}},
        {"[Daemon]\nNetlinkReceiveBuffer=32X\n",
         {"/c: [Daemon] NetlinkReceiveBuffer: \"32X\" is not a size (bytes, or with a K, M or G "
          "suffix)"}},
        {"[Daemon]\nNetlinkReceiveBuffer=32MB\n",
         {"/c: [Daemon] NetlinkReceiveBuffer: \"32MB\" is not a size (bytes, or with a K, M or G "
          "suffix)"}},
        {"[Daemon]\nNetlinkReceiveBuffer=32m\n",
         {"/c: [Daemon] NetlinkReceiveBuffer: \"32m\" is not a size (bytes, or with a K, M or G "
          "suffix)"}},
        {"[Daemon]\nNetlinkReceiveBuffer=M\n",
         {"/c: [Daemon] NetlinkReceiveBuffer: \"M\" is not a size (bytes, or with a K, M or G "
          "suffix)"}},
        {"[Daemon]\nNetlinkReceiveBuffer=-1\n",
         {"/c: [Daemon] NetlinkReceiveBuffer: \"-1\" is not a size (bytes, or with a K, M or G "
          "suffix)"}},
        {"[Daemon]\nNetlinkReceiveBuffer=4095\n",
         {"/c: [Daemon] NetlinkReceiveBuffer: \"4095\" is out of range (4096..1073741823 bytes)"}},
        {"[Daemon]\nNetlinkReceiveBuffer=1G\n",
         {"/c: [Daemon] NetlinkReceiveBuffer: \"1G\" is out of range (4096..1073741823 bytes)"}},
        {"[Daemon]\nNetlinkReceiveBuffer=99999999999999999999999G\n",
         {"/c: [Daemon] NetlinkReceiveBuffer: \"99999999999999999999999G\" is out of range "
          "(4096..1073741823 bytes)"}},
        {"[Daemon]\nDriftDebounceSec=abc\n",
         {"/c: [Daemon] DriftDebounceSec: \"abc\" is not a number of seconds with at most 3 "
          "decimals (1, 0.5, …)"}},
        {"[Daemon]\nDriftDebounceSec=.5\n",
         {"/c: [Daemon] DriftDebounceSec: \".5\" is not a number of seconds with at most 3 "
          "decimals (1, 0.5, …)"}},
        {"[Daemon]\nDriftDebounceSec=5.\n",
         {"/c: [Daemon] DriftDebounceSec: \"5.\" is not a number of seconds with at most 3 "
          "decimals (1, 0.5, …)"}},
        {"[Daemon]\nDriftDebounceSec=0.0001\n",
         {"/c: [Daemon] DriftDebounceSec: \"0.0001\" is not a number of seconds with at most 3 "
          "decimals (1, 0.5, …)"}},
        {"[Daemon]\nDriftDebounceSec=1e3\n",
         {"/c: [Daemon] DriftDebounceSec: \"1e3\" is not a number of seconds with at most 3 "
          "decimals (1, 0.5, …)"}},
        {"[Daemon]\nDriftDebounceSec=1s\n",
         {"/c: [Daemon] DriftDebounceSec: \"1s\" is not a number of seconds with at most 3 "
          "decimals (1, 0.5, …)"}},
        {"[Daemon]\nDriftDebounceSec=-1\n",
         {"/c: [Daemon] DriftDebounceSec: \"-1\" is not a number of seconds with at most 3 "
          "decimals (1, 0.5, …)"}},
        {"[Daemon]\nDriftDebounceSec=3600.001\n",
         {"/c: [Daemon] DriftDebounceSec: \"3600.001\" is out of range (0..3600 seconds)"}},
        {"[Daemon]\nDriftDebounceSec=99999999999999999999999\n",
         {"/c: [Daemon] DriftDebounceSec: \"99999999999999999999999\" is out of range (0..3600 "
          "seconds)"}},
        {"[Daemon]\nRepairDrift=yes\nRepairDrift=no\n",
         {"/c: [Daemon] RepairDrift: given more than once (lines 2 and 3)"}},
        {"[Daemon]\nRepair=yes\n", {"/c: [Daemon] Repair: unknown key"}},
        {"[Network]\nDHCP=yes\n", {"/c: [Network]: unknown section"}},
        {"RepairDrift=no\n", {"/c:1: RepairDrift= comes before any [Section]"}},
        /* everything at once, in file order */
        {"[Daemon]\nRepairDrift=maybe\n[Other]\nx=1\n[Daemon]\nFoo=1\n",
         {"/c: [Daemon] RepairDrift: \"maybe\" is not \"yes\" or \"no\"",
          "/c: [Other]: unknown section", "/c: [Daemon] Foo: unknown key"}},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(GdDaemonConfig) d = {0};
        gd_daemon_config_init(&d);
        g_autoptr(GPtrArray) errors = new_errors();
        g_autofree char *escaped = g_strescape(cases[i].text, NULL);
        g_test_message("case %u: %s", i, escaped);
        g_assert_cmpint(
            gd_daemon_config_parse("/c", cases[i].text, strlen(cases[i].text), &d, errors), ==,
            -EINVAL);
        assert_errors(errors, cases[i].want);
    }
    /* errors may be NULL. */
    g_auto(GdDaemonConfig) d = {0};
    gd_daemon_config_init(&d);
    g_assert_cmpint(gd_daemon_config_parse("/c", "[X]\n", 4, &d, NULL), ==, -EINVAL);
}

/* ---- loading directory trees ---- */

typedef struct {
    char *root;
} Tree;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void tree_setup(Tree *t, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    t->root = g_dir_make_tmp("groupd-config-XXXXXX", &error);
    g_assert_no_error(error);
}

static void tree_teardown(Tree *t, gconstpointer data)
{
    /* FTW_PHYS: never follow the symlinks the tests made. */
    g_assert_cmpint(nftw(t->root, remove_one, 16, FTW_DEPTH | FTW_PHYS), ==, 0);
    g_free(t->root);
}

static char *tree_path(Tree *t, const char *rel)
{
    return g_build_filename(t->root, rel, NULL);
}

static void tree_mkdir(Tree *t, const char *rel)
{
    g_autofree char *path = tree_path(t, rel);
    g_assert_cmpint(g_mkdir_with_parents(path, 0755), ==, 0);
}

static void tree_write(Tree *t, const char *rel, const char *text)
{
    g_autofree char *path = tree_path(t, rel);
    g_autofree char *dir = g_path_get_dirname(path);
    g_autoptr(GError) error = NULL;
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    g_file_set_contents(path, text, -1, &error);
    g_assert_no_error(error);
}

static void tree_symlink(Tree *t, const char *rel, const char *target)
{
    g_autofree char *path = tree_path(t, rel);
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    g_assert_cmpint(symlink(target, path), ==, 0);
}

#define VENDOR  "usr/lib/groupd/groups.d/"
#define ADMIN   "etc/groupd/groups.d/"
#define RUNTIME "run/groupd/groups.d/"

static GdConfig *tree_load(Tree *t, GPtrArray *errors)
{
    g_autoptr(GdGroupNames) names = test_names();
    GdConfig *config = NULL;
    int r = gd_config_load(t->root, names, &config, errors);
    g_assert_cmpint(r, ==, errors->len ? -EINVAL : 0);
    g_assert_true((config == NULL) == (r < 0));
    return config;
}

/* "ROOT/rel: rest" */
static char *msg(Tree *t, const char *rel, const char *rest)
{
    return g_strdup_printf("%s/%s%s", t->root, rel, rest);
}

static void assert_policies(GdConfig *config, const char *const *want_paths, Tree *t)
{
    guint n = g_strv_length((char **)want_paths);
    for (guint i = 0; i < config->policies->len; i++)
        g_test_message("policy %s", ((GdGroupPolicy *)config->policies->pdata[i])->path);
    g_assert_cmpuint(config->policies->len, ==, n);
    for (guint i = 0; i < n; i++) {
        const GdGroupPolicy *p = config->policies->pdata[i];
        g_autofree char *want = tree_path(t, want_paths[i]);
        g_autofree char *base = g_path_get_basename(want);
        g_assert_cmpstr(p->path, ==, want);
        g_assert_cmpstr(p->file_name, ==, base);
    }
}

static void test_load_nothing(Tree *t, gconstpointer data)
{
    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    assert_errors(errors, (const char *const[]){NULL});
    g_assert_true(config->daemon.repair_drift);
    g_assert_cmpstr(config->daemon.admin_group, ==, "netdev");
    g_assert_cmpint(config->daemon.netlink_receive_buffer, ==, GD_NL_DEFAULT_RCVBUF);
    g_assert_cmpuint(config->daemon.drift_debounce_msec, ==, 1000);
    g_assert_cmpuint(config->policies->len, ==, 0);
    g_assert_null(gd_config_first_match(config, &link_eth0));

    /* Empty directories, an empty groupd.conf: the same. */
    tree_mkdir(t, VENDOR);
    tree_mkdir(t, ADMIN);
    tree_write(t, "etc/groupd/groupd.conf", "");
    g_autoptr(GdConfig) again = tree_load(t, errors);
    assert_errors(errors, (const char *const[]){NULL});
    g_assert_cmpuint(again->policies->len, ==, 0);
    g_assert_cmpstr(again->daemon.admin_group, ==, "netdev");
}

static void test_load_daemon_conf(Tree *t, gconstpointer data)
{
    tree_write(t, "etc/groupd/groupd.conf",
               "[Daemon]\nRepairDrift=off\nNetlinkReceiveBuffer=8M\nDriftDebounceSec=0.25\n");
    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    assert_errors(errors, (const char *const[]){NULL});
    g_assert_false(config->daemon.repair_drift);
    g_assert_cmpstr(config->daemon.admin_group, ==, "netdev");
    g_assert_cmpint(config->daemon.netlink_receive_buffer, ==, 8 << 20);
    g_assert_cmpuint(config->daemon.drift_debounce_msec, ==, 250);
}

static void test_load_mptcp(Tree *t, gconstpointer data)
{
    tree_write(t, "etc/groupd/groupd.conf",
               "[MPTCP]\nMode=power-save\nPreference=cellular 11\nHoldDownSec=2.5\n"
               "FlapThreshold=2\nFlapWindowSec=30\nHoldDownMaxSec=120\nStaleLossCount=keep\n"
               "RelaxRpFilter=no\nSubflows=8\nAddAddrAccepted=0\nOwner=groupd\n"
               "StallDetectMSec=50\n");
    tree_write(t, ADMIN "10-wifi.group",
               "[Group]\nName=wifi\nId=11\n[Match]\nType=wlan\n[MPTCP]\nEndpoint=subflow\n");
    tree_write(t, ADMIN "20-cell.group",
               "[Group]\nName=cellular\nId=20\n[MPTCP]\nEndpoint=subflow backup\nClass=wwan\n");
    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    assert_errors(errors, (const char *const[]){NULL});
    const GdMptcpConfig *m = &config->daemon.mptcp;
    g_assert_cmpint(m->mode, ==, GD_MPTCP_MODE_POWER_SAVE);
    g_assert_cmpstr(gd_mptcp_mode_name(m->mode), ==, "power-save");
    g_assert_cmpuint(m->preference_ids->len, ==, 2);
    g_assert_cmpuint(g_array_index(m->preference_ids, uint32_t, 0), ==, 20);
    g_assert_cmpuint(g_array_index(m->preference_ids, uint32_t, 1), ==, 11);
    g_assert_cmpuint(m->hold_down_msec, ==, 2500);
    g_assert_cmpuint(m->flap_threshold, ==, 2);
    g_assert_cmpuint(m->flap_window_msec, ==, 30000);
    g_assert_cmpuint(m->hold_down_max_msec, ==, 120000);
    g_assert_cmpint(m->stale_loss_cnt, ==, -1);
    g_assert_false(m->relax_rp_filter);
    g_assert_cmpint(m->subflows, ==, 8);
    g_assert_cmpint(m->add_addr_accepted, ==, 0);
    g_assert_true(m->owner_forced);
    g_assert_cmpuint(m->stall_detect_msec, ==, 50);

    /* Preference names only groups with [MPTCP]; limits stop at 8. */
    tree_write(t, "etc/groupd/groupd.conf",
               "[MPTCP]\nMode=failover\nPreference=wifi lan wifi\nSubflows=9\nMode=x\n");
    tree_write(t, ADMIN "30-lan.group", "[Group]\nName=lan\nId=30\n");
    g_autoptr(GPtrArray) bad = new_errors();
    g_autoptr(GdConfig) none = tree_load(t, bad);
    g_autofree char *e1 =
        msg(t, "etc/groupd/groupd.conf", ": [MPTCP] Subflows: \"9\" is out of range (0..8)");
    g_autofree char *e2 =
        msg(t, "etc/groupd/groupd.conf", ": [MPTCP] Mode: given more than once (lines 2 and 5)");
    g_autofree char *e3 =
        msg(t, "etc/groupd/groupd.conf",
            ": [MPTCP] Preference: \"lan\" is not a group with an [MPTCP] section");
    g_autofree char *e4 =
        msg(t, "etc/groupd/groupd.conf", ": [MPTCP] Preference: \"wifi\" is given twice");
    assert_errors(bad, (const char *const[]){e1, e2, e3, e4, NULL});
}

/* Two [MPTCP] groups whose [Address] is the same: never both endpoints. */
static void test_load_mptcp_shared_address(Tree *t, gconstpointer data)
{
    tree_write(t, ADMIN "10-wifi.group",
               "[Group]\nName=wifi\nId=11\n[Match]\nName=wlan*\n[Address]\n"
               "Address=10.5.0.2/24 fd05::2/64\n[MPTCP]\n");
    tree_write(t, ADMIN "20-cell.group",
               "[Group]\nName=cellular\nId=21\n[Match]\nName=wwan*\n[Address]\n"
               "Address=10.5.0.2/16\n[MPTCP]\n");
    /* Without [MPTCP] the same address is no MPTCP business. */
    tree_write(t, ADMIN "30-lan.group",
               "[Group]\nName=lan\nId=31\n[Match]\nName=eth*\n[Address]\n"
               "Address=fd05::2/64\n");
    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) none = tree_load(t, errors);
    g_assert_null(none);
    g_autofree char *wifi = g_build_filename(t->root, ADMIN "10-wifi.group", NULL);
    g_autofree char *e1 = g_strdup_printf(
        ": [Address] Address: 10.5.0.2/16 is also an address of group 11 in %s, and both groups "
        "have [MPTCP]: the kernel keeps one MPTCP endpoint per address",
        wifi);
    g_autofree char *want = msg(t, ADMIN "20-cell.group", e1);
    assert_errors(errors, (const char *const[]){want, NULL});

    /* Members of one group share its [Address]: that depends on which
     * links are there, and is reported when it happens. */
    tree_write(t, ADMIN "20-cell.group",
               "[Group]\nName=cellular\nId=21\n[Match]\nName=wwan*\n[MPTCP]\n");
    g_autoptr(GPtrArray) fine = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, fine);
    assert_errors(fine, (const char *const[]){NULL});
}

static void test_mptcp_defaults_and_bad(void)
{
    g_auto(GdDaemonConfig) d = {0};
    gd_daemon_config_init(&d);
    g_assert_cmpint(d.mptcp.mode, ==, GD_MPTCP_MODE_OFF);
    g_assert_cmpuint(d.mptcp.hold_down_msec, ==, 5000);
    g_assert_cmpint(d.mptcp.stale_loss_cnt, ==, 2);
    g_assert_true(d.mptcp.relax_rp_filter);
    g_assert_cmpint(d.mptcp.subflows, ==, -1);
    g_assert_false(d.mptcp.owner_forced);
    g_assert_cmpuint(d.mptcp.stall_detect_msec, ==, 100);

    const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"[MPTCP]\nMode=fast\n",
         "/c: [MPTCP] Mode: \"fast\" is not one of off, failover, power-save, aggregate"},
        {"[MPTCP]\nOwner=me\n", "/c: [MPTCP] Owner: \"me\" is not \"auto\" or \"groupd\""},
        {"[MPTCP]\nStaleLossCount=0\n",
         "/c: [MPTCP] StaleLossCount: \"0\" is out of range (1..255)"},
        {"[MPTCP]\nAddAddrAccepted=-1\n", "/c: [MPTCP] AddAddrAccepted: \"-1\" is not a number"},
        {"[MPTCP]\nStallDetectMSec=10001\n",
         "/c: [MPTCP] StallDetectMSec: \"10001\" is out of range (0..10000)"},
        {"[MPTCP]\nEndpoint=subflow\n", "/c: [MPTCP] Endpoint: unknown key"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(GdDaemonConfig) c = {0};
        gd_daemon_config_init(&c);
        g_autoptr(GPtrArray) errors = new_errors();
        g_assert_cmpint(
            gd_daemon_config_parse("/c", cases[i].text, strlen(cases[i].text), &c, errors), ==,
            -EINVAL);
        assert_errors(errors, (const char *const[]){cases[i].want, NULL});
    }

    /* A group file's [MPTCP]. */
    const struct {
        const char *text;
        const char *want;
    } group_cases[] = {
        {"[MPTCP]\nEndpoint=subflow turbo\n",
         "/g: [MPTCP] Endpoint: \"turbo\" is not an endpoint flag (subflow, signal, backup, "
         "fullmesh, laminar)"},
        {"[MPTCP]\nClass=wifi\n", "/g: [MPTCP] Class: \"wifi\" is not wlan, wwan or ether"},
        {"[MPTCP]\nRole=primary\n",
         "/g: [MPTCP] Role: \"primary\" is not \"failover\" or \"always\""},
        {"[MPTCP]\nMode=failover\n", "/g: [MPTCP] Mode: unknown key"},
        {"[MPTCP]\nRole=always\nRole=always\n",
         "/g: [MPTCP] Role: given more than once (lines 4 and 5)"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(group_cases); i++) {
        g_autofree char *text = g_strdup_printf("[Group]\nId=1\n%s", group_cases[i].text);
        g_autoptr(GPtrArray) errors = new_errors();
        g_autoptr(GdGroupPolicy) p = gd_group_policy_parse("/g", text, strlen(text), NULL, errors);
        g_assert_null(p);
        assert_errors(errors, (const char *const[]){group_cases[i].want, NULL});
    }
    uint32_t flags;
    g_assert_cmpint(gd_mptcp_flags_parse("laminar  fullmesh", &flags, NULL), ==, 0);
    g_assert_cmpuint(flags, ==, GD_MPTCP_FLAG_LAMINAR | GD_MPTCP_FLAG_FULLMESH);
    g_auto(GStrv) names = gd_mptcp_flags_names(flags);
    g_assert_cmpstr(names[0], ==, "fullmesh");
    g_assert_cmpstr(names[1], ==, "laminar");
}

static void test_load_order_and_replace(Tree *t, gconstpointer data)
{
    tree_write(t, VENDOR "a.group", "[Group]\nId=1\n");
    tree_write(t, VENDOR "b.group", "[Group]\nId=2\n");
    tree_write(t, VENDOR "c.group", "[Group]\nId=3\n");
    tree_write(t, ADMIN "b.group", "[Group]\nId=20\n");
    tree_write(t, ADMIN "c.group", "[Group]\nId=30\n");
    tree_write(t, RUNTIME "c.group", "[Group]\nId=300\n");
    tree_write(t, RUNTIME "d.group", "[Group]\nId=4\n");
    /* strcmp order: digits, upper case, lower case */
    tree_write(t, ADMIN "10-x.group", "[Group]\nId=10\n");
    tree_write(t, ADMIN "9-y.group", "[Group]\nId=9\n");
    tree_write(t, VENDOR "B.group", "[Group]\nId=11\n");
    /* ignored: not *.group, hidden, or a directory without the suffix */
    tree_write(t, ADMIN "README", "not a group file");
    tree_write(t, ADMIN "x.group.bak", "[Group]\nId=2\n");
    tree_write(t, ADMIN "x.conf", "junk");
    tree_write(t, ADMIN ".hidden.group", "junk");
    tree_write(t, ADMIN "sub/e.group", "junk");

    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    assert_errors(errors, (const char *const[]){NULL});
    assert_policies(config,
                    (const char *const[]){ADMIN "10-x.group", ADMIN "9-y.group", VENDOR "B.group",
                                          VENDOR "a.group", ADMIN "b.group", RUNTIME "c.group",
                                          RUNTIME "d.group", NULL},
                    t);
    const uint32_t want_ids[] = {10, 9, 11, 1, 20, 300, 4};
    for (guint i = 0; i < G_N_ELEMENTS(want_ids); i++)
        g_assert_cmpuint(((GdGroupPolicy *)config->policies->pdata[i])->id, ==, want_ids[i]);
    g_assert_cmpuint(gd_config_policy_for_group(config, 300)->id, ==, 300);
    g_assert_null(gd_config_policy_for_group(config, 3));
    g_assert_null(gd_config_policy_for_group(config, 30));
}

static void test_load_replaced_not_read(Tree *t, gconstpointer data)
{
    /* A replaced file is never read: its errors do not count. */
    tree_write(t, VENDOR "a.group", "this is broken\n");
    tree_symlink(t, VENDOR "b.group", "/etc/passwd");
    tree_write(t, ADMIN "a.group", "[Group]\nId=1\n");
    tree_write(t, ADMIN "b.group", "[Group]\nId=2\n");
    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    assert_errors(errors, (const char *const[]){NULL});
    assert_policies(config, (const char *const[]){ADMIN "a.group", ADMIN "b.group", NULL}, t);
}

static void test_load_mask(Tree *t, gconstpointer data)
{
    tree_write(t, VENDOR "a.group", "[Group]\nId=1\n[Match]\nName=*\n");
    tree_write(t, VENDOR "b.group", "[Group]\nId=2\n");
    tree_write(t, VENDOR "c.group", "[Group]\nId=3\n");
    tree_write(t, VENDOR "d.group", "[Group]\nId=4\n");
    tree_write(t, VENDOR "e.group", "[Group]\nId=5\n");
    tree_write(t, ADMIN "a.group", "");                 /* empty file */
    tree_symlink(t, ADMIN "b.group", "/dev/null");      /* symlink to /dev/null */
    tree_write(t, ADMIN "c.group", "[Group]\nId=30\n"); /* replaced, then masked */
    tree_symlink(t, RUNTIME "c.group", "/dev/null");
    /* relative, resolving to /dev/null */
    tree_symlink(t, RUNTIME "d.group", "../../../../../../../../../../../../dev/null");
    /* masks of files that exist nowhere else: nothing to do */
    tree_write(t, ADMIN "z.group", "");
    tree_symlink(t, RUNTIME "y.group", "/dev/null");
    /* A masked name comes back from a later directory. */
    tree_write(t, ADMIN "e.group", "");
    tree_write(t, RUNTIME "e.group", "[Group]\nId=50\n");

    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    assert_errors(errors, (const char *const[]){NULL});
    assert_policies(config, (const char *const[]){RUNTIME "e.group", NULL}, t);
    g_assert_null(gd_config_first_match(config, &link_eth0));
}

static void test_load_symlinks_inside(Tree *t, gconstpointer data)
{
    /* Symlinks to regular files inside the directories are followed. */
    tree_write(t, VENDOR "templates/ppp.tmpl", "[Group]\nId=100\n");
    tree_write(t, VENDOR "a.group", "[Group]\nId=1\n");
    tree_symlink(t, ADMIN "a.group", "../../../" VENDOR "a.group"); /* to what it replaces */
    tree_symlink(t, ADMIN "p.group", "../../../" VENDOR "templates/ppp.tmpl");
    tree_symlink(t, RUNTIME "q.group", "../../../" ADMIN "r.link");
    tree_symlink(t, ADMIN "r.link", "../../../" VENDOR "templates/../b.tmpl");
    tree_write(t, VENDOR "b.tmpl", "[Group]\nId=8\n");

    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    assert_errors(errors, (const char *const[]){NULL});
    assert_policies(
        config, (const char *const[]){ADMIN "a.group", ADMIN "p.group", RUNTIME "q.group", NULL},
        t);
    g_assert_cmpuint(((GdGroupPolicy *)config->policies->pdata[1])->id, ==, 100);
    g_assert_cmpuint(((GdGroupPolicy *)config->policies->pdata[2])->id, ==, 8);
}

static void test_load_symlinks_refused(Tree *t, gconstpointer data)
{
    tree_write(t, "outside/evil.group", "[Group]\nId=66\n");
    g_autofree char *outside = tree_path(t, "outside/evil.group");
    tree_symlink(t, ADMIN "a.group", outside);                       /* absolute, out */
    tree_symlink(t, ADMIN "b.group", "../../../outside/evil.group"); /* relative, out */
    tree_symlink(t, ADMIN "c.group", "../groupd.conf");              /* to /etc/groupd */
    tree_symlink(t, ADMIN "d.group", "nowhere.group");               /* dangling */
    tree_symlink(t, ADMIN "e.group", "e.group");                     /* loop */
    tree_write(t, ADMIN "subdir/x", "");
    tree_symlink(t, ADMIN "f.group", "subdir"); /* a directory */
    tree_symlink(t, ADMIN "g.group", "/etc/passwd");
    tree_write(t, "etc/groupd/groupd.conf", "[Daemon]\n");
    tree_write(t, "etc/groupd/groups.d.old/j.group", "[Group]\nId=67\n");
    tree_symlink(t, ADMIN "j.group", "../groups.d.old/j.group"); /* a prefix is not inside */
    tree_write(t, ADMIN "h.group/x", "");                        /* a directory */
    g_autofree char *fifo = tree_path(t, ADMIN "i.group");
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0); /* never opened */
    tree_write(t, RUNTIME "ok.group", "[Group]\nId=1\n");

    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    g_autofree char *m_a = g_strdup_printf(
        "%s/" ADMIN "a.group: symlink to \"%s\" leads out of the configuration directories; "
        "refused",
        t->root, outside);
    g_autofree char *m_b = msg(t, ADMIN "b.group",
                               ": symlink to \"../../../outside/evil.group\" leads out of the "
                               "configuration directories; refused");
    g_autofree char *m_c = msg(t, ADMIN "c.group",
                               ": symlink to \"../groupd.conf\" leads out of the configuration "
                               "directories; refused");
    g_autofree char *m_d = msg(t, ADMIN "d.group",
                               ": symlink to \"nowhere.group\" cannot be followed: No such file "
                               "or directory");
    g_autofree char *m_e = msg(t, ADMIN "e.group",
                               ": symlink to \"e.group\" cannot be followed: Too many levels of "
                               "symbolic links");
    g_autofree char *m_f = msg(t, ADMIN "f.group", ": not a regular file");
    g_autofree char *m_g = msg(t, ADMIN "g.group",
                               ": symlink to \"/etc/passwd\" leads out of the configuration "
                               "directories; refused");
    g_autofree char *m_h = msg(t, ADMIN "h.group", ": not a regular file");
    g_autofree char *m_i = msg(t, ADMIN "i.group", ": not a regular file");
    g_autofree char *m_j = msg(t, ADMIN "j.group",
                               ": symlink to \"../groups.d.old/j.group\" leads out of the "
                               "configuration directories; refused");
    assert_errors(errors,
                  (const char *const[]){m_a, m_b, m_c, m_d, m_e, m_f, m_g, m_h, m_i, m_j, NULL});
    g_assert_null(config);
}

static void test_load_bad_files(Tree *t, gconstpointer data)
{
    /* Every kind of bad file in one tree: every message, in order
     * (groupd.conf, then the files by name, then what is between files). */
    tree_write(t, "etc/iproute2/group", "100 ppp\n200 isp\n");
    tree_write(t, "etc/groupd/groupd.conf", "[Daemon]\nRepairDrift=sometimes\nColour=blue\n");
    tree_write(t, VENDOR "01-syntax.group", "[Group]\nId=1\nnot a line\n");
    tree_write(t, ADMIN "02-section.group", "[Group]\nId=2\n[Network]\n");
    tree_write(t, ADMIN "03-key.group", "[Group]\nId=3\nColour=blue\n");
    tree_write(t, RUNTIME "04-values.group",
               "[Group]\nId=4\n[Link]\nMTU=0\nState=sideways\nMACAddress=zz\n"
               "TxQueueLength=abc\n[Address]\nAddress=10.0.0.1/40\n");
    tree_write(t, ADMIN "05-mtu.group", "[Group]\nId=5\n[Link]\nMTU=abc\n");
    tree_write(t, ADMIN "06-id.group", "[Group]\nId=4294967296\n");
    tree_write(t, ADMIN "07-clash.group", "[Group]\nName=ppp\nId=200\n");
    tree_write(t, ADMIN "08-dup.group", "[Group]\nId=3\n[Link]\nMTU=1400\n");
    tree_write(t, ADMIN "09-name.group", "[Group]\nName=mine\nId=9\n");
    tree_write(t, ADMIN "10-name.group", "[Group]\nName=mine\nId=10\n");
    tree_write(t, ADMIN "11-ok.group", "[Group]\nId=11\n");
    tree_write(t, ADMIN "12-dup-by-name.group", "[Group]\nName=isp\n");

    g_autoptr(GPtrArray) errors = new_errors();
    /* The iproute2 names come from the tree's own file here. */
    GdConfig *config = (GdConfig *)0x1;
    g_assert_cmpint(gd_config_load(t->root, NULL, &config, errors), ==, -EINVAL);
    g_assert_null(config);

    g_autofree char *iproute2 = tree_path(t, "etc/iproute2/group");
    char *e[] = {
        msg(t, "etc/groupd/groupd.conf",
            ": [Daemon] RepairDrift: \"sometimes\" is not \"yes\" or \"no\""),
        msg(t, "etc/groupd/groupd.conf", ": [Daemon] Colour: unknown key"),
        msg(t, VENDOR "01-syntax.group",
            ":3: \"not a line\" is not a [Section], Key=Value or # comment line"),
        msg(t, ADMIN "02-section.group", ": [Network]: unknown section"),
        msg(t, ADMIN "03-key.group", ": [Group] Colour: unknown key"),
        msg(t, RUNTIME "04-values.group", ": [Link] MTU: \"0\" is out of range (1..2147483647)"),
        msg(t, RUNTIME "04-values.group", ": [Link] State: \"sideways\" is not \"up\" or \"down\""),
        msg(t, RUNTIME "04-values.group",
            ": [Link] MACAddress: \"zz\" is not a hardware address (hexadecimal bytes separated "
            "by \":\")"),
        msg(t, RUNTIME "04-values.group", ": [Link] TxQueueLength: \"abc\" is not a number"),
        msg(t, RUNTIME "04-values.group",
            ": [Address] Address: \"10.0.0.1/40\" is not an IPv4 or IPv6 address with an "
            "optional /prefix"),
        msg(t, ADMIN "05-mtu.group", ": [Link] MTU: \"abc\" is not a number"),
        msg(t, ADMIN "06-id.group", ": [Group] Id: \"4294967296\" is out of range (0..4294967295)"),
        g_strdup_printf("%s/" ADMIN "07-clash.group: [Group] Name: \"ppp\" is group 100 in %s, "
                        "not 200",
                        t->root, iproute2),
        g_strdup_printf("%s/" ADMIN "07-clash.group: [Group] Id: group 200 is named \"isp\" in "
                        "%s, not \"ppp\"",
                        t->root, iproute2),
        /* between files: the later one is blamed, naming the earlier */
        g_strdup_printf("%s/" ADMIN "08-dup.group: [Group] Id: group 3 is also defined by %s/" ADMIN
                        "03-key.group",
                        t->root, t->root),
        g_strdup_printf("%s/" ADMIN "10-name.group: [Group] Name: \"mine\" is also the name of "
                        "group 9 in %s/" ADMIN "09-name.group",
                        t->root, t->root),
        g_strdup_printf("%s/" ADMIN "12-dup-by-name.group: [Group] Id: group 200 is also defined "
                        "by %s/" ADMIN "07-clash.group",
                        t->root, t->root),
        NULL,
    };
    assert_errors(errors, (const char *const *)e);
    for (guint i = 0; e[i]; i++)
        g_free(e[i]);

    /* errors may be NULL: the same failure. */
    g_assert_cmpint(gd_config_load(t->root, NULL, &config, NULL), ==, -EINVAL);
    g_assert_null(config);
}

static void test_load_bad_daemon_conf(Tree *t, gconstpointer data)
{
    tree_mkdir(t, "etc/groupd/groupd.conf");
    tree_write(t, ADMIN "a.group", "[Group]\nId=1\n");
    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    g_autofree char *m = msg(t, "etc/groupd/groupd.conf", ": not a regular file");
    assert_errors(errors, (const char *const[]){m, NULL});
    g_assert_null(config);
}

static void test_load_not_a_directory(Tree *t, gconstpointer data)
{
    tree_write(t, "run/groupd/groups.d", "a file");
    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    g_autofree char *m = msg(t, "run/groupd/groups.d", ": not a directory");
    assert_errors(errors, (const char *const[]){m, NULL});
    g_assert_null(config);
}

static void test_load_writable_by_others(Tree *t, gconstpointer data)
{
    /* A file or directory others may write to is refused, with every other
     * error, and nothing of the configuration is used. */
    tree_write(t, ADMIN "10-a.group", "[Group]\nId=1\n");
    tree_write(t, ADMIN "20-b.group", "[Group]\nId=2\n");
    tree_write(t, RUNTIME "30-c.group", "[Group]\nId=3\n");
    g_autofree char *file = tree_path(t, ADMIN "20-b.group");
    g_autofree char *dir = tree_path(t, "run/groupd/groups.d");
    g_assert_cmpint(chmod(file, 0666), ==, 0);
    g_assert_cmpint(chmod(dir, 0777), ==, 0);
    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    g_autofree char *m1 =
        msg(t, ADMIN "20-b.group", ": writable by users other than root (mode 0666): refused");
    g_autofree char *m2 =
        msg(t, "run/groupd/groups.d", ": writable by users other than root (mode 0777): refused");
    assert_errors(errors, (const char *const[]){m2, m1, NULL});
    g_assert_null(config);
}

static void test_load_first_match(Tree *t, gconstpointer data)
{
    tree_write(t, ADMIN "10-ppp.group", "[Group]\nName=ppp\n[Match]\nName=ppp*\n");
    tree_write(t, ADMIN "20-veth.group", "[Group]\nId=10\n[Match]\nKind=veth\nName=veth*\n");
    tree_write(t, ADMIN "30-wireless.group", "[Group]\nId=30\n[Match]\nType=wlan wwan\n");
    tree_write(t, ADMIN "40-manual.group", "[Group]\nId=40\n"); /* no [Match] */
    tree_write(t, ADMIN "50-rest.group", "[Group]\nId=50\n[Match]\nName=!lo\n");

    g_autoptr(GPtrArray) errors = new_errors();
    g_autoptr(GdConfig) config = tree_load(t, errors);
    assert_errors(errors, (const char *const[]){NULL});
    const struct {
        const GdMatchInput *link;
        int want_id; /* -1: none */
    } cases[] = {
        {&link_ppp0, 100}, {&link_veth1, 10}, {&link_wlan0, 30}, {&link_eth0, 50}, {&link_lo, -1},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const GdGroupPolicy *p = gd_config_first_match(config, cases[i].link);
        g_test_message("%s", cases[i].link->name);
        if (cases[i].want_id < 0)
            g_assert_null(p);
        else
            g_assert_cmpint(p ? (int)p->id : -1, ==, cases[i].want_id);
    }
    g_assert_cmpstr(gd_config_policy_for_group(config, 100)->name, ==, "ppp");
    g_assert_cmpstr(gd_config_policy_for_group(config, 10)->name, ==, "ten");
}

/* ---- the key tables ---- */

/* A value of each type that is not a number or a word, for the tests below;
 * a new type without one fails them. */
static char *sample_value(const GdConfigKeyInfo *k)
{
    const struct {
        const char *type, *value;
    } samples[] = {
        {"boolean", "yes"},
        {"unix-group", "wheel"},
        {"list", "a b"},
        {"globs", "eth* wlan?"},
        {"hwaddr", "02:00:00:00:00:01"},
        {"hwaddrs", "02:00:00:00:00:01"},
        {"groups", "0 ppp"},
        {"addresses", "10.0.0.1/24 fd00::1"},
        {"group-name", "mine"},
    };
    if (k->words && !g_str_equal(k->type, "number"))
        return g_strdup(k->words[0]);
    if (k->max > 0)
        return g_strdup_printf("%" G_GUINT64_FORMAT, k->min);
    for (guint i = 0; i < G_N_ELEMENTS(samples); i++)
        if (g_str_equal(samples[i].type, k->type))
            return g_strdup(samples[i].value);
    g_error("no sample value for type %s ([%s] %s=): add one to the test", k->type, k->section,
            k->key);
}

/* "[Section]\nKey=value" as a file of the key's kind; the errors. */
static GPtrArray *parse_key(const char *file, const char *section, const char *key,
                            const char *value)
{
    GPtrArray *errors = new_errors();
    if (g_str_equal(file, "groupd.conf")) {
        g_autofree char *text = g_strdup_printf("[%s]\n%s=%s\n", section, key, value);
        g_auto(GdDaemonConfig) d = {0};
        gd_daemon_config_init(&d);
        int r = gd_daemon_config_parse("/c", text, strlen(text), &d, errors);
        g_assert_cmpint(r, ==, errors->len ? -EINVAL : 0);
    } else {
        g_assert_cmpstr(file, ==, "*.group");
        /* Group 1 ("mine" unknown), unless the key is Id= itself. */
        const char *head =
            g_str_equal(section, "Group") && g_str_equal(key, "Id") ? "" : "[Group]\nId=1\n";
        g_autofree char *text = g_strdup_printf("%s[%s]\n%s=%s\n", head, section, key, value);
        g_autoptr(GdGroupPolicy) p = parse_policy(text, errors);
        g_assert_true((p == NULL) == (errors->len > 0));
    }
    for (guint i = 0; i < errors->len; i++)
        g_test_message("%s [%s] %s=%s: %s", file, section, key, value, (char *)errors->pdata[i]);
    return errors;
}

static gboolean has_error(GPtrArray *errors, const char *part)
{
    for (guint i = 0; i < errors->len; i++)
        if (strstr(errors->pdata[i], part))
            return TRUE;
    return FALSE;
}

/* The listing is the parsers' truth: a key is accepted exactly in the
 * sections that list it, and a section exactly in the files that list it. */
static void test_keys_validation(void)
{
    g_autoptr(GArray) keys = gd_config_keys();
    const char *const files[] = {"groupd.conf", "*.group"};
    g_autoptr(GHashTable) listed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) sections = g_hash_table_new(g_str_hash, g_str_equal);

    g_assert_cmpuint(keys->len, >=, 30);
    for (guint i = 0; i < keys->len; i++) {
        const GdConfigKeyInfo *k = &g_array_index(keys, GdConfigKeyInfo, i);
        g_autofree char *id = g_strdup_printf("%s\n%s\n%s", k->file, k->section, k->key);
        g_assert_true(g_hash_table_add(listed, g_steal_pointer(&id))); /* once */
        g_hash_table_add(names, (gpointer)k->key);
        g_hash_table_add(sections, (gpointer)k->section);
    }
    g_hash_table_add(names, "Colour");
    g_hash_table_add(sections, "Network");

    GHashTableIter si, ki;
    gpointer section, key;
    for (guint f = 0; f < G_N_ELEMENTS(files); f++) {
        g_hash_table_iter_init(&si, sections);
        while (g_hash_table_iter_next(&si, &section, NULL)) {
            gboolean section_listed = FALSE;
            g_hash_table_iter_init(&ki, names);
            while (g_hash_table_iter_next(&ki, &key, NULL)) {
                g_autofree char *id =
                    g_strdup_printf("%s\n%s\n%s", files[f], (char *)section, (char *)key);
                section_listed = section_listed || g_hash_table_contains(listed, id);
            }
            /* Under an unknown section only the section is reported. */
            g_autoptr(GPtrArray) errors = parse_key(files[f], section, "Colour", "x");
            g_assert_cmpint(has_error(errors, ": unknown section"), ==, !section_listed);
            g_assert_cmpint(has_error(errors, ": unknown key"), ==, section_listed);
            if (!section_listed)
                continue;
            g_hash_table_iter_init(&ki, names);
            while (g_hash_table_iter_next(&ki, &key, NULL)) {
                g_autofree char *id =
                    g_strdup_printf("%s\n%s\n%s", files[f], (char *)section, (char *)key);
                g_autoptr(GPtrArray) key_errors = parse_key(files[f], section, key, "x");
                g_assert_cmpint(has_error(key_errors, ": unknown key"), ==,
                                !g_hash_table_contains(listed, id));
            }
        }
    }
}

/* Every key takes its sample value (and its default); numbers take their
 * minimum and maximum and refuse what lies outside; choices take each of
 * their words and name them all when refusing another. */
static void test_keys_values(void)
{
    g_autoptr(GArray) keys = gd_config_keys();
    for (guint i = 0; i < keys->len; i++) {
        const GdConfigKeyInfo *k = &g_array_index(keys, GdConfigKeyInfo, i);
        g_autofree char *value = sample_value(k);
        g_autoptr(GPtrArray) sample = parse_key(k->file, k->section, k->key, value);
        assert_errors(sample, (const char *const[]){NULL});
        if (k->default_value) {
            g_autoptr(GPtrArray) def = parse_key(k->file, k->section, k->key, k->default_value);
            assert_errors(def, (const char *const[]){NULL});
        }
        if (g_str_equal(k->type, "number") || g_str_equal(k->type, "seconds") ||
            g_str_equal(k->type, "size")) {
            g_assert_cmpuint(k->min, <=, k->max);
            g_assert_cmpuint(k->max, >, 0);
            /* min - 1 (when there is one), min, max, max + 1 */
            const guint64 values[] = {k->min - 1, k->min, k->max, k->max + 1};
            for (guint v = k->min ? 0 : 1; v < G_N_ELEMENTS(values); v++) {
                g_autofree char *text = g_strdup_printf("%" G_GUINT64_FORMAT, values[v]);
                g_autoptr(GPtrArray) errors = parse_key(k->file, k->section, k->key, text);
                if (v == 1 || v == 2)
                    assert_errors(errors, (const char *const[]){NULL});
                else
                    g_assert_true(has_error(errors, "is out of range"));
            }
        }
        if (k->words && (g_str_equal(k->type, "choice") || g_str_equal(k->type, "flags"))) {
            g_autoptr(GPtrArray) bad = parse_key(k->file, k->section, k->key, "nonsense");
            g_assert_cmpuint(bad->len, ==, 1);
            for (guint w = 0; k->words[w]; w++) {
                g_autoptr(GPtrArray) errors = parse_key(k->file, k->section, k->key, k->words[w]);
                assert_errors(errors, (const char *const[]){NULL});
                g_assert_nonnull(strstr(bad->pdata[0], k->words[w]));
            }
        }
        if (k->words && g_str_equal(k->type, "number")) {
            g_autoptr(GPtrArray) errors = parse_key(k->file, k->section, k->key, k->words[0]);
            assert_errors(errors, (const char *const[]){NULL});
        }
    }
}

/* The defaults of the tables, as the structs get them. */
static void test_keys_defaults(void)
{
    g_auto(GdDaemonConfig) d;
    gd_daemon_config_init(&d);
    g_assert_true(d.repair_drift);
    g_assert_cmpstr(d.admin_group, ==, GD_CONFIG_DEFAULT_ADMIN_GROUP);
    g_assert_cmpint(d.netlink_receive_buffer, ==, GD_NL_DEFAULT_RCVBUF);
    g_assert_cmpuint(d.drift_debounce_msec, ==, 1000);
    g_assert_cmpint(d.mptcp.mode, ==, GD_MPTCP_MODE_OFF);
    g_assert_null(d.mptcp.preference);
    g_assert_null(d.mptcp.preference_ids);
    g_assert_cmpuint(d.mptcp.hold_down_msec, ==, 5000);
    g_assert_cmpuint(d.mptcp.flap_threshold, ==, 3);
    g_assert_cmpuint(d.mptcp.flap_window_msec, ==, 60000);
    g_assert_cmpuint(d.mptcp.hold_down_max_msec, ==, 60000);
    g_assert_cmpint(d.mptcp.stale_loss_cnt, ==, 2);
    g_assert_true(d.mptcp.relax_rp_filter);
    g_assert_cmpint(d.mptcp.subflows, ==, -1);
    g_assert_cmpint(d.mptcp.add_addr_accepted, ==, -1);
    g_assert_false(d.mptcp.owner_forced);
    g_assert_cmpuint(d.mptcp.stall_detect_msec, ==, 100);

    g_autoptr(GdGroupPolicy) p = parse_policy("[Group]\nId=1\n", NULL);
    g_assert_nonnull(p);
    g_assert_false(p->mptcp.enabled);
    g_assert_cmpuint(p->mptcp.flags, ==, GD_MPTCP_FLAG_SUBFLOW);
    g_assert_null(p->mptcp.link_class);
    g_assert_false(p->mptcp.always);
    g_assert_false(p->link.set_mtu || p->link.set_state || p->link.set_hwaddr ||
                   p->link.set_txqlen);
    g_assert_cmpuint(p->addresses->len, ==, 0);

    /* What the listing says the defaults are. */
    const struct {
        const char *section, *key, *def;
    } want[] = {
        {"Daemon", "RepairDrift", "yes"}, {"Daemon", "NetlinkReceiveBuffer", "32M"},
        {"MPTCP", "Mode", "off"},         {"MPTCP", "Subflows", NULL},
        {"MPTCP", "StaleLossCount", "2"}, {"MPTCP", "Endpoint", "subflow"},
        {"MPTCP", "Class", NULL},         {"Link", "MTU", NULL},
    };
    g_autoptr(GArray) keys = gd_config_keys();
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        gboolean found = FALSE;
        for (guint k = 0; k < keys->len; k++) {
            const GdConfigKeyInfo *info = &g_array_index(keys, GdConfigKeyInfo, k);
            if (g_str_equal(info->section, want[i].section) &&
                g_str_equal(info->key, want[i].key)) {
                g_assert_cmpstr(info->default_value, ==, want[i].def);
                found = TRUE;
            }
        }
        g_assert_true(found);
    }
}

/* test-config --dump-config-keys: the key tables, for the documentation
 * test (tests/integration/test_docs.py). Tab-separated, a header line,
 * then one key a line; words space-separated. */
static int dump_config_keys(void)
{
    g_autoptr(GArray) keys = gd_config_keys();
    printf("file\tsection\tkey\ttype\tmin\tmax\tdefault\twords\trepeats\n");
    for (guint i = 0; i < keys->len; i++) {
        const GdConfigKeyInfo *k = &g_array_index(keys, GdConfigKeyInfo, i);
        g_autofree char *words = k->words ? g_strjoinv(" ", (char **)k->words) : g_strdup("");
        printf("%s\t%s\t%s\t%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%s\t%s\t%s\n",
               k->file, k->section, k->key, k->type, k->min, k->max,
               k->default_value ? k->default_value : "", words, k->repeats ? "repeats" : "");
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && g_str_equal(argv[1], "--dump-config-keys"))
        return dump_config_keys();
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/config/match/rules", test_match_rules);
    g_test_add_func("/config/match/parsed", test_match_parsed);
    g_test_add_func("/config/match/no-section", test_match_no_section);
    g_test_add_func("/config/group/full", test_group_full);
    g_test_add_func("/config/group/identity", test_group_identity);
    g_test_add_func("/config/group/bounds", test_group_bounds);
    g_test_add_func("/config/group/bad", test_group_bad);
    g_test_add_func("/config/group/all-errors", test_group_all_errors);
    g_test_add_func("/config/group/grammar-like-gkeyfile", test_grammar_like_gkeyfile);
    g_test_add_func("/config/daemon/defaults", test_daemon_defaults);
    g_test_add_func("/config/daemon/full", test_daemon_full);
    g_test_add_func("/config/daemon/values", test_daemon_values);
    g_test_add_func("/config/daemon/bad", test_daemon_bad);
    g_test_add_func("/config/mptcp/defaults-and-bad", test_mptcp_defaults_and_bad);
    g_test_add_func("/config/keys/validation", test_keys_validation);
    g_test_add_func("/config/keys/values", test_keys_values);
    g_test_add_func("/config/keys/defaults", test_keys_defaults);

#define TREE_TEST(path, func) g_test_add(path, Tree, NULL, tree_setup, func, tree_teardown)
    TREE_TEST("/config/load/nothing", test_load_nothing);
    TREE_TEST("/config/load/daemon-conf", test_load_daemon_conf);
    TREE_TEST("/config/load/mptcp", test_load_mptcp);
    TREE_TEST("/config/load/mptcp-shared-address", test_load_mptcp_shared_address);
    TREE_TEST("/config/load/order-and-replace", test_load_order_and_replace);
    TREE_TEST("/config/load/replaced-not-read", test_load_replaced_not_read);
    TREE_TEST("/config/load/mask", test_load_mask);
    TREE_TEST("/config/load/symlinks-inside", test_load_symlinks_inside);
    TREE_TEST("/config/load/symlinks-refused", test_load_symlinks_refused);
    TREE_TEST("/config/load/bad-files", test_load_bad_files);
    TREE_TEST("/config/load/bad-daemon-conf", test_load_bad_daemon_conf);
    TREE_TEST("/config/load/not-a-directory", test_load_not_a_directory);
    TREE_TEST("/config/load/writable-by-others", test_load_writable_by_others);
    TREE_TEST("/config/load/first-match", test_load_first_match);
    return g_test_run();
}

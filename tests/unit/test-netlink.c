/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/netlink/nl-msg.c: the rtnetlink builders against golden
 * bytes written out by hand from the kernel's struct layout (little-endian
 * x86_64), the parsers on hand-built kernel messages, the order of per-link
 * requests, batches and the collection of their answers (nl-socket.c,
 * without a socket), and the MAC/CIDR text forms.
 *
 * Layouts used below (see linux/netlink.h, linux/rtnetlink.h):
 *   nlmsghdr  16: u32 len, u16 type, u16 flags, u32 seq, u32 pid
 *   ifinfomsg 16: u8 family, u8 pad, u16 type, i32 index, u32 flags, u32 change
 *   ifaddrmsg  8: u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index
 *   nlmsgerr  20: i32 error, nlmsghdr msg
 *   nlattr     4: u16 len (header + payload, unpadded), u16 type; payload
 *                 padded to 4 bytes with zeros
 * Numbers are written as literals (with the kernel's name in a comment) so
 * that a wrong constant in the builder cannot cancel out in the test.
 */
#include "netlink/nl.h"

#include <errno.h>
#include <glib.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

G_STATIC_ASSERT(sizeof(struct nlmsghdr) == 16);
G_STATIC_ASSERT(sizeof(struct ifinfomsg) == 16);
G_STATIC_ASSERT(sizeof(struct ifaddrmsg) == 8);
G_STATIC_ASSERT(sizeof(struct nlmsgerr) == 20);
G_STATIC_ASSERT(sizeof(struct nlattr) == 4);
G_STATIC_ASSERT(G_BYTE_ORDER == G_LITTLE_ENDIAN);

/* clang-format off */
#define LE16(v) (uint8_t)((uint16_t)(v) & 0xff), (uint8_t)(((uint16_t)(v) >> 8) & 0xff)
#define LE32(v)                                                                                    \
    (uint8_t)((uint32_t)(v) & 0xff), (uint8_t)(((uint32_t)(v) >> 8) & 0xff),                      \
        (uint8_t)(((uint32_t)(v) >> 16) & 0xff), (uint8_t)(((uint32_t)(v) >> 24) & 0xff)
/* clang-format on */

/* A message buffer aligned for struct nlmsghdr. */
typedef union {
    struct nlmsghdr nlh;
    uint32_t align;
    uint8_t bytes[1024];
} MsgBuf;

static const struct nlmsghdr *load(MsgBuf *buf, const uint8_t *bytes, size_t len)
{
    g_assert_cmpuint(len, <=, sizeof(buf->bytes));
    memset(buf, 0, sizeof(*buf));
    memcpy(buf->bytes, bytes, len);
    /* The hand-written nlmsg_len agrees with the bytes written. */
    g_assert_cmpuint(buf->nlh.nlmsg_len, ==, len);
    return &buf->nlh;
}

static char *hexdump(const uint8_t *p, size_t len)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < len; i++)
        g_string_append_printf(s, "%s%02x", i == 0 ? "" : (i % 16 == 0 ? "\n  " : " "), p[i]);
    return g_string_free(s, FALSE);
}

/* The message the builder returned must be exactly the golden bytes,
 * nlmsg_len included. */
static void assert_msg(const struct nlmsghdr *nlh, const uint8_t *want, size_t want_len)
{
    const uint8_t *got = (const uint8_t *)nlh;
    size_t got_len = nlh->nlmsg_len;
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        g_autofree char *g = hexdump(got, MIN(got_len, (size_t)GD_NL_MSG_MAX));
        g_autofree char *w = hexdump(want, want_len);
        g_test_message("built (%zu bytes):\n  %s\nexpected (%zu bytes):\n  %s", got_len, g,
                       want_len, w);
    }
    g_assert_cmpmem(got, MIN(got_len, (size_t)GD_NL_MSG_MAX), want, want_len);
}

/* ======================= builders ======================= */

static void test_put_group_change_full(void)
{
    MsgBuf buf;
    GdNlLinkChange change = {
        .set_mtu = true,
        .mtu = 9000,
        .set_state = true,
        .up = true,
        .set_hwaddr = true,
        .hwaddr = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01},
        .hwaddr_len = 6,
        .set_txqlen = true,
        .txqlen = 500,
    };
    /* clang-format off */
    static const uint8_t want[] = {
        /* nlmsghdr */
        LE32(68),         /* nlmsg_len: 16 + 16 + 8 + 8 + 12 + 8 */
        LE16(16),         /* RTM_NEWLINK */
        LE16(0x0001 | 0x0004), /* NLM_F_REQUEST | NLM_F_ACK, no NLM_F_CREATE */
        LE32(0x01020304), /* seq */
        LE32(0),          /* pid */
        /* ifinfomsg */
        0,        /* AF_UNSPEC */
        0,        /* pad */
        LE16(0),  /* ifi_type */
        LE32(0),  /* ifi_index 0: group mode */
        LE32(1),  /* ifi_flags IFF_UP */
        LE32(1),  /* ifi_change IFF_UP */
        LE16(8), LE16(4), LE32(9000),  /* IFLA_MTU */
        LE16(8), LE16(13), LE32(500),  /* IFLA_TXQLEN */
        LE16(10), LE16(1),             /* IFLA_ADDRESS, 6 bytes + 2 padding */
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0, 0,
        LE16(8), LE16(27), LE32(7),    /* IFLA_GROUP */
    };
    /* clang-format on */
    const struct nlmsghdr *nlh = gd_nl_put_group_change(&buf, 0x01020304, 7, &change);
    g_assert_true((const void *)nlh == (const void *)&buf);
    assert_msg(nlh, want, sizeof(want));
}

static void test_put_group_change_down(void)
{
    MsgBuf buf;
    GdNlLinkChange change = {.set_state = true, .up = false};
    /* clang-format off */
    static const uint8_t want[] = {
        LE32(40), LE16(16), LE16(0x0005), LE32(1), LE32(0),
        0, 0, LE16(0), LE32(0),
        LE32(0), /* ifi_flags: not IFF_UP */
        LE32(1), /* ifi_change IFF_UP: the bit is meant */
        LE16(8), LE16(27), LE32(100), /* IFLA_GROUP */
    };
    /* clang-format on */
    assert_msg(gd_nl_put_group_change(&buf, 1, 100, &change), want, sizeof(want));
}

static void test_put_group_change_mtu_only(void)
{
    MsgBuf buf;
    GdNlLinkChange change = {.set_mtu = true, .mtu = 1280};
    /* No state: ifi_change stays 0 so the kernel leaves the flags alone. */
    /* clang-format off */
    static const uint8_t want[] = {
        LE32(48), LE16(16), LE16(0x0005), LE32(2), LE32(0),
        0, 0, LE16(0), LE32(0), LE32(0), LE32(0),
        LE16(8), LE16(4), LE32(1280),        /* IFLA_MTU */
        LE16(8), LE16(27), LE32(0xfffffffe), /* IFLA_GROUP */
    };
    /* clang-format on */
    assert_msg(gd_nl_put_group_change(&buf, 2, 0xfffffffe, &change), want, sizeof(want));
}

static void test_put_group_change_txqlen_hwaddr(void)
{
    MsgBuf buf;
    /* An 8-byte address needs no padding. */
    GdNlLinkChange change = {
        .set_txqlen = true,
        .txqlen = 0,
        .set_hwaddr = true,
        .hwaddr = {1, 2, 3, 4, 5, 6, 7, 8},
        .hwaddr_len = 8,
    };
    /* clang-format off */
    static const uint8_t want[] = {
        LE32(60), LE16(16), LE16(0x0005), LE32(3), LE32(0),
        0, 0, LE16(0), LE32(0), LE32(0), LE32(0),
        LE16(8), LE16(13), LE32(0),                    /* IFLA_TXQLEN 0 is a value */
        LE16(12), LE16(1), 1, 2, 3, 4, 5, 6, 7, 8,     /* IFLA_ADDRESS */
        LE16(8), LE16(27), LE32(5),                    /* IFLA_GROUP */
    };
    /* clang-format on */
    assert_msg(gd_nl_put_group_change(&buf, 3, 5, &change), want, sizeof(want));
}

static void test_put_group_change_empty(void)
{
    MsgBuf buf;
    GdNlLinkChange change = {0};
    /* clang-format off */
    static const uint8_t want[] = {
        LE32(40), LE16(16), LE16(0x0005), LE32(4), LE32(0),
        0, 0, LE16(0), LE32(0), LE32(0), LE32(0),
        LE16(8), LE16(27), LE32(9),
    };
    /* clang-format on */
    /* The builder must not depend on what the buffer held before. */
    memset(&buf, 0xa5, sizeof(buf));
    assert_msg(gd_nl_put_group_change(&buf, 4, 9, &change), want, sizeof(want));
}

static void test_put_link_change(void)
{
    MsgBuf buf;
    GdNlLinkChange change = {.set_mtu = true, .mtu = 1500, .set_state = true, .up = true};
    /* clang-format off */
    static const uint8_t want[] = {
        LE32(40), LE16(16), LE16(0x0005), LE32(11), LE32(0),
        0, 0, LE16(0), LE32(42), /* ifi_index */
        LE32(1), LE32(1),
        LE16(8), LE16(4), LE32(1500), /* IFLA_MTU, and no IFLA_GROUP */
    };
    /* clang-format on */
    assert_msg(gd_nl_put_link_change(&buf, 11, 42, &change), want, sizeof(want));
}

static void test_put_link_set_group(void)
{
    MsgBuf buf;
    /* clang-format off */
    static const uint8_t want[] = {
        LE32(40), LE16(16), LE16(0x0005), LE32(42), LE32(0),
        0, 0, LE16(0), LE32(5), /* ifi_index */
        LE32(0), LE32(0),       /* flags untouched */
        LE16(8), LE16(27), LE32(100), /* IFLA_GROUP */
    };
    /* clang-format on */
    memset(&buf, 0xff, sizeof(buf));
    assert_msg(gd_nl_put_link_set_group(&buf, 42, 5, 100), want, sizeof(want));
}

static void test_put_addr_v4(void)
{
    MsgBuf buf;
    GdNlAddr addr = {.ifindex = 3, .family = AF_INET, .prefixlen = 24, .addr = {10, 0, 0, 1}};
    /* clang-format off */
    static const uint8_t want_new[] = {
        LE32(40), LE16(20), /* RTM_NEWADDR */
        /* NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE */
        LE16(0x0001 | 0x0004 | 0x0100 | 0x0400), LE32(77), LE32(0),
        2,  /* AF_INET */
        24, /* prefixlen */
        0,  /* flags */
        0,  /* RT_SCOPE_UNIVERSE */
        LE32(3),
        LE16(8), LE16(2), 10, 0, 0, 1, /* IFA_LOCAL */
        LE16(8), LE16(1), 10, 0, 0, 1, /* IFA_ADDRESS */
    };
    /* clang-format on */
    /* clang-format off */
    static const uint8_t want_del[] = {
        LE32(40), LE16(21), /* RTM_DELADDR */
        LE16(0x0001 | 0x0004), /* neither CREATE nor REPLACE */
        LE32(78), LE32(0),
        2, 24, 0, 0, LE32(3),
        LE16(8), LE16(2), 10, 0, 0, 1,
        LE16(8), LE16(1), 10, 0, 0, 1,
    };
    /* clang-format on */
    assert_msg(gd_nl_put_addr(&buf, 77, RTM_NEWADDR, &addr), want_new, sizeof(want_new));
    assert_msg(gd_nl_put_addr(&buf, 78, RTM_DELADDR, &addr), want_del, sizeof(want_del));
}

static void test_put_addr_v6(void)
{
    MsgBuf buf;
    GdNlAddr addr = {
        .ifindex = 4,
        .family = AF_INET6,
        .prefixlen = 64,
        .addr = {0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01},
    };
#define FD00_1 0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
    /* clang-format off */
    static const uint8_t want_new[] = {
        LE32(44), LE16(20), LE16(0x0505), LE32(1000), LE32(0),
        10, /* AF_INET6 */
        64, 0, 0, LE32(4),
        LE16(20), LE16(2), FD00_1, /* IFA_LOCAL */
    };
    /* clang-format on */
    /* clang-format off */
    static const uint8_t want_del[] = {
        LE32(44), LE16(21), LE16(0x0005), LE32(1001), LE32(0),
        10, 64, 0, 0, LE32(4),
        LE16(20), LE16(2), FD00_1,
    };
    /* clang-format on */
#undef FD00_1
    assert_msg(gd_nl_put_addr(&buf, 1000, RTM_NEWADDR, &addr), want_new, sizeof(want_new));
    assert_msg(gd_nl_put_addr(&buf, 1001, RTM_DELADDR, &addr), want_del, sizeof(want_del));
}

static void test_put_getlink_dump(void)
{
    MsgBuf buf;
    /* clang-format off */
    static const uint8_t want[] = {
        LE32(40), LE16(18), /* RTM_GETLINK */
        LE16(0x0001 | 0x0300), /* NLM_F_REQUEST | NLM_F_DUMP */
        LE32(9), LE32(0),
        0, 0, LE16(0), LE32(0), LE32(0), LE32(0),
        LE16(8), LE16(29), LE32(1 << 3), /* IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS */
    };
    /* clang-format on */
    assert_msg(gd_nl_put_getlink_dump(&buf, 9), want, sizeof(want));
}

static void test_put_getlink(void)
{
    MsgBuf buf;
    /* clang-format off */
    static const uint8_t want[] = {
        LE32(40), LE16(18), LE16(0x0005), LE32(10), LE32(0),
        0, 0, LE16(0), LE32(17), LE32(0), LE32(0),
        LE16(8), LE16(29), LE32(8),
    };
    /* clang-format on */
    assert_msg(gd_nl_put_getlink(&buf, 10, 17), want, sizeof(want));
}

static void test_put_getaddr_dump(void)
{
    MsgBuf buf;
    /* clang-format off */
    static const uint8_t want[] = {
        LE32(24), LE16(22), /* RTM_GETADDR */
        LE16(0x0301), LE32(12), LE32(0),
        0, 0, 0, 0, LE32(0), /* AF_UNSPEC: both families */
    };
    /* clang-format on */
    assert_msg(gd_nl_put_getaddr_dump(&buf, 12, AF_UNSPEC), want, sizeof(want));
}

/* ======================= link parser ======================= */

/* RTM_NEWLINK for veth0 as the kernel sends it (abridged). */
/* clang-format off */
static const uint8_t newlink_veth0[] = {
    LE32(152), LE16(16), LE16(0), LE32(0), LE32(0),
    /* ifinfomsg */
    0, 0, LE16(1), /* ARPHRD_ETHER */
    LE32(7),
    /* IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP */
    LE32(0x1 | 0x2 | 0x40 | 0x1000 | 0x10000),
    LE32(0),
    /* offset 32 */
    LE16(10), LE16(3), 'v', 'e', 't', 'h', '0', 0, 0, 0,     /* IFLA_IFNAME */
    LE16(8), LE16(13), LE32(1000),                         /* IFLA_TXQLEN */
    LE16(5), LE16(16), 6, 0, 0, 0,                         /* IFLA_OPERSTATE IF_OPER_UP */
    LE16(8), LE16(4), LE32(1500),                          /* IFLA_MTU */
    LE16(8), LE16(50), LE32(68),                           /* IFLA_MIN_MTU */
    LE16(8), LE16(51), LE32(65535),                        /* IFLA_MAX_MTU */
    LE16(8), LE16(27), LE32(10),                           /* IFLA_GROUP */
    LE16(5), LE16(33), 1, 0, 0, 0,                         /* IFLA_CARRIER */
    LE16(10), LE16(1), 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, /* IFLA_ADDRESS */
    LE16(10), LE16(2), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, /* IFLA_BROADCAST */
    LE16(20), LE16(18),                                    /* IFLA_LINKINFO */
    LE16(9), LE16(1), 'v', 'e', 't', 'h', 0, 0, 0, 0,        /*   IFLA_INFO_KIND */
    LE16(4), LE16(2),                                      /*   IFLA_INFO_DATA (empty) */
    LE16(8), LE16(0x3ff0), LE32(0xdeadbeef),               /* from a newer kernel */
};
/* clang-format on */

/* Offsets of attributes in newlink_veth0. */
#define VETH0_IFNAME_OFFSET  32
#define VETH0_MTU_OFFSET     (32 + 12 + 8 + 8)
#define VETH0_CARRIER_OFFSET (VETH0_MTU_OFFSET + 8 * 4)
#define VETH0_ADDRESS_OFFSET (VETH0_MTU_OFFSET + 8 * 5)

static void test_parse_link(void)
{
    MsgBuf buf;
    GdNlLink link;
    g_assert_cmpuint(sizeof(newlink_veth0), ==, 152);
    const struct nlmsghdr *nlh = load(&buf, newlink_veth0, sizeof(newlink_veth0));
    memset(&link, 0x5a, sizeof(link));
    g_assert_cmpint(gd_nl_parse_link(nlh, &link), ==, 0);
    g_assert_cmpint(link.ifindex, ==, 7);
    g_assert_cmpstr(link.name, ==, "veth0");
    g_assert_cmpuint(link.group, ==, 10);
    g_assert_cmpuint(link.mtu, ==, 1500);
    g_assert_cmpuint(link.min_mtu, ==, 68);
    g_assert_cmpuint(link.max_mtu, ==, 65535);
    g_assert_cmpuint(link.txqlen, ==, 1000);
    g_assert_cmphex(link.flags, ==, 0x11043);
    g_assert_cmpuint(link.arptype, ==, 1);
    g_assert_cmpuint(link.operstate, ==, 6);
    g_assert_cmpint(link.carrier, ==, 1);
    static const uint8_t mac[] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    g_assert_cmpmem(link.hwaddr, link.hwaddr_len, mac, sizeof(mac));
    g_assert_cmpstr(link.kind, ==, "veth");

    /* RTM_DELLINK has the same layout. */
    buf.nlh.nlmsg_type = RTM_DELLINK;
    g_assert_cmpint(gd_nl_parse_link(nlh, &link), ==, 0);
    g_assert_cmpstr(link.name, ==, "veth0");
}

/* A link with only the mandatory name: everything else at its "absent"
 * value. */
static void test_parse_link_minimal(void)
{
    /* clang-format off */
    static const uint8_t msg[] = {
        LE32(44), LE16(16), LE16(0), LE32(0), LE32(0),
        0, 0, LE16(0xfffe), /* ARPHRD_NONE */
        LE32(3), LE32(0x1 | 0x10 | 0x80), LE32(0),
        LE16(9), LE16(3), 't', 'u', 'n', '0', 0, 0, 0, 0,
    };
    /* clang-format on */
    MsgBuf buf;
    GdNlLink link;
    memset(&link, 0x5a, sizeof(link));
    g_assert_cmpint(gd_nl_parse_link(load(&buf, msg, sizeof(msg)), &link), ==, 0);
    g_assert_cmpint(link.ifindex, ==, 3);
    g_assert_cmpstr(link.name, ==, "tun0");
    g_assert_cmpuint(link.group, ==, 0);
    g_assert_cmpuint(link.mtu, ==, 0);
    g_assert_cmpuint(link.min_mtu, ==, 0);
    g_assert_cmpuint(link.max_mtu, ==, 0);
    g_assert_cmpuint(link.arptype, ==, 0xfffe);
    g_assert_cmpint(link.carrier, ==, -1);
    g_assert_cmpuint(link.hwaddr_len, ==, 0);
    g_assert_cmpstr(link.kind, ==, "");
    g_assert_false(link.inet6);
    g_assert_false(link.ipv6_disabled);
}

/* Appends an attribute at *len of buf; returns its offset (for nests). */
static size_t put_attr(MsgBuf *buf, size_t *len, uint16_t type, const void *data, uint16_t size)
{
    size_t at = *len;
    struct nlattr attr = {.nla_len = (uint16_t)(sizeof(attr) + size), .nla_type = type};
    memcpy(buf->bytes + at, &attr, sizeof(attr));
    if (size)
        memcpy(buf->bytes + at + sizeof(attr), data, size);
    *len = at + ((attr.nla_len + 3u) & ~3u);
    return at;
}

static void end_nest(MsgBuf *buf, size_t len, size_t nest)
{
    uint16_t nla_len = (uint16_t)(len - nest);
    memcpy(buf->bytes + nest, &nla_len, sizeof(nla_len));
}

/* tun0 with IFLA_AF_SPEC: AF_INET, then AF_INET6 (unless without_inet6)
 * with a devconf of conf_entries whose disable_ipv6 (index 26) is set. */
static const struct nlmsghdr *link_with_af_spec(MsgBuf *buf, gboolean with_inet6,
                                                guint conf_entries, int32_t disable_ipv6)
{
    memset(buf, 0, sizeof(*buf));
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 3, .ifi_flags = 0x1};
    memcpy(buf->bytes + sizeof(struct nlmsghdr), &ifi, sizeof(ifi));
    size_t len = sizeof(struct nlmsghdr) + sizeof(ifi);
    put_attr(buf, &len, IFLA_IFNAME, "tun0", 5);
    size_t af_spec = put_attr(buf, &len, IFLA_AF_SPEC, NULL, 0);
    size_t inet = put_attr(buf, &len, AF_INET, NULL, 0);
    const uint32_t inet_conf[4] = {1, 0, 0, 1};
    put_attr(buf, &len, 1 /* IFLA_INET_CONF */, inet_conf, sizeof(inet_conf));
    end_nest(buf, len, inet);
    if (with_inet6) {
        size_t inet6 = put_attr(buf, &len, AF_INET6, NULL, 0);
        const uint32_t flags = 0x80000000; /* IF_READY */
        put_attr(buf, &len, IFLA_INET6_FLAGS, &flags, sizeof(flags));
        int32_t conf[64] = {0};
        conf[2] = 1500; /* DEVCONF_MTU6 */
        conf[26] = disable_ipv6;
        put_attr(buf, &len, IFLA_INET6_CONF, conf, (uint16_t)(conf_entries * sizeof(int32_t)));
        end_nest(buf, len, inet6);
    }
    end_nest(buf, len, af_spec);
    buf->nlh.nlmsg_len = (uint32_t)len;
    buf->nlh.nlmsg_type = RTM_NEWLINK;
    return &buf->nlh;
}

/* IPv6 state and disable_ipv6 from IFLA_AF_SPEC: what a change of the link
 * costs the kernel under RTNL. */
static void test_parse_link_inet6(void)
{
    MsgBuf buf;
    GdNlLink link;
    g_assert_cmpint(gd_nl_parse_link(link_with_af_spec(&buf, TRUE, 64, 0), &link), ==, 0);
    g_assert_true(link.inet6);
    g_assert_false(link.ipv6_disabled);
    g_assert_cmpint(gd_nl_parse_link(link_with_af_spec(&buf, TRUE, 64, 1), &link), ==, 0);
    g_assert_true(link.inet6);
    g_assert_true(link.ipv6_disabled);
    /* A devconf too short to reach disable_ipv6 (an older kernel): IPv6
     * state, taken as enabled. */
    g_assert_cmpint(gd_nl_parse_link(link_with_af_spec(&buf, TRUE, 26, 1), &link), ==, 0);
    g_assert_true(link.inet6);
    g_assert_false(link.ipv6_disabled);
    /* No AF_INET6: no IPv6 state (an MTU below 1280, or no IPv6). */
    g_assert_cmpint(gd_nl_parse_link(link_with_af_spec(&buf, FALSE, 0, 0), &link), ==, 0);
    g_assert_false(link.inet6);
    g_assert_false(link.ipv6_disabled);
    g_assert_cmpstr(link.name, ==, "tun0");
}

static void test_parse_link_carrier_down(void)
{
    MsgBuf buf;
    GdNlLink link;
    load(&buf, newlink_veth0, sizeof(newlink_veth0));
    g_assert_cmpuint(buf.bytes[VETH0_CARRIER_OFFSET + 2], ==, 33); /* IFLA_CARRIER */
    buf.bytes[VETH0_CARRIER_OFFSET + 4] = 0;
    g_assert_cmpint(gd_nl_parse_link(&buf.nlh, &link), ==, 0);
    g_assert_cmpint(link.carrier, ==, 0);
}

static void test_parse_link_truncated(void)
{
    MsgBuf buf;
    GdNlLink link;

    /* Shorter than nlmsghdr + ifinfomsg. */
    static const uint8_t header_only[] = {LE32(16), LE16(16), LE16(0), LE32(0), LE32(0)};
    g_assert_cmpint(gd_nl_parse_link(load(&buf, header_only, sizeof(header_only)), &link), ==,
                    -EPROTO);
    load(&buf, newlink_veth0, sizeof(newlink_veth0));
    buf.nlh.nlmsg_len = 16 + 15;
    g_assert_cmpint(gd_nl_parse_link(&buf.nlh, &link), ==, -EPROTO);

    /* Cut inside IFLA_IFNAME: the name is not there. */
    load(&buf, newlink_veth0, sizeof(newlink_veth0));
    buf.nlh.nlmsg_len = VETH0_IFNAME_OFFSET + 6;
    g_assert_cmpint(gd_nl_parse_link(&buf.nlh, &link), ==, -EPROTO);
}

/* Cut inside IFLA_MTU: an attribute that claims more bytes than the message
 * holds makes the message malformed; reading it as "no MTU" would put MTU 0
 * into the cache. (Registered last: it fails while libmnl's silent stop at
 * a truncated attribute is taken as the end of the message.) */
static void test_parse_link_truncated_attr(void)
{
    MsgBuf buf;
    GdNlLink link;
    load(&buf, newlink_veth0, sizeof(newlink_veth0));
    g_assert_cmpuint(buf.bytes[VETH0_MTU_OFFSET + 2], ==, 4); /* IFLA_MTU */
    buf.nlh.nlmsg_len = VETH0_MTU_OFFSET + 4;
    g_assert_cmpint(gd_nl_parse_link(&buf.nlh, &link), ==, -EPROTO);

    /* Cut inside IFLA_ADDRESS (4 of its 6 bytes): read as "no hardware
     * address", the cache would refuse a MAC change on this link. */
    load(&buf, newlink_veth0, sizeof(newlink_veth0));
    g_assert_cmpuint(buf.bytes[VETH0_ADDRESS_OFFSET + 2], ==, 1); /* IFLA_ADDRESS */
    buf.nlh.nlmsg_len = VETH0_ADDRESS_OFFSET + 8;
    g_assert_cmpint(gd_nl_parse_link(&buf.nlh, &link), ==, -EPROTO);
}

static void test_parse_link_no_ifname(void)
{
    /* clang-format off */
    static const uint8_t msg[] = {
        LE32(40), LE16(16), LE16(0), LE32(0), LE32(0),
        0, 0, LE16(1), LE32(7), LE32(0), LE32(0),
        LE16(8), LE16(4), LE32(1500), /* IFLA_MTU only */
    };
    /* clang-format on */
    /* An empty name is as good as none. */
    /* clang-format off */
    static const uint8_t empty_name[] = {
        LE32(40), LE16(16), LE16(0), LE32(0), LE32(0),
        0, 0, LE16(1), LE32(7), LE32(0), LE32(0),
        LE16(5), LE16(3), 0, 0, 0, 0,
    };
    /* clang-format on */
    MsgBuf buf;
    GdNlLink link;
    g_assert_cmpint(gd_nl_parse_link(load(&buf, msg, sizeof(msg)), &link), ==, -EPROTO);
    g_assert_cmpint(gd_nl_parse_link(load(&buf, empty_name, sizeof(empty_name)), &link), ==,
                    -EPROTO);
}

static void test_parse_link_bad_index(void)
{
    MsgBuf buf;
    GdNlLink link;
    load(&buf, newlink_veth0, sizeof(newlink_veth0));
    buf.bytes[16 + 4] = 0; /* ifi_index 0 */
    g_assert_cmpint(gd_nl_parse_link(&buf.nlh, &link), ==, -EPROTO);
}

static void test_parse_link_bridge(void)
{
    MsgBuf buf;
    GdNlLink link;
    load(&buf, newlink_veth0, sizeof(newlink_veth0));
    buf.bytes[16] = 7; /* AF_BRIDGE: a bridge port event */
    g_assert_cmpint(gd_nl_parse_link(&buf.nlh, &link), ==, -EAFNOSUPPORT);
    buf.nlh.nlmsg_type = RTM_DELLINK;
    g_assert_cmpint(gd_nl_parse_link(&buf.nlh, &link), ==, -EAFNOSUPPORT);
}

static void test_parse_link_wrong_type(void)
{
    MsgBuf buf;
    GdNlLink link;
    load(&buf, newlink_veth0, sizeof(newlink_veth0));
    buf.nlh.nlmsg_type = RTM_NEWADDR;
    g_assert_cmpint(gd_nl_parse_link(&buf.nlh, &link), <, 0);
}

static void test_parse_link_long_hwaddr(void)
{
    /* 33 bytes of hardware address: more than GD_NL_MAX_HWADDR. */
    uint8_t msg[16 + 16 + 12 + 40];
    memset(msg, 0, sizeof(msg));
    /* clang-format off */
    static const uint8_t head[] = {
        LE32(16 + 16 + 12 + 40), LE16(16), LE16(0), LE32(0), LE32(0),
        0, 0, LE16(1), LE32(7), LE32(0), LE32(0),
        LE16(10), LE16(3), 'v', 'e', 't', 'h', '0', 0, 0, 0,
        LE16(4 + 33), LE16(1),
    };
    /* clang-format on */
    memcpy(msg, head, sizeof(head));
    MsgBuf buf;
    GdNlLink link;
    g_assert_cmpint(gd_nl_parse_link(load(&buf, msg, sizeof(msg)), &link), ==, -EPROTO);

    /* 20 bytes (InfiniBand) is fine. */
    buf.bytes[16 + 16 + 12] = 4 + 20;
    buf.nlh.nlmsg_len = 16 + 16 + 12 + 24;
    buf.bytes[16 + 16 + 12 + 4 + 19] = 0xab;
    g_assert_cmpint(gd_nl_parse_link(&buf.nlh, &link), ==, 0);
    g_assert_cmpuint(link.hwaddr_len, ==, 20);
    g_assert_cmphex(link.hwaddr[19], ==, 0xab);
}

/* ======================= address parser ======================= */

static void test_parse_addr_v4(void)
{
    /* A point-to-point address: IFA_LOCAL is ours, IFA_ADDRESS the peer. */
    /* clang-format off */
    static const uint8_t msg[] = {
        LE32(56), LE16(20), LE16(0), LE32(0), LE32(0),
        2, 32, 0x80 /* IFA_F_PERMANENT */, 0 /* universe */, LE32(9),
        LE16(8), LE16(1), 10, 0, 0, 2,   /* IFA_ADDRESS (peer) */
        LE16(8), LE16(2), 10, 0, 0, 1,   /* IFA_LOCAL */
        LE16(8), LE16(3), 'p', 'p', 'p', 0, /* IFA_LABEL */
        LE16(8), LE16(8), LE32(0x80 | 0x200), /* IFA_FLAGS: PERMANENT | NOPREFIXROUTE */
    };
    /* clang-format on */
    MsgBuf buf;
    GdNlAddr addr;
    memset(&addr, 0x5a, sizeof(addr));
    g_assert_cmpint(gd_nl_parse_addr(load(&buf, msg, sizeof(msg)), &addr), ==, 0);
    g_assert_cmpint(addr.ifindex, ==, 9);
    g_assert_cmpuint(addr.family, ==, AF_INET);
    g_assert_cmpuint(addr.prefixlen, ==, 32);
    g_assert_cmpuint(addr.scope, ==, 0);
    /* IFA_FLAGS (32 bits) wins over the 8-bit ifa_flags. */
    g_assert_cmphex(addr.flags, ==, 0x280);
    static const uint8_t local[] = {10, 0, 0, 1};
    g_assert_cmpmem(addr.addr, 4, local, 4);

    /* RTM_DELADDR has the same layout. */
    buf.nlh.nlmsg_type = RTM_DELADDR;
    g_assert_cmpint(gd_nl_parse_addr(&buf.nlh, &addr), ==, 0);
    g_assert_cmpmem(addr.addr, 4, local, 4);
}

static void test_parse_addr_v6(void)
{
    /* IPv6 addresses come with IFA_ADDRESS only. */
    /* clang-format off */
    static const uint8_t msg[] = {
        LE32(64), LE16(20), LE16(0), LE32(0), LE32(0),
        10, 64, 0x80, 253 /* RT_SCOPE_LINK */, LE32(4),
        LE16(20), LE16(1),
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 0x01,
        LE16(20), LE16(6), LE32(0xffffffff), LE32(0xffffffff), LE32(1), LE32(2), /* IFA_CACHEINFO */
    };
    /* clang-format on */
    MsgBuf buf;
    GdNlAddr addr;
    g_assert_cmpint(gd_nl_parse_addr(load(&buf, msg, sizeof(msg)), &addr), ==, 0);
    g_assert_cmpint(addr.ifindex, ==, 4);
    g_assert_cmpuint(addr.family, ==, AF_INET6);
    g_assert_cmpuint(addr.prefixlen, ==, 64);
    g_assert_cmpuint(addr.scope, ==, 253);
    /* Without IFA_FLAGS, ifa_flags. */
    g_assert_cmphex(addr.flags, ==, 0x80);
    static const uint8_t want[] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 0x01};
    g_assert_cmpmem(addr.addr, 16, want, 16);
}

static void test_parse_addr_bad(void)
{
    MsgBuf buf;
    GdNlAddr addr;
    /* clang-format off */
    static const uint8_t v4_prefix33[] = {
        LE32(32), LE16(20), LE16(0), LE32(0), LE32(0),
        2, 33, 0, 0, LE32(9),
        LE16(8), LE16(2), 10, 0, 0, 1,
    };
    /* clang-format on */
    /* clang-format off */
    static const uint8_t v6_prefix129[] = {
        LE32(44), LE16(20), LE16(0), LE32(0), LE32(0),
        10, 129, 0, 0, LE32(9),
        LE16(20), LE16(1), 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    };
    /* clang-format on */
    /* clang-format off */
    static const uint8_t no_address[] = {
        LE32(32), LE16(20), LE16(0), LE32(0), LE32(0),
        2, 24, 0, 0, LE32(9),
        LE16(8), LE16(3), 'e', 't', 'h', 0,
    };
    /* clang-format on */
    /* A 4-byte address on an AF_INET6 message. */
    /* clang-format off */
    static const uint8_t v6_short[] = {
        LE32(32), LE16(20), LE16(0), LE32(0), LE32(0),
        10, 64, 0, 0, LE32(9),
        LE16(8), LE16(1), 10, 0, 0, 1,
    };
    /* clang-format on */
    /* clang-format off */
    static const uint8_t no_index[] = {
        LE32(32), LE16(20), LE16(0), LE32(0), LE32(0),
        2, 24, 0, 0, LE32(0),
        LE16(8), LE16(2), 10, 0, 0, 1,
    };
    /* clang-format on */
    /* clang-format off */
    static const uint8_t header_only[] = {
        LE32(20), LE16(20), LE16(0), LE32(0), LE32(0),
        2, 24, 0, 0, /* half an ifaddrmsg */
    };
    /* clang-format on */
    /* clang-format off */
    static const uint8_t packet_family[] = {
        LE32(32), LE16(20), LE16(0), LE32(0), LE32(0),
        17 /* AF_PACKET */, 0, 0, 0, LE32(9),
        LE16(8), LE16(2), 10, 0, 0, 1,
    };
    /* clang-format on */
    g_assert_cmpint(gd_nl_parse_addr(load(&buf, v4_prefix33, sizeof(v4_prefix33)), &addr), ==,
                    -EPROTO);
    g_assert_cmpint(gd_nl_parse_addr(load(&buf, v6_prefix129, sizeof(v6_prefix129)), &addr), ==,
                    -EPROTO);
    g_assert_cmpint(gd_nl_parse_addr(load(&buf, no_address, sizeof(no_address)), &addr), ==,
                    -EPROTO);
    g_assert_cmpint(gd_nl_parse_addr(load(&buf, v6_short, sizeof(v6_short)), &addr), ==, -EPROTO);
    g_assert_cmpint(gd_nl_parse_addr(load(&buf, no_index, sizeof(no_index)), &addr), ==, -EPROTO);
    g_assert_cmpint(gd_nl_parse_addr(load(&buf, header_only, sizeof(header_only)), &addr), ==,
                    -EPROTO);
    g_assert_cmpint(gd_nl_parse_addr(load(&buf, packet_family, sizeof(packet_family)), &addr), ==,
                    -EAFNOSUPPORT);
}

/* ======================= status parser ======================= */

static void test_parse_status_capped_extack(void)
{
    /* NETLINK_CAP_ACK + NETLINK_EXT_ACK: the error, the request's header
     * only, then NLMSGERR_ATTR_OFFS and NLMSGERR_ATTR_MSG. */
    /* clang-format off */
    static const uint8_t msg[] = {
        LE32(60), LE16(2), /* NLMSG_ERROR */
        LE16(0x100 | 0x200), /* NLM_F_CAPPED | NLM_F_ACK_TLVS */
        LE32(16), LE32(1234),
        LE32(-22), /* -EINVAL */
        LE32(68), LE16(16), LE16(0x0005), LE32(16), LE32(0), /* the request's header */
        LE16(8), LE16(2), LE32(36),                          /* NLMSGERR_ATTR_OFFS */
        LE16(16), LE16(1), 'M', 'T', 'U', ' ', 't', 'o', 'o', ' ', 'b', 'i', 'g', 0, /* _MSG */
    };
    /* clang-format on */
    MsgBuf buf;
    int error = 0;
    const char *extack = NULL;
    g_assert_cmpuint(sizeof(msg), ==, 60);
    const struct nlmsghdr *nlh = load(&buf, msg, sizeof(msg));
    g_assert_cmpint(gd_nl_parse_status(nlh, &error, &extack), ==, 0);
    g_assert_cmpint(error, ==, -EINVAL);
    g_assert_cmpstr(extack, ==, "MTU too big");
    /* It points into the message. */
    g_assert_true(extack > (const char *)buf.bytes && extack < (const char *)buf.bytes + 60);
}

static void test_parse_status_no_tlvs(void)
{
    /* An ack (error 0) and an error, capped, without extack. */
    /* clang-format off */
    static const uint8_t ack[] = {
        LE32(36), LE16(2), LE16(0x100), LE32(5), LE32(1234),
        LE32(0),
        LE32(40), LE16(16), LE16(0x0005), LE32(5), LE32(0),
    };
    /* clang-format on */
    /* clang-format off */
    static const uint8_t err[] = {
        LE32(36), LE16(2), LE16(0x100), LE32(6), LE32(1234),
        LE32(-19), /* -ENODEV */
        LE32(40), LE16(16), LE16(0x0005), LE32(6), LE32(0),
    };
    /* clang-format on */
    MsgBuf buf;
    int error = 42;
    const char *extack = "stale";
    g_assert_cmpint(gd_nl_parse_status(load(&buf, ack, sizeof(ack)), &error, &extack), ==, 0);
    g_assert_cmpint(error, ==, 0);
    g_assert_null(extack);
    extack = "stale";
    g_assert_cmpint(gd_nl_parse_status(load(&buf, err, sizeof(err)), &error, &extack), ==, 0);
    g_assert_cmpint(error, ==, -ENODEV);
    g_assert_null(extack);
}

static void test_parse_status_uncapped(void)
{
    /* Without NETLINK_CAP_ACK the whole request is echoed before the TLVs.
     * The echoed payload starts with bytes that read as an
     * NLMSGERR_ATTR_MSG "bad" spanning to the end of the message: a parser
     * that assumed a capped ack would return that. */
    /* clang-format off */
    static const uint8_t msg[] = {
        LE32(16 + 4 + 24 + 12), LE16(2), LE16(0x200), /* NLM_F_ACK_TLVS only */
        LE32(7), LE32(1234),
        LE32(-34), /* -ERANGE */
        /* the echoed request: 16 + 8 bytes */
        LE32(24), LE16(16), LE16(0x0005), LE32(7), LE32(0),
        LE16(8 + 12), LE16(1), 'b', 'a', 'd', 0,
        /* the TLVs */
        LE16(11), LE16(1), 'g', 'o', 'o', 'd', ' ', 'o', 0, 0,
    };
    /* clang-format on */
    MsgBuf buf;
    int error = 0;
    const char *extack = NULL;
    g_assert_cmpint(gd_nl_parse_status(load(&buf, msg, sizeof(msg)), &error, &extack), ==, 0);
    g_assert_cmpint(error, ==, -ERANGE);
    g_assert_cmpstr(extack, ==, "good o");
}

static void test_parse_status_done(void)
{
    /* The end of a dump, with the error and an extack. */
    /* clang-format off */
    static const uint8_t done_tlvs[] = {
        LE32(16 + 4 + 16), LE16(3), /* NLMSG_DONE */
        LE16(0x2 | 0x200),          /* NLM_F_MULTI | NLM_F_ACK_TLVS */
        LE32(8), LE32(1234),
        LE32(-95), /* -EOPNOTSUPP */
        LE16(15), LE16(1), 'b', 'a', 'd', ' ', 'f', 'i', 'l', 't', 'e', 'r', 0, 0,
    };
    /* clang-format on */
    /* clang-format off */
    static const uint8_t done_ok[] = {
        LE32(20), LE16(3), LE16(0x2), LE32(8), LE32(1234), LE32(0),
    };
    /* clang-format on */
    static const uint8_t done_bare[] = {LE32(16), LE16(3), LE16(0x2), LE32(8), LE32(1234)};
    MsgBuf buf;
    int error = 0;
    const char *extack = NULL;
    g_assert_cmpint(gd_nl_parse_status(load(&buf, done_tlvs, sizeof(done_tlvs)), &error, &extack),
                    ==, 0);
    g_assert_cmpint(error, ==, -EOPNOTSUPP);
    g_assert_cmpstr(extack, ==, "bad filter");

    error = 42;
    g_assert_cmpint(gd_nl_parse_status(load(&buf, done_ok, sizeof(done_ok)), &error, &extack), ==,
                    0);
    g_assert_cmpint(error, ==, 0);
    g_assert_null(extack);

    error = 42;
    g_assert_cmpint(gd_nl_parse_status(load(&buf, done_bare, sizeof(done_bare)), &error, &extack),
                    ==, 0);
    g_assert_cmpint(error, ==, 0);
    g_assert_null(extack);
}

static void test_parse_status_bad(void)
{
    /* Too short for struct nlmsgerr. */
    /* clang-format off */
    static const uint8_t short_error[] = {
        LE32(20), LE16(2), LE16(0x100), LE32(5), LE32(0), LE32(-22),
    };
    /* clang-format on */
    /* The extack is not NUL-terminated: no text rather than a read past it. */
    /* clang-format off */
    static const uint8_t unterminated[] = {
        LE32(44), LE16(2), LE16(0x300), LE32(5), LE32(0),
        LE32(-22),
        LE32(40), LE16(16), LE16(0x0005), LE32(5), LE32(0),
        LE16(8), LE16(1), 'a', 'b', 'c', 'd',
    };
    /* clang-format on */
    MsgBuf buf;
    int error = 0;
    const char *extack = NULL;
    g_assert_cmpint(
        gd_nl_parse_status(load(&buf, short_error, sizeof(short_error)), &error, &extack), ==,
        -EPROTO);
    g_assert_cmpint(
        gd_nl_parse_status(load(&buf, unterminated, sizeof(unterminated)), &error, &extack), ==, 0);
    g_assert_cmpint(error, ==, -EINVAL);
    g_assert_null(extack);
    /* Not a status message. */
    load(&buf, newlink_veth0, sizeof(newlink_veth0));
    g_assert_cmpint(gd_nl_parse_status(&buf.nlh, &error, &extack), <, 0);
}

/* ======================= batches ======================= */

/* ---- the order of per-link requests ---- */

static void test_lookup_order(void)
{
    /* The kernel's table of 256 lists: 1, 257 and 513 share list 1, 2 and
     * 258 list 2; each list newest (highest index) first. */
    const int ifindexes[] = {1, 2, 257, 258, 513, 3};
    guint order[G_N_ELEMENTS(ifindexes)];
    gd_nl_lookup_order(ifindexes, G_N_ELEMENTS(ifindexes), order);
    const guint want[] = {4, 2, 0, 3, 1, 5};
    g_assert_cmpmem(order, sizeof(order), want, sizeof(want));
}

static void test_lookup_order_ascending_below_256(void)
{
    /* One device per list: the kernel's order itself. */
    int ifindexes[200];
    guint order[200];
    for (int i = 0; i < 200; i++)
        ifindexes[i] = i + 2;
    gd_nl_lookup_order(ifindexes, 200, order);
    for (guint i = 0; i < 200; i++)
        g_assert_cmpuint(order[i], ==, i);
}

/* ---- answers ---- */

#define PORTID 4321

/* An answer (capped, without extack) to request seq from the kernel
 * (port 0) to port pid, appended to out. */
static void put_answer(GByteArray *out, uint32_t seq, uint32_t pid, int error)
{
    /* clang-format off */
    const uint8_t msg[] = {
        LE32(36), LE16(2), LE16(0x100), LE32(seq), LE32(pid), /* NLMSG_ERROR, NLM_F_CAPPED */
        LE32(error),
        LE32(32), LE16(16), LE16(0x0001), LE32(seq), LE32(pid), /* the request's header */
    };
    /* clang-format on */
    g_byte_array_append(out, msg, sizeof(msg));
}

static void file(GdNlAnswers *answers, GByteArray *datagram)
{
    /* Aligned as the receive buffer is. */
    g_autofree uint32_t *copy = g_malloc(datagram->len + 4);
    memcpy(copy, datagram->data, datagram->len);
    gd_nl_answers_file(answers, copy, datagram->len);
    g_byte_array_set_size(datagram, 0);
}

static void test_answers_final_ack(void)
{
    /* Five requests, seq 100..104, sent in the order 103, 100, 104, 101,
     * 102: only 102, the last, asked for an ack. 101 and 104 are refused
     * (one with the kernel's text); the others succeed unanswered. */
    GdNlAck acks[5];
    GdNlAnswers answers;
    g_autoptr(GByteArray) d = g_byte_array_new();
    gd_nl_answers_init(&answers, PORTID, 100, 5, acks);
    gd_nl_answers_expect_final(&answers, 102);
    g_assert_false(gd_nl_answers_complete(&answers));

    put_answer(d, 104, PORTID, -ERANGE);
    /* clang-format off */
    static const uint8_t refused_with_text[] = {
        LE32(60), LE16(2), LE16(0x100 | 0x200), LE32(101), LE32(PORTID),
        LE32(-22), /* -EINVAL */
        LE32(68), LE16(16), LE16(0x0001), LE32(101), LE32(0),
        LE16(8), LE16(2), LE32(36),                                                  /* _OFFS */
        LE16(16), LE16(1), 'M', 'T', 'U', ' ', 't', 'o', 'o', ' ', 'b', 'i', 'g', 0, /* _MSG */
    };
    /* clang-format on */
    g_byte_array_append(d, refused_with_text, sizeof(refused_with_text));
    file(&answers, d);
    g_assert_false(gd_nl_answers_complete(&answers));

    /* Not ours: another port's answer, and one to an earlier batch. */
    put_answer(d, 102, PORTID + 1, 0);
    put_answer(d, 99, PORTID, -EINVAL);
    file(&answers, d);
    g_assert_false(gd_nl_answers_complete(&answers));

    put_answer(d, 102, PORTID, 0);
    file(&answers, d);
    g_assert_true(gd_nl_answers_complete(&answers));
    const int want[] = {0, -EINVAL, 0, 0, -ERANGE};
    for (guint i = 0; i < 5; i++)
        g_assert_cmpint(acks[i].error, ==, want[i]);
    g_assert_cmpstr(acks[1].extack, ==, "MTU too big");
    g_assert_null(acks[4].extack);
    for (guint i = 0; i < 5; i++)
        gd_nl_ack_clear(&acks[i]);
}

/* One answer of ours in a datagram of its own. */
static void file_one(GdNlAnswers *answers, uint32_t seq, int error)
{
    g_autoptr(GByteArray) d = g_byte_array_new();
    put_answer(d, seq, PORTID, error);
    file(answers, d);
}

static void test_answers_final_ack_refused(void)
{
    /* The request sent last (seq 8 of 7..9) refused: its answer is the
     * final one. */
    GdNlAck acks[3];
    GdNlAnswers answers;
    gd_nl_answers_init(&answers, PORTID, 7, 3, acks);
    gd_nl_answers_expect_final(&answers, 8);
    file_one(&answers, 8, -EBUSY);
    g_assert_true(gd_nl_answers_complete(&answers));
    g_assert_cmpint(acks[0].error, ==, 0);
    g_assert_cmpint(acks[1].error, ==, -EBUSY);
    g_assert_cmpint(acks[2].error, ==, 0);
}

static void test_answers_final_ack_lost(void)
{
    /* The socket overran before the final ack: the refusal that arrived
     * stands, the others' results are unknown. */
    GdNlAck acks[3];
    GdNlAnswers answers;
    gd_nl_answers_init(&answers, PORTID, 7, 3, acks);
    gd_nl_answers_expect_final(&answers, 9);
    file_one(&answers, 8, -EBUSY);
    g_assert_false(gd_nl_answers_complete(&answers));
    gd_nl_answers_lost(&answers, -ENOBUFS);
    g_assert_cmpint(acks[0].error, ==, -ENOBUFS);
    g_assert_cmpint(acks[1].error, ==, -EBUSY);
    g_assert_cmpint(acks[2].error, ==, -ENOBUFS);
}

static void test_answers_each(void)
{
    /* Every request asked for an ack: complete with the last of them,
     * whatever the order; a repeated answer is not counted twice. */
    GdNlAck acks[3];
    GdNlAnswers answers;
    g_autoptr(GByteArray) d = g_byte_array_new();
    gd_nl_answers_init(&answers, PORTID, 50, 3, acks);
    put_answer(d, 52, PORTID, 0);
    put_answer(d, 52, PORTID, 0);
    put_answer(d, 50, PORTID, -ENODEV);
    file(&answers, d);
    g_assert_false(gd_nl_answers_complete(&answers));
    g_assert_cmpint(acks[1].error, ==, -ETIMEDOUT);
    put_answer(d, 51, PORTID, 0);
    file(&answers, d);
    g_assert_true(gd_nl_answers_complete(&answers));
    g_assert_cmpint(acks[0].error, ==, -ENODEV);
    g_assert_cmpint(acks[1].error, ==, 0);
    g_assert_cmpint(acks[2].error, ==, 0);
}

static void test_batch_consecutive(void)
{
    g_autoptr(GdNlBatch) batch = gd_nl_batch_new(4, 1000);
    g_assert_cmpuint(gd_nl_batch_count(batch), ==, 0);
    g_assert_cmpuint(gd_nl_batch_first_seq(batch), ==, 1000);

    for (int i = 0; i < 4; i++) {
        uint32_t seq = 0;
        void *slot = gd_nl_batch_slot(batch, &seq);
        g_assert_cmpuint(seq, ==, 1000 + (uint32_t)i);
        gd_nl_put_link_set_group(slot, seq, 10 + i, 5);
        gd_nl_batch_commit(batch);
        g_assert_cmpuint(gd_nl_batch_count(batch), ==, (guint)i + 1);
    }

    size_t len = 0;
    const uint8_t *data = gd_nl_batch_data(batch, &len);
    g_assert_cmpuint(len, ==, 4 * 40);
    for (int i = 0; i < 4; i++) {
        /* clang-format off */
        const uint8_t want[] = {
            LE32(40), LE16(16), LE16(0x0005), LE32(1000 + i), LE32(0),
            0, 0, LE16(0), LE32(10 + i), LE32(0), LE32(0),
            LE16(8), LE16(27), LE32(5),
        };
        /* clang-format on */
        g_assert_cmpmem(data + 40 * i, 40, want, sizeof(want));
    }
}

static void test_batch_mixed(void)
{
    /* Messages of different sizes are packed back to back, each exactly as
     * the builder makes it alone. */
    GdNlAddr v4 = {.ifindex = 1, .family = AF_INET, .prefixlen = 8, .addr = {10, 1, 2, 3}};
    GdNlAddr v6 = {.ifindex = 2, .family = AF_INET6, .prefixlen = 128, .addr = {0xfd, [15] = 9}};
    GdNlLinkChange change = {.set_mtu = true, .mtu = 9000, .set_hwaddr = true, .hwaddr_len = 6};

    g_autoptr(GdNlBatch) batch = gd_nl_batch_new(3, 0xfffffffe);
    uint32_t seq;
    void *slot = gd_nl_batch_slot(batch, &seq);
    g_assert_cmpuint(seq, ==, 0xfffffffe);
    gd_nl_put_addr(slot, seq, RTM_NEWADDR, &v4);
    gd_nl_batch_commit(batch);
    slot = gd_nl_batch_slot(batch, &seq);
    g_assert_cmpuint(seq, ==, 0xffffffff);
    gd_nl_put_addr(slot, seq, RTM_DELADDR, &v6);
    gd_nl_batch_commit(batch);
    slot = gd_nl_batch_slot(batch, &seq);
    g_assert_cmpuint(seq, ==, 0); /* wraps */
    gd_nl_put_group_change(slot, seq, 3, &change);
    gd_nl_batch_commit(batch);
    g_assert_cmpuint(gd_nl_batch_count(batch), ==, 3);

    MsgBuf one;
    g_autoptr(GByteArray) want = g_byte_array_new();
    const struct nlmsghdr *nlh = gd_nl_put_addr(&one, 0xfffffffe, RTM_NEWADDR, &v4);
    g_byte_array_append(want, (const guint8 *)nlh, nlh->nlmsg_len);
    nlh = gd_nl_put_addr(&one, 0xffffffff, RTM_DELADDR, &v6);
    g_byte_array_append(want, (const guint8 *)nlh, nlh->nlmsg_len);
    nlh = gd_nl_put_group_change(&one, 0, 3, &change);
    g_byte_array_append(want, (const guint8 *)nlh, nlh->nlmsg_len);

    size_t len = 0;
    const void *data = gd_nl_batch_data(batch, &len);
    g_assert_cmpuint(len, ==, 40 + 44 + 60);
    g_assert_cmpmem(data, len, want->data, want->len);
}

static void test_batch_empty(void)
{
    g_autoptr(GdNlBatch) batch = gd_nl_batch_new(1, 5);
    size_t len = 99;
    gd_nl_batch_data(batch, &len);
    g_assert_cmpuint(len, ==, 0);
    g_assert_cmpuint(gd_nl_batch_count(batch), ==, 0);
}

static void test_batch_large(void)
{
    /* Enough messages to span many pages; the largest builder output in
     * every slot. */
    const guint n = 2048;
    GdNlLinkChange change = {
        .set_mtu = true,
        .set_state = true,
        .set_txqlen = true,
        .set_hwaddr = true,
        .hwaddr_len = GD_NL_MAX_HWADDR,
    };
    g_autoptr(GdNlBatch) batch = gd_nl_batch_new(n, 1);
    for (guint i = 0; i < n; i++) {
        uint32_t seq;
        void *slot = gd_nl_batch_slot(batch, &seq);
        gd_nl_put_link_change(slot, seq, (int)i + 1, &change);
        gd_nl_batch_commit(batch);
    }
    size_t len = 0;
    const uint8_t *data = gd_nl_batch_data(batch, &len);
    const size_t one = 16 + 16 + 8 + 8 + 4 + GD_NL_MAX_HWADDR;
    g_assert_cmpuint(len, ==, n * one);
    for (guint i = 0; i < n; i++) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)(const void *)(data + i * one);
        g_assert_cmpuint(nlh->nlmsg_len, ==, one);
        g_assert_cmpuint(nlh->nlmsg_seq, ==, i + 1);
        const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
        g_assert_cmpint(ifi->ifi_index, ==, (int)i + 1);
    }
}

/* ======================= text forms ======================= */

static void test_hwaddr_parse(void)
{
    uint8_t out[GD_NL_MAX_HWADDR];
    static const uint8_t mac[] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    g_assert_cmpint(gd_nl_hwaddr_parse("02:00:00:00:00:01", out, sizeof(out)), ==, 6);
    g_assert_cmpmem(out, 6, mac, 6);

    static const uint8_t mixed[] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    g_assert_cmpint(gd_nl_hwaddr_parse("AA:bb:Cc:dD:EE:ff", out, sizeof(out)), ==, 6);
    g_assert_cmpmem(out, 6, mixed, 6);

    g_assert_cmpint(gd_nl_hwaddr_parse("7f", out, sizeof(out)), ==, 1);
    g_assert_cmphex(out[0], ==, 0x7f);

    /* 20 bytes (InfiniBand) and exactly the buffer's size. */
    const char *ib = "80:00:00:48:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01";
    g_assert_cmpint(gd_nl_hwaddr_parse(ib, out, sizeof(out)), ==, 20);
    g_assert_cmphex(out[19], ==, 0x01);
    g_assert_cmpint(gd_nl_hwaddr_parse("01:02:03:04:05:06", out, 6), ==, 6);
}

static void test_hwaddr_parse_bad(void)
{
    uint8_t out[GD_NL_MAX_HWADDR];
    const char *bad[] = {
        "",
        "zz",
        "02:00:0",
        "02:00:00:00:00:",
        ":02:00:00:00:00:01",
        "02::00:00:00:01",
        "02-00-00-00-00-01",
        "0200.0000.0001",
        "2:0:0:0:0:1",
        "002:00:00:00:00:01",
        "02:00:00:00:00:01 ",
        " 02:00:00:00:00:01",
        "g2:00:00:00:00:01",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_test_message("hwaddr \"%s\"", bad[i]);
        g_assert_cmpint(gd_nl_hwaddr_parse(bad[i], out, sizeof(out)), <, 0);
    }
    /* Overlong: 7 bytes into 6, 33 into 32. */
    g_assert_cmpint(gd_nl_hwaddr_parse("01:02:03:04:05:06:07", out, 6), <, 0);
    g_autoptr(GString) long_mac = g_string_new("00");
    for (int i = 1; i < GD_NL_MAX_HWADDR + 1; i++)
        g_string_append(long_mac, ":00");
    g_assert_cmpint(gd_nl_hwaddr_parse(long_mac->str, out, sizeof(out)), <, 0);
    g_assert_cmpint(gd_nl_hwaddr_parse(NULL, out, sizeof(out)), <, 0);
}

static void test_hwaddr_format(void)
{
    static const uint8_t mac[] = {0x02, 0xab, 0x00, 0x0f, 0xf0, 0xff};
    g_autofree char *s = gd_nl_hwaddr_format(mac, sizeof(mac));
    g_assert_cmpstr(s, ==, "02:ab:00:0f:f0:ff");
    g_autofree char *one = gd_nl_hwaddr_format(mac, 1);
    g_assert_cmpstr(one, ==, "02");
    g_autofree char *none = gd_nl_hwaddr_format(mac, 0);
    g_assert_cmpstr(none, ==, "");

    /* Round trip. */
    uint8_t out[GD_NL_MAX_HWADDR];
    g_assert_cmpint(gd_nl_hwaddr_parse(s, out, sizeof(out)), ==, 6);
    g_assert_cmpmem(out, 6, mac, 6);
}

static void test_cidr_parse(void)
{
    GdNlAddr a;
    static const uint8_t v4[] = {10, 0, 0, 1};
    g_assert_cmpint(gd_nl_cidr_parse("10.0.0.1/24", &a), ==, 0);
    g_assert_cmpuint(a.family, ==, AF_INET);
    g_assert_cmpuint(a.prefixlen, ==, 24);
    g_assert_cmpmem(a.addr, 4, v4, 4);
    g_assert_cmpint(a.ifindex, ==, 0);

    g_assert_cmpint(gd_nl_cidr_parse("10.0.0.1", &a), ==, 0);
    g_assert_cmpuint(a.prefixlen, ==, 32);
    g_assert_cmpint(gd_nl_cidr_parse("0.0.0.0/0", &a), ==, 0);
    g_assert_cmpuint(a.prefixlen, ==, 0);
    g_assert_cmpint(gd_nl_cidr_parse("1.2.3.4/32", &a), ==, 0);
    g_assert_cmpuint(a.prefixlen, ==, 32);

    static const uint8_t v6[16] = {0xfd, 0x00, [15] = 0x01};
    g_assert_cmpint(gd_nl_cidr_parse("fd00::1/64", &a), ==, 0);
    g_assert_cmpuint(a.family, ==, AF_INET6);
    g_assert_cmpuint(a.prefixlen, ==, 64);
    g_assert_cmpmem(a.addr, 16, v6, 16);
    g_assert_cmpint(gd_nl_cidr_parse("fd00::1", &a), ==, 0);
    g_assert_cmpuint(a.prefixlen, ==, 128);
    g_assert_cmpint(gd_nl_cidr_parse("fd00::/128", &a), ==, 0);
    g_assert_cmpuint(a.prefixlen, ==, 128);
    g_assert_cmpint(gd_nl_cidr_parse("::ffff:10.0.0.1/96", &a), ==, 0);
    g_assert_cmpuint(a.family, ==, AF_INET6);
    g_assert_cmphex(a.addr[15], ==, 1);
    g_assert_cmphex(a.addr[10], ==, 0xff);
}

static void test_cidr_parse_bad(void)
{
    const char *bad[] = {
        "",
        "1.2.3.4/33",
        "fd00::/129",
        "1.2.3.4/",
        "1.2.3.4/-1",
        "1.2.3.4/+1",
        "1.2.3.4/ 24",
        "1.2.3.4/24 ",
        "1.2.3.4/2x",
        "1.2.3.4/1000",
        "1.2.3.4/24/8",
        "zz",
        "zz/24",
        "/24",
        "1.2.3/24",
        "1.2.3.256/24",
        "fd00:::1/64",
        "fd00::1%eth0/64",
        "02:00:0",
        /* overlong: more than any address text */
        "1111:2222:3333:4444:5555:6666:7777:8888:9999/64",
        "0000000000000000000000000000000000000000000000000000000000000000000000001.2.3.4/8",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GdNlAddr a;
        g_test_message("cidr \"%s\"", bad[i]);
        g_assert_cmpint(gd_nl_cidr_parse(bad[i], &a), ==, -EINVAL);
    }
    GdNlAddr a;
    g_assert_cmpint(gd_nl_cidr_parse(NULL, &a), <, 0);
    g_autofree char *huge = g_strnfill(4096, '1');
    g_assert_cmpint(gd_nl_cidr_parse(huge, &a), ==, -EINVAL);
}

static void test_addr_format(void)
{
    const char *round[] = {"10.0.0.1/24", "0.0.0.0/0", "255.255.255.255/32",
                           "fd00::1/64",  "::/0",      "fe80::ff:fe00:1/128"};
    for (size_t i = 0; i < G_N_ELEMENTS(round); i++) {
        GdNlAddr a;
        g_assert_cmpint(gd_nl_cidr_parse(round[i], &a), ==, 0);
        g_autofree char *s = gd_nl_addr_format(&a);
        g_assert_cmpstr(s, ==, round[i]);
    }
    /* Without a prefix the full length is written out. */
    GdNlAddr a;
    g_assert_cmpint(gd_nl_cidr_parse("192.0.2.7", &a), ==, 0);
    g_autofree char *s = gd_nl_addr_format(&a);
    g_assert_cmpstr(s, ==, "192.0.2.7/32");
    /* Uppercase and zero runs come out canonical. */
    g_assert_cmpint(gd_nl_cidr_parse("FD00:0:0:0:0:0:0:1/64", &a), ==, 0);
    g_autofree char *c = gd_nl_addr_format(&a);
    g_assert_cmpstr(c, ==, "fd00::1/64");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/netlink/put/group-change/full", test_put_group_change_full);
    g_test_add_func("/netlink/put/group-change/down", test_put_group_change_down);
    g_test_add_func("/netlink/put/group-change/mtu-only", test_put_group_change_mtu_only);
    g_test_add_func("/netlink/put/group-change/txqlen-hwaddr", test_put_group_change_txqlen_hwaddr);
    g_test_add_func("/netlink/put/group-change/empty", test_put_group_change_empty);
    g_test_add_func("/netlink/put/link-change", test_put_link_change);
    g_test_add_func("/netlink/put/link-set-group", test_put_link_set_group);
    g_test_add_func("/netlink/put/addr/v4", test_put_addr_v4);
    g_test_add_func("/netlink/put/addr/v6", test_put_addr_v6);
    g_test_add_func("/netlink/put/getlink-dump", test_put_getlink_dump);
    g_test_add_func("/netlink/put/getlink", test_put_getlink);
    g_test_add_func("/netlink/put/getaddr-dump", test_put_getaddr_dump);

    g_test_add_func("/netlink/parse/link/full", test_parse_link);
    g_test_add_func("/netlink/parse/link/minimal", test_parse_link_minimal);
    g_test_add_func("/netlink/parse/link/carrier-down", test_parse_link_carrier_down);
    g_test_add_func("/netlink/parse/link/inet6", test_parse_link_inet6);
    g_test_add_func("/netlink/parse/link/truncated", test_parse_link_truncated);
    g_test_add_func("/netlink/parse/link/no-ifname", test_parse_link_no_ifname);
    g_test_add_func("/netlink/parse/link/bad-index", test_parse_link_bad_index);
    g_test_add_func("/netlink/parse/link/bridge", test_parse_link_bridge);
    g_test_add_func("/netlink/parse/link/wrong-type", test_parse_link_wrong_type);
    g_test_add_func("/netlink/parse/link/long-hwaddr", test_parse_link_long_hwaddr);
    g_test_add_func("/netlink/parse/addr/v4", test_parse_addr_v4);
    g_test_add_func("/netlink/parse/addr/v6", test_parse_addr_v6);
    g_test_add_func("/netlink/parse/addr/bad", test_parse_addr_bad);
    g_test_add_func("/netlink/parse/status/capped-extack", test_parse_status_capped_extack);
    g_test_add_func("/netlink/parse/status/no-tlvs", test_parse_status_no_tlvs);
    g_test_add_func("/netlink/parse/status/uncapped", test_parse_status_uncapped);
    g_test_add_func("/netlink/parse/status/done", test_parse_status_done);
    g_test_add_func("/netlink/parse/status/bad", test_parse_status_bad);

    g_test_add_func("/netlink/lookup-order/lists", test_lookup_order);
    g_test_add_func("/netlink/lookup-order/ascending-below-256",
                    test_lookup_order_ascending_below_256);
    g_test_add_func("/netlink/answers/final-ack", test_answers_final_ack);
    g_test_add_func("/netlink/answers/final-ack-refused", test_answers_final_ack_refused);
    g_test_add_func("/netlink/answers/final-ack-lost", test_answers_final_ack_lost);
    g_test_add_func("/netlink/answers/each", test_answers_each);

    g_test_add_func("/netlink/batch/consecutive", test_batch_consecutive);
    g_test_add_func("/netlink/batch/mixed", test_batch_mixed);
    g_test_add_func("/netlink/batch/empty", test_batch_empty);
    g_test_add_func("/netlink/batch/large", test_batch_large);

    g_test_add_func("/netlink/text/hwaddr-parse", test_hwaddr_parse);
    g_test_add_func("/netlink/text/hwaddr-parse-bad", test_hwaddr_parse_bad);
    g_test_add_func("/netlink/text/hwaddr-format", test_hwaddr_format);
    g_test_add_func("/netlink/text/cidr-parse", test_cidr_parse);
    g_test_add_func("/netlink/text/cidr-parse-bad", test_cidr_parse_bad);
    g_test_add_func("/netlink/text/addr-format", test_addr_format);

    g_test_add_func("/netlink/strict/truncated-attribute", test_parse_link_truncated_attr);

    return g_test_run();
}

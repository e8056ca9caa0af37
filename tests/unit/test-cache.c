/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/cache: a detached cache fed with rtnetlink messages
 * built here with libmnl, as the kernel sends them: the group index,
 * renames, change sets, addresses, the mark-and-sweep resync, and what is
 * ignored or refused.
 */
#include "cache/cache.h"

#include <errno.h>
#include <glib.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

typedef union {
    struct nlmsghdr nlh;
    uint32_t align;
    uint8_t bytes[1024];
} MsgBuf;

/* ---- message builders (the kernel's side) ---- */

typedef struct {
    int ifindex;
    const char *name;
    uint32_t group;
    uint32_t mtu;     /* 0: 1500 */
    uint32_t flags;   /* ifi_flags */
    uint32_t txqlen;  /* 0: 1000 */
    uint8_t family;   /* 0: AF_UNSPEC */
    const char *kind; /* NULL: none */
} LinkSpec;

static struct nlmsghdr *put_link(MsgBuf *buf, uint16_t type, const LinkSpec *l)
{
    memset(buf, 0, sizeof(*buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf->bytes);
    nlh->nlmsg_type = type;
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = l->family;
    ifi->ifi_type = ARPHRD_ETHER;
    ifi->ifi_index = l->ifindex;
    ifi->ifi_flags = l->flags;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, l->name);
    mnl_attr_put_u32(nlh, IFLA_TXQLEN, l->txqlen ? l->txqlen : 1000);
    mnl_attr_put_u8(nlh, IFLA_OPERSTATE, (l->flags & IFF_UP) ? IF_OPER_UP : IF_OPER_DOWN);
    mnl_attr_put_u32(nlh, IFLA_MTU, l->mtu ? l->mtu : 1500);
    mnl_attr_put_u32(nlh, IFLA_MIN_MTU, 68);
    mnl_attr_put_u32(nlh, IFLA_MAX_MTU, 65535);
    mnl_attr_put_u32(nlh, IFLA_GROUP, l->group);
    mnl_attr_put_u8(nlh, IFLA_CARRIER, 1);
    const uint8_t mac[6] = {0x02, 0, 0, 0, (uint8_t)(l->ifindex >> 8), (uint8_t)l->ifindex};
    mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
    if (l->kind) {
        struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, l->kind);
        mnl_attr_nest_end(nlh, info);
    }
    return nlh;
}

typedef struct {
    int ifindex;
    const char *cidr; /* "10.0.0.1/24" */
    uint32_t flags;   /* IFA_F_* */
    uint8_t scope;
} AddrSpec;

static struct nlmsghdr *put_addr(MsgBuf *buf, uint16_t type, const AddrSpec *a)
{
    GdNlAddr addr;
    g_assert_cmpint(gd_nl_cidr_parse(a->cidr, &addr), ==, 0);
    size_t alen = addr.family == AF_INET ? 4 : 16;

    memset(buf, 0, sizeof(*buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf->bytes);
    nlh->nlmsg_type = type;
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = addr.family;
    ifa->ifa_prefixlen = addr.prefixlen;
    ifa->ifa_flags = (uint8_t)a->flags;
    ifa->ifa_scope = a->scope;
    ifa->ifa_index = (uint32_t)a->ifindex;
    mnl_attr_put(nlh, IFA_ADDRESS, alen, addr.addr);
    if (addr.family == AF_INET)
        mnl_attr_put(nlh, IFA_LOCAL, alen, addr.addr);
    mnl_attr_put_u32(nlh, IFA_FLAGS, a->flags);
    return nlh;
}

static void apply_link(GdCache *cache, uint16_t type, const LinkSpec *l)
{
    MsgBuf buf;
    g_assert_cmpint(gd_cache_apply_message(cache, put_link(&buf, type, l)), ==, 0);
}

static void apply_addr(GdCache *cache, uint16_t type, const AddrSpec *a)
{
    MsgBuf buf;
    g_assert_cmpint(gd_cache_apply_message(cache, put_addr(&buf, type, a)), ==, 0);
}

static void new_link(GdCache *cache, int ifindex, const char *name, uint32_t group)
{
    LinkSpec l = {.ifindex = ifindex, .name = name, .group = group};
    apply_link(cache, RTM_NEWLINK, &l);
}

static void del_link(GdCache *cache, int ifindex, const char *name, uint32_t group)
{
    LinkSpec l = {.ifindex = ifindex, .name = name, .group = group};
    apply_link(cache, RTM_DELLINK, &l);
}

/* ---- assertions ---- */

/* The set holds exactly the listed numbers (terminated by -1). */
static void assert_set(GHashTable *set, const char *what, ...)
{
    va_list ap;
    guint n = 0;
    g_autoptr(GString) want = g_string_new(NULL);
    va_start(ap, what);
    for (int v = va_arg(ap, int); v >= 0; v = va_arg(ap, int)) {
        g_string_append_printf(want, " %d", v);
        if (!g_hash_table_contains(set, GINT_TO_POINTER(v)))
            g_error("%s: %d missing (want%s)", what, v, want->str);
        n++;
    }
    va_end(ap);
    if (g_hash_table_size(set) != n) {
        g_autoptr(GString) got = g_string_new(NULL);
        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init(&iter, set);
        while (g_hash_table_iter_next(&iter, &key, NULL))
            g_string_append_printf(got, " %d", GPOINTER_TO_INT(key));
        g_error("%s: got {%s }, want {%s }", what, got->str, want->str);
    }
}

/* The links are exactly these ifindexes, in order (terminated by -1). */
static void assert_links(GPtrArray *links, ...)
{
    va_list ap;
    guint i = 0;
    va_start(ap, links);
    for (int v = va_arg(ap, int); v >= 0; v = va_arg(ap, int), i++) {
        g_assert_cmpuint(i, <, links->len);
        g_assert_cmpint(((GdLink *)links->pdata[i])->nl.ifindex, ==, v);
    }
    va_end(ap);
    g_assert_cmpuint(links->len, ==, i);
}

static void assert_members(GdCache *cache, uint32_t group, ...)
{
    g_autoptr(GPtrArray) members = gd_cache_group_members(cache, group);
    va_list ap;
    guint i = 0;
    va_start(ap, group);
    for (int v = va_arg(ap, int); v >= 0; v = va_arg(ap, int), i++) {
        g_assert_cmpuint(i, <, members->len);
        const GdLink *link = members->pdata[i];
        g_assert_cmpint(link->nl.ifindex, ==, v);
        g_assert_cmpuint(link->nl.group, ==, group);
    }
    va_end(ap);
    g_assert_cmpuint(members->len, ==, i);
    g_assert_cmpuint(gd_cache_group_size(cache, group), ==, i);
}

static void assert_group_ids(GdCache *cache, ...)
{
    g_autoptr(GArray) ids = gd_cache_group_ids(cache);
    va_list ap;
    guint i = 0;
    va_start(ap, cache);
    for (int v = va_arg(ap, int); v >= 0; v = va_arg(ap, int), i++) {
        g_assert_cmpuint(i, <, ids->len);
        g_assert_cmpuint(g_array_index(ids, uint32_t, i), ==, (uint32_t)v);
    }
    va_end(ap);
    g_assert_cmpuint(ids->len, ==, i);
}

static void assert_no_changes(GdCache *cache)
{
    g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
    assert_set(set->changed, "changed", -1);
    assert_set(set->removed, "removed", -1);
    assert_set(set->groups, "groups", -1);
    g_assert_true(gd_change_set_is_empty(set));
}

static void assert_name(GdCache *cache, const char *name, int ifindex)
{
    GdLink *link = gd_cache_link_by_name(cache, name);
    if (ifindex < 0) {
        g_assert_null(link);
        return;
    }
    g_assert_nonnull(link);
    g_assert_cmpint(link->nl.ifindex, ==, ifindex);
    g_assert_cmpstr(link->nl.name, ==, name);
}

static gboolean link_has(GdLink *link, const char *cidr, uint32_t flags)
{
    GdNlAddr want;
    g_assert_cmpint(gd_nl_cidr_parse(cidr, &want), ==, 0);
    for (guint i = 0; i < link->addrs->len; i++) {
        const GdNlAddr *a = &g_array_index(link->addrs, GdNlAddr, i);
        if (a->family == want.family && a->prefixlen == want.prefixlen &&
            memcmp(a->addr, want.addr, a->family == AF_INET ? 4 : 16) == 0)
            return a->flags == flags && a->ifindex == link->nl.ifindex;
    }
    return FALSE;
}

/* ---- the group index ---- */

/* Links 3, 1, 5 in group 1 and 2 in group 0, announced out of order. */
static GdCache *four_links(void)
{
    GdCache *cache = gd_cache_new_detached();
    new_link(cache, 3, "c", 1);
    new_link(cache, 1, "a", 1);
    new_link(cache, 2, "b", 0);
    new_link(cache, 5, "e", 1);
    return cache;
}

static void test_new_links(void)
{
    g_autoptr(GdCache) cache = gd_cache_new_detached();
    assert_group_ids(cache, -1);
    g_assert_cmpuint(gd_cache_link_count(cache), ==, 0);
    g_assert_cmpuint(gd_cache_resync_count(cache), ==, 0);
    assert_no_changes(cache);

    LinkSpec veth = {.ifindex = 3,
                     .name = "c",
                     .group = 1,
                     .mtu = 9000,
                     .flags = IFF_UP | IFF_BROADCAST,
                     .txqlen = 500,
                     .kind = "veth"};
    apply_link(cache, RTM_NEWLINK, &veth);
    new_link(cache, 1, "a", 1);
    new_link(cache, 2, "b", 0);
    new_link(cache, 5, "e", 1);

    g_assert_cmpuint(gd_cache_link_count(cache), ==, 4);
    g_autoptr(GPtrArray) links = gd_cache_links(cache);
    assert_links(links, 1, 2, 3, 5, -1);
    assert_group_ids(cache, 0, 1, -1);
    assert_members(cache, 1, 1, 3, 5, -1);
    assert_members(cache, 0, 2, -1);
    assert_members(cache, 7, -1);

    GdLink *c = gd_cache_link_by_index(cache, 3);
    g_assert_nonnull(c);
    g_assert_true(gd_cache_link_by_name(cache, "c") == c);
    g_assert_cmpstr(c->nl.name, ==, "c");
    g_assert_cmpuint(c->nl.mtu, ==, 9000);
    g_assert_cmpuint(c->nl.txqlen, ==, 500);
    g_assert_cmpuint(c->nl.min_mtu, ==, 68);
    g_assert_cmpuint(c->nl.max_mtu, ==, 65535);
    g_assert_cmpstr(c->nl.kind, ==, "veth");
    g_assert_cmpuint(c->nl.hwaddr_len, ==, 6);
    g_assert_cmpuint(c->addrs->len, ==, 0);
    g_assert_true(gd_link_is_up(c));
    g_assert_cmpstr(gd_link_operstate_name(c), ==, "up");
    g_assert_false(gd_link_is_up(gd_cache_link_by_index(cache, 1)));
    g_assert_cmpstr(gd_link_operstate_name(gd_cache_link_by_index(cache, 1)), ==, "down");
    g_assert_null(gd_cache_link_by_index(cache, 4));
    g_assert_null(gd_cache_link_by_name(cache, "d"));

    g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
    assert_set(set->changed, "changed", 1, 2, 3, 5, -1);
    assert_set(set->removed, "removed", -1);
    assert_set(set->groups, "groups", 0, 1, -1);
    g_assert_false(set->resync);
    g_assert_false(gd_change_set_is_empty(set));
    /* Taking resets. */
    assert_no_changes(cache);
}

static void test_group_change(void)
{
    g_autoptr(GdCache) cache = four_links();
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);

    /* 3: 1 → 2 touches both groups. */
    new_link(cache, 3, "c", 2);
    assert_members(cache, 1, 1, 5, -1);
    assert_members(cache, 2, 3, -1);
    assert_group_ids(cache, 0, 1, 2, -1);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 3, -1);
        assert_set(set->removed, "removed", -1);
        assert_set(set->groups, "groups", 1, 2, -1);
    }

    /* The rest of group 1 leaves: the group disappears. */
    new_link(cache, 5, "e", 2);
    new_link(cache, 1, "a", 2);
    assert_members(cache, 1, -1);
    assert_members(cache, 2, 1, 3, 5, -1);
    assert_group_ids(cache, 0, 2, -1);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 1, 5, -1);
        assert_set(set->groups, "groups", 1, 2, -1);
    }

    /* Back and forth before a take: still one change of each. */
    new_link(cache, 2, "b", 4000);
    new_link(cache, 2, "b", 0);
    assert_members(cache, 0, 2, -1);
    assert_group_ids(cache, 0, 2, -1);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 2, -1);
        assert_set(set->groups, "groups", 0, 4000, -1);
    }
}

static void test_identical_message(void)
{
    g_autoptr(GdCache) cache = four_links();
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);

    new_link(cache, 3, "c", 1);
    new_link(cache, 1, "a", 1);
    assert_no_changes(cache);

    /* Any attribute counts: the state (flags), the MTU, the txqlen. */
    LinkSpec up = {.ifindex = 3, .name = "c", .group = 1, .flags = IFF_UP};
    apply_link(cache, RTM_NEWLINK, &up);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 3, -1);
        assert_set(set->removed, "removed", -1);
        assert_set(set->groups, "groups", 1, -1);
    }
    g_assert_true(gd_link_is_up(gd_cache_link_by_index(cache, 3)));
    apply_link(cache, RTM_NEWLINK, &up);
    assert_no_changes(cache);

    LinkSpec mtu = {.ifindex = 1, .name = "a", .group = 1, .mtu = 1280};
    apply_link(cache, RTM_NEWLINK, &mtu);
    LinkSpec txq = {.ifindex = 5, .name = "e", .group = 1, .txqlen = 10};
    apply_link(cache, RTM_NEWLINK, &txq);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 1, 5, -1);
        assert_set(set->groups, "groups", 1, -1);
    }
    g_assert_cmpuint(gd_cache_link_by_index(cache, 1)->nl.mtu, ==, 1280);
    g_assert_cmpuint(gd_cache_link_by_index(cache, 5)->nl.txqlen, ==, 10);
}

static void test_rename(void)
{
    g_autoptr(GdCache) cache = four_links();
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);

    new_link(cache, 2, "bb", 0);
    assert_name(cache, "b", -1);
    assert_name(cache, "bb", 2);
    g_assert_cmpuint(gd_cache_link_count(cache), ==, 4);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 2, -1);
        assert_set(set->groups, "groups", 0, -1);
    }

    /* A rename onto a free name and back; and a rename with a group
     * change in the same message. */
    new_link(cache, 2, "b", 0);
    assert_name(cache, "bb", -1);
    assert_name(cache, "b", 2);
    new_link(cache, 1, "renamed", 3);
    assert_name(cache, "a", -1);
    assert_name(cache, "renamed", 1);
    assert_members(cache, 3, 1, -1);
    assert_members(cache, 1, 3, 5, -1);

    /* The name stays usable after other links come and go. */
    new_link(cache, 10, "ten", 1);
    del_link(cache, 10, "ten", 1);
    assert_name(cache, "renamed", 1);
    assert_name(cache, "ten", -1);
}

static void appeared_cb(GdCache *cache, int ifindex, gpointer user_data)
{
    g_array_append_val((GArray *)user_data, ifindex);
}

/* Hot-plug hears of a link at once when it appears or takes another name;
 * not for other changes, nor for its removal. */
static void test_link_appeared(void)
{
    g_autoptr(GdCache) cache = four_links();
    g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(int));
    gd_cache_set_link_appeared(cache, appeared_cb, seen);
    new_link(cache, 10, "ppp0", 0);
    g_assert_cmpuint(seen->len, ==, 1);
    g_assert_cmpint(g_array_index(seen, int, 0), ==, 10);
    /* Another group, the same name: not new. */
    new_link(cache, 10, "ppp0", 5);
    LinkSpec up = {.ifindex = 10, .name = "ppp0", .group = 5, .mtu = 1400, .flags = IFF_UP};
    apply_link(cache, RTM_NEWLINK, &up);
    g_assert_cmpuint(seen->len, ==, 1);
    /* Renamed: what a [Match] Name= sees changed. */
    up.name = "ppp9";
    apply_link(cache, RTM_NEWLINK, &up);
    g_assert_cmpuint(seen->len, ==, 2);
    g_assert_cmpint(g_array_index(seen, int, 1), ==, 10);
    del_link(cache, 10, "ppp9", 5);
    g_assert_cmpuint(seen->len, ==, 2);
    /* Called before the change is published: no publication needed. */
    gd_cache_hold(cache);
    new_link(cache, 11, "ppp1", 0);
    g_assert_cmpuint(seen->len, ==, 3);
    gd_cache_release(cache);
    gd_cache_set_link_appeared(cache, NULL, NULL);
    new_link(cache, 12, "ppp2", 0);
    g_assert_cmpuint(seen->len, ==, 3);
}

static void count_cb(GdCache *cache, gpointer user_data)
{
    (*(guint *)user_data)++;
    g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
}

/* Releasing a batch's holds together publishes once. */
static void test_release_n(void)
{
    g_autoptr(GdCache) cache = four_links();
    guint published = 0;
    gd_cache_set_changed(cache, count_cb, &published);
    for (int i = 0; i < 3; i++)
        gd_cache_hold(cache);
    new_link(cache, 10, "ppp0", 0);
    new_link(cache, 11, "ppp1", 0);
    gd_cache_release_n(cache, 3);
    g_assert_cmpuint(published, ==, 1);
    gd_cache_release_n(cache, 0);
    g_assert_cmpuint(published, ==, 1);
    /* All three were released: one more hold and release balance. */
    gd_cache_hold(cache);
    new_link(cache, 12, "ppp2", 0);
    gd_cache_release_n(cache, 1);
    g_assert_cmpuint(published, ==, 2);
}

static void test_stale_name(void)
{
    g_autoptr(GdCache) cache = gd_cache_new_detached();
    new_link(cache, 1, "x", 1);
    new_link(cache, 2, "y", 1);
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);

    /* "x" was deleted and created again, and the RTM_NEWLINK of the new
     * one is read before the RTM_DELLINK of the old one. */
    new_link(cache, 4, "x", 2);
    assert_name(cache, "x", 4);
    g_assert_nonnull(gd_cache_link_by_index(cache, 1));
    g_assert_cmpuint(gd_cache_link_count(cache), ==, 3);

    del_link(cache, 1, "x", 1);
    assert_name(cache, "x", 4);
    g_assert_null(gd_cache_link_by_index(cache, 1));
    g_assert_cmpuint(gd_cache_link_count(cache), ==, 2);
    assert_members(cache, 1, 2, -1);
    assert_members(cache, 2, 4, -1);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 4, -1);
        assert_set(set->removed, "removed", 1, -1);
        assert_set(set->groups, "groups", 1, 2, -1);
    }

    /* The stale entry must not linger: a rename of 4 frees "x". */
    new_link(cache, 4, "z", 2);
    assert_name(cache, "x", -1);
    assert_name(cache, "z", 4);
    del_link(cache, 4, "z", 2);
    assert_name(cache, "z", -1);
    assert_name(cache, "y", 2);
}

static void test_dellink(void)
{
    g_autoptr(GdCache) cache = four_links();
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);

    del_link(cache, 3, "c", 1);
    g_assert_null(gd_cache_link_by_index(cache, 3));
    assert_name(cache, "c", -1);
    assert_members(cache, 1, 1, 5, -1);
    g_assert_cmpuint(gd_cache_link_count(cache), ==, 3);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", -1);
        assert_set(set->removed, "removed", 3, -1);
        assert_set(set->groups, "groups", 1, -1);
    }

    /* Unknown and repeated deletions change nothing. */
    del_link(cache, 3, "c", 1);
    del_link(cache, 99, "nope", 0);
    assert_no_changes(cache);

    /* The last member of a group goes: the group goes. */
    del_link(cache, 2, "b", 0);
    assert_group_ids(cache, 1, -1);
    assert_members(cache, 0, -1);

    /* New then deleted before a take: reported removed only. */
    new_link(cache, 8, "h", 6);
    del_link(cache, 8, "h", 6);
    /* Deleted then back (same ifindex, e.g. a netns round trip) before a
     * take: reported changed only. */
    del_link(cache, 5, "e", 1);
    new_link(cache, 5, "e", 1);
    assert_group_ids(cache, 1, -1);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 5, -1);
        assert_set(set->removed, "removed", 2, 8, -1);
        assert_set(set->groups, "groups", 0, 1, 6, -1);
    }
}

/* ---- addresses ---- */

static void test_addresses(void)
{
    g_autoptr(GdCache) cache = four_links();
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);
    GdLink *a = gd_cache_link_by_index(cache, 1);

    AddrSpec v4 = {.ifindex = 1, .cidr = "10.0.0.1/24", .flags = IFA_F_PERMANENT};
    apply_addr(cache, RTM_NEWADDR, &v4);
    g_assert_cmpuint(a->addrs->len, ==, 1);
    g_assert_true(link_has(a, "10.0.0.1/24", IFA_F_PERMANENT));
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 1, -1);
        assert_set(set->removed, "removed", -1);
        assert_set(set->groups, "groups", 1, -1);
    }

    /* Again: nothing. */
    apply_addr(cache, RTM_NEWADDR, &v4);
    assert_no_changes(cache);
    g_assert_cmpuint(a->addrs->len, ==, 1);

    /* Same address, other prefix: another address. */
    AddrSpec v4_16 = {.ifindex = 1, .cidr = "10.0.0.1/16", .flags = IFA_F_PERMANENT};
    apply_addr(cache, RTM_NEWADDR, &v4_16);
    g_assert_cmpuint(a->addrs->len, ==, 2);

    AddrSpec v6 = {.ifindex = 1,
                   .cidr = "fd00::1/64",
                   .flags = IFA_F_PERMANENT | IFA_F_TENTATIVE | IFA_F_NOPREFIXROUTE};
    apply_addr(cache, RTM_NEWADDR, &v6);
    g_assert_cmpuint(a->addrs->len, ==, 3);
    g_assert_true(
        link_has(a, "fd00::1/64", IFA_F_PERMANENT | IFA_F_TENTATIVE | IFA_F_NOPREFIXROUTE));
    g_autoptr(GdChangeSet) added = gd_cache_take_changes(cache);
    assert_set(added->changed, "changed", 1, -1);

    /* DAD done: the flags change (IFA_FLAGS carries bits above 8). */
    v6.flags = IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE;
    apply_addr(cache, RTM_NEWADDR, &v6);
    g_assert_cmpuint(a->addrs->len, ==, 3);
    g_assert_true(link_has(a, "fd00::1/64", IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE));
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 1, -1);
        assert_set(set->groups, "groups", 1, -1);
    }

    /* A scope change is a change. */
    v4.scope = RT_SCOPE_HOST;
    apply_addr(cache, RTM_NEWADDR, &v4);
    g_assert_cmpuint(a->addrs->len, ==, 3);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 1, -1);
    }

    /* Removal. */
    apply_addr(cache, RTM_DELADDR, &v4);
    g_assert_cmpuint(a->addrs->len, ==, 2);
    g_assert_false(link_has(a, "10.0.0.1/24", IFA_F_PERMANENT));
    g_assert_true(link_has(a, "10.0.0.1/16", IFA_F_PERMANENT));
    g_assert_true(link_has(a, "fd00::1/64", IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE));
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 1, -1);
        assert_set(set->removed, "removed", -1);
        assert_set(set->groups, "groups", 1, -1);
    }

    /* Removing what is not there, or adding to an unknown link: nothing. */
    apply_addr(cache, RTM_DELADDR, &v4);
    AddrSpec other = {.ifindex = 3, .cidr = "10.0.0.1/16"};
    apply_addr(cache, RTM_DELADDR, &other);
    AddrSpec unknown = {.ifindex = 99, .cidr = "10.9.9.9/8"};
    apply_addr(cache, RTM_NEWADDR, &unknown);
    assert_no_changes(cache);
    g_assert_cmpuint(a->addrs->len, ==, 2);
    g_assert_cmpuint(gd_cache_link_by_index(cache, 3)->addrs->len, ==, 0);

    /* Addresses of another link are its own; the link's other state
     * changing keeps them. */
    AddrSpec on_c = {.ifindex = 3, .cidr = "fd00::3/64"};
    apply_addr(cache, RTM_NEWADDR, &on_c);
    new_link(cache, 1, "a", 2);
    a = gd_cache_link_by_index(cache, 1);
    g_assert_cmpuint(a->addrs->len, ==, 2);
    g_assert_cmpuint(gd_cache_link_by_index(cache, 3)->addrs->len, ==, 1);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 1, 3, -1);
        assert_set(set->groups, "groups", 1, 2, -1);
    }

    /* A link that goes takes its addresses along. */
    del_link(cache, 1, "a", 2);
    new_link(cache, 1, "a", 2);
    g_assert_cmpuint(gd_cache_link_by_index(cache, 1)->addrs->len, ==, 0);
}

/* ---- resync ---- */

static void test_resync_sweep(void)
{
    g_autoptr(GdCache) cache = gd_cache_new_detached();
    LinkSpec lo = {.ifindex = 1, .name = "lo", .group = 0, .mtu = 65536, .flags = IFF_UP};
    LinkSpec a = {.ifindex = 2, .name = "a", .group = 1};
    LinkSpec b = {.ifindex = 3, .name = "b", .group = 1};
    LinkSpec c = {.ifindex = 4, .name = "c", .group = 1};
    LinkSpec d = {.ifindex = 5, .name = "d", .group = 2};
    LinkSpec f = {.ifindex = 7, .name = "f", .group = 2, .kind = "ifb"};
    AddrSpec lo4 = {.ifindex = 1, .cidr = "127.0.0.1/8", .flags = IFA_F_PERMANENT};
    AddrSpec lo6 = {.ifindex = 1, .cidr = "::1/128", .flags = IFA_F_PERMANENT, .scope = 254};
    AddrSpec a4 = {.ifindex = 2, .cidr = "10.0.0.2/24", .flags = IFA_F_PERMANENT};
    AddrSpec b4 = {.ifindex = 3, .cidr = "10.0.0.3/24", .flags = IFA_F_PERMANENT};
    AddrSpec b6 = {.ifindex = 3, .cidr = "fd00::3/64", .flags = IFA_F_PERMANENT};
    AddrSpec c4 = {.ifindex = 4, .cidr = "10.0.0.4/24", .flags = IFA_F_PERMANENT};
    AddrSpec d4 = {.ifindex = 5, .cidr = "10.0.5.1/24", .flags = IFA_F_PERMANENT};
    AddrSpec d6 = {.ifindex = 5, .cidr = "fd00:5::1/64", .flags = IFA_F_PERMANENT};

    const LinkSpec *links[] = {&lo, &a, &b, &c, &d, &f};
    for (size_t i = 0; i < G_N_ELEMENTS(links); i++)
        apply_link(cache, RTM_NEWLINK, links[i]);
    const AddrSpec *addrs[] = {&lo4, &lo6, &a4, &b4, &b6, &c4, &d4, &d6};
    for (size_t i = 0; i < G_N_ELEMENTS(addrs); i++)
        apply_addr(cache, RTM_NEWADDR, addrs[i]);
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);

    /* What the dumps say after events were lost: lo unchanged (addresses in
     * another order), a's MTU changed, b's address set changed (same
     * size), c gone, d's address flags changed, e new, f unchanged. */
    gd_cache_resync_begin(cache);
    LinkSpec a2 = a;
    a2.mtu = 9000;
    LinkSpec e = {.ifindex = 6, .name = "e", .group = 2};
    const LinkSpec *dump_links[] = {&lo, &a2, &b, &d, &e, &f};
    for (size_t i = 0; i < G_N_ELEMENTS(dump_links); i++)
        apply_link(cache, RTM_NEWLINK, dump_links[i]);
    AddrSpec b4_new = {.ifindex = 3, .cidr = "10.0.0.33/24", .flags = IFA_F_PERMANENT};
    AddrSpec d6_new = d6;
    d6_new.flags = IFA_F_PERMANENT | IFA_F_DEPRECATED;
    AddrSpec e4 = {.ifindex = 6, .cidr = "10.0.6.1/24"};
    const AddrSpec *dump_addrs[] = {&lo6, &lo4, &a4, &b4_new, &b6, &d4, &d6_new, &e4};
    for (size_t i = 0; i < G_N_ELEMENTS(dump_addrs); i++)
        apply_addr(cache, RTM_NEWADDR, dump_addrs[i]);
    gd_cache_resync_end(cache);

    g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
    assert_set(set->changed, "changed", 2, 3, 5, 6, -1);
    assert_set(set->removed, "removed", 4, -1);
    g_assert_false(g_hash_table_contains(set->groups, GUINT_TO_POINTER(0)));
    g_assert_true(g_hash_table_contains(set->groups, GUINT_TO_POINTER(1)));
    g_assert_true(g_hash_table_contains(set->groups, GUINT_TO_POINTER(2)));

    g_assert_cmpuint(gd_cache_link_count(cache), ==, 6);
    g_assert_null(gd_cache_link_by_index(cache, 4));
    assert_name(cache, "c", -1);
    assert_name(cache, "e", 6);
    assert_members(cache, 0, 1, -1);
    assert_members(cache, 1, 2, 3, -1);
    assert_members(cache, 2, 5, 6, 7, -1);
    assert_group_ids(cache, 0, 1, 2, -1);

    g_assert_cmpuint(gd_cache_link_by_index(cache, 2)->nl.mtu, ==, 9000);
    GdLink *lb = gd_cache_link_by_index(cache, 3);
    g_assert_cmpuint(lb->addrs->len, ==, 2);
    g_assert_true(link_has(lb, "10.0.0.33/24", IFA_F_PERMANENT));
    g_assert_true(link_has(lb, "fd00::3/64", IFA_F_PERMANENT));
    GdLink *ld = gd_cache_link_by_index(cache, 5);
    g_assert_cmpuint(ld->addrs->len, ==, 2);
    g_assert_true(link_has(ld, "fd00:5::1/64", IFA_F_PERMANENT | IFA_F_DEPRECATED));
    GdLink *llo = gd_cache_link_by_index(cache, 1);
    g_assert_cmpuint(llo->addrs->len, ==, 2);
    g_assert_true(link_has(llo, "127.0.0.1/8", IFA_F_PERMANENT));
    g_assert_true(link_has(gd_cache_link_by_index(cache, 6), "10.0.6.1/24", 0));
    g_assert_cmpuint(gd_cache_link_by_index(cache, 7)->addrs->len, ==, 0);

    /* After the resync, events apply as usual. */
    apply_addr(cache, RTM_DELADDR, &lo6);
    {
        g_autoptr(GdChangeSet) after = gd_cache_take_changes(cache);
        assert_set(after->changed, "changed", 1, -1);
        assert_set(after->groups, "groups", 0, -1);
    }
    g_assert_cmpuint(llo->addrs->len, ==, 1);
}

static void test_resync_unchanged(void)
{
    g_autoptr(GdCache) cache = four_links();
    AddrSpec a4 = {.ifindex = 1, .cidr = "10.0.0.1/24", .flags = IFA_F_PERMANENT};
    AddrSpec a6 = {.ifindex = 1, .cidr = "fd00::1/64", .flags = IFA_F_PERMANENT};
    apply_addr(cache, RTM_NEWADDR, &a4);
    apply_addr(cache, RTM_NEWADDR, &a6);
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);

    gd_cache_resync_begin(cache);
    new_link(cache, 1, "a", 1);
    new_link(cache, 2, "b", 0);
    new_link(cache, 3, "c", 1);
    new_link(cache, 5, "e", 1);
    apply_addr(cache, RTM_NEWADDR, &a6);
    apply_addr(cache, RTM_NEWADDR, &a4);
    gd_cache_resync_end(cache);
    assert_no_changes(cache);
    g_assert_cmpuint(gd_cache_link_count(cache), ==, 4);
    g_assert_cmpuint(gd_cache_link_by_index(cache, 1)->addrs->len, ==, 2);

    /* A resync whose address dump lost one address: changed. */
    gd_cache_resync_begin(cache);
    new_link(cache, 1, "a", 1);
    new_link(cache, 2, "b", 0);
    new_link(cache, 3, "c", 1);
    new_link(cache, 5, "e", 1);
    apply_addr(cache, RTM_NEWADDR, &a4);
    gd_cache_resync_end(cache);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", 1, -1);
        assert_set(set->removed, "removed", -1);
        assert_set(set->groups, "groups", 1, -1);
    }
    g_assert_cmpuint(gd_cache_link_by_index(cache, 1)->addrs->len, ==, 1);

    /* An empty dump: everything goes. */
    gd_cache_resync_begin(cache);
    gd_cache_resync_end(cache);
    {
        g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
        assert_set(set->changed, "changed", -1);
        assert_set(set->removed, "removed", 1, 2, 3, 5, -1);
        assert_set(set->groups, "groups", 0, 1, -1);
    }
    g_assert_cmpuint(gd_cache_link_count(cache), ==, 0);
    assert_group_ids(cache, -1);
    assert_name(cache, "a", -1);
}

/* ---- what is ignored or refused ---- */

static void test_bridge_ignored(void)
{
    g_autoptr(GdCache) cache = four_links();
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);

    /* A port joining and leaving a bridge: AF_BRIDGE RTM_NEWLINK and
     * RTM_DELLINK about a link that stays. */
    LinkSpec port = {.ifindex = 3, .name = "c", .group = 9, .mtu = 1400, .family = AF_BRIDGE};
    apply_link(cache, RTM_NEWLINK, &port);
    apply_link(cache, RTM_DELLINK, &port);
    assert_no_changes(cache);
    GdLink *c = gd_cache_link_by_index(cache, 3);
    g_assert_nonnull(c);
    g_assert_cmpuint(c->nl.group, ==, 1);
    g_assert_cmpuint(c->nl.mtu, ==, 1500);
    assert_members(cache, 1, 1, 3, 5, -1);
    assert_group_ids(cache, 0, 1, -1);

    /* Other message types are not the cache's business. */
    MsgBuf buf;
    memset(&buf, 0, sizeof(buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf.bytes);
    nlh->nlmsg_type = RTM_NEWROUTE;
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = AF_INET;
    mnl_attr_put_u32(nlh, RTA_OIF, 3);
    g_assert_cmpint(gd_cache_apply_message(cache, nlh), ==, 0);
    assert_no_changes(cache);
}

static void test_malformed(void)
{
    g_autoptr(GdCache) cache = four_links();
    AddrSpec a4 = {.ifindex = 1, .cidr = "10.0.0.1/24"};
    apply_addr(cache, RTM_NEWADDR, &a4);
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);
    MsgBuf buf;

    /* RTM_NEWLINK for link 3 moving it to group 2, without IFLA_IFNAME. */
    memset(&buf, 0, sizeof(buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf.bytes);
    nlh->nlmsg_type = RTM_NEWLINK;
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_index = 3;
    mnl_attr_put_u32(nlh, IFLA_GROUP, 2);
    mnl_attr_put_u32(nlh, IFLA_MTU, 9000);
    g_test_expect_message("groupd-cache", G_LOG_LEVEL_WARNING, "*malformed*");
    g_assert_cmpint(gd_cache_apply_message(cache, nlh), ==, -EPROTO);
    g_test_assert_expected_messages();

    /* The same as RTM_DELLINK. */
    nlh->nlmsg_type = RTM_DELLINK;
    g_test_expect_message("groupd-cache", G_LOG_LEVEL_WARNING, "*malformed*");
    g_assert_cmpint(gd_cache_apply_message(cache, nlh), ==, -EPROTO);
    g_test_assert_expected_messages();

    /* A valid RTM_NEWLINK cut short of its ifinfomsg. */
    LinkSpec moved = {.ifindex = 3, .name = "c", .group = 2};
    nlh = put_link(&buf, RTM_NEWLINK, &moved);
    nlh->nlmsg_len = sizeof(struct nlmsghdr) + 8;
    g_test_expect_message("groupd-cache", G_LOG_LEVEL_WARNING, "*malformed*");
    g_assert_cmpint(gd_cache_apply_message(cache, nlh), <, 0);
    g_test_assert_expected_messages();

    /* An address with prefix 33, and one for ifindex 0. */
    AddrSpec bad = {.ifindex = 3, .cidr = "10.0.0.3/24"};
    nlh = put_addr(&buf, RTM_NEWADDR, &bad);
    ((struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_prefixlen = 33;
    g_test_expect_message("groupd-cache", G_LOG_LEVEL_WARNING, "*malformed*");
    g_assert_cmpint(gd_cache_apply_message(cache, nlh), ==, -EPROTO);
    g_test_assert_expected_messages();

    nlh = put_addr(&buf, RTM_DELADDR, &a4);
    ((struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_index = 0;
    g_test_expect_message("groupd-cache", G_LOG_LEVEL_WARNING, "*malformed*");
    g_assert_cmpint(gd_cache_apply_message(cache, nlh), ==, -EPROTO);
    g_test_assert_expected_messages();

    /* Nothing changed. */
    assert_no_changes(cache);
    GdLink *c = gd_cache_link_by_index(cache, 3);
    g_assert_nonnull(c);
    g_assert_cmpuint(c->nl.group, ==, 1);
    g_assert_cmpuint(c->nl.mtu, ==, 1500);
    g_assert_cmpuint(c->addrs->len, ==, 0);
    g_assert_cmpuint(gd_cache_link_by_index(cache, 1)->addrs->len, ==, 1);
    assert_members(cache, 1, 1, 3, 5, -1);
    assert_group_ids(cache, 0, 1, -1);
    g_assert_cmpuint(gd_cache_link_count(cache), ==, 4);
}

/* ---- names that move between links ---- */

static void test_rename_onto_stale_name(void)
{
    g_autoptr(GdCache) cache = gd_cache_new_detached();
    new_link(cache, 1, "x", 1);
    new_link(cache, 2, "y", 1);

    /* "x" (1) was deleted and "y" (2) renamed to "x"; the rename is read
     * before the deletion. */
    new_link(cache, 2, "x", 1);
    assert_name(cache, "x", 2);
    assert_name(cache, "y", -1);
    del_link(cache, 1, "x", 1);
    assert_name(cache, "x", 2);

    new_link(cache, 2, "w", 1);
    assert_name(cache, "x", -1);
    assert_name(cache, "w", 2);
}

static void test_resync_name_swap(void)
{
    /* Two links swapped names (through a temporary name) while the event
     * socket overran: the dump shows each under the other's name. */
    g_autoptr(GdCache) cache = gd_cache_new_detached();
    new_link(cache, 2, "a", 1);
    new_link(cache, 3, "b", 1);
    g_autoptr(GdChangeSet) first = gd_cache_take_changes(cache);

    gd_cache_resync_begin(cache);
    new_link(cache, 2, "b", 1);
    new_link(cache, 3, "a", 1);
    gd_cache_resync_end(cache);

    assert_name(cache, "a", 3);
    assert_name(cache, "b", 2);
    g_autoptr(GdChangeSet) set = gd_cache_take_changes(cache);
    assert_set(set->changed, "changed", 2, 3, -1);
    assert_set(set->removed, "removed", -1);

    /* And both names are released when the links go. */
    del_link(cache, 2, "b", 1);
    assert_name(cache, "b", -1);
    assert_name(cache, "a", 3);
    del_link(cache, 3, "a", 1);
    assert_name(cache, "a", -1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/cache/link/new", test_new_links);
    g_test_add_func("/cache/link/group-change", test_group_change);
    g_test_add_func("/cache/link/identical", test_identical_message);
    g_test_add_func("/cache/link/rename", test_rename);
    g_test_add_func("/cache/link/appeared", test_link_appeared);
    g_test_add_func("/cache/hold/release-n", test_release_n);
    g_test_add_func("/cache/link/stale-name", test_stale_name);
    g_test_add_func("/cache/link/dellink", test_dellink);
    g_test_add_func("/cache/addr/add-remove-flags", test_addresses);
    g_test_add_func("/cache/resync/sweep", test_resync_sweep);
    g_test_add_func("/cache/resync/unchanged", test_resync_unchanged);
    g_test_add_func("/cache/ignored/bridge", test_bridge_ignored);
    g_test_add_func("/cache/ignored/malformed", test_malformed);
    /* Registered last: both fail while a rename onto a name the table still
     * holds for another link keeps that link's key (g_hash_table_insert
     * instead of _replace in link_update). */
    g_test_add_func("/cache/names/rename-onto-stale-name", test_rename_onto_stale_name);
    g_test_add_func("/cache/names/resync-swap", test_resync_name_swap);

    return g_test_run();
}

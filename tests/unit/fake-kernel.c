/* SPDX-License-Identifier: LGPL-2.1-or-later
 * A fake rtnetlink kernel over a detached cache (fake-kernel.h). */
#include "fake-kernel.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

typedef struct {
    GdNlLink nl;
    GArray *addrs; /* GdNlAddr */
    int refuse;    /* negative errno, or 0 */
    char *refuse_text;
} FakeLink;

struct FakeKernel {
    GdCache *cache;
    GHashTable *links; /* ifindex → FakeLink */
    gboolean lose;
    gboolean silent_adds;
    gboolean announce_down_moves;
    int delete_after; /* ifindex deleted once the next per-link batch ran */
    guint ops;
    guint group_messages;
    guint link_messages;
    GArray *sent; /* int ifindex of every per-link message, in order */
};

static void fake_link_free(gpointer data)
{
    FakeLink *l = data;
    g_array_unref(l->addrs);
    g_free(l->refuse_text);
    g_free(l);
}

FakeKernel *fake_kernel_new(GdCache *cache)
{
    FakeKernel *fk = g_new0(FakeKernel, 1);
    fk->cache = cache;
    fk->links = g_hash_table_new_full(NULL, NULL, NULL, fake_link_free);
    fk->announce_down_moves = TRUE;
    fk->sent = g_array_new(FALSE, FALSE, sizeof(int));
    return fk;
}

void fake_kernel_free(FakeKernel *fk)
{
    if (!fk)
        return;
    g_hash_table_unref(fk->links);
    g_array_unref(fk->sent);
    g_free(fk);
}

static FakeLink *lookup(FakeKernel *fk, int ifindex)
{
    return g_hash_table_lookup(fk->links, GINT_TO_POINTER(ifindex));
}

/* The RTM_NEWLINK the kernel sends for l. */
static void announce(FakeKernel *fk, const FakeLink *l, uint16_t type)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_type = l->nl.arptype;
    ifi->ifi_index = l->nl.ifindex;
    ifi->ifi_flags = l->nl.flags;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, l->nl.name);
    mnl_attr_put_u32(nlh, IFLA_MTU, l->nl.mtu);
    mnl_attr_put_u32(nlh, IFLA_MIN_MTU, l->nl.min_mtu);
    mnl_attr_put_u32(nlh, IFLA_MAX_MTU, l->nl.max_mtu);
    mnl_attr_put_u32(nlh, IFLA_TXQLEN, l->nl.txqlen);
    mnl_attr_put_u32(nlh, IFLA_GROUP, l->nl.group);
    mnl_attr_put_u8(nlh, IFLA_OPERSTATE, l->nl.operstate);
    mnl_attr_put_u8(nlh, IFLA_CARRIER, l->nl.carrier > 0);
    mnl_attr_put(nlh, IFLA_ADDRESS, l->nl.hwaddr_len, l->nl.hwaddr);
    g_assert_cmpint(gd_cache_apply_message(fk->cache, nlh), ==, 0);
}

static void announce_addr(FakeKernel *fk, const GdNlAddr *addr, uint16_t type)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    g_assert_cmpint(gd_cache_apply_message(fk->cache, gd_nl_put_addr(buf, 0, type, addr)), ==, 0);
}

void fake_kernel_add_link(FakeKernel *fk, int ifindex, const char *name, uint32_t group,
                          gboolean up)
{
    FakeLink *l = g_new0(FakeLink, 1);
    l->nl.ifindex = ifindex;
    g_strlcpy(l->nl.name, name, sizeof(l->nl.name));
    l->nl.group = group;
    l->nl.mtu = 1500;
    l->nl.min_mtu = 68;
    l->nl.max_mtu = 65535;
    l->nl.txqlen = 1000;
    l->nl.flags = up ? IFF_UP | IFF_LOWER_UP | IFF_RUNNING : 0;
    l->nl.arptype = ARPHRD_ETHER;
    l->nl.operstate = up ? IF_OPER_UP : IF_OPER_DOWN;
    l->nl.carrier = 1;
    const uint8_t mac[6] = {0x02, 0, 0, 0, (uint8_t)(ifindex >> 8), (uint8_t)ifindex};
    memcpy(l->nl.hwaddr, mac, sizeof(mac));
    l->nl.hwaddr_len = sizeof(mac);
    l->addrs = g_array_new(FALSE, FALSE, sizeof(GdNlAddr));
    g_hash_table_replace(fk->links, GINT_TO_POINTER(ifindex), l);
    announce(fk, l, RTM_NEWLINK);
}

void fake_kernel_del_link(FakeKernel *fk, int ifindex)
{
    FakeLink *l = lookup(fk, ifindex);
    g_assert_nonnull(l);
    announce(fk, l, RTM_DELLINK);
    g_hash_table_remove(fk->links, GINT_TO_POINTER(ifindex));
}

static gboolean same_addr(const GdNlAddr *a, const GdNlAddr *b)
{
    return a->family == b->family && a->prefixlen == b->prefixlen &&
           memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static gint addr_index(const FakeLink *l, const GdNlAddr *addr)
{
    for (guint i = 0; i < l->addrs->len; i++)
        if (same_addr(&g_array_index(l->addrs, GdNlAddr, i), addr))
            return (gint)i;
    return -1;
}

static GdNlAddr parse_addr(int ifindex, const char *cidr)
{
    GdNlAddr addr;
    g_assert_cmpint(gd_nl_cidr_parse(cidr, &addr), ==, 0);
    addr.ifindex = ifindex;
    return addr;
}

void fake_kernel_add_addr(FakeKernel *fk, int ifindex, const char *cidr)
{
    FakeLink *l = lookup(fk, ifindex);
    GdNlAddr addr = parse_addr(ifindex, cidr);
    g_array_append_val(l->addrs, addr);
    announce_addr(fk, &addr, RTM_NEWADDR);
}

const GdNlLink *fake_kernel_link(FakeKernel *fk, int ifindex)
{
    FakeLink *l = lookup(fk, ifindex);
    return l ? &l->nl : NULL;
}

void fake_kernel_rename(FakeKernel *fk, int ifindex, const char *name)
{
    FakeLink *l = lookup(fk, ifindex);
    g_strlcpy(l->nl.name, name, sizeof(l->nl.name));
    announce(fk, l, RTM_NEWLINK);
}

void fake_kernel_set_mtu(FakeKernel *fk, int ifindex, uint32_t mtu)
{
    FakeLink *l = lookup(fk, ifindex);
    l->nl.mtu = mtu;
    announce(fk, l, RTM_NEWLINK);
}

gboolean fake_kernel_has_addr(FakeKernel *fk, int ifindex, const char *cidr)
{
    GdNlAddr addr = parse_addr(ifindex, cidr);
    return addr_index(lookup(fk, ifindex), &addr) >= 0;
}

void fake_kernel_refuse(FakeKernel *fk, int ifindex, int error, const char *text)
{
    FakeLink *l = lookup(fk, ifindex);
    l->refuse = error;
    g_free(l->refuse_text);
    l->refuse_text = g_strdup(text);
}

void fake_kernel_lose_answers(FakeKernel *fk, gboolean lose)
{
    fk->lose = lose;
}

void fake_kernel_silent_adds(FakeKernel *fk, gboolean silent)
{
    fk->silent_adds = silent;
}

void fake_kernel_delete_after_next(FakeKernel *fk, int ifindex)
{
    fk->delete_after = ifindex;
}

void fake_kernel_announce_down_moves(FakeKernel *fk, gboolean announce_moves)
{
    fk->announce_down_moves = announce_moves;
}

guint fake_kernel_ops(FakeKernel *fk)
{
    return fk->ops;
}

static void change_link(FakeKernel *fk, FakeLink *l, const GdNlLinkChange *c)
{
    if (c->set_mtu)
        l->nl.mtu = c->mtu;
    if (c->set_txqlen)
        l->nl.txqlen = c->txqlen;
    if (c->set_hwaddr) {
        memcpy(l->nl.hwaddr, c->hwaddr, c->hwaddr_len);
        l->nl.hwaddr_len = c->hwaddr_len;
    }
    if (c->set_state) {
        l->nl.flags = c->up ? l->nl.flags | IFF_UP | IFF_LOWER_UP | IFF_RUNNING
                            : l->nl.flags & ~(guint)(IFF_UP | IFF_LOWER_UP | IFF_RUNNING);
        l->nl.operstate = c->up ? IF_OPER_UP : IF_OPER_DOWN;
    }
    announce(fk, l, RTM_NEWLINK);
}

static gint compare_ifindex(gconstpointer a, gconstpointer b)
{
    const FakeLink *x = *(FakeLink *const *)a, *y = *(FakeLink *const *)b;
    return (x->nl.ifindex > y->nl.ifindex) - (x->nl.ifindex < y->nl.ifindex);
}

/* One group-scoped RTM_NEWLINK: member after member, in index order, until
 * one refuses. */
static void run_group_change(FakeKernel *fk, GdOp *op)
{
    g_autoptr(GPtrArray) members = g_ptr_array_new();
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, fk->links);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        if (((FakeLink *)value)->nl.group == op->group)
            g_ptr_array_add(members, value);
    g_ptr_array_sort(members, compare_ifindex);
    for (guint i = 0; i < members->len; i++) {
        FakeLink *l = members->pdata[i];
        if (l->refuse) {
            op->error = l->refuse;
            op->extack = g_strdup(l->refuse_text);
            return;
        }
        change_link(fk, l, &op->change);
    }
    op->error = fk->lose ? -ENOBUFS : 0;
}

static int run_one(FakeKernel *fk, GdOp *op, guint i, const GdNlLinkChange *value)
{
    int ifindex = g_array_index(op->targets, int, i);
    FakeLink *l = lookup(fk, ifindex);
    if (!l)
        return -ENODEV;
    if (l->refuse)
        return l->refuse;
    if (op->kind == GD_OP_GROUP_CHANGE) {
        change_link(fk, l, value);
        return 0;
    }
    if (op->kind == GD_OP_SET_LINK_GROUP) {
        l->nl.group = op->group;
        if ((l->nl.flags & IFF_UP) || fk->announce_down_moves)
            announce(fk, l, RTM_NEWLINK);
        return 0;
    }
    GdNlAddr addr = op->addrs ? g_array_index(op->addrs, GdNlAddr, i) : op->addr;
    addr.ifindex = ifindex;
    gint at = addr_index(l, &addr);
    if (op->kind == GD_OP_ADDR_ADD) {
        if (at >= 0)
            return -EEXIST;
        if (!fk->silent_adds) {
            g_array_append_val(l->addrs, addr);
            announce_addr(fk, &addr, RTM_NEWADDR);
        }
        return 0;
    }
    if (at < 0)
        return -EADDRNOTAVAIL;
    g_array_remove_index(l->addrs, (guint)at);
    announce_addr(fk, &addr, RTM_DELADDR);
    return 0;
}

/* One group-scoped message: a group change. */
static void run_group(GdOp *op, gpointer data)
{
    FakeKernel *fk = data;
    fk->ops++;
    fk->group_messages++;
    g_assert_cmpint(op->kind, ==, GD_OP_GROUP_CHANGE);
    run_group_change(fk, op);
}

/* One message per target, in the order given, each with its own answer. */
static int run_links(GdOp *op, const guint *positions, guint n, const GdNlLinkChange *values,
                     GdNlAck *acks, gpointer data)
{
    FakeKernel *fk = data;
    fk->link_messages += n;
    for (guint i = 0; i < n; i++) {
        /* The first target is sent once, in the operation's first chunk. */
        if (positions[i] == 0 && !values)
            fk->ops++;
        int ifindex = g_array_index(op->targets, int, positions[i]);
        g_array_append_val(fk->sent, ifindex);
        int error = run_one(fk, op, positions[i], values ? &values[i] : &op->change);
        FakeLink *l = lookup(fk, ifindex);
        acks[i].error = fk->lose ? -ENOBUFS : error;
        if (error < 0 && !fk->lose && l && l->refuse_text)
            acks[i].extack = g_strdup(l->refuse_text);
    }
    if (fk->delete_after) {
        fake_kernel_del_link(fk, fk->delete_after);
        fk->delete_after = 0;
    }
    return fk->lose ? -ENOBUFS : 0;
}

GdExecutor *fake_kernel_executor(FakeKernel *fk)
{
    static const GdExecutorBackend backend = {
        .run_group = run_group,
        .run_links = run_links,
        .threaded = FALSE,
    };
    return gd_executor_new_with_backend(&backend, fk);
}

const GArray *fake_kernel_sent(FakeKernel *fk)
{
    return fk->sent;
}

guint fake_kernel_group_messages(FakeKernel *fk)
{
    return fk->group_messages;
}

guint fake_kernel_link_messages(FakeKernel *fk)
{
    return fk->link_messages;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Group operations: pure validation and result checks. */
#include "ops.h"

#include <errno.h>
#include <linux/if_arp.h>
#include <string.h>
#include <sys/socket.h>

GdOp *gd_op_new(GdOpKind kind, uint32_t group)
{
    GdOp *op = g_new0(GdOp, 1);
    op->kind = kind;
    op->group = group;
    op->targets = g_array_new(FALSE, FALSE, sizeof(int));
    op->path = GD_KPATH_AUTO;
    op->stopped = G_MAXUINT;
    return op;
}

void gd_op_free(GdOp *op)
{
    if (!op)
        return;
    if (op->acks)
        for (guint i = 0; i < op->targets->len; i++)
            gd_nl_ack_clear(&op->acks[i]);
    g_free(op->acks);
    g_array_unref(op->targets);
    if (op->addrs)
        g_array_unref(op->addrs);
    if (op->before)
        g_array_unref(op->before);
    g_free(op->extack);
    g_free(op);
}

const char *gd_op_kind_name(GdOpKind kind)
{
    switch (kind) {
    case GD_OP_GROUP_CHANGE:
        return "group change";
    case GD_OP_SET_LINK_GROUP:
        return "membership change";
    case GD_OP_ADDR_ADD:
        return "address add";
    case GD_OP_ADDR_DEL:
        return "address remove";
    }
    return "?";
}

static gboolean ether_like(const GdLink *link)
{
    return link->nl.arptype == ARPHRD_ETHER && link->nl.hwaddr_len == 6;
}

GPtrArray *gd_op_validate_change(GPtrArray *members, const GdNlLinkChange *change)
{
    GPtrArray *problems = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < members->len; i++) {
        const GdLink *link = members->pdata[i];
        const char *name = link->nl.name;
        if (change->set_mtu) {
            if (link->nl.max_mtu > 0 && change->mtu > link->nl.max_mtu)
                g_ptr_array_add(problems, g_strdup_printf("%s: MTU %u above its maximum %u", name,
                                                          change->mtu, link->nl.max_mtu));
            else if (change->mtu < link->nl.min_mtu)
                g_ptr_array_add(problems, g_strdup_printf("%s: MTU %u below its minimum %u", name,
                                                          change->mtu, link->nl.min_mtu));
        }
        if (change->set_hwaddr) {
            if (link->nl.hwaddr_len == 0)
                g_ptr_array_add(problems,
                                g_strdup_printf("%s: has no hardware address to set", name));
            else if (link->nl.hwaddr_len != change->hwaddr_len)
                g_ptr_array_add(problems,
                                g_strdup_printf("%s: hardware address has %u bytes, not %u", name,
                                                link->nl.hwaddr_len, change->hwaddr_len));
            else if (ether_like(link) && (change->hwaddr[0] & 1))
                g_ptr_array_add(problems,
                                g_strdup_printf("%s: a multicast address cannot be a device "
                                                "address",
                                                name));
        }
    }
    return problems;
}

GPtrArray *gd_op_ipv4_losers(GPtrArray *members, const GdNlLinkChange *change)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    if (!change->set_mtu || change->mtu >= GD_NL_IPV4_MIN_MTU)
        return names;
    for (guint i = 0; i < members->len; i++) {
        const GdLink *link = members->pdata[i];
        if (link->nl.mtu >= GD_NL_IPV4_MIN_MTU)
            g_ptr_array_add(names, g_strdup(link->nl.name));
    }
    return names;
}

void gd_link_change_merge(GdNlLinkChange *into, const GdNlLinkChange *over)
{
    if (over->set_mtu) {
        into->set_mtu = true;
        into->mtu = over->mtu;
    }
    if (over->set_state) {
        into->set_state = true;
        into->up = over->up;
    }
    if (over->set_hwaddr) {
        into->set_hwaddr = true;
        memcpy(into->hwaddr, over->hwaddr, sizeof(into->hwaddr));
        into->hwaddr_len = over->hwaddr_len;
    }
    if (over->set_txqlen) {
        into->set_txqlen = true;
        into->txqlen = over->txqlen;
    }
}

gboolean gd_link_matches_change(const GdLink *link, const GdNlLinkChange *change)
{
    if (change->set_mtu && link->nl.mtu != change->mtu)
        return FALSE;
    if (change->set_txqlen && link->nl.txqlen != change->txqlen)
        return FALSE;
    if (change->set_state && gd_link_is_up(link) != change->up)
        return FALSE;
    if (change->set_hwaddr && (link->nl.hwaddr_len != change->hwaddr_len ||
                               memcmp(link->nl.hwaddr, change->hwaddr, change->hwaddr_len) != 0))
        return FALSE;
    return TRUE;
}

gboolean gd_link_has_addr(const GdLink *link, const GdNlAddr *addr)
{
    size_t len = addr->family == AF_INET ? 4 : 16;
    for (guint i = 0; i < link->addrs->len; i++) {
        const GdNlAddr *a = &g_array_index(link->addrs, GdNlAddr, i);
        if (a->family == addr->family && a->prefixlen == addr->prefixlen &&
            memcmp(a->addr, addr->addr, len) == 0)
            return TRUE;
    }
    return FALSE;
}

char *gd_format_names(GPtrArray *names, guint limit)
{
    GString *s = g_string_new(NULL);
    guint shown = MIN(names->len, limit);
    for (guint i = 0; i < shown; i++) {
        if (i)
            g_string_append(s, ", ");
        g_string_append(s, names->pdata[i]);
    }
    if (names->len > shown)
        g_string_append_printf(s, " and %u more", names->len - shown);
    return g_string_free(s, FALSE);
}

void gd_op_record_moves(const GdOp *op, GdCache *cache)
{
    if (gd_cache_kernel_features(cache) & GD_KF_GROUP_NOTIFY)
        return;
    /* Reading every moved link back made the kernel look each up by index
     * (a 256-bucket table): most of a 32768-link move. An ack of 0 says
     * the kernel set the group. */
    g_autoptr(GArray) done = g_array_new(FALSE, FALSE, sizeof(int));
    g_autoptr(GArray) unknown = g_array_new(FALSE, FALSE, sizeof(int));
    for (guint i = 0; i < op->targets->len; i++) {
        int ifindex = g_array_index(op->targets, int, i);
        if (!op->acks || op->acks[i].error == -ENOBUFS || op->acks[i].error == -ETIMEDOUT)
            g_array_append_val(unknown, ifindex);
        else if (op->acks[i].error == 0)
            g_array_append_val(done, ifindex);
    }
    gd_cache_note_group_moves(cache, (const int *)(void *)done->data, done->len, op->group);
    gd_cache_refresh_group(cache, op->group, (const int *)(void *)unknown->data, unknown->len);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 * A group policy against what another network manager applies to a link. */
#include "policy/conflicts.h"

#include "policy/ops.h"
#include "text/text.h"

#include <string.h>
#include <sys/socket.h>

static const char *const attr_names[GD_CONFLICT_N_ATTRS] = {
    [GD_CONFLICT_MTU] = "MTU",           [GD_CONFLICT_STATE] = "State",
    [GD_CONFLICT_GROUP] = "Group",       [GD_CONFLICT_ADDRESS] = "Address",
    [GD_CONFLICT_HWADDR] = "MACAddress", [GD_CONFLICT_TXQLEN] = "TxQueueLength",
};

const char *gd_conflict_attr_name(GdConflictAttr attr)
{
    return (guint)attr < GD_CONFLICT_N_ATTRS ? attr_names[attr] : "?";
}

void gd_conflict_free(GdConflict *c)
{
    if (!c)
        return;
    g_free(c->ours);
    g_free(c->theirs);
    g_free(c->source);
    g_free(c);
}

char *gd_conflict_key(const GdConflict *c)
{
    return g_strdup_printf("%d/%s/%s", c->ifindex, gd_conflict_attr_name(c->attr), c->ours);
}

static GdConflict *add(GPtrArray *out, const GdLink *link, uint32_t group, GdConflictAttr attr,
                       char *ours, char *theirs, gboolean yield, const GdPeerLink *peer)
{
    GdConflict *c = g_new0(GdConflict, 1);
    c->ifindex = link->nl.ifindex;
    g_strlcpy(c->link, link->nl.name, sizeof(c->link));
    c->group = group;
    c->attr = attr;
    c->ours = ours;
    c->theirs = theirs;
    c->manager = peer->manager;
    c->source = g_strdup(peer->source);
    c->yield = yield;
    g_ptr_array_add(out, c);
    return c;
}

/* Whether link shows attr of desired (which sets it). */
static gboolean shows(const GdLink *link, const GdNlLinkChange *desired, GdConflictAttr attr)
{
    GdNlLinkChange one = {0};
    switch (attr) {
    case GD_CONFLICT_MTU:
        one.set_mtu = TRUE;
        one.mtu = desired->mtu;
        break;
    case GD_CONFLICT_STATE:
        one.set_state = TRUE;
        one.up = desired->up;
        break;
    case GD_CONFLICT_HWADDR:
        one.set_hwaddr = TRUE;
        one.hwaddr_len = desired->hwaddr_len;
        memcpy(one.hwaddr, desired->hwaddr, sizeof(one.hwaddr));
        break;
    case GD_CONFLICT_TXQLEN:
        one.set_txqlen = TRUE;
        one.txqlen = desired->txqlen;
        break;
    default:
        return TRUE;
    }
    return gd_link_matches_change(link, &one);
}

static char *number(uint32_t v)
{
    return g_strdup_printf("%u", v);
}

static gboolean same_address(const GdNlAddr *a, const GdNlAddr *b)
{
    return a->family == b->family && a->prefixlen == b->prefixlen &&
           memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* The manager's addresses of one family, "a/p b/p", or "none". */
static char *addresses_of(const GdPeerLink *peer, int family)
{
    GString *text = g_string_new(NULL);
    for (guint i = 0; i < peer->addresses->len; i++) {
        const GdNlAddr *a = &g_array_index(peer->addresses, GdNlAddr, i);
        if (a->family != family)
            continue;
        g_autofree char *t = gd_nl_addr_format(a);
        g_string_append_printf(text, "%s%s", text->len ? " " : "", t);
    }
    if (!text->len)
        g_string_append(text, "none");
    return g_string_free(text, FALSE);
}

guint32 gd_conflicts_of_link(const GdLink *link, uint32_t group, const GdNlLinkChange *desired,
                             const GArray *addresses, gboolean yield, const GdPeerLink *peer,
                             GPtrArray *out)
{
    guint32 mask = 0;
    /* A manager that applies no profile (NetworkManager's device without
     * an active connection, networkd's pending link) changes nothing. */
    if (!peer || peer->manager == GD_PEER_NONE || !peer->source)
        return 0;
    if (desired->set_mtu && peer->set_mtu && desired->mtu != peer->mtu) {
        add(out, link, group, GD_CONFLICT_MTU, number(desired->mtu), number(peer->mtu), yield, peer)
            ->differs = !shows(link, desired, GD_CONFLICT_MTU);
        mask |= GD_CONFLICT_BIT(GD_CONFLICT_MTU);
    }
    if (desired->set_state && peer->set_state && desired->up != peer->up) {
        add(out, link, group, GD_CONFLICT_STATE, g_strdup(desired->up ? "up" : "down"),
            g_strdup(peer->up ? "up" : "down"), yield, peer)
            ->differs = !shows(link, desired, GD_CONFLICT_STATE);
        mask |= GD_CONFLICT_BIT(GD_CONFLICT_STATE);
    }
    if (peer->set_group && peer->group != group) {
        add(out, link, group, GD_CONFLICT_GROUP, number(group), number(peer->group), yield, peer)
            ->differs = link->nl.group != group;
        mask |= GD_CONFLICT_BIT(GD_CONFLICT_GROUP);
    }
    for (guint i = 0; addresses && i < addresses->len; i++) {
        const GdNlAddr *want = &g_array_index(addresses, GdNlAddr, i);
        int family = want->family == AF_INET6 ? 1 : 0;
        if (!peer->owns_addresses[family])
            continue;
        gboolean listed = FALSE;
        for (guint k = 0; k < peer->addresses->len && !listed; k++)
            listed = same_address(&g_array_index(peer->addresses, GdNlAddr, k), want);
        if (listed)
            continue;
        add(out, link, group, GD_CONFLICT_ADDRESS, gd_nl_addr_format(want),
            addresses_of(peer, want->family), yield, peer)
            ->differs = !gd_link_has_addr(link, want);
        mask |= GD_CONFLICT_BIT(GD_CONFLICT_ADDRESS);
    }
    if (desired->set_hwaddr && peer->set_hwaddr &&
        (desired->hwaddr_len != peer->hwaddr_len ||
         memcmp(desired->hwaddr, peer->hwaddr, peer->hwaddr_len) != 0)) {
        add(out, link, group, GD_CONFLICT_HWADDR,
            gd_nl_hwaddr_format(desired->hwaddr, desired->hwaddr_len),
            gd_nl_hwaddr_format(peer->hwaddr, peer->hwaddr_len), yield, peer)
            ->differs = !shows(link, desired, GD_CONFLICT_HWADDR);
        mask |= GD_CONFLICT_BIT(GD_CONFLICT_HWADDR);
    }
    if (desired->set_txqlen && peer->set_txqlen && desired->txqlen != peer->txqlen) {
        add(out, link, group, GD_CONFLICT_TXQLEN, number(desired->txqlen), number(peer->txqlen),
            yield, peer)
            ->differs = !shows(link, desired, GD_CONFLICT_TXQLEN);
        mask |= GD_CONFLICT_BIT(GD_CONFLICT_TXQLEN);
    }
    return mask;
}

static int compare_conflicts(gconstpointer a, gconstpointer b)
{
    const GdConflict *x = *(const GdConflict *const *)a, *y = *(const GdConflict *const *)b;
    if (x->ifindex != y->ifindex)
        return x->ifindex < y->ifindex ? -1 : 1;
    return (x->attr > y->attr) - (x->attr < y->attr);
}

GPtrArray *gd_conflicts_prepare(const GdConfig *config, GHashTable *overrides,
                                GdPlanLinkFacts *facts, guint n, GdPeerLookupFunc lookup,
                                gpointer lookup_data)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)gd_conflict_free);
    if (!lookup)
        return out;
    for (guint i = 0; i < n; i++) {
        GdPlanLinkFacts *f = &facts[i];
        const GdPeerLink *peer = lookup(f->link->nl.ifindex, f->link->nl.name, lookup_data);
        f->match.managed_by = gd_peer_kind_name(peer ? peer->manager : GD_PEER_NONE);
        f->yields = 0;
        if (!peer)
            continue;
        const GdGroupPolicy *policy = gd_config_first_match(config, &f->match);
        if (!policy)
            policy = gd_config_policy_for_group(config, f->link->nl.group);
        if (!policy)
            continue;
        GdNlLinkChange desired = policy->link;
        const GdNlLinkChange *override =
            overrides ? g_hash_table_lookup(overrides, GUINT_TO_POINTER(policy->id)) : NULL;
        if (override)
            gd_link_change_merge(&desired, override);
        guint32 mask = gd_conflicts_of_link(f->link, policy->id, &desired, policy->addresses,
                                            policy->yield_to_others, peer, out);
        if (policy->yield_to_others)
            f->yields = mask;
    }
    g_ptr_array_sort(out, compare_conflicts);
    return out;
}

static void add_text(JsonBuilder *b, const char *name, const char *value)
{
    g_autofree char *shown = gd_text_escape(value ? value : "");
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, shown);
}

void gd_conflicts_to_json(JsonBuilder *b, const GPtrArray *conflicts, uint32_t group)
{
    json_builder_begin_array(b);
    for (guint i = 0; conflicts && i < conflicts->len; i++) {
        const GdConflict *c = conflicts->pdata[i];
        if (c->group != group)
            continue;
        json_builder_begin_object(b);
        add_text(b, "link", c->link);
        add_text(b, "attribute", gd_conflict_attr_name(c->attr));
        add_text(b, "groupd", c->ours);
        add_text(b, "other", c->theirs);
        add_text(b, "manager", gd_peer_kind_name(c->manager));
        add_text(b, "source", c->source);
        add_text(b, "action", c->yield ? "yield" : "enforce");
        json_builder_set_member_name(b, "repairs");
        json_builder_add_int_value(b, c->repairs);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

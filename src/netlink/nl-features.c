/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Probing the group-operation behaviour of the running kernel (the series
 * under kernel/) by what the kernel does, as upstream interfaces are
 * discovered: no feature file, no private numbers. Every probe leaves the
 * namespace as it was, on stock and patched kernels alike. */
#include "nl.h"

#include <errno.h>
#include <string.h>

#define LOOPBACK_IFINDEX 1 /* in every network namespace */
#define PROBE_TIMEOUT_MS 5000

static const char *const feature_names[] = {
    "group-notify",
    "group-dump",
    "validate",
};
G_STATIC_ASSERT(G_N_ELEMENTS(feature_names) == 3 && GD_KF_ALL == (1 << 3) - 1);

const char *gd_nl_feature_name(GdKernelFeature feature)
{
    for (guint i = 0; i < G_N_ELEMENTS(feature_names); i++)
        if (feature == (1u << i))
            return feature_names[i];
    return NULL;
}

char **gd_nl_feature_names(unsigned features)
{
    GPtrArray *names = g_ptr_array_new();
    for (guint i = 0; i < G_N_ELEMENTS(feature_names); i++)
        if (features & (1u << i))
            g_ptr_array_add(names, g_strdup(feature_names[i]));
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(names, FALSE);
}

static int lookup(const char *word, unsigned *bit)
{
    for (guint i = 0; i < G_N_ELEMENTS(feature_names); i++)
        if (strcmp(word, feature_names[i]) == 0) {
            *bit = 1u << i;
            return 0;
        }
    return -EINVAL;
}

int gd_nl_feature_parse(const char *text, unsigned *out, char **bad)
{
    g_auto(GStrv) words = g_strsplit_set(text, ", \t\n", -1);
    unsigned features = 0;
    for (char **w = words; *w; w++) {
        unsigned bit;
        if (**w == '\0')
            continue;
        if (lookup(*w, &bit) < 0) {
            if (bad)
                *bad = g_strdup(*w);
            return -EINVAL;
        }
        features |= bit;
    }
    *out = features;
    return 0;
}

/* ---- the links the probes work on ---- */

typedef struct {
    bool found_lo;
    GdNlLink lo;
    bool found_down;
    GdNlLink down; /* lo if it is DOWN, else the first DOWN link */
} ProbeLinks;

static void probe_links_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    ProbeLinks *links = user_data;
    GdNlLink link;
    if (nlh->nlmsg_type != RTM_NEWLINK || gd_nl_parse_link(nlh, &link) < 0)
        return;
    if (link.ifindex == LOOPBACK_IFINDEX) {
        links->lo = link;
        links->found_lo = true;
    }
    if (!(link.flags & IFF_UP) && (!links->found_down || link.ifindex == LOOPBACK_IFINDEX)) {
        links->down = link;
        links->found_down = true;
    }
}

static int read_probe_links(GdNlSocket *sock, ProbeLinks *links)
{
    uint8_t buf[GD_NL_MSG_MAX];
    g_autofree char *extack = NULL;
    int r = gd_nl_dump(sock, gd_nl_put_getlink_dump(buf, 0), probe_links_cb, NULL, links, &extack);
    /* Links that changed meanwhile do not matter: any lo and DOWN link do. */
    if (r < 0 && !(r == -EAGAIN && links->found_lo))
        return r;
    return links->found_lo ? 0 : -ENODEV;
}

static int transact_one(GdNlSocket *sock, struct nlmsghdr *nlh, char **extack)
{
    GdNlAck ack = {0};
    int r = gd_nl_transact(sock, nlh, nlh->nlmsg_len, nlh->nlmsg_seq, 1, &ack, NULL, NULL,
                           PROBE_TIMEOUT_MS);
    if (r == 0)
        r = ack.error;
    if (extack)
        *extack = g_steal_pointer(&ack.extack);
    gd_nl_ack_clear(&ack);
    return r;
}

/* ---- group-dump: RTM_GETLINK dumps filtered by IFLA_GROUP ---- */

typedef struct {
    uint32_t group;
    guint links;
    guint others; /* links of another group: the filter was ignored */
} GroupDump;

static void group_dump_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    GroupDump *dump = user_data;
    GdNlLink link;
    if (nlh->nlmsg_type != RTM_NEWLINK || gd_nl_parse_link(nlh, &link) < 0)
        return;
    dump->links++;
    if (link.group != dump->group)
        dump->others++;
}

/* Stock kernels refuse the attribute on a strict-check socket ("Unsupported
 * attribute in link dump request"). */
static int probe_group_dump(GdNlSocket *sock, uint32_t group, bool *has)
{
    uint8_t buf[GD_NL_MSG_MAX];
    GroupDump dump = {.group = group};
    g_autofree char *extack = NULL;
    int r = gd_nl_dump(sock, gd_nl_put_getlink_dump_group(buf, 0, group), group_dump_cb, NULL,
                       &dump, &extack);
    if (r == -EINVAL || r == -EOPNOTSUPP) {
        g_debug("kernel: no filtered link dumps: %s%s%s", g_strerror(-r), extack ? ": " : "",
                extack ? extack : "");
        *has = false;
        return 0;
    }
    if (r < 0)
        return r;
    *has = dump.links > 0 && dump.others == 0;
    return 0;
}

/* ---- group-notify: group changes of DOWN links are announced ---- */

typedef struct {
    int ifindex;
    bool announced;
} Announcement;

static void announced_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    Announcement *a = user_data;
    GdNlLink link;
    if (nlh->nlmsg_type == RTM_NEWLINK && gd_nl_parse_link(nlh, &link) == 0 &&
        link.ifindex == a->ifindex)
        a->announced = true;
}

/* A request carrying IFLA_GROUP is announced with RTM_NEWLINK whether or
 * not the group changes (listeners such as keepalived rely on that), but
 * stock kernels announce it only for UP devices. So the probe sets a DOWN
 * link's group to the group it already has: nothing changes, and only a
 * kernel that announces DOWN devices' group changes says so. Without a
 * DOWN link there is nothing to ask without changing something. */
static int probe_group_notify(GdNlSocket *sock, const ProbeLinks *links, bool *has)
{
    *has = false;
    if (!links->found_down) {
        g_message("kernel: no DOWN link to probe group notifications with; assuming none");
        return 0;
    }
    const unsigned groups[] = {RTNLGRP_LINK};
    g_autoptr(GdNlSocket) listener = NULL;
    int r = gd_nl_socket_open(groups, G_N_ELEMENTS(groups), 0, 0, &listener);
    if (r < 0)
        return r;
    uint8_t buf[GD_NL_MSG_MAX];
    uint32_t seq = gd_nl_socket_reserve_seq(sock, 1);
    r = transact_one(
        sock, gd_nl_put_link_set_group(buf, seq, links->down.ifindex, links->down.group), NULL);
    if (r < 0)
        return r;
    /* The kernel queues a notification before it sends the ack. */
    Announcement a = {.ifindex = links->down.ifindex};
    r = gd_nl_socket_drain(listener, 0, announced_cb, &a);
    if (r < 0)
        return r;
    *has = a.announced;
    return 0;
}

/* ---- validate: a group change is checked on every member first ---- */

/* An MTU no device takes (-1 as the kernel's int): every member refuses
 * it, so on any kernel nothing changes. A validating kernel refuses it
 * before changing anything and starts its message with the member's name
 * ("lo: mtu less than device minimum"); stock kernels stop at the first
 * member with the bare message. */
static int probe_validate(GdNlSocket *sock, const GdNlLink *lo, bool *has)
{
    uint8_t buf[GD_NL_MSG_MAX];
    GdNlLinkChange change = {.set_mtu = true, .mtu = UINT32_MAX};
    uint32_t seq = gd_nl_socket_reserve_seq(sock, 1);
    g_autofree char *extack = NULL;
    int r = transact_one(sock, gd_nl_put_group_change(buf, seq, lo->group, &change), &extack);
    if (r == 0) {
        g_warning("kernel: a group MTU of %u was accepted", UINT32_MAX);
        *has = false;
        return 0;
    }
    if (r == -ENOBUFS || r == -ETIMEDOUT)
        return r;
    g_autofree char *prefix = g_strdup_printf("%s: ", lo->name);
    *has = extack && g_str_has_prefix(extack, prefix);
    g_debug("kernel: an impossible group MTU: %s%s%s", g_strerror(-r), extack ? ": " : "",
            extack ? extack : "");
    return 0;
}

int gd_nl_probe_features(unsigned *out)
{
    g_autoptr(GdNlSocket) sock = NULL;
    int r = gd_nl_socket_open(NULL, 0, 0, 0, &sock);
    if (r < 0)
        return r;
    ProbeLinks links = {0};
    r = read_probe_links(sock, &links);
    if (r < 0)
        return r;
    unsigned features = 0;
    bool has;
    r = probe_group_dump(sock, links.lo.group, &has);
    if (r < 0)
        return r;
    if (has)
        features |= GD_KF_GROUP_DUMP;
    r = probe_group_notify(sock, &links, &has);
    if (r < 0)
        return r;
    if (has)
        features |= GD_KF_GROUP_NOTIFY;
    r = probe_validate(sock, &links.lo, &has);
    if (r < 0)
        return r;
    if (has)
        features |= GD_KF_VALIDATE;
    *out = features;
    return 0;
}

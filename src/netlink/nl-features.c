/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Probing the group-operation features of the running kernel (the patches
 * under kernel/): a sysctl for what cannot be seen without side effects,
 * behaviour for the rest. */
#include "nl.h"

#include <errno.h>
#include <string.h>

#define FEATURES_SYSCTL  "/proc/sys/net/core/group_ops_features"
#define LOOPBACK_IFINDEX 1 /* in every network namespace */
#define PROBE_TIMEOUT_MS 5000

static const char *const feature_names[] = {
    "group-notify", "group-dump", "validate", "linear", "notify-batch", "group-addr",
};
G_STATIC_ASSERT(G_N_ELEMENTS(feature_names) == 6 && GD_KF_ALL == (1 << 6) - 1);

/* The words the kernel lists in the sysctl (the other two are probed). */
#define SYSCTL_FEATURES (GD_KF_VALIDATE | GD_KF_LINEAR | GD_KF_NOTIFY_BATCH | GD_KF_GROUP_ADDR)

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

static unsigned read_sysctl(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(FEATURES_SYSCTL, &text, NULL, NULL))
        return 0; /* a stock kernel */
    g_auto(GStrv) words = g_strsplit_set(text, " \t\n", -1);
    unsigned features = 0;
    for (char **w = words; *w; w++) {
        unsigned bit;
        if (**w == '\0')
            continue;
        if (lookup(*w, &bit) == 0 && (bit & SYSCTL_FEATURES))
            features |= bit;
        else
            g_debug("kernel: group_ops_features word \"%s\" is not known here", *w);
    }
    return features;
}

typedef struct {
    bool found;
    GdNlLink link;
} Loopback;

static void loopback_reply_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    Loopback *lo = user_data;
    GdNlLink link;
    if (nlh->nlmsg_type == RTM_NEWLINK && gd_nl_parse_link(nlh, &link) == 0 &&
        link.ifindex == LOOPBACK_IFINDEX) {
        lo->link = link;
        lo->found = true;
    }
}

static int read_loopback(GdNlSocket *sock, Loopback *lo)
{
    uint8_t buf[GD_NL_MSG_MAX];
    uint32_t seq = gd_nl_socket_reserve_seq(sock, 1);
    struct nlmsghdr *nlh = gd_nl_put_getlink(buf, seq, LOOPBACK_IFINDEX);
    GdNlAck ack = {0};
    int r = gd_nl_transact(sock, nlh, nlh->nlmsg_len, seq, 1, &ack, loopback_reply_cb, lo,
                           PROBE_TIMEOUT_MS);
    if (r == 0)
        r = ack.error;
    gd_nl_ack_clear(&ack);
    if (r == 0 && !lo->found)
        r = -ENODEV;
    return r;
}

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

static int probe_group_dump(GdNlSocket *sock, uint32_t group, bool *has)
{
    uint8_t buf[GD_NL_MSG_MAX];
    GroupDump dump = {.group = group};
    g_autofree char *extack = NULL;
    int r = gd_nl_dump(sock, gd_nl_put_getlink_dump_group(buf, 0, group), group_dump_cb, NULL,
                       &dump, &extack);
    if (r == -EINVAL || r == -EOPNOTSUPP) {
        /* Stock: "Unsupported attribute in link dump request". */
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

static void loopback_announced_cb(const struct nlmsghdr *nlh, gpointer user_data)
{
    bool *announced = user_data;
    GdNlLink link;
    if (nlh->nlmsg_type == RTM_NEWLINK && gd_nl_parse_link(nlh, &link) == 0 &&
        link.ifindex == LOOPBACK_IFINDEX)
        *announced = true;
}

static int set_loopback_group(GdNlSocket *sock, uint32_t group)
{
    uint8_t buf[GD_NL_MSG_MAX];
    uint32_t seq = gd_nl_socket_reserve_seq(sock, 1);
    struct nlmsghdr *nlh = gd_nl_put_link_set_group(buf, seq, LOOPBACK_IFINDEX, group);
    GdNlAck ack = {0};
    int r = gd_nl_transact(sock, nlh, nlh->nlmsg_len, seq, 1, &ack, NULL, NULL, PROBE_TIMEOUT_MS);
    if (r == 0)
        r = ack.error;
    gd_nl_ack_clear(&ack);
    return r;
}

/* Stock kernels announce a group "change" of an UP device even when the
 * group stays the same, and never one of a DOWN device; group-notify
 * kernels announce exactly the real changes. With lo UP the probe sets
 * its own group again (no change at all); with lo DOWN (a namespace where
 * nothing runs yet) it moves lo to another group and straight back. */
static int probe_group_notify(GdNlSocket *sock, const GdNlLink *lo, bool *has)
{
    const unsigned groups[] = {RTNLGRP_LINK};
    g_autoptr(GdNlSocket) listener = NULL;
    int r = gd_nl_socket_open(groups, G_N_ELEMENTS(groups), 0, 0, &listener);
    if (r < 0)
        return r;
    bool up = (lo->flags & IFF_UP) != 0;
    r = set_loopback_group(sock, up ? lo->group : lo->group ^ 1);
    if (r < 0)
        return r;
    if (!up) {
        r = set_loopback_group(sock, lo->group);
        if (r < 0) {
            g_warning("kernel: could not move lo back to group %u: %s", lo->group, g_strerror(-r));
            return r;
        }
    }
    /* A notification is queued before the ack is sent: it is here now. */
    bool announced = false;
    r = gd_nl_socket_drain(listener, 0, loopback_announced_cb, &announced);
    if (r < 0)
        return r;
    *has = up ? !announced : announced;
    return 0;
}

int gd_nl_probe_features(unsigned *out)
{
    unsigned features = read_sysctl();
    g_autoptr(GdNlSocket) sock = NULL;
    int r = gd_nl_socket_open(NULL, 0, 0, 0, &sock);
    if (r < 0)
        return r;
    Loopback lo = {0};
    r = read_loopback(sock, &lo);
    if (r < 0)
        return r;
    bool has;
    r = probe_group_dump(sock, lo.link.group, &has);
    if (r < 0)
        return r;
    if (has)
        features |= GD_KF_GROUP_DUMP;
    r = probe_group_notify(sock, &lo.link, &has);
    if (r < 0)
        return r;
    if (has)
        features |= GD_KF_GROUP_NOTIFY;
    *out = features;
    return 0;
}

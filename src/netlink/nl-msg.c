/* SPDX-License-Identifier: LGPL-2.1-or-later
 * rtnetlink message builders and parsers (libmnl attributes). */
#include "nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

static struct nlmsghdr *put_header(void *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
    memset(buf, 0, GD_NL_MSG_MAX);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq;
    return nlh;
}

static void put_change_attrs(struct nlmsghdr *nlh, struct ifinfomsg *ifi,
                             const GdNlLinkChange *change)
{
    if (change->set_state) {
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = change->up ? IFF_UP : 0;
    }
    if (change->set_mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, change->mtu);
    if (change->set_txqlen)
        mnl_attr_put_u32(nlh, IFLA_TXQLEN, change->txqlen);
    if (change->set_hwaddr)
        mnl_attr_put(nlh, IFLA_ADDRESS, change->hwaddr_len, change->hwaddr);
}

struct nlmsghdr *gd_nl_put_group_change(void *buf, uint32_t seq, uint32_t group,
                                        const GdNlLinkChange *change)
{
    /* ifi_index 0, no IFLA_IFNAME, no NLM_F_CREATE: the kernel takes the
     * group-mode path (rtnl_group_changelink) and changes every member. */
    struct nlmsghdr *nlh = put_header(buf, RTM_NEWLINK, NLM_F_ACK, seq);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = 0;
    put_change_attrs(nlh, ifi, change);
    mnl_attr_put_u32(nlh, IFLA_GROUP, group);
    return nlh;
}

struct nlmsghdr *gd_nl_put_link_change(void *buf, uint32_t seq, int ifindex,
                                       const GdNlLinkChange *change)
{
    struct nlmsghdr *nlh = put_header(buf, RTM_NEWLINK, NLM_F_ACK, seq);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    put_change_attrs(nlh, ifi, change);
    return nlh;
}

struct nlmsghdr *gd_nl_put_link_set_group(void *buf, uint32_t seq, int ifindex, uint32_t group)
{
    struct nlmsghdr *nlh = put_header(buf, RTM_NEWLINK, NLM_F_ACK, seq);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    mnl_attr_put_u32(nlh, IFLA_GROUP, group);
    return nlh;
}

struct nlmsghdr *gd_nl_put_addr(void *buf, uint32_t seq, uint16_t type, const GdNlAddr *addr)
{
    /* REPLACE makes adding an address a member already has a no-op rather
     * than an EEXIST that would turn a group add into a partial failure. */
    uint16_t flags = NLM_F_ACK;
    if (type == RTM_NEWADDR)
        flags |= NLM_F_CREATE | NLM_F_REPLACE;
    struct nlmsghdr *nlh = put_header(buf, type, flags, seq);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    size_t alen = addr->family == AF_INET ? 4 : 16;
    ifa->ifa_family = addr->family;
    ifa->ifa_prefixlen = addr->prefixlen;
    ifa->ifa_index = (uint32_t)addr->ifindex;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    mnl_attr_put(nlh, IFA_LOCAL, alen, addr->addr);
    if (addr->family == AF_INET)
        mnl_attr_put(nlh, IFA_ADDRESS, alen, addr->addr);
    return nlh;
}

struct nlmsghdr *gd_nl_put_getlink(void *buf, uint32_t seq, int ifindex)
{
    struct nlmsghdr *nlh = put_header(buf, RTM_GETLINK, NLM_F_ACK, seq);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return nlh;
}

struct nlmsghdr *gd_nl_put_getlink_dump(void *buf, uint32_t seq)
{
    struct nlmsghdr *nlh = put_header(buf, RTM_GETLINK, NLM_F_DUMP, seq);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return nlh;
}

struct nlmsghdr *gd_nl_put_getlink_dump_group(void *buf, uint32_t seq, uint32_t group)
{
    struct nlmsghdr *nlh = gd_nl_put_getlink_dump(buf, seq);
    mnl_attr_put_u32(nlh, IFLA_GROUP, group);
    return nlh;
}

struct nlmsghdr *gd_nl_put_getaddr_dump(void *buf, uint32_t seq, uint8_t family)
{
    struct nlmsghdr *nlh = put_header(buf, RTM_GETADDR, NLM_F_DUMP, seq);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = family;
    return nlh;
}

/* ---- parsers ---- */

typedef struct {
    const struct nlattr *tb[IFLA_MAX + 1];
} LinkAttrs;

static int collect_attr(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);
    /* Attribute numbers newer than our headers are ignored, not an error. */
    if (type <= IFLA_MAX)
        tb[type] = attr;
    return MNL_CB_OK;
}

static int collect_addr_attr(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);
    if (type <= IFA_MAX)
        tb[type] = attr;
    return MNL_CB_OK;
}

static int collect_linkinfo_attr(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);
    if (type <= IFLA_INFO_MAX)
        tb[type] = attr;
    return MNL_CB_OK;
}

static int collect_af_attr(const struct nlattr *attr, void *data)
{
    const struct nlattr **inet6 = data;
    if (mnl_attr_get_type(attr) == AF_INET6)
        *inet6 = attr;
    return MNL_CB_OK;
}

static int collect_inet6_attr(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);
    if (type <= IFLA_INET6_MAX)
        tb[type] = attr;
    return MNL_CB_OK;
}

static bool attr_u32(const struct nlattr *attr, uint32_t *out)
{
    if (!attr)
        return false;
    if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
        return false;
    *out = mnl_attr_get_u32(attr);
    return true;
}

static bool attr_u8(const struct nlattr *attr, uint8_t *out)
{
    if (!attr || mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
        return false;
    *out = mnl_attr_get_u8(attr);
    return true;
}

static void attr_string(const struct nlattr *attr, char *out, size_t size)
{
    out[0] = '\0';
    if (!attr)
        return;
    size_t len = mnl_attr_get_payload_len(attr);
    const char *s = mnl_attr_get_payload(attr);
    size_t n = strnlen(s, len);
    if (n >= size)
        n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* mnl_attr_parse() stops quietly at an attribute that runs past the end
 * of the message; such a message is truncated. */
bool gd_nl_attrs_complete(const struct nlmsghdr *nlh, unsigned offset)
{
    /* libmnl walks attributes up to MNL_ALIGN(nlmsg_len): an attribute may
     * then end up to 3 bytes past the message. Every attribute must lie
     * within nlmsg_len, and together they must fill the message. */
    const char *end = (const char *)nlh + nlh->nlmsg_len;
    const char *p = mnl_nlmsg_get_payload_offset(nlh, offset);
    while (p < end) {
        const struct nlattr *attr = (const struct nlattr *)p;
        if (end - p < (ptrdiff_t)sizeof(*attr) || attr->nla_len < sizeof(*attr) ||
            attr->nla_len > end - p)
            return false;
        p += MNL_ALIGN(attr->nla_len);
    }
    return true;
}

/* DEVCONF_DISABLE_IPV6 of <linux/ipv6.h> (uAPI), which cannot be included
 * next to glibc's <netinet/in.h>. */
#define DEVCONF_DISABLE_IPV6 26

/* IFLA_AF_SPEC: the device has IPv6 state when AF_INET6 is there;
 * IFLA_INET6_CONF is its devconf as an array of s32, by DEVCONF_ index. */
static void parse_inet6(const struct nlattr *af_spec, GdNlLink *out)
{
    const struct nlattr *inet6 = NULL;
    if (mnl_attr_parse_nested(af_spec, collect_af_attr, &inet6) != MNL_CB_OK || !inet6)
        return;
    out->inet6 = true;
    const struct nlattr *tb[IFLA_INET6_MAX + 1] = {0};
    if (mnl_attr_parse_nested(inet6, collect_inet6_attr, tb) != MNL_CB_OK || !tb[IFLA_INET6_CONF])
        return;
    size_t len = mnl_attr_get_payload_len(tb[IFLA_INET6_CONF]);
    if (len >= (DEVCONF_DISABLE_IPV6 + 1) * sizeof(int32_t)) {
        int32_t disabled;
        memcpy(&disabled,
               (const char *)mnl_attr_get_payload(tb[IFLA_INET6_CONF]) +
                   DEVCONF_DISABLE_IPV6 * sizeof(int32_t),
               sizeof(disabled));
        out->ipv6_disabled = disabled != 0;
    }
}

int gd_nl_parse_link(const struct nlmsghdr *nlh, GdNlLink *out)
{
    if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
        return -EINVAL;
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
        return -EPROTO;
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    if (ifi->ifi_family != AF_UNSPEC)
        return -EAFNOSUPPORT;
    if (ifi->ifi_index <= 0)
        return -EPROTO;

    const struct nlattr *tb[IFLA_MAX + 1] = {0};
    if (mnl_attr_parse(nlh, sizeof(*ifi), collect_attr, tb) != MNL_CB_OK ||
        !gd_nl_attrs_complete(nlh, sizeof(*ifi)))
        return -EPROTO;

    memset(out, 0, sizeof(*out));
    out->ifindex = ifi->ifi_index;
    out->flags = ifi->ifi_flags;
    out->arptype = ifi->ifi_type;
    out->carrier = -1;
    if (!tb[IFLA_IFNAME] || mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_STRING) < 0)
        return -EPROTO;
    attr_string(tb[IFLA_IFNAME], out->name, sizeof(out->name));
    if (out->name[0] == '\0')
        return -EPROTO;
    attr_u32(tb[IFLA_GROUP], &out->group);
    attr_u32(tb[IFLA_MTU], &out->mtu);
    attr_u32(tb[IFLA_MIN_MTU], &out->min_mtu);
    attr_u32(tb[IFLA_MAX_MTU], &out->max_mtu);
    attr_u32(tb[IFLA_TXQLEN], &out->txqlen);
    attr_u8(tb[IFLA_OPERSTATE], &out->operstate);
    uint8_t carrier;
    if (attr_u8(tb[IFLA_CARRIER], &carrier))
        out->carrier = carrier ? 1 : 0;
    if (tb[IFLA_ADDRESS]) {
        size_t len = mnl_attr_get_payload_len(tb[IFLA_ADDRESS]);
        if (len > GD_NL_MAX_HWADDR)
            return -EPROTO;
        memcpy(out->hwaddr, mnl_attr_get_payload(tb[IFLA_ADDRESS]), len);
        out->hwaddr_len = (uint8_t)len;
    }
    if (tb[IFLA_LINKINFO]) {
        const struct nlattr *info[IFLA_INFO_MAX + 1] = {0};
        if (mnl_attr_parse_nested(tb[IFLA_LINKINFO], collect_linkinfo_attr, info) == MNL_CB_OK)
            attr_string(info[IFLA_INFO_KIND], out->kind, sizeof(out->kind));
    }
    if (tb[IFLA_AF_SPEC])
        parse_inet6(tb[IFLA_AF_SPEC], out);
    return 0;
}

bool gd_nl_addr_is_unspecified(const GdNlAddr *addr)
{
    static const uint8_t zeros[16];
    return memcmp(addr->addr, zeros, addr->family == AF_INET ? 4 : 16) == 0;
}

int gd_nl_parse_addr(const struct nlmsghdr *nlh, GdNlAddr *out)
{
    if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
        return -EINVAL;
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifaddrmsg)))
        return -EPROTO;
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
        return -EAFNOSUPPORT;

    const struct nlattr *tb[IFA_MAX + 1] = {0};
    if (mnl_attr_parse(nlh, sizeof(*ifa), collect_addr_attr, tb) != MNL_CB_OK ||
        !gd_nl_attrs_complete(nlh, sizeof(*ifa)))
        return -EPROTO;

    memset(out, 0, sizeof(*out));
    out->ifindex = (int)ifa->ifa_index;
    out->family = ifa->ifa_family;
    out->prefixlen = ifa->ifa_prefixlen;
    out->scope = ifa->ifa_scope;
    out->flags = ifa->ifa_flags;
    attr_u32(tb[IFA_FLAGS], &out->flags);

    size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;
    if (out->prefixlen > alen * 8 || out->ifindex <= 0)
        return -EPROTO;
    /* IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on
     * point-to-point links and equal to IFA_LOCAL elsewhere. */
    const struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    if (!a || mnl_attr_get_payload_len(a) != alen)
        return -EPROTO;
    memcpy(out->addr, mnl_attr_get_payload(a), alen);
    return 0;
}

static int collect_err_attr(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);
    if (type <= NLMSGERR_ATTR_MAX)
        tb[type] = attr;
    return MNL_CB_OK;
}

static const char *extack_from_tlvs(const struct nlmsghdr *nlh, size_t offset)
{
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
        return NULL;
    const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = {0};
    if (mnl_nlmsg_size(offset) > nlh->nlmsg_len)
        return NULL;
    if (mnl_attr_parse(nlh, (unsigned)offset, collect_err_attr, tb) != MNL_CB_OK)
        return NULL;
    if (!tb[NLMSGERR_ATTR_MSG] || mnl_attr_validate(tb[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) < 0)
        return NULL;
    return mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
}

int gd_nl_parse_status(const struct nlmsghdr *nlh, int *error, const char **extack)
{
    *extack = NULL;
    if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
            return -EPROTO;
        const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
        *error = err->error;
        if (*error > 0)
            *error = -*error;
        /* With NETLINK_CAP_ACK the kernel echoes only the request header. */
        size_t offset = sizeof(struct nlmsgerr);
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
            offset += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
        *extack = extack_from_tlvs(nlh, offset);
        return 0;
    }
    if (nlh->nlmsg_type == NLMSG_DONE) {
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(int))) {
            *error = 0;
            return 0;
        }
        const int *value = mnl_nlmsg_get_payload(nlh);
        *error = *value > 0 ? -*value : *value;
        *extack = extack_from_tlvs(nlh, sizeof(int));
        return 0;
    }
    return -EINVAL;
}

/* ---- text forms ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int gd_nl_hwaddr_parse(const char *text, uint8_t *out, size_t out_size)
{
    size_t n = 0;
    const char *p = text;
    if (!text || !*text)
        return -EINVAL;
    for (;;) {
        int hi = hexval(p[0]);
        int lo = hi >= 0 ? hexval(p[1]) : -1;
        if (hi < 0 || lo < 0 || n >= out_size)
            return -EINVAL;
        out[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (*p == '\0')
            return (int)n;
        if (*p != ':')
            return -EINVAL;
        p++;
    }
}

char *gd_nl_hwaddr_format(const uint8_t *addr, size_t len)
{
    GString *s = g_string_sized_new(len * 3);
    for (size_t i = 0; i < len; i++)
        g_string_append_printf(s, i ? ":%02x" : "%02x", addr[i]);
    return g_string_free(s, FALSE);
}

int gd_nl_cidr_parse(const char *text, GdNlAddr *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    memset(out, 0, sizeof(*out));
    if (!text)
        return -EINVAL;
    const char *slash = strchr(text, '/');
    size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
    if (hlen == 0 || hlen >= sizeof(host))
        return -EINVAL;
    memcpy(host, text, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET, host, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, host, out->addr) == 1)
        out->family = AF_INET6;
    else
        return -EINVAL;
    unsigned max = out->family == AF_INET ? 32 : 128;
    unsigned prefix = max;
    if (slash) {
        const char *p = slash + 1;
        if (*p < '0' || *p > '9' || strlen(p) > 3)
            return -EINVAL;
        prefix = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return -EINVAL;
            prefix = prefix * 10 + (unsigned)(*p - '0');
        }
        if (prefix > max)
            return -EINVAL;
    }
    out->prefixlen = (uint8_t)prefix;
    return 0;
}

char *gd_nl_addr_format(const GdNlAddr *addr)
{
    char host[INET6_ADDRSTRLEN];
    if (!inet_ntop(addr->family, addr->addr, host, sizeof(host)))
        return g_strdup("?");
    return g_strdup_printf("%s/%u", host, addr->prefixlen);
}

/* ---- the order of per-link requests ---- */

/* The kernel finds a device by its index in a table of 256 lists (the
 * index's low eight bits, dev_index_hash() in net/core/dev.c), each list
 * newest device first. */
#define KERNEL_INDEX_LISTS 256

typedef struct {
    const int *ifindexes;
} LookupOrder;

static gint compare_lookup(gconstpointer a, gconstpointer b, gpointer user_data)
{
    const LookupOrder *o = user_data;
    int x = o->ifindexes[*(const guint *)a], y = o->ifindexes[*(const guint *)b];
    int list_x = (int)((unsigned)x % KERNEL_INDEX_LISTS);
    int list_y = (int)((unsigned)y % KERNEL_INDEX_LISTS);
    if (list_x != list_y)
        return list_x < list_y ? -1 : 1;
    if (x == y)
        return 0;
    return x > y ? -1 : 1; /* the newest (highest index) first */
}

void gd_nl_lookup_order(const int *ifindexes, guint n, guint *order)
{
    for (guint i = 0; i < n; i++)
        order[i] = i;
    LookupOrder o = {.ifindexes = ifindexes};
    g_qsort_with_data(order, (gint)n, sizeof(*order), compare_lookup, &o);
}

/* ---- batches ---- */

struct GdNlBatch {
    struct mnl_nlmsg_batch *mnl;
    void *buffer;
    guint count;
    guint capacity;
    uint32_t first_seq;
};

GdNlBatch *gd_nl_batch_new(guint capacity, uint32_t first_seq)
{
    GdNlBatch *batch = g_new0(GdNlBatch, 1);
    /* mnl batches overflow into one extra message before next() says no. */
    size_t limit = ((size_t)capacity + 1) * GD_NL_MSG_MAX;
    batch->buffer = g_malloc(limit + GD_NL_MSG_MAX);
    batch->mnl = mnl_nlmsg_batch_start(batch->buffer, limit);
    batch->capacity = capacity;
    batch->first_seq = first_seq;
    return batch;
}

void gd_nl_batch_free(GdNlBatch *batch)
{
    if (!batch)
        return;
    mnl_nlmsg_batch_stop(batch->mnl);
    g_free(batch->buffer);
    g_free(batch);
}

void *gd_nl_batch_slot(GdNlBatch *batch, uint32_t *seq)
{
    g_assert(batch->count < batch->capacity);
    *seq = batch->first_seq + batch->count;
    return mnl_nlmsg_batch_current(batch->mnl);
}

void gd_nl_batch_commit(GdNlBatch *batch)
{
    gboolean room = mnl_nlmsg_batch_next(batch->mnl);
    g_assert(room);
    batch->count++;
}

guint gd_nl_batch_count(const GdNlBatch *batch)
{
    return batch->count;
}

uint32_t gd_nl_batch_first_seq(const GdNlBatch *batch)
{
    return batch->first_seq;
}

const void *gd_nl_batch_data(const GdNlBatch *batch, size_t *len)
{
    *len = mnl_nlmsg_batch_size(batch->mnl);
    return mnl_nlmsg_batch_head(batch->mnl);
}

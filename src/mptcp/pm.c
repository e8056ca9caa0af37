/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp_pm generic netlink messages: builders, parsers, family lookup. */
/* glibc's netinet/in.h first: linux/in.h (via linux/mptcp.h) then defers to it. */
#include <netinet/in.h>

#include "mptcp/pm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/mptcp.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config.h"

/* The flags groupd writes are the kernel's bits; laminar (6.18) is newer
 * than the headers groupd may build with. */
G_STATIC_ASSERT(GD_MPTCP_FLAG_SIGNAL == MPTCP_PM_ADDR_FLAG_SIGNAL);
G_STATIC_ASSERT(GD_MPTCP_FLAG_SUBFLOW == MPTCP_PM_ADDR_FLAG_SUBFLOW);
G_STATIC_ASSERT(GD_MPTCP_FLAG_BACKUP == MPTCP_PM_ADDR_FLAG_BACKUP);
G_STATIC_ASSERT(GD_MPTCP_FLAG_FULLMESH == MPTCP_PM_ADDR_FLAG_FULLMESH);
#ifdef MPTCP_PM_ADDR_FLAG_LAMINAR
G_STATIC_ASSERT(GD_MPTCP_FLAG_LAMINAR == MPTCP_PM_ADDR_FLAG_LAMINAR);
#endif

static struct nlmsghdr *put_genl(void *buf, uint32_t seq, uint16_t type, uint16_t flags,
                                 uint8_t cmd, uint8_t version)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    nlh->nlmsg_seq = seq;
    struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
    g->cmd = cmd;
    g->version = version;
    return nlh;
}

struct nlmsghdr *gd_mp_pm_put_get_family(void *buf, uint32_t seq)
{
    struct nlmsghdr *nlh = put_genl(buf, seq, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, 1);
    mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, GD_MP_PM_FAMILY_NAME);
    return nlh;
}

static void put_addr_nest(struct nlmsghdr *nlh, uint16_t type, const GdMptcpEndpoint *ep,
                          gboolean with_flags)
{
    struct nlattr *nest = mnl_attr_nest_start(nlh, type);
    if (ep->family) {
        mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_FAMILY, ep->family);
        if (ep->family == AF_INET)
            mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR4, 4, ep->addr);
        else
            mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR6, 16, ep->addr);
    }
    if (ep->id)
        mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, ep->id);
    if (ep->port)
        mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_PORT, ep->port);
    if (with_flags)
        mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_FLAGS, ep->flags);
    if (ep->ifindex)
        mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_IF_IDX, (uint32_t)ep->ifindex);
    mnl_attr_nest_end(nlh, nest);
}

struct nlmsghdr *gd_mp_pm_put_endpoint(void *buf, uint32_t seq, uint16_t family_id, uint8_t cmd,
                                       const GdMptcpEndpoint *ep)
{
    struct nlmsghdr *nlh = put_genl(buf, seq, family_id, 0, cmd, MPTCP_PM_VER);
    if (cmd == MPTCP_PM_CMD_SET_FLAGS) {
        /* Looked up by id alone: the flags are the change. */
        GdMptcpEndpoint by_id = {.id = ep->id, .flags = ep->flags};
        put_addr_nest(nlh, MPTCP_PM_ATTR_ADDR, &by_id, TRUE);
    } else {
        put_addr_nest(nlh, MPTCP_PM_ATTR_ADDR, ep, cmd == MPTCP_PM_CMD_ADD_ADDR);
    }
    return nlh;
}

struct nlmsghdr *gd_mp_pm_put_get_addr_dump(void *buf, uint32_t seq, uint16_t family_id)
{
    struct nlmsghdr *nlh =
        put_genl(buf, seq, family_id, NLM_F_DUMP, MPTCP_PM_CMD_GET_ADDR, MPTCP_PM_VER);
    nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
    return nlh;
}

struct nlmsghdr *gd_mp_pm_put_flush(void *buf, uint32_t seq, uint16_t family_id)
{
    return put_genl(buf, seq, family_id, 0, MPTCP_PM_CMD_FLUSH_ADDRS, MPTCP_PM_VER);
}

struct nlmsghdr *gd_mp_pm_put_set_limits(void *buf, uint32_t seq, uint16_t family_id, int subflows,
                                         int add_addr_accepted)
{
    struct nlmsghdr *nlh = put_genl(buf, seq, family_id, 0, MPTCP_PM_CMD_SET_LIMITS, MPTCP_PM_VER);
    if (add_addr_accepted >= 0)
        mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_RCV_ADD_ADDRS, (uint32_t)add_addr_accepted);
    if (subflows >= 0)
        mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_SUBFLOWS, (uint32_t)subflows);
    return nlh;
}

struct nlmsghdr *gd_mp_pm_put_get_limits(void *buf, uint32_t seq, uint16_t family_id)
{
    return put_genl(buf, seq, family_id, 0, MPTCP_PM_CMD_GET_LIMITS, MPTCP_PM_VER);
}

/* ---- parsing ---- */

#define MAX_ATTR 32

typedef struct {
    const struct nlattr *tb[MAX_ATTR + 1];
} Table;

static int collect(const struct nlattr *attr, void *data)
{
    Table *t = data;
    uint16_t type = mnl_attr_get_type(attr);
    if (type <= MAX_ATTR)
        t->tb[type] = attr;
    return MNL_CB_OK;
}

/* The genl header, then complete attributes. */
static int parse_top(const struct nlmsghdr *nlh, uint16_t family_id, Table *t, uint8_t *cmd)
{
    if (nlh->nlmsg_type != family_id)
        return -EINVAL;
    if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct genlmsghdr))
        return -EPROTO;
    const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
    memset(t, 0, sizeof(*t));
    if (mnl_attr_parse(nlh, sizeof(*g), collect, t) != MNL_CB_OK ||
        !gd_nl_attrs_complete(nlh, sizeof(*g)))
        return -EPROTO;
    if (cmd)
        *cmd = g->cmd;
    return 0;
}

/* Each present attribute has exactly the payload length of its type. */
static gboolean len_ok(const struct nlattr *a, size_t len)
{
    return !a || mnl_attr_get_payload_len(a) == len;
}

static void copy_addr(const struct nlattr *v4, const struct nlattr *v6, uint8_t family,
                      uint8_t *out)
{
    if (family == AF_INET && v4)
        memcpy(out, mnl_attr_get_payload(v4), 4);
    else if (family == AF_INET6 && v6)
        memcpy(out, mnl_attr_get_payload(v6), 16);
}

int gd_mp_pm_parse_family(const struct nlmsghdr *nlh, GdMptcpFamily *out)
{
    Table t;
    int r = parse_top(nlh, GENL_ID_CTRL, &t, NULL);
    if (r < 0)
        return r;
    const struct nlattr *id = t.tb[CTRL_ATTR_FAMILY_ID];
    if (!id || !len_ok(id, 2))
        return -EPROTO;
    out->family_id = mnl_attr_get_u16(id);
    out->events_group = 0;
    const struct nlattr *groups = t.tb[CTRL_ATTR_MCAST_GROUPS];
    if (!groups)
        return 0;
    const struct nlattr *grp;
    mnl_attr_for_each_nested(grp, groups)
    {
        const struct nlattr *name = NULL, *gid = NULL, *a;
        mnl_attr_for_each_nested(a, grp)
        {
            if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME)
                name = a;
            else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID)
                gid = a;
        }
        if (name && gid && len_ok(gid, 4) && mnl_attr_validate(name, MNL_TYPE_NUL_STRING) == 0 &&
            g_str_equal(mnl_attr_get_str(name), GD_MP_PM_EVENTS_GROUP))
            out->events_group = mnl_attr_get_u32(gid);
    }
    return 0;
}

int gd_mp_pm_parse_endpoint(const struct nlmsghdr *nlh, uint16_t family_id, GdMptcpEndpoint *out)
{
    Table t;
    int r = parse_top(nlh, family_id, &t, NULL);
    if (r < 0)
        return r;
    const struct nlattr *nest = t.tb[MPTCP_PM_ATTR_ADDR];
    if (!nest)
        return -EPROTO;
    Table a = {0};
    if (mnl_attr_parse_nested(nest, collect, &a) != MNL_CB_OK)
        return -EPROTO;
    /* The nested attributes must fill the nest exactly. */
    size_t used = 0;
    const struct nlattr *x;
    mnl_attr_for_each_nested(x, nest)
    {
        if (x->nla_len < sizeof(*x))
            return -EPROTO;
        used += MNL_ALIGN(x->nla_len);
    }
    size_t room = mnl_attr_get_payload_len(nest);
    if (used != MNL_ALIGN(room) && used != room)
        return -EPROTO;
    const struct nlattr *fam = a.tb[MPTCP_PM_ADDR_ATTR_FAMILY], *id = a.tb[MPTCP_PM_ADDR_ATTR_ID],
                        *v4 = a.tb[MPTCP_PM_ADDR_ATTR_ADDR4], *v6 = a.tb[MPTCP_PM_ADDR_ATTR_ADDR6],
                        *port = a.tb[MPTCP_PM_ADDR_ATTR_PORT],
                        *flags = a.tb[MPTCP_PM_ADDR_ATTR_FLAGS],
                        *ifi = a.tb[MPTCP_PM_ADDR_ATTR_IF_IDX];
    if (!fam || !id || !len_ok(fam, 2) || !len_ok(id, 1) || !len_ok(v4, 4) || !len_ok(v6, 16) ||
        !len_ok(port, 2) || !len_ok(flags, 4) || !len_ok(ifi, 4))
        return -EPROTO;
    memset(out, 0, sizeof(*out));
    uint16_t family = mnl_attr_get_u16(fam);
    if ((family != AF_INET || !v4) && (family != AF_INET6 || !v6))
        return -EPROTO;
    out->family = (uint8_t)family;
    out->id = mnl_attr_get_u8(id);
    copy_addr(v4, v6, out->family, out->addr);
    if (port)
        out->port = mnl_attr_get_u16(port);
    if (flags)
        out->flags = mnl_attr_get_u32(flags);
    if (ifi)
        out->ifindex = (int)mnl_attr_get_u32(ifi);
    return 0;
}

int gd_mp_pm_parse_limits(const struct nlmsghdr *nlh, uint16_t family_id, GdMptcpLimits *out)
{
    Table t;
    int r = parse_top(nlh, family_id, &t, NULL);
    if (r < 0)
        return r;
    const struct nlattr *rcv = t.tb[MPTCP_PM_ATTR_RCV_ADD_ADDRS],
                        *sub = t.tb[MPTCP_PM_ATTR_SUBFLOWS];
    if (!rcv || !sub || !len_ok(rcv, 4) || !len_ok(sub, 4))
        return -EPROTO;
    out->add_addr_accepted = mnl_attr_get_u32(rcv);
    out->subflows = mnl_attr_get_u32(sub);
    return 0;
}

int gd_mp_pm_parse_event(const struct nlmsghdr *nlh, uint16_t family_id, GdMptcpEvent *out)
{
    Table t;
    uint8_t cmd;
    int r = parse_top(nlh, family_id, &t, &cmd);
    if (r < 0)
        return r;
    static const struct {
        uint16_t type;
        uint8_t len;
    } sizes[] = {
        {MPTCP_ATTR_TOKEN, 4},  {MPTCP_ATTR_FAMILY, 2},      {MPTCP_ATTR_LOC_ID, 1},
        {MPTCP_ATTR_REM_ID, 1}, {MPTCP_ATTR_SADDR4, 4},      {MPTCP_ATTR_SADDR6, 16},
        {MPTCP_ATTR_DADDR4, 4}, {MPTCP_ATTR_DADDR6, 16},     {MPTCP_ATTR_SPORT, 2},
        {MPTCP_ATTR_DPORT, 2},  {MPTCP_ATTR_BACKUP, 1},      {MPTCP_ATTR_ERROR, 1},
        {MPTCP_ATTR_IF_IDX, 4}, {MPTCP_ATTR_SERVER_SIDE, 1},
    };
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++)
        if (!len_ok(t.tb[sizes[i].type], sizes[i].len))
            return -EPROTO;
    if (!t.tb[MPTCP_ATTR_TOKEN])
        return -EPROTO;
    memset(out, 0, sizeof(*out));
    out->type = cmd;
    out->token = mnl_attr_get_u32(t.tb[MPTCP_ATTR_TOKEN]);
    out->backup = -1;
    if (t.tb[MPTCP_ATTR_FAMILY]) {
        uint16_t family = mnl_attr_get_u16(t.tb[MPTCP_ATTR_FAMILY]);
        if (family != AF_INET && family != AF_INET6)
            return -EPROTO;
        out->family = (uint8_t)family;
        copy_addr(t.tb[MPTCP_ATTR_SADDR4], t.tb[MPTCP_ATTR_SADDR6], out->family, out->saddr);
        copy_addr(t.tb[MPTCP_ATTR_DADDR4], t.tb[MPTCP_ATTR_DADDR6], out->family, out->daddr);
    }
    /* Ports come in network order. */
    if (t.tb[MPTCP_ATTR_SPORT])
        out->sport = ntohs(mnl_attr_get_u16(t.tb[MPTCP_ATTR_SPORT]));
    if (t.tb[MPTCP_ATTR_DPORT])
        out->dport = ntohs(mnl_attr_get_u16(t.tb[MPTCP_ATTR_DPORT]));
    if (t.tb[MPTCP_ATTR_LOC_ID])
        out->loc_id = mnl_attr_get_u8(t.tb[MPTCP_ATTR_LOC_ID]);
    if (t.tb[MPTCP_ATTR_REM_ID])
        out->rem_id = mnl_attr_get_u8(t.tb[MPTCP_ATTR_REM_ID]);
    if (t.tb[MPTCP_ATTR_BACKUP])
        out->backup = (int8_t)(mnl_attr_get_u8(t.tb[MPTCP_ATTR_BACKUP]) ? 1 : 0);
    if (t.tb[MPTCP_ATTR_ERROR])
        out->error = mnl_attr_get_u8(t.tb[MPTCP_ATTR_ERROR]);
    if (t.tb[MPTCP_ATTR_IF_IDX])
        out->ifindex = (int)mnl_attr_get_u32(t.tb[MPTCP_ATTR_IF_IDX]);
    if (t.tb[MPTCP_ATTR_SERVER_SIDE])
        out->server_side = mnl_attr_get_u8(t.tb[MPTCP_ATTR_SERVER_SIDE]);
    return 0;
}

static void family_reply(const struct nlmsghdr *nlh, gpointer user_data)
{
    GdMptcpFamily *out = user_data;
    if (gd_mp_pm_parse_family(nlh, out) < 0)
        out->family_id = 0;
}

int gd_mp_pm_resolve_family(GdNlSocket *sock, GdMptcpFamily *out)
{
    g_autofree char *buf = g_malloc0(MNL_SOCKET_BUFFER_SIZE);
    uint32_t seq = gd_nl_socket_reserve_seq(sock, 1);
    struct nlmsghdr *nlh = gd_mp_pm_put_get_family(buf, seq);
    GdNlAck ack = {0};
    memset(out, 0, sizeof(*out));
    int r = gd_nl_transact(sock, nlh, nlh->nlmsg_len, seq, 1, &ack, family_reply, out, 5000);
    int error = r < 0 ? r : ack.error;
    gd_nl_ack_clear(&ack);
    if (error < 0)
        return error;
    return out->family_id ? 0 : -ENOENT;
}

char *gd_mp_pm_addr_format(uint8_t family, const uint8_t *addr)
{
    char text[INET6_ADDRSTRLEN] = "";
    if (family != AF_INET && family != AF_INET6)
        return g_strdup("");
    inet_ntop(family, addr, text, sizeof(text));
    return g_strdup(text);
}

char *gd_mp_pm_addr_port_format(uint8_t family, const uint8_t *addr, uint16_t port)
{
    g_autofree char *a = gd_mp_pm_addr_format(family, addr);
    return family == AF_INET6 ? g_strdup_printf("[%s]:%u", a, port)
                              : g_strdup_printf("%s:%u", a, port);
}

const char *gd_mp_pm_event_name(uint8_t type)
{
    switch (type) {
    case MPTCP_EVENT_CREATED:
        return "created";
    case MPTCP_EVENT_ESTABLISHED:
        return "established";
    case MPTCP_EVENT_CLOSED:
        return "closed";
    case MPTCP_EVENT_ANNOUNCED:
        return "announced";
    case MPTCP_EVENT_REMOVED:
        return "removed";
    case MPTCP_EVENT_SUB_ESTABLISHED:
        return "sub-established";
    case MPTCP_EVENT_SUB_CLOSED:
        return "sub-closed";
    case MPTCP_EVENT_SUB_PRIORITY:
        return "sub-priority";
    default:
        return "other";
    }
}

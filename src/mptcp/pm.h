/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/pm: the kernel's MPTCP path manager over generic netlink (family
 * "mptcp_pm"): message builders and parsers into plain structs (pure, so
 * they can be fuzzed), and the family and event-group resolution.
 * May call: netlink, libmnl, GLib.
 */
#pragma once

#include "netlink/nl.h"

#include <stdint.h>

#define GD_MP_PM_FAMILY_NAME  "mptcp_pm"
#define GD_MP_PM_EVENTS_GROUP "mptcp_pm_events"

typedef struct {
    uint16_t family_id;    /* the nlmsg_type of mptcp_pm messages */
    uint32_t events_group; /* multicast group id of mptcp_pm_events; 0 if absent */
} GdMptcpFamily;

/* One endpoint ("ip mptcp endpoint"). */
typedef struct {
    uint8_t id;     /* 0: let the kernel choose (ADD_ADDR) */
    uint8_t family; /* AF_INET or AF_INET6; 0 for "by id only" */
    uint8_t addr[16];
    uint16_t port;  /* host order, 0 when none */
    uint32_t flags; /* MPTCP_PM_ADDR_FLAG_* */
    int ifindex;    /* 0 when not bound to a device */
} GdMptcpEndpoint;

typedef struct {
    uint32_t subflows;
    uint32_t add_addr_accepted;
} GdMptcpLimits;

/* One event of mptcp_pm_events; fields the event does not carry are 0
 * (backup: -1). */
typedef struct {
    uint8_t type; /* MPTCP_EVENT_* */
    uint32_t token;
    uint8_t family;
    uint8_t saddr[16], daddr[16];
    uint16_t sport, dport; /* host order */
    uint8_t loc_id, rem_id;
    int8_t backup;
    int ifindex;
    uint8_t server_side;
    uint8_t error;
} GdMptcpEvent;

/* ---- builders: write one request at buf (GD_NL_MSG_MAX bytes), with
 * NLM_F_ACK ---- */
struct nlmsghdr *gd_mp_pm_put_get_family(void *buf, uint32_t seq);
/* cmd: MPTCP_PM_CMD_ADD_ADDR, _DEL_ADDR or _SET_FLAGS. */
struct nlmsghdr *gd_mp_pm_put_endpoint(void *buf, uint32_t seq, uint16_t family_id, uint8_t cmd,
                                       const GdMptcpEndpoint *ep);
struct nlmsghdr *gd_mp_pm_put_get_addr_dump(void *buf, uint32_t seq, uint16_t family_id);
struct nlmsghdr *gd_mp_pm_put_flush(void *buf, uint32_t seq, uint16_t family_id);
/* subflows/add_addr_accepted: -1 leaves that limit as it is. */
struct nlmsghdr *gd_mp_pm_put_set_limits(void *buf, uint32_t seq, uint16_t family_id, int subflows,
                                         int add_addr_accepted);
struct nlmsghdr *gd_mp_pm_put_get_limits(void *buf, uint32_t seq, uint16_t family_id);

/* ---- parsers: 0, or -EPROTO for a malformed message, -EINVAL for one of
 * another kind ---- */
int gd_mp_pm_parse_family(const struct nlmsghdr *nlh, GdMptcpFamily *out);
int gd_mp_pm_parse_endpoint(const struct nlmsghdr *nlh, uint16_t family_id, GdMptcpEndpoint *out);
int gd_mp_pm_parse_limits(const struct nlmsghdr *nlh, uint16_t family_id, GdMptcpLimits *out);
int gd_mp_pm_parse_event(const struct nlmsghdr *nlh, uint16_t family_id, GdMptcpEvent *out);

/* Resolves the family and its event group on sock (a NETLINK_GENERIC
 * socket). -ENOENT when the kernel has no MPTCP. */
int gd_mp_pm_resolve_family(GdNlSocket *sock, GdMptcpFamily *out);

/* "10.0.0.1" / "fd00::1"; address:port as "10.0.0.1:80", "[fd00::1]:80". */
char *gd_mp_pm_addr_format(uint8_t family, const uint8_t *addr);
char *gd_mp_pm_addr_port_format(uint8_t family, const uint8_t *addr, uint16_t port);
const char *gd_mp_pm_event_name(uint8_t type);

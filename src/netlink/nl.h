/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * netlink: libmnl sockets on the GLib main loop, rtnetlink message builders
 * and parsers. Knows nothing of policy, groups-as-objects or D-Bus.
 * Every function that can fail returns 0 or a negative errno.
 */
#pragma once

#include <glib.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GD_NL_MAX_HWADDR 32
#define GD_NL_KIND_LEN   32

/* The least MTU IPv4 works with: below it the kernel removes a device's
 * IPv4 state and addresses, and refuses new ones (ENOBUFS); at or above it
 * every device has IPv4 state (it comes back when the MTU does). */
#define GD_NL_IPV4_MIN_MTU 68

/* Default receive buffer of the event socket: groupd's own group changes
 * cause one RTM_NEWLINK per member, in a burst. */
#define GD_NL_DEFAULT_RCVBUF (32 * 1024 * 1024)

/* ---- parsed messages (plain structs, no allocation) ---- */

typedef struct {
    int ifindex;
    char name[IFNAMSIZ];
    uint32_t group;
    uint32_t mtu;
    uint32_t min_mtu; /* 0 when the kernel did not say */
    uint32_t max_mtu; /* 0 when the device has no maximum */
    uint32_t txqlen;
    uint32_t flags;    /* ifi_flags */
    uint16_t arptype;  /* ifi_type (ARPHRD_*) */
    uint8_t operstate; /* IF_OPER_* */
    int8_t carrier;    /* 1, 0, or -1 when absent */
    uint8_t hwaddr[GD_NL_MAX_HWADDR];
    uint8_t hwaddr_len; /* 0: the device has no hardware address */
    char kind[GD_NL_KIND_LEN];
    /* IPv6 on the device (IFLA_AF_SPEC's AF_INET6): inet6 when the kernel
     * keeps IPv6 state for it (absent below an MTU of 1280, or without
     * IPv6), ipv6_disabled its disable_ipv6. What a change of the device
     * costs under RTNL depends on them: the stock kernel walks the whole
     * IPv6 FIB for every MTU change of a device with IPv6 state, and for
     * every state change of one with IPv6 enabled. */
    bool inet6;
    bool ipv6_disabled;
} GdNlLink;

typedef struct {
    int ifindex;
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t prefixlen;
    uint8_t scope;
    uint32_t flags; /* IFA_F_* */
    uint8_t addr[16];
} GdNlAddr;

/* A change of link attributes; what is not "set" is not sent. */
typedef struct {
    bool set_mtu;
    uint32_t mtu;
    bool set_state;
    bool up;
    bool set_hwaddr;
    uint8_t hwaddr[GD_NL_MAX_HWADDR];
    uint8_t hwaddr_len;
    bool set_txqlen;
    uint32_t txqlen;
} GdNlLinkChange;

/* ---- kernel features beyond upstream ----
 *
 * The series under kernel/ changes how the kernel answers group-scoped
 * requests. groupd finds out by behaviour (gd_nl_probe_features()); no
 * private message or attribute number is sent unless a feature that needs
 * one was found. */

typedef enum {
    GD_KF_GROUP_NOTIFY = 1 << 0, /* group changes of DOWN links are announced */
    GD_KF_GROUP_DUMP = 1 << 1,   /* RTM_GETLINK dumps filtered by IFLA_GROUP */
    GD_KF_VALIDATE = 1 << 2,     /* group changes validated first, member named */
    GD_KF_ALL = (1 << 3) - 1,
} GdKernelFeature;

/* The features' names, in bit order ("group-notify", "group-dump",
 * "validate"). */
const char *gd_nl_feature_name(GdKernelFeature feature);
/* NULL-terminated names of the bits set in features (g_strfreev). */
char **gd_nl_feature_names(unsigned features);
/* Parses a comma- or space-separated list of names; -EINVAL names the
 * first unknown one in *bad (owned). */
int gd_nl_feature_parse(const char *text, unsigned *out, char **bad);
/* Probes the running kernel from the caller's network namespace, leaving
 * it as it was:
 *  - group-dump: a strict link dump filtered by lo's group succeeds (stock
 *    kernels refuse the attribute);
 *  - group-notify: setting a DOWN link's group to the group it has is
 *    announced (stock kernels announce group changes of UP links only);
 *    with no DOWN link in the namespace it is not found;
 *  - validate: a group MTU change no member accepts is refused with the
 *    first member's name in the extack ("lo: ...").
 * Needs CAP_NET_ADMIN. Returns 0 (features in *out) or a negative errno
 * when netlink itself failed. */
int gd_nl_probe_features(unsigned *out);

/* ---- builders: write one message at buf (which must hold
 * GD_NL_MSG_MAX bytes) and return it. Requests carry NLM_F_ACK. ---- */

#define GD_NL_MSG_MAX 256

struct nlmsghdr *gd_nl_put_group_change(void *buf, uint32_t seq, uint32_t group,
                                        const GdNlLinkChange *change);
struct nlmsghdr *gd_nl_put_link_change(void *buf, uint32_t seq, int ifindex,
                                       const GdNlLinkChange *change);
struct nlmsghdr *gd_nl_put_link_set_group(void *buf, uint32_t seq, int ifindex, uint32_t group);
struct nlmsghdr *gd_nl_put_addr(void *buf, uint32_t seq, uint16_t type, const GdNlAddr *addr);
struct nlmsghdr *gd_nl_put_getlink(void *buf, uint32_t seq, int ifindex);
struct nlmsghdr *gd_nl_put_getlink_dump(void *buf, uint32_t seq);
/* A link dump of one group's members (group-dump kernels only). */
struct nlmsghdr *gd_nl_put_getlink_dump_group(void *buf, uint32_t seq, uint32_t group);
struct nlmsghdr *gd_nl_put_getaddr_dump(void *buf, uint32_t seq, uint8_t family);

/* ---- parsers ---- */

/* RTM_NEWLINK / RTM_DELLINK of family AF_UNSPEC. -EPROTO for a malformed
 * message, -EAFNOSUPPORT for other families (bridge port events). */
int gd_nl_parse_link(const struct nlmsghdr *nlh, GdNlLink *out);
/* RTM_NEWADDR / RTM_DELADDR for AF_INET and AF_INET6. */
int gd_nl_parse_addr(const struct nlmsghdr *nlh, GdNlAddr *out);
/* NLMSG_ERROR or NLMSG_DONE: the (negative) error and the kernel's extack
 * text (points into the message, or NULL). Returns -EPROTO if malformed. */
/* TRUE when the attributes after offset bytes of payload lie within
 * nlmsg_len and fill it (mnl_attr_parse() quietly stops at a truncated one). */
bool gd_nl_attrs_complete(const struct nlmsghdr *nlh, unsigned offset);
int gd_nl_parse_status(const struct nlmsghdr *nlh, int *error, const char **extack);

/* "aa:bb:…" ↔ bytes. parse returns the length or a negative errno. */
int gd_nl_hwaddr_parse(const char *text, uint8_t *out, size_t out_size);
char *gd_nl_hwaddr_format(const uint8_t *addr, size_t len);
/* "10.0.0.1/24", "fd00::1/64" → family, address, prefix. */
int gd_nl_cidr_parse(const char *text, GdNlAddr *out);
char *gd_nl_addr_format(const GdNlAddr *addr);
/* 0.0.0.0 or ::, which is no interface's address: the kernel acknowledges
 * an IPv4 one and adds nothing, and refuses an IPv6 one. */
bool gd_nl_addr_is_unspecified(const GdNlAddr *addr);

/* ---- the order of per-link requests ----
 *
 * The order in which requests to the devices ifindexes[0..n) (by index)
 * in one sendmsg() cost the kernel least to find their devices: it looks a
 * device up by index in a table of 256 lists, each newest device first, so
 * the requests go list by list, newest device first, each walking a list
 * the previous one left in the CPU's cache (in ascending order every
 * request walks another list; on 32768 links that was a third of the
 * kernel's time). Writes a permutation of 0..n-1 to order[0..n). */
void gd_nl_lookup_order(const int *ifindexes, guint n, guint *order);

/* ---- batches: many requests for one sendmsg() (mnl_nlmsg_batch) ---- */

typedef struct GdNlBatch GdNlBatch;

/* Room for capacity requests, sequence numbers first_seq.. in order. */
GdNlBatch *gd_nl_batch_new(guint capacity, uint32_t first_seq);
void gd_nl_batch_free(GdNlBatch *batch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdNlBatch, gd_nl_batch_free)
/* Where the next request is built, and the sequence number it must use. */
void *gd_nl_batch_slot(GdNlBatch *batch, uint32_t *seq);
/* Accepts the request built at the slot. */
void gd_nl_batch_commit(GdNlBatch *batch);
guint gd_nl_batch_count(const GdNlBatch *batch);
uint32_t gd_nl_batch_first_seq(const GdNlBatch *batch);
const void *gd_nl_batch_data(const GdNlBatch *batch, size_t *len);

/* ---- sockets ---- */

typedef struct GdNlSocket GdNlSocket;

typedef struct {
    int error;    /* 0 or a negative errno */
    char *extack; /* the kernel's message, or NULL; owned */
} GdNlAck;

void gd_nl_ack_clear(GdNlAck *ack);

/* Opens a NETLINK_ROUTE socket with EXT_ACK, GET_STRICT_CHK and CAP_ACK.
 * groups: RTNLGRP_* to join (may be NULL). rcvbuf/sndbuf: forced sizes in
 * bytes (0 keeps the default). */
int gd_nl_socket_open(const unsigned *groups, size_t n_groups, int rcvbuf, int sndbuf,
                      GdNlSocket **out);
/* The same for another netlink protocol (NETLINK_GENERIC, NETLINK_SOCK_DIAG). */
int gd_nl_socket_open_protocol(int protocol, const unsigned *groups, size_t n_groups, int rcvbuf,
                               int sndbuf, GdNlSocket **out);
void gd_nl_socket_close(GdNlSocket *sock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdNlSocket, gd_nl_socket_close)

int gd_nl_socket_fd(GdNlSocket *sock);
/* Reserves n consecutive sequence numbers and returns the first. */
uint32_t gd_nl_socket_reserve_seq(GdNlSocket *sock, uint32_t n);
int gd_nl_socket_set_rcvbuf(GdNlSocket *sock, int bytes);

typedef void (*GdNlMessageFunc)(const struct nlmsghdr *nlh, gpointer user_data);

/* Reads what is queued on a non-request (event) socket without blocking,
 * handing each message to func: at most max_datagrams datagrams (0: until
 * empty), so a caller on a main loop can let other sources run. Returns 1
 * when it stopped at the bound, 0 when drained, -ENOBUFS when the kernel
 * dropped messages (the caller resyncs), or another negative errno. */
int gd_nl_socket_drain(GdNlSocket *sock, guint max_datagrams, GdNlMessageFunc func,
                       gpointer user_data);

/* Sends the n requests in buf (consecutive sequence numbers from
 * first_seq, each with NLM_F_ACK) in ONE sendmsg() and collects one ack per
 * request into acks[0..n). Replies that are not acks go to on_reply (may be
 * NULL). timeout_ms bounds the wait after sendmsg() returned. Returns 0 when
 * every ack arrived (each may carry an error), or a negative errno for the
 * transport (acks not received keep error -ETIMEDOUT or -ENOBUFS). */
int gd_nl_transact(GdNlSocket *sock, const void *buf, size_t len, uint32_t first_seq, guint n,
                   GdNlAck *acks, GdNlMessageFunc on_reply, gpointer user_data, int timeout_ms);
/* The same for requests of which only the last in buf carries NLM_F_ACK
 * (its sequence number final_seq; the others' flag cleared): the kernel
 * answers a request without the flag only when it refuses it, and the ack
 * of the last proves that it handled every earlier one, so an answer per
 * request is not needed to know each one's result. Skipping the answers of
 * the requests that succeed saves the kernel building and queueing them
 * and groupd reading them. Requests without an answer when the final ack
 * arrives succeeded (error 0); when the answers were lost (-ENOBUFS, or
 * -ETIMEDOUT) the requests without one keep that error: their result is
 * unknown. Replies other than acks are ignored. */
int gd_nl_transact_final_ack(GdNlSocket *sock, const void *buf, size_t len, uint32_t first_seq,
                             guint n, uint32_t final_seq, GdNlAck *acks, int timeout_ms);

/* The answers to one batch of n requests from portid (sequence numbers
 * first_seq..), collected into acks[0..n) datagram by datagram: what
 * gd_nl_transact() and gd_nl_transact_final_ack() read with, pure. */
typedef struct {
    uint32_t portid;
    uint32_t first_seq;
    guint n;
    GdNlAck *acks;
    GdNlMessageFunc on_reply; /* replies that are not acks (may be NULL) */
    gpointer user_data;
    /* private */
    bool final_only;
    uint32_t final_seq;
    bool final_read;
    guint received;
} GdNlAnswers;

/* Sets every ack to -ETIMEDOUT: not answered. */
void gd_nl_answers_init(GdNlAnswers *answers, uint32_t portid, uint32_t first_seq, guint n,
                        GdNlAck *acks);
/* Only request final_seq asked for an ack (gd_nl_transact_final_ack()). */
void gd_nl_answers_expect_final(GdNlAnswers *answers, uint32_t final_seq);
/* Files the answers in one datagram; others' and unknown sequence numbers
 * are ignored. */
void gd_nl_answers_file(GdNlAnswers *answers, const void *datagram, size_t len);
/* Whether every answer is in: each request's, or the final ack (then the
 * requests without an answer are set to 0, done). */
bool gd_nl_answers_complete(GdNlAnswers *answers);
/* The rest will not come: on -ENOBUFS the requests without an answer get
 * -ENOBUFS (their result is unknown); otherwise they keep -ETIMEDOUT. */
void gd_nl_answers_lost(GdNlAnswers *answers, int error);

/* Runs a dump request; every reply goes to func. A dump the kernel marks
 * NLM_F_DUMP_INTR is started again after calling on_restart (may be NULL),
 * up to a bound. extack (may be NULL) receives the kernel's message. */
int gd_nl_dump(GdNlSocket *sock, struct nlmsghdr *request, GdNlMessageFunc func,
               void (*on_restart)(gpointer user_data), gpointer user_data, char **extack);

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * policy/kpath: which kernel path an operation on many links takes, and
 * what each would cost. Pure: no sockets, no clock, no cache lookups. The
 * runner describes the operation (its targets' state, the links in the
 * namespace, an estimate of the IPv6 FIB, the probed kernel features) and
 * keeps the calibration; this file answers with the path, the chunk size
 * and the expected times, and folds measured times back into the
 * calibration.
 *
 * The two paths:
 *   group     one group-scoped message: the kernel changes every member
 *             under one RTNL hold, so its whole cost is one hold;
 *   per-link  one message per link, several per sendmsg() ("chunk"), the
 *             answers read between chunks: the kernel takes RTNL for each
 *             message, so the longest hold is one member's cost, and the
 *             thread returns to user space (a scheduling point) between
 *             chunks.
 *
 * What a member costs under RTNL on a stock kernel (read in
 * net/core/rtnetlink.c, net/ipv6/addrconf.c; measured on ifb links):
 *   - every changed member: do_setlink and the RTM_NEWLINK notification it
 *     builds (most of a DOWN member's cost);
 *   - a walk of the whole IPv6 FIB (fib6_clean_all) per member for:
 *     an MTU change of a device with IPv6 state (rt6_mtu_change, UP or
 *     DOWN), bringing up a device with IPv6 enabled (rt6_sync_up, and
 *     once more later in its DAD work), taking one down (rt6_disable_ip);
 *   - the group message alone: it re-applies its selector (IFLA_GROUP),
 *     so every member that is UP afterwards also gets a state-change
 *     notification and, with IPv6 enabled, one more FIB walk
 *     (NETDEV_CHANGE → rt6_sync_up); a member it does not change still
 *     costs that;
 *   - a new queue length on a member UP afterwards: the device is
 *     deactivated around its qdisc's resize, which waits for an RCU grace
 *     period (dev_qdisc_change_tx_queue_len: about 36 µs a member, five
 *     times an MTU change), on either path;
 *   - a per-link message alone: finding the device by index in a table of
 *     256 lists (its cost grows with the links in the namespace; little
 *     when the messages go list by list, as the executor sends them), and
 *     its answer (a refusal's, or a chunk's one ack).
 * The FIB is what the UP links with IPv6 contribute: three routes each
 * (fe80::/64, the link-local /128, ff00::/8), two per further address.
 * With "group-notify" (the kernel series) the selector is not re-applied.
 */
#pragma once

#include "netlink/nl.h"

#include <glib.h>

typedef enum {
    GD_KPATH_AUTO,     /* let the cost model choose (overrides only) */
    GD_KPATH_GROUP,    /* one group-scoped message */
    GD_KPATH_PER_LINK, /* per-link messages in chunks */
} GdKpath;

#define GD_KPATH_N 3

/* What kind of operation: each has its own costs and calibration. */
typedef enum {
    GD_KPATH_LINKS,     /* a change of link attributes (a group change) */
    GD_KPATH_MOVES,     /* group moves of links */
    GD_KPATH_ADDRESSES, /* addresses added or removed */
} GdKpathKind;

#define GD_KPATH_KINDS 3

/* "auto", "group", "per-link". */
const char *gd_kpath_name(GdKpath path);
/* The inverse; -EINVAL for other text. */
int gd_kpath_parse(const char *text, GdKpath *out);

/* Routes one UP link with IPv6 adds to the FIB (fe80::/64, its link-local
 * address, ff00::/8), and each further IPv6 address (local, prefix). */
#define GD_KPATH_ROUTES_PER_LINK 3
#define GD_KPATH_ROUTES_PER_ADDR 2

/* What one operation is, as the cost model sees it. Fill with
 * gd_kpath_input_init() and one gd_kpath_input_add_member() per member, in
 * the kernel's order (the FIB grows or shrinks as members go up or down). */
typedef struct {
    GdKpathKind kind;
    guint links;           /* links in the namespace */
    double fib;            /* IPv6 routes before, estimated (gd_kpath_fib_add_link()) */
    unsigned features;     /* GdKernelFeature bits */
    GdNlLinkChange change; /* a group change's; nothing set for other kinds */

    /* Accumulated over the members: */
    guint members;   /* every member the group message reaches */
    guint changing;  /* members lacking the change */
    guint messages;  /* per-link messages: changing members (every member for a MAC change) */
    guint up_after;  /* members UP afterwards (the group message's state notifications) */
    guint up_moves;  /* moves of UP links (each re-announces the link's state) */
    guint txqlen_up; /* members UP afterwards whose queue length changes */
    /* Addresses: routes the kernel passes over to insert or delete each
     * one (a prefix on N devices is one FIB node with N routes, searched
     * in a list), summed, and the most for one. */
    double addr_shares;
    double addr_share_max;
    /* FIB work: routes visited, each walk weighted by what it does to a
     * route relative to an MTU change's (gd_kpath.c). */
    double group_walk;
    double link_walk;
    double message_walk_max; /* of one per-link message (its RTNL hold) */
    double fib_group;        /* the FIB as the group message's members go */
    double fib_link;         /* …and as the per-link messages go */
} GdKpathInput;

/* change: a group change's (GD_KPATH_LINKS), else NULL. */
void gd_kpath_input_init(GdKpathInput *in, GdKpathKind kind, guint links, double fib,
                         unsigned features, const GdNlLinkChange *change);
/* GD_KPATH_LINKS: adds one member, its state before the change. */
void gd_kpath_input_add_member(GdKpathInput *in, const GdNlLink *member);
/* GD_KPATH_MOVES: adds the move of link to another group. */
void gd_kpath_input_add_move(GdKpathInput *in, const GdNlLink *link);
/* GD_KPATH_ADDRESSES: n links get (or lose) one address whose prefix
 * `sharing` links of the namespace have already. */
void gd_kpath_input_add_addresses(GdKpathInput *in, guint n, guint sharing);
/* Whether member shows every attribute of change. */
gboolean gd_kpath_member_has(const GdNlLink *member, const GdNlLinkChange *change);

/* The FIB estimate: call for every link of the namespace, starting from 0.
 * addrs6: its IPv6 addresses other than the first link-local one. */
double gd_kpath_fib_add_link(double fib, const GdNlLink *link, guint addrs6);

/* The costs, in nanoseconds of the kernel's time on behalf of the
 * request (this machine's figures by default; calibrated from measured
 * operations). */
typedef struct {
    double member_change; /* do_setlink of a changed member and its notification */
    double txqlen_resize; /* a new queue length on an UP member: deactivate, resize, activate */
    double member_touch;  /* the group message on a member it does not change */
    double state_notify;  /* the group message's re-applied selector on an UP member */
    double link_message;  /* a per-link message: parsing, the answer */
    double link_lookup;   /* per link in the namespace, finding a per-link message's device */
    double addr_change;   /* an address added or removed, its routes and notification */
    double prefix_share;  /* per route already on an address's prefix */
    double route_walk;    /* per route, per FIB walk */
    /* Calibration: measured / modelled, per part: the non-walk part per
     * path and kind, the walks. */
    double base_scale[GD_KPATH_N][GD_KPATH_KINDS];
    double walk_scale;
    /* Group messages' measured / modelled time, its recent maximum (≥ 1,
     * decaying): their spread, for the bound on one RTNL hold. */
    double group_overrun;
    guint samples; /* operations folded in */
    /* Per kind: operations run per link since a group message was last
     * sent, each passing over one within the bound as the costlier
     * (gd_kpath_model_chosen()). The group side learns only from group
     * messages, so without one now and then a calibration that went wrong
     * there would stay wrong. After remeasure_every of them the group
     * message is taken once; if it is still the costlier afterwards, the
     * next time waits twice as long. */
    guint group_passed_over[GD_KPATH_KINDS];
    guint remeasure_every[GD_KPATH_KINDS];
    gboolean remeasuring[GD_KPATH_KINDS];
} GdKpathModel;

void gd_kpath_model_init(GdKpathModel *model);

/* The bound on one RTNL hold for one request, and the share of it a
 * group message may be expected to take: the same message varies by a
 * fifth from run to run on a loaded machine. */
#define GD_KPATH_HOLD_BUDGET_NS (100.0 * 1000 * 1000)
#define GD_KPATH_HOLD_MARGIN    0.8
/* What one chunk of per-link messages should take: the thread returns to
 * user space between chunks (with PREEMPT_NONE a long sendmsg() keeps its
 * CPU, and a process waiting for RTNL may wait for that CPU). */
#define GD_KPATH_CHUNK_TARGET_NS (10.0 * 1000 * 1000)
#define GD_KPATH_CHUNK_MAX       1024
/* A group message passed over is measured again after 16 operations of
 * its kind, then after 32, 64, … up to 1024 while it stays the costlier:
 * what re-measuring costs fades, and a calibration that went wrong is
 * corrected within a few. */
#define GD_KPATH_REMEASURE_EVERY 16
#define GD_KPATH_REMEASURE_MAX   1024

typedef struct {
    GdKpath path;
    gboolean group_possible; /* a group message would do exactly this */
    guint messages;          /* per-link messages the operation needs */
    guint chunk;             /* per-link messages per sendmsg() */
    double group_ns;         /* expected kernel time of the group message (its one hold) */
    double per_link_ns;      /* expected kernel time of the per-link messages, all chunks */
    double hold_ns;          /* the longest expected RTNL hold of the chosen path */
    /* Per-link messages were chosen over a group message that was
     * possible, within the bound and big enough to measure: what
     * gd_kpath_model_chosen() counts. */
    gboolean group_passed_over;
    gboolean remeasure; /* the group message, taken to measure it again */
    /* Why, for logs and the plan: "group message within the hold budget",
     * "group message would hold RTNL 3.4 s", "forced", … (static text). */
    const char *reason;
} GdKpathChoice;

/* Chooses. group_possible: a group message would do exactly this (FALSE
 * when the targets are only some of the group, or the kind has no group
 * message). forced: GD_KPATH_AUTO, or the path to take when possible. The
 * rule: the group message when it is possible, its one hold is expected
 * within GD_KPATH_HOLD_MARGIN of GD_KPATH_HOLD_BUDGET_NS, and it is not
 * expected slower than the per-link messages; else per-link messages,
 * chunked to GD_KPATH_CHUNK_TARGET_NS. The hold is checked against the
 * bound pessimistically: never with a calibration faster than the
 * default costs, and with the group messages' recent overrun. A group
 * message passed over often enough (GdKpathModel.remeasure_every) is taken
 * once to measure it again. */
void gd_kpath_choose(const GdKpathModel *model, const GdKpathInput *in, gboolean group_possible,
                     GdKpath forced, GdKpathChoice *out);

/* Expected time of one per-link message (its RTNL hold, the longest). */
double gd_kpath_message_ns(const GdKpathModel *model, const GdKpathInput *in);

/* An operation is about to run with choice (not a plan's): counts the
 * group messages passed over, up to the one that measures it again. */
void gd_kpath_model_chosen(GdKpathModel *model, const GdKpathInput *in,
                           const GdKpathChoice *choice);

/* Folds a measured operation in: path taken, and the kernel time it took
 * (the worker thread's time from the first send to the last answer: it
 * includes the waits for RTNL while the kernel's own work ran between the
 * messages, as the DAD work of links brought up).
 * Small operations (under a millisecond expected) teach nothing and are
 * ignored. Returns TRUE when the model changed. */
gboolean gd_kpath_model_observe(GdKpathModel *model, const GdKpathInput *in, GdKpath path,
                                double measured_ns);

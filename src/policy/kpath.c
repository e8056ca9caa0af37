/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The kernel path of an operation: its cost model and choice (kpath.h). */
#include "kpath.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* IPv6 keeps no state below this MTU (addrconf: IPV6_MIN_MTU). */
#define IPV6_MIN_MTU 1280

/* Calibration: a scale moves by (measured / modelled)^alpha per operation,
 * up faster than down (an RTNL hold longer than expected is what the
 * budget guards against), within these bounds. */
#define ALPHA_UP    0.5
#define ALPHA_DOWN  0.25
#define SCALE_MIN   0.05
#define SCALE_MAX   20.0
#define OBSERVE_MIN (1000.0 * 1000) /* ns */
/* What is left of a group message's overrun after each later one. */
#define OVERRUN_DECAY 0.8

const char *gd_kpath_name(GdKpath path)
{
    switch (path) {
    case GD_KPATH_AUTO:
        return "auto";
    case GD_KPATH_GROUP:
        return "group";
    case GD_KPATH_PER_LINK:
        return "per-link";
    }
    return "?";
}

int gd_kpath_parse(const char *text, GdKpath *out)
{
    for (GdKpath p = GD_KPATH_AUTO; p <= GD_KPATH_PER_LINK; p++) {
        if (g_strcmp0(text, gd_kpath_name(p)) == 0) {
            *out = p;
            return 0;
        }
    }
    return -EINVAL;
}

/* Measured on ifb links, host kernel 6.18, 2 vCPUs, groupd listening: a
 * group MTU change of 32768 DOWN links 0.32 s, of the same links per link
 * 0.70 s (a third of it finding each device), one FIB walk of 12289 routes
 * 0.44 ms. The per-link messages have become cheaper since (sent in the
 * kernel's lookup order with an ack per chunk: 0.34 s, the lookup and the
 * answer about 1 µs a message); the defaults still say what they did, and
 * so choose as before, and the calibration learns the rest. */
void gd_kpath_model_init(GdKpathModel *model)
{
    memset(model, 0, sizeof(*model));
    model->member_change = 11000;
    /* 2048 UP ifb links with pfifo_fast, IPv6 off: the group message 15.6
     * ms for an MTU, 90.4 ms for a queue length (1024: 9.9, 47.1). */
    model->txqlen_resize = 36000;
    model->member_touch = 500;
    model->state_notify = 6000;
    model->link_message = 2500;
    model->link_lookup = 0.15;
    model->addr_change = 5000;
    model->prefix_share = 75;
    model->route_walk = 36;
    for (guint i = 0; i < GD_KPATH_N; i++)
        for (guint k = 0; k < GD_KPATH_KINDS; k++)
            model->base_scale[i][k] = 1.0;
    model->walk_scale = 1.0;
    model->group_overrun = 1.0;
    for (guint k = 0; k < GD_KPATH_KINDS; k++)
        model->remeasure_every[k] = GD_KPATH_REMEASURE_EVERY;
}

static gboolean link_up(const GdNlLink *link)
{
    return (link->flags & IFF_UP) != 0;
}

/* IPv6 enabled and running on the link: it has routes, and state changes
 * walk the FIB. */
static gboolean ipv6_on(const GdNlLink *link)
{
    return link->inet6 && !link->ipv6_disabled;
}

double gd_kpath_fib_add_link(double fib, const GdNlLink *link, guint addrs6)
{
    /* Routes exist while the link is UP with a carrier and IPv6 runs. */
    if (!link_up(link) || link->carrier == 0 || !ipv6_on(link))
        return fib;
    return fib + GD_KPATH_ROUTES_PER_LINK + (double)GD_KPATH_ROUTES_PER_ADDR * addrs6;
}

gboolean gd_kpath_member_has(const GdNlLink *member, const GdNlLinkChange *change)
{
    if (change->set_mtu && member->mtu != change->mtu)
        return FALSE;
    if (change->set_txqlen && member->txqlen != change->txqlen)
        return FALSE;
    if (change->set_state && link_up(member) != change->up)
        return FALSE;
    if (change->set_hwaddr && (member->hwaddr_len != change->hwaddr_len ||
                               memcmp(member->hwaddr, change->hwaddr, change->hwaddr_len) != 0))
        return FALSE;
    return TRUE;
}

void gd_kpath_input_init(GdKpathInput *in, GdKpathKind kind, guint links, double fib,
                         unsigned features, const GdNlLinkChange *change)
{
    memset(in, 0, sizeof(*in));
    in->kind = kind;
    in->links = links;
    in->fib = in->fib_group = in->fib_link = fib;
    in->features = features;
    if (change)
        in->change = *change;
}

/* A walk's cost per route, relative to rt6_mtu_change's (measured with
 * 4096 ifb links: 36 ns per route). Taking a link down deletes its routes
 * on the way (rt6_disable_ip); bringing one up per link pays its DAD's
 * walk too, as the work runs between the messages (the group message
 * leaves it for after its hold). The group message's re-applied selector
 * walks with rt6_sync_up. */
#define WALK_MTU     1.0
#define WALK_DOWN    2.2
#define WALK_UP      1.0
#define WALK_UP_DAD  1.0
#define WALK_REAPPLY 0.9

/* The FIB work do_setlink does on member for change (both paths run it),
 * at the FIB size *fib, which it updates. Returns route-visits; *hold the
 * share of it inside the request's own RTNL hold. */
static double change_walk(const GdNlLink *member, const GdNlLinkChange *change, gboolean per_link,
                          double *fib, double *hold)
{
    double work = 0, dad = 0;
    *hold = 0;
    if (change->set_mtu && member->mtu != change->mtu) {
        /* With IPv6 state: rt6_mtu_change, or its teardown below 1280.
         * Without (below 1280 before): IPv6 starts, which walks once when
         * the link is UP. */
        if (member->inet6 || (change->mtu >= IPV6_MIN_MTU && link_up(member)))
            work += WALK_MTU * *fib;
    }
    if (change->set_state && link_up(member) != change->up) {
        if (change->up && ipv6_on(member)) {
            work += WALK_UP * *fib;
            /* Not in the request's hold: the DAD work's own. */
            if (per_link)
                dad = WALK_UP_DAD * *fib;
            /* Its prefix and multicast routes now, the link-local /128
             * after DAD (during the per-link messages). */
            *fib += per_link ? GD_KPATH_ROUTES_PER_LINK : GD_KPATH_ROUTES_PER_LINK - 1;
        } else if (!change->up && member->inet6) {
            work += WALK_DOWN * *fib;
            if (ipv6_on(member))
                *fib = MAX(0.0, *fib - GD_KPATH_ROUTES_PER_LINK);
        }
    }
    *hold = work;
    return work + dad;
}

void gd_kpath_input_add_member(GdKpathInput *in, const GdNlLink *member)
{
    const GdNlLinkChange *change = &in->change;
    gboolean changing = !gd_kpath_member_has(member, change);
    in->members++;
    in->changing += changing;
    gboolean up_after = change->set_state ? change->up : link_up(member);
    /* do_setlink sets the queue length after the flags: what counts is
     * the state afterwards (a DOWN device is not deactivated first). */
    if (change->set_txqlen && member->txqlen != change->txqlen && up_after)
        in->txqlen_up++;
    /* A MAC change is sent to every member: one that shows the address
     * already can still refuse it (no ndo_set_mac_address), as it would
     * stop the group message. Other attributes at their value are no-ops
     * that cannot fail. */
    if (changing || change->set_hwaddr) {
        in->messages++;
        if (changing) {
            double hold;
            in->link_walk += change_walk(member, change, TRUE, &in->fib_link, &hold);
            in->message_walk_max = MAX(in->message_walk_max, hold);
        }
    }
    if (changing) {
        double hold;
        in->group_walk += change_walk(member, change, FALSE, &in->fib_group, &hold);
    }
    if (up_after) {
        in->up_after++;
        /* The re-applied selector: NETDEV_CHANGE walks with IPv6 on
         * (not with "group-notify", which stops re-applying it). */
        if (ipv6_on(member) && !(in->features & GD_KF_GROUP_NOTIFY))
            in->group_walk += WALK_REAPPLY * in->fib_group;
    }
}

void gd_kpath_input_add_move(GdKpathInput *in, const GdNlLink *link)
{
    in->members++;
    in->changing++;
    in->messages++;
    if (!link_up(link))
        return; /* a DOWN link's move is not even announced */
    /* Announced as a state change: NETDEV_CHANGE walks with IPv6 on. */
    in->up_moves++;
    if (ipv6_on(link)) {
        in->link_walk += WALK_REAPPLY * in->fib;
        in->message_walk_max = MAX(in->message_walk_max, WALK_REAPPLY * in->fib);
    }
}

void gd_kpath_input_add_addresses(GdKpathInput *in, guint n, guint sharing)
{
    in->members += n;
    in->changing += n;
    in->messages += n;
    /* The k-th passes over the routes of the sharing links and of the k
     * before it. */
    in->addr_shares += (double)n * sharing + (double)n * (n - (n > 0)) / 2;
    in->addr_share_max = MAX(in->addr_share_max, (double)sharing + n);
}

typedef struct {
    double base; /* before base_scale */
    double walk; /* route-walks, before route_walk and walk_scale */
} Parts;

static Parts group_parts(const GdKpathModel *m, const GdKpathInput *in)
{
    Parts p = {0};
    if (in->kind == GD_KPATH_ADDRESSES) {
        /* No kernel has one message for a group's addresses: never
         * chosen, the figure only for comparison in the log. */
        p.base = in->messages * m->addr_change + in->addr_shares * m->prefix_share;
        return p;
    }
    p.base = in->changing * m->member_change + (in->members - in->changing) * m->member_touch +
             in->txqlen_up * m->txqlen_resize;
    /* The re-applied selector's notification per UP member. */
    if (!(in->features & GD_KF_GROUP_NOTIFY))
        p.base += in->up_after * m->state_notify;
    p.walk = in->group_walk;
    return p;
}

static double message_base(const GdKpathModel *m, const GdKpathInput *in)
{
    return m->link_message + m->link_lookup * in->links;
}

static Parts per_link_parts(const GdKpathModel *m, const GdKpathInput *in)
{
    Parts p = {.base = in->messages * message_base(m, in), .walk = in->link_walk};
    switch (in->kind) {
    case GD_KPATH_LINKS:
        /* Changed members pay do_setlink and its notification; a MAC
         * change's members that have the address already pay the request
         * alone. */
        p.base += in->changing * m->member_change + in->txqlen_up * m->txqlen_resize;
        break;
    case GD_KPATH_MOVES:
        p.base += in->up_moves * m->state_notify;
        break;
    case GD_KPATH_ADDRESSES:
        p.base += in->messages * m->addr_change + in->addr_shares * m->prefix_share;
        break;
    }
    return p;
}

static double cost(const GdKpathModel *m, const GdKpathInput *in, GdKpath path, Parts p)
{
    return m->base_scale[path][in->kind] * p.base + m->walk_scale * m->route_walk * p.walk;
}

double gd_kpath_message_ns(const GdKpathModel *model, const GdKpathInput *in)
{
    Parts one = {.base = message_base(model, in), .walk = in->message_walk_max};
    switch (in->kind) {
    case GD_KPATH_LINKS:
        one.base += model->member_change + (in->txqlen_up ? model->txqlen_resize : 0);
        break;
    case GD_KPATH_MOVES:
        one.base += in->up_moves ? model->state_notify : 0;
        break;
    case GD_KPATH_ADDRESSES:
        one.base += model->addr_change + in->addr_share_max * model->prefix_share;
        break;
    }
    return cost(model, in, GD_KPATH_PER_LINK, one);
}

/* A group message's one hold, as the RTNL bound sees it. The calibration
 * may learn that this machine does an operation faster than the default
 * costs say, and the choice of the cheaper path follows it; the bound is
 * not bet on it: the same group message's time varies by a third from one
 * run to the next (8192 DOWN links: 70-112 ms), so the bound takes the
 * slower of the default and the calibration, and the recent overrun. */
static double group_hold_bound_ns(const GdKpathModel *m, const GdKpathInput *in)
{
    Parts p = group_parts(m, in);
    double base = MAX(m->base_scale[GD_KPATH_GROUP][in->kind], 1.0) * p.base;
    double walk = MAX(m->walk_scale, 1.0) * m->route_walk * p.walk;
    return (base + walk) * MAX(m->group_overrun, 1.0);
}

void gd_kpath_choose(const GdKpathModel *model, const GdKpathInput *in, gboolean group_possible,
                     GdKpath forced, GdKpathChoice *out)
{
    memset(out, 0, sizeof(*out));
    out->group_possible = group_possible;
    out->messages = in->messages;
    out->group_ns = cost(model, in, GD_KPATH_GROUP, group_parts(model, in));
    out->per_link_ns = cost(model, in, GD_KPATH_PER_LINK, per_link_parts(model, in));
    double message_ns = gd_kpath_message_ns(model, in);

    if (!group_possible) {
        out->path = GD_KPATH_PER_LINK;
        out->reason = "no group message does only this";
    } else if (forced != GD_KPATH_AUTO) {
        out->path = forced;
        out->reason = "forced";
    } else if (in->messages == 0) {
        /* Every member shows the change: nothing to send. */
        out->path = GD_KPATH_PER_LINK;
        out->reason = "every member has the change already";
    } else if (group_hold_bound_ns(model, in) > GD_KPATH_HOLD_MARGIN * GD_KPATH_HOLD_BUDGET_NS) {
        out->path = GD_KPATH_PER_LINK;
        out->reason = "a group message would hold RTNL too close to 100 ms or longer";
    } else if (out->group_ns > out->per_link_ns) {
        /* Only a group message big enough to teach the calibration is
         * worth measuring again. */
        gboolean worth = out->group_ns >= OBSERVE_MIN;
        if (worth && model->group_passed_over[in->kind] >= model->remeasure_every[in->kind]) {
            out->path = GD_KPATH_GROUP;
            out->remeasure = TRUE;
            out->reason = "the group message, measured again after per-link messages "
                          "were chosen as cheaper";
        } else {
            out->path = GD_KPATH_PER_LINK;
            out->reason = "per-link messages cost the kernel less";
            out->group_passed_over = worth;
        }
    } else {
        out->path = GD_KPATH_GROUP;
        out->reason = "a group message costs the kernel least, within the RTNL budget";
    }
    if (out->path == GD_KPATH_GROUP) {
        out->hold_ns = out->group_ns;
        out->chunk = 0;
        return;
    }
    out->hold_ns = in->messages ? message_ns : 0;
    double average = in->messages ? out->per_link_ns / in->messages : message_ns;
    double chunk = average > 0 ? floor(GD_KPATH_CHUNK_TARGET_NS / average) : GD_KPATH_CHUNK_MAX;
    out->chunk = (guint)CLAMP(chunk, 1.0, (double)GD_KPATH_CHUNK_MAX);
}

void gd_kpath_model_chosen(GdKpathModel *model, const GdKpathInput *in, const GdKpathChoice *choice)
{
    if (choice->path == GD_KPATH_GROUP) {
        model->group_passed_over[in->kind] = 0;
        model->remeasuring[in->kind] = choice->remeasure;
        if (!choice->remeasure) /* the cheaper path again: start afresh */
            model->remeasure_every[in->kind] = GD_KPATH_REMEASURE_EVERY;
    } else if (choice->group_passed_over) {
        model->group_passed_over[in->kind]++;
    }
}

static double nudge(double scale, double ratio)
{
    double alpha = ratio > 1 ? ALPHA_UP : ALPHA_DOWN;
    return CLAMP(scale * pow(ratio, alpha), SCALE_MIN, SCALE_MAX);
}

gboolean gd_kpath_model_observe(GdKpathModel *model, const GdKpathInput *in, GdKpath path,
                                double measured_ns)
{
    if (path != GD_KPATH_GROUP && path != GD_KPATH_PER_LINK)
        return FALSE;
    Parts p = path == GD_KPATH_GROUP ? group_parts(model, in) : per_link_parts(model, in);
    double *base_scale = &model->base_scale[path][in->kind];
    double base = *base_scale * p.base;
    double walk = model->walk_scale * model->route_walk * p.walk;
    double modelled = base + walk;
    if (modelled < OBSERVE_MIN || measured_ns <= 0)
        return FALSE;
    double ratio = CLAMP(measured_ns / modelled, 0.1, 10.0);
    if (path == GD_KPATH_GROUP)
        model->group_overrun = MAX(ratio, 1.0 + (model->group_overrun - 1.0) * OVERRUN_DECAY);
    double walk_share = walk / modelled;
    /* The part that dominates the operation takes the difference. */
    if (walk_share >= 0.6) {
        model->walk_scale = nudge(model->walk_scale, ratio);
    } else if (walk_share <= 0.4) {
        *base_scale = nudge(*base_scale, ratio);
    } else {
        model->walk_scale = nudge(model->walk_scale, ratio);
        *base_scale = nudge(*base_scale, ratio);
    }
    model->samples++;
    if (path == GD_KPATH_GROUP && model->remeasuring[in->kind]) {
        /* Still the costlier: measure it again less often. */
        model->remeasuring[in->kind] = FALSE;
        guint *every = &model->remeasure_every[in->kind];
        gboolean costlier = cost(model, in, GD_KPATH_GROUP, group_parts(model, in)) >
                            cost(model, in, GD_KPATH_PER_LINK, per_link_parts(model, in));
        *every = costlier ? MIN(*every * 2, GD_KPATH_REMEASURE_MAX) : GD_KPATH_REMEASURE_EVERY;
    }
    return TRUE;
}

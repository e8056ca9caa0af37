/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/policy/kpath.c: the FIB estimate, what each kind of
 * change costs each path, the choice and its bound on one RTNL hold, the
 * chunk size, overrides, the kernel features, and the calibration.
 */
#include "policy/kpath.h"

#include <errno.h>
#include <string.h>

static GdNlLink member(int ifindex, gboolean up, gboolean inet6, gboolean disabled)
{
    GdNlLink l = {
        .ifindex = ifindex,
        .mtu = 1500,
        .txqlen = 1000,
        .flags = up ? IFF_UP | IFF_LOWER_UP | IFF_RUNNING : 0,
        .carrier = 1,
        .hwaddr_len = 6,
        .inet6 = inet6,
        .ipv6_disabled = disabled,
    };
    g_snprintf(l.name, sizeof(l.name), "m%d", ifindex);
    l.hwaddr[5] = (uint8_t)ifindex;
    return l;
}

static const GdNlLinkChange mtu_1400 = {.set_mtu = true, .mtu = 1400};
static const GdNlLinkChange state_up = {.set_state = true, .up = true};
static const GdNlLinkChange txqlen_500 = {.set_txqlen = true, .txqlen = 500};

/* n members of the same state; the namespace has just them, and the FIB
 * what their state gives it. */
static void group_of(GdKpathInput *in, guint n, gboolean up, gboolean inet6, gboolean disabled,
                     const GdNlLinkChange *change, unsigned features)
{
    double fib = 0;
    for (guint i = 0; i < n; i++) {
        GdNlLink l = member((int)i + 2, up, inet6, disabled);
        fib = gd_kpath_fib_add_link(fib, &l, 0);
    }
    gd_kpath_input_init(in, GD_KPATH_LINKS, n + 1, fib, features, change);
    for (guint i = 0; i < n; i++) {
        GdNlLink l = member((int)i + 2, up, inet6, disabled);
        gd_kpath_input_add_member(in, &l);
    }
}

static GdKpathChoice choose(const GdKpathInput *in, GdKpath forced)
{
    GdKpathModel model;
    gd_kpath_model_init(&model);
    GdKpathChoice c;
    gd_kpath_choose(&model, in, TRUE, forced, &c);
    return c;
}

static void test_names(void)
{
    GdKpath p;
    for (GdKpath want = GD_KPATH_AUTO; want <= GD_KPATH_PER_LINK; want++) {
        g_assert_cmpint(gd_kpath_parse(gd_kpath_name(want), &p), ==, 0);
        g_assert_cmpint(p, ==, want);
    }
    g_assert_cmpstr(gd_kpath_name(GD_KPATH_PER_LINK), ==, "per-link");
    g_assert_cmpint(gd_kpath_parse("Group", &p), ==, -EINVAL);
    g_assert_cmpint(gd_kpath_parse(NULL, &p), ==, -EINVAL);
}

static void test_fib_estimate(void)
{
    /* Routes come from UP links with a carrier and IPv6 enabled: three
     * each, two per further address. */
    GdNlLink up6 = member(2, TRUE, TRUE, FALSE);
    GdNlLink down6 = member(3, FALSE, TRUE, FALSE);
    GdNlLink disabled = member(4, TRUE, TRUE, TRUE);
    GdNlLink no_inet6 = member(5, TRUE, FALSE, FALSE);
    GdNlLink no_carrier = member(6, TRUE, TRUE, FALSE);
    no_carrier.carrier = 0;
    g_assert_cmpfloat(gd_kpath_fib_add_link(0, &up6, 0), ==, 3);
    g_assert_cmpfloat(gd_kpath_fib_add_link(10, &up6, 2), ==, 17);
    g_assert_cmpfloat(gd_kpath_fib_add_link(10, &down6, 2), ==, 10);
    g_assert_cmpfloat(gd_kpath_fib_add_link(10, &disabled, 2), ==, 10);
    g_assert_cmpfloat(gd_kpath_fib_add_link(10, &no_inet6, 2), ==, 10);
    g_assert_cmpfloat(gd_kpath_fib_add_link(10, &no_carrier, 2), ==, 10);
}

static void test_counts(void)
{
    GdKpathInput in;
    gd_kpath_input_init(&in, GD_KPATH_LINKS, 10, 0, 0, &mtu_1400);
    GdNlLink has = member(2, FALSE, TRUE, FALSE);
    has.mtu = 1400;
    GdNlLink lacks = member(3, TRUE, TRUE, FALSE);
    gd_kpath_input_add_member(&in, &has);
    gd_kpath_input_add_member(&in, &lacks);
    g_assert_cmpuint(in.members, ==, 2);
    g_assert_cmpuint(in.changing, ==, 1);
    g_assert_cmpuint(in.messages, ==, 1); /* the one that has it gets none */
    g_assert_cmpuint(in.up_after, ==, 1);
    /* A MAC change: every member gets a message. */
    GdNlLinkChange mac = {.set_hwaddr = true, .hwaddr_len = 6};
    memcpy(mac.hwaddr, has.hwaddr, 6);
    gd_kpath_input_init(&in, GD_KPATH_LINKS, 10, 0, 0, &mac);
    gd_kpath_input_add_member(&in, &has);
    gd_kpath_input_add_member(&in, &lacks);
    g_assert_cmpuint(in.changing, ==, 1);
    g_assert_cmpuint(in.messages, ==, 2);
}

static void test_down_links(void)
{
    /* DOWN links, tiny FIB: the group message is cheapest, up to where
     * its one hold passes 100 ms. */
    GdKpathInput in;
    group_of(&in, 2048, FALSE, TRUE, FALSE, &mtu_1400, 0);
    GdKpathChoice c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpint(c.path, ==, GD_KPATH_GROUP);
    g_assert_cmpfloat(c.group_ns, <, c.per_link_ns);
    g_assert_cmpfloat(c.hold_ns, ==, c.group_ns);
    g_assert_cmpuint(c.chunk, ==, 0);

    group_of(&in, 32768, FALSE, TRUE, FALSE, &mtu_1400, 0);
    c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpfloat(c.group_ns, >, GD_KPATH_HOLD_BUDGET_NS);
    g_assert_cmpfloat(c.group_ns, <, c.per_link_ns); /* slower, but never one long hold */
    g_assert_cmpfloat(c.hold_ns, <, 100e3);
    g_assert_cmpuint(c.messages, ==, 32768);
    /* 8192: measured 105-112 ms as one group message; expected close to
     * the bound, so per-link messages. */
    group_of(&in, 8192, FALSE, TRUE, FALSE, &mtu_1400, 0);
    c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpfloat(c.group_ns, >, GD_KPATH_HOLD_MARGIN * GD_KPATH_HOLD_BUDGET_NS);
}

static void test_up_links_ipv6(void)
{
    /* UP with IPv6: the group message walks the FIB twice per member, the
     * per-link messages once: per-link as soon as that shows. */
    GdKpathInput in;
    group_of(&in, 4096, TRUE, TRUE, FALSE, &mtu_1400, 0);
    GdKpathChoice c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpfloat(c.group_ns, >, 1.7 * c.per_link_ns);
    /* One message walks 12288 routes: well under a millisecond. */
    g_assert_cmpfloat(c.hold_ns, >, 0.2e6);
    g_assert_cmpfloat(c.hold_ns, <, 1e6);
    /* Chunks of about 10 ms. */
    double chunk_ns = c.per_link_ns / c.messages * c.chunk;
    g_assert_cmpfloat(chunk_ns, >, 5e6);
    g_assert_cmpfloat(chunk_ns, <=, GD_KPATH_CHUNK_TARGET_NS);

    /* A few UP links: both cheap, the group message still costs more
     * (the second walk) but holds little; per-link is cheaper. */
    group_of(&in, 16, TRUE, TRUE, FALSE, &mtu_1400, 0);
    c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpfloat(c.group_ns, <, GD_KPATH_HOLD_BUDGET_NS);

    /* The queue length walks nothing per link; the group message's
     * re-applied selector still walks once per UP member. Both pay the
     * deactivation around each UP member's qdisc resize. */
    group_of(&in, 4096, TRUE, TRUE, FALSE, &txqlen_500, 0);
    g_assert_cmpuint(in.txqlen_up, ==, 4096);
    c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpfloat(c.per_link_ns, <, 4096 * 55e3);
    g_assert_cmpfloat(c.hold_ns, <, 0.1e6);
}

static void test_up_links_ipv6_disabled(void)
{
    /* disable_ipv6: no routes, so the walks cost nothing; what is left is
     * the notifications (two per member for the group message on UP
     * links) against the lookups and answers of per-link messages, close
     * to each other (measured at 4096: 63-84 ms against 54-60 ms). */
    GdKpathInput in;
    group_of(&in, 4096, TRUE, TRUE, TRUE, &mtu_1400, 0);
    g_assert_cmpfloat(in.fib, ==, 0);
    g_assert_cmpfloat(in.group_walk, ==, 0);
    g_assert_cmpfloat(in.link_walk, ==, 0);
    GdKpathChoice c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpfloat(c.group_ns, <, GD_KPATH_HOLD_BUDGET_NS);
    g_assert_cmpfloat(c.group_ns, <, 1.5 * c.per_link_ns);
    g_assert_cmpfloat(c.per_link_ns, <, 1.5 * c.group_ns);
    /* DOWN and disabled: one notification each way; the group message
     * does not look devices up. */
    group_of(&in, 4096, FALSE, TRUE, TRUE, &mtu_1400, 0);
    c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpint(c.path, ==, GD_KPATH_GROUP);
}

static void test_txqlen(void)
{
    /* A new queue length on UP links costs about five times an MTU change
     * per member (measured: 2048 UP ifb links, IPv6 off, 90.4 ms against
     * 15.6 ms): at 2048 the group message is over the bound, so per-link
     * messages, each holding RTNL for one member. */
    GdKpathInput in;
    group_of(&in, 2048, TRUE, TRUE, TRUE, &txqlen_500, 0);
    GdKpathChoice c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpfloat(c.group_ns, >, GD_KPATH_HOLD_MARGIN * GD_KPATH_HOLD_BUDGET_NS);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpfloat(c.hold_ns, <, 0.1e6);
    /* The MTU of the same links: the group message is within the bound
     * (the cheaper path wins). */
    group_of(&in, 2048, TRUE, TRUE, TRUE, &mtu_1400, 0);
    c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpfloat(c.group_ns, <, 0.5 * GD_KPATH_HOLD_BUDGET_NS);
    /* DOWN links: no deactivation, cheap either way (the group message
     * within the bound up to several thousand). */
    group_of(&in, 2048, FALSE, TRUE, TRUE, &txqlen_500, 0);
    g_assert_cmpuint(in.txqlen_up, ==, 0);
    c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpint(c.path, ==, GD_KPATH_GROUP);
    /* Brought up in the same request: the queue length is set after the
     * flags, so they pay it. */
    const GdNlLinkChange up_and_txqlen = {
        .set_state = true, .up = true, .set_txqlen = true, .txqlen = 500};
    group_of(&in, 16, FALSE, TRUE, TRUE, &up_and_txqlen, 0);
    g_assert_cmpuint(in.txqlen_up, ==, 16);
    const GdNlLinkChange down_and_txqlen = {
        .set_state = true, .up = false, .set_txqlen = true, .txqlen = 500};
    group_of(&in, 16, TRUE, TRUE, TRUE, &down_and_txqlen, 0);
    g_assert_cmpuint(in.txqlen_up, ==, 0);
}

static void test_state_up(void)
{
    /* Bringing links up grows the FIB as it goes: quadratic either way,
     * the group message over the budget from a few hundred links. */
    GdKpathInput in;
    group_of(&in, 4096, FALSE, TRUE, FALSE, &state_up, 0);
    g_assert_cmpfloat(in.fib, ==, 0);
    g_assert_cmpfloat(in.fib_link, ==, 3 * 4096);
    GdKpathChoice c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpfloat(c.group_ns, >, 500e6);
    /* A few: both cheap, whichever is chosen. */
    group_of(&in, 64, FALSE, TRUE, FALSE, &state_up, 0);
    c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpfloat(c.group_ns, <, 5e6);
    g_assert_cmpfloat(c.per_link_ns, <, 5e6);
}

static void test_features(void)
{
    /* "group-notify": no re-applied selector, but one walk per member
     * remains on both paths: at 4096 UP members with IPv6 the group
     * message is still over the budget. */
    GdKpathInput in;
    group_of(&in, 4096, TRUE, TRUE, FALSE, &mtu_1400, GD_KF_GROUP_NOTIFY);
    GdKpathChoice c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpfloat(c.group_ns, >, GD_KPATH_HOLD_BUDGET_NS);
    /* Only "group-notify": one walk per member remains on both paths; per
     * link they also pay their lookups and answers. */
    group_of(&in, 256, TRUE, TRUE, FALSE, &mtu_1400, GD_KF_GROUP_NOTIFY);
    c = choose(&in, GD_KPATH_AUTO);
    g_assert_cmpint(c.path, ==, GD_KPATH_GROUP);
}

static void test_forced_and_impossible(void)
{
    GdKpathModel model;
    gd_kpath_model_init(&model);
    GdKpathInput in;
    GdKpathChoice c;
    group_of(&in, 4096, TRUE, TRUE, FALSE, &mtu_1400, 0);
    gd_kpath_choose(&model, &in, TRUE, GD_KPATH_GROUP, &c);
    g_assert_cmpint(c.path, ==, GD_KPATH_GROUP);
    g_assert_cmpstr(c.reason, ==, "forced");
    group_of(&in, 4, FALSE, TRUE, FALSE, &mtu_1400, 0);
    gd_kpath_choose(&model, &in, TRUE, GD_KPATH_PER_LINK, &c);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpuint(c.chunk, >=, 4);
    /* No group message can do it (some members only, moves): per-link,
     * whatever is forced. */
    gd_kpath_choose(&model, &in, FALSE, GD_KPATH_GROUP, &c);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_false(c.group_possible);
    /* Nothing to change: nothing to send. */
    GdKpathInput none;
    gd_kpath_input_init(&none, GD_KPATH_LINKS, 10, 0, 0, &mtu_1400);
    GdNlLink has = member(2, TRUE, TRUE, FALSE);
    has.mtu = 1400;
    gd_kpath_input_add_member(&none, &has);
    gd_kpath_choose(&model, &none, TRUE, GD_KPATH_AUTO, &c);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpuint(c.messages, ==, 0);
    g_assert_cmpfloat(c.hold_ns, ==, 0);
}

static void test_moves(void)
{
    /* A move re-announces an UP link: one walk with IPv6 on; a DOWN link's
     * move is not even announced. */
    GdKpathModel model;
    gd_kpath_model_init(&model);
    GdKpathInput up, down;
    GdKpathChoice c_up, c_down;
    gd_kpath_input_init(&up, GD_KPATH_MOVES, 4097, 3 * 4096, 0, NULL);
    gd_kpath_input_init(&down, GD_KPATH_MOVES, 4097, 3 * 4096, 0, NULL);
    for (int i = 0; i < 4096; i++) {
        GdNlLink l = member(i + 2, TRUE, TRUE, FALSE);
        gd_kpath_input_add_move(&up, &l);
        l = member(i + 2, FALSE, TRUE, FALSE);
        gd_kpath_input_add_move(&down, &l);
    }
    gd_kpath_choose(&model, &up, FALSE, GD_KPATH_AUTO, &c_up);
    gd_kpath_choose(&model, &down, FALSE, GD_KPATH_AUTO, &c_down);
    g_assert_cmpint(c_up.path, ==, GD_KPATH_PER_LINK);
    g_assert_cmpuint(c_up.messages, ==, 4096);
    g_assert_cmpfloat(c_up.per_link_ns, >, 1e9);
    g_assert_cmpfloat(c_down.per_link_ns, <, 50e6);
    g_assert_cmpuint(c_up.chunk, >=, 1);
    g_assert_cmpuint(c_up.chunk, <=, 64);
    g_assert_cmpuint(c_down.chunk, >, 1000);
}

static void test_addresses(void)
{
    /* One address on N links: one prefix node with N routes, each insert
     * passing over those before it: quadratic, and more with links that
     * have the prefix already. */
    GdKpathModel model;
    gd_kpath_model_init(&model);
    GdKpathInput in;
    GdKpathChoice small, large, shared;
    gd_kpath_input_init(&in, GD_KPATH_ADDRESSES, 2049, 0, 0, NULL);
    gd_kpath_input_add_addresses(&in, 64, 0);
    gd_kpath_choose(&model, &in, FALSE, GD_KPATH_AUTO, &small);
    gd_kpath_input_init(&in, GD_KPATH_ADDRESSES, 2049, 0, 0, NULL);
    gd_kpath_input_add_addresses(&in, 2048, 0);
    gd_kpath_choose(&model, &in, FALSE, GD_KPATH_AUTO, &large);
    g_assert_cmpfloat(large.per_link_ns / small.per_link_ns, >, 2 * 2048.0 / 64);
    /* Measured: 2 addresses on 2048 UP ifb links, 355 ms. */
    g_assert_cmpfloat(large.per_link_ns, >, 100e6);
    g_assert_cmpfloat(large.per_link_ns, <, 300e6);
    g_assert_cmpint(large.path, ==, GD_KPATH_PER_LINK);
    gd_kpath_input_init(&in, GD_KPATH_ADDRESSES, 2049, 0, 0, NULL);
    gd_kpath_input_add_addresses(&in, 64, 2000);
    gd_kpath_choose(&model, &in, FALSE, GD_KPATH_AUTO, &shared);
    g_assert_cmpfloat(shared.per_link_ns, >, 10 * small.per_link_ns);
    /* The chunk keeps to about 10 ms, however costly the messages. */
    g_assert_cmpfloat(large.per_link_ns / large.messages * large.chunk, <=,
                      GD_KPATH_CHUNK_TARGET_NS);
}

static void test_chunk_bounds(void)
{
    GdKpathModel model;
    gd_kpath_model_init(&model);
    GdKpathInput in;
    GdKpathChoice c;
    /* Moves of DOWN links: a few µs each: at most GD_KPATH_CHUNK_MAX per
     * sendmsg(). */
    gd_kpath_input_init(&in, GD_KPATH_MOVES, 10, 0, 0, NULL);
    GdNlLink down = member(2, FALSE, TRUE, FALSE);
    for (int i = 0; i < 100000; i++)
        gd_kpath_input_add_move(&in, &down);
    gd_kpath_choose(&model, &in, FALSE, GD_KPATH_AUTO, &c);
    g_assert_cmpuint(c.chunk, ==, GD_KPATH_CHUNK_MAX);
    /* A message longer than a chunk's target: one per sendmsg(). */
    gd_kpath_input_init(&in, GD_KPATH_MOVES, 10, 1e6, 0, NULL);
    GdNlLink up = member(2, TRUE, TRUE, FALSE);
    for (int i = 0; i < 10; i++)
        gd_kpath_input_add_move(&in, &up);
    gd_kpath_choose(&model, &in, FALSE, GD_KPATH_AUTO, &c);
    g_assert_cmpuint(c.chunk, ==, 1);
    g_assert_cmpfloat(c.hold_ns, >, GD_KPATH_CHUNK_TARGET_NS);
}

static void test_calibration(void)
{
    GdKpathModel model;
    gd_kpath_model_init(&model);
    GdKpathInput in;
    group_of(&in, 4096, TRUE, TRUE, FALSE, &mtu_1400, 0);
    GdKpathChoice before;
    gd_kpath_choose(&model, &in, TRUE, GD_KPATH_AUTO, &before);

    /* A machine three times slower at walking the FIB: the walk scale
     * moves up, faster than it would move down. */
    g_assert_true(gd_kpath_model_observe(&model, &in, GD_KPATH_PER_LINK, 3 * before.per_link_ns));
    g_assert_cmpfloat(model.walk_scale, >, 1.5);
    g_assert_cmpfloat(model.base_scale[GD_KPATH_PER_LINK][GD_KPATH_LINKS], ==, 1.0);
    for (int i = 0; i < 20; i++)
        gd_kpath_model_observe(&model, &in, GD_KPATH_PER_LINK, 3 * before.per_link_ns);
    GdKpathChoice after;
    gd_kpath_choose(&model, &in, TRUE, GD_KPATH_AUTO, &after);
    g_assert_cmpfloat(after.per_link_ns, >, 2.9 * before.per_link_ns);
    g_assert_cmpfloat(after.per_link_ns, <, 3.1 * before.per_link_ns);
    g_assert_cmpuint(model.samples, ==, 21);

    /* DOWN links teach the base cost, per path. */
    GdKpathInput down;
    group_of(&down, 4096, FALSE, TRUE, FALSE, &mtu_1400, 0);
    gd_kpath_choose(&model, &down, TRUE, GD_KPATH_AUTO, &before);
    g_assert_cmpint(before.path, ==, GD_KPATH_GROUP);
    gd_kpath_model_observe(&model, &down, GD_KPATH_GROUP, 4 * before.group_ns);
    g_assert_cmpfloat(model.base_scale[GD_KPATH_GROUP][GD_KPATH_LINKS], >, 1.5);
    g_assert_cmpfloat(model.base_scale[GD_KPATH_GROUP][GD_KPATH_ADDRESSES], ==, 1.0);
    gd_kpath_choose(&model, &down, TRUE, GD_KPATH_AUTO, &after);
    /* Slower than thought: past the budget now. */
    g_assert_cmpint(after.path, ==, GD_KPATH_PER_LINK);

    /* Tiny operations teach nothing; scales stay within bounds. */
    GdKpathInput tiny;
    group_of(&tiny, 2, FALSE, TRUE, FALSE, &mtu_1400, 0);
    g_assert_false(gd_kpath_model_observe(&model, &tiny, GD_KPATH_GROUP, 1e9));
    for (int i = 0; i < 100; i++)
        gd_kpath_model_observe(&model, &in, GD_KPATH_PER_LINK, 1e12);
    g_assert_cmpfloat(model.walk_scale, <=, 20.0);
    g_assert_false(gd_kpath_model_observe(&model, &in, GD_KPATH_AUTO, 1e9));
}

static void test_hold_bound_pessimistic(void)
{
    /* 6144 DOWN links: a group message expected at 68 ms, within the
     * bound. */
    GdKpathModel model;
    gd_kpath_model_init(&model);
    GdKpathInput in;
    group_of(&in, 6144, FALSE, TRUE, FALSE, &mtu_1400, 0);
    GdKpathChoice c;
    gd_kpath_choose(&model, &in, TRUE, GD_KPATH_AUTO, &c);
    g_assert_cmpint(c.path, ==, GD_KPATH_GROUP);

    /* A machine that ran group messages at half the default cost: the
     * cheaper path follows the calibration, the bound does not. 8192
     * members stay per-link (the default says 90 ms), although the
     * calibration expects 45 ms. */
    GdKpathInput big;
    group_of(&big, 8192, FALSE, TRUE, FALSE, &mtu_1400, 0);
    for (int i = 0; i < 20; i++) {
        gd_kpath_choose(&model, &in, TRUE, GD_KPATH_AUTO, &c);
        gd_kpath_model_observe(&model, &in, GD_KPATH_GROUP, 0.5 * c.group_ns);
    }
    g_assert_cmpfloat(model.base_scale[GD_KPATH_GROUP][GD_KPATH_LINKS], <, 0.6);
    g_assert_cmpfloat(model.group_overrun, <, 1.01);
    gd_kpath_choose(&model, &big, TRUE, GD_KPATH_AUTO, &c);
    g_assert_cmpfloat(c.group_ns, <, 0.6 * GD_KPATH_HOLD_BUDGET_NS);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);

    /* One group message 1.4 times slower than expected: the next of the
     * same size, expected within the bound, is sent per link; the
     * overrun fades over the following ones. */
    gd_kpath_model_init(&model);
    gd_kpath_choose(&model, &in, TRUE, GD_KPATH_AUTO, &c);
    gd_kpath_model_observe(&model, &in, GD_KPATH_GROUP, 1.4 * c.group_ns);
    g_assert_cmpfloat(model.group_overrun, ==, 1.4);
    GdKpathInput mid;
    group_of(&mid, 5632, FALSE, TRUE, FALSE, &mtu_1400, 0);
    gd_kpath_choose(&model, &mid, TRUE, GD_KPATH_AUTO, &c);
    g_assert_cmpfloat(c.group_ns, <, GD_KPATH_HOLD_MARGIN * GD_KPATH_HOLD_BUDGET_NS);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    GdKpathInput small;
    group_of(&small, 1024, FALSE, TRUE, FALSE, &mtu_1400, 0);
    for (int i = 0; i < 10; i++) {
        gd_kpath_choose(&model, &small, TRUE, GD_KPATH_AUTO, &c);
        g_assert_cmpint(c.path, ==, GD_KPATH_GROUP);
        gd_kpath_model_observe(&model, &small, GD_KPATH_GROUP, c.group_ns);
    }
    g_assert_cmpfloat(model.group_overrun, <, 1.05);
}

/* One operation as the runner does it: the choice, counted, and the
 * measured time folded in. */
static GdKpathChoice run_once(GdKpathModel *model, const GdKpathInput *in, double group_true,
                              double link_true)
{
    GdKpathChoice c;
    gd_kpath_choose(model, in, TRUE, GD_KPATH_AUTO, &c);
    gd_kpath_model_chosen(model, in, &c);
    gd_kpath_model_observe(model, in, c.path, c.path == GD_KPATH_GROUP ? group_true : link_true);
    return c;
}

static void test_remeasure_group(void)
{
    /* 512 DOWN links: the group message is the cheaper path. */
    GdKpathModel model;
    gd_kpath_model_init(&model);
    GdKpathInput in;
    group_of(&in, 512, FALSE, TRUE, FALSE, &mtu_1400, 0);
    GdKpathChoice c;
    gd_kpath_choose(&model, &in, TRUE, GD_KPATH_AUTO, &c);
    g_assert_cmpint(c.path, ==, GD_KPATH_GROUP);
    double group_true = c.group_ns, link_true = c.per_link_ns;

    /* One group message ran 2.5 times slower (the machine was busy): the
     * model now prefers per-link messages, and only a group message can
     * correct it. */
    gd_kpath_model_observe(&model, &in, GD_KPATH_GROUP, 2.5 * group_true);
    gd_kpath_choose(&model, &in, TRUE, GD_KPATH_AUTO, &c);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_true(c.group_passed_over);

    /* Choosing alone (a plan) counts nothing. */
    gd_kpath_choose(&model, &in, TRUE, GD_KPATH_AUTO, &c);
    g_assert_cmpuint(model.group_passed_over[GD_KPATH_LINKS], ==, 0);

    /* The group message is measured again after 16 operations that
     * passed it over, then after 32, 64, … while it stays the costlier,
     * until the calibration agrees with the machine and keeps to it. */
    int last_group = -1, remeasured = 0;
    guint every = GD_KPATH_REMEASURE_EVERY;
    for (int i = 0; i < 400; i++) {
        c = run_once(&model, &in, group_true, link_true);
        if (c.path != GD_KPATH_GROUP)
            continue;
        if (c.remeasure) {
            g_assert_cmpstr(c.reason, ==,
                            "the group message, measured again after per-link messages were "
                            "chosen as cheaper");
            g_assert_cmpint(i - last_group, ==, (int)every + 1);
            every *= 2;
            remeasured++;
        }
        last_group = i;
    }
    g_assert_cmpint(remeasured, >=, 1);
    g_assert_cmpint(remeasured, <=, 4);
    g_assert_cmpuint(model.remeasure_every[GD_KPATH_LINKS], ==, GD_KPATH_REMEASURE_EVERY);
    for (int i = 0; i < 20; i++) {
        c = run_once(&model, &in, group_true, link_true);
        g_assert_cmpint(c.path, ==, GD_KPATH_GROUP);
        g_assert_false(c.remeasure);
    }

    /* Where per-link messages are the cheaper, as measured: the group
     * message is measured again less and less often, at most every 1025
     * operations in the end (512 UP links with IPv6, a queue length: the
     * group message walks the FIB per member, per-link messages do not). */
    GdKpathInput far;
    group_of(&far, 512, TRUE, TRUE, FALSE, &txqlen_500, 0);
    gd_kpath_model_init(&model);
    gd_kpath_choose(&model, &far, TRUE, GD_KPATH_AUTO, &c);
    g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
    g_assert_true(c.group_passed_over);
    group_true = c.group_ns;
    link_true = c.per_link_ns;
    remeasured = 0;
    for (int i = 0; i < 4000; i++)
        remeasured += run_once(&model, &far, group_true, link_true).remeasure;
    g_assert_cmpuint(model.remeasure_every[GD_KPATH_LINKS], ==, GD_KPATH_REMEASURE_MAX);
    /* After 17, 33, 65, 129, 257, 513, 1025 and 1025 operations: 8 in
     * 4000. */
    g_assert_cmpint(remeasured, ==, 8);

    /* Never for a group message beyond the bound, or one too small to
     * teach anything. */
    GdKpathInput big, few;
    group_of(&big, 4096, TRUE, TRUE, FALSE, &mtu_1400, 0);
    group_of(&few, 16, TRUE, TRUE, FALSE, &mtu_1400, 0);
    const GdKpathInput *never[] = {&big, &few};
    for (guint k = 0; k < G_N_ELEMENTS(never); k++) {
        gd_kpath_model_init(&model);
        for (int i = 0; i < 3 * GD_KPATH_REMEASURE_EVERY; i++) {
            gd_kpath_choose(&model, never[k], TRUE, GD_KPATH_AUTO, &c);
            gd_kpath_model_chosen(&model, never[k], &c);
            g_assert_cmpint(c.path, ==, GD_KPATH_PER_LINK);
            g_assert_false(c.group_passed_over);
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kpath/names", test_names);
    g_test_add_func("/kpath/fib-estimate", test_fib_estimate);
    g_test_add_func("/kpath/counts", test_counts);
    g_test_add_func("/kpath/down-links", test_down_links);
    g_test_add_func("/kpath/up-links-ipv6", test_up_links_ipv6);
    g_test_add_func("/kpath/up-links-ipv6-disabled", test_up_links_ipv6_disabled);
    g_test_add_func("/kpath/txqlen", test_txqlen);
    g_test_add_func("/kpath/state-up", test_state_up);
    g_test_add_func("/kpath/features", test_features);
    g_test_add_func("/kpath/forced-and-impossible", test_forced_and_impossible);
    g_test_add_func("/kpath/moves", test_moves);
    g_test_add_func("/kpath/addresses", test_addresses);
    g_test_add_func("/kpath/chunk-bounds", test_chunk_bounds);
    g_test_add_func("/kpath/calibration", test_calibration);
    g_test_add_func("/kpath/hold-bound-pessimistic", test_hold_bound_pessimistic);
    g_test_add_func("/kpath/remeasure-group", test_remeasure_group);
    return g_test_run();
}

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hot-plug: links that appear after the start join their policy's
group and get its attributes and addresses; links no policy names stay
untouched."""

import time

import gdlib

ADDRESSES = ("10.0.0.1/24", "fd00::1/64")
POLICY = dict(mtu=1400, up=True, txqlen=500, addresses=ADDRESSES)


def start(netns, workdir, groupd_factory, repair_drift=True):
    names = netns.add_ifbs(8)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(repair_drift=repair_drift, debounce="0.2")
    root.write_group("50-ppp.group",
                     gdlib.policy_text(gid=100, name="ppp", match={"Name": "ifb*"}, mtu=1400,
                                       state="up", txqlen=500, addresses=ADDRESSES))
    client = groupd_factory(config_root=root).client
    assert not gdlib.policy_violations(netns, names, 100, **POLICY)
    return client, names


def test_hotplug_100_links(netns, workdir, groupd_factory):
    client, old = start(netns, workdir, groupd_factory)
    before = gdlib.netlink_counters(client)
    before_paths = gdlib.kernel_paths(client)

    new = netns.add_ifbs(90, start=100)
    # Born in another group: moved all the same ([Match] has no Group=).
    new += netns.add_ifbs(10, start=200, group=7)
    others = netns.add_ifbs(3, prefix="zz")

    gdlib.wait_policy(netns, new, 100, timeout=10, **POLICY)
    assert not gdlib.policy_violations(netns, old, 100, **POLICY)
    gdlib.wait_for(lambda: client.group_property(100, "MemberCount") == 108, 5,
                   what="MemberCount 108")
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 0, 5, what="Drifted 0")
    gdlib.wait_for(lambda: gdlib.cache_matches_kernel(netns, client), 5,
                   what="the cache to match the kernel")

    # Settled: nothing left to do, nothing more sent.
    time.sleep(1.5)
    entry = gdlib.plan_group(gdlib.get_plan(client), 100)
    assert (entry["moves"], entry["change"], entry["addresses"], entry["members"]) == (
        [], None, [], 108), entry
    after = gdlib.netlink_counters(client)
    time.sleep(1)
    assert gdlib.netlink_counters(client) == after, "groupd keeps writing after the hot-plug"

    # Batched: each round of reconciliation (one per debounce window that saw
    # new links; 1 here unless `ip -batch` outlasts the window) sends the
    # moves, the attributes (ONE group message, or one message per new link:
    # the others have them) and the addresses: every new link is moved once
    # and given each address once.
    requests, sends = after[0] - before[0], after[1] - before[1]
    paths = {k: v - before_paths[k] for k, v in gdlib.kernel_paths(client).items()}
    rounds = sum(paths.values()) // 3
    change = requests - (100 + 100 * len(ADDRESSES))
    assert 1 <= rounds <= 10 and sum(paths.values()) == 3 * rounds, paths
    assert change in (rounds, 100) or rounds < change < 100 + rounds, (
        f"{requests} requests for 100 new links: expected 100 moves + 200 addresses + "
        "one group message per round or one request per new link")
    assert 3 * rounds <= sends <= 3 * rounds + 8, (
        f"{sends} sendmsg() calls in {rounds} rounds for 100 new links: expected 3 per round "
        "(the moves, the attributes, the addresses), a few more when chunked")

    links = netns.links_by_name()
    addrs = netns.addrs()
    for n in others:
        assert (links[n]["group_id"], links[n]["mtu"], gdlib.is_up(links[n]), addrs[n]) == (
            0, 1500, False, []), f"{n} matches no policy but was changed"


def test_hotplug_single_link_joins_up_group(netns, workdir, groupd_factory):
    """One new link: its move, then its attributes (one group message, or
    one per-link message: the other members already match) and its
    addresses."""
    client, old = start(netns, workdir, groupd_factory)
    r0, s0 = gdlib.netlink_counters(client)
    netns.ip("link", "add", "ifb42", "type", "ifb")
    gdlib.wait_policy(netns, ["ifb42"], 100, timeout=10, **POLICY)
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 0, 5, what="Drifted 0")
    time.sleep(1)
    r1, s1 = gdlib.netlink_counters(client)
    # 1 move + 1 request for the attributes + 2 addresses, in 3 sendmsg() calls.
    assert r1 - r0 == 4, f"{r1 - r0} requests for one new link (expected 1 + 1 + 2)"
    assert s1 - s0 == 3, f"{s1 - s0} sendmsg() calls for one new link (expected 3)"
    assert not gdlib.policy_violations(netns, old, 100, **POLICY)


def test_hotplug_with_repair_disabled(netns, workdir, groupd_factory):
    """RepairDrift=no stops repairs, not the application of the policy to
    new links."""
    client, _ = start(netns, workdir, groupd_factory, repair_drift=False)
    new = netns.add_ifbs(20, start=100)
    gdlib.wait_policy(netns, new, 100, timeout=10, **POLICY)

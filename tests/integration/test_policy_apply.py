# SPDX-License-Identifier: LGPL-2.1-or-later
"""Policies applied on start: 2048 links in one group with few netlink
sends and the link attributes as ONE group-scoped request or one request
per link (whichever the kernel-path cost model picks), [Match] order and
rules, directory precedence, Plan() and the Group object's policy
properties."""

import time

import gdlib

N = 2048
ADDRESSES = ("10.0.0.1/24", "fd00::1/64")
PLAN_KEYS = {"id", "name", "members", "drifted", "override", "desired", "moves", "change",
             "addresses", "problems", "conflicts", "kernel"}
NOTHING_TO_SEND = {"moves": None, "change": None, "addresses": []}


def ppp_policy(**kw):
    args = dict(gid=100, name="ppp", match={"Name": "ifb*"}, mtu=1400, state="up", txqlen=500,
                addresses=ADDRESSES)
    args.update(kw)
    return gdlib.policy_text(**args)


def untouched(netns, names):
    """Links groupd must leave alone: group 0, MTU 1500, down, no address."""
    links = netns.links_by_name()
    addrs = netns.addrs()
    bad = [(n, links[n]["group_id"], links[n]["mtu"], gdlib.is_up(links[n]), addrs.get(n))
           for n in names
           if (links[n]["group_id"], links[n]["mtu"], gdlib.is_up(links[n]), addrs.get(n))
           != (0, 1500, False, [])]
    assert not bad, f"links no policy names were changed: {bad}"
    lo = links["lo"]
    assert (lo["group_id"], lo["mtu"], lo["txqlen"], gdlib.is_up(lo)) == (0, 65536, 1000, False)


def test_start_applies_2048(netns, workdir, groupd_factory):
    names = netns.add_ifbs(N)
    others = netns.add_ifbs(3, prefix="other")
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2")
    path = root.write_group("50-ppp.group", ppp_policy())

    client = groupd_factory(config_root=root).client

    # Applied before READY=1: no polling here.
    bad = gdlib.policy_violations(netns, names, 100, mtu=1400, up=True, txqlen=500,
                                  addresses=ADDRESSES)
    assert not bad, f"right after READY, {len(bad)} links lack the policy: {bad[:10]}"
    untouched(netns, others)

    props = client.group_properties(100)
    assert (props["MemberCount"], props["MTU"], props["State"], props["TxQueueLength"],
            props["Drifted"], props["LastError"]) == (N, 1400, "up", 500, 0, ""), props
    policy = gdlib.unwrap_variants(props["Policy"])
    assert policy == {"File": str(path), "MTU": 1400, "State": "up", "TxQueueLength": 500,
                      "Addresses": list(ADDRESSES), "Overridden": False,
                      "OtherManagers": "enforce"}, policy

    plan = gdlib.get_plan(client)
    entry = gdlib.plan_group(plan, 100)
    assert set(entry) == PLAN_KEYS, sorted(entry)
    assert entry == {"id": 100, "name": "ppp", "members": N, "drifted": 0, "override": False,
                     "desired": {"MTU": 1400, "State": "up", "TxQueueLength": 500},
                     "moves": [], "change": None, "addresses": [], "problems": [],
                     "conflicts": [], "kernel": NOTHING_TO_SEND}, entry
    gdlib.assert_cache_matches_kernel(netns, client)

    # Moves: 2048 requests; attributes: ONE group-scoped request, or one per
    # link (bringing 2048 links up with IPv6 holds RTNL far longer than
    # 100 ms as one group message on a stock kernel); addresses: 2048 per
    # address.
    per_address = N
    paths = gdlib.kernel_paths(client)
    change = 1 if paths["group"] == 1 else N
    assert sum(paths.values()) == 3, paths
    requests, sends = gdlib.netlink_counters(client)
    assert requests == N + change + per_address * len(ADDRESSES), (
        f"NetlinkRequests {requests}: expected {N} moves + {change} for the attributes + "
        f"{per_address * len(ADDRESSES)} addresses = {N + change + per_address * len(ADDRESSES)}")

    # Steady state: the kernel's own burst of events causes no further write.
    time.sleep(2)
    assert gdlib.netlink_counters(client) == (requests, sends), \
        "groupd kept writing after the start with nothing drifted"
    untouched(netns, others)

    # Per-link requests go in chunks of about 10 ms each (tens to hundreds
    # of requests per sendmsg() here), never one sendmsg() per link.
    assert 3 <= sends <= requests // 16, (
        f"NetlinkSends {sends} for {requests} requests: the chunks are too small")


def test_group_name_from_policy(netns, workdir, groupd_factory):
    """A policy's Name= names its group on the bus, as iproute2's file does
    (group names come from groupd's config and from /etc/iproute2/group)."""
    names = netns.add_ifbs(4)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    root.write_group("50-ppp.group", ppp_policy(addresses=()))
    client = groupd_factory(config_root=root).client
    assert client.group_property(100, "Name") == "ppp"
    assert (100, "ppp", 4) in client.list_groups()
    client.set_group("ppp", {"TxQueueLength": 600})
    assert not gdlib.policy_violations(netns, names, 100, txqlen=600)


def test_already_compliant_links_cause_no_write(netns, workdir, groupd_factory):
    """Links already in the group with the policy's state: nothing is sent."""
    names = netns.add_ifbs(16, group=100)
    netns.batch([f"link set dev {n} mtu 1400 txqueuelen 500 up" for n in names])
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    root.write_group("50-ppp.group", ppp_policy(addresses=()))
    client = groupd_factory(config_root=root).client
    assert gdlib.netlink_counters(client) == (0, 0)
    assert gdlib.plan_group(gdlib.get_plan(client), 100)["change"] is None
    assert client.group_property(100, "Drifted") == 0


def test_first_matching_file_wins(netns, workdir, groupd_factory):
    """Files apply in lexical order of their names whatever their directory;
    [Match] keys are ANDed, values ORed, '!' negates; unmatched links stay."""
    netns.add_ifbs(20)
    netns.add_veth_pairs(2)  # va0 vb0 va1 vb1
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    # 10- is in the runtime directory and 20- in the vendor one: order is by name.
    root.write_group("10-fast.group",
                     gdlib.policy_text(gid=101, match={"Name": "ifb1*"}, mtu=1300),
                     where="runtime")
    root.write_group("20-all.group",
                     gdlib.policy_text(gid=102, match={"Name": "ifb* va*"}, mtu=1400),
                     where="vendor")
    # Never reached by va*: 20-all.group takes them first.
    root.write_group("30-veth.group",
                     gdlib.policy_text(gid=103, match={"Kind": "veth", "Name": "!vb1"},
                                       mtu=1450))
    client = groupd_factory(config_root=root).client

    links = netns.links_by_name()
    got = {n: (links[n]["group_id"], links[n]["mtu"]) for n in links if n not in netns.base}
    want = {}
    for i in range(20):
        want[f"ifb{i}"] = (101, 1300) if str(i).startswith("1") else (102, 1400)
    want.update({"va0": (102, 1400), "va1": (102, 1400), "vb0": (103, 1450), "vb1": (0, 1500)})
    assert got == want
    assert client.group_property(101, "MemberCount") == 11
    assert client.group_property(103, "Members") == ["vb0"]
    names = [g["id"] for g in gdlib.get_plan(client)["groups"]]
    assert names == [101, 102, 103], f"Plan() lists policies in file order: {names}"


def test_later_directory_replaces_earlier(netns, workdir, groupd_factory):
    names = netns.add_ifbs(8)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    root.write_group("50-ppp.group", ppp_policy(mtu=1400, addresses=()), where="vendor")
    admin = root.write_group("50-ppp.group", ppp_policy(mtu=1300, addresses=()), where="admin")
    client = groupd_factory(config_root=root).client
    assert not gdlib.policy_violations(netns, names, 100, mtu=1300, up=True, txqlen=500)
    policy = gdlib.group_policy(client, 100)
    assert (policy["File"], policy["MTU"]) == (str(admin), 1300)

    runtime = root.write_group("50-ppp.group", ppp_policy(mtu=1280, addresses=()),
                               where="runtime")
    gdlib.reload(client)
    assert not gdlib.policy_violations(netns, names, 100, mtu=1280, up=True, txqlen=500)
    policy = gdlib.group_policy(client, 100)
    assert (policy["File"], policy["MTU"]) == (str(runtime), 1280)


def test_policy_group_without_members_has_an_object(netns, workdir, groupd_factory):
    netns.add_ifbs(2)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    path = root.write_group("60-empty.group",
                            gdlib.policy_text(gid=300, name="spare", match={"Name": "nomatch*"},
                                              mtu=1400, addresses=("192.0.2.1/24",)))
    client = groupd_factory(config_root=root).client
    assert gdlib.group_object_exists(client, 300)
    props = client.group_properties(300)
    assert (props["Id"], props["MemberCount"], props["Members"], props["Drifted"]) == (
        300, 0, [], 0), props
    assert gdlib.unwrap_variants(props["Policy"]) == {
        "File": str(path), "MTU": 1400, "Addresses": ["192.0.2.1/24"], "Overridden": False,
        "OtherManagers": "enforce"}
    entry = gdlib.plan_group(gdlib.get_plan(client), 300)
    assert entry == {"id": 300, "name": "spare", "members": 0, "drifted": 0, "override": False,
                     "desired": {"MTU": 1400}, "moves": [], "change": None, "addresses": [],
                     "problems": [], "conflicts": [], "kernel": NOTHING_TO_SEND}, entry
    assert gdlib.netlink_counters(client) == (0, 0)
    untouched(netns, ["ifb0", "ifb1"])


def test_group_without_policy_has_empty_policy(netns, workdir, groupd_factory):
    netns.add_ifbs(2, group=7)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    client = groupd_factory(config_root=root).client
    props = client.group_properties(7)
    assert (props["Policy"], props["Drifted"], props["LastError"]) == ({}, 0, "")
    assert gdlib.get_plan(client) == {"groups": []}


def test_match_on_current_group(netns, workdir, groupd_factory):
    """[Match] Group= is the link's group before the move: the links of
    group 5 are moved once and then stay (no oscillation); others are not
    touched."""
    from5 = netns.add_ifbs(4, group=5)
    from0 = netns.add_ifbs(4, start=10)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    root.write_group("50-ppp.group", gdlib.policy_text(
        gid=100, match={"Group": "5", "Kind": "ifb"}, mtu=1400))
    client = groupd_factory(config_root=root).client
    assert not gdlib.policy_violations(netns, from5, 100, mtu=1400)
    untouched(netns, from0)
    counters = gdlib.netlink_counters(client)
    assert counters == (4 + 1, 2), counters
    entry = gdlib.plan_group(gdlib.get_plan(client), 100)
    assert (entry["members"], entry["moves"], entry["change"]) == (4, [], None), entry
    # A drift of a member that no longer matches (it is in 100 now) is
    # still repaired: it is in the policy's group.
    netns.ip("link", "set", "dev", "ifb2", "mtu", "9000")
    gdlib.wait_policy(netns, ["ifb2"], 100, timeout=5, mtu=1400)
    time.sleep(1)
    assert gdlib.netlink_counters(client) == (counters[0] + 1, counters[1] + 1)


def test_change_members_would_refuse_is_not_sent(netns, workdir, groupd_factory):
    """MTU 70000 is above veth's maximum (65535): groupd does not send a
    group message the kernel would stop half-way; Plan() lists the problem
    and LastError says why."""
    names = netns.add_veth_pairs(2)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    root.write_group("50-big.group", gdlib.policy_text(gid=100, match={"Kind": "veth"},
                                                       mtu=70000))
    client = groupd_factory(config_root=root).client
    links = netns.links_by_name()
    assert [(links[n]["group_id"], links[n]["mtu"]) for n in names] == [(100, 1500)] * 4
    by_index = [l["ifname"] for l in sorted(netns.links(), key=lambda l: l["ifindex"])
                if l["ifname"] in names]
    entry = gdlib.plan_group(gdlib.get_plan(client), 100)
    assert entry["change"] == {"MTU": {"to": 70000,
                                       "from": [{"value": 1500, "links": by_index}]}}, entry
    assert entry["problems"] and all("65535" in p for p in entry["problems"]), entry
    error = gdlib.wait_for(lambda: client.group_property(100, "LastError"), 5, what="LastError")
    assert "va0" in error and "65535" in error, error
    # Only the moves were sent, and no group message follows in retries.
    time.sleep(3)
    assert gdlib.netlink_counters(client) == (4, 1)


def test_apply_with_overrun_event_socket(netns, workdir, groupd_factory):
    """NetlinkReceiveBuffer=4K: bringing 2048 members up with one group
    message overruns the event socket (its events come in one RTNL hold;
    per-link chunks would let groupd read between them, so the path is
    forced); after the resync the policy holds, the cache matches the
    kernel, and drift repair still works."""
    names = netns.add_ifbs(N)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2", extra="NetlinkReceiveBuffer=4K\n")
    root.write_group("50-ppp.group", ppp_policy(addresses=()))
    client = groupd_factory("--kernel-path=group", config_root=root).client
    assert not gdlib.policy_violations(netns, names, 100, mtu=1400, up=True, txqlen=500)
    gdlib.wait_for(lambda: client.manager_property("ResyncCount") >= 1, 10,
                   what="a resync after the overrun")
    gdlib.wait_for(lambda: gdlib.cache_matches_kernel(netns, client), 10,
                   what="the cache to match the kernel")
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 0, 5, what="Drifted 0")
    netns.ip("link", "set", "dev", "ifb77", "mtu", "9000")
    gdlib.wait_policy(netns, ["ifb77"], 100, timeout=10, mtu=1400)
    assert not gdlib.policy_violations(netns, names, 100, mtu=1400, up=True, txqlen=500)


def test_policy_may_move_links_into_group_0(netns, workdir, groupd_factory):
    """A group 0 policy without [Link] or [Address] only moves links."""
    stray = netns.add_ifbs(2, group=5)
    netns.add_ifbs(2, prefix="keep", group=6)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    root.write_group("90-default.group", gdlib.policy_text(gid=0, match={"Group": "5"}))
    client = groupd_factory(config_root=root).client
    links = netns.links_by_name()
    assert [links[n]["group_id"] for n in stray] == [0, 0]
    assert [links[n]["group_id"] for n in ("keep0", "keep1")] == [6, 6]
    assert gdlib.netlink_counters(client) == (2, 1)
    untouched(netns, stray)
    entry = gdlib.plan_group(gdlib.get_plan(client), 0)
    assert (entry["desired"], entry["change"], entry["moves"]) == ({}, None, []), entry

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reads: ListLinks, ListGroups, GetLink, the group objects and the
ObjectManager, each against what `ip -j` says of the kernel."""

from collections import Counter

import gdlib


def setup_links(netns):
    """lo, ifb0..3 in group 100 (one up, one with another MTU, one with
    addresses), gx0..1 in group 200, a veth pair in group 0 with one end up."""
    netns.add_ifbs(4, group=100)
    netns.add_ifbs(2, prefix="gx", group=200)
    netns.add_veth_pairs(1)
    netns.ip("link", "set", "ifb1", "mtu", "1400")
    netns.ip("link", "set", "ifb2", "up")
    netns.ip("link", "set", "gx1", "txqueuelen", "77")
    netns.ip("addr", "add", "10.1.0.1/24", "dev", "ifb0")
    netns.ip("addr", "add", "fd01::1/64", "dev", "ifb0")
    netns.ip("addr", "add", "10.2.0.1/16", "dev", "va0")
    netns.ip("link", "set", "va0", "up")
    # Let the kernel settle the asynchronous operstates before groupd reads them.
    gdlib.wait_operstate(netns, "va0", "LOWERLAYERDOWN")
    gdlib.wait_operstate(netns, "ifb2", "UNKNOWN")


def test_list_links_equals_kernel(netns, groupd_factory):
    setup_links(netns)
    client = groupd_factory().client
    links = client.list_links()
    kernel = netns.kernel_list_links()
    assert len(kernel) == 8 + len(netns.base)
    assert links == kernel
    by_name = {l[1]: l for l in links}
    assert by_name["ifb1"][3] == 1400
    assert by_name["gx0"][2] == 200
    assert by_name["va0"][4] == "lowerlayerdown"
    assert client.manager_property("LinkCount") == len(kernel)
    assert client.manager_property("ResyncCount") == 0
    assert client.manager_property("Version")


def test_list_groups_counts(netns, groupd_factory):
    setup_links(netns)
    client = groupd_factory().client
    counts = Counter(l["group_id"] for l in netns.links())
    assert counts == {0: 2 + len(netns.base), 100: 4, 200: 2}
    expected = [(gid, "default" if gid == 0 else "", n) for gid, n in sorted(counts.items())]
    assert client.list_groups() == expected


def test_get_link_fields(netns, groupd_factory):
    setup_links(netns)
    client = groupd_factory().client
    addrs = netns.addrs()
    for link in netns.links():
        name = link["ifname"]
        got = client.get_link(name)
        kind = link.get("linkinfo", {}).get("info_kind", "")
        assert got["Index"] == link["ifindex"], name
        assert got["Name"] == name
        assert got["Group"] == link["group_id"], name
        assert got["GroupName"] == ("default" if link["group_id"] == 0 else ""), name
        assert got["MTU"] == link["mtu"], name
        assert got["MinMTU"] == link.get("min_mtu", 0), name
        assert got["MaxMTU"] == link.get("max_mtu", 0), name
        assert got["MACAddress"] == link.get("address", "").lower(), name
        assert got["Kind"] == kind, name
        assert got["TxQueueLength"] == link["txqlen"], name
        assert got["State"] == ("up" if gdlib.is_up(link) else "down"), name
        assert got["OperState"] == link["operstate"].lower(), name
        assert sorted(got["Addresses"]) == addrs[name], name
    # Spot checks, so that a wrong `ip` parse cannot hide a wrong answer.
    ifb0 = client.get_link("ifb0")
    assert ifb0["Kind"] == "ifb"
    assert sorted(ifb0["Addresses"]) == ["10.1.0.1/24", "fd01::1/64"]
    assert ifb0["Group"] == 100
    assert client.get_link("va0")["Kind"] == "veth"
    assert "10.2.0.1/16" in client.get_link("va0")["Addresses"]
    assert client.get_link("lo")["Kind"] == ""
    assert client.get_link("gx1")["TxQueueLength"] == 77
    assert client.expect_error("NoSuchLink", "GetLink", "'nosuch0'")


def test_group_objects(netns, groupd_factory):
    setup_links(netns)
    client = groupd_factory().client
    links = netns.links()
    expected = {gid: gdlib.expected_group(links, gid, "default" if gid == 0 else "")
                for gid in (0, 100, 200)}
    assert expected[100]["MTU"] == 0 and expected[100]["State"] == "mixed"
    assert expected[200]["MTU"] == 1500 and expected[200]["TxQueueLength"] == 0
    assert expected[100]["Members"] == ["ifb0", "ifb1", "ifb2", "ifb3"]

    # Property by property, the way a busctl user reads them.
    for prop, value in expected[100].items():
        assert client.group_property(100, prop) == value, prop
    for gid in (0, 200):
        assert client.group_properties(gid) == expected[gid]

    objects = client.managed_objects()
    # The group objects, and the one MPTCP object (net.groupd1.Mptcp).
    assert set(objects) == {f"{gdlib.GROUP_PATH_PREFIX}{gid}" for gid in (0, 100, 200)} | {
        "/net/groupd1/mptcp"
    }
    assert set(objects["/net/groupd1/mptcp"]) == {"net.groupd1.Mptcp"}
    for gid in (0, 100, 200):
        assert objects[f"{gdlib.GROUP_PATH_PREFIX}{gid}"] == {gdlib.GROUP_IFACE: expected[gid]}

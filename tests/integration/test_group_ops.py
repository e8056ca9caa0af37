# SPDX-License-Identifier: LGPL-2.1-or-later
"""Group-wide changes on 2048 members, each checked on every member with `ip -j`."""

import pytest

import gdlib

N = 2048
MAC = "02:00:00:00:00:01"


@pytest.fixture
def ifb_group(netns, groupd_factory):
    """2048 ifb links, moved into group 100 with one SetLinkGroup."""
    names = netns.add_ifbs(N)
    client = groupd_factory().client
    assert client.set_link_group(names, "100") == N
    links = netns.links_by_name()
    assert all(links[n]["group_id"] == 100 for n in names)
    assert links["lo"]["group_id"] == 0
    assert client.group_property(100, "MemberCount") == N
    return client, names


def members(netns, gid=100):
    links = [l for l in netns.links() if l["group_id"] == gid]
    assert len(links) == N, f"group {gid} has {len(links)} members in the kernel, not {N}"
    return links


def lo_untouched(netns):
    lo = netns.links_by_name()["lo"]
    assert (lo["mtu"], lo["txqlen"], gdlib.is_up(lo)) == (65536, 1000, False)


def test_mtu_2048(netns, ifb_group):
    client, _ = ifb_group
    client.set_group("100", {"MTU": 1400})
    bad = [l["ifname"] for l in members(netns) if l["mtu"] != 1400]
    assert not bad, f"{len(bad)} members without MTU 1400: {bad[:10]}"
    assert client.group_property(100, "MTU") == 1400
    gdlib.assert_cache_matches_kernel(netns, client)
    lo_untouched(netns)


def test_state_2048(netns, ifb_group):
    client, _ = ifb_group
    client.set_group("100", {"State": "up"})
    bad = [l["ifname"] for l in members(netns) if not gdlib.is_up(l)]
    assert not bad, f"{len(bad)} members not up: {bad[:10]}"
    assert client.group_property(100, "State") == "up"
    assert client.get_link("ifb100")["State"] == "up"
    gdlib.assert_cache_matches_kernel(netns, client)

    client.set_group("100", {"State": "down"})
    bad = [l["ifname"] for l in members(netns) if gdlib.is_up(l)]
    assert not bad, f"{len(bad)} members still up: {bad[:10]}"
    assert client.group_property(100, "State") == "down"
    gdlib.assert_cache_matches_kernel(netns, client)
    lo_untouched(netns)


def test_txqueuelength_2048(netns, ifb_group):
    client, _ = ifb_group
    client.set_group("100", {"TxQueueLength": 500})
    bad = [l["ifname"] for l in members(netns) if l["txqlen"] != 500]
    assert not bad, f"{len(bad)} members without txqlen 500: {bad[:10]}"
    assert client.group_property(100, "TxQueueLength") == 500
    assert client.get_link("ifb2047")["TxQueueLength"] == 500
    lo_untouched(netns)


def test_several_properties_at_once_2048(netns, ifb_group):
    client, _ = ifb_group
    client.set_group("100", {"MTU": 9000, "TxQueueLength": 64, "State": "up"})
    bad = [l["ifname"] for l in members(netns)
           if (l["mtu"], l["txqlen"], gdlib.is_up(l)) != (9000, 64, True)]
    assert not bad, f"{len(bad)} members not changed: {bad[:10]}"
    assert client.group_properties(100) == gdlib.expected_group(netns.links(), 100)
    gdlib.assert_cache_matches_kernel(netns, client)
    client.set_group("100", {"State": "down"})
    lo_untouched(netns)


def test_addresses_2048(netns, ifb_group):
    client, names = ifb_group
    for address in ("10.0.0.1/24", "fd00::1/64"):
        client.add_group_address("100", address)
        addrs = netns.addrs()
        bad = [n for n in names if address not in addrs[n]]
        assert not bad, f"{len(bad)} members without {address}: {bad[:10]}"
        assert address not in addrs["lo"]
    assert {"10.0.0.1/24", "fd00::1/64"} <= set(client.get_link("ifb1000")["Addresses"])
    # Adding again: members that have it keep it.
    client.add_group_address("100", "10.0.0.1/24")
    addrs = netns.addrs()
    assert all(addrs[n].count("10.0.0.1/24") == 1 for n in names)

    for address in ("10.0.0.1/24", "fd00::1/64"):
        client.remove_group_address("100", address)
        addrs = netns.addrs()
        bad = [n for n in names if address in addrs[n]]
        assert not bad, f"{len(bad)} members still with {address}: {bad[:10]}"
    assert client.get_link("ifb1000")["Addresses"] == []
    gdlib.assert_cache_matches_kernel(netns, client)


def test_mac_refused_by_ifb(netns, ifb_group):
    """ifb cannot change its MAC address: the kernel answers EOPNOTSUPP at
    the first member, so nothing changed."""
    client, _ = ifb_group
    before = netns.snapshot()
    message = client.expect_error("Kernel", "SetGroup", "'100'",
                                  f"{{'MACAddress': <'{MAC}'>}}", "@a{sv} {}")
    assert "Operation not supported" in message
    gdlib.assert_same_snapshot(before, netns.snapshot(), "SetGroup MACAddress on ifb links")
    gdlib.assert_cache_matches_kernel(netns, client)


def test_mac_on_veth_2048(netns, groupd_factory):
    names = netns.add_veth_pairs(N // 2, group=100)
    assert len(names) == N
    client = groupd_factory().client
    assert client.group_property(100, "MemberCount") == N
    client.set_group("100", {"MACAddress": MAC})
    bad = [l["ifname"] for l in members(netns) if l["address"].lower() != MAC]
    assert not bad, f"{len(bad)} members without {MAC}: {bad[:10]}"
    assert client.get_link("va511")["MACAddress"] == MAC
    assert client.get_link("vb1023")["MACAddress"] == MAC
    assert netns.links_by_name()["lo"]["address"] == "00:00:00:00:00:00"
    gdlib.assert_cache_matches_kernel(netns, client)

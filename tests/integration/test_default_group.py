# SPDX-License-Identifier: LGPL-2.1-or-later
"""Group 0 ("default") holds lo and every unconfigured link: changing it
needs {"force": <true>}. (Only ever inside the test's own namespace.)"""

import pytest

import gdlib

MTU = "{'MTU': <uint32 1400>}"
NO_OPTS = "@a{sv} {}"


@pytest.fixture
def setup(netns, groupd_factory):
    netns.add_ifbs(2, group=100)
    netns.add_veth_pairs(1)  # va0, vb0 in group 0
    netns.ip("addr", "add", "10.7.0.1/24", "dev", "va0")
    client = groupd_factory().client
    assert client.group_property(0, "Members") == netns.base + ["vb0", "va0"]
    return client


@pytest.mark.parametrize("group", ["0", "default", "0x0"])
@pytest.mark.parametrize("options", [NO_OPTS, "{'force': <false>}"], ids=["no-force", "force-false"])
def test_default_group_refused(netns, setup, group, options):
    client = setup
    before = netns.snapshot()
    g = gdlib.gv_str(group)
    client.expect_error("DefaultGroupProtected", "SetGroup", g, MTU, options)
    client.expect_error("DefaultGroupProtected", "SetGroup", g,
                        "{'TxQueueLength': <uint32 5>, 'State': <'up'>}", options)
    client.expect_error("DefaultGroupProtected", "AddGroupAddress", g, "'10.0.0.1/24'", options)
    # Refused even though a member has the address.
    client.expect_error("DefaultGroupProtected", "RemoveGroupAddress", g, "'10.7.0.1/24'",
                        options)
    gdlib.assert_same_snapshot(before, netns.snapshot(), "calls on group 0 without force")
    gdlib.assert_cache_matches_kernel(netns, client)


def test_default_group_forced(netns, setup):
    client = setup
    client.set_group("0", {"TxQueueLength": 1234}, force=True)
    links = netns.links()
    txq = {l["ifname"]: l["txqlen"] for l in links}
    group0 = netns.base + ["va0", "vb0"]
    assert txq == {**{n: 1234 for n in group0}, "ifb0": 32, "ifb1": 32}
    assert client.group_property(0, "TxQueueLength") == 1234
    gdlib.assert_cache_matches_kernel(netns, client)

    client.add_group_address("default", "10.8.0.1/24", force=True)
    addrs = netns.addrs()
    assert all("10.8.0.1/24" in addrs[n] for n in group0)
    assert all("10.8.0.1/24" not in addrs[n] for n in ("ifb0", "ifb1"))
    client.remove_group_address("default", "10.8.0.1/24", force=True)
    assert all("10.8.0.1/24" not in a for a in netns.addrs().values())
    assert "10.7.0.1/24" in netns.addrs()["va0"]

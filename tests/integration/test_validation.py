# SPDX-License-Identifier: LGPL-2.1-or-later
"""A group change some members would refuse: refused up front (pre-validation),
or, with validation bypassed, stopped by the kernel part way (PartiallyApplied)."""

import gdlib

N_IFB = 16


def setup_group(netns):
    """ifb0..15 registered first, then a veth pair, all in group 100: the
    kernel walks devices in registration order, so it changes the ifbs
    (no maximum MTU) before it reaches a veth (maximum 65535)."""
    ifbs = netns.add_ifbs(N_IFB, group=100)
    veths = netns.add_veth_pairs(1, group=100)
    links = netns.links_by_name()
    assert all(links[v]["max_mtu"] < 70000 for v in veths)
    assert all(links[i].get("max_mtu", 0) == 0 for i in ifbs)
    # The veth end the kernel meets first (`peer` is registered before the named end).
    first_veth = min(veths, key=lambda v: links[v]["ifindex"])
    assert max(links[i]["ifindex"] for i in ifbs) < links[first_veth]["ifindex"]
    return ifbs, veths, first_veth


def test_prevalidation_refuses_and_changes_nothing(netns, groupd_factory):
    ifbs, veths, _ = setup_group(netns)
    client = groupd_factory().client
    before = netns.snapshot()

    message = client.expect_error("InvalidArgs", "SetGroup", "'100'",
                                  "{'MTU': <uint32 70000>}", "@a{sv} {}")
    for v in veths:
        assert v in message, f"the error does not name {v}: {message}"
    assert "ifb3" not in message
    gdlib.assert_same_snapshot(before, netns.snapshot(), "a refused SetGroup MTU 70000")

    # With other properties in the same call: none of them is applied either.
    message = client.expect_error("InvalidArgs", "SetGroup", "'100'",
                                  "{'TxQueueLength': <uint32 500>, 'MTU': <uint32 70000>, "
                                  "'State': <'up'>}", "@a{sv} {}")
    assert all(v in message for v in veths)
    gdlib.assert_same_snapshot(before, netns.snapshot(), "a refused SetGroup with several props")
    gdlib.assert_cache_matches_kernel(netns, client)
    assert client.group_property(100, "MTU") == 1500

    # A value every member accepts still works.
    client.set_group("100", {"MTU": 65535})
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {65535}


def test_partially_applied_with_validation_bypassed(netns, groupd_factory):
    ifbs, veths, first_veth = setup_group(netns)
    client = groupd_factory("--test-skip-validation").client

    if "validate" in client.manager_property("KernelFeatures"):
        # A kernel with the "validate" patch checks every member first:
        # nothing changes, and its message names the member.
        before = netns.snapshot()
        got, message = client.gdbus("SetGroup", "'100'", "{'MTU': <uint32 70000>}", "@a{sv} {}")
        assert got is not None and not got.endswith("PartiallyApplied"), (got, message)
        assert f"{first_veth}: mtu greater than device maximum" in message, message
        gdlib.assert_same_snapshot(before, netns.snapshot(), "a group change the kernel refused")
        gdlib.assert_cache_matches_kernel(netns, client)
        return

    message = client.expect_error("PartiallyApplied", "SetGroup", "'100'",
                                  "{'MTU': <uint32 70000>}", "@a{sv} {}")
    # Names the member it stopped at and those it changed, with the kernel's reason.
    assert first_veth in message, message
    for name in ("ifb0", "ifb1"):
        assert name in message, f"{name} is not named as changed: {message}"
    assert "Invalid argument" in message or "maximum" in message, message

    links = netns.links_by_name()
    assert {links[i]["mtu"] for i in ifbs} == {70000}
    assert {links[v]["mtu"] for v in veths} == {1500}
    # groupd's cache is the kernel's, straight after the reply.
    gdlib.assert_cache_matches_kernel(netns, client)
    assert client.get_link("ifb0")["MTU"] == 70000
    assert client.get_link(first_veth)["MTU"] == 1500
    assert client.group_property(100, "MTU") == 0
    # And it goes on working.
    client.set_group("100", {"MTU": 9000})
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {9000}
    gdlib.assert_cache_matches_kernel(netns, client)

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mutating methods are for root: another uid (nobody) gets AccessDenied and
changes nothing, but may still read."""

import gdlib

NO_OPTS = "@a{sv} {}"


def test_non_root_refused(netns, groupd_factory):
    netns.add_ifbs(2, group=100)
    netns.add_ifbs(1, start=2)  # ifb2, group 0
    netns.ip("addr", "add", "10.3.0.1/24", "dev", "ifb0")
    root = groupd_factory().client
    nobody = gdlib.Client(root.address, uid=gdlib.NOBODY)
    before = netns.snapshot()

    denied = [
        ("SetGroup", "'100'", "{'MTU': <uint32 1400>}", NO_OPTS),
        ("SetGroup", "'0'", "{'TxQueueLength': <uint32 10>}", "{'force': <true>}"),
        ("SetLinkGroup", gdlib.gv_strv(["ifb2"]), "'100'"),
        ("SetLinkGroup", gdlib.gv_strv(["ifb0"]), "'0'"),
        ("AddGroupAddress", "'100'", "'10.0.0.1/24'", NO_OPTS),
        ("RemoveGroupAddress", "'100'", "'10.3.0.1/24'", NO_OPTS),
    ]
    for method, *args in denied:
        nobody.expect_error("AccessDenied", method, *args)
    # The same from busctl, the first-class client (it prints only the message).
    for method, sig, *args in [
        ("SetGroup", "sa{sv}a{sv}", "100", "1", "MTU", "u", "1400", "0"),
        ("SetLinkGroup", "ass", "1", "ifb2", "100"),
        ("AddGroupAddress", "ssa{sv}", "100", "10.0.0.1/24", "0"),
    ]:
        proc = nobody.busctl("call", gdlib.BUS_NAME, gdlib.MANAGER_PATH, gdlib.MANAGER_IFACE,
                             method, sig, *args, check=False)
        assert proc.returncode != 0 and "root" in proc.stderr, (method, proc.stderr)
    gdlib.assert_same_snapshot(before, netns.snapshot(), "calls from uid 65534")

    # Reads are for everyone.
    assert nobody.list_links() == netns.kernel_list_links()
    assert nobody.list_groups() == [(0, "default", 1 + len(netns.base)), (100, "", 2)]
    assert nobody.get_link("ifb0")["Addresses"] == ["10.3.0.1/24"]
    assert nobody.group_property(100, "MemberCount") == 2
    assert nobody.manager_property("LinkCount") == 3 + len(netns.base)

    # Root still may (the refusal was about the caller, not the call).
    root.set_group("100", {"MTU": 1400})
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {1400}
    assert root.set_link_group(["ifb2"], "100") == 1
    # And nobody is still refused afterwards.
    nobody.expect_error("AccessDenied", "SetGroup", "'100'", "{'MTU': <uint32 1300>}", NO_OPTS)
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {1400, 1500}

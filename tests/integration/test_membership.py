# SPDX-License-Identifier: LGPL-2.1-or-later
"""SetLinkGroup: moving links between groups, by group number and by name."""

import gdlib


def groups_of(netns, names):
    links = netns.links_by_name()
    return {n: links[n]["group_id"] for n in names}


def group_paths(client):
    return {p for p in client.managed_objects() if p.startswith(gdlib.GROUP_PATH_PREFIX)}


def test_set_link_group_moves_links(netns, groupd_factory):
    names = netns.add_ifbs(6)
    netns.ip("link", "set", "ifb0", "group", "100")
    netns.ip("link", "set", "ifb1", "group", "100")
    netns.ip("link", "set", "ifb2", "up")
    netns.ip("link", "set", "ifb3", "up")
    client = groupd_factory().client
    path = gdlib.GROUP_PATH_PREFIX
    assert group_paths(client) == {f"{path}0", f"{path}100"}

    # Two are there already: only the four others move (two UP, two DOWN:
    # the kernel announces nothing for the DOWN ones, groupd must re-read).
    assert client.set_link_group(names, "100") == 4
    assert groups_of(netns, names) == {n: 100 for n in names}
    gdlib.assert_cache_matches_kernel(netns, client)
    assert client.group_property(100, "MemberCount") == 6
    assert client.group_property(100, "Members") == names
    assert client.group_property(100, "State") == "mixed"
    assert client.list_groups() == [(0, "default", len(netns.base)), (100, "", 6)]
    # Nothing left in group 0 but lo (and what else a new namespace has).
    assert client.group_property(0, "Members") == netns.base

    # Into a new group: its object appears. Both links are DOWN.
    assert client.set_link_group(["ifb4", "ifb5"], "300") == 2
    assert groups_of(netns, ["ifb4", "ifb5"]) == {"ifb4": 300, "ifb5": 300}
    gdlib.assert_cache_matches_kernel(netns, client)
    assert group_paths(client) == {f"{path}0", f"{path}100", f"{path}300"}
    assert client.group_properties(300) == gdlib.expected_group(netns.links(), 300)
    assert client.get_link("ifb4")["Group"] == 300

    # Again: nothing moves, nothing changes.
    before = netns.snapshot()
    assert client.set_link_group(["ifb4", "ifb5"], "300") == 0
    gdlib.assert_same_snapshot(before, netns.snapshot(), "a SetLinkGroup with nothing to move")

    # Duplicates count once; a number may be hexadecimal.
    assert client.set_link_group(["ifb2", "ifb2"], "0x12c") == 1
    assert groups_of(netns, ["ifb2"]) == {"ifb2": 300}
    assert client.group_property(300, "MemberCount") == 3

    # The last members leave: the object goes away.
    assert client.set_link_group(["ifb2", "ifb4", "ifb5"], "100") == 3
    gdlib.assert_cache_matches_kernel(netns, client)
    assert group_paths(client) == {f"{path}0", f"{path}100"}

    # Links are named one by one: moving into or out of group 0 needs no force.
    assert client.set_link_group(["ifb5"], "0") == 1
    assert client.set_link_group(["lo"], "100") == 1
    assert groups_of(netns, ["ifb5", "lo"]) == {"ifb5": 0, "lo": 100}
    gdlib.assert_cache_matches_kernel(netns, client)
    assert client.group_property(0, "Members") == [n for n in netns.base if n != "lo"] + ["ifb5"]


def test_set_link_group_unknown_link_moves_nothing(netns, groupd_factory):
    netns.add_ifbs(3)
    client = groupd_factory().client
    before = netns.snapshot()
    message = client.expect_error(
        "NoSuchLink", "SetLinkGroup", gdlib.gv_strv(["ifb0", "nosuch7", "ifb1"]), "'100'"
    )
    assert "nosuch7" in message
    gdlib.assert_same_snapshot(before, netns.snapshot(), "SetLinkGroup with an unknown link")
    gdlib.assert_cache_matches_kernel(netns, client)
    assert gdlib.GROUP_PATH_PREFIX + "100" not in client.managed_objects()
    # The valid names alone still work afterwards.
    assert client.set_link_group(["ifb0", "ifb1"], "100") == 2
    assert groups_of(netns, ["ifb0", "ifb1", "ifb2"]) == {"ifb0": 100, "ifb1": 100, "ifb2": 0}


def test_groups_by_name(netns, groupd_factory, workdir):
    root = workdir / "root"
    (root / "etc" / "iproute2").mkdir(parents=True)
    (root / "etc" / "iproute2" / "group").write_text(
        "# test names\n0\tdefault\n100 ppp\n0xc8\tvpn   # hexadecimal id\n"
    )
    netns.add_ifbs(4)
    client = groupd_factory(config_root=root).client

    assert client.set_link_group(["ifb0", "ifb1"], "ppp") == 2
    assert client.set_link_group(["ifb2"], "vpn") == 1
    assert groups_of(netns, ["ifb0", "ifb1", "ifb2", "ifb3"]) == {
        "ifb0": 100, "ifb1": 100, "ifb2": 200, "ifb3": 0}
    gdlib.assert_cache_matches_kernel(netns, client)
    assert client.list_groups() == [(0, "default", 1 + len(netns.base)), (100, "ppp", 2),
                                   (200, "vpn", 1)]
    assert client.group_property(100, "Name") == "ppp"
    assert client.group_property(200, "Name") == "vpn"
    assert client.get_link("ifb0")["GroupName"] == "ppp"

    # The other operations take the name too.
    client.set_group("ppp", {"MTU": 1400})
    mtus = {n: l["mtu"] for n, l in netns.links_by_name().items()}
    assert (mtus["ifb0"], mtus["ifb1"], mtus["ifb2"], mtus["ifb3"]) == (1400, 1400, 1500, 1500)
    client.add_group_address("ppp", "10.9.0.1/24")
    addrs = netns.addrs()
    assert "10.9.0.1/24" in addrs["ifb0"] and "10.9.0.1/24" in addrs["ifb1"]
    assert "10.9.0.1/24" not in addrs["ifb2"]
    client.remove_group_address("ppp", "10.9.0.1/24")
    assert all("10.9.0.1/24" not in a for a in netns.addrs().values())

    # Unknown names: NoSuchGroup, nothing changed.
    before = netns.snapshot()
    client.expect_error("NoSuchGroup", "SetLinkGroup", gdlib.gv_strv(["ifb3"]), "'nosuchname'")
    client.expect_error("NoSuchGroup", "SetGroup", "'nosuchname'", "{'MTU': <uint32 1300>}",
                        "@a{sv} {}")
    client.expect_error("NoSuchGroup", "AddGroupAddress", "'nosuchname'", "'10.9.0.1/24'",
                        "@a{sv} {}")
    # Names are not case-folded.
    client.expect_error("NoSuchGroup", "SetGroup", "'PPP'", "{'MTU': <uint32 1300>}",
                        "@a{sv} {}")
    gdlib.assert_same_snapshot(before, netns.snapshot(), "calls naming unknown groups")
    gdlib.assert_cache_matches_kernel(netns, client)

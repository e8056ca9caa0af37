# SPDX-License-Identifier: LGPL-2.1-or-later
"""Malformed arguments: each gets a typed net.groupd1.Error, changes nothing,
and leaves the daemon running."""

import pytest

import gdlib

NO_OPTS = "@a{sv} {}"
MTU = "{'MTU': <uint32 1400>}"


def set_group(group, props, options=NO_OPTS):
    return ("SetGroup", gdlib.gv_str(group), props, options)


def add_addr(address, group="100", options=NO_OPTS):
    return ("AddGroupAddress", gdlib.gv_str(group), gdlib.gv_str(address), options)


def remove_addr(address, group="100", options=NO_OPTS):
    return ("RemoveGroupAddress", gdlib.gv_str(group), gdlib.gv_str(address), options)


def set_link_group(links, group="100"):
    return ("SetLinkGroup", gdlib.gv_strv(links), gdlib.gv_str(group))


def mac(text):
    return set_group("100", f"{{'MACAddress': <{gdlib.gv_str(text)}>}}")


CASES = {
    # group names
    "empty-group-name-SetGroup": (set_group("", MTU), "InvalidArgs"),
    "empty-group-name-AddGroupAddress": (add_addr("10.0.0.1/24", group=""), "InvalidArgs"),
    "empty-group-name-SetLinkGroup": (set_link_group(["ifb1"], ""), "InvalidArgs"),
    "long-group-name": (set_group("g" * 100_000, MTU), "NoSuchGroup"),
    "long-group-number": (set_group("1" * 5000, MTU), "InvalidArgs"),
    "group-number-overflow": (set_group("4294967296", MTU), "InvalidArgs"),
    "group-number-trailing-garbage": (set_group("100x", MTU), "InvalidArgs"),
    "unknown-group-name": (set_group("nosuchgroup", MTU), "NoSuchGroup"),
    "group-without-members-SetGroup": (set_group("300", MTU), "NoSuchGroup"),
    "group-without-members-AddGroupAddress": (add_addr("10.0.0.1/24", group="300"),
                                              "NoSuchGroup"),
    # MTU
    "mtu-0": (set_group("100", "{'MTU': <uint32 0>}"), "InvalidArgs"),
    "mtu-above-veth-max": (set_group("100", "{'MTU': <uint32 70000>}"), "InvalidArgs"),
    "mtu-uint32-max": (set_group("100", "{'MTU': <uint32 4294967295>}"), "InvalidArgs"),
    "mtu-below-veth-min": (set_group("100", "{'MTU': <uint32 50>}"), "InvalidArgs"),
    "mtu-as-string": (set_group("100", "{'MTU': <'1400'>}"), "InvalidArgs"),
    "mtu-as-int32": (set_group("100", "{'MTU': <int32 1400>}"), "InvalidArgs"),
    # State, TxQueueLength
    "state-sideways": (set_group("100", "{'State': <'sideways'>}"), "InvalidArgs"),
    "state-empty": (set_group("100", "{'State': <''>}"), "InvalidArgs"),
    "state-as-boolean": (set_group("100", "{'State': <true>}"), "InvalidArgs"),
    "txqlen-as-string": (set_group("100", "{'TxQueueLength': <'5'>}"), "InvalidArgs"),
    # MAC
    "mac-zz": (mac("zz:zz:zz:zz:zz:zz"), "InvalidArgs"),
    "mac-short": (mac("02:00"), "InvalidArgs"),
    "mac-empty": (mac(""), "InvalidArgs"),
    "mac-long": (mac("02:00:00:00:00:01:02"), "InvalidArgs"),
    "mac-no-separators": (mac("020000000001"), "InvalidArgs"),
    "mac-multicast": (mac("01:00:5e:00:00:01"), "InvalidArgs"),
    # CIDR
    "cidr-ipv4-prefix-33": (add_addr("10.0.0.1/33"), "InvalidArgs"),
    "cidr-nonsense": (add_addr("nonsense"), "InvalidArgs"),
    "cidr-ipv6-prefix-129": (add_addr("fd00::1/129"), "InvalidArgs"),
    "cidr-empty": (add_addr(""), "InvalidArgs"),
    "cidr-empty-prefix": (add_addr("10.0.0.1/"), "InvalidArgs"),
    "cidr-negative-prefix": (add_addr("10.0.0.1/-1"), "InvalidArgs"),
    "cidr-remove-malformed": (remove_addr("10.5.0.1/33"), "InvalidArgs"),
    "remove-address-no-member-has": (remove_addr("10.99.0.1/24"), "InvalidArgs"),
    "remove-address-other-prefix": (remove_addr("10.5.0.1/16"), "InvalidArgs"),
    # keys of props and options
    "unknown-property": (set_group("100", "{'Speed': <uint32 1000>}"), "InvalidArgs"),
    "unknown-property-with-valid-one": (
        set_group("100", "{'MTU': <uint32 1400>, 'Speed': <uint32 1000>}"), "InvalidArgs"),
    "property-wrong-case": (set_group("100", "{'mtu': <uint32 1400>}"), "InvalidArgs"),
    "empty-props": (set_group("100", NO_OPTS), "InvalidArgs"),
    "unknown-option-SetGroup": (set_group("100", MTU, "{'forse': <true>}"), "InvalidArgs"),
    "unknown-option-AddGroupAddress": (add_addr("10.0.0.1/24", options="{'dry-run': <true>}"),
                                       "InvalidArgs"),
    "unknown-option-RemoveGroupAddress": (remove_addr("10.5.0.1/24",
                                                      options="{'x': <uint32 1>}"),
                                          "InvalidArgs"),
    "force-as-string": (set_group("100", MTU, "{'force': <'yes'>}"), "InvalidArgs"),
    "force-as-uint32": (set_group("100", MTU, "{'force': <uint32 1>}"), "InvalidArgs"),
    "force-as-string-on-group-0": (set_group("0", MTU, "{'force': <'true'>}"), "InvalidArgs"),
    # links
    "unknown-link": (set_link_group(["nosuch0"]), "NoSuchLink"),
    "unknown-link-among-valid": (set_link_group(["ifb1", "ifb2", "nosuch0"]), "NoSuchLink"),
    # Documented as "no empty names": either refusal is typed and fine.
    "empty-link-name": (set_link_group(["ifb1", ""]), ("NoSuchLink", "InvalidArgs")),
    "empty-links-array": (("SetLinkGroup", "@as []", "'100'"), "InvalidArgs"),
}


@pytest.fixture
def setup(netns, groupd_factory):
    """ifb0..2 and a veth pair (max MTU 65535, min 68) in group 100, ifb9 in
    group 0, 10.5.0.1/24 on ifb0."""
    netns.add_ifbs(3, group=100)
    netns.add_veth_pairs(1, group=100)
    netns.add_ifbs(1, start=9)
    netns.ip("addr", "add", "10.5.0.1/24", "dev", "ifb0")
    daemon = groupd_factory()
    return daemon, daemon.client


def still_alive(netns, daemon):
    assert daemon.alive(), "groupd died"
    gdlib.assert_cache_matches_kernel(netns, daemon.client)
    # And still works.
    daemon.client.set_group("100", {"TxQueueLength": 77})
    assert {l["txqlen"] for l in netns.links() if l["group_id"] == 100} == {77}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed(netns, setup, case):
    daemon, client = setup
    (method, *args), error = CASES[case]
    before = netns.snapshot()
    if isinstance(error, tuple):
        name, message = client.gdbus(method, *args)
        assert name in [gdlib.ERROR_PREFIX + e for e in error], (name, message)
    else:
        message = client.expect_error(error, method, *args)
    assert message, "the error has no message"
    # Messages quote arguments within bounds.
    assert len(message) < 2000, f"a {len(message)}-character error message"
    gdlib.assert_same_snapshot(before, netns.snapshot(), f"{method} ({case})")
    still_alive(netns, daemon)


def test_huge_links_array(netns, setup, workdir):
    """70000 names: more than a call may carry. gdbus cannot pass that many
    (one argv string), so busctl sends it and dbus-monitor reads the error's name."""
    daemon, client = setup
    names = [f"x{i}" for i in range(70_000)]
    before = netns.snapshot()
    with gdlib.Monitor(client.address, workdir,
                       rule=f"type='error',sender='{gdlib.BUS_NAME}'") as monitor:
        proc = client.busctl("call", gdlib.BUS_NAME, gdlib.MANAGER_PATH, gdlib.MANAGER_IFACE,
                             "SetLinkGroup", "ass", str(len(names)), *names, "100", check=False)
        assert proc.returncode != 0, proc.stdout
        monitor.settle(quiet=0.5)
        errors = monitor.error_names()
    assert errors == [gdlib.ERROR_PREFIX + "InvalidArgs"], (errors, proc.stderr)
    gdlib.assert_same_snapshot(before, netns.snapshot(), "SetLinkGroup with 70000 names")
    still_alive(netns, daemon)


def test_wrong_signature(netns, setup):
    """A call with the wrong D-Bus signature is refused by the bus layer."""
    daemon, client = setup
    before = netns.snapshot()
    proc = client.busctl("call", gdlib.BUS_NAME, gdlib.MANAGER_PATH, gdlib.MANAGER_IFACE,
                         "SetGroup", "su", "100", "1400", check=False)
    assert proc.returncode != 0
    gdlib.assert_same_snapshot(before, netns.snapshot(), "SetGroup with signature (su)")
    still_alive(netns, daemon)

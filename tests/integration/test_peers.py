# SPDX-License-Identifier: LGPL-2.1-or-later
"""groupd next to the real NetworkManager (Debian's 1.42) and systemd-networkd
(Debian's 252), each run inside the test's namespace on the test's private
bus (peer_daemons.py): who manages each link (GetLink, ListLinkManagers,
groupctl links, [Match] ManagedBy=), the conflicts between a policy and their
profiles with both values and the source (Group.Conflicts, Plan), the repairs
counted when a profile is applied again (nmcli device reapply, networkctl
reconfigure), OtherManagers=enforce and yield, NetworkManager's restarts
and devices becoming unmanaged.

A daemon that cannot start fails the test; nothing skips."""

import json
import os
from pathlib import Path

import gdlib
import peer_daemons
import pytest

REPO = Path(__file__).resolve().parents[2]


def groupctl(bus, *args, check=True):
    path = Path(os.environ.get("GROUPCTL_BIN", REPO / "build" / "src" / "groupctl"))
    assert path.is_file(), f"groupctl not found at {path}"
    return gdlib.run([str(path), f"--address={bus.address}", *args], check=check)


def conflicts(client, gid):
    """Group.Conflicts as a list of tuples."""
    return [tuple(c) for c in client.group_property(gid, "Conflicts")]


def without_repairs(items):
    return [c[:7] for c in items]


def repairs(client, gid, link, attr):
    for c in conflicts(client, gid):
        if c[0] == link and c[1] == attr:
            return c[7]
    raise AssertionError(f"no {attr} conflict of {link} in group {gid}: {conflicts(client, gid)}")


def mtu(netns, name):
    return netns.ip_json("link", "show", "dev", name)[0]["mtu"]


def group_of(netns, name):
    return netns.links_by_name()[name]["group_id"]


def has_addr(netns, name, cidr):
    addr, plen = cidr.split("/")
    for a in netns.ip_json("addr", "show", "dev", name)[0].get("addr_info", []):
        if a["local"] == addr and a["prefixlen"] == int(plen):
            return True
    return False


@pytest.fixture
def nm(netns, bus, workdir):
    peer_daemons.check_prerequisites()
    netns.ip("link", "set", "lo", "up")
    d = peer_daemons.NetworkManager(netns, bus, workdir,
                                    unmanaged="interface-name:*p;interface-name:lo;"
                                              "interface-name:eth*")
    yield d
    d.stop()


@pytest.fixture
def networkd(netns, bus, workdir):
    peer_daemons.check_prerequisites()
    root = gdlib.ConfigRoot(workdir, "root")
    d = peer_daemons.Networkd(netns, bus, workdir, root)
    d.config_root = root
    yield d
    d.stop()


def veth(netns, name, up=True):
    netns.ip("link", "add", name, "type", "veth", "peer", "name", name + "p")
    netns.ip("link", "set", name + "p", "up")
    if up:
        netns.ip("link", "set", name, "up")


HOME = "Home Wi-Fi"


def start_nm_wlan(netns, nm, **profile):
    veth(netns, "wlan0")
    nm.add_profile("home", peer_daemons.nm_profile(HOME, "wlan0", **profile))
    nm.start()
    nm.wait_activated("wlan0")


def test_networkmanager_conflicts_enforced_and_counted(netns, nm, workdir, groupd_factory, bus):
    start_nm_wlan(netns, nm, mtu=1500, addresses=["10.81.1.2/24"])
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2")
    root.write_group("50-laptop.group", gdlib.policy_text(
        100, "laptop", {"Name": "wlan0"}, mtu=1400, addresses=["10.99.0.1/24"]))
    d = groupd_factory(config_root=root)
    c = d.client

    link = c.get_link("wlan0")
    assert (link["ManagedBy"], link["ManagedBySource"]) == ("NetworkManager", HOME)
    idx = link["Index"]
    managers = {i: (m, s) for i, m, s in c.call("ListLinkManagers")[0]}
    assert managers[idx] == ("NetworkManager", HOME)
    assert managers[netns.links_by_name()["wlan0p"]["ifindex"]] == ("none", "")
    links = json.loads(groupctl(bus, "--json", "links").stdout)["Links"]
    assert {l["Name"]: l["ManagedBy"] for l in links}["wlan0"] == "NetworkManager"

    # The conflicts, with both values and the source; enforced.
    want = [("wlan0", "MTU", "1400", "1500", "NetworkManager", HOME, "enforce"),
            ("wlan0", "Address", "10.99.0.1/24", "10.81.1.2/24", "NetworkManager", HOME,
             "enforce")]
    gdlib.wait_for(lambda: without_repairs(conflicts(c, 100)) == want, 30, what="the conflicts")
    gdlib.wait_for(lambda: mtu(netns, "wlan0") == 1400 and has_addr(netns, "wlan0", "10.99.0.1/24"),
                   30, what="groupd's MTU and address")
    assert c.group_properties(100)["Policy"]["OtherManagers"]["data"] == "enforce"
    plan = json.loads(groupctl(bus, "--json", "plan").stdout)
    (g,) = [g for g in plan["groups"] if g["id"] == 100]
    assert [(x["link"], x["attribute"], x["groupd"], x["other"], x["manager"], x["source"],
             x["action"]) for x in g["conflicts"]] == want
    text = groupctl(bus, "plan").stdout
    assert "conflict: wlan0 MTU: groupd 1400, NetworkManager 1500 (Home Wi-Fi); enforce" in text
    show = groupctl(bus, "show", "100").stdout
    assert "Conflicts: wlan0 MTU: groupd 1400, NetworkManager 1500 (Home Wi-Fi); enforce" in show
    shown = json.loads(groupctl(bus, "--json", "show", "100").stdout)["Conflicts"]
    assert [tuple(c[:7]) for c in shown] == want

    # NetworkManager applies its profile again: 1500, and groupd's address
    # gone; groupd puts both back and counts the repairs.
    before = (repairs(c, 100, "wlan0", "MTU"), repairs(c, 100, "wlan0", "Address"))
    assert before[0] >= 1 and before[1] >= 1
    nm.nmcli("device", "reapply", "wlan0")
    gdlib.wait_for(lambda: repairs(c, 100, "wlan0", "MTU") > before[0]
                   and repairs(c, 100, "wlan0", "Address") > before[1], 30,
                   what="the repairs after the reapply")
    gdlib.wait_for(lambda: mtu(netns, "wlan0") == 1400 and has_addr(netns, "wlan0", "10.99.0.1/24"),
                   30, what="groupd's MTU and address again")
    # Logged once per link and attribute, however often it was repaired.
    log = d.log_path.read_text()
    assert log.count("link wlan0: MTU: group 100 (laptop) wants 1400, NetworkManager Home Wi-Fi "
                     "sets 1500") == 1, log
    assert log.count("link wlan0: Address: group 100 (laptop) wants 10.99.0.1/24") == 1, log
    assert c.group_property(100, "LastError") == ""
    nm.check_inside()


def test_networkmanager_yield(netns, nm, workdir, groupd_factory):
    start_nm_wlan(netns, nm, mtu=1500)
    veth(netns, "eth1")  # not NetworkManager's (unmanaged-devices)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2")
    root.write_group("50-laptop.group", gdlib.policy_text(
        100, "laptop", {"Name": "wlan0 eth1"}, mtu=1400, state="down",
        extra="[Group]\nOtherManagers=yield\n"))
    d = groupd_factory(config_root=root)
    c = d.client
    assert c.get_link("eth1")["ManagedBy"] == "none"
    want = [("wlan0", "MTU", "1400", "1500", "NetworkManager", HOME, "yield", 0),
            ("wlan0", "State", "down", "up", "NetworkManager", HOME, "yield", 0)]
    gdlib.wait_for(lambda: conflicts(c, 100) == want, 30, what="the conflicts")
    # eth1 joins; wlan0 stays NetworkManager's, out of the group, untouched.
    gdlib.wait_for(lambda: group_of(netns, "eth1") == 100 and mtu(netns, "eth1") == 1400, 30,
                   what="eth1 in the group")
    assert group_of(netns, "wlan0") == 0 and mtu(netns, "wlan0") == 1500
    assert c.group_properties(100)["Policy"]["OtherManagers"]["data"] == "yield"
    nm.nmcli("device", "reapply", "wlan0")
    nm.wait_activated("wlan0")
    # A change groupd makes reaches the group: a barrier after the reapply.
    c.set_group("100", {"TxQueueLength": 500})
    assert conflicts(c, 100) == want
    assert group_of(netns, "wlan0") == 0 and mtu(netns, "wlan0") == 1500
    assert nm.device_state("wlan0") == 100
    nm.check_inside()


def test_networkmanager_restart_unmanaged_and_match(netns, nm, workdir, groupd_factory):
    start_nm_wlan(netns, nm)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2", extra="ManagerRestartSec=600\n")
    root.write_group("10-nm.group", gdlib.policy_text(
        10, "nm", {"Name": "wlan0", "ManagedBy": "NetworkManager"}))
    root.write_group("20-other.group", gdlib.policy_text(
        20, "other", {"Name": "wlan0", "ManagedBy": "!NetworkManager"}))
    d = groupd_factory(config_root=root)
    c = d.client
    gdlib.wait_for(lambda: group_of(netns, "wlan0") == 10, 30, what="wlan0 in group 10")

    # NetworkManager stops: its devices stay its own through the grace
    # period (a restart), and nothing moves.
    nm.stop()
    assert c.get_link("wlan0")["ManagedBy"] == "NetworkManager"
    nm.start()
    nm.wait_activated("wlan0")
    c.set_group("10", {"TxQueueLength": 600})  # a barrier after NetworkManager's return
    assert c.get_link("wlan0")["ManagedBy"] == "NetworkManager"
    assert group_of(netns, "wlan0") == 10

    # Unmanaged: nobody's; the other policy takes it. Managed again: back.
    nm.nmcli("device", "set", "wlan0", "managed", "no")
    gdlib.wait_for(lambda: c.get_link("wlan0")["ManagedBy"] == "none", 30, what="unmanaged")
    gdlib.wait_for(lambda: group_of(netns, "wlan0") == 20, 30, what="wlan0 in group 20")
    nm.nmcli("device", "set", "wlan0", "managed", "yes")
    gdlib.wait_for(lambda: c.get_link("wlan0")["ManagedBy"] == "NetworkManager", 30,
                   what="managed again")
    gdlib.wait_for(lambda: group_of(netns, "wlan0") == 10, 30, what="wlan0 back in group 10")

    # Plugged out, and at once (one `ip -batch`, before NetworkManager says
    # so) a link of the same name that NetworkManager leaves alone (ifb):
    # nobody's, the other policy takes it. (A device removed while its link
    # is there is held for 10 s, as NetworkManager removes them all when it
    # stops; this link is another one, another ifindex.)
    netns.batch(["link del wlan0", "link add wlan0 type ifb"])
    gdlib.wait_for(lambda: c.get_link("wlan0")["ManagedBy"] == "none", 5,
                   what="the new wlan0 nobody's")
    gdlib.wait_for(lambda: group_of(netns, "wlan0") == 20, 30, what="the new wlan0 in group 20")
    netns.ip("link", "del", "wlan0")
    veth(netns, "wlan0")
    nm.wait_activated("wlan0")
    gdlib.wait_for(lambda: c.get_link("wlan0")["ManagedBy"] == "NetworkManager", 30,
                   what="wlan0 NetworkManager's again")
    gdlib.wait_for(lambda: group_of(netns, "wlan0") == 10, 30, what="wlan0 in group 10 again")

    # A short grace period: once it passed without NetworkManager, its
    # devices are nobody's.
    root.daemon_conf(debounce="0.2", extra="ManagerRestartSec=1\n")
    c.call("Reload", "u", 0)
    nm.stop()
    gdlib.wait_for(lambda: c.get_link("wlan0")["ManagedBy"] == "none", 60,
                   what="NetworkManager's devices forgotten")
    gdlib.wait_for(lambda: group_of(netns, "wlan0") == 20, 30, what="wlan0 in group 20")


NETWORK = """[Match]
Name={name}

[Link]
MTUBytes=1500
Group={group}

[Network]
Address={address}
LinkLocalAddressing=no
IPv6AcceptRA=no
"""


def test_networkd_conflicts_enforce_and_yield(netns, networkd, groupd_factory, bus):
    netns.ip("link", "set", "lo", "up")
    veth(netns, "en0", up=False)
    veth(netns, "en1", up=False)
    f0 = networkd.write_network("50-en0.network",
                                NETWORK.format(name="en0", group=200, address="10.82.0.2/24"))
    networkd.write_network("51-en1.network",
                           NETWORK.format(name="en1", group=201, address="10.82.1.2/24"))
    networkd.start()
    networkd.wait_configured(netns, "en0")
    networkd.wait_configured(netns, "en1")
    assert group_of(netns, "en0") == 200 and mtu(netns, "en0") == 1500
    source0 = "/etc/systemd/network/50-en0.network"
    source1 = "/etc/systemd/network/51-en1.network"
    assert f0 == networkd.root / source0.lstrip("/")

    root = networkd.config_root
    root.daemon_conf(debounce="0.2")
    root.write_group("50-enforce.group", gdlib.policy_text(100, "servers", {"Name": "en0"},
                                                           mtu=1400))
    root.write_group("51-yield.group", gdlib.policy_text(
        101, "others", {"Name": "en1"}, mtu=1400, extra="[Group]\nOtherManagers=yield\n"))
    d = groupd_factory(config_root=root)
    c = d.client
    link = c.get_link("en0")
    assert (link["ManagedBy"], link["ManagedBySource"]) == ("systemd-networkd", source0)

    want0 = [("en0", "MTU", "1400", "1500", "systemd-networkd", source0, "enforce"),
             ("en0", "Group", "100", "200", "systemd-networkd", source0, "enforce")]
    want1 = [("en1", "MTU", "1400", "1500", "systemd-networkd", source1, "yield", 0),
             ("en1", "Group", "101", "201", "systemd-networkd", source1, "yield", 0)]
    gdlib.wait_for(lambda: without_repairs(conflicts(c, 100)) == want0, 30, what="en0's conflicts")
    gdlib.wait_for(lambda: group_of(netns, "en0") == 100 and mtu(netns, "en0") == 1400, 30,
                   what="en0 in group 100 with MTU 1400")
    # The yielding policy leaves en1 to networkd; its group has no member,
    # so its conflicts are read from the plan.
    plan = json.loads(c.call("Plan")[0])
    (g,) = [g for g in plan["groups"] if g["id"] == 101]
    assert [(x["link"], x["attribute"], x["groupd"], x["other"], x["manager"], x["source"],
             x["action"], x["repairs"]) for x in g["conflicts"]] == want1
    assert group_of(netns, "en1") == 201 and mtu(netns, "en1") == 1500

    # networkd applies its file again: group 200, MTU 1500; groupd repairs.
    before = (repairs(c, 100, "en0", "MTU"), repairs(c, 100, "en0", "Group"))
    networkd.networkctl("reconfigure", "en0")
    gdlib.wait_for(lambda: repairs(c, 100, "en0", "MTU") > before[0]
                   and repairs(c, 100, "en0", "Group") > before[1], 60,
                   what="the repairs after networkctl reconfigure")
    gdlib.wait_for(lambda: group_of(netns, "en0") == 100 and mtu(netns, "en0") == 1400, 30,
                   what="en0 back in line")
    assert group_of(netns, "en1") == 201 and mtu(netns, "en1") == 1500
    log = d.log_path.read_text()
    assert log.count("link en0: Group: group 100 (servers) wants 100, systemd-networkd "
                     f"{source0} sets 200") == 1, log

    # networkd restarts: its links stay its own, the conflicts stand.
    networkd.restart()
    networkd.wait_configured(netns, "en0")
    gdlib.wait_for(lambda: without_repairs(conflicts(c, 100)) == want0, 60,
                   what="en0's conflicts after networkd's restart")
    gdlib.wait_for(lambda: group_of(netns, "en0") == 100 and mtu(netns, "en0") == 1400, 30,
                   what="en0 in line after networkd's restart")
    assert c.get_link("en0")["ManagedBy"] == "systemd-networkd"

    # en1 handed to nobody (Unmanaged=yes): nothing to yield to any more, so
    # the policy takes it.
    networkd.write_network("51-en1.network", "[Match]\nName=en1\n\n[Link]\nUnmanaged=yes\n")
    networkd.networkctl("reload")
    gdlib.wait_for(lambda: c.get_link("en1")["ManagedBy"] == "none", 60, what="en1 unmanaged")
    gdlib.wait_for(lambda: group_of(netns, "en1") == 101 and mtu(netns, "en1") == 1400, 30,
                   what="en1 in group 101")
    plan = json.loads(c.call("Plan")[0])
    assert [g["conflicts"] for g in plan["groups"] if g["id"] == 101] == [[]]
    networkd.check_inside()


def mac(netns, name):
    return netns.ip_json("link", "show", "dev", name)[0]["address"]


def test_networkd_mac_conflict(netns, networkd, groupd_factory):
    """networkd's [Link] MACAddress= against a policy's MACAddress=: both
    values and the file, enforced, and repaired after networkctl reconfigure."""
    netns.ip("link", "set", "lo", "up")
    veth(netns, "en2", up=False)
    networkd.write_network("52-en2.network",
                           "[Match]\nName=en2\n\n[Link]\nMACAddress=02:00:00:00:00:09\n\n"
                           "[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n")
    networkd.start()
    networkd.wait_configured(netns, "en2")
    assert mac(netns, "en2") == "02:00:00:00:00:09"
    source = "/etc/systemd/network/52-en2.network"

    root = networkd.config_root
    root.daemon_conf(debounce="0.2")
    root.write_group("52-mac.group", gdlib.policy_text(102, "macs", {"Name": "en2"},
                                                       mac="02:00:00:00:00:10"))
    d = groupd_factory(config_root=root)
    c = d.client
    want = [("en2", "MACAddress", "02:00:00:00:00:10", "02:00:00:00:00:09", "systemd-networkd",
             source, "enforce")]
    gdlib.wait_for(lambda: without_repairs(conflicts(c, 102)) == want, 30, what="en2's conflict")
    gdlib.wait_for(lambda: mac(netns, "en2") == "02:00:00:00:00:10", 30, what="groupd's MAC")

    before = repairs(c, 102, "en2", "MACAddress")
    networkd.networkctl("reconfigure", "en2")
    gdlib.wait_for(lambda: repairs(c, 102, "en2", "MACAddress") > before, 60,
                   what="the repair after networkctl reconfigure")
    gdlib.wait_for(lambda: mac(netns, "en2") == "02:00:00:00:00:10", 30, what="groupd's MAC again")
    log = d.log_path.read_text()
    assert log.count("link en2: MACAddress: group 102 (macs) wants 02:00:00:00:00:10") == 1, log
    networkd.check_inside()

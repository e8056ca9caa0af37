# SPDX-License-Identifier: LGPL-2.1-or-later
"""MPTCP endpoint ownership in one namespace (no traffic needed): NetworkManager's
name on the bus alone is no owner, a restarted groupd knows the endpoints it made
(its state file) from the ones others made, and a config reload changes
flags in place or by replacing the endpoint."""

import os
import signal
import subprocess
import time

import gdlib
import pytest

MPTCP_PATH = "/net/groupd1/mptcp"
MPTCP_IFACE = "net.groupd1.Mptcp"
WLAN, WWAN = "10.81.1.2", "10.81.2.2"

GROUPS = {
    "10-wifi.group": "[Group]\nName=wifi\nId=10\n[Match]\nName=wlan0\n[MPTCP]\nEndpoint=subflow\n",
    "20-cellular.group": "[Group]\nName=cellular\nId=20\n[Match]\nName=wwan0\n"
    "[MPTCP]\nEndpoint=subflow\n",
}
CONF = "[MPTCP]\nMode=failover\nPreference=wifi cellular\nHoldDownSec=1\n"


@pytest.fixture
def links(netns):
    for name, addr in (("wlan0", WLAN), ("wwan0", WWAN)):
        netns.ip("link", "add", name, "type", "veth", "peer", "name", name + "p")
        netns.ip("link", "set", name, "up")
        netns.ip("link", "set", name + "p", "up")
        netns.ip("addr", "add", f"{addr}/24", "dev", name)
    return netns


def config(workdir, conf=CONF, groups=GROUPS):
    root = gdlib.ConfigRoot(workdir, f"root-{len(list(workdir.glob('root-*')))}")
    root.write_conf(conf)
    for name, text in groups.items():
        root.write_group(name, text)
    return root


def endpoints(netns):
    """{address: (dev, sorted flags)} of the kernel's endpoints."""
    out = {}
    for e in netns.ip_json("mptcp", "endpoint", "show"):
        flags = sorted(k for k in ("signal", "subflow", "backup", "fullmesh") if e.get(k))
        out[e["address"]] = (e.get("dev"), flags)
    return out


def prop(client, name):
    return client.get_property(MPTCP_PATH, MPTCP_IFACE, name)


FAILOVER = {WLAN: ("wlan0", ["subflow"]), WWAN: ("wwan0", ["backup", "subflow"])}


def test_networkmanager_name_alone_is_no_owner(links, groupd_factory, workdir, bus):
    """Ownership comes from what NetworkManager does on the members' devices
    (test_mptcp_nm.py, with the real NetworkManager), not from its name on
    the bus: a process holding the name changes nothing."""
    d = groupd_factory(config_root=config(workdir))
    gdlib.wait_for(lambda: endpoints(links) == FAILOVER, 5, what="failover endpoints")
    owner = subprocess.Popen(
        ["/usr/bin/python3", "-c",
         "import sys\n"
         "from gi.repository import Gio, GLib\n"
         f"c = Gio.DBusConnection.new_for_address_sync('{bus.address}', "
         "Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | "
         "Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)\n"
         "c.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', "
         "'RequestName', GLib.Variant('(su)', ('org.freedesktop.NetworkManager', 4)), None, 0, "
         "-1, None)\n"
         "print('owned', flush=True)\n"
         "sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline().strip() == "owned"
        # It has no devices: groupd still manages, and fails over.
        links.ip("link", "set", "wlan0p", "down")
        gdlib.wait_for(lambda: endpoints(links) == {WWAN: ("wwan0", ["subflow"])}, 5,
                       what="failed over to cellular")
        assert prop(d.client, "Owner") == "groupd", prop(d.client, "OwnerDetail")
    finally:
        owner.stdin.close()
        owner.wait(timeout=10)


def test_restart_knows_its_endpoints(request, links, groupd_factory, workdir):
    root = config(workdir)
    d = groupd_factory(config_root=root)
    gdlib.wait_for(lambda: endpoints(links) == FAILOVER, 5, what="failover endpoints")
    # One state file per network namespace (named after its inode).
    # groupd writes it after the kernel acknowledged the endpoints: wait for it.
    ino = os.stat(f"/run/netns/{links.name}").st_ino
    state_file = root.path / f"run/groupd/mptcp-endpoints.{ino}"

    def state_lists_both():
        text = state_file.read_text() if state_file.exists() else ""
        return WLAN in text and WWAN in text

    gdlib.wait_for(state_lists_both, 5, what="both endpoints in the state file")
    # Killed: the endpoints stay in the kernel; the cellular one is made
    # different from what the policy wants (fullmesh) meanwhile, so only the
    # state file can tell it is groupd's, not another owner's.
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait(30)
    request.node._groupd_daemons.remove(d)  # it did not exit 0, on purpose
    d.kill()
    ids = {e["address"]: e["id"] for e in links.ip_json("mptcp", "endpoint", "show")}
    links.ip("mptcp", "endpoint", "change", "id", str(ids[WWAN]), "fullmesh")
    d2 = groupd_factory(config_root=root)
    gdlib.wait_for(lambda: endpoints(links) == FAILOVER, 5, what="endpoints put back")
    assert prop(d2.client, "Owner") == "groupd", prop(d2.client, "OwnerDetail")
    owned = {e[1]: e[3] for e in prop(d2.client, "Endpoints")}
    assert owned == {WLAN: "wifi", WWAN: "cellular"}, owned


def test_endpoint_made_by_hand_refuses(links, groupd_factory, workdir):
    # A signal endpoint on wlan0 (not what the policy makes) and one on an
    # address no member has, before start.
    links.ip("mptcp", "endpoint", "add", WLAN, "dev", "wlan0", "signal")
    links.ip("mptcp", "endpoint", "add", "10.81.9.9", "signal")
    d = groupd_factory(config_root=config(workdir))
    gdlib.wait_for(lambda: prop(d.client, "Owner") == "foreign-endpoints", 5,
                   what="Owner foreign-endpoints")
    assert "Owner=groupd" in prop(d.client, "OwnerDetail")
    time.sleep(0.3)
    assert endpoints(links) == {WLAN: ("wlan0", ["signal"]), "10.81.9.9": (None, ["signal"])}
    # Owner=groupd takes over: none of them is wanted, one FLUSH_ADDRS.
    root = config(workdir, conf=CONF + "Owner=groupd\n")
    d.terminate()
    d2 = groupd_factory(config_root=root)
    gdlib.wait_for(lambda: endpoints(links) == FAILOVER, 5, what="groupd took over")
    assert prop(d2.client, "Owner") == "groupd"
    assert "flushed 2 endpoints" in d2.log_path.read_text()


def test_foreign_endpoint_gone_groupd_manages(links, groupd_factory, workdir):
    """No event announces an endpoint that goes: groupd looks again while it
    stands down, and manages once the endpoint another program made is gone
    (as NetworkManager deletes its own a moment after a hand-over)."""
    links.ip("mptcp", "endpoint", "add", WLAN, "dev", "wlan0", "subflow")
    d = groupd_factory(config_root=config(workdir))
    gdlib.wait_for(lambda: prop(d.client, "Owner") == "foreign-endpoints", 5,
                   what="Owner foreign-endpoints")
    # The links' own late events (IPv6 duplicate address detection) pass
    # first, so that only groupd's second look can see the change.
    time.sleep(3)
    links.ip("mptcp", "endpoint", "flush")
    gdlib.wait_for(lambda: prop(d.client, "Owner") == "groupd", 10, what="Owner groupd")
    gdlib.wait_for(lambda: endpoints(links) == FAILOVER, 5, what="failover endpoints")


def test_reload_changes_flags(links, groupd_factory, workdir):
    root = config(workdir)
    d = groupd_factory(config_root=root)
    gdlib.wait_for(lambda: endpoints(links) == FAILOVER, 5, what="failover endpoints")
    # fullmesh on wifi: a flag the kernel cannot change in place (replaced).
    root.write_group("10-wifi.group", GROUPS["10-wifi.group"].replace(
        "Endpoint=subflow", "Endpoint=subflow fullmesh"))
    d.client.call("Reload", "u", 0)
    want = dict(FAILOVER)
    want[WLAN] = ("wlan0", ["fullmesh", "subflow"])
    gdlib.wait_for(lambda: endpoints(links) == want, 5, what="fullmesh on wifi")
    # Mode=aggregate by reload: no backup anywhere.
    root.write_conf(CONF.replace("failover", "aggregate"))
    d.client.call("Reload", "u", 0)
    want[WWAN] = ("wwan0", ["subflow"])
    gdlib.wait_for(lambda: endpoints(links) == want, 5, what="aggregate")
    assert prop(d.client, "Mode") == "aggregate"
    assert prop(d.client, "ActiveGroup") == ""

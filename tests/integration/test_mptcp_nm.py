# SPDX-License-Identifier: LGPL-2.1-or-later
"""MPTCP on a NetworkManager laptop, with the real NetworkManager in the test's
namespace (peer_daemons.py) managing wlan0 and wwan0, each with a default
route: NetworkManager adds MPTCP endpoints for both (its default
connection.mptcp-flags), so groupd stands down — touching no endpoint and no
sysctl — and says so; where NetworkManager adds none (MPTCP disabled in the
profile, or no default route) groupd manages. `groupctl mptcp hand-over`
hands NetworkManager's MPTCP on those devices to groupd; after it the
failover endpoints are groupd's and stay so across `nmcli device reapply`,
a NetworkManager restart and the hot-plug of a device. (The traffic through
failover with NetworkManager running: test_mptcp_nm_failover.py.)"""

import json
import os
import time
from pathlib import Path

import gdlib
import peer_daemons
import pytest
# The same laptop as there: groups, configuration, addresses, helpers.
from test_mptcp_owner import CONF, FAILOVER, GROUPS, WLAN, WWAN, endpoints, prop

REPO = Path(__file__).resolve().parents[2]
NM_DEFAULT = {WLAN: ("wlan0", ["subflow"]), WWAN: ("wwan0", ["subflow"])}


def groupctl(bus, *args, check=True):
    path = Path(os.environ.get("GROUPCTL_BIN", REPO / "build" / "src" / "groupctl"))
    assert path.is_file(), f"groupctl not found at {path}"
    return gdlib.run([str(path), f"--address={bus.address}", *args], check=check)


def sysctl(netns, name):
    return gdlib.run(netns.exec_cmd("sysctl", "-n", name)).stdout.strip()


def config(workdir):
    root = gdlib.ConfigRoot(workdir)
    root.write_conf(CONF)
    for name, text in GROUPS.items():
        root.write_group(name, text)
    return root


def add_link(netns, name):
    netns.ip("link", "add", name, "type", "veth", "peer", "name", name + "p")
    netns.ip("link", "set", name + "p", "up")


@pytest.fixture
def laptop(netns, bus, workdir):
    """wlan0 and wwan0 with NetworkManager profiles (address, gateway: a
    default route each); NetworkManager not yet started."""
    peer_daemons.check_prerequisites()
    netns.ip("link", "set", "lo", "up")
    for name in ("wlan0", "wwan0"):
        add_link(netns, name)
    nm = peer_daemons.NetworkManager(netns, bus, workdir,
                                     unmanaged="interface-name:*p;interface-name:lo")
    yield nm
    nm.stop()


def profiles(nm, wlan_flags=None, wwan_gateway="10.81.2.1"):
    nm.add_profile("home", peer_daemons.nm_profile(
        "Home Wi-Fi", "wlan0", addresses=[f"{WLAN}/24"], gateway="10.81.1.1",
        mptcp_flags=wlan_flags))
    nm.add_profile("cell", peer_daemons.nm_profile(
        "Cellular", "wwan0", addresses=[f"{WWAN}/24"], gateway=wwan_gateway))


def start(nm):
    nm.start()
    nm.wait_activated("wlan0")
    nm.wait_activated("wwan0")


def test_networkmanager_owns_until_handed_over(netns, laptop, workdir, groupd_factory, bus):
    nm = laptop
    profiles(nm)
    start(nm)
    gdlib.wait_for(lambda: endpoints(netns) == NM_DEFAULT, 30, what="NetworkManager's endpoints")
    stale = sysctl(netns, "net.mptcp.stale_loss_cnt")
    d = groupd_factory(config_root=config(workdir))
    c = d.client
    gdlib.wait_for(lambda: prop(c, "Owner") == "NetworkManager", 30, what="Owner NetworkManager")
    detail = prop(c, "OwnerDetail")
    assert ('wlan0 (connection "Home Wi-Fi", connection.mptcp-flags default: enabled,subflow)'
            in detail), detail
    assert 'wwan0 (connection "Cellular"' in detail and "groupctl mptcp hand-over" in detail
    # Nothing of NetworkManager's is touched: no flag, no sysctl, and its
    # endpoints are not called groupd's.
    assert endpoints(netns) == NM_DEFAULT
    assert sysctl(netns, "net.mptcp.stale_loss_cnt") == stale
    assert prop(c, "SysctlChanges") == []
    assert [e for e in prop(c, "Endpoints") if e[3]] == []
    log = d.log_path.read_text()
    assert "taken as groupd's" not in log

    # NetworkManager restarts while the endpoints are its own: groupd waits
    # through it (ManagerRestartSec=) and takes nothing over, flags nothing,
    # writes no sysctl.
    nm.stop()
    assert prop(c, "Owner") == "NetworkManager"
    start(nm)
    gdlib.wait_for(lambda: endpoints(netns) == NM_DEFAULT, 30,
                   what="NetworkManager's endpoints after its restart")
    assert prop(c, "Owner") == "NetworkManager", prop(c, "OwnerDetail")
    assert sysctl(netns, "net.mptcp.stale_loss_cnt") == stale
    assert prop(c, "SysctlChanges") == []
    assert [e for e in prop(c, "Endpoints") if e[3]] == []
    log = d.log_path.read_text()
    assert "endpoint owner: groupd" not in log and "taken as groupd's" not in log, log

    # The hand-over: NetworkManager's profiles say "disabled", it removes
    # its endpoints, groupd makes the failover ones.
    out = json.loads(groupctl(bus, "--json", "mptcp", "hand-over").stdout)
    assert sorted((p["Link"], p["Connection"], p["From"], p["To"], p["Reapplied"])
                  for p in out["Profiles"]) == [
        ("wlan0", "Home Wi-Fi", "default", "disabled", True),
        ("wwan0", "Cellular", "default", "disabled", True)]
    for f in ("home", "cell"):
        assert "mptcp-flags=1" in (nm.profiles / f"{f}.nmconnection").read_text()
    gdlib.wait_for(lambda: prop(c, "Owner") == "groupd", 30, what="Owner groupd")
    gdlib.wait_for(lambda: endpoints(netns) == FAILOVER, 30, what="groupd's failover endpoints")
    owned = {e[1]: e[3] for e in prop(c, "Endpoints")}
    assert owned == {WLAN: "wifi", WWAN: "cellular"}, owned

    # NetworkManager applies its profile again: the backup flag stays.
    nm.nmcli("device", "reapply", "wwan0")
    nm.nmcli("device", "reapply", "wlan0")
    time.sleep(1)
    assert endpoints(netns) == FAILOVER
    assert prop(c, "Owner") == "groupd"

    # NetworkManager restarts: groupd keeps its endpoints and never stands
    # down (its last known settings stand while it is away).
    stood_down = d.log_path.read_text().count("not managing endpoints")
    nm.stop()
    assert prop(c, "Owner") == "groupd"
    start(nm)
    time.sleep(1)
    assert prop(c, "Owner") == "groupd"
    assert endpoints(netns) == FAILOVER
    assert d.log_path.read_text().count("not managing endpoints") == stood_down

    # Hot-plug: wwan0 goes and comes back; NetworkManager activates its
    # (handed-over) profile, groupd makes its backup endpoint again.
    netns.ip("link", "del", "wwan0")
    gdlib.wait_for(lambda: WWAN not in endpoints(netns), 30, what="wwan0's endpoint gone")
    add_link(netns, "wwan0")
    nm.wait_activated("wwan0")
    gdlib.wait_for(lambda: endpoints(netns) == FAILOVER, 30, what="wwan0's backup endpoint back")
    assert prop(c, "Owner") == "groupd"

    # Given back: NetworkManager's default again; groupd stands down and
    # leaves the endpoints it made (it never deletes what is no longer its
    # to manage).
    out = json.loads(groupctl(bus, "--json", "mptcp", "hand-back").stdout)
    assert sorted((p["Link"], p["To"]) for p in out["Profiles"]) == [
        ("wlan0", "default"), ("wwan0", "default")]
    gdlib.wait_for(lambda: prop(c, "Owner") == "NetworkManager", 30,
                   what="Owner NetworkManager again")
    nm.check_inside()


def test_networkmanager_without_mptcp_or_default_route(netns, laptop, workdir, groupd_factory):
    """MPTCP disabled in wlan0's profile, no gateway on wwan0: NetworkManager
    adds no endpoint, and groupd manages from the start."""
    nm = laptop
    profiles(nm, wlan_flags=1, wwan_gateway=None)
    start(nm)
    d = groupd_factory(config_root=config(workdir))
    c = d.client
    # wwan0 has no default route: failover needs one to judge it healthy,
    # so wifi alone carries an endpoint.
    gdlib.wait_for(lambda: prop(c, "Owner") == "groupd", 30, what="Owner groupd")
    gdlib.wait_for(lambda: WLAN in endpoints(netns), 30, what="groupd's endpoint on wlan0")
    assert endpoints(netns)[WLAN] == ("wlan0", ["subflow"])
    nm.check_inside()

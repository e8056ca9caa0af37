# SPDX-License-Identifier: LGPL-2.1-or-later
"""MPTCP failover on a NetworkManager laptop, end to end: the rig of
tests/mptcp/rig.py with the real NetworkManager (peer_daemons.py) in the
client namespace managing wlan0 and wwan0 from its profiles (address, gateway,
its default connection.mptcp-flags), groupd next to it on the same bus.

NetworkManager adds its own MPTCP endpoints at first (both paths active, no
backup): groupd stands down. `groupctl mptcp hand-over` gives the endpoints of
the two devices to groupd, and from then on the course is that of
test_mptcp_failover.py without NetworkManager — a carrier loss on wlan0
fails over to cellular with no byte lost, traffic returns after the
hold-down, power-save keeps wwan0 silent — and it stays so after `nmcli
device reapply`, a NetworkManager restart and wwan0 plugged out and in
again. Stall bounds are "it happened" checks; the figures come from
tests/bench/bench-mptcp-nm.py."""

import json
import os
import sys
import time
from pathlib import Path

import gdlib
import peer_daemons

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mptcp"))
import groupd_mptcp as G  # noqa: E402
import nm_rig  # noqa: E402
import rig as R  # noqa: E402
from mptcp_fixtures import (rig, start_groupd, wait_kernel_endpoints,  # noqa: E402,F401
                            wait_subflow)
from test_mptcp_failover import (BACKUP_IDLE_BOUND, FAILED_OVER_ENDPOINTS,  # noqa: E402
                                 FAILOVER_ENDPOINTS, HOLD, assert_back_on_wlan,
                                 assert_stream_intact, run_failover)

REPO = Path(__file__).resolve().parents[2]
NM_DEFAULT = {R.WLAN: ["subflow"], R.WWAN: ["subflow"]}


def groupctl(g, *args):
    path = Path(os.environ.get("GROUPCTL_BIN", REPO / "build" / "src" / "groupctl"))
    assert path.is_file(), f"groupctl not found at {path}"
    return gdlib.run([str(path), f"--address={g.bus.address}", *args])


def nm_laptop(rig, start_groupd, mode):
    """NetworkManager in the client namespace, then groupd on its bus, as on
    a laptop; NetworkManager's MPTCP handed over. Returns (groupd,
    NetworkManager)."""
    peer_daemons.check_prerequisites()
    daemons = []

    def nm_first(g):
        daemons.append(nm_rig.start_networkmanager(rig, g))

    g = start_groupd(conf=G.mptcp_conf(mode, HOLD), before_start=nm_first)
    (nm,) = daemons
    # NetworkManager's endpoints, both paths active: groupd stands down.
    gdlib.wait_for(lambda: g.prop("Owner") == "NetworkManager", 30, what="Owner NetworkManager")
    wait_kernel_endpoints(rig, NM_DEFAULT, timeout=30)
    out = json.loads(groupctl(g, "--json", "mptcp", "hand-over").stdout)
    assert sorted((p["Link"], p["To"], p["Reapplied"]) for p in out["Profiles"]) == [
        (R.WLAN, "disabled", True), (R.WWAN, "disabled", True)], out
    gdlib.wait_for(lambda: g.prop("Owner") == "groupd", 30, what="Owner groupd")
    return g, nm


def test_failover_on_a_networkmanager_laptop(rig, start_groupd):
    g, nm = nm_laptop(rig, start_groupd, "failover")
    wait_kernel_endpoints(rig, FAILOVER_ENDPOINTS, timeout=30)

    def course():
        result, t, counters, pm, signals = run_failover(rig, g, "carrier", FAILOVER_ENDPOINTS,
                                                        FAILED_OVER_ENDPOINTS)
        assert_stream_intact(result, t)
        assert t["back"] - t["heal"] >= HOLD - 0.1, \
            f"back on wifi {t['back'] - t['heal']:.2f} s after the heal (HoldDownSec={HOLD})"
        backup = R.bytes_between(counters, R.WWAN, t["fault"] - 1.0, t["fault"])
        assert backup <= BACKUP_IDLE_BOUND, f"{backup} bytes on wwan0 while wlan0 was healthy"
        assert_back_on_wlan(counters, t)
        assert g.prop("Owner") == "groupd"
        assert g.prop("LastError") == ""

    course()
    # NetworkManager applies its profiles again: the backup flag stays.
    nm.nmcli("device", "reapply", R.WWAN)
    nm.nmcli("device", "reapply", R.WLAN)
    wait_kernel_endpoints(rig, FAILOVER_ENDPOINTS, timeout=10)
    course()
    # NetworkManager restarts: groupd keeps the endpoints, and failover works.
    nm.stop()
    nm_rig.start(nm)
    wait_kernel_endpoints(rig, FAILOVER_ENDPOINTS, timeout=10)
    assert g.prop("Owner") == "groupd"
    course()
    nm.check_inside()


def test_power_save_on_a_networkmanager_laptop(rig, start_groupd):
    g, nm = nm_laptop(rig, start_groupd, "power-save")
    wait_kernel_endpoints(rig, {R.WLAN: ["subflow"]}, timeout=30)

    def course():
        result, t, counters, pm, signals = run_failover(
            rig, g, "carrier", {R.WLAN: ["subflow"]}, {R.WWAN: ["subflow"]})
        assert_stream_intact(result, t)
        assert R.bytes_between(counters, R.WWAN, 0, t["fault"]) == 0, \
            "bytes on wwan0 while wlan0 was healthy (power-save)"
        assert_back_on_wlan(counters, t)

    course()
    # wwan0 plugged out and in: NetworkManager activates its (handed-over)
    # profile again; power-save keeps it without endpoint and silent.
    rig.ip(rig.client, "link", "set", R.WWAN, "netns", rig.server)
    time.sleep(0.5)
    rig.ip(rig.server, "link", "set", R.WWAN, "netns", rig.client)
    rig.ip(rig.client, "link", "set", R.WWAN, "up")
    nm.wait_activated(R.WWAN)
    rig.batch(rig.client, [f"qdisc replace dev {R.WWAN} root tbf rate {rig.rates[R.WWAN]} "
                           "burst 32kb limit 64kb"], tool="tc")
    wait_kernel_endpoints(rig, {R.WLAN: ["subflow"]}, timeout=10)
    assert g.prop("Owner") == "groupd"
    course()
    nm.check_inside()

# SPDX-License-Identifier: LGPL-2.1-or-later
"""The MPTCP rig and stream tool themselves (tests/mptcp/), without groupd:
each fault really cuts wlan0 and each heal restores it, the kernel alone
(backup endpoint on wwan0) moves the stream to wwan0 with a measurable
stall and loses nothing, the stream tool reports a killed peer, and
teardown leaves no namespace behind."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mptcp"))
import rig as R  # noqa: E402
from mptcp_fixtures import rig  # noqa: E402,F401


def netns_names():
    out = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True).stdout
    return {n["name"] for n in json.loads(out or "[]")}


def link_state(rig):
    link = rig.link(rig.client, R.WLAN)
    addrs = [a["local"] for a in rig.ip_json(rig.client, "addr", "show", "dev", R.WLAN)[0]
             .get("addr_info", []) if a["family"] == "inet"]
    return {"up": "UP" in link["flags"], "carrier": "LOWER_UP" in link["flags"],
            "addr": R.CLIENT_ADDR[R.WLAN] in addrs, "route": R.WLAN in rig.default_routes()}


HEALTHY = {"up": True, "carrier": True, "addr": True, "route": True}
FAULTED = {
    "carrier": {"up": True, "carrier": False, "addr": True, "route": True},
    "admin": {"up": False, "carrier": False, "addr": True, "route": False},
    "addr": {"up": True, "carrier": True, "addr": False, "route": False},
    "blackhole": HEALTHY,  # silent: nothing to see on the client
}


def test_faults_cut_wlan0_kernel_alone_fails_over(rig):
    rig.kernel_endpoints()
    ctr = rig.start_counters()
    phase = 2.0
    stream = rig.start_stream(duration=1.0 + len(R.FAULTS) * 2 * phase)
    time.sleep(max(0.0, stream.started + 1.0 - time.monotonic()))
    marks = []
    for kind in R.FAULTS:
        assert link_state(rig) == HEALTHY, kind
        drops = rig.blackhole_drops()
        t = rig.fault(kind)
        if kind == "carrier":
            rig.wait_carrier(R.WLAN, False)
        assert link_state(rig) == FAULTED[kind], kind
        time.sleep(phase)
        if kind == "blackhole":
            assert rig.blackhole_drops() > drops + 10, "the blackhole dropped nothing"
        h = rig.heal(kind)
        marks.append((kind, t, h))
        assert link_state(rig) == HEALTHY, f"after healing {kind}"
        time.sleep(phase)
    result = stream.wait()
    counters = ctr.stop()
    assert not R.integrity(result), R.integrity(result)
    for kind, t, h in marks:
        # The kernel alone moves data to wwan0 during every fault …
        assert R.busy_bins(counters, R.WWAN, t, h), f"no data on wwan0 during {kind}"
    # … after a stall the stream tool sees (the kernel needs ~0.4 s; a
    # lower bound only, to show the measurement is real).
    kind, t, h = marks[0]
    a = R.analyse(result, t, h)
    assert a["stall"] >= 0.1 and a["catch_up"] >= a["stall"] - 0.05, a
    # Before the first fault, nothing on the backup link.
    assert R.bytes_between(counters, R.WWAN, 0, marks[0][1]) < 1500


def test_stream_reports_a_killed_peer(rig):
    rig.kernel_endpoints()
    stream = rig.start_stream(duration=3.0, extra_wait=8)
    time.sleep(1.0)
    stream.server.send_signal(signal.SIGKILL)
    stream.server.wait()
    client = stream.client
    # Either way the kernel ends a killed peer's connection (MP_FASTCLOSE when it had unread
    # data, DATA_FIN when not), the client learns it at once: the bound is TCG's slowness,
    # not a wait for the stream's own deadline (duration + grace = 28 s).
    client.wait(15)
    out = json.loads(stream.client_out.read_text())
    assert out["reset"] is True, out
    assert not out["error"].startswith("deadline"), out["error"]
    assert out["rx"]["lost"] > 0 and not out["rx"]["end_seen"], out["rx"]
    assert out["mptcp"] is True and out["congestion"] == "cubic", out


def test_teardown_removes_namespaces(workdir):
    path = Path(workdir) / "rig-teardown"
    path.mkdir()
    with R.Rig(workdir=path) as r:
        names = {r.client, r.server}
        assert names <= netns_names()
        r.start_stream(duration=30)  # still running at teardown
    assert not names & netns_names()
    with pytest.raises(RuntimeError):
        with R.Rig(workdir=path) as r:
            names = {r.client, r.server}
            raise RuntimeError("a failing test")
    assert not names & netns_names()

# SPDX-License-Identifier: LGPL-2.1-or-later
"""MPTCP failover while the laptop only receives: groupd in the client
namespace of tests/mptcp/rig.py (wlan0 = "wifi", wwan0 = "cellular",
Preference=wifi cellular), and one connection on which only the server
sends — a download (tests/mptcp/mptcp-stream) or the output of a command
over SSH (OpenSSH under mptcpize, sshd in the rig's server namespace) —
while wlan0 fails by carrier loss, admin down, address removal or a silent
blackhole, and heals.

A receiver has no unacknowledged data, so a silent blackhole shows only as
data that stops arriving; groupd asks the path with ICMP echoes. Asserted:
the failover happened (for the blackhole, for that reason: no data and no
answer), the traffic caught up (every record arrived, none lost,
duplicated or reordered, on schedule again before the heal), no flap, and
the return to wifi after the heal, not before the hold-down. And a healthy
but slow path with bursty traffic and long idle gaps is never left.
Time bounds here are generous "it happened" checks; the figures are in
tests/bench/bench-mptcp.sh.
"""

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mptcp"))
import groupd_mptcp as G  # noqa: E402
import rig as R  # noqa: E402
from mptcp_fixtures import (rig, rig_slow, start_groupd,  # noqa: E402,F401
                            start_groupd_slow, wait_kernel_endpoints, wait_subflow)

HOLD = 1.0
PRE = 1.5           # traffic before the fault
FAULT = 2.5         # how long wlan0 stays failed
POST = 2.5          # after the return
SWITCH_BOUND = 3.0  # fault → ActiveGroup changed ("it happened")
STALL_BOUND = 2.0
# The healthy run: seconds (GDM_HEALTHY_SECONDS; the benchmark runs 600).
HEALTHY_SECONDS = float(os.environ.get("GDM_HEALTHY_SECONDS", "60"))

FAILOVER_ENDPOINTS = {R.WLAN: ["subflow"], R.WWAN: ["backup", "subflow"]}
FAILED_OVER_ENDPOINTS = {R.WWAN: ["subflow"]}


def start_workload(rig, workload, duration, **kwargs):
    if workload == "download":
        return rig.start_stream(duration=duration, direction="down", **kwargs)
    return rig.start_ssh(duration=duration, **kwargs)


def log_lines(g, text):
    return [line for line in g.log().splitlines() if text in line]


@pytest.mark.parametrize("workload", ["download", "ssh"])
@pytest.mark.parametrize("kind", R.FAULTS)
def test_receive_failover(rig, start_groupd, kind, workload):
    g = start_groupd(conf=G.mptcp_conf("failover", HOLD))
    signals = g.monitor()
    g.wait_active("wifi")
    wait_kernel_endpoints(rig, FAILOVER_ENDPOINTS)
    failovers = g.prop("FailoverCount")
    duration = PRE + FAULT + HOLD + POST
    session = start_workload(rig, workload, duration)
    wait_subflow(rig, R.WLAN)
    wait_subflow(rig, R.WWAN)
    time.sleep(max(0.0, session.started + PRE - time.monotonic()))

    t_fault = rig.fault(kind)
    g.wait_active("cellular", timeout=SWITCH_BOUND)
    wait_kernel_endpoints(rig, FAILED_OVER_ENDPOINTS, timeout=2)
    time.sleep(max(0.0, t_fault + FAULT - time.monotonic()))
    t_heal = rig.heal(kind)
    g.wait_active("wifi", timeout=HOLD + 6)
    t_back = time.monotonic()
    wait_kernel_endpoints(rig, FAILOVER_ENDPOINTS, timeout=4)
    result = session.wait()

    problems = R.integrity(result)
    assert not problems, f"{workload}: {problems}"
    assert result["up"]["expected"] == 0, "the client sent records: not receive-only"
    a = R.analyse(result, t_fault, t_heal)
    assert a["stall"] < STALL_BOUND, f"stall after the fault: {a}"
    # Caught up: records arrive on schedule again well before the heal.
    assert a["catch_up"] < FAULT - 0.5, f"not caught up before the heal: {a}"
    b = R.analyse(result, t_heal)
    assert b["stall"] < STALL_BOUND, f"stall after the heal: {b}"

    changes = G.active_group_changes(signals)
    assert [c[:2] for c in changes] == [("cellular", "wifi"), ("wifi", "cellular")], changes
    assert g.prop("FailoverCount") == failovers + 2
    if kind == "blackhole":
        # The link stayed up: only the receive side could tell.
        assert "no data for" in changes[0][2] and "no answer from" in changes[0][2], changes
        assert log_lines(g, "answers over wlan0 again"), g.log()[-3000:]
    assert t_back - t_heal >= HOLD - 0.1, \
        f"back on wifi {t_back - t_heal:.2f} s after the heal (HoldDownSec={HOLD})"
    assert g.prop("LastError") == ""


def test_healthy_path_no_false_positive(rig_slow, start_groupd_slow):
    """A slow wlan0 (2 Mbit/s, its queue a quarter of a second), a bursty
    download above its rate, and SSH output in bursts with idle gaps of up
    to 8 s: groupd asks the path during the silences, the path answers,
    and traffic never leaves it."""
    rig = rig_slow
    g = start_groupd_slow(conf=G.mptcp_conf("failover", HOLD))
    signals = g.monitor()
    g.wait_active("wifi")
    wait_kernel_endpoints(rig, FAILOVER_ENDPOINTS)
    failovers = g.prop("FailoverCount")
    download = rig.start_stream(duration=HEALTHY_SECONDS, rate=1500, direction="down",
                                pattern="bursty", seed=11, late_ms=1000,
                                extra_wait=HEALTHY_SECONDS)
    ssh = rig.start_ssh(duration=HEALTHY_SECONDS, rate=100, pattern="bursty", seed=12,
                        late_ms=1000, extra_wait=HEALTHY_SECONDS)
    results = [download.wait(), ssh.wait()]
    for name, result in zip(("download", "ssh"), results):
        problems = R.integrity(result)
        assert not problems, f"{name}: {problems}"
    assert G.active_group_changes(signals) == []
    assert g.prop("FailoverCount") == failovers
    assert not log_lines(g, "stalled on"), log_lines(g, "stalled on")
    # The silences were asked about, and answered: the check ran.
    echoes, answers = log_lines(g, "mptcp: echo to"), log_lines(g, "answered over")
    assert len(echoes) >= 5 and len(answers) >= 5, (len(echoes), len(answers))

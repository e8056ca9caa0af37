# SPDX-License-Identifier: LGPL-2.1-or-later
"""MPTCP failover end to end: groupd in the client namespace of
tests/mptcp/rig.py (wlan0 = group 10 "wifi", wwan0 = group 20 "cellular",
Preference=wifi cellular), one MPTCP connection streaming 500 records/s of
256 bytes each way (tests/mptcp/mptcp-stream), and wlan0 failing by
carrier loss, admin down, address removal and a silent blackhole.

Asserted: no record lost, duplicated or reordered, the connection never
reset, the kernel's endpoints (`ip -j mptcp endpoint show`) and groupd's
Endpoints/ActiveGroup at each step, the subflow events of the kernel
(`ip mptcp monitor`), ActiveGroupChanged, the bytes on wwan0 while wlan0 is
healthy, and the return to wlan0 after the hold-down. Stall bounds here are
generous "it happened" checks; the figures are in tests/bench/bench-mptcp.sh.
"""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mptcp"))
import groupd_mptcp as G  # noqa: E402
import rig as R  # noqa: E402
from mptcp_fixtures import (rig, start_groupd, wait_kernel_endpoints,  # noqa: E402,F401
                            wait_subflow)

HOLD = 1.0
PRE = 1.5           # stream running before the fault
FAULT = 2.0         # how long wlan0 stays failed
STALL_BOUND = 2.0   # "failover happened": far above the 0.4 s the kernel alone needs
SWITCH_BOUND = 3.0  # fault → ActiveGroup changed
# A backup subflow carries its join and at most a few ACKs / window
# updates; one second of the stream's data is ~260 kB each way.
BACKUP_IDLE_BOUND = 1500

FAILOVER_ENDPOINTS = {R.WLAN: ["subflow"], R.WWAN: ["backup", "subflow"]}
FAILED_OVER_ENDPOINTS = {R.WWAN: ["subflow"]}


def failover_setup(rig, start_groupd, mode="failover", extra=""):
    g = start_groupd(conf=G.mptcp_conf(mode, HOLD, extra=extra))
    return g


def assert_dbus_endpoints(g, rig):
    """groupd's Endpoints property says what the kernel has."""
    kernel = {e["dev"]: (e["address"], R.endpoint_flags(e)) for e in rig.endpoints()}
    dbus = {iface: (addr, sorted(flags)) for _id, addr, iface, _grp, flags in g.prop("Endpoints")}
    assert dbus == kernel, f"Endpoints {g.prop('Endpoints')} vs kernel {rig.endpoints()}"
    groups = {iface: grp for _id, _addr, iface, grp, _flags in g.prop("Endpoints")}
    for dev, grp in ((R.WLAN, "wifi"), (R.WWAN, "cellular")):
        if dev in groups:
            assert groups[dev] == grp, f"endpoint on {dev} is in group {groups[dev]!r}"


def run_failover(rig, g, kind, healthy_endpoints, failed_endpoints, post=3.0):
    """The common course: healthy, fault, failed over, heal, back after the
    hold-down. Returns (stream result, times, counters, pm monitor, signals)."""
    signals = g.monitor()
    g.wait_active("wifi")
    wait_kernel_endpoints(rig, healthy_endpoints)
    assert_dbus_endpoints(g, rig)
    signals.failovers_before = g.prop("FailoverCount")
    pm = rig.start_pm_monitor()
    ctr = rig.start_counters()
    duration = PRE + FAULT + HOLD + post
    stream = rig.start_stream(duration=duration)
    if R.WWAN in healthy_endpoints:
        wait_subflow(rig, R.WWAN)
    wait_subflow(rig, R.WLAN)
    time.sleep(max(0.0, stream.started + PRE - time.monotonic()))

    t_fault = rig.fault(kind)
    g.wait_active("cellular", timeout=SWITCH_BOUND)
    t_switch = time.monotonic()
    wait_kernel_endpoints(rig, failed_endpoints, timeout=2)
    assert_dbus_endpoints(g, rig)
    health = {grp: (state, reason) for grp, state, reason in g.prop("Health")}
    assert health["wifi"][0] in ("down", "hold-down"), f"Health {health}"
    assert health["cellular"][0] == "active", f"Health {health}"
    time.sleep(max(0.0, t_fault + FAULT - time.monotonic()))

    t_heal = rig.heal(kind)
    g.wait_active("wifi", timeout=HOLD + 6)
    t_back = time.monotonic()
    wait_kernel_endpoints(rig, healthy_endpoints, timeout=4)
    assert_dbus_endpoints(g, rig)
    result = stream.wait()
    counters = ctr.stop()
    pm.stop()
    return result, dict(fault=t_fault, switch=t_switch, heal=t_heal, back=t_back,
                        end=stream.started + duration), counters, pm, signals


def assert_stream_intact(result, times):
    problems = R.integrity(result)
    assert not problems, f"stream: {problems}"
    a = R.analyse(result, times["fault"], times["heal"])
    assert a["stall"] < STALL_BOUND, f"stall after the fault {a}"
    b = R.analyse(result, times["heal"])
    assert b["stall"] < STALL_BOUND, f"stall after the heal {b}"


def assert_back_on_wlan(counters, times):
    """After the return, data runs on wlan0 and not on wwan0."""
    start, end = times["back"] + 0.5, times["end"] - 0.2
    assert R.busy_bins(counters, R.WLAN, start, end), "no data on wlan0 after the return"
    busy = R.busy_bins(counters, R.WWAN, start, end)
    assert not busy, f"data still on wwan0 after the return: {busy[:5]}"


@pytest.mark.parametrize("kind", R.FAULTS)
def test_failover(rig, start_groupd, kind):
    g = failover_setup(rig, start_groupd)
    result, t, counters, pm, signals = run_failover(rig, g, kind, FAILOVER_ENDPOINTS,
                                                    FAILED_OVER_ENDPOINTS)
    assert_stream_intact(result, t)

    # wlan0's subflow was closed during the fault (its endpoint deleted),
    # a new one established after the heal.
    wlan = R.CLIENT_ADDR[R.WLAN]
    assert pm.subflow_events("SF_CLOSED", wlan, t["fault"], t["heal"]), \
        f"no SF_CLOSED of {wlan} during the fault: {pm.events}"
    assert pm.subflow_events("SF_ESTABLISHED", wlan, t["heal"]), \
        f"no new subflow on {wlan} after the heal: {pm.events}"

    # The hold-down: not back before it (but a blackhole has no visible
    # heal; groupd may have retried the path already and failed again).
    if kind != "blackhole":
        assert t["back"] - t["heal"] >= HOLD - 0.1, \
            f"back on wifi {t['back'] - t['heal']:.2f} s after the heal (HoldDownSec={HOLD})"

    changes = G.active_group_changes(signals)
    assert changes[0][:2] == ("cellular", "wifi") and changes[0][2], changes
    assert changes[-1][:2] == ("wifi", "cellular") and changes[-1][2], changes
    if kind != "blackhole":
        assert len(changes) == 2, changes
        assert g.prop("FailoverCount") == signals.failovers_before + 2

    backup = R.bytes_between(counters, R.WWAN, t["fault"] - 1.0, t["fault"])
    assert backup <= BACKUP_IDLE_BOUND, f"{backup} bytes on wwan0 while wlan0 was healthy"
    assert_back_on_wlan(counters, t)
    assert g.prop("LastError") == ""


@pytest.mark.parametrize("kind", ["carrier", "blackhole"])
def test_power_save(rig, start_groupd, kind):
    """No endpoint, subflow or byte on wwan0 while wlan0 is healthy;
    break-before-make on failure; make-before-break on the return."""
    g = failover_setup(rig, start_groupd, mode="power-save")
    result, t, counters, pm, signals = run_failover(
        rig, g, kind, {R.WLAN: ["subflow"]}, {R.WWAN: ["subflow"]})
    assert_stream_intact(result, t)
    assert R.bytes_between(counters, R.WWAN, 0, t["fault"]) == 0, \
        "bytes on wwan0 while wlan0 was healthy (power-save)"
    wwan, wlan = R.CLIENT_ADDR[R.WWAN], R.CLIENT_ADDR[R.WLAN]
    assert not pm.subflow_events("SF_ESTABLISHED", wwan, 0, t["fault"]), \
        "a subflow on wwan0 before the fault"
    assert pm.subflow_events("SF_ESTABLISHED", wwan, t["fault"], t["heal"]), pm.events
    # Make before break on the way back: wlan0's subflow is up before wwan0's closes.
    up = pm.subflow_events("SF_ESTABLISHED", wlan, t["heal"])
    down = pm.subflow_events("SF_CLOSED", wwan, t["heal"])
    assert up and down, f"after the heal: {pm.events}"
    assert up[0][0] <= down[0][0], "wwan0's subflow closed before wlan0's was established"
    # And wwan0 is quiet again once its subflow is gone.
    quiet_from = down[-1][0] + 0.5
    assert R.bytes_between(counters, R.WWAN, quiet_from, t["end"]) == 0, \
        "bytes on wwan0 after the return (power-save)"
    assert_back_on_wlan(counters, t)


def test_aggregate(rig, start_groupd):
    """Endpoints on both groups as configured (no backup forced); the failed
    group's endpoints go, and come back after the hold-down."""
    g = failover_setup(rig, start_groupd, mode="aggregate")
    both = {R.WLAN: ["subflow"], R.WWAN: ["subflow"]}
    wait_kernel_endpoints(rig, both)
    assert_dbus_endpoints(g, rig)
    pm = rig.start_pm_monitor()
    stream = rig.start_stream(duration=PRE + FAULT + HOLD + 3)
    wait_subflow(rig, R.WWAN)
    time.sleep(max(0.0, stream.started + PRE - time.monotonic()))
    t_fault = rig.fault("carrier")
    wait_kernel_endpoints(rig, {R.WWAN: ["subflow"]}, timeout=SWITCH_BOUND)
    time.sleep(FAULT)
    t_heal = rig.heal("carrier")
    t_back = wait_kernel_endpoints(rig, both, timeout=HOLD + 5)
    assert t_back - t_heal >= HOLD - 0.1, f"endpoint back {t_back - t_heal:.2f} s after the heal"
    result = stream.wait()
    pm.stop()
    assert not R.integrity(result), R.integrity(result)
    a = R.analyse(result, t_fault, t_heal)
    assert a["stall"] < STALL_BOUND, a
    assert pm.subflow_events("SF_ESTABLISHED", R.CLIENT_ADDR[R.WLAN], t_heal), pm.events


def test_flapping(rig, start_groupd):
    """wlan0's carrier flaps every 2 s for 30 s: no byte lost, no reset,
    the anti-flap dampening keeps traffic off wlan0 after a few returns,
    and it comes back once wlan0 is stable."""
    g = start_groupd(conf=G.mptcp_conf("failover", HOLD, extra="FlapThreshold=3\n"
                                       "FlapWindowSec=60\nHoldDownMaxSec=4\n"))
    signals = g.monitor()
    g.wait_active("wifi")
    wait_kernel_endpoints(rig, FAILOVER_ENDPOINTS)
    stream = rig.start_stream(duration=1.0 + 30 + 7)
    wait_subflow(rig, R.WWAN)
    time.sleep(max(0.0, stream.started + 1.0 - time.monotonic()))
    events = rig.flap("carrier", period=2.0, duration=30.0, background=False)
    t_stable = events[-1][0]
    g.wait_active("wifi", timeout=4 + 4)
    result = stream.wait()
    problems = R.integrity(result)
    assert not problems, f"stream: {problems}"
    faults = sum(1 for _t, e in events if e == "fault")
    assert faults == 8, events
    changes = G.active_group_changes(signals)
    returns = [c for c in changes if c[0] == "wifi"]
    # Without dampening each of the 7 healthy 2-s phases would bring traffic
    # back after 1 s (HoldDownSec=1); after 3 failures the hold-down doubles
    # to 2 s and then 4 s, longer than a healthy phase.
    assert 2 <= len(returns) <= 5, f"{len(returns)} returns to wifi during 8 failures: {changes}"
    assert changes[-1][0] == "wifi"
    assert g.prop("ActiveGroup") == "wifi"
    wait_kernel_endpoints(rig, FAILOVER_ENDPOINTS, timeout=2)
    assert t_stable > 0

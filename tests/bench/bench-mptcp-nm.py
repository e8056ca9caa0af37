#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""MPTCP failover with and without NetworkManager, measured in one run.

The rig of tests/mptcp/rig.py (wlan0 20 Mbit/s, wwan0 10 Mbit/s), groupd in
its client namespace with wifi preferred over cellular (HoldDownSec=1), one
MPTCP connection streaming 500 records/s of 256 bytes each way, and wlan0
losing its carrier for 2 s. Two setups, alternating run by run so that the
machine's load falls on both alike:

  plain  groupd alone (the rig's addresses and routes);
  nm     the real NetworkManager in the client namespace makes the addresses
         and default routes from its profiles and its MPTCP endpoints;
         `groupctl mptcp hand-over` gives them to groupd; then every run
         starts with `nmcli device reapply` of both devices, and every
         second run follows a NetworkManager restart.

Per run, failover mode: the longest gap in arrivals after the fault (stall),
the time from the heal until ActiveGroup is wifi again (return; the
hold-down is 1 s, flap dampening off so that every run has it), bytes on wwan0 in the second before the fault (its backup
subflow's idle traffic); power-save mode: bytes on wwan0 from the stream's
start to the fault. Prints a Markdown table of min / median / max.

  sudo /usr/bin/python3 tests/bench/bench-mptcp-nm.py [--runs 5]
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "mptcp"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import gdlib  # noqa: E402
import groupd_mptcp as G  # noqa: E402
import nm_rig  # noqa: E402
import peer_daemons  # noqa: E402
import rig as R  # noqa: E402

HOLD = 1.0
PRE, FAULT, POST = 1.5, 2.0, 3.0
GROUPCTL = os.environ.get("GROUPCTL_BIN", str(REPO / "build" / "src" / "groupctl"))


def nm_first(rig, holder):
    def start(g):
        holder.append(nm_rig.start_networkmanager(rig, g))
    return start


def wait_endpoints(rig, want, timeout=30):
    gdlib.wait_for(lambda: rig.endpoint_devs() == want, timeout, interval=0.02,
                   what=f"endpoints {want}")


def one_run(rig, g, nm, mode, restart):
    healthy = {R.WLAN: ["subflow"], R.WWAN: ["backup", "subflow"]} if mode == "failover" \
        else {R.WLAN: ["subflow"]}
    if nm:
        if restart:
            nm.stop()
            nm_rig.start(nm)
        for dev in (R.WWAN, R.WLAN):
            nm.nmcli("device", "reapply", dev)
    g.wait_active("wifi", timeout=30)
    wait_endpoints(rig, healthy)
    assert g.prop("Owner") == "groupd", g.prop("OwnerDetail")
    ctr = rig.start_counters()
    stream = rig.start_stream(duration=PRE + FAULT + HOLD + POST)
    # The fault only once the connection has its subflows (backup included).
    want = {R.WLAN, R.WWAN} if mode == "failover" else {R.WLAN}
    gdlib.wait_for(lambda: want <= {d for _a, d in rig.mptcp_subflows()}, 10, interval=0.05,
                   what="the stream's subflows")
    time.sleep(max(0.0, stream.started + PRE - time.monotonic()))
    t_fault = rig.fault("carrier")
    g.wait_active("cellular", timeout=10)
    time.sleep(max(0.0, t_fault + FAULT - time.monotonic()))
    t_heal = rig.heal("carrier")
    g.wait_active("wifi", timeout=HOLD + 10)
    t_back = time.monotonic()
    result = stream.wait()
    counters = ctr.stop()
    problems = R.integrity(result)
    if problems:
        raise AssertionError(f"stream: {problems}")
    out = {"stall": R.analyse(result, t_fault, t_heal)["stall"], "return": t_back - t_heal}
    if mode == "failover":
        out["wwan_bytes"] = R.bytes_between(counters, R.WWAN, t_fault - 1.0, t_fault)
    else:
        out["wwan_bytes"] = R.bytes_between(counters, R.WWAN, 0, t_fault)
    return out


def setup_run(mode, with_nm, runs, workdir):
    samples = []
    with R.Rig(workdir=workdir) as rig:
        holder = []
        # No flap dampening: every run's return is the plain hold-down.
        g = G.GroupdInRig(rig, conf=G.mptcp_conf(mode, HOLD, extra="FlapThreshold=1000\n"),
                          name="groupd",
                          before_start=nm_first(rig, holder) if with_nm else None)
        rig.add_cleanup(g.stop)
        nm = holder[0] if holder else None
        if nm:
            gdlib.wait_for(lambda: g.prop("Owner") == "NetworkManager", 30,
                           what="Owner NetworkManager")
            gdlib.run([GROUPCTL, f"--address={g.bus.address}", "mptcp", "hand-over"])
            gdlib.wait_for(lambda: g.prop("Owner") == "groupd", 30, what="Owner groupd")
        for r in range(runs):
            samples.append(one_run(rig, g, nm, mode, restart=bool(nm) and r % 2 == 1))
        if nm:
            nm.check_inside()
    return samples


def fmt(values, unit):
    if not values:
        return "-"
    v = sorted(values)
    if unit == "s":
        return f"{v[0]:.3f} / {statistics.median(v):.3f} / {v[-1]:.3f}"
    return f"{v[0]:.0f} / {statistics.median(v):.0f} / {v[-1]:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", help="also write the samples here")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-mptcp-nm: run as root")
    peer_daemons.check_prerequisites()
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="gd-bench-nm."))
    os.chmod(base, 0o755)
    results = {}
    for mode in ("failover", "power-save"):
        for with_nm in (False, True):
            key = f"{mode} {'nm' if with_nm else 'plain'}"
            d = base / key.replace(" ", "-")
            d.mkdir()
            results[key] = setup_run(mode, with_nm, a.runs, d)
            print(f"{key}: {results[key]}", file=sys.stderr)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    print(f"MPTCP, wlan0 loses its carrier for 2 s under a stream; {a.runs} runs each; "
          "min / median / max")
    print()
    print("| mode | setup | stall (s) | return after heal (s, hold-down 1 s) | bytes on wwan0 |")
    print("|---|---|---|---|---|")
    for key, samples in results.items():
        mode, setup = key.split()
        label = "NetworkManager, handed over; reapply every run, restart every 2nd" \
            if setup == "nm" else "groupd alone"
        print(f"| {mode} | {label} | {fmt([s['stall'] for s in samples], 's')} | "
              f"{fmt([s['return'] for s in samples], 's')} | "
              f"{fmt([s['wwan_bytes'] for s in samples], 'B')} |")


if __name__ == "__main__":
    main()

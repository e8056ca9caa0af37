# SPDX-License-Identifier: LGPL-2.1-or-later
"""MPTCP failover benchmark (run by bench-mptcp.sh; see there).

Per setup, workload and failure kind, N runs; each run in a fresh rig
(tests/mptcp/rig.py): one MPTCP connection carries 500 records/s of 256
bytes — both ways ("both": the laptop sends and receives), from the laptop
only ("up"), to the laptop only ("down", a download), or as the output of
a command over SSH under mptcpize ("ssh", the laptop only receives); after
PRE s wlan0 fails (carrier / admin / addr / blackhole), after FAULT s it
is healed, the traffic goes on for POST s. Measured per run, in the worse
of the two directions:

- switched: fault → groupd's "active group 100 (wifi) → …" (its log; the
  kernel alone has no such moment);
- stall: the longest time between two arrivals, fault to heal;
- catch-up: fault → the last arrival of a record that was late (one-way
  delay > 20 ms);
- return: heal → data on wlan0 and none on wwan0 (10 ms counter samples of
  both links, 50 ms bins, "data" = > 30 kB/s);
- return stall: the longest gap between arrivals after the heal;
- backup bytes: tx+rx bytes on wwan0 in the healthy second before the fault;
- integrity: lost / duplicated / reordered records, reset (must be none).

--healthy S instead runs groupd for S s on a healthy wlan0 of 20 Mbit/s
and of 2 Mbit/s with a bursty download above that rate and bursty SSH
output (idle gaps up to 8 s), and counts failovers (must be 0) and the
echoes groupd sent and had answered.

--refusals S instead runs groupd for S s with two members of the wifi
group sharing its [Address]: the second member's endpoint is refused;
how often it is tried again (1 s doubling to 60 s), how many warnings.
"""

import argparse
import csv
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "mptcp"))

import rig as R  # noqa: E402

PRE, FAULT = 2.0, 3.0
SLOW_COMMAND = 0.1  # s: a fault or heal command that took longer was held up
WORKLOADS = ("both", "up", "down", "ssh")


class Setup:
    name = "?"
    hold_down = 0.0

    def start(self, rig):
        pass

    def on_fault(self, rig, kind):
        pass

    def on_heal(self, rig, kind):
        pass

    def ready(self, rig):
        """Waits until the setup has its endpoints in place."""

    def switched(self, wall_fault):
        """Seconds from the fault (wall clock) to the switch, or None."""
        return None


class Kernel(Setup):
    name = "kernel alone (wlan0 subflow, wwan0 subflow backup)"
    key = "kernel"

    def start(self, rig):
        rig.kernel_endpoints()


class Actor(Kernel):
    """The kernel alone, plus an actor that deletes the wlan0 endpoint
    ~20 ms after the fault and adds it back 1 s after the heal (a minimal
    hold-down: a join SYN sent at carrier-up is lost before linkwatch
    activates the qdisc, and then waits for its 1 s SYN timeout)."""
    name = "actor: DEL wlan0 endpoint 20 ms after the fault, ADD 1 s after the heal"
    hold_down = 1.0
    key = "actor"

    def on_fault(self, rig, kind):
        def act():
            time.sleep(0.02)
            rig.delete_endpoint_of(R.WLAN)
        self.thread = threading.Thread(target=act)
        self.thread.start()

    def on_heal(self, rig, kind):
        self.thread.join()
        time.sleep(self.hold_down)
        rig.ip(rig.client, "mptcp", "endpoint", "add", R.CLIENT_ADDR[R.WLAN], "dev", R.WLAN,
               "subflow")


class Mptcpd(Setup):
    """Debian's mptcpd (addr_adv plugin): a subflow endpoint per address it
    sees; it knows no backup/preference per link."""
    name = "mptcpd 0.12 (addr_adv, --addr-flags=subflow)"
    key = "mptcpd"

    def start(self, rig):
        self.log = open(rig.workdir / "mptcpd.log", "w")
        self.proc = rig.popen(rig.client, ["/usr/libexec/mptcpd", "--log=stderr",
                                           "--path-manager=addr_adv", "--addr-flags=subflow",
                                           "--notify-flags=existing,skip_link_local,skip_loopback"],
                              stdout=self.log)

    def ready(self, rig):
        deadline = time.monotonic() + 10
        while len(rig.endpoints()) < 2:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise R.RigError(f"mptcpd added no endpoints: "
                                 f"{(rig.workdir / 'mptcpd.log').read_text()[-2000:]}")
            time.sleep(0.05)


class Groupd(Setup):
    def __init__(self, mode, hold_down):
        self.mode = mode
        self.hold_down = hold_down
        self.key = f"groupd-{mode}"
        self.name = f"groupd {mode} (HoldDownSec={hold_down:g})"

    def start(self, rig):
        import groupd_mptcp as G
        self.g = G.GroupdInRig(rig, conf=G.mptcp_conf(self.mode, self.hold_down))

    def ready(self, rig):
        self.ready_with(rig, self.g)

    def ready_with(self, rig, g):
        self.g = g
        want = 1 if self.mode == "power-save" else 2
        deadline = time.monotonic() + 10
        while len(rig.endpoints()) < want or self.g.prop("ActiveGroup") != "wifi" \
                and self.mode != "aggregate":
            if time.monotonic() > deadline:
                raise R.RigError(f"groupd {self.mode}: endpoints {rig.endpoints()}, "
                                 f"ActiveGroup {self.g.prop('ActiveGroup')!r}\n"
                                 f"{self.g.log()[-3000:]}")
            time.sleep(0.05)

    def switched(self, wall_fault):
        """From groupd's log: its first switch away from wifi after the fault."""
        for line in self.g.log().splitlines():
            # "active group 100 (wifi) → 200 (cellular)"; older builds: "wifi → cellular"
            m = re.search(r"(\d\d):(\d\d):(\d\d\.\d+): mptcp: active group "
                          r"(?:\d+ \()?wifi\)? → ", line)
            if not m:
                continue
            day = datetime.datetime.fromtimestamp(wall_fault)
            at = day.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0,
                             microsecond=0).timestamp() + float(m.group(3))
            if at >= wall_fault - 1:
                return at - wall_fault
        return None


def start_workload(rig, workload, duration):
    if workload == "ssh":
        return rig.start_ssh(duration=duration)
    return rig.start_stream(duration=duration, direction=workload)


def one_run(setup, kind, post, workload="both", keep_dir=None, label=""):
    with R.Rig() as rig:
        setup.start(rig)
        setup.ready(rig)
        duration = PRE + FAULT + post
        counters = rig.start_counters(duration=duration + 10)
        stream = start_workload(rig, workload, duration)
        time.sleep(max(0.0, stream.started + PRE - time.monotonic()))
        wall_fault = time.time()
        t_fault = rig.fault(kind)
        fault_took = time.monotonic() - t_fault
        setup.on_fault(rig, kind)
        time.sleep(FAULT)
        before_heal = time.monotonic()
        t_heal = rig.heal(kind)
        heal_took = t_heal - before_heal
        setup.on_heal(rig, kind)
        res = stream.wait()
        ctr = counters.stop()
        t_end = stream.started + duration
        a = R.analyse(res, t_fault, t_heal)
        b = R.analyse(res, t_heal, t_end)
        ret = R.return_time(ctr, t_heal, t_end - 0.1)
        switched = setup.switched(wall_fault)
        if keep_dir is not None:
            # Everything needed to look at a run again: the stream's arrival
            # gaps and late runs, the counters, the event times, the logs.
            keep = Path(keep_dir) / label
            keep.mkdir(parents=True, exist_ok=True)
            (keep / "run.json").write_text(json.dumps({
                "fault": t_fault, "heal": t_heal, "end": t_end, "counters": ctr,
                "up": res["up"], "down": res["down"]}))
            for log in rig.workdir.rglob("*.log"):
                shutil.copy(log, keep / f"{log.parent.name}-{log.name}")
        # ip/tc wait for the RTNL lock, which other processes of the host may
        # hold for seconds: then the failure began (or ended) later than
        # measured from, and the run measures them, not the setup.
        disturbed = ""
        if fault_took > SLOW_COMMAND or heal_took > SLOW_COMMAND:
            disturbed = f"the fault took {fault_took:.2f} s, the heal {heal_took:.2f} s"
        return {
            "disturbed": disturbed,
            "switched": switched, "stall": a["stall"], "catch_up": a["catch_up"],
            "return": ret, "return_stall": b["stall"],
            "healthy_gap": R.max_gap(res, stream.started + 0.5, t_fault),
            "backup_bytes_healthy": R.bytes_between(ctr, R.WWAN, t_fault - 1.0, t_fault),
            "backup_bytes_total": R.bytes_between(ctr, R.WWAN, 0, t_end),
            "problems": R.integrity(res),
        }


def stats(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return min(vals), statistics.median(vals), max(vals)


def fmt(st, unit_ms=False):
    if st is None:
        return "never"
    if unit_ms:
        return " / ".join(f"{v * 1000:.0f}" for v in st)
    return " / ".join(f"{v:.2f}" for v in st)


def healthy_run(seconds, wlan_rate, hold_down, keep_dir=None):
    """groupd on a healthy wlan0 for seconds: bursty download and SSH output.
    With keep_dir, groupd's whole log is kept there (to see why it switched)."""
    import groupd_mptcp as G
    with R.Rig(wlan_rate=wlan_rate) as rig:
        g = G.GroupdInRig(rig, conf=G.mptcp_conf("failover", hold_down))
        Groupd("failover", hold_down).ready_with(rig, g)
        before = g.prop("FailoverCount")
        download = rig.start_stream(duration=seconds, rate=1500, direction="down",
                                    pattern="bursty", seed=11, late_ms=1000, extra_wait=seconds)
        ssh = rig.start_ssh(duration=seconds, rate=100, pattern="bursty", seed=12, late_ms=1000,
                            extra_wait=seconds)
        results = [download.wait(), ssh.wait()]
        log = g.log(limit=1 << 40)
        if keep_dir is not None:
            Path(keep_dir).mkdir(parents=True, exist_ok=True)
            (Path(keep_dir) / f"healthy-{wlan_rate}-groupd.log").write_text(log)
        return {
            "wlan_rate": wlan_rate, "seconds": seconds,
            "failovers": g.prop("FailoverCount") - before,
            "stalls": sum(1 for line in log.splitlines() if "stalled on" in line),
            "echoes": sum(1 for line in log.splitlines() if "mptcp: echo to" in line),
            "answered": sum(1 for line in log.splitlines() if "answered over" in line),
            "records": sum(r["down"]["received"] for r in results),
            "max_gap": max(r["down"]["max_gap_ms"] for r in results) / 1000,
            "problems": [p for r in results for p in R.integrity(r)],
        }


def run_healthy(args):
    print(f"groupd failover (HoldDownSec={args.hold_down:g}) on a healthy wlan0, "
          f"{args.healthy:g} s per row: a bursty download (1500 records/s of 256 bytes in "
          "bursts, idle gaps up to 8 s) and bursty SSH output at once.\n")
    print("| wlan0 | failovers | stalls reported | echoes sent / answered "
          "| records received | longest idle gap (s) | lost/dup/reorder/reset |")
    print("|---|---:|---:|---|---:|---:|---|")
    for rate in args.rates.split(","):
        r = healthy_run(args.healthy, rate, args.hold_down, args.keep)
        print(f"# healthy {rate}: {r}", file=sys.stderr, flush=True)
        print(f"| {rate} | {r['failovers']} | {r['stalls']} | {r['echoes']} / {r['answered']} "
              f"| {r['records']} | {r['max_gap']:.2f} "
              f"| {'; '.join(r['problems']) or 'none'} |", flush=True)


REFUSAL_ADDR = "10.71.9.2"


def log_time(line):
    """Seconds since midnight of a groupd log line ("HH:MM:SS.ffffff: ..."), or None."""
    m = re.search(r"(\d\d):(\d\d):(\d\d\.\d+): ", line)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None


def run_refusals(args):
    """groupd for S s with two members of the wifi group sharing its
    [Address]: the kernel keeps one endpoint per address, so the second
    member's is refused (by groupd, knowing it). When was it asked for
    again, how many warnings, what LastError showed."""
    import groupd_mptcp as G
    seconds = args.refusals
    with R.Rig() as rig:
        rig.add_veth("wlan1")
        wifi = G.group_file(G.WIFI, "wifi", "wlan*",
                            extra=f"[Address]\nAddress={REFUSAL_ADDR}/24\n")
        g = G.GroupdInRig(rig, conf=G.mptcp_conf("failover", args.hold_down), groups={
            "10-wifi.group": wifi, "20-cellular.group": G.group_file(G.CELL, "cellular", R.WWAN)})
        g.wait_active("wifi")
        time.sleep(seconds)
        last_error = g.prop("LastError")
        lines = [line for line in g.log(limit=1 << 40).splitlines()
                 if "share the address" in line]
    tries = [log_time(line) for line in lines if "tried again in" in line]
    warnings = [line for line in lines if "WARNING" in line]
    waits = [round(b - a, 1) for a, b in zip(tries, tries[1:])]
    print(f"groupd failover, {seconds:g} s with wlan0 and wlan1 in group wifi sharing its "
          f"[Address]={REFUSAL_ADDR}/24 (the kernel keeps one MPTCP endpoint per address).\n")
    print("| seconds | times wlan1's endpoint was judged (refused) | waits between them (s) "
          "| warnings logged | other lines about it | LastError |")
    print("|---:|---:|---|---:|---:|---|")
    print(f"| {seconds:g} | {len(tries)} | {', '.join(f'{w:g}' for w in waits)} | {len(warnings)} "
          f"| {len(lines) - len(warnings)} (debug) | {last_error} |")


def main():
    # SIGTERM unwinds like ^C: every rig's namespaces are deleted on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--setups", default="kernel,groupd-failover",
                   help="of kernel, actor, mptcpd, groupd-failover, groupd-power-save, "
                        "groupd-aggregate")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--kinds", default=",".join(R.FAULTS))
    p.add_argument("--hold-down", type=float, default=2.0)
    p.add_argument("--healthy", type=float, default=0,
                   help="instead: S s of healthy bursty traffic under groupd, failovers counted")
    p.add_argument("--rates", default="20mbit,2mbit", help="of wlan0, for --healthy")
    p.add_argument("--refusals", type=float, default=0,
                   help="instead: S s of a refused endpoint (two members share an address): "
                        "its back-off and what is logged")
    p.add_argument("--fill", type=int, default=0,
                   help="repeat runs disturbed by the RTNL lock (or failed), at most N "
                        "extra per row, until a row has --runs undisturbed ones")
    p.add_argument("--csv", default=None)
    p.add_argument("--keep", default=None,
                   help="directory for every run's raw data and logs (setup-kind-run/; "
                        "--healthy: groupd's log)")
    args = p.parse_args()
    if args.healthy:
        return run_healthy(args)
    if args.refusals:
        return run_refusals(args)
    all_setups = {s.key: s for s in (Kernel(), Actor(), Mptcpd(),
                                      *[Groupd(m, args.hold_down)
                                        for m in ("failover", "power-save", "aggregate")])}
    setups = [all_setups[k] for k in args.setups.split(",")]
    kinds = args.kinds.split(",")
    workloads = args.workloads.split(",")
    rows = []
    results = {}
    for workload in workloads:
        for kind in kinds:
            for setup in setups:
                post = max(setup.hold_down, 0) + 4.0
                runs = []
                # --fill: a run disturbed by the RTNL lock is repeated, at most
                # --fill extra times per row, so the row still has --runs.
                attempts = args.runs + args.fill
                for i in range(attempts):
                    if sum(1 for r in runs if "error" not in r and not r["disturbed"]) \
                            >= args.runs:
                        break
                    label = f"{setup.key}-{workload}-{kind}-{i + 1}"
                    try:
                        r = one_run(setup, kind, post, workload, args.keep, label)
                    except (KeyboardInterrupt, SystemExit):
                        raise
                    except BaseException as e:  # a setup that cannot run is a row, not a crash
                        # (pytest.fail from conftest's groupd_bin() is a BaseException)
                        r = {"error": (str(e).splitlines() or [type(e).__name__])[0][:200]}
                    runs.append(r)
                    rows.append({"setup": setup.key, "workload": workload, "kind": kind,
                                 "run": i + 1,
                                 **{k: (round(v, 4) if isinstance(v, float) else v)
                                    for k, v in r.items() if k != "problems"},
                                 "problems": "; ".join(r.get("problems", [])) or ""})
                    print(f"# {label}: "
                          + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in r.items()), file=sys.stderr, flush=True)
                results[(workload, kind, setup.key)] = (setup, runs)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    fill = f" (disturbed runs repeated, at most {args.fill} more per row)" if args.fill else ""
    print(f"MPTCP failover, {args.runs} runs per row{fill}, {stamp}, commit {commit}, "
          f"kernel {os.uname().release}. Seconds as min / median / max; backup bytes = "
          "tx+rx on wwan0 in the healthy second before the fault (median). Traffic: both = "
          "the laptop sends and receives, up = only sends, down = a download (only "
          "receives), ssh = SSH output (only receives). Runs whose fault or heal command "
          f"took more than {SLOW_COMMAND:g} s (RTNL held elsewhere) are left out.\n")
    print("| traffic | failure of wlan0 | setup | switched after (s) | stall (s) "
          "| caught up after (s) | back on wlan0 after heal (s) | stall after heal (s) "
          "| longest gap while healthy (ms) | wwan0 bytes while wlan0 healthy "
          "| lost/dup/reorder/reset |")
    print("|---|---|---|---|---|---|---|---|---|---:|---|")
    for (workload, kind, key), (setup, runs) in results.items():
        ok = [r for r in runs if "error" not in r and not r["disturbed"]]
        disturbed = sum(1 for r in runs if r.get("disturbed"))
        if not ok:
            print(f"| {workload} | {kind} | {setup.name} | error: {runs[0]['error']} "
                  "| | | | | | | |")
            continue
        bad = sum(1 for r in ok if r["problems"])
        never = sum(1 for r in ok if r["return"] is None)
        ret = fmt(stats(r["return"] for r in ok))
        if never:
            ret += f" ({never} never)"
        switched = stats(r["switched"] for r in ok)
        print(f"| {workload} | {kind} | {setup.name} "
              f"| {fmt(switched) if switched else '–'} "
              f"| {fmt(stats(r['stall'] for r in ok))} "
              f"| {fmt(stats(r['catch_up'] for r in ok))} | {ret} "
              f"| {fmt(stats(r['return_stall'] for r in ok))} "
              f"| {fmt(stats(r['healthy_gap'] for r in ok), unit_ms=True)} "
              f"| {statistics.median(r['backup_bytes_healthy'] for r in ok):.0f} "
              f"| {'none' if not bad else f'{bad} of {len(ok)} runs'}"
              f"{f', {disturbed} disturbed runs left out' if disturbed else ''}"
              f"{'' if len(ok) + disturbed == len(runs) else f', {len(runs) - len(ok) - disturbed} runs failed'} |")
    out = Path(args.csv) if args.csv else REPO / "tests" / "bench" / "results" / "mptcp.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    keys = ["setup", "workload", "kind", "run", "switched", "stall", "catch_up", "return",
            "return_stall", "healthy_gap", "backup_bytes_healthy", "backup_bytes_total",
            "problems", "disturbed", "error"]
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow(row)
    print(f"\nCSV: {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")


if __name__ == "__main__":
    main()

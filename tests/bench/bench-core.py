#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""groupd core benchmark: a group-wide MTU change on N ifb links, four ways.

In a throw-away network namespace with N ifb links in group 100 and groupd
running on a private bus, it times, with time.perf_counter() around each
command (process start included, as an operator would run it):

  group      `ip link set group 100 mtu M`: one group-scoped RTM_NEWLINK,
             the kernel's floor;
  setgroup   `busctl call ... SetGroup 100 {MTU: M}`: returns after the kernel's
             ACK and groupd's cache update;
  batch      `ip -batch` with one `link set dev X mtu M` line per link;
  perlink    one `ip link set dev X mtu M` process per link (a shell loop);

and, without a process start, from long-lived clients:

  group-nl        the same group message from a process that stays open
                  (nl-group-msg.py), sendmsg() to ACK;
  setgroup-conn   SetGroup on an open D-Bus connection (GDBus via python3-gi).

Every measurement changes the MTU (it alternates 1400/1450) and is checked:
every member has the new MTU in `ip -j link` and groupd's Group object says
so too, before the next one starts. It does this with the links DOWN, then UP
(with IPv6 on, the stock kernel walks the FIB for every member, so the UP
series is slower and has fewer runs). It also counts, with dbus-monitor, the
D-Bus signals one SetGroup causes.

Prints a Markdown table; writes tests/bench/results/core-N.csv (summary) and
core-N-runs.csv (every sample).

Run as root: bash tests/bench/bench-core.sh [--links 2048] [--runs 5] ...
It never touches the host's interfaces: every `ip` command names the
benchmark's namespace, groupd runs inside it, all is removed on exit.
"""
import argparse
import csv
import datetime
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench_harness import BUS_NAME, GROUP, MTUS, BenchError, Harness, ask, run, timed

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

METHODS = {
    "group": "`ip link set group 100 mtu M` (one group message)",
    "setgroup": "`busctl call … SetGroup 100 {MTU: M}`",
    "batch": "`ip -batch`, one `link set dev X mtu M` per link",
    "perlink": "one `ip link set dev X mtu M` process per link",
    "group-nl": "group message from an open netlink socket (no process start)",
    "setgroup-conn": "SetGroup on an open D-Bus connection (no process start)",
}


class Env(Harness):
    """A namespace with N ifb links in group 100, a private bus, groupd."""

    stop_timeout = 10

    def __init__(self, groupd, links, groupd_args=()):
        super().__init__(f"gd-bench-{os.getpid()}", "gd-bench.", groupd, groupd_args)
        self.links = links
        self.nl = None
        self.names = [f"ifb{i}" for i in range(links)]

    def start(self):
        self.make_netns()
        ns = self.ns
        batch = self.tmp / "links.batch"
        with open(batch, "w") as f:
            for n in self.names:
                f.write(f"link add {n} type ifb\n")
            for n in self.names:
                f.write(f"link set dev {n} group {GROUP}\n")
        run(["ip", "-n", ns, "-batch", str(batch)])
        for m in MTUS:
            with open(self.tmp / f"batch-{m}", "w") as f:
                for n in self.names:
                    f.write(f"link set dev {n} mtu {m}\n")
            with open(self.tmp / f"perlink-{m}.sh", "w") as f:
                f.write("set -e\n")
                for n in self.names:
                    f.write(f"ip -n {ns} link set dev {n} mtu {m}\n")
        self.start_bus()
        self.start_groupd()
        self.nl = self.spawn(["ip", "netns", "exec", ns, "/usr/bin/python3",
                              str(HERE / "nl-group-msg.py"), GROUP],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.connect()

    def check(self, mtu, up):
        """Every member has the MTU in the kernel, and groupd's cache says so."""
        members = self.kernel_members()
        mtus = Counter(d["mtu"] for d in members)
        if len(members) != self.links or set(mtus) != {mtu}:
            raise BenchError(f"kernel: {len(members)} members, MTUs {dict(mtus)}; expected "
                             f"{self.links} with {mtu}")
        ups = sum("UP" in d["flags"] for d in members)
        if ups != (self.links if up else 0):
            raise BenchError(f"kernel: {ups} members up")
        deadline = time.monotonic() + 30
        state = "up" if up else "down"
        while True:
            got = (self.group_prop("MTU"), self.group_prop("State"))
            if got == (str(mtu), state):
                break
            if time.monotonic() > deadline:
                raise BenchError(f"groupd's group {GROUP} says MTU/State {got}, "
                                 f"the kernel {mtu}/{state}")
            time.sleep(0.01)
        time.sleep(0.1)  # let groupd go idle before the next measurement

    # -- the measured operations ----------------------------------------------
    def do(self, method, mtu):
        if method == "group":
            return timed(["ip", "-n", self.ns, "link", "set", "group", GROUP, "mtu", str(mtu)])
        if method == "setgroup":
            return timed(self.setgroup_cmd("MTU", "u", mtu, 600))
        if method == "batch":
            return timed(["ip", "-n", self.ns, "-batch", str(self.tmp / f"batch-{mtu}")])
        if method == "perlink":
            return timed(["bash", str(self.tmp / f"perlink-{mtu}.sh")])
        if method == "group-nl":
            return float(ask(self.nl, str(mtu), "nl-group-msg.py"))
        if method == "setgroup-conn":
            return self.timed_set_group("MTU", "u", mtu, 600000)
        raise ValueError(method)

    def count_signals(self, mtu):
        """D-Bus signals groupd sends for one SetGroup, seen by dbus-monitor."""
        return self.signals_during(BUS_NAME, lambda: self.do("setgroup", mtu))[1]


def quietness():
    """Why the figures may be noisy: other namespaces (tests?) and load."""
    notes = []
    others = [ln.split()[0] for ln in run(["ip", "netns", "list"], check=False).stdout.splitlines()
              if ln.strip()]
    if others:
        notes.append(f"{len(others)} other network namespace(s) existed at the start")
    load1 = os.getloadavg()[0]
    if load1 > 0.5:
        notes.append(f"load average {load1:.2f} at the start")
    return "; ".join(notes)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def series(env, state, runs, slow_runs, methods, samples, log):
    """Runs the measurements of one series; returns {method: [seconds]}."""
    up = state == "UP"
    cur = [None]

    def next_mtu():
        m = MTUS[0] if cur[0] != MTUS[0] else MTUS[1]
        cur[0] = m
        return m

    # the links' current MTU, and a warm-up of every fast path (not recorded)
    cur[0] = env.kernel_members()[0]["mtu"]
    for method in ("group", "setgroup", "group-nl", "setgroup-conn", "batch"):
        if method in methods:
            m = next_mtu()
            env.do(method, m)
            env.check(m, up)
    res = {m: [] for m in methods}
    for r in range(runs):
        order = [m for m in methods if m != "perlink" or r < slow_runs]
        if r % 2:  # alternate who goes first among the two of the headline ratio
            order = [{"group": "setgroup", "setgroup": "group"}.get(m, m) for m in order]
        for method in order:
            m = next_mtu()
            t = env.do(method, m)
            env.check(m, up)
            res[method].append(t)
            samples.append((state, env.links, method, r + 1, t, m))
            log(f"  {state:4} run {r + 1}/{runs}  {method:14} mtu {m}  {t:9.4f} s")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--links", type=int, default=2048)
    ap.add_argument("--runs", type=int, default=5, help="runs of the fast methods, DOWN links")
    ap.add_argument("--slow-runs", type=int, default=3,
                    help="runs of one process per link, DOWN links (at least 3)")
    ap.add_argument("--up-runs", type=int, default=3, help="runs with the links UP (0: skip)")
    ap.add_argument("--up-slow-runs", type=int, default=3,
                    help="runs of one process per link, UP links")
    ap.add_argument("--groupd", default=str(REPO / "build" / "src" / "groupd"))
    ap.add_argument("--groupd-arg", action="append", default=[],
                    help="extra argument for groupd, e.g. --groupd-arg=--log-level=debug")
    ap.add_argument("--results", default=str(HERE / "results"))
    ap.add_argument("--quiet", action="store_true", help="no per-sample lines on stderr")
    a = ap.parse_args()

    if os.geteuid() != 0:
        sys.exit("bench-core: run as root (it creates a network namespace)")
    if not os.access(a.groupd, os.X_OK):
        sys.exit(f"bench-core: no groupd at {a.groupd}; build it first (meson compile -C build)")

    def log(msg):
        if not a.quiet:
            print(msg, file=sys.stderr, flush=True)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    methods = ["group", "setgroup", "batch", "perlink", "group-nl", "setgroup-conn"]
    env = Env(Path(a.groupd).resolve(), a.links, a.groupd_arg)
    samples = []
    results = {}
    signals = {}
    ipv6 = "?"
    started = datetime.datetime.now(datetime.timezone.utc)
    busy = quietness()
    try:
        log(f"setting up {a.links} ifb links in a namespace, a private bus and groupd")
        env.start()
        ipv6 = run(["ip", "netns", "exec", env.ns, "cat",
                    "/proc/sys/net/ipv6/conf/ifb0/disable_ipv6"],
                   check=False).stdout.strip()
        ipv6 = {"0": "on", "1": "off"}.get(ipv6, "absent")
        results["DOWN"] = series(env, "DOWN", a.runs, a.slow_runs, methods, samples, log)
        m = MTUS[0] if env.kernel_members()[0]["mtu"] != MTUS[0] else MTUS[1]
        signals["DOWN"] = env.count_signals(m)
        env.check(m, False)
        log(f"  DOWN signals for one SetGroup: {signals['DOWN']}")
        if a.up_runs > 0:
            env.ip("link", "set", "group", GROUP, "up")
            env.check(env.kernel_members()[0]["mtu"], True)
            results["UP"] = series(env, "UP", a.up_runs, a.up_slow_runs, methods, samples, log)
            m = MTUS[0] if env.kernel_members()[0]["mtu"] != MTUS[0] else MTUS[1]
            signals["UP"] = env.count_signals(m)
            env.check(m, True)
            log(f"  UP   signals for one SetGroup: {signals['UP']}")
        groupd_log = (env.tmp / "groupd.log").read_text()
    except KeyboardInterrupt:
        print("bench-core: interrupted", file=sys.stderr)
        return 130
    except BenchError as e:
        print(f"bench-core: {e}", file=sys.stderr)
        if env.tmp and (env.tmp / "groupd.log").exists():
            tail = (env.tmp / "groupd.log").read_text().splitlines()[-25:]
            print("groupd's log, last lines:\n  " + "\n  ".join(tail), file=sys.stderr)
        return 1
    finally:
        env.stop()

    # -- report --------------------------------------------------------------
    rows = []  # kind, state, links, name, runs, median, min, max, unit
    out = []
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out.append(f"### groupd core benchmark: {a.links} ifb links, group-wide MTU change\n")
    out.append(f"{started:%Y-%m-%d %H:%M} UTC; kernel {platform.release()}; {os.cpu_count()} CPUs "
               f"({cpu}); IPv6 on the links: {ipv6}. Times are medians of the runs shown, "
               f"in seconds, process start included except in the last two rows of each "
               f"series; ratios come from this one run. Every run changes the MTU "
               f"({MTUS[0]}/{MTUS[1]}) and is checked in `ip -j link` and in groupd's "
               f"Group object before the next.\n")
    if busy:
        out.append(f"Not a quiet machine: {busy}.\n")
    out.append("| links | method | runs | median (s) | min (s) | max (s) "
               "| × group message (same kind of client) |")
    out.append("|---|---|---:|---:|---:|---:|---:|")
    for state, res in results.items():
        base = median(res["group"])
        for method in methods:
            xs = res[method]
            if not xs:
                continue
            med = median(xs)
            ref = median(res["group-nl"]) if method.endswith(("-nl", "-conn")) else base
            out.append(f"| {a.links} {state} | {METHODS[method]} | {len(xs)} | {med:.4f} | "
                       f"{min(xs):.4f} | {max(xs):.4f} | {med / ref:.2f} |")
            rows.append(("time", state, a.links, method, len(xs), med, min(xs), max(xs), "s"))
    out.append("")
    out.append("| links | SetGroup / group message (target ≤ 1.15) | same, no process start "
               "| per-link processes / SetGroup (target ≥ 80) | ip -batch / SetGroup "
               "| D-Bus signals per SetGroup (target ≤ 3) |")
    out.append("|---|---:|---:|---:|---:|---:|")
    def fmt(x, spec):
        return "–" if x != x else format(x, spec)  # NaN: that method did not run

    for state, res in results.items():
        sg, g = median(res["setgroup"]), median(res["group"])
        r1 = sg / g
        r1c = median(res["setgroup-conn"]) / median(res["group-nl"])
        r2 = median(res["perlink"]) / sg
        r3 = median(res["batch"]) / sg
        per_run = [s / x for s, x in zip(res["setgroup"], res["group"])]
        sigs = signals.get(state, [])
        out.append(f"| {a.links} {state} | {r1:.2f} (per run {min(per_run):.2f}–{max(per_run):.2f}) "
                   f"| {fmt(r1c, '.2f')} | {fmt(r2, '.0f')} | {fmt(r3, '.2f')} | {len(sigs)} "
                   f"({', '.join(f'{k} ×{v}' for k, v in Counter(sigs).items()) or 'none'}) |")
        runs_n = len(res["setgroup"])
        rows.append(("ratio", state, a.links, "setgroup/group", runs_n, r1, min(per_run),
                     max(per_run), "x"))
        rows.append(("ratio", state, a.links, "setgroup-conn/group-nl", runs_n, r1c, "", "", "x"))
        rows.append(("ratio", state, a.links, "perlink/setgroup", len(res["perlink"]), r2, "", "",
                     "x"))
        rows.append(("ratio", state, a.links, "batch/setgroup", runs_n, r3, "", "", "x"))
        rows.append(("signals", state, a.links, "setgroup", 1, len(sigs), "", "", "signals"))
    print("\n".join(out))

    results_dir = Path(a.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    summary = results_dir / f"core-{a.links}.csv"
    with open(summary, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kind", "state", "links", "name", "runs", "median", "min", "max", "unit"])
        for r in rows:
            w.writerow([f"{x:.6f}" if isinstance(x, float) else x for x in r])
    with open(results_dir / f"core-{a.links}-runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["state", "links", "method", "run", "seconds", "mtu"])
        for s in samples:
            w.writerow([s[0], s[1], s[2], s[3], f"{s[4]:.6f}", s[5]])
    print(f"\nCSV: {summary.relative_to(REPO) if summary.is_relative_to(REPO) else summary}",
          file=sys.stderr)
    warn = [ln for ln in groupd_log.splitlines() if "WARNING" in ln or "CRITICAL" in ln]
    if warn:
        print("groupd warned:\n  " + "\n  ".join(warn[:10]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

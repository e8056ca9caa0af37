#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hot-plug latency: groupd against systemd-networkd, in the same run.

For each number of existing links N, their state (DOWN, or UP with IPv6 on)
and each manager, a fresh network namespace with N ifb links (b0, b1, ...)
and the manager configured to give links named ppp* MTU 1492 and group 100:
  groupd     a policy: [Group] Id=100, [Match] Name=ppp*, [Link] MTU=1492
  networkd   a .network file: [Match] Name=ppp*, [Link] MTUBytes=1492
             Group=100 ActivationPolicy=manual, [Network]
             LinkLocalAddressing=no (Debian's systemd-networkd, run by hand in
             the namespace with /sys read-only and tmpfs over /run, its
             configuration bind-mounted, a private dbus-daemon)
then links named ppp* are created with `ip -batch` (one `link add pppK type
ifb` per line): 1 link (several times, one at a time), 100 and 1000 at once.
A listener in the namespace (link-monitor.py, at normal priority) notes for
each new link when its first RTM_NEWLINK arrived and when the first one
showing MTU 1492 did; the latency is the difference. Every new link must end
configured; the links are deleted again (and RTNL let go quiet) between
bursts.

Markdown on stdout and in results/PREFIX.md, CSV in PREFIX.csv (every
latency in PREFIX-runs.csv).

Run as root: bash tests/bench/bench-hotplug.sh [--sizes 128,4096,32768] ...
Nothing touches the host's links: every command names a namespace the
benchmark created, removed on exit; networkd runs only inside it.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import bench_daemons as daemons
from bench_harness import BenchError, Harness, Probe, ask, expect_ready, run, \
    wait_no_tentative

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

MTU = 1492
SIZES = (128, 1024, 4096, 32768)
BURSTS = (1, 100, 1000)
LONE_RUNS = 7

POLICY = """[Group]
Name=ppp
Id=100

[Match]
Name=ppp*

[Link]
MTU={mtu}
"""

NETWORK = """[Match]
Name=ppp*

[Link]
MTUBytes={mtu}
Group=100
ActivationPolicy=manual

[Network]
LinkLocalAddressing=no
IPv6AcceptRA=no
"""


class Env(Harness):
    """N ifb links in a fresh namespace, a private bus, one manager."""

    stop_timeout = 120
    busctl_timeout = 600

    def __init__(self, manager, n, up_links, groupd, tag):
        super().__init__(f"gd-hp-{tag}", "gd-bench-hp.", groupd)
        os.chmod(self.tmp, 0o755)  # networkd drops root and still reaches the bus
        self.manager, self.n, self.up = manager, n, up_links
        self.log_path = self.tmp / "daemon.log"
        self.batches = 0

    def start(self):
        self.make_netns()
        base = self.tmp / "base.batch"
        base.write_text("".join(f"link add b{i} type ifb\n" for i in range(self.n)))
        run(["ip", "-n", self.ns, "-batch", str(base)], timeout=3600)
        if self.up:
            # One group message: setup, not measured.
            run(["ip", "-n", self.ns, "link", "set", "group", "0", "up"], timeout=7200)
            run(["ip", "-n", self.ns, "link", "set", "lo", "up"])
            wait_no_tentative(self.ns, 1200)  # start the manager after the DAD tail
        self.start_bus()
        self.start_manager()
        self.monitor = self.spawn(
            ["ip", "netns", "exec", self.ns, "/usr/bin/python3", str(HERE / "link-monitor.py"),
             "ppp", str(MTU)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        expect_ready(self.monitor, "link-monitor.py")

    def wait_bus_name(self, name, proc, limit=300):
        deadline = time.monotonic() + limit
        while not self.on_bus(name):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"{self.manager} did not come up: "
                                 + self.log_path.read_text()[-2000:])
            time.sleep(0.05)

    def start_manager(self):
        if self.manager == "groupd":
            root = self.tmp / "root"
            (root / "etc/groupd/groups.d").mkdir(parents=True)
            (root / "etc/groupd/groups.d/50-ppp.group").write_text(POLICY.format(mtu=MTU))
            self.daemon = self.exec_groupd(root, open(self.log_path, "w"))
            self.wait_bus_name("net.groupd1", self.daemon)
        else:
            (self.tmp / "network").mkdir()
            os.chmod(self.tmp / "network", 0o755)
            nf = self.tmp / "network" / "50-ppp.network"
            nf.write_text(NETWORK.format(mtu=MTU))
            os.chmod(nf, 0o644)
            self.wait_bus_name("org.freedesktop.network1",
                               self.spawn_daemon(daemons.networkd_script(self.tmp)))
            time.sleep(1.0 + self.n / 4096)  # let it go through the existing links

    def say(self, line):
        return ask(self.monitor, line, "link-monitor.py")

    def batch(self, lines):
        self.batches += 1
        path = self.tmp / f"b{self.batches}.batch"
        path.write_text("".join(l + "\n" for l in lines))
        run(["ip", "-n", self.ns, "-batch", str(path)], timeout=3600)

    def burst(self, k, start):
        """k new links in one ip -batch; returns their latencies (s)."""
        names = [f"ppp{start + i}" for i in range(k)]
        self.say("reset")
        self.batch([f"link add {n} type ifb" for n in names])
        got = json.loads(self.say(f"wait {k} 300"))
        if got["configured"] != k or got["appeared"] != k:
            raise BenchError(f"{self.manager}: {got['configured']} of {k} new links configured "
                             f"({got['appeared']} seen, {got['overruns']} overruns)")
        if self.daemon.poll() is not None:
            raise BenchError(f"{self.manager} exited")
        # Every new link: MTU and group (checked in the kernel, not the events).
        links = json.loads(run(["ip", "-n", self.ns, "-j", "link", "show"]).stdout)
        bad = [l["ifname"] for l in links if l.get("ifname", "").startswith("ppp")
               and (l["mtu"] != MTU or l.get("group") not in ("100", 100))]
        if bad:
            raise BenchError(f"{self.manager}: not configured in the kernel: {bad[:5]}")
        self.batch([f"link del {n}" for n in names])
        return got["latencies"]


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--states", default="down,up")
    ap.add_argument("--up-max", type=int, default=32768, help="no UP series above this")
    ap.add_argument("--bursts", default=",".join(map(str, BURSTS)))
    ap.add_argument("--lone-runs", type=int, default=LONE_RUNS)
    ap.add_argument("--managers", default="groupd,networkd")
    ap.add_argument("--networkd-max", type=int, default=8192,
                    help="networkd not above this many links (it had not taken its bus name "
                    "after 300 s at 32768)")
    ap.add_argument("--groupd", default=str(REPO / "build" / "src" / "groupd"))
    ap.add_argument("--results", default=str(HERE / "results"))
    ap.add_argument("--prefix", default="hotplug")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-hotplug: run as root (it creates network namespaces)")
    managers = [m for m in a.managers.split(",") if m]
    if "networkd" in managers and not os.access(daemons.NETWORKD, os.X_OK):
        sys.exit(f"bench-hotplug: no {daemons.NETWORKD} (Debian's systemd package)")
    sizes = [int(x) for x in a.sizes.split(",") if x]
    bursts = [int(x) for x in a.bursts.split(",") if x]
    states = [s for s in a.states.split(",") if s]
    results = Path(a.results)
    results.mkdir(parents=True, exist_ok=True)

    def log(msg):
        if not a.quiet:
            print(msg, file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()[0]
    samples = []  # (manager, state, n, burst, latency)
    notes = []
    probe = Probe(f"hp{os.getpid()}")
    env = None
    try:
        for state in states:
            for n in sizes:
                if state == "up" and n > a.up_max:
                    continue
                for manager in managers:
                    if manager == "networkd" and n > a.networkd_max:
                        notes.append(f"networkd not run at {n} links (--networkd-max "
                                     f"{a.networkd_max})")
                        continue
                    waited = probe.quiet(log)
                    log(f"{manager}, {n} existing links {state.upper()}: setting up "
                        f"(RTNL quiet after {waited:.1f} s)")
                    env = Env(manager, n, state == "up", a.groupd, os.getpid())
                    try:
                        env.start()
                        probe.quiet(log)
                        next_name = 0
                        for k in bursts:
                            reps = a.lone_runs if k == 1 else 1
                            for _ in range(reps):
                                probe.quiet(log)
                                lat = env.burst(k, next_name)
                                next_name += k
                                samples += [(manager, state, n, k, x) for x in lat]
                                log(f"  {k} new: p50 {percentile(lat, 50) * 1000:.1f} ms, "
                                    f"max {max(lat) * 1000:.1f} ms")
                    except BenchError as e:
                        # The rest of the run goes on; the table says what is missing.
                        notes.append(f"{manager}, {n} links {state.upper()}: {str(e)[:300]}")
                        log(f"  failed: {e}")
                    env.stop()
                    env = None
    finally:
        if env:
            env.stop()
        probe.stop()

    rows = {}
    for m, s, n, k, x in samples:
        rows.setdefault((s, n, k, m), []).append(x)
    commit = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    out = ["### Hot-plug latency: groupd against systemd-networkd (bench-hotplug)\n",
           f"Started {started:%Y-%m-%d %H:%M} UTC; Linux {platform.release()}, {os.cpu_count()} "
           f"CPUs; groupd at {commit}; load {load_start:.2f} at the start, "
           f"{os.getloadavg()[0]:.2f} at the end. Latency: from a new link's first RTM_NEWLINK to "
           f"the first showing MTU {MTU}, in ms; a lone link {a.lone_runs} times, the bursts "
           "once (one `ip -batch`). Command: `bash tests/bench/bench-hotplug.sh "
           + " ".join(sys.argv[1:]) + "`\n",
           "| existing links | state | new links | groupd p50 | groupd p99 | groupd max | "
           "networkd p50 | networkd p99 | networkd max | groupd p99 / networkd p99 |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def ms(x):
        return "–" if x is None else f"{x * 1000:.1f}"

    for state in states:
        for n in sizes:
            for k in bursts:
                g, d = rows.get((state, n, k, "groupd")), rows.get((state, n, k, "networkd"))
                if not g and not d:
                    continue
                stats = []
                for xs in (g, d):
                    stats += [percentile(xs, 50), percentile(xs, 99), max(xs)] if xs else [None] * 3
                ratio = f"{stats[1] / stats[4]:.2f}" if g and d and stats[4] else "–"
                out.append(f"| {n} | {state.upper()} | {k} | " + " | ".join(ms(x) for x in stats)
                           + f" | {ratio} |")
    out += [""] + [f"- {x}" for x in notes] if notes else []
    text = "\n".join(out) + "\n"
    print(text)
    (results / f"{a.prefix}.md").write_text(text)
    with open(results / f"{a.prefix}-runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["manager", "state", "links", "new", "latency_s"])
        w.writerows(samples)
    with open(results / f"{a.prefix}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["state", "links", "new", "manager", "p50_s", "p99_s", "max_s", "samples"])
        for (s, n, k, m), xs in sorted(rows.items()):
            w.writerow([s, n, k, m, f"{percentile(xs, 50):.6f}", f"{percentile(xs, 99):.6f}",
                        f"{max(xs):.6f}", len(xs)])


if __name__ == "__main__":
    main()

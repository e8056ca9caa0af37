#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""groupd on UP links with IPv6, on a stock kernel: time and RTNL hold.

For each N, a fresh network namespace with N ifb links in group 100 (IPv6 on,
or disable_ipv6 set before the links exist), brought UP, a private bus and
groupd. A probe in another namespace of its own (rtnl-probe.py) sends the
request of `ip link set lo mtu M` about every millisecond and reports the
longest wait while each operation runs: RTNL is one lock for the machine.

Series, each method in turn in every run, every result checked (every member
in `ip -j link`, groupd's Group object) before the next:
  mtu       a group-wide MTU change (alternating 1400/1450)
  txqlen    a group-wide queue length change (alternating 500/600): each UP
            device is deactivated around its qdisc's resize
  up        State=up after the group was taken down (unmeasured); with IPv6
            also until every member's link-local address is usable (the
            DAD work after the answer, ll-ready.py): the "up-ready" tables
  down-mtu  the MTU change with the links DOWN (up to 32768)
Methods:
  group     `ip link set group 100 mtu M` / `… up`: one group message
  batch     `ip -batch` with one line per link
  setgroup  `busctl call … SetGroup 100 {MTU|State}`
  group-nl, setgroup-conn   the two group ways without a process start
            (an open netlink socket, nl-group-msg.py; an open D-Bus
            connection), in the UP series
For SetGroup the kernel path groupd chose is read from its log. Each size
also times the two clients' own start (series "start": `busctl call` of the
bus's GetId, `ip link show dev lo`), so the tables can show the ratio with
the process starts taken out as well.

Markdown on stdout and in results/PREFIX.md, CSV in PREFIX.csv (every sample
in PREFIX-runs.csv), the plot (gnuplot) in PREFIX.png.

Run as root: bash tests/bench/bench-up.sh [--sizes 128,...,8192] [--runs 3] ...
Nothing touches the host's links: every command names a namespace the
benchmark created, and both namespaces are removed on exit.
"""
import argparse
import csv
import datetime
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_harness import GROUP, MTUS, BenchError, Harness, Probe, ask, expect_ready, run, \
    timed, wait_no_tentative

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
UP_SIZES = (128, 256, 512, 1024, 2048, 4096, 8192)
TXQLENS = (500, 600)
DOWN_SIZES = (128, 1024, 8192, 32768)
METHODS = ("group", "batch", "setgroup")
OPEN_METHODS = ("group-nl", "setgroup-conn")
TITLES = {
    "group": "group message (`ip link set group`)",
    "batch": "`ip -batch`, one line per link",
    "setgroup": "SetGroup (busctl)",
    "group-nl": "group message, open netlink socket",
    "setgroup-conn": "SetGroup, open D-Bus connection",
}


class Env(Harness):
    """N ifb links in group 100 in a fresh namespace, a private bus, groupd."""

    busctl_timeout = 3600
    ip_timeout = 600
    groupd_timeout = 120

    def __init__(self, groupd, n, ipv6, up, groupd_args, tag):
        super().__init__(f"gd-up-{tag}", "gd-bench-up.", groupd, groupd_args)
        self.n, self.ipv6, self.up = n, ipv6, up
        self.names = [f"ifb{i}" for i in range(n)]
        self.log_offset = 0

    def start(self, probe, log):
        self.make_netns()
        if not self.ipv6:
            run(["ip", "netns", "exec", self.ns, "sysctl", "-qw",
                 "net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.all.disable_ipv6=1"])
        links = self.tmp / "links.batch"
        links.write_text("".join(f"link add {n} group {GROUP} type ifb\n" for n in self.names))
        run(["ip", "-n", self.ns, "-batch", str(links)], timeout=3600)
        if self.up:
            self.ip("link", "set", "group", GROUP, "up", timeout=3600)
        # groupd starts once no address is tentative any more and RTNL is
        # quiet: a link dump meanwhile would be interrupted again and again.
        if self.up and self.ipv6:
            wait_no_tentative(self.ns, 600)
        probe.quiet(log)
        for m in MTUS:
            (self.tmp / f"mtu-{m}").write_text(
                "".join(f"link set dev {n} mtu {m}\n" for n in self.names))
        for q in TXQLENS:
            (self.tmp / f"txqlen-{q}").write_text(
                "".join(f"link set dev {n} txqueuelen {q}\n" for n in self.names))
        (self.tmp / "up").write_text("".join(f"link set dev {n} up\n" for n in self.names))
        self.start_bus()
        self.start_groupd()
        self.nl = self.spawn(["ip", "netns", "exec", self.ns, "/usr/bin/python3",
                              str(HERE / "nl-group-msg.py"), GROUP],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.connect()
        self.ll = None
        if self.up and self.ipv6:
            self.ll = self.spawn(["ip", "netns", "exec", self.ns, "/usr/bin/python3",
                                  str(HERE / "ll-ready.py"), GROUP],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            expect_ready(self.ll, "ll-ready.py")
        self.settle()

    # -- helpers ---------------------------------------------------------
    def settle(self):
        """Let the kernel's tail (DAD work, linkwatch) and groupd go quiet."""
        time.sleep(0.5 + self.n / 8192)

    def check(self, mtu, up, txqlen=None):
        members = self.kernel_members()
        bad = [d["ifname"] for d in members
               if (mtu is not None and d["mtu"] != mtu) or (("UP" in d["flags"]) != up)
               or (txqlen is not None and d["txqlen"] != txqlen)]
        if len(members) != self.n or bad:
            raise BenchError(f"kernel: {len(members)} members, {len(bad)} wrong: {bad[:5]}")
        want = (str(mtu) if mtu is not None else None, "up" if up else "down",
                str(txqlen) if txqlen is not None else None)
        deadline = time.monotonic() + 60
        while True:
            got = (self.group_prop("MTU") if mtu is not None else None, self.group_prop("State"),
                   self.group_prop("TxQueueLength") if txqlen is not None else None)
            if got == want:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"groupd says {got}, the kernel {want}")
            time.sleep(0.02)

    def chosen_path(self):
        """The kernel path of groupd's last group change, from its log."""
        text = self.log_path.read_text(errors="replace")
        new, self.log_offset = text[self.log_offset:], len(text)
        found = re.findall(r"group change of \d+ links by (one group message|per-link messages)"
                           r"(?: \(\d+ in (\d+) sends, the longest ([0-9.]+) ms[^)]*\))?: "
                           r"([0-9.]+) ms", new)
        if not found:
            return "?"
        kind, sends, longest, total = found[-1]
        # The longest sendmsg() groupd made: each of its RTNL holds was shorter.
        if kind.startswith("one"):
            return f"group/{float(total):.1f}"
        return f"per-link/{sends}/{float(longest):.1f}"

    # -- the measured operations -----------------------------------------
    def do(self, method, key, sig, value, batch, group_args, nl_request):
        """One measured group change, the same change (key: value) each way."""
        if method == "group":
            return timed(["ip", "-n", self.ns, "link", "set", "group", GROUP, *group_args])
        if method == "batch":
            return timed(["ip", "-n", self.ns, "-batch", str(self.tmp / batch)])
        if method == "setgroup":
            return timed(self.setgroup_cmd(key, sig, value, 3600))
        if method == "group-nl":
            return float(ask(self.nl, nl_request, "nl-group-msg.py"))
        if method == "setgroup-conn":
            return self.timed_set_group(key, sig, value, 3600000)
        raise ValueError(method)

    def do_mtu(self, method, mtu):
        return self.do(method, "MTU", "u", mtu, f"mtu-{mtu}", ("mtu", str(mtu)), str(mtu))

    def do_txqlen(self, method, q):
        return self.do(method, "TxQueueLength", "u", q, f"txqlen-{q}", ("txqueuelen", str(q)),
                       f"txqueuelen {q}")

    def do_up(self, method):
        return self.do(method, "State", "s", "up", "up", ("up",), "up")


def rotated(methods, r):
    """Each run starts with another method: none always goes first."""
    k = r % len(methods)
    return methods[k:] + methods[:k]


def measure_change(env, probe, runs, methods, samples, key, log, attribute):
    """A group-wide change of attribute ("mtu" or "txqlen"), alternating
    between its two values so that every run really changes it."""
    values = MTUS if attribute == "mtu" else TXQLENS
    do = env.do_mtu if attribute == "mtu" else env.do_txqlen
    i = 0
    for r in range(runs):
        for method in rotated(methods, r):
            i += 1
            value = values[i % 2]
            probe.quiet(log)
            probe.mark()
            t = do(method, value)
            wait = probe.report()
            path = env.chosen_path() if method.startswith("setgroup") else ""
            if attribute == "mtu":
                env.check(value, env.up)
            else:
                env.check(None, env.up, txqlen=value)
            samples.append((*key, method, r, t, wait, path))
            log(f"  {key} {method} run {r}: {t:.4f} s, probe waited {wait:.1f} ms {path}")
            env.settle()


def measure_up(env, probe, runs, methods, samples, key, log):
    for r in range(runs):
        for method in rotated(methods, r):
            env.ip("link", "set", "group", GROUP, "down", timeout=3600)  # setup, not timed
            env.check(None, False)
            env.settle()
            env.chosen_path()
            if env.ll:
                armed = ask(env.ll, "arm", "ll-ready.py")
                if armed != f"armed {env.n}":
                    raise BenchError(f"ll-ready.py: {armed}, not {env.n} members")
            probe.quiet(log)
            probe.mark()
            start = time.monotonic()
            t = env.do_up(method)
            wait = probe.report()
            path = env.chosen_path() if method.startswith("setgroup") else ""
            extra = ""
            if env.ll:
                # The same window until the kernel's DAD work made every
                # link-local address usable: the probe's wait covers it too.
                done = ask(env.ll, "wait 600", "ll-ready.py")
                if done.startswith("timeout"):
                    raise BenchError(f"link-local addresses not usable after 600 s: {done}")
                t_ready = float(done) - start
                wait_ready = probe.report()
                samples.append(("up-ready", *key[1:], method, r, t_ready, wait_ready, path))
                extra = f"; usable after {t_ready:.4f} s, probe waited {wait_ready:.1f} ms"
            env.check(None, True)
            samples.append((*key, method, r, t, wait, path))
            log(f"  {key} {method} run {r}: {t:.4f} s, probe waited {wait:.1f} ms {path}{extra}")
            env.settle()


def measure_starts(env, runs, samples, ipv6, log):
    """The clients' own start, without groupd or a change: busctl asking the
    bus daemon for its id, ip showing lo."""
    cmds = {"busctl-start": ["busctl", f"--address={env.bus_addr}", "call",
                             "org.freedesktop.DBus", "/org/freedesktop/DBus",
                             "org.freedesktop.DBus", "GetId"],
            "ip-start": ["ip", "-n", env.ns, "link", "show", "dev", "lo"]}
    for r in range(runs * 3):
        for method, cmd in cmds.items():
            samples.append(("start", ipv6, env.n, method, r, timed(cmd), 0.0, ""))
    log(f"  client start at {env.n}: busctl {starts(samples, ipv6, env.n, 'busctl-start'):.4f} s, "
        f"ip {starts(samples, ipv6, env.n, 'ip-start'):.4f} s")


def starts(samples, ipv6, n, method):
    return median([s[5] for s in samples if s[:4] == ("start", ipv6, n, method)])


def median(xs):
    return statistics.median(xs) if xs else None


def summarise(samples):
    """{(series, ipv6, n, method): (median t, min, max, median wait, max wait, paths)}"""
    groups = {}
    for series, ipv6, n, method, _r, t, wait, path in samples:
        groups.setdefault((series, ipv6, n, method), []).append((t, wait, path))
    out = {}
    for k, v in groups.items():
        ts = [x[0] for x in v]
        ws = [x[1] for x in v]
        paths = [x[2] for x in v if x[2]]
        out[k] = (median(ts), min(ts), max(ts), median(ws), max(ws), paths)
    return out


def describe_paths(paths):
    """"per-link, 48-57 sends, longest 9.7 ms" from "per-link/48/9.7", …"""
    if not paths:
        return "?"
    kinds = sorted({p.split("/")[0] for p in paths})
    parts = []
    for kind in kinds:
        mine = [p.split("/") for p in paths if p.split("/")[0] == kind]
        if kind == "group":
            parts.append(f"group ({len(mine)}×), its hold ≤ {max(float(m[1]) for m in mine):.1f}")
        elif kind == "per-link" and all(len(m) == 3 for m in mine):
            sends = sorted(int(m[1]) for m in mine)
            parts.append(f"per-link ({len(mine)}×), {sends[0]}–{sends[-1]} sends, longest "
                         f"{max(float(m[2]) for m in mine):.1f}")
        else:
            parts.append(f"{kind} ({len(mine)}×)")
    return "; ".join(parts)


def fmt_t(x):
    return "–" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def table(summary, series, ipv6, sizes, with_open):
    cols = METHODS + (OPEN_METHODS if with_open else ())
    head = ["N"]
    for m in cols:
        head += [f"{TITLES[m]} (s)", "probe wait (ms)"]
    head += ["SetGroup / faster raw way", "the same, client starts taken out",
             "SetGroup's longest probe wait (ms)",
             "SetGroup's path (sends, its longest sendmsg in ms)"]
    if with_open:
        head.append("SetGroup open / group msg open")
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for n in sizes:
        row = [str(n)]
        s = {m: summary.get((series, ipv6, n, m)) for m in cols}
        if not s["setgroup"]:
            continue
        for m in cols:
            v = s[m]
            if v is None:
                row += ["–", "–"]
            else:
                row += [f"{fmt_t(v[0])} ({fmt_t(v[1])}–{fmt_t(v[2])})", f"{v[3]:.1f} (max {v[4]:.1f})"]
        raw = [s[m][0] for m in ("group", "batch") if s[m]]
        row.append(f"**{s['setgroup'][0] / min(raw):.2f}**" if raw else "–")
        bs = summary.get(("start", ipv6, n, "busctl-start"))
        ips = summary.get(("start", ipv6, n, "ip-start"))
        row.append(f"{(s['setgroup'][0] - bs[0]) / (min(raw) - ips[0]):.2f}"
                   if raw and bs and ips and min(raw) > ips[0] else "–")
        row.append(f"{s['setgroup'][4]:.1f}")
        row.append(describe_paths(s["setgroup"][5]))
        if with_open:
            a, b = s.get("setgroup-conn"), s.get("group-nl")
            row.append(f"{a[0] / b[0]:.2f}" if a and b else "–")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def plot(results, prefix, summary, keys):
    dat = results / f"{prefix}-plot.dat"
    plots, idx = [], 0
    with open(dat, "w") as f:
        for series, ipv6, sizes in keys:
            for m in METHODS:
                pts = [(n, summary[(series, ipv6, n, m)]) for n in sizes
                       if (series, ipv6, n, m) in summary]
                if not pts:
                    continue
                title = f"{series}, IPv6 {ipv6}: {TITLES[m].split(' (')[0]}".replace("`", "")
                f.write(f"# {title}\n")
                for n, v in pts:
                    f.write(f"{n} {v[0]:.6f} {v[1]:.6f} {v[2]:.6f} {max(v[4], 0.01) / 1000:.6f}\n")
                f.write("\n\n")
                plots.append((idx, title))
                idx += 1
    script = results / f"{prefix}-plot.gp"
    lines = [
        f"set terminal pngcairo size 1200,860 font ',9'",
        f"set output '{prefix}.png'",
        "set logscale xy",
        "set key left top font ',8'",
        "set grid",
        "set multiplot layout 2,1",
        "set title 'time of the operation (s), median with min-max'",
        "set xlabel 'ifb links in the group'",
        "plot " + ", \\\n     ".join(
            f"'{dat.name}' index {i} using 1:2:3:4 with yerrorlines title '{t}'"
            for i, t in plots),
        "set title 'longest wait of a probe in another namespace (s): the RTNL hold'",
        "plot " + ", \\\n     ".join(
            f"'{dat.name}' index {i} using 1:5 with linespoints title '{t}'" for i, t in plots)
        + ", 0.1 with lines dashtype 2 lw 2 title '100 ms'",
        "unset multiplot",
    ]
    script.write_text("\n".join(lines) + "\n")
    r = subprocess.run(["gnuplot", script.name], cwd=results, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise BenchError(f"gnuplot: {r.stderr[:500]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, UP_SIZES)), help="UP series")
    ap.add_argument("--down-sizes", default=",".join(map(str, DOWN_SIZES)))
    ap.add_argument("--ipv6", default="on,off")
    ap.add_argument("--series", default="mtu,up,down-mtu")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--big-runs", type=int, default=3, help="runs above 2048 links")
    ap.add_argument("--groupd", default=str(REPO / "build" / "src" / "groupd"))
    ap.add_argument("--groupd-arg", action="append", default=[])
    ap.add_argument("--results", default=str(HERE / "results"))
    ap.add_argument("--prefix", default="up")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-up: run as root (it creates network namespaces)")
    for tool in ("ip", "busctl", "dbus-daemon", "gnuplot", "sysctl"):
        if not shutil.which(tool):
            sys.exit(f"bench-up: {tool} is missing (bash tools/install-deps.sh)")
    sizes = [int(x) for x in a.sizes.split(",") if x]
    down_sizes = [int(x) for x in a.down_sizes.split(",") if x]
    ipv6s = [x for x in a.ipv6.split(",") if x]
    series = [x for x in a.series.split(",") if x]
    results = Path(a.results)
    results.mkdir(parents=True, exist_ok=True)

    def log(msg):
        if not a.quiet:
            print(msg, file=sys.stderr, flush=True)

    envs = []
    probe = None

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()[0]
    samples = []
    failures = []
    try:
        probe = Probe(os.getpid())
        plan = []
        for ipv6 in ipv6s:
            for n in sizes:
                if "mtu" in series or "up" in series or "txqlen" in series:
                    plan.append((ipv6, n, True))
        if "down-mtu" in series:
            for n in down_sizes:
                plan.append(("on", n, False))
        for ipv6, n, up in plan:
            waited = probe.quiet(log)  # the last namespace's teardown
            log(f"{n} ifb links, IPv6 {ipv6}, {'UP' if up else 'DOWN'}: setting up "
                f"(RTNL quiet after {waited:.1f} s)")
            env = Env(a.groupd, n, ipv6 == "on", up, a.groupd_arg, os.getpid())
            envs.append(env)
            try:
                env.start(probe, log)
                runs = a.runs if n <= 2048 else a.big_runs
                measure_starts(env, runs, samples, ipv6, log)
                if up and "mtu" in series:
                    measure_change(env, probe, runs, METHODS + OPEN_METHODS, samples,
                                   ("mtu", ipv6, n), log, "mtu")
                if up and "txqlen" in series:
                    measure_change(env, probe, runs, METHODS + OPEN_METHODS, samples,
                                   ("txqlen", ipv6, n), log, "txqlen")
                if up and "up" in series:
                    measure_up(env, probe, runs, METHODS + OPEN_METHODS, samples,
                               ("up", ipv6, n), log)
                if not up:
                    measure_change(env, probe, runs, METHODS + OPEN_METHODS, samples,
                                   ("down-mtu", ipv6, n), log, "mtu")
            except BenchError as e:
                # Said in the results; the other sizes still run.
                failures.append(f"{n} links, IPv6 {ipv6}, {'UP' if up else 'DOWN'}: {e}"[:600])
                log("FAILED: " + failures[-1])
            env.stop()
            envs.remove(env)
    except KeyboardInterrupt:
        log("interrupted")
        raise
    finally:
        for env in envs:
            env.stop()
        if probe:
            probe.stop()

    summary = summarise(samples)
    commit = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    kernel = platform.release()
    out = [f"### groupd on UP links: time and RTNL hold (bench-up)\n",
           f"Started {started:%Y-%m-%d %H:%M} UTC; Linux {kernel}, {os.cpu_count()} CPUs; groupd at "
           f"{commit}; load {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
           f"{a.runs} runs per figure up to 2048 links, {a.big_runs} above, median (min–max); "
           f"probe wait: median (max) of the runs' "
           f"longest waits. Command: `bash tests/bench/bench-up.sh "
           + " ".join(sys.argv[1:]) + "`\n"]
    for s, label in (("mtu", "Group-wide MTU change, links UP"),
                     ("txqlen", "Group-wide queue length change, links UP"),
                     ("up", "State=up (the links were taken down first), until the answer"),
                     ("up-ready", "State=up, until every member's link-local address is usable"),
                     ("down-mtu", "Group-wide MTU change, links DOWN")):
        for ipv6 in (ipv6s if s != "down-mtu" else ["on"]):
            sz = sizes if s != "down-mtu" else down_sizes
            if not any((s, ipv6, n, "setgroup") in summary for n in sz):
                continue
            out.append(f"\n#### {label}, IPv6 {ipv6}\n")
            out.append(table(summary, s, ipv6, sz, True))
    for f in failures:
        out.append(f"\n- not measured: {f}")
    text = "\n".join(out) + "\n"
    print(text)
    (results / f"{a.prefix}.md").write_text(text)
    with open(results / f"{a.prefix}-runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["series", "ipv6", "links", "method", "run", "seconds", "probe_wait_ms",
                    "path"])
        w.writerows(samples)
    with open(results / f"{a.prefix}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["series", "ipv6", "links", "method", "median_s", "min_s", "max_s",
                    "median_wait_ms", "max_wait_ms", "paths"])
        for k in sorted(summary):
            v = summary[k]
            w.writerow([*k, f"{v[0]:.6f}", f"{v[1]:.6f}", f"{v[2]:.6f}", f"{v[3]:.3f}",
                        f"{v[4]:.3f}", " ".join(v[5])])
    keys = [(s, ipv6, sizes) for s in ("mtu", "txqlen", "up") if s in series for ipv6 in ipv6s]
    if "up" in series and "on" in ipv6s:
        keys.append(("up-ready", "on", sizes))
    if "down-mtu" in series:
        keys.append(("down-mtu", "on", down_sizes))
    plot(results, a.prefix, summary, keys)


if __name__ == "__main__":
    main()

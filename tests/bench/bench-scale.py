#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""groupd scale benchmark: the original table (128…2048 interfaces, one group
message against one process per device), extended to 32768 links, with
ip -batch, groupd over D-Bus, and the daemons users run today.

For each N, in a fresh throw-away network namespace with N ifb links in group
100, a private bus and groupd (the harness of bench-core.py), it measures:

  startup      groupd from exec to READY=1 (sd_notify), and its RSS then and
               at the end; against one `ip -j link show` process;
  setlinkgroup `busctl call … SetLinkGroup` moving all N links to another
               group, against `ip -batch` doing the same moves; and from open
               sockets: SetLinkGroup on an open D-Bus connection against the
               same N per-link RTM_NEWLINK moves in one sendmsg() from an open
               netlink socket (nl-move-links.py);
  the group-wide MTU change of bench-core.py: one group message, busctl
               SetGroup, ip -batch, one process per link (N <= 2048), and the
               same two group paths from open sockets;
  agree        the group message sent by someone else, until groupd's D-Bus
               state (the Group object and LinksChanged) says the same
               (agree-probe.py), and the signals that caused;
  signals      D-Bus signals of one SetGroup and of one SetLinkGroup.

First with the links DOWN, then UP (the UP series stops at --up-max links:
the stock kernel is quadratic there). Then, on their own namespaces,
systemd-networkd and NetworkManager (bench_daemons.py).

Writes tests/bench/results/scale.{md,csv}, scale-runs.csv and scale.png.
Run as root: bash tests/bench/bench-scale.sh [--sizes 128,256,...] [--runs 5]
"""
import argparse
import csv
import datetime
import importlib.util
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench_harness import GROUP, MTUS, BenchError, ask, expect_ready, run, timed

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
_spec = importlib.util.spec_from_file_location("bench_core", HERE / "bench-core.py")
core = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(core)
median = core.median
SIZES = (128, 256, 512, 1024, 2048, 8192, 32768)
PERLINK_MAX = 2048
SETTLE_WINDOW_S = 3.2


def rss_kib(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0])
    return out


class ScaleEnv(core.Env):
    """bench-core's namespace + bus + groupd, with groupd started under a
    notify socket so READY=1 can be timed."""

    def start_groupd(self):
        root = self.tmp / "root"
        root.mkdir(exist_ok=True)
        self.starts = getattr(self, "starts", 0) + 1
        npath = self.tmp / f"notify-{self.starts}.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(npath))
        sock.settimeout(0.05)
        env = dict(os.environ, NOTIFY_SOCKET=str(npath))
        for k in ("WATCHDOG_USEC", "WATCHDOG_PID", "DBUS_SESSION_BUS_ADDRESS"):
            env.pop(k, None)
        t0 = time.perf_counter()
        self.exec_groupd(root, open(self.log_path, "a"), env=env)
        deadline = time.monotonic() + 300
        try:
            while True:
                try:
                    if "READY=1" in sock.recv(65536).decode(errors="replace").split("\n"):
                        break
                except socket.timeout:
                    pass
                if self.groupd_proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("groupd sent no READY=1: " + self.log_tail())
        finally:
            sock.close()
        self.ready_s = time.perf_counter() - t0
        self.ready_rss = rss_kib(self.groupd_proc.pid)["VmRSS"]

    def stop_groupd(self):
        p = self.groupd_proc
        p.terminate()
        try:
            p.wait(timeout=60)
        except Exception:
            p.kill()
            p.wait()
        if p.returncode != 0:
            raise BenchError(f"groupd exited {p.returncode}: " + self.log_tail())

    def log_tail(self):
        try:
            return "\n  ".join(self.log_path.read_text().splitlines()[-25:])
        except OSError:
            return "(no log)"

    def check_cache(self):
        """ListLinks (groupd's cache) equals `ip -j link` for every link."""
        cache = sorted((i, n, g, m) for i, n, g, m, _s in self.call("ListLinks", None, None)[0])
        names = {"default": 0}
        for path in ("/usr/share/iproute2/group", "/etc/iproute2/group"):
            try:
                for line in open(path):
                    f = line.split("#", 1)[0].split()
                    if len(f) == 2 and f[0].isdigit():
                        names[f[1]] = int(f[0])
            except OSError:
                pass
        kernel = []
        for d in json.loads(self.ip("-j", "link", "show").stdout):
            if not d.get("ifname"):
                continue
            g = d.get("group", "default")
            gid = names[g] if g in names else int(g, 0)
            kernel.append((d["ifindex"], d["ifname"], gid, d["mtu"]))
        kernel.sort()
        if cache != kernel:
            diff = [(c, k) for c, k in zip(cache, kernel) if c != k][:5]
            raise BenchError(f"groupd's ListLinks differs from the kernel: {len(cache)} vs "
                             f"{len(kernel)} links, first differences {diff}")

    def group_members(self, gid):
        r = self.busctl("get-property", "net.groupd1", f"/net/groupd1/group/{gid}",
                        "net.groupd1.Group", "MemberCount", check=False)
        return int(r.stdout.split()[1]) if r.returncode == 0 else 0

    def kernel_group_count(self, gid):
        data = json.loads(self.ip("-j", "link", "show", "group", str(gid)).stdout)
        return sum(1 for d in data if d.get("ifname"))

    def count_signals_of(self, action):
        """Signals groupd sends for action(), seen by dbus-monitor."""
        return self.signals_during("net.groupd1", action)[1]


class Recorder:
    def __init__(self, log):
        self.samples = []  # state, links, method, run, value, unit
        self.log = log

    def add(self, state, n, method, r, value, unit="s"):
        self.samples.append((state, n, method, r, value, unit))
        self.log(f"  {n:6} {state:4} {method:16} run {r}: {value:.4f} {unit}")

    def values(self, state, n, method):
        return [s[4] for s in self.samples if s[:3] == (state, n, method)]


def measure_size(a, n, rec, sigs, log):
    env = ScaleEnv(Path(a.groupd).resolve(), n, a.groupd_arg)
    runs = a.big_runs if n > 8192 else a.runs
    try:
        t0 = time.perf_counter()
        log(f"{n} links: setting up")
        env.start()
        log(f"  set up in {time.perf_counter() - t0:.1f} s")
        # -- startup to READY, against one `ip -j link show` -----------------
        for r in range(runs):
            if r > 0:
                env.stop_groupd()
                env.start_groupd()
            rec.add("-", n, "startup", r + 1, env.ready_s)
            rec.add("-", n, "rss-ready", r + 1, env.ready_rss / 1024, "MiB")
            rec.add("-", n, "ip-link-show", r + 1,
                    timed(["ip", "-n", env.ns, "-j", "link", "show"]))
        env.check_cache()
        # -- SetLinkGroup of every link against ip -batch doing the same ------
        names = env.names
        (env.tmp / "names").write_text("".join(f"{x}\n" for x in names))
        mover = env.spawn(["ip", "netns", "exec", env.ns, "/usr/bin/python3",
                           str(HERE / "nl-move-links.py"), str(env.tmp / "names")],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        expect_ready(mover, "nl-move-links.py")
        for r in range(runs):
            gs, gb, gc, gn = 110 + r, 120 + r, 130 + r, 140 + r
            batch = env.tmp / f"move-{gb}"
            batch.write_text("".join(f"link set dev {x} group {gb}\n" for x in names))
            order = ["setlinkgroup", "batch-move", "setlinkgroup-conn", "move-nl"]
            if r % 2:
                order.reverse()
            for method in order:
                if method == "setlinkgroup-conn":
                    t = env.timed_call("SetLinkGroup", "(ass)", (names, str(gc)))
                    if env.kernel_group_count(gc) != n or env.group_members(gc) != n:
                        raise BenchError(f"SetLinkGroup (open connection) to {gc}: kernel "
                                         f"{env.kernel_group_count(gc)}, groupd "
                                         f"{env.group_members(gc)} of {n}")
                    rec.add("-", n, method, r + 1, t)
                    continue
                if method == "move-nl":
                    line = ask(mover, str(gn), "nl-move-links.py")
                    if env.kernel_group_count(gn) != n:
                        raise BenchError(f"netlink moves to {gn}: {env.kernel_group_count(gn)}")
                    rec.add("-", n, method, r + 1, float(line))
                    continue
                if method == "setlinkgroup":
                    t = timed(["busctl", f"--address={env.bus_addr}", "--timeout=600",
                               "call", "net.groupd1", "/net/groupd1", "net.groupd1.Manager",
                               "SetLinkGroup", "ass", str(n), *names, str(gs)])
                    if env.kernel_group_count(gs) != n or env.group_members(gs) != n:
                        raise BenchError(f"SetLinkGroup to {gs}: kernel "
                                         f"{env.kernel_group_count(gs)}, groupd "
                                         f"{env.group_members(gs)} of {n}")
                else:
                    t = timed(["ip", "-n", env.ns, "-batch", str(batch)])
                    if env.kernel_group_count(gb) != n:
                        raise BenchError(f"ip -batch moves to {gb}: {env.kernel_group_count(gb)}")
                rec.add("-", n, method, r + 1, t)
        # back into group 100, counting the signals of that SetLinkGroup
        got = env.count_signals_of(lambda: env.call("SetLinkGroup", "(ass)", (names, GROUP)))
        sigs[("-", n, "setlinkgroup")] = got
        log(f"  signals of one SetLinkGroup of {n}: {len(got)} {Counter(got)}")
        if env.kernel_group_count(GROUP) != n:
            raise BenchError("links did not return to group 100")
        env.check_cache()
        # -- the group-wide MTU change, DOWN then UP --------------------------
        for state in ("DOWN", "UP"):
            up = state == "UP"
            if up:
                if n > a.up_max:
                    log(f"  UP series skipped at {n} links (--up-max {a.up_max})")
                    break
                t = timed(["ip", "-n", env.ns, "link", "set", "group", GROUP, "up"])
                log(f"  {n} links up in {t:.1f} s")
                env.check(env.kernel_members()[0]["mtu"], True)
            sruns = runs if not up else (a.up_runs if n <= 2048 else a.up_big_runs)
            methods = ["group", "setgroup", "batch", "group-nl", "setgroup-conn"]
            if n <= PERLINK_MAX:
                methods.insert(3, "perlink")
            res = core.series(env, state, sruns, sruns, methods, [], lambda m: None)
            for method, xs in res.items():
                for i, x in enumerate(xs):
                    rec.add(state, n, method, i + 1, x)
            # someone else's group message, until groupd agrees
            probe = env.spawn(["ip", "netns", "exec", env.ns, "/usr/bin/python3",
                               str(HERE / "agree-probe.py"), GROUP, str(n), env.bus_addr],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            cur = env.kernel_members()[0]["mtu"]
            for r in range(sruns):
                m = MTUS[0] if cur != MTUS[0] else MTUS[1]
                cur = m
                # After an operation of its own groupd gathers the kernel's
                # tail for SETTLE_WINDOW_MS (src/cache/cache.c) with a longer
                # quiet period: measure a foreign change outside that window.
                time.sleep(SETTLE_WINDOW_S)
                ack, agree, nsig = ask(probe, str(m), "agree-probe").split()
                env.check(m, up)
                env.check_cache()
                rec.add(state, n, "probe-ack", r + 1, float(ack))
                rec.add(state, n, "agree", r + 1, float(agree))
                rec.add(state, n, "agree-signals", r + 1, int(nsig), "signals")
            probe.stdin.close()
            probe.wait(timeout=30)
            m = MTUS[0] if cur != MTUS[0] else MTUS[1]
            got = env.count_signals(m)
            env.check(m, up)
            sigs[(state, n, "setgroup")] = got
            log(f"  {state} signals of one SetGroup: {len(got)} {Counter(got)}")
            env.check_cache()
        resyncs = int(env.busctl("get-property", "net.groupd1", "/net/groupd1",
                                 "net.groupd1.Manager", "ResyncCount").stdout.split()[1])
        rec.add("-", n, "resync-count", 1, resyncs, "resyncs")
        rss = rss_kib(env.groupd_proc.pid)
        rec.add("-", n, "rss-end", 1, rss["VmRSS"] / 1024, "MiB")
        rec.add("-", n, "rss-peak", 1, rss["VmHWM"] / 1024, "MiB")
        env.stop_groupd()
        warn = [ln for ln in (env.tmp / "groupd.log").read_text().splitlines()
                if "WARNING" in ln or "CRITICAL" in ln]
        if warn:
            log("  groupd warned:\n    " + "\n    ".join(warn[:10]))
    finally:
        t0 = time.perf_counter()
        env.stop()
        log(f"  namespace removed in {time.perf_counter() - t0:.1f} s")


# -- report -------------------------------------------------------------------

def stat(rec, state, n, method):
    xs = rec.values(state, n, method)
    return (median(xs), min(xs), max(xs), len(xs)) if xs else None


def fmt_t(s, unit="s"):
    if not s:
        return "–"
    med, lo, hi, k = s
    if unit == "MiB":
        return f"{med:.1f} ({lo:.1f}–{hi:.1f})"
    if med >= 10:
        return f"{med:.1f} ({lo:.1f}–{hi:.1f})"
    if med >= 1:
        return f"{med:.2f} ({lo:.2f}–{hi:.2f})"
    return f"{med:.3f} ({lo:.3f}–{hi:.3f})"


def ratio(a_, b_):
    return a_[0] / b_[0] if a_ and b_ else float("nan")


def fr(x, spec=".2f"):
    return "–" if x != x else format(x, spec)


def report(a, rec, sigs, daemons, started, busy_start, busy_end, sizes, ipv6):
    out = []
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(open("/proc/meminfo").readline().split()[1]) // 1024 // 1024
    ipv = run(["ip", "-V"], check=False).stdout.strip()
    sysd = run(["busctl", "--version"], check=False).stdout.splitlines()[0:1]
    commit = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
                check=False).stdout.strip()
    out.append("## groupd scale benchmark\n")
    out.append(f"Started {started:%Y-%m-%d %H:%M} UTC. Machine: Linux {platform.release()}, "
               f"{os.cpu_count()} vCPUs ({cpu}), {mem} GiB; {ipv}; {' '.join(sysd)}; "
               f"IPv6 on the links: {ipv6}. groupd at commit {commit}"
               f"{' with uncommitted changes under src/' if dirty else ''}. "
               f"Load: {busy_start} at the start, {busy_end} at the end.\n")
    out.append("Times in seconds, median (min–max) of the runs in `scale-runs.csv`; process "
               "start included; ratios are between figures of this one run. Runs per figure: "
               f"{a.runs} (N ≤ 8192), {a.big_runs} at 32768; UP: {a.up_runs} (N ≤ 2048), "
               f"{a.up_big_runs} above, none above {a.up_max} links (the stock kernel is "
               "quadratic there: minutes per operation).\n")
    for state in ("DOWN", "UP"):
        ns_ = [n for n in sizes if stat(rec, state, n, "group")]
        if not ns_:
            continue
        out.append(f"### Group-wide MTU change, links {state}\n")
        out.append("| Interfaces | Group | No group | ip -batch | SetGroup (busctl) "
                   "| SetGroup / Group | No group / SetGroup | agree (someone else's group msg) "
                   "| agree / its ACK | signals per SetGroup | signals per foreign group msg |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in ns_:
            g, sg = stat(rec, state, n, "group"), stat(rec, state, n, "setgroup")
            pl, b = stat(rec, state, n, "perlink"), stat(rec, state, n, "batch")
            ag, ack = stat(rec, state, n, "agree"), stat(rec, state, n, "probe-ack")
            asg = rec.values(state, n, "agree-signals")
            s = sigs.get((state, n, "setgroup"), [])
            out.append(f"| {n} | {fmt_t(g)} | {fmt_t(pl)} | {fmt_t(b)} | {fmt_t(sg)} "
                       f"| {fr(ratio(sg, g))} | {fr(ratio(pl, sg), '.0f')} | {fmt_t(ag)} "
                       f"| {fr(ratio(ag, ack))} | {len(s)} "
                       f"| {f'{min(asg):.0f}–{max(asg):.0f}' if asg else '–'} |")
        out.append("")
        out.append(f"From open sockets (no process start), links {state}:\n")
        out.append("| Interfaces | group message, open netlink socket | SetGroup, open D-Bus "
                   "connection | ratio |")
        out.append("|---:|---:|---:|---:|")
        for n in ns_:
            g, sg = stat(rec, state, n, "group-nl"), stat(rec, state, n, "setgroup-conn")
            out.append(f"| {n} | {fmt_t(g)} | {fmt_t(sg)} | {fr(ratio(sg, g))} |")
        out.append("")
    out.append("### Membership and startup (links DOWN)\n")
    out.append("| Interfaces | SetLinkGroup (busctl) | ip -batch moves | SetLinkGroup / ip -batch "
               "| signals per SetLinkGroup | groupd start to READY | one `ip -j link show` "
               "| READY / ip -j link show | RSS at READY (MiB) | RSS at the end (MiB) "
               "| peak RSS (MiB) |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    conn_rows = []
    for n in sizes:
        sl, bm = stat(rec, "-", n, "setlinkgroup"), stat(rec, "-", n, "batch-move")
        st, ils = stat(rec, "-", n, "startup"), stat(rec, "-", n, "ip-link-show")
        if not st:
            continue
        s = sigs.get(("-", n, "setlinkgroup"), [])
        sc, mn = stat(rec, "-", n, "setlinkgroup-conn"), stat(rec, "-", n, "move-nl")
        if sc and mn:
            conn_rows.append(f"| {n} | {fmt_t(mn)} | {fmt_t(sc)} | {fr(ratio(sc, mn))} |")
        out.append(f"| {n} | {fmt_t(sl)} | {fmt_t(bm)} | {fr(ratio(sl, bm))} | {len(s)} "
                   f"| {fmt_t(st)} | {fmt_t(ils)} | {fr(ratio(st, ils))} "
                   f"| {fmt_t(stat(rec, '-', n, 'rss-ready'), 'MiB')} "
                   f"| {fmt_t(stat(rec, '-', n, 'rss-end'), 'MiB')} "
                   f"| {fmt_t(stat(rec, '-', n, 'rss-peak'), 'MiB')} |")
    out.append("")
    if conn_rows:
        out.append("SetLinkGroup from open sockets (no process start), links DOWN: the N "
                   "per-link RTM_NEWLINK group moves in one sendmsg() from an open netlink "
                   "socket (`ip -batch` without its process start), until the last ACK, "
                   "against SetLinkGroup on an open D-Bus connection, until its reply:\n")
        out.append("| Interfaces | moves, open netlink socket | SetLinkGroup, open D-Bus "
                   "connection | ratio |")
        out.append("|---:|---:|---:|---:|")
        out.extend(conn_rows)
        out.append("")
    dn = [n for n in sizes if any(s[0] == "daemon" and s[1] == n for s in rec.samples)]
    if not dn and a.note:
        out.append(a.note + "\n")
    if dn:
        out.append("### The daemons users run today (same machine, same run)\n")
        out.append("systemd-networkd: N ifb links, `[Link] MTUBytes=` in one .network file "
                   "(links left DOWN: `ActivationPolicy=manual`); NetworkManager: N veth pairs, "
                   "one keyfile profile per link with `ethernet.mtu` (NM sets its links UP), "
                   "Reapply of a new MTU on every device from one client. Times until every "
                   "link has the MTU in `ip -j link`. groupd's SetGroup of the same run for "
                   "reference.\n")
        out.append("| Interfaces | networkd: start → all MTUs | networkd: Reload → all MTUs "
                   "| networkd: failed links | NM: start → all MTUs | NM: start → all active "
                   "| NM: Reapply → all MTUs | NM: signals per change | groupd SetGroup DOWN "
                   "| groupd SetGroup UP |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in dn:
            f_ = stat(rec, "daemon", n, "networkd-failed")
            ns_ = stat(rec, "daemon", n, "nm-signals")
            out.append(f"| {n} | {fmt_t(stat(rec, 'daemon', n, 'networkd-start'))} "
                       f"| {fmt_t(stat(rec, 'daemon', n, 'networkd-reload'))} "
                       f"| {f'{f_[0]:.0f}' if f_ else '–'} "
                       f"| {fmt_t(stat(rec, 'daemon', n, 'nm-start'))} "
                       f"| {fmt_t(stat(rec, 'daemon', n, 'nm-active'))} "
                       f"| {fmt_t(stat(rec, 'daemon', n, 'nm-reapply'))} "
                       f"| {f'{ns_[0]:.0f} ({ns_[1]:.0f}–{ns_[2]:.0f})' if ns_ else '–'} "
                       f"| {fmt_t(stat(rec, 'DOWN', n, 'setgroup'))} "
                       f"| {fmt_t(stat(rec, 'UP', n, 'setgroup'))} |")
        out.append("")
    if daemons:
        out.extend(f"- {d}" for d in daemons)
        out.append("")
    out.extend(targets(rec, sigs, sizes))
    return out


def targets(rec, sigs, sizes):
    """The scale targets (docs/benchmarks.md), from this run's figures."""
    rows = []

    def row(what, value, ok):
        rows.append(f"| {what} | {value} | {'met' if ok else '**missed**'} |")

    for n in (2048, 32768):
        g, sg = stat(rec, "DOWN", n, "group"), stat(rec, "DOWN", n, "setgroup")
        if g and sg:
            row(f"SetGroup ≤ 1.15× the group message, {n} DOWN", f"{ratio(sg, g):.2f}×",
                ratio(sg, g) <= 1.15)
    sg, pl = stat(rec, "DOWN", 2048, "setgroup"), stat(rec, "DOWN", 2048, "perlink")
    if sg and pl:
        row("≥ 80× faster than one process per link, 2048 DOWN", f"{ratio(pl, sg):.0f}×",
            ratio(pl, sg) >= 80)
    ag, ack = stat(rec, "DOWN", 32768, "agree"), stat(rec, "DOWN", 32768, "probe-ack")
    if ag and ack:
        row("D-Bus state agrees within 1.5× the kernel's op time, 32768 DOWN",
            f"{ratio(ag, ack):.2f}× ({ag[0]:.3f} s / {ack[0]:.3f} s)", ratio(ag, ack) <= 1.5)
    counts = [(k, len(v)) for k, v in sigs.items()]
    if counts:
        worst = max(c for _k, c in counts)
        row("≤ 3 signals per group operation (SetGroup, SetLinkGroup), every N and state",
            f"at most {worst}", worst <= 3)
    st, ils = stat(rec, "-", 32768, "startup"), stat(rec, "-", 32768, "ip-link-show")
    if st and ils:
        row("start to READY ≤ 2× one `ip -j link show`, 32768", f"{ratio(st, ils):.2f}× "
            f"({st[0]:.2f} s / {ils[0]:.2f} s)", ratio(st, ils) <= 2)
    for what, key in (("at READY", "rss-ready"), ("at the end of the run (peak)", "rss-peak")):
        r = stat(rec, "-", 32768, key)
        if r:
            row(f"RSS ≤ 48 MB, 32768, {what}", f"{r[0] * 1.048576:.1f} MB ({r[0]:.1f} MiB)",
                r[0] * 1.048576 <= 48)
    rs = [(n, ratio(stat(rec, "-", n, "setlinkgroup"), stat(rec, "-", n, "batch-move")))
          for n in sizes if stat(rec, "-", n, "setlinkgroup")]
    if rs:
        n, worst = max(rs, key=lambda x: x[1])
        row("SetLinkGroup of N links ≤ 1.1× `ip -batch`, every N, processes (busctl "
            "against ip -batch, process starts included)", f"at most {worst:.2f}× (at {n})",
            worst <= 1.1)
    rs = [(n, ratio(stat(rec, "-", n, "setlinkgroup-conn"), stat(rec, "-", n, "move-nl")))
          for n in sizes if stat(rec, "-", n, "setlinkgroup-conn") and stat(rec, "-", n, "move-nl")]
    if rs:
        n, worst = max(rs, key=lambda x: x[1])
        row("SetLinkGroup of N links ≤ 1.1× `ip -batch`, every N, open sockets (open D-Bus "
            "connection against the same moves in one sendmsg() on an open netlink socket)",
            f"at most {worst:.2f}× (at {n})", worst <= 1.1)
    if not rows:
        return []
    return ["### Targets (ratios of this run)\n", "| target | this run | |", "|---|---:|---|",
            *rows, ""]


def write_csv(path_dir, rec, sigs, prefix):
    rows = []
    keys = sorted({s[:3] for s in rec.samples}, key=lambda k: (k[1], k[0], k[2]))
    for state, n, method in keys:
        xs = rec.values(state, n, method)
        unit = next(s[5] for s in rec.samples if s[:3] == (state, n, method))
        rows.append((state, n, method, len(xs), median(xs), min(xs), max(xs), unit))
    for (state, n, method), got in sorted(sigs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rows.append((state, n, f"{method}-signals", 1, len(got), len(got), len(got), "signals"))
    with open(path_dir / f"{prefix}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["state", "links", "method", "runs", "median", "min", "max", "unit"])
        for r in rows:
            w.writerow([f"{x:.6f}" if isinstance(x, float) else x for x in r])
    with open(path_dir / f"{prefix}-runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["state", "links", "method", "run", "value", "unit"])
        for s in rec.samples:
            w.writerow([s[0], s[1], s[2], s[3], f"{s[4]:.6f}", s[5]])
    return rows


def plot(path_dir, rec, sizes, prefix):
    """time against N, log axes, with gnuplot."""
    series_ = [("DOWN", "group", "group message"), ("DOWN", "perlink", "one process per link"),
               ("DOWN", "batch", "ip -batch"), ("DOWN", "setgroup", "groupd SetGroup (busctl)"),
               ("DOWN", "agree", "groupd agrees with a foreign group msg"),
               ("-", "setlinkgroup", "groupd SetLinkGroup"), ("-", "batch-move", "ip -batch moves"),
               ("-", "setlinkgroup-conn", "SetLinkGroup, open D-Bus connection"),
               ("-", "move-nl", "moves in one sendmsg(), open netlink socket"),
               ("-", "startup", "groupd start to READY"),
               ("UP", "group", "group message, UP"), ("UP", "setgroup", "SetGroup, UP"),
               ("UP", "batch", "ip -batch, UP"),
               ("daemon", "networkd-start", "systemd-networkd, start to all MTUs"),
               ("daemon", "networkd-reload", "systemd-networkd, reload to all MTUs"),
               ("daemon", "nm-reapply", "NetworkManager Reapply to all MTUs")]
    dat = path_dir / f"{prefix}-plot.dat"
    plots = []
    with open(dat, "w") as f:
        idx = 0
        for state, method, title in series_:
            pts = [(n, stat(rec, state, n, method)) for n in sizes]
            pts = [(n, s) for n, s in pts if s]
            if not pts:
                continue
            f.write(f"# {title}\n")
            for n, (med, lo, hi, _k) in pts:
                f.write(f"{n} {med:.6f} {lo:.6f} {hi:.6f}\n")
            f.write("\n\n")
            plots.append(f"'{dat.name}' index {idx} using 1:2:3:4 with yerrorlines "
                         f"title '{title}'")
            idx += 1
    script = path_dir / f"{prefix}-plot.gp"
    script.write_text(
        "set terminal pngcairo size 1100,750 noenhanced\n"
        f"set output '{prefix}.png'\n"
        "set logscale xy\nset grid\nset key outside right\n"
        "set xlabel 'interfaces (N)'\nset ylabel 'seconds (median, min-max)'\n"
        "set title 'groupd scale benchmark: time against the number of interfaces'\n"
        f"set xtics ({', '.join(str(n) for n in sizes)})\n"
        "plot " + ", \\\n     ".join(plots) + "\n")
    r = subprocess.run(["gnuplot", script.name], cwd=path_dir, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise BenchError(f"gnuplot: {r.stderr[:500]}")


def load_state():
    return f"{os.getloadavg()[0]:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--big-runs", type=int, default=3, help="runs at more than 8192 links")
    ap.add_argument("--up-runs", type=int, default=5, help="UP runs up to 2048 links")
    ap.add_argument("--up-big-runs", type=int, default=1, help="UP runs above 2048 links")
    ap.add_argument("--up-max", type=int, default=8192, help="no UP series above this")
    ap.add_argument("--daemons", default="networkd,nm",
                    help="comparison daemons to run: networkd,nm or none")
    ap.add_argument("--networkd-max", type=int, default=8192)
    ap.add_argument("--nm-max", type=int, default=2048)
    ap.add_argument("--daemon-runs", type=int, default=3)
    ap.add_argument("--groupd", default=str(REPO / "build" / "src" / "groupd"))
    ap.add_argument("--groupd-arg", action="append", default=[])
    ap.add_argument("--results", default=str(HERE / "results"))
    ap.add_argument("--prefix", default="scale", help="results file names")
    ap.add_argument("--note", default="", help="a paragraph for the results, e.g. where "
                    "the comparison daemons' figures are when --daemons none")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-scale: run as root (it creates network namespaces)")
    if not os.access(a.groupd, os.X_OK):
        sys.exit(f"bench-scale: no groupd at {a.groupd}")
    for tool in ("ip", "busctl", "dbus-daemon", "dbus-monitor", "gnuplot"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "/usr/bin").split(":")):
            sys.exit(f"bench-scale: {tool} is missing (bash tools/install-deps.sh)")
    sizes = [int(x) for x in a.sizes.split(",") if x]
    for d, path in (("networkd", "/lib/systemd/systemd-networkd"),
                    ("nm", "/usr/sbin/NetworkManager")):
        if d in a.daemons.split(",") and not os.access(path, os.X_OK):
            sys.exit(f"bench-scale: {path} is missing: install it (bash tools/install-deps.sh) "
                     f"or leave it out (--daemons)")

    def log(msg):
        if not a.quiet:
            print(msg, file=sys.stderr, flush=True)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    import signal
    signal.signal(signal.SIGTERM, on_signal)
    rec = Recorder(log)
    sigs = {}
    daemons_md = []
    failures = []
    started = datetime.datetime.now(datetime.timezone.utc)
    busy_start = load_state() + (f" ({core.quietness()})" if core.quietness() else "")
    ipv6 = "on" if Path("/proc/sys/net/ipv6").exists() else "absent"
    try:
        for n in sizes:
            try:
                measure_size(a, n, rec, sigs, log)
            except BenchError as e:
                # Say it and go on with the other sizes; the exit status says it too.
                failures.append(f"groupd at {n} links: {e}")
                log(f"bench-scale: {failures[-1]}")
        wanted = [d for d in a.daemons.split(",") if d and d != "none"]
        if wanted:
            import bench_daemons
            daemons_md = bench_daemons.run_all(a, wanted, sizes, rec, log, failures)
    except KeyboardInterrupt:
        print("bench-scale: interrupted", file=sys.stderr)
        return 130
    except BenchError as e:
        print(f"bench-scale: {e}", file=sys.stderr)
        return 1
    busy_end = load_state()
    results = Path(a.results)
    results.mkdir(parents=True, exist_ok=True)
    md = report(a, rec, sigs, daemons_md, started, busy_start, busy_end, sizes, ipv6)
    if failures:
        md += ["### Failures\n", *[f"- {f}" for f in failures], ""]
    text = "\n".join(md) + "\n"
    print(text)
    (results / f"{a.prefix}.md").write_text(text)
    write_csv(results, rec, sigs, a.prefix)
    plot(results, rec, sizes, a.prefix)
    print(f"results: {a.prefix}.md, {a.prefix}.csv, {a.prefix}-runs.csv, {a.prefix}.png in "
          f"{results}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

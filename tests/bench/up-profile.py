#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where the time of bringing N UP-capable links up goes, per way.

bench-up times State=up until every link-local address is usable; this
script explains its figures. In a fresh namespace with N ifb links in group
100 (IPv6 on, as bench-up sets them up), each way brings the group up while
`perf record -a -g` samples both CPUs, and the samples are split by process
and kernel function:
  group        `ip link set group 100 up`: one message, one RTNL hold
  setgroup     `busctl call … SetGroup 100 State s up` (groupd's own choice
               of path: per-link messages above the RTNL budget)
  batch        `ip -batch` with one line per link
  batch-drain  the same lines in chunks of --drain-chunk links, each chunk
               followed by a wait until no IPv6 address is tentative: the
               kernel's DAD work runs between chunks, not between messages
The probe of bench-up (rtnl-probe.py, a request for RTNL about every
millisecond from another namespace) runs as it does there, unless --no-probe.

Markdown on stdout and in results/PREFIX.md; the perf data is removed.
Run as root: bash tests/bench/up-profile.sh [--size 8192] [--runs 2]
Nothing touches the host's links: every command names a namespace this
script created, and it is removed on exit.
"""
import argparse
import datetime
import importlib.util
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

from bench_harness import GROUP, BenchError, Probe, ask, run

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
WAYS = ("group", "setgroup", "batch", "batch-drain")

# Kernel functions that carry the IPv6 bring-up (net/ipv6/ip6_fib.c,
# route.c), and the lock's spinning.
FUNCTIONS = {
    "fib6_ifup": "rt6_sync_up's work per route (fib6_ifup)",
    "fib6_walk_continue": "the FIB walker, node to node (fib6_walk_continue)",
    "fib6_clean_node": "the walk's callback per node (fib6_clean_node)",
    "fib6_add_rt2node": "route insert on a shared prefix (fib6_add_rt2node)",
    "mutex_spin_on_owner": "waiting for RTNL, spinning (mutex_spin_on_owner)",
}
IDLE = {"pv_native_safe_halt", "default_idle", "native_safe_halt", "acpi_idle_do_entry",
        "intel_idle", "poll_idle"}


def load_bench_up():
    spec = importlib.util.spec_from_file_location("bench_up", HERE / "bench-up.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def role(comm):
    """Who a sample is from: the kernel's DAD work runs in kworkers."""
    if comm.startswith("kworker"):
        return "kworker"
    if comm in ("groupd", "pool-groupd") or comm.startswith("pool-"):
        return "groupd"
    if comm == "ip":
        return "ip"
    if comm == "swapper":
        return "idle"
    return "other"


def perf_samples(data):
    """{(role, function): samples} of one perf.data file."""
    r = run(["perf", "report", "-i", str(data), "--no-children", "--sort", "comm,sym", "-n",
             "--stdio", "-g", "none", "--percent-limit", "0"], check=False)
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*[0-9.]+%\s+(\d+)\s+(\S+)\s+\[[k.]\]\s+(\S+)", line)
        if not m:
            continue
        count, comm, sym = int(m.group(1)), m.group(2), m.group(3)
        key = (role(comm), "idle" if sym in IDLE else sym)
        out[key] = out.get(key, 0) + count
    return out


def bring_up(env, way, drain_chunk):
    if way in ("group", "setgroup", "batch"):
        env.do_up(way)
        return
    for i in range(0, env.n, drain_chunk):
        chunk = env.tmp / f"up-{i}"
        chunk.write_text("".join(f"link set dev {name} up\n"
                                 for name in env.names[i:i + drain_chunk]))
        run(["ip", "-n", env.ns, "-batch", str(chunk)], timeout=600)
        deadline = time.monotonic() + 600
        while run(["ip", "-n", env.ns, "-6", "addr", "show", "tentative"]).stdout.strip():
            if time.monotonic() > deadline:
                raise BenchError("IPv6 addresses still tentative after 600 s")
            time.sleep(0.002)


def measure(env, probe, way, r, a, tmp, log):
    env.ip("link", "set", "group", GROUP, "down", timeout=3600)  # setup, not measured
    env.check(None, False)
    env.settle()
    env.chosen_path()
    armed = ask(env.ll, "arm", "ll-ready.py")
    if armed != f"armed {env.n}":
        raise BenchError(f"ll-ready.py: {armed}, not {env.n} members")
    if probe:
        probe.quiet(log)
    data = tmp / f"{way}-{r}.data"
    perf = subprocess.Popen(["perf", "record", "-a", "-g", "-F", str(a.frequency), "-o", str(data)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # perf is sampling before the operation starts
    start = time.monotonic()
    bring_up(env, way, a.drain_chunk)
    answered = time.monotonic() - start
    done = ask(env.ll, "wait 600", "ll-ready.py")
    if done.startswith("timeout"):
        raise BenchError(f"link-local addresses not usable after 600 s: {done}")
    usable = float(done) - start
    # Sampling stops at least 0.2 s after the last address became usable.
    time.sleep(max(0.0, float(done) + 0.2 - time.monotonic()))
    window = time.monotonic() - start + 1.0
    perf.send_signal(signal.SIGINT)
    perf.wait(timeout=120)
    path = env.chosen_path() if way == "setgroup" else ""
    env.check(None, True)
    samples = perf_samples(data)
    data.unlink(missing_ok=True)
    log(f"  {way} run {r}: answer {answered:.3f} s, usable {usable:.3f} s {path}")
    env.settle()
    return {"answer": answered, "usable": usable, "window": window, "samples": samples,
            "path": path}


def table(results, a):
    """One row per way: medians over the runs."""
    def med(xs):
        return statistics.median(xs)

    def count(res, who, fn=None):
        return sum(v for (r, f), v in res["samples"].items()
                   if (who is None or r in who) and (fn is None or f == fn))

    head = ["way", "until the answer (s)", "until usable (s)", "/ group",
            "CPU busy (s, both CPUs)", "of it: spinning for RTNL (s)"]
    head += [f"{FUNCTIONS[f]} (s)" for f in FUNCTIONS if f != "mutex_spin_on_owner"]
    head += ["the walker in the sender (ip, groupd) (s)", "the walker in the DAD work (kworker) (s)",
             "groupd's path"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 2) + "---|"]
    group_usable = med([x["usable"] for x in results["group"]]) if results.get("group") else None
    hz = float(a.frequency)
    for way in WAYS:
        runs = results.get(way)
        if not runs:
            continue
        busy = med([(count(x, None) - count(x, None, "idle")) / hz for x in runs])
        spin = med([count(x, None, "mutex_spin_on_owner") / hz for x in runs])
        row = [way, f"{med([x['answer'] for x in runs]):.3f}",
               f"{med([x['usable'] for x in runs]):.3f}",
               f"{med([x['usable'] for x in runs]) / group_usable:.2f}" if group_usable else "–",
               f"{busy:.2f}", f"{spin:.2f}"]
        for f in FUNCTIONS:
            if f != "mutex_spin_on_owner":
                row.append(f"{med([count(x, None, f) / hz for x in runs]):.2f}")
        for who in ({"ip", "groupd"}, {"kworker"}):
            row.append(f"{med([count(x, who, 'fib6_walk_continue') / hz for x in runs]):.2f}")
        row.append(", ".join(sorted({x["path"] for x in runs if x["path"]})) or "")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--ways", default=",".join(WAYS))
    ap.add_argument("--drain-chunk", type=int, default=512)
    ap.add_argument("--frequency", type=int, default=499, help="perf samples per second per CPU")
    ap.add_argument("--no-probe", action="store_true", help="no RTNL probe while measuring")
    ap.add_argument("--groupd", default=str(REPO / "build" / "src" / "groupd"))
    ap.add_argument("--results", default=str(HERE / "results"))
    ap.add_argument("--prefix", default="up-profile")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("up-profile: run as root (it creates network namespaces)")
    for tool in ("ip", "busctl", "dbus-daemon", "perf"):
        if not shutil.which(tool):
            sys.exit(f"up-profile: {tool} is missing (bash kernel/install-deps.sh has linux-perf)")
    ways = [w for w in a.ways.split(",") if w]
    for w in ways:
        if w not in WAYS:
            sys.exit(f"up-profile: unknown way {w!r} (one of {', '.join(WAYS)})")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    bench_up = load_bench_up()
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()[0]
    probe = env = None
    results = {}
    tmp = Path(run(["mktemp", "-d", "/tmp/gd-up-profile.XXXXXX"]).stdout.strip())
    try:
        probe = Probe(os.getpid())
        env = bench_up.Env(a.groupd, a.size, True, True, [], os.getpid())
        log(f"{a.size} ifb links, IPv6 on, UP: setting up")
        env.start(probe, log)
        if a.no_probe:
            probe.stop()
            probe = None
        for r in range(a.runs):
            for way in bench_up.rotated(ways, r):
                results.setdefault(way, []).append(measure(env, probe, way, r, a, tmp, log))
    finally:
        if env:
            env.stop()
        if probe:
            probe.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    commit = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    out = [f"### Bringing {a.size} links up with IPv6: where the time goes (up-profile)\n",
           f"Started {started:%Y-%m-%d %H:%M} UTC; Linux {platform.release()}, {os.cpu_count()} "
           f"CPUs; groupd at {commit}; load {load_start:.2f} at the start, "
           f"{os.getloadavg()[0]:.2f} at the end; {a.runs} runs per way, median; "
           f"`perf record -a -g -F {a.frequency}` from 1 s before each operation until 0.2 s "
           f"after the last address was usable; probe {'off' if a.no_probe else 'on'}. "
           f"Seconds of CPU from the samples. Command: `bash tests/bench/up-profile.sh "
           f"{' '.join(sys.argv[1:])}`\n",
           table(results, a), ""]
    text = "\n".join(out)
    print(text)
    results_dir = Path(a.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{a.prefix}.md").write_text(text)


if __name__ == "__main__":
    main()

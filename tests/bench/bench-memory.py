#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How much memory a D-Bus caller can make groupd take.

In a throw-away network namespace, with groupd on a private bus whose
policy lets everyone send everything (the worst case: the system bus's
policy in dbus/net.groupd1.conf lets uid 65534 call only the read-only
methods), it sends large messages from raw sockets (messages marshalled by
tests/integration/rawdbus.py, which runs as uid 65534 through setpriv
inside the namespace) and samples groupd's VmRSS every 10 ms. A fresh
groupd for each scenario:

  getlink-24m            uid 65534: GetLink with a wrongly typed body of
                         3 000 000 empty strings (24 MB)
  getlink-24m-x4         the same from four uid 65534 callers at once
  setlinkgroup-max       uid 65534: a correctly typed SetLinkGroup of
                         empty names, as many as the guard lets through
                         (its value limit minus three)
  setlinkgroup-max-x4x5  the same, four callers, five calls each
  getlink-light-x8x20    eight callers, 20 GetLink each, of 9 998 empty
                         strings (just under a "large" message)
  getlink-2m-string      uid 65534: GetLink with one string just under
                         the guard's byte limit
  root-1m-names          root: SetLinkGroup with 1 000 000 names (refused)
  root-65536-names       root: SetLinkGroup with 65 536 unknown names, the
                         largest call groupd accepts (refused: no such link)

For each: VmRSS before, the peak (VmHWM, reset before the call, and the
highest sample), how long VmRSS stayed more than 32 MB above before, VmRSS
3 s after the last reply, and the reply. Prints a Markdown table; with --csv
writes the rows there too. --slice-malloc runs groupd with
G_SLICE=always-malloc, as its systemd unit does. Exits 1 when a row is over
the bound (uid 65534: peak or after; root: after).

Run as root: /usr/bin/python3 tests/bench/bench-memory.py [--groupd build/src/groupd]
Nothing touches the host's interfaces: groupd runs in the benchmark's own
namespace, which is deleted at the end, with its bus.
"""
import argparse
import csv
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
RAWDBUS = REPO / "tests" / "integration" / "rawdbus.py"
# The integration tests' private bus (allows everything; dbus-daemon's own
# limits: 32 MiB a message).
sys.path.insert(0, str(REPO / "tests" / "integration"))
from conftest import Bus  # noqa: E402
NOBODY = 65534
MB = 1000 * 1000
BOUND = 32 * MB
EXTRA_ENV = {}
# The guard's limits (GD_BUS_GUARD_* in src/bus/bus.h): a message to groupd
# of more bytes, or more values, is answered by the guard and never parsed.
GUARD_MAX_BYTES = 2 * 1024 * 1024
GUARD_MAX_VALUES = 70000
GUARD_LARGE_VALUES = 10000



# ---- the environment ----


def run(cmd, check=True):
    r = subprocess.run([str(c) for c in cmd], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: {r.returncode}: {r.stderr.strip()}")
    return r


class Env:
    def __init__(self, groupd, links):
        self.ns = f"gdmem-{os.getpid()}-{secrets.token_hex(3)}"
        self.dir = Path(tempfile.mkdtemp(prefix="gdmem-"))
        os.chmod(self.dir, 0o755)
        self.bus = None
        self.groupd = None
        run(["ip", "netns", "add", self.ns])
        lines = [f"link add ifb{i} type ifb" for i in range(links)]
        batch = self.dir / "links.txt"
        batch.write_text("\n".join(lines) + "\n")
        run(["ip", "-n", self.ns, "-batch", batch])
        self.bus = Bus(self.dir)
        self.address = self.bus.address
        self.root = self.dir / "root"
        (self.root / "etc/groupd").mkdir(parents=True)
        self.groupd_bin = groupd
        self.started = 0

    def start_groupd(self):
        """A fresh groupd for each scenario: figures that do not add up."""
        self.stop_groupd()
        self.started += 1
        notify = self.dir / f"notify-{self.started}.sock"
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(str(notify))
        ns.settimeout(60)
        env = dict(os.environ, NOTIFY_SOCKET=str(notify))
        env.update(EXTRA_ENV)
        self.log = open(self.dir / f"groupd-{self.started}.log", "w")
        self.groupd = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, self.groupd_bin, f"--bus-address={self.address}",
             f"--config-root={self.root}"], env=env, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT)
        while b"READY=1" not in ns.recv(4096):
            pass
        ns.close()
        time.sleep(1)

    def stop_groupd(self):
        if self.groupd and self.groupd.poll() is None:
            self.groupd.send_signal(signal.SIGTERM)
            try:
                self.groupd.wait(10)
            except subprocess.TimeoutExpired:
                self.groupd.kill()
                self.groupd.wait()
            if self.groupd.returncode != 0:
                raise RuntimeError(f"groupd exited with {self.groupd.returncode}")

    def rss(self):
        return self._status("VmRSS")

    def hwm(self):
        return self._status("VmHWM")

    def _status(self, key):
        for line in Path(f"/proc/{self.groupd.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {key}")

    def reset_peak(self):
        Path(f"/proc/{self.groupd.pid}/clear_refs").write_text("5")

    def close(self):
        try:
            self.stop_groupd()
        except RuntimeError as e:
            print(f"bench-memory: {e}", file=sys.stderr)
        if self.bus:
            self.bus.stop()
        run(["ip", "netns", "del", self.ns], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Sampler(threading.Thread):
    """VmRSS every 10 ms: the highest value and the time spent above a line."""

    def __init__(self, env, line):
        super().__init__(daemon=True)
        self.env, self.line = env, line
        self.peak, self.above = 0, 0.0
        self.stop = threading.Event()

    def run(self):
        last = time.monotonic()
        while not self.stop.is_set():
            rss = self.env.rss()
            now = time.monotonic()
            self.peak = max(self.peak, rss)
            if rss > self.line:
                self.above += now - last
            last = now
            time.sleep(0.01)


def scenario(env, label, who, kind, count, senders=1, repeat=1, settle=3.0):
    env.start_groupd()
    before = env.rss()
    env.reset_peak()
    sampler = Sampler(env, before + BOUND)
    sampler.start()
    cmd = ["ip", "netns", "exec", env.ns]
    if who == "nobody":
        cmd += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    cmd += [sys.executable, str(RAWDBUS), "--kind", kind, "--count", str(count), "--address",
            env.address, "--repeat", str(repeat)]
    t0 = time.monotonic()
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(senders)]
    outs = [p.communicate(timeout=600) for p in procs]
    elapsed = time.monotonic() - t0
    time.sleep(settle)
    sampler.stop.set()
    sampler.join()
    after = env.rss()
    peak = max(env.hwm(), sampler.peak)
    replies, size = [], 0
    for (out, err), p in zip(outs, procs):
        if p.returncode != 0:
            replies.append(f"client failed: {err.strip()[-300:]}")
            continue
        n, _, reply = out.strip().partition(" ")
        size = int(n)
        replies.append(reply)
    if env.groupd.poll() is not None:
        raise RuntimeError(f"groupd died (exit {env.groupd.returncode}) in {label}")
    return {
        "scenario": label, "caller": who, "senders": senders, "repeat": repeat,
        "message_bytes": size,
        "rss_before": before, "rss_peak": peak, "rss_after": after,
        "above_bound_s": round(sampler.above, 2), "seconds": round(elapsed, 2),
        "reply": replies[0][:160], "same_replies": len(set(replies)) == 1,
    }


def mib(v):
    return f"{v / (1024 * 1024):.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--groupd", default=str(REPO / "build/src/groupd"))
    ap.add_argument("--links", type=int, default=16)
    ap.add_argument("--csv")
    ap.add_argument("--slice-malloc", action="store_true",
                    help="run groupd with G_SLICE=always-malloc, as its systemd unit does")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench-memory: run as root (it creates a network namespace)")
    cases = [
        ("getlink-24m", "nobody", "getlink-empty", 3_000_000, 1, 1),
        ("getlink-24m-x4", "nobody", "getlink-empty", 3_000_000, 4, 1),
        ("setlinkgroup-max", "nobody", "setlinkgroup-empty", GUARD_MAX_VALUES - 3, 1, 1),
        ("setlinkgroup-max-x4x5", "nobody", "setlinkgroup-empty", GUARD_MAX_VALUES - 3, 4, 5),
        ("getlink-light-x8x20", "nobody", "getlink-empty", GUARD_LARGE_VALUES - 2, 8, 20),
        ("getlink-2m-string", "nobody", "getlink-string", GUARD_MAX_BYTES - 256, 1, 1),
        ("root-1m-names", "root", "setlinkgroup-names", 1_000_000, 1, 1),
        ("root-65536-names", "root", "setlinkgroup-names", 65536, 1, 1),
    ]
    if args.slice_malloc:
        EXTRA_ENV["G_SLICE"] = "always-malloc"
    env = Env(os.path.abspath(args.groupd), args.links)
    rows = []
    try:
        for label, who, kind, count, senders, repeat in cases:
            rows.append(scenario(env, label, who, kind, count, senders, repeat))
            print(f"# {label}: done", file=sys.stderr)
    finally:
        env.close()
    print(f"groupd {args.groupd}, {args.links} ifb links, "
          f"G_SLICE={EXTRA_ENV.get('G_SLICE', '(unset)')}, bound {BOUND // MB} MB above before\n")
    print("| scenario | caller | senders × messages | message | VmRSS before | peak | after 3 s | "
          "s above before + 32 MB | reply |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['caller']} | {r['senders']} × {r['repeat']} | "
              f"{r['message_bytes'] / MB:.1f} MB | {mib(r['rss_before'])} MiB | "
              f"{mib(r['rss_peak'])} MiB | {mib(r['rss_after'])} MiB | {r['above_bound_s']} | "
              f"{r['reply'][:90]} |")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    bad = [r["scenario"] for r in rows
           if r["rss_after"] - r["rss_before"] > BOUND
           or (r["caller"] == "nobody" and r["rss_peak"] - r["rss_before"] > BOUND)]
    if bad:
        print(f"\nover the {BOUND // MB} MB bound: {', '.join(bad)}")
        sys.exit(1)


if __name__ == "__main__":
    main()

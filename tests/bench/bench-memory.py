#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How much memory a D-Bus caller can make groupd take.

In a throw-away network namespace, with groupd on a private bus whose
policy lets everyone send everything (the worst case: the system bus's
policy in dbus/net.groupd1.conf lets uid 65534 call only the read-only
methods), it sends large messages on a raw socket and samples groupd's
VmRSS every 10 ms:

  getlink-24m        uid 65534: GetLink with a wrongly typed body of
                     3 000 000 empty strings (24 MB)
  getlink-24m-x4     the same from four uid 65534 callers at once
  setlinkgroup-max   uid 65534: a correctly typed SetLinkGroup of empty
                     names, as large as groupd takes apart (the guard's
                     value limit minus one)
  getlink-2m-string  uid 65534: GetLink with one string just under the
                     guard's byte limit
  root-1m-names      root: SetLinkGroup with 1 000 000 names (refused)
  root-65536-names   root: SetLinkGroup with 65 536 unknown names, the
                     largest call groupd accepts (refused: no such link)

For each: VmRSS before, the peak (VmHWM, reset before the call, and the
highest sample), how long VmRSS stayed more than 32 MB above before, VmRSS
3 s after the reply, and the reply. Prints a Markdown table; with --csv
writes the rows there too.

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
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
NOBODY = 65534
MB = 1000 * 1000
BOUND = 32 * MB
# The guard's limits (src/bus/wire.h): a message to groupd of more bytes, or
# more values, is answered by the guard and never parsed.
GUARD_MAX_BYTES = 2 * 1024 * 1024
GUARD_MAX_VALUES = 70000

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <limit name="max_message_size">134217728</limit>
  <limit name="max_incoming_bytes">268435456</limit>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow send_type="signal"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
</busconfig>
"""


# ---- a raw D-Bus client: marshalling by hand, so that a 24 MB body costs
# the client 24 MB and not a GVariant per element ----


def _pad(buf, align):
    buf.extend(b"\0" * ((-len(buf)) % align))


def _put_string(buf, text, sig="s"):
    data = text if isinstance(text, bytes) else text.encode()
    if sig == "g":
        buf.append(len(data))
    else:
        _pad(buf, 4)
        buf += struct.pack("<I", len(data))
    buf += data + b"\0"


def method_call(serial, dest, path, iface, member, sig, body):
    """A little-endian method call (header fields by hand)."""
    fields = bytearray()
    for code, fsig, value in ((1, "o", path), (2, "s", iface), (3, "s", member), (6, "s", dest),
                              (8, "g", sig)):
        if value is None or (code == 8 and not value):
            continue
        _pad(fields, 8)
        fields.append(code)
        _put_string(fields, fsig, "g")
        # Offsets inside the fields array equal offsets in the message
        # modulo 8: the array starts at 16.
        _put_string(fields, value, fsig)
    msg = bytearray(b"l\x01\x00\x01")
    msg += struct.pack("<III", len(body), serial, len(fields))
    msg += fields
    _pad(msg, 8)
    return bytes(msg) + body


def body_strings(names):
    """`as` of names, as bytes."""
    out = bytearray(4)
    for n in names:
        _put_string(out, n)
    struct.pack_into("<I", out, 0, len(out) - 4)
    return out


def body_empty_strings(count):
    """`as` of count empty strings without building them one by one."""
    if count == 0:
        return bytearray(struct.pack("<I", 0))
    elems = b"\0" * 8 * count
    elems = elems[:-3]
    return bytearray(struct.pack("<I", len(elems))) + elems


def _read_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return bytes(data)


def read_message(sock):
    """(type, reply_serial, error_name, body bytes) of the next message."""
    fixed = _read_exact(sock, 16)
    endian = "<" if fixed[0:1] == b"l" else ">"
    mtype = fixed[1]
    body_len, _serial, fields_len = struct.unpack(endian + "III", fixed[4:16])
    rest = _read_exact(sock, fields_len + ((-(16 + fields_len)) % 8) + body_len)
    fields = rest[:fields_len]
    pos, reply_serial, error_name = 0, None, None
    while pos < len(fields):
        pos += (-pos) % 8
        code = fields[pos]
        slen = fields[pos + 1]
        fsig = fields[pos + 2:pos + 2 + slen].decode()
        pos += 3 + slen
        if fsig in ("s", "o"):
            pos += (-pos) % 4
            (n,) = struct.unpack(endian + "I", fields[pos:pos + 4])
            value = fields[pos + 4:pos + 4 + n].decode(errors="replace")
            pos += 5 + n
        elif fsig == "g":
            n = fields[pos]
            value = fields[pos + 1:pos + 1 + n].decode()
            pos += 2 + n
        elif fsig == "u":
            pos += (-pos) % 4
            (value,) = struct.unpack(endian + "I", fields[pos:pos + 4])
            pos += 4
        else:
            raise ValueError(f"header field of type {fsig}")
        if code == 5:
            reply_serial = value
        elif code == 4:
            error_name = value
    return mtype, reply_serial, error_name, rest[fields_len + ((-(16 + fields_len)) % 8):]


def raw_client(address, message, timeout):
    """Authenticates, says Hello, sends message (serial 2); returns the
    reply's error name, or "OK"."""
    path = address.split("unix:path=", 1)[1]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    sock.sendall(b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\r\n")
    line = b""
    while not line.endswith(b"\r\n"):
        line += sock.recv(1)
    if not line.startswith(b"OK "):
        raise RuntimeError(f"authentication refused: {line!r}")
    sock.sendall(b"BEGIN\r\n")
    sock.sendall(method_call(1, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                             "org.freedesktop.DBus", "Hello", "", b""))
    sock.sendall(message)
    while True:
        mtype, reply_serial, error_name, body = read_message(sock)
        if reply_serial == 2:
            if mtype == 3:
                text = ""
                if len(body) >= 4:
                    (n,) = struct.unpack("<I", body[:4])
                    text = body[4:4 + n].decode(errors="replace")
                return f"{error_name}: {text}"
            return "OK"


def client_main(args):
    """The child process (possibly as uid 65534): builds and sends one message."""
    kind = args.client
    if kind == "getlink-empty":
        msg = method_call(2, "net.groupd1", "/net/groupd1", "net.groupd1.Manager", "GetLink",
                          "as", body_empty_strings(args.count))
    elif kind == "setlinkgroup-empty":
        body = body_empty_strings(args.count)
        _put_string(body, "100")
        msg = method_call(2, "net.groupd1", "/net/groupd1", "net.groupd1.Manager",
                          "SetLinkGroup", "ass", body)
    elif kind == "setlinkgroup-names":
        body = body_strings(f"x{i:06d}" for i in range(args.count))
        _put_string(body, "100")
        msg = method_call(2, "net.groupd1", "/net/groupd1", "net.groupd1.Manager",
                          "SetLinkGroup", "ass", body)
    elif kind == "getlink-string":
        body = bytearray()
        _put_string(body, "n" * args.count)
        msg = method_call(2, "net.groupd1", "/net/groupd1", "net.groupd1.Manager", "GetLink",
                          "s", body)
    else:
        raise SystemExit(f"unknown client {kind}")
    print(f"{len(msg)} {raw_client(args.address, msg, args.timeout)}")


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
        sock = self.dir / "bus.sock"
        self.address = f"unix:path={sock}"
        conf = self.dir / "bus.conf"
        conf.write_text(BUS_CONFIG.format(socket=sock))
        rfd, wfd = os.pipe()
        self.bus = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork",
                                     f"--print-address={wfd}"], pass_fds=(wfd,),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(wfd)
        with os.fdopen(rfd) as r:
            if not r.readline().strip():
                raise RuntimeError("dbus-daemon did not start")
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
        for proc in (self.groupd, self.bus):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
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


def scenario(env, label, who, kind, count, senders=1, settle=3.0):
    env.start_groupd()
    before = env.rss()
    env.reset_peak()
    sampler = Sampler(env, before + BOUND)
    sampler.start()
    cmd = ["ip", "netns", "exec", env.ns]
    if who == "nobody":
        cmd += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    cmd += [sys.executable, str(HERE), "--client", kind, "--count", str(count), "--address",
            env.address]
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
        "scenario": label, "caller": who, "senders": senders, "message_bytes": size,
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
    ap.add_argument("--client", help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--address", help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=300, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        client_main(args)
        return
    if os.geteuid() != 0:
        raise SystemExit("bench-memory: run as root (it creates a network namespace)")
    cases = [
        ("getlink-24m", "nobody", "getlink-empty", 3_000_000, 1),
        ("getlink-24m-x4", "nobody", "getlink-empty", 3_000_000, 4),
        ("setlinkgroup-max", "nobody", "setlinkgroup-empty", GUARD_MAX_VALUES - 3, 1),
        ("getlink-2m-string", "nobody", "getlink-string", GUARD_MAX_BYTES - 64, 1),
        ("root-1m-names", "root", "setlinkgroup-names", 1_000_000, 1),
        ("root-65536-names", "root", "setlinkgroup-names", 65536, 1),
    ]
    env = Env(os.path.abspath(args.groupd), args.links)
    rows = []
    try:
        for label, who, kind, count, senders in cases:
            rows.append(scenario(env, label, who, kind, count, senders))
            print(f"# {label}: done", file=sys.stderr)
    finally:
        env.close()
    print(f"groupd {args.groupd}, {args.links} ifb links, bound {BOUND // MB} MB above before\n")
    print("| scenario | caller | senders | message | VmRSS before | peak | after 3 s | "
          "s above before + 32 MB | reply |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['caller']} | {r['senders']} | "
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

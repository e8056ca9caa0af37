#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Records the seed corpus of fuzz-mptcp: real mptcp_pm generic netlink
messages, one recv() buffer per file, from a throw-away network namespace:
the controller's family reply, endpoint dumps, limits, and the events of an
MPTCP connection over two veth paths (created, established, announced,
sub-established, sub-priority, sub-closed, removed, closed).

Run as root: /usr/bin/python3 tests/fuzz/capture-mptcp.py tests/fuzz/corpus/mptcp
Everything happens in a namespace of its own (unshare -n), never the host's."""
import hashlib
import os
import socket
import struct
import subprocess
import sys
import threading
import time

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_MCAST_GROUPS = 1, 2, 7
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
SOL_NETLINK, NETLINK_ADD_MEMBERSHIP = 270, 1
CMD_GET_ADDR, CMD_GET_LIMITS = 3, 6


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def message(kind, flags, cmd, body=b"", seq=1):
    payload = struct.pack("BBH", cmd, 1, 0) + body
    return struct.pack("IHHII", 16 + len(payload), kind, flags, seq, 0) + payload


def attrs(data):
    out, off = {}, 0
    while off + 4 <= len(data):
        n, kind = struct.unpack_from("HH", data, off)
        if n < 4:
            break
        out.setdefault(kind & 0x3FFF, data[off + 4 : off + n])
        off += (n + 3) & ~3
    return out


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    saved = []

    def save(buf, label):
        name = f"{label}-{hashlib.sha1(buf).hexdigest()[:12]}"
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(buf)
        saved.append(name)

    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    s.send(message(GENL_ID_CTRL, NLM_F_REQUEST, CTRL_CMD_GETFAMILY, attr(CTRL_ATTR_FAMILY_NAME, b"mptcp_pm\0")))
    reply = s.recv(65536)
    save(reply, "ctrl-family")
    top = attrs(reply[20:])
    family = struct.unpack("H", top[CTRL_ATTR_FAMILY_ID][:2])[0]
    events = None
    groups = top[CTRL_ATTR_MCAST_GROUPS]
    off = 0
    while off + 4 <= len(groups):
        n, _ = struct.unpack_from("HH", groups, off)
        g = attrs(groups[off + 4 : off + n])
        if g.get(1, b"").rstrip(b"\0") == b"mptcp_pm_events":
            events = struct.unpack("I", g[2][:4])[0]
        off += (n + 3) & ~3
    ev = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    ev.bind((0, 0))
    ev.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, events)
    ev.settimeout(0.5)

    def ip(*args):
        subprocess.run(["ip", *args], check=True)

    # Two paths inside this one namespace: a client side and a server side
    # of veth pairs, joined by policy routing through lo is overkill; a
    # second namespace is simpler: the server runs in "ip netns" of its own.
    srv = f"gdfz-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", srv], check=True)
    try:
        for i, (c, p) in enumerate((("pa", "pa-p"), ("pb", "pb-p"))):
            ip("link", "add", c, "type", "veth", "peer", "name", p, "netns", srv)
            ip("addr", "add", f"10.99.{i}.2/24", "dev", c)
            ip("-n", srv, "addr", "add", f"10.99.{i}.1/24", "dev", p)
            ip("link", "set", c, "up")
            ip("-n", srv, "link", "set", p, "up")
        ip("-n", srv, "link", "set", "lo", "up")
        ip("link", "set", "lo", "up")
        ip("mptcp", "limits", "set", "subflows", "4", "add_addr_accepted", "4")
        ip("-n", srv, "mptcp", "limits", "set", "subflows", "4", "add_addr_accepted", "4")
        ip("-n", srv, "mptcp", "endpoint", "add", "10.99.1.1", "dev", "pb-p", "signal")
        ip("mptcp", "endpoint", "add", "10.99.1.2", "dev", "pb", "subflow", "backup")
        ip("mptcp", "endpoint", "add", "fd99::2", "dev", "pa", "subflow", "fullmesh")
        server = subprocess.Popen(
            ["ip", "netns", "exec", srv, "/usr/bin/python3", "-c",
             "import socket,time\n"
             "l=socket.socket(socket.AF_INET,socket.SOCK_STREAM,262)\n"
             "l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
             "l.bind(('10.99.0.1',5555));l.listen(1);c,_=l.accept()\n"
             "while c.recv(65536): pass\n"])
        time.sleep(0.5)
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
        c.connect(("10.99.0.1", 5555))
        for _ in range(20):
            c.send(b"x" * 1000)
            time.sleep(0.02)
        ip("mptcp", "endpoint", "change", "id", "1", "nobackup")
        time.sleep(0.2)
        ip("mptcp", "endpoint", "delete", "id", "1")
        time.sleep(0.2)
        ip("-n", srv, "mptcp", "endpoint", "flush")
        time.sleep(0.2)
        dump = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        dump.send(message(family, NLM_F_REQUEST | NLM_F_DUMP, CMD_GET_ADDR))
        save(dump.recv(65536), "get-addr-dump")
        dump.send(message(family, NLM_F_REQUEST | NLM_F_ACK, CMD_GET_LIMITS, seq=2))
        save(dump.recv(65536), "get-limits")
        c.close()
        server.wait(timeout=5)
        time.sleep(0.3)
        while True:
            try:
                save(ev.recv(65536), "event")
            except (socket.timeout, BlockingIOError):
                break
    finally:
        subprocess.run(["ip", "netns", "del", srv])
    print(f"{len(saved)} files in {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if os.environ.get("GD_CAPTURE_IN_NS") != "1":
        # Re-run in a network namespace of its own.
        os.execvp("unshare", ["unshare", "-n", "env", "GD_CAPTURE_IN_NS=1", "/usr/bin/python3", *sys.argv])
    main(sys.argv[1])

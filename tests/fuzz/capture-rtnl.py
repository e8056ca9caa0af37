#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Capture real rtnetlink dumps as seed inputs of the 'rtnl' fuzz target.

Run as root. Creates a throw-away network namespace, adds a few ifb and
veth links (groups, MTUs, an address of each family) inside it, dumps links
and addresses there with a raw NETLINK_ROUTE socket and writes every recv()
buffer as one corpus file. The namespace is deleted afterwards, also on
failure; no link outside it is touched.

    sudo tests/fuzz/capture-rtnl.py tests/fuzz/corpus/rtnl
"""
import os
import socket
import struct
import subprocess
import sys

NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_GETLINK, RTM_GETADDR = 18, 22
NETLINK_EXT_ACK, NETLINK_CAP_ACK = 11, 10
SOL_NETLINK = 270
RTM_NEWLINK = 16


def ns_cmd(ns, *args):
    subprocess.run(["ip", "-n", ns, *args], check=True)


def setup(ns):
    subprocess.run(["ip", "netns", "add", ns], check=True)
    ns_cmd(ns, "link", "set", "lo", "up")
    ns_cmd(ns, "link", "add", "ifb0", "type", "ifb")
    ns_cmd(ns, "link", "add", "ifb1", "group", "100", "mtu", "1400", "type", "ifb")
    ns_cmd(ns, "link", "add", "veth0", "group", "200", "type", "veth", "peer", "name", "veth1")
    ns_cmd(ns, "link", "set", "veth0", "address", "02:00:00:00:00:01")
    ns_cmd(ns, "link", "set", "veth0", "up")
    ns_cmd(ns, "link", "set", "veth1", "up")
    ns_cmd(ns, "link", "set", "ifb1", "up")
    ns_cmd(ns, "address", "add", "10.0.0.1/24", "dev", "veth0")
    ns_cmd(ns, "address", "add", "10.0.0.2/32", "peer", "10.0.0.3", "dev", "ifb1")
    ns_cmd(ns, "address", "add", "fd00::1/64", "dev", "veth0", "nodad")


def request(msg_type, family, seq, flags=NLM_F_REQUEST | NLM_F_DUMP):
    if msg_type == RTM_GETLINK:
        body = struct.pack("=BxHiII", family, 0, 0, 0, 0)  # ifinfomsg
    else:
        body = struct.pack("=BBBBI", family, 0, 0, 0, 0)  # ifaddrmsg
    return struct.pack("=IHHII", 16 + len(body), msg_type, flags, seq, 0) + body


def dump(sock, msg, seq):
    """Sends a dump request; returns every recv() buffer until NLMSG_DONE."""
    sock.send(msg)
    bufs = []
    while True:
        buf = sock.recv(1 << 20)
        bufs.append(buf)
        off, done = 0, False
        while off + 16 <= len(buf):
            length, mtype, _, mseq, _ = struct.unpack_from("=IHHII", buf, off)
            if length < 16:
                break
            if mseq == seq and mtype in (NLMSG_DONE, NLMSG_ERROR):
                done = True
            off += (length + 3) & ~3
        if done:
            return bufs


def capture(outdir):
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    sock.bind((0, 0))
    files = []
    seq = 1
    for name, msg_type, family in (("links", RTM_GETLINK, socket.AF_UNSPEC),
                                   ("addrs", RTM_GETADDR, socket.AF_UNSPEC),
                                   ("addrs4", RTM_GETADDR, socket.AF_INET),
                                   ("addrs6", RTM_GETADDR, socket.AF_INET6)):
        for i, buf in enumerate(dump(sock, request(msg_type, family, seq), seq)):
            files.append((f"dump-{name}-{i}", buf))
        seq += 1
    # An error ack with an extack: RTM_NEWLINK for an ifindex that does not exist.
    bad = struct.pack("=IHHII", 32, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + \
        struct.pack("=BxHiII", 0, 0, 999999, 0, 0)
    sock.send(bad)
    files.append(("ack-error-extack", sock.recv(65536)))
    sock.close()
    for name, buf in files:
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(buf)
        print(f"{name}: {len(buf)} bytes")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        capture(sys.argv[2])
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = os.path.abspath(sys.argv[1])
    os.makedirs(outdir, exist_ok=True)
    ns = f"gd-fuzz-capture-{os.getpid()}"
    try:
        setup(ns)
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                        "--inside", outdir], check=True)
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=False)


if __name__ == "__main__":
    main()

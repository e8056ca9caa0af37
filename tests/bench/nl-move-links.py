#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Move links to a group from one long-lived netlink socket: `ip -batch` minus
its process start.

Run inside the benchmark's namespace (ip netns exec NS nl-move-links.py NAMES),
NAMES a file with one link name a line. For each group read from stdin, sends
one RTM_NEWLINK per link (by ifindex, IFLA_GROUP only, the message
`ip link set dev X group G` sends), all of them in a single sendmsg(), waits
for every ACK and prints the seconds from sendmsg() to the last ACK, or
"error ...". The ifindexes are resolved once, at start, off the clock.
"""
import os
import socket
import struct
import sys
import time

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
IFLA_GROUP = 27
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
NETLINK_CAP_ACK = 10
SOL_NETLINK = 270


def main():
    names = [x.strip() for x in open(sys.argv[1]) if x.strip()]
    idx = [socket.if_nametoindex(x) for x in names]
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    sock.bind((0, 0))
    # The whole batch is one skb, and all its ACKs queue before we read one:
    # both buffers must hold them (root in the namespace may force the size).
    size = 48 * len(idx) + 4096
    sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, max(size, 1 << 20))
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, max(2048 * len(idx), 4 << 20))
    # ACKs without a copy of the request: less to queue, the same ACKs.
    sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    seq = 0
    print("ready", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        group = int(line)
        first = seq + 1
        parts = []
        for i in idx:
            seq += 1
            body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, i, 0, 0) + \
                struct.pack("=HHI", 8, IFLA_GROUP, group)
            parts.append(struct.pack("=IHHII", 16 + len(body), RTM_NEWLINK,
                                     NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body)
        msg = b"".join(parts)
        want = len(idx)
        errors = 0
        t0 = time.perf_counter()
        try:
            sent = sock.send(msg)
            if sent != len(msg):
                raise OSError(0, f"short send {sent} of {len(msg)}")
            while want:
                data = sock.recv(1 << 20)
                off = 0
                while off + 16 <= len(data):
                    mlen, mtype, _flags, mseq, _pid = struct.unpack_from("=IHHII", data, off)
                    if mlen < 16:
                        break
                    if mtype == NLMSG_ERROR and first <= mseq <= seq:
                        want -= 1
                        if struct.unpack_from("=i", data, off + 16)[0] != 0:
                            errors += 1
                    off += (mlen + 3) & ~3
        except OSError as e:
            print(f"error {e.errno} {e.strerror or e}", flush=True)
            continue
        elapsed = time.perf_counter() - t0
        print(f"{elapsed:.9f}" if not errors else f"error {errors} links refused", flush=True)


if __name__ == "__main__":
    main()

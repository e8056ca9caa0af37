#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Send group-scoped RTM_NEWLINK messages from one long-lived process.

Run inside the benchmark's namespace (ip netns exec NS nl-group-msg.py GROUP).
For each MTU read from stdin, sends the message `ip link set group GROUP mtu M`
sends (ifi_index 0, no name, IFLA_GROUP, IFLA_MTU, no NLM_F_CREATE), waits for
the kernel's ACK and prints the seconds between sendmsg() and the ACK, or
"error ERRNO". A line "up" or "down" sends `ip link set group GROUP up|down`
instead, a line "txqueuelen Q" `ip link set group GROUP txqueuelen Q`. This is the kernel's floor without a process start.
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
IFLA_MTU = 4
IFLA_TXQLEN = 13
IFLA_GROUP = 27
IFF_UP = 0x1


def attr_u32(kind, value):
    return struct.pack("=HHI", 8, kind, value)


def main():
    group = int(sys.argv[1])
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    sock.bind((0, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    seq = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        seq += 1
        if line in ("up", "down"):
            flags = IFF_UP if line == "up" else 0
            ifinfo = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, flags, IFF_UP)
            attrs = attr_u32(IFLA_GROUP, group)
        elif line.startswith("txqueuelen "):
            ifinfo = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)
            attrs = attr_u32(IFLA_TXQLEN, int(line.split()[1])) + attr_u32(IFLA_GROUP, group)
        else:
            ifinfo = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)
            attrs = attr_u32(IFLA_MTU, int(line)) + attr_u32(IFLA_GROUP, group)
        length = 16 + len(ifinfo) + len(attrs)
        msg = struct.pack("=IHHII", length, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, 0)
        msg += ifinfo + attrs
        t0 = time.perf_counter()
        sock.send(msg)
        err = None
        while err is None:
            data = sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                mlen, mtype, _flags, mseq, _pid = struct.unpack_from("=IHHII", data, off)
                if mtype == NLMSG_ERROR and mseq == seq:
                    err = -struct.unpack_from("=i", data, off + 16)[0]
                off += (mlen + 3) & ~3
                if mlen < 16:
                    break
        elapsed = time.perf_counter() - t0
        print(f"{elapsed:.9f}" if err == 0 else f"error {err} {os.strerror(err)}", flush=True)


if __name__ == "__main__":
    main()

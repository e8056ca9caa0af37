#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""When did every member of a group get a usable IPv6 link-local address?

Run inside the benchmark's namespace (ip netns exec NS ll-ready.py GROUP).
The answer to a "bring the links up" request comes before the kernel's work
for it is over: each member's link-local address is added tentative, and the
DAD work that clears the flag runs afterwards, each in an RTNL hold of its
own. A link is usable for IPv6 once that is done, so this is the end point of
the bring-up for a user.

Requests on stdin, one line each:
  arm        read the group's members and their addresses afresh (the links
             are down); answers "armed N"
  wait SECS  answers the CLOCK_MONOTONIC time (time.monotonic()) at which
             the last member got a link-local address that is neither
             tentative nor failed, or "timeout K" with K members missing
"""
import errno
import select
import socket
import struct
import sys
import time

NETLINK_ROUTE = 0
RTMGRP_IPV6_IFADDR = 0x100
RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
IFLA_GROUP = 27
IFA_FLAGS = 8
IFA_F_DADFAILED, IFA_F_TENTATIVE = 0x08, 0x40
RT_SCOPE_LINK = 253


def messages(data):
    off = 0
    while off + 16 <= len(data):
        mlen, mtype, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
        if mlen < 16:
            return
        yield mtype, data[off + 16:off + mlen]
        off += (mlen + 3) & ~3


def attrs(payload, off):
    while off + 4 <= len(payload):
        alen, kind = struct.unpack_from("=HH", payload, off)
        if alen < 4:
            return
        yield kind & 0x3FFF, payload[off + 4:off + alen]
        off += (alen + 3) & ~3


def dump(kind, body):
    """Every message of one dump; a dump interrupted by changes is read again."""
    for _ in range(50):
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.send(struct.pack("=IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
        out, done, intr = [], False, False
        while not done:
            data = s.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                mlen, mtype, mflags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
                if mflags & 0x10:  # NLM_F_DUMP_INTR
                    intr = True
                if mtype == NLMSG_DONE:
                    done = True
                elif mtype == NLMSG_ERROR:
                    raise OSError(-struct.unpack_from("=i", data, off + 16)[0], "dump failed")
                else:
                    out.append((mtype, data[off + 16:off + mlen]))
                off += (mlen + 3) & ~3
        s.close()
        if not intr:
            return out
        time.sleep(0.01)
    raise OSError(errno.EAGAIN, "every dump was interrupted")


def address_ready(payload):
    """(ifindex, usable) of an RTM_NEWADDR for an IPv6 link-local address, else None."""
    family, _plen, flags, scope, index = struct.unpack_from("=BBBBI", payload, 0)
    if family != socket.AF_INET6 or scope != RT_SCOPE_LINK:
        return None
    for kind, value in attrs(payload, 8):
        if kind == IFA_FLAGS:
            flags = struct.unpack_from("=I", value)[0]
    return index, not flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)


class Watch:
    def __init__(self, group):
        self.group = group
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.sock.bind((0, RTMGRP_IPV6_IFADDR))
        self.members = set()
        self.ready = set()

    def drain(self):
        while select.select([self.sock], [], [], 0)[0]:
            try:
                self.sock.recv(1 << 20)
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise

    def reread(self):
        self.members = set()
        for _t, p in dump(RTM_GETLINK, struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)):
            index = struct.unpack_from("=i", p, 4)[0]
            for kind, value in attrs(p, 16):
                if kind == IFLA_GROUP and struct.unpack_from("=I", value)[0] == self.group:
                    self.members.add(index)
        self.ready = set()
        for _t, p in dump(RTM_GETADDR, struct.pack("=BBBBI", socket.AF_INET6, 0, 0, 0, 0)):
            got = address_ready(p)
            if got and got[1] and got[0] in self.members:
                self.ready.add(got[0])

    def arm(self):
        self.drain()
        self.reread()
        return len(self.members)

    def wait(self, limit):
        deadline = time.monotonic() + limit
        while not self.members <= self.ready:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return f"timeout {len(self.members - self.ready)}"
            try:
                data = self.sock.recv(1 << 20)
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
                self.reread()  # events were lost: the kernel's state instead
                continue
            now = time.monotonic()
            for mtype, p in messages(data):
                got = address_ready(p) if mtype in (RTM_NEWADDR, RTM_DELADDR) else None
                if not got:
                    continue
                if mtype == RTM_NEWADDR and got[1]:
                    self.ready.add(got[0])
                elif mtype == RTM_DELADDR:
                    self.ready.discard(got[0])
            if self.members <= self.ready:
                return f"{now:.6f}"
        return f"{time.monotonic():.6f}"


def main():
    watch = Watch(int(sys.argv[1]))
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["arm"]:
            print(f"armed {watch.arm()}", flush=True)
        elif len(words) == 2 and words[0] == "wait":
            print(watch.wait(float(words[1])), flush=True)
        elif words:
            print(f"error unknown request {line.strip()!r}", flush=True)


if __name__ == "__main__":
    main()

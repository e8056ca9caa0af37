#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""When new links appear and when they get an MTU: an RTNLGRP_LINK listener.

Run inside the benchmark's namespace:
  ip netns exec NS link-monitor.py PREFIX MTU
It reads every RTM_NEWLINK of links whose name starts with PREFIX and notes,
per link, when its first message arrived (it appeared) and when the first
message showing MTU arrived (it was configured), both as read
(time.perf_counter()). Commands on stdin, one per line:
  reset           forget every link
  wait N SECONDS  wait until N links were configured (or the time is up),
                  then print one JSON object:
                  {"appeared": n, "configured": m, "latencies": [s, ...]}
                  the latencies being configured - appeared per link
A line "ready" is printed once it listens.
"""
import json
import os
import socket
import struct
import sys
import threading
import time

RTM_NEWLINK = 16
RTMGRP_LINK = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
SO_RCVBUFFORCE = 33


def parse_newlink(data, off, mlen):
    """(ifindex, name, mtu) of one RTM_NEWLINK."""
    ifindex = struct.unpack_from("=i", data, off + 16 + 4)[0]
    name, mtu = None, None
    pos, end = off + 32, off + mlen
    while pos + 4 <= end:
        alen, atype = struct.unpack_from("=HH", data, pos)
        if alen < 4:
            break
        atype &= 0x3FFF
        if atype == IFLA_IFNAME:
            name = data[pos + 4:pos + alen].split(b"\0", 1)[0].decode(errors="replace")
        elif atype == IFLA_MTU:
            mtu = struct.unpack_from("=I", data, pos + 4)[0]
        pos += (alen + 3) & ~3
    return ifindex, name, mtu


class Monitor:
    def __init__(self, prefix, mtu):
        self.prefix, self.mtu = prefix, mtu
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 256 << 20)
        self.sock.bind((0, RTMGRP_LINK))
        self.lock = threading.Condition()
        self.appeared = {}   # ifindex -> time
        self.configured = {}  # ifindex -> time
        self.overruns = 0

    def run(self):
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except OSError as e:
                if e.errno == 105:  # ENOBUFS: events lost
                    with self.lock:
                        self.overruns += 1
                    continue
                raise
            now = time.perf_counter()
            off = 0
            with self.lock:
                while off + 16 <= len(data):
                    mlen, mtype = struct.unpack_from("=IH", data, off)
                    if mlen < 16:
                        break
                    if mtype == RTM_NEWLINK:
                        ifindex, name, mtu = parse_newlink(data, off, mlen)
                        if name and name.startswith(self.prefix):
                            self.appeared.setdefault(ifindex, now)
                            if mtu == self.mtu:
                                self.configured.setdefault(ifindex, now)
                    off += (mlen + 3) & ~3
                self.lock.notify_all()


def main():
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)  # read at normal priority
    except OSError:
        pass
    mon = Monitor(sys.argv[1], int(sys.argv[2]))
    threading.Thread(target=mon.run, daemon=True).start()
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "reset":
            with mon.lock:
                mon.appeared.clear()
                mon.configured.clear()
                mon.overruns = 0
            print("ok", flush=True)
        elif words[0] == "wait":
            n, limit = int(words[1]), float(words[2])
            deadline = time.monotonic() + limit
            with mon.lock:
                while len(mon.configured) < n and time.monotonic() < deadline:
                    mon.lock.wait(max(0.0, min(1.0, deadline - time.monotonic())))
                lat = [mon.configured[i] - mon.appeared[i] for i in mon.configured
                       if i in mon.appeared]
                print(json.dumps({"appeared": len(mon.appeared), "configured": len(mon.configured),
                                  "overruns": mon.overruns, "latencies": lat}), flush=True)


if __name__ == "__main__":
    main()

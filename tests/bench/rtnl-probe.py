#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How long another process waits for RTNL: the request of
`ip link set lo mtu M` (RTM_NEWLINK, lo's index, IFLA_MTU), sent again and
again from one open netlink socket, about every millisecond, each timed from
sendmsg() to its ACK. RTNL is one lock for the whole machine, so run it in a
network namespace of its own (its lo is its own): any wait it sees is
another namespace's request holding the lock (or the CPU).

Commands on stdin, one per line:
  mark     start a window
  report   print "<longest wait in ms> <requests>" for the window so far,
           including the request in flight (waited for)
A line "ready" is printed once the first request was answered.
"""
import os
import socket
import struct
import sys
import threading
import time

RTM_NEWLINK = 16
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
IFLA_MTU = 4


class Probe:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        self.sock.bind((0, 0))
        self.lo = socket.if_nametoindex("lo")
        self.lock = threading.Condition()
        self.window_start = time.perf_counter()
        self.longest = 0.0
        self.count = 0
        self.done = 0  # requests answered, ever
        self.seq = 0

    def request(self, mtu):
        self.seq += 1
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, self.lo, 0, 0)
        body += struct.pack("=HHI", 8, IFLA_MTU, mtu)
        msg = struct.pack("=IHHII", 16 + len(body), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK,
                          self.seq, 0) + body
        self.sock.send(msg)
        while True:
            data = self.sock.recv(65536)
            mlen, mtype, _f, mseq, _p = struct.unpack_from("=IHHII", data, 0)
            if mtype == NLMSG_ERROR and mseq == self.seq:
                err = struct.unpack_from("=i", data, 16)[0]
                if err:
                    raise OSError(-err, os.strerror(-err))
                return

    def run(self):
        mtus = (65536, 65535)
        while True:
            t0 = time.perf_counter()
            self.request(mtus[self.seq % 2])
            t1 = time.perf_counter()
            with self.lock:
                # A request counts in the window it ended in, with its whole wait.
                self.longest = max(self.longest, t1 - t0)
                self.count += 1
                self.done += 1
                self.lock.notify_all()
            time.sleep(0.001)


def main():
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)  # not the benchmark's niceness
    except OSError:
        pass
    probe = Probe()
    probe.request(65536)
    threading.Thread(target=probe.run, daemon=True).start()
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "mark":
            with probe.lock:
                probe.longest, probe.count = 0.0, 0
            print("ok", flush=True)
        elif cmd == "report":
            with probe.lock:
                # The request in flight belongs to the window: wait for it.
                target = probe.done + 1
                while probe.done < target:
                    probe.lock.wait(600)
                print(f"{probe.longest * 1000:.3f} {probe.count}", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Profile one group MTU change on N up links with IPv6 (run inside the test guest).

    group_mtu_perf.py SELFTEST_DIR N

Creates N up dummy links in one group in a private namespace, records `perf record -a -g`
around a single group-scoped RTM_NEWLINK (mtu 1400) and prints the top of the report.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, sys.argv[1])
from rtnl_group_lib import IFLA_GROUP, IFLA_MTU, RTM_NEWLINK, Rtnl, enter_netns, ifinfomsg, ip, nla_u32  # noqa: E402

n = int(sys.argv[2])
enter_netns()
with open("/proc/sys/net/ipv6/conf/default/accept_dad", "w") as f:
    f.write("0")
subprocess.run(["ip", "-batch", "-"], check=True, text=True,
               input="".join("link add gp%d group 88 type dummy\n" % i for i in range(n)))
ip("link set group 88 up")
rtnl = Rtnl()
perf = subprocess.Popen(["perf", "record", "-q", "-a", "-g", "-e", "cpu-clock", "-F", "997", "-m", "1024", "-o", "/tmp/perf.data"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(2)
t0 = time.perf_counter()
rtnl.request(RTM_NEWLINK, ifinfomsg() + nla_u32(IFLA_GROUP, 88) + nla_u32(IFLA_MTU, 1400))
dt = time.perf_counter() - t0
time.sleep(0.5)
perf.send_signal(signal.SIGINT)
perf.wait()
print("# group MTU change on %d up links: %.3f s (kernel %s)" % (n, dt, os.uname().release))
# The recording spans idle seconds around the change: show the share per task first, then
# the symbols of the requesting task (rtnetlink runs in its sendmsg; percentages of that
# task's samples) and of everything else except the idle task.
for title, extra in (("tasks", ["--sort", "comm"]),
                     ("symbols of the requesting python3", ["--comms", "python3", "--sort", "symbol"]),
                     ("symbols of the other busy tasks", ["--sort", "comm,symbol"])):
    r = subprocess.run(["perf", "report", "-i", "/tmp/perf.data", "--stdio", "--no-children",
                        "-g", "none", "--percent-limit", "1", "--percentage", "relative"] + extra,
                       capture_output=True, text=True)
    lines = [line for line in r.stdout.splitlines() if line.strip() and not line.startswith("#")]
    if title.startswith("symbols of the other"):
        lines = [line for line in lines if "swapper" not in line and "python3" not in line]
    print("## %s" % title)
    print("\n".join(lines[:25]))

#!/usr/bin/env python3
"""One point of the group MTU curve, with the cost of setting it up (run inside the test guest).

    group_mtu_point.py SELFTEST_DIR N [REPEAT]

Creates N dummy links in one group in a private namespace (ip -batch, in chunks of 4096 so the
time per chunk shows whether creation slows down as the namespace fills), sets the group up,
then times REPEAT (default 3) group-scoped MTU changes (1400/1500 alternating) and prints the
median, min and max. Same set-up as rtnl_group_scale.py (IPv6 on, DAD off).
"""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, sys.argv[1])
from rtnl_group_lib import IFLA_GROUP, IFLA_MTU, RTM_NEWLINK, Rtnl, enter_netns, ifinfomsg, ip, nla_u32  # noqa: E402

n = int(sys.argv[2])
repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
GROUP, CHUNK = 77, 4096
enter_netns()
with open("/proc/sys/net/ipv6/conf/default/accept_dad", "w") as f:
    f.write("0")
t0 = time.perf_counter()
for start in range(0, n, CHUNK):
    t1 = time.perf_counter()
    lines = "".join("link add gs%d group %d type dummy\n" % (i, GROUP)
                    for i in range(start, min(n, start + CHUNK)))
    subprocess.run(["ip", "-batch", "-"], check=True, text=True, input=lines)
    print("# links %6d..%6d created in %.1f s" % (start, min(n, start + CHUNK) - 1,
                                                   time.perf_counter() - t1), flush=True)
t1 = time.perf_counter()
ip("link set group %d up" % GROUP)
print("# %d links created in %.1f s, set up in %.1f s" % (n, t1 - t0, time.perf_counter() - t1),
      flush=True)
rtnl = Rtnl()
times = []
for r in range(repeat):
    t2 = time.perf_counter()
    rtnl.request(RTM_NEWLINK, ifinfomsg() + nla_u32(IFLA_GROUP, GROUP)
                 + nla_u32(IFLA_MTU, 1400 if r % 2 == 0 else 1500))
    times.append(time.perf_counter() - t2)
print("# kernel %s: group MTU change on %d up links: median %.3f s, min %.3f, max %.3f (%s)" %
      (os.uname().release, n, statistics.median(times), min(times), max(times),
       " ".join("%.3f" % x for x in times)))

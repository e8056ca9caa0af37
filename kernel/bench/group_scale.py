#!/usr/bin/env python3
"""Scale points of group operations on N up links with IPv6 (run inside the test guest).

    group_scale.py N [N...] [--repeat R]

For each N, in a fresh network namespace (ip netns add; removed afterwards): creates N dummy
links in one group (`ip -batch`), brings the group up (`ip link set group G up`), then times,
R times each (default 3, MTU 1400 and 1500 alternating):
  group  one group-scoped MTU change (`ip link set group G mtu M`)
  batch  the same change as N per-link requests (`ip -batch`, `link set dev X mtu M`)
then `ip link set group G down` and `ip link delete group G`. IPv6 is on (link-local
addresses, DAD off), so every up link has its own IPv6 routes. Prints one line per N:

    N create up settled group_median batch_median down delete   (seconds; medians over R)

where settled is the time from the bring-up request until every link has its IPv6 link-local
address (addrconf adds them, and their routes, after the request returns).

and a '#' line with every sample.
"""
import os
import statistics
import subprocess
import sys
import time

GROUP = 77


def ip(ns, *args, stdin=None):
    subprocess.run(["ip", "-n", ns, *args], check=True, text=True, input=stdin,
                   stdout=subprocess.DEVNULL)


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    fn(*args, **kw)
    return time.perf_counter() - t0


def link_locals(ns):
    out = subprocess.run(["ip", "-n", ns, "-6", "-o", "addr", "show", "scope", "link"],
                         check=True, capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if "tentative" not in line)


def point(n, repeat):
    ns = f"gdscale{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                        "net.ipv6.conf.default.accept_dad=0"], check=True)
        names = [f"gs{i}" for i in range(n)]
        create = timed(ip, ns, "-batch", "-",
                       stdin="".join(f"link add {x} group {GROUP} type dummy\n" for x in names))
        t0 = time.perf_counter()
        ip(ns, "link", "set", "group", str(GROUP), "up")
        up = time.perf_counter() - t0
        # The link-local addresses (and their routes) are added by addrconf's work after
        # the request returns: the bring-up is done when every link has one.
        while link_locals(ns) < n:
            time.sleep(0.2)
        settled = time.perf_counter() - t0
        group, batch = [], []
        for r in range(repeat):
            mtu = 1400 if r % 2 == 0 else 1500
            group.append(timed(ip, ns, "link", "set", "group", str(GROUP), "mtu", str(mtu)))
        for r in range(repeat):
            mtu = 1400 if r % 2 == 0 else 1500
            batch.append(timed(ip, ns, "-batch", "-",
                               stdin="".join(f"link set dev {x} mtu {mtu}\n" for x in names)))
        down = timed(ip, ns, "link", "set", "group", str(GROUP), "down")
        # Deleted here, not by the namespace's cleanup work, which would overlap the next point.
        delete = timed(ip, ns, "link", "delete", "group", str(GROUP))
    finally:
        subprocess.run(["ip", "netns", "del", ns])
    return create, up, settled, group, batch, down, delete


def main():
    args = sys.argv[1:]
    repeat = 3
    if "--repeat" in args:
        i = args.index("--repeat")
        repeat = int(args[i + 1])
        del args[i:i + 2]
    sizes = [int(a) for a in args]
    print(f"# kernel {os.uname().release}: N create up settled group batch down delete (s)",
          flush=True)
    for n in sizes:
        create, up, settled, group, batch, down, delete = point(n, repeat)
        print(f"{n} {create:.3f} {up:.3f} {settled:.3f} {statistics.median(group):.4f} "
              f"{statistics.median(batch):.4f} {down:.3f} {delete:.3f}", flush=True)
        print(f"# {n}: group {' '.join(f'{x:.4f}' for x in group)}; "
              f"batch {' '.join(f'{x:.4f}' for x in batch)}", flush=True)


if __name__ == "__main__":
    main()

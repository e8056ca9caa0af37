#!/usr/bin/env python3
"""Scale points of group operations on N up links with IPv6 (run inside the test guest).

    group_scale.py N [N...] [--repeat R] [--addr] [--no-changes]

For each N, in a fresh network namespace (ip netns add; removed afterwards): creates N dummy
links in one group (`ip -batch`), brings the group up (`ip link set group G up`), then times,
R times each (default 3, MTU 1400 and 1500 alternating):
  group  one group-scoped MTU change (`ip link set group G mtu M`)
  batch  the same change as N per-link requests (`ip -batch`, `link set dev X mtu M`)
(--no-changes leaves these two out, for sizes where the stock kernel takes minutes each)
with --addr one IPv6 address added to every link and removed again (`ip -batch`, one request
per link, as groupd sends them), then `ip link set group G down` and `ip link delete group G`. IPv6 is on (link-local
addresses, DAD off), so every up link has its own IPv6 routes. Prints one line per N:

    N create up settled group_median batch_median down delete [addr_add addr_del]

where settled is the time from the bring-up request until every link has its IPv6 link-local
address (addrconf adds them, and their routes, after the request returns).

and a '#' line with every sample.
"""
import os
import select
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


def wait_for_link_locals(ns, monitor, n):
    """Reads `ip monitor address` until n link-local addresses are announced (without the
    tentative flag): passive, so the wait costs the guest nothing while the kernel works. If
    the monitor falls silent for a second (it may have lost messages), one dump decides."""
    seen, rest = 0, b""
    fd = monitor.stdout.fileno()
    while seen < n:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            if link_locals(ns) >= n:
                return
            continue
        data = os.read(fd, 1 << 16)
        if not data:
            raise RuntimeError(f"ip monitor ended after {seen} of {n} link-local addresses")
        *lines, rest = (rest + data).split(b"\n")
        seen += sum(1 for line in lines if b"inet6 fe80" in line and
                    b"tentative" not in line and b"Deleted" not in line)


def point(n, repeat, addr, changes):
    ns = f"gdscale{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                        "net.ipv6.conf.default.accept_dad=0"], check=True)
        names = [f"gs{i}" for i in range(n)]
        create = timed(ip, ns, "-batch", "-",
                       stdin="".join(f"link add {x} group {GROUP} type dummy\n" for x in names))
        # The link-local addresses (and their routes) are added by addrconf's work after
        # the request returns: the bring-up is done when every link has one.
        monitor = subprocess.Popen(["ip", "-rcvbuf", str(64 << 20), "-n", ns, "-6", "monitor",
                                    "address"],
                                   stdout=subprocess.PIPE)
        try:
            time.sleep(0.5)  # the monitor has joined the group
            t0 = time.perf_counter()
            ip(ns, "link", "set", "group", str(GROUP), "up")
            up = time.perf_counter() - t0
            wait_for_link_locals(ns, monitor, n)
            settled = time.perf_counter() - t0
        finally:
            monitor.kill()
            monitor.wait()
        # Every change is a real one: the MTU alternates between 1400 and 1500 across both.
        group, batch, mtu = [], [], 1500
        for r in range(repeat if changes else 0):
            mtu = 2900 - mtu
            group.append(timed(ip, ns, "link", "set", "group", str(GROUP), "mtu", str(mtu)))
        for r in range(repeat if changes else 0):
            mtu = 2900 - mtu
            batch.append(timed(ip, ns, "-batch", "-",
                               stdin="".join(f"link set dev {x} mtu {mtu}\n" for x in names)))
        addrs = []
        if addr:
            for verb in ("add", "del"):
                addrs.append(timed(ip, ns, "-batch", "-", stdin="".join(
                    f"addr {verb} fd07::1/64 dev {x} nodad\n" if verb == "add" else
                    f"addr {verb} fd07::1/64 dev {x}\n" for x in names)))
        down = timed(ip, ns, "link", "set", "group", str(GROUP), "down")
        # Deleted here, not by the namespace's cleanup work, which would overlap the next point.
        delete = timed(ip, ns, "link", "delete", "group", str(GROUP))
    finally:
        subprocess.run(["ip", "netns", "del", ns])
    return create, up, settled, group, batch, down, delete, addrs


def main():
    args = sys.argv[1:]
    repeat = 3
    addr = "--addr" in args
    if addr:
        args.remove("--addr")
    changes = "--no-changes" not in args
    if not changes:
        args.remove("--no-changes")
    if os.environ.get("GROUPD_VM") != "1":
        sys.exit("group_scale.py: run it in the test guest (kernel/qemu/run.sh), not here")
    # ip monitor's socket must hold a whole bring-up's notifications.
    with open("/proc/sys/net/core/rmem_max", "w") as f:
        f.write(str(64 << 20))
    if "--repeat" in args:
        i = args.index("--repeat")
        repeat = int(args[i + 1])
        del args[i:i + 2]
    sizes = [int(a) for a in args]
    print(f"# kernel {os.uname().release}: N create up settled group batch down delete (s)",
          flush=True)
    for n in sizes:
        create, up, settled, group, batch, down, delete, addrs = point(n, repeat, addr, changes)
        med = [f"{statistics.median(x):.4f}" if x else "NaN" for x in (group, batch)]
        print(f"{n} {create:.3f} {up:.3f} {settled:.3f} {med[0]} {med[1]} {down:.3f} {delete:.3f}"
              + "".join(f" {x:.3f}" for x in addrs), flush=True)
        print(f"# {n}: group {' '.join(f'{x:.4f}' for x in group)}; "
              f"batch {' '.join(f'{x:.4f}' for x in batch)}", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Summarise `ip -j link` / `ip -j address` output (on stdin) and check it.

  ip -j link show group 100 | ipsum.py links [--count N] [--mtu M] [--up N]
                                              [--txqlen Q] [--mac MAC] [--group G]
                                              [--name GLOB]
  ip -j addr show group 100 | ipsum.py addr ADDR/PLEN [--count N]

Prints a one-line summary; exits 1 (saying why) when a check fails.
"""
import argparse
import fnmatch
import json
import sys
from collections import Counter


def fmt(counter):
    return ", ".join(f"{k} x{v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["links", "addr"])
    ap.add_argument("address", nargs="?")
    ap.add_argument("--count", type=int)
    ap.add_argument("--mtu", type=int)
    ap.add_argument("--up", type=int, help="how many must be administratively up")
    ap.add_argument("--txqlen", type=int)
    ap.add_argument("--mac")
    ap.add_argument("--group", help="the group every link must be in (as ip prints it: 300, default)")
    ap.add_argument("--name", help="only the links whose name matches this shell glob")
    a = ap.parse_args()
    # iproute2 6.1 prints an empty object for each link a filter such as
    # `group 100` leaves out: keep only the real entries.
    data = [d for d in json.load(sys.stdin) if d.get("ifname")]
    if a.name is not None:
        data = [d for d in data if fnmatch.fnmatchcase(d["ifname"], a.name)]
    bad = []

    if a.mode == "links":
        n = len(data)
        mtu = Counter(link.get("mtu") for link in data)
        up = sum(1 for link in data if "UP" in link.get("flags", []))
        txq = Counter(link.get("txqlen") for link in data)
        mac = Counter(link.get("address") for link in data)
        group = Counter(link.get("group") for link in data)
        summary = f"{n} links; mtu: {fmt(mtu)}; admin up: {up}/{n}; txqlen: {fmt(txq)}"
        if a.group is not None:
            summary = f"{n} links; group: {fmt(group)}" + summary[summary.index(";"):]
        if a.mac is not None or len(mac) <= 4:
            summary += f"; mac: {fmt(mac)}"
        print(summary)
        if a.count is not None and n != a.count:
            bad.append(f"expected {a.count} links")
        if a.mtu is not None and set(mtu) != {a.mtu}:
            bad.append(f"expected every mtu {a.mtu}")
        if a.up is not None and up != a.up:
            bad.append(f"expected {a.up} up")
        if a.txqlen is not None and set(txq) != {a.txqlen}:
            bad.append(f"expected every txqlen {a.txqlen}")
        if a.mac is not None and set(mac) != {a.mac.lower()}:
            bad.append(f"expected every mac {a.mac}")
        if a.group is not None and set(group) != {a.group}:
            bad.append(f"expected every link in group {a.group}")
    else:
        local, _, plen = a.address.partition("/")
        have = [link["ifname"] for link in data
                if any(ai.get("local") == local and (not plen or str(ai.get("prefixlen")) == plen)
                       for ai in link.get("addr_info", []))]
        print(f"{len(have)} of {len(data)} links have {a.address}"
              + (f" ({', '.join(have[:3])}{', ...' if len(have) > 3 else ''})" if have else ""))
        if a.count is not None and len(have) != a.count:
            bad.append(f"expected {a.count}")
    if bad:
        print("CHECK FAILED: " + "; ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

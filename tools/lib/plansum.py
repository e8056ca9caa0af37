#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Summarise a groupd plan (the JSON of Manager.Plan() or Manager.Reload()).

  busctl --json=short call net.groupd1 /net/groupd1 net.groupd1.Manager Plan | plansum.py
  plansum.py --raw < plan.json              (the plan's JSON itself on stdin)
  ... | plansum.py [--empty | --not-empty]  (check it; exit 1 when it is not)

Prints one line per policy group: members, drifted, moves, the group change
(attribute: from → to, on how many links), addresses to add, problems.
"""
import argparse
import json
import sys


def names(links, n=3):
    head = ", ".join(links[:n])
    return head + (f", … ({len(links)})" if len(links) > n else "")


def summarise(group):
    label = f"group {group['id']}" + (f" ({group['name']})" if group.get("name") else "")
    desired = ", ".join(f"{k} {v}" for k, v in group["desired"].items()) or "nothing"
    parts = [f"{group['members']} members, {group['drifted']} drifted",
             f"desired: {desired}" + (" (SetGroup override)" if group.get("override") else "")]
    moves = group["moves"]
    if moves:
        sources = sorted({m["from"] for m in moves})
        parts.append(f"move {len(moves)} in from group {'/'.join(map(str, sources))}: "
                     f"{names([m['link'] for m in moves])}")
    change = group.get("change")
    if change:
        items = []
        for attr, c in change.items():
            froms = "; ".join(f"{f['value']} on {len(f['links'])}" for f in c["from"])
            items.append(f"{attr} → {c['to']} (now {froms})")
        parts.append("one group message: " + ", ".join(items))
    for add in group["addresses"]:
        parts.append(f"add {add['address']} to {len(add['links'])}: {names(add['links'])}")
    if group["problems"]:
        parts.append("problems: " + "; ".join(group["problems"]))
    empty = not moves and not change and not group["addresses"]
    return f"{label}: " + "; ".join(parts) + ("; nothing to do" if empty else ""), empty


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", action="store_true", help="stdin is the plan itself")
    ap.add_argument("--empty", action="store_true", help="check that nothing is to be done")
    ap.add_argument("--not-empty", action="store_true", help="check that something is")
    a = ap.parse_args()
    text = sys.stdin.read()
    if not a.raw:
        text = json.loads(text)["data"][0]
    plan = json.loads(text)
    print(f"   plan: {len(text)} bytes of JSON: {text[:110]}{'…' if len(text) > 110 else ''}")
    all_empty = True
    for group in plan["groups"]:
        line, empty = summarise(group)
        all_empty &= empty
        print("   " + line)
    if not plan["groups"]:
        print("   no policy groups")
    if a.empty and not all_empty:
        print("CHECK FAILED: expected an empty plan")
        return 1
    if a.not_empty and all_empty:
        print("CHECK FAILED: expected something to do")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

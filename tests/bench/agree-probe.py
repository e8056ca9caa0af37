#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How long until groupd's D-Bus state agrees with a change someone else made.

Run inside the benchmark's namespace:
    ip netns exec NS agree-probe.py GROUP MEMBERS BUS_ADDRESS
For each MTU read from stdin it sends the group message `ip link set group
GROUP mtu M` sends, from this open netlink socket, and prints two times in
seconds from sendmsg(): the kernel's ACK, and the moment groupd's D-Bus state
says the same, i.e. the last of: the Group object's PropertiesChanged with
MTU M (groupd computes it from every member in its cache), and LinksChanged
signals that, together, carried at least MEMBERS links (the caller checks
afterwards, off the clock, that ListLinks equals the kernel). Then the number of signals groupd sent for it
(counted until it is quiet for QUIET seconds after agreeing). Prints
"error ..." on failure or after a timeout.
"""
import socket
import struct
import sys
import time

from gi.repository import Gio, GLib

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
IFLA_MTU = 4
IFLA_GROUP = 27
TIMEOUT = 120.0
QUIET = 0.5


def group_message(seq, group, mtu):
    ifinfo = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)
    attrs = struct.pack("=HHI", 8, IFLA_MTU, mtu) + struct.pack("=HHI", 8, IFLA_GROUP, group)
    length = 16 + len(ifinfo) + len(attrs)
    return struct.pack("=IHHII", length, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + \
        ifinfo + attrs


def wait_ack(sock, seq):
    while True:
        data = sock.recv(65536)
        off = 0
        while off + 16 <= len(data):
            mlen, mtype, _flags, mseq, _pid = struct.unpack_from("=IHHII", data, off)
            if mtype == NLMSG_ERROR and mseq == seq:
                return -struct.unpack_from("=i", data, off + 16)[0]
            if mlen < 16:
                break
            off += (mlen + 3) & ~3


def main():
    group, members, address = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    path = f"/net/groupd1/group/{group}"
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    sock.bind((0, 0))
    conn = Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    owner = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                           "GetNameOwner", GLib.Variant("(s)", ("net.groupd1",)), None,
                           Gio.DBusCallFlags.NONE, -1, None).unpack()[0]
    state = {"mtu": None, "prop": None, "entries": 0, "links_at": None, "signals": 0,
             "last": 0.0}

    def on_signal(_conn, sender, obj, iface, member, params, _data):
        # Cheap on purpose: unpacking a 32768-entry LinksChanged in Python
        # would take longer than groupd took to send it.
        now = time.perf_counter()
        if sender != owner:
            return
        state["signals"] += 1
        state["last"] = now
        if member == "PropertiesChanged" and obj == path:
            mtu = params.get_child_value(1).lookup_value("MTU", GLib.VariantType("u"))
            if mtu is not None and mtu.get_uint32() == state["mtu"] and state["prop"] is None:
                state["prop"] = now
        elif member == "LinksChanged":
            state["entries"] += params.get_child_value(0).n_children()
            if state["entries"] >= members and state["links_at"] is None:
                state["links_at"] = now

    conn.signal_subscribe(None, None, None, None, None, Gio.DBusSignalFlags.NONE, on_signal, None)
    ctx = GLib.MainContext.default()
    # Subscriptions are in place once a round trip to the bus returned.
    conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                   "GetId", None, None, Gio.DBusCallFlags.NONE, -1, None)
    seq = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        mtu = int(line)
        seq += 1
        while ctx.iteration(False):
            pass
        state.update(mtu=mtu, prop=None, entries=0, links_at=None, signals=0)
        t0 = time.perf_counter()
        sock.send(group_message(seq, group, mtu))
        err = wait_ack(sock, seq)
        t_ack = time.perf_counter() - t0
        if err:
            print(f"error kernel {err}", flush=True)
            continue
        deadline = time.perf_counter() + TIMEOUT
        while state["prop"] is None or state["links_at"] is None:
            if time.perf_counter() > deadline:
                break
            ctx.iteration(True) if ctx.pending() else time.sleep(0.0005)
        if state["prop"] is None or state["links_at"] is None:
            print(f"error no agreement after {TIMEOUT} s: property "
                  f"{state['prop'] is not None}, {state['entries']} links", flush=True)
            continue
        agree = max(state["prop"], state["links_at"]) - t0
        while time.perf_counter() - max(state["last"], t0 + agree) < QUIET:
            while ctx.iteration(False):
                pass
            time.sleep(0.01)
        print(f"{t_ack:.6f} {agree:.6f} {state['signals']}", flush=True)


if __name__ == "__main__":
    main()

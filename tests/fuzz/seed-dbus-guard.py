#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpus of fuzz-dbus-guard: messages as the bus would send
them to groupd, serialised by GDBus (python3-gi). Each file: one mode byte
(chunk size and whether a message of GDBus's is half written, see
fuzz-dbus-guard.c), then the bytes.

    /usr/bin/python3 tests/fuzz/seed-dbus-guard.py tests/fuzz/corpus/dbus-guard
"""
import struct
import sys
from pathlib import Path

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402


def blob(m, serial, big=False):
    m.set_serial(serial)
    if big:
        m.set_byte_order(Gio.DBusMessageByteOrder.BIG_ENDIAN)
    return bytes(m.to_blob(Gio.DBusCapabilityFlags.NONE))


def call(member, body=None, sender=":1.5", serial=2, big=False):
    m = Gio.DBusMessage.new_method_call("net.groupd1", "/net/groupd1", "net.groupd1.Manager",
                                        member)
    m.set_sender(sender)
    if body is not None:
        m.set_body(body)
    return blob(m, serial, big)


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    hello_reply = Gio.DBusMessage.new_method_call("org.freedesktop.DBus", "/", "x.y", "Hello")
    hello_reply.set_serial(1)
    reply = hello_reply.new_method_reply()
    reply.set_sender("org.freedesktop.DBus")
    reply.set_destination(":1.3")
    reply.set_body(GLib.Variant("(s)", (":1.3",)))
    acquired = Gio.DBusMessage.new_signal("/org/freedesktop/DBus", "org.freedesktop.DBus",
                                          "NameAcquired")
    acquired.set_sender("org.freedesktop.DBus")
    acquired.set_body(GLib.Variant("(s)", ("net.groupd1",)))
    getlink = call("GetLink", GLib.Variant("(s)", ("eth0",)))
    setgroup = call("SetGroup", GLib.Variant.parse(
        GLib.VariantType("(sa{sv}a{sv})"),
        "('100', {'MTU': <uint32 1400>, 'State': <'up'>}, {'force': <true>})", None, None))
    many = call("SetLinkGroup", GLib.Variant("(ass)", ([f"ifb{i}" for i in range(300)], "100")),
                serial=3, big=True)
    wrong = call("GetLink", GLib.Variant("(as)", ([""] * 200,)), serial=4)
    big_header = bytearray(call("GetLink", GLib.Variant("(s)", ("",)), serial=6))
    struct.pack_into("<I", big_header, 4, 24_000_000)
    seeds = {
        "hello-and-name": (0, blob(reply, 1) + blob(acquired, 2)),
        "getlink": (0, getlink),
        "getlink-bytewise": (0x01, getlink),
        "setgroup-dict": (0x08, setgroup),
        "setlinkgroup-big-endian": (0x80, many),
        "wrong-type": (0x81, wrong),
        "two-calls": (0x10, getlink + setgroup),
        "truncated": (0, getlink[:-3]),
        "huge-body-header": (0x20, bytes(big_header) + b"\0" * 64),
        "not-dbus": (0, b"0123456789abcdef0123"),
    }
    for name, (mode, data) in seeds.items():
        (out / name).write_bytes(bytes([mode]) + data)


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in polkit authority for tests: owns org.freedesktop.PolicyKit1 on
the bus given by DBUS_SYSTEM_BUS_ADDRESS and answers CheckAuthorization.

    fake_polkit.py ALLOWED_UID LOG

It authorizes a subject ("system-bus-name") whose uid, asked from the bus,
is ALLOWED_UID, refuses every other, and appends one line per request to LOG:
"<action> <uid> <flags> <yes|no>". Prints "ready" once it owns the name.
"""
import os
import sys

from gi.repository import Gio, GLib

XML = """
<node>
  <interface name="org.freedesktop.PolicyKit1.Authority">
    <method name="CheckAuthorization">
      <arg type="(sa{sv})" name="subject" direction="in"/>
      <arg type="s" name="action_id" direction="in"/>
      <arg type="a{ss}" name="details" direction="in"/>
      <arg type="u" name="flags" direction="in"/>
      <arg type="s" name="cancellation_id" direction="in"/>
      <arg type="(bba{ss})" name="result" direction="out"/>
    </method>
  </interface>
</node>
"""


def main():
    allowed_uid = int(sys.argv[1])
    log_path = sys.argv[2]
    conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    info = Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0]

    def on_call(connection, sender, path, iface, method, params, invocation):
        (kind, subject), action, _details, flags, _cancel = params.unpack()
        uid = -1
        if kind == "system-bus-name":
            reply = connection.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "GetConnectionUnixUser",
                                         GLib.Variant("(s)", (subject["name"],)),
                                         GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, -1,
                                         None)
            uid = reply.unpack()[0]
        ok = uid == allowed_uid
        with open(log_path, "a") as log:
            log.write(f"{action} {uid} {flags} {'yes' if ok else 'no'}\n")
        invocation.return_value(GLib.Variant("((bba{ss}))", ((ok, False, {}),)))

    conn.register_object("/org/freedesktop/PolicyKit1/Authority", info, on_call, None, None)
    loop = GLib.MainLoop()

    def acquired(*_):
        print("ready", flush=True)

    Gio.bus_own_name_on_connection(conn, "org.freedesktop.PolicyKit1",
                                   Gio.BusNameOwnerFlags.NONE, acquired, lambda *_: loop.quit())
    loop.run()


if __name__ == "__main__":
    main()

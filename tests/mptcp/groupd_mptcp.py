# SPDX-License-Identifier: LGPL-2.1-or-later
"""groupd in the rig's client namespace, on a private bus, with an MPTCP
policy: wifi (group 10, wlan0) preferred over cellular (group 20, wwan0).

Uses the integration suite's own Bus and Groupd (conftest.py) and gdlib, so
groupd is started, checked for READY=1 and stopped (SIGTERM, exit 0) exactly
as in every other integration test.
"""

import json
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
INTEGRATION = HERE.parent / "integration"
sys.path.insert(0, str(INTEGRATION))
sys.path.insert(0, str(HERE))

import gdlib  # noqa: E402
from conftest import Bus, Groupd  # noqa: E402

import rig as rigmod  # noqa: E402

MPTCP_PATH = "/net/groupd1/mptcp"
MPTCP_IFACE = "net.groupd1.Mptcp"
WIFI, CELL = 10, 20
GROUP_NAMES = {WIFI: "wifi", CELL: "cellular"}


def mptcp_conf(mode="failover", hold_down=2, preference="wifi cellular", extra=""):
    lines = ["[MPTCP]", f"Mode={mode}"]
    if preference is not None:
        lines.append(f"Preference={preference}")
    if hold_down is not None:
        lines.append(f"HoldDownSec={hold_down}")
    return "\n".join(lines) + "\n" + extra


def group_file(gid, name, ifname, endpoint="subflow", extra=""):
    text = f"[Group]\nId={gid}\nName={name}\n[Match]\nName={ifname}\n"
    if endpoint is not None:
        text += f"[MPTCP]\nEndpoint={endpoint}\n"
    return text + extra


class GroupdInRig:
    """groupd (with its own bus) in rig.client. conf: groupd.conf's text;
    groups: {file name: text} (default: 10-wifi.group, 20-cellular.group)."""

    def __init__(self, rig, conf=None, groups=None, args=(), name=None):
        self.rig = rig
        self.workdir = Path(rig.workdir) / (name or f"groupd-{time.monotonic_ns()}")
        self.workdir.mkdir(mode=0o755)
        self.root = gdlib.ConfigRoot(self.workdir)
        self.root.write_iproute2_groups(GROUP_NAMES)
        self.root.write_conf(conf if conf is not None else mptcp_conf())
        if groups is None:
            groups = {"10-wifi.group": group_file(WIFI, "wifi", rigmod.WLAN),
                      "20-cellular.group": group_file(CELL, "cellular", rigmod.WWAN)}
        for fname, text in groups.items():
            self.root.write_group(fname, text)
        self.bus = Bus(self.workdir)
        self.daemon = None
        self.returncode = None
        rig.add_cleanup(self.stop)
        self.netns = gdlib.Netns(rig.client, self.workdir)
        self.daemon = Groupd(self.netns, self.bus, self.workdir, list(args),
                             config_root=self.root)
        self.client = self.daemon.client

    # -- D-Bus --

    def prop(self, name):
        return self.client.get_property(MPTCP_PATH, MPTCP_IFACE, name)

    def props(self):
        out = self.client.busctl("--json=short", "call", gdlib.BUS_NAME, MPTCP_PATH,
                                 "org.freedesktop.DBus.Properties", "GetAll", "s", MPTCP_IFACE)
        data = json.loads(out.stdout)["data"][0]
        return gdlib.unwrap_variants(data)

    def call(self, method, signature="", *args):
        return self.client.call(method, signature, *args, path=MPTCP_PATH, iface=MPTCP_IFACE)

    def gdbus(self, method, *gv_args, uid=None):
        client = self.client if uid is None else gdlib.Client(self.bus.address, uid=uid)
        return client.gdbus(method, *gv_args, path=MPTCP_PATH, iface=MPTCP_IFACE)

    def expect_error(self, name, method, *gv_args, uid=None):
        full = name if "." in name else gdlib.ERROR_PREFIX + name
        got, message = self.gdbus(method, *gv_args, uid=uid)
        assert got == full, f"{method}{gv_args!r}: expected {full}, got {got}: {message}"
        return message

    def monitor(self):
        """dbus-monitor for ActiveGroupChanged (stopped with the rig)."""
        mon = gdlib.Monitor(self.bus.address, self.workdir,
                            rule=f"type='signal',sender='{gdlib.BUS_NAME}',"
                                 f"interface='{MPTCP_IFACE}',member='ActiveGroupChanged'")
        self.rig.add_cleanup(mon.stop)
        return mon

    def endpoint_devs(self):
        """interface → (group, sorted flags) from the Endpoints property."""
        return {iface: (group, sorted(flags))
                for _id, _addr, iface, group, flags in self.prop("Endpoints")}

    def wait_active(self, group, timeout=10):
        return gdlib.wait_for(lambda: self.prop("ActiveGroup") == group, timeout, interval=0.05,
                              what=f"ActiveGroup {group!r} (now {self.prop('ActiveGroup')!r})")

    def log(self, limit=60000):
        """The end of groupd's log (limit characters)."""
        return self.daemon.log_tail(limit) if self.daemon else ""

    # -- lifecycle --

    def stop(self):
        """SIGTERM; returns groupd's exit code (None: it did not exit in 10 s)."""
        if self.daemon is not None and self.returncode is None:
            self.returncode = self.daemon.terminate()
            self.daemon.kill()
        if self.bus is not None:
            self.bus.stop()
            self.bus = None
        return self.returncode


def active_group_changes(monitor):
    """[(group, previous, reason)] of the ActiveGroupChanged signals seen."""
    out = []
    for member, _header, body in monitor.signals():
        if member != "ActiveGroupChanged":
            continue
        strings = re.findall(r'string "((?:[^"\\]|\\.)*)"', body)
        if len(strings) >= 3:
            out.append(tuple(strings[:3]))
    return out

# SPDX-License-Identifier: LGPL-2.1-or-later
"""net.groupd1.Mptcp in the MPTCP rig's client namespace: the
properties against the kernel (`ip -j mptcp ...`, sysctls), SetMode,
SetPreference, Failover, the modes off/power-save/aggregate/failover,
coexistence with mptcpd and foreign endpoints, limits and the 8-endpoint
cap. See test_mptcp_failover.py for the failures under traffic."""

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mptcp"))
import gdlib  # noqa: E402
import groupd_mptcp as G  # noqa: E402
import rig as R  # noqa: E402
from conftest import groupd_bin  # noqa: E402
from mptcp_fixtures import (rig, rig_strict, start_groupd,  # noqa: E402,F401
                            start_groupd_strict, wait_kernel_endpoints, wait_subflow)

HOLD = 1.0
FAILOVER = {R.WLAN: ["subflow"], R.WWAN: ["backup", "subflow"]}
REVERSED = {R.WLAN: ["backup", "subflow"], R.WWAN: ["subflow"]}


def kernel_limits(rig):
    # iproute2 6.1 prints the limits as text even with -j: "add_addr_accepted 0 subflows 2".
    words = rig.ip(rig.client, "mptcp", "limits", "show").split()
    values = dict(zip(words[::2], (int(w) for w in words[1::2])))
    return {"subflows": values["subflows"], "add_addr_accepted": values["add_addr_accepted"]}


def test_properties_sysctls_connections(rig_strict, start_groupd_strict):
    """Start-up state against the kernel; rp_filter relaxed (the rig starts
    with strict rp_filter=1), stale_loss_cnt set, limits set, all recorded;
    the connection and its subflows seen from the kernel's events."""
    rig = rig_strict
    before = rig.read_sysctl(rig.client, "net.mptcp.stale_loss_cnt")
    g = start_groupd_strict(conf=G.mptcp_conf("failover", HOLD, extra="Subflows=4\n"
                                              "AddAddrAccepted=2\n"))
    g.wait_active("wifi")
    wait_kernel_endpoints(rig, FAILOVER)
    p = g.props()
    assert p["Mode"] == "failover"
    assert p["Preference"] == ["wifi", "cellular"]
    assert p["Owner"] == "groupd", p["OwnerDetail"]
    assert dict(p["Limits"]) == {"subflows": 4, "add_addr_accepted": 2} == kernel_limits(rig)
    health = {grp: state for grp, state, _reason in p["Health"]}
    assert health == {"wifi": "active", "cellular": "standby"}, p["Health"]
    assert p["LastError"] == ""
    assert p["FailoverCount"] == 1  # none → wifi at start

    assert rig.read_sysctl(rig.client, "net.mptcp.stale_loss_cnt") == "2"
    for dev in (R.WLAN, R.WWAN):
        assert rig.read_sysctl(rig.client, f"net.ipv4.conf.{dev}.rp_filter") == "2"
    changes = {path: (old, new) for path, old, new in p["SysctlChanges"]}
    assert changes.get("net/mptcp/stale_loss_cnt") == (before, "2"), changes
    for dev in (R.WLAN, R.WWAN):
        assert changes.get(f"net/ipv4/conf/{dev}/rp_filter") == ("1", "2"), changes

    # One connection: with strict rp_filter left alone its wwan0 subflow
    # could not come up.
    stream = rig.start_stream(duration=2.5)
    wait_subflow(rig, R.WWAN)
    conns = gdlib.wait_for(lambda: g.prop("Connections"), 3, what="Connections")
    assert len(conns) == 1, conns
    _token, local, remote, subflows = conns[0]
    assert remote == f"{R.SERVICE_ADDR}:{R.SERVICE_PORT + 1}", conns
    assert local.startswith(R.CLIENT_ADDR[R.WLAN] + ":"), conns
    gdlib.wait_for(lambda: {s[2] for s in g.prop("Connections")[0][3]} == {R.WLAN, R.WWAN}, 3,
                   what="subflows on wlan0 and wwan0 in Connections")
    by_iface = {s[2]: s for s in g.prop("Connections")[0][3]}
    assert by_iface[R.WWAN][0].startswith(R.CLIENT_ADDR[R.WWAN] + ":")
    assert by_iface[R.WWAN][3] is True and by_iface[R.WLAN][3] is False, by_iface
    result = stream.wait()
    assert not R.integrity(result), R.integrity(result)


def test_set_mode(rig, start_groupd):
    g = start_groupd(conf=G.mptcp_conf("failover", HOLD))
    wait_kernel_endpoints(rig, FAILOVER)
    signals = g.monitor()

    g.call("SetMode", "s", "off")
    wait_kernel_endpoints(rig, {})
    assert g.prop("Mode") == "off"
    assert g.prop("ActiveGroup") == ""
    assert g.prop("Owner") == "none"

    g.call("SetMode", "s", "power-save")
    wait_kernel_endpoints(rig, {R.WLAN: ["subflow"]})
    g.wait_active("wifi")

    g.call("SetMode", "s", "aggregate")
    wait_kernel_endpoints(rig, {R.WLAN: ["subflow"], R.WWAN: ["subflow"]})

    g.call("SetMode", "s", "failover")
    wait_kernel_endpoints(rig, FAILOVER)
    g.wait_active("wifi")
    assert g.prop("Mode") == "failover"

    endpoints = rig.endpoints()
    g.expect_error("InvalidArgs", "SetMode", "'sideways'")
    g.expect_error("InvalidArgs", "SetMode", "''")
    g.expect_error("AccessDenied", "SetMode", "'off'", uid=gdlib.NOBODY)
    assert g.prop("Mode") == "failover" and rig.endpoints() == endpoints
    # Reads stay open to everyone.
    assert gdlib.Client(g.bus.address, uid=gdlib.NOBODY).get_property(
        G.MPTCP_PATH, G.MPTCP_IFACE, "Mode") == "failover"
    # off → "" and back → "wifi": the active group changed twice.
    changes = G.active_group_changes(signals)
    assert ("", "wifi") in [c[:2] for c in changes], changes


def test_mode_off_at_start_leaves_foreign_endpoints(rig, start_groupd):
    """Mode=off: groupd adds nothing and removes nothing it does not own."""
    rig.ip(rig.client, "mptcp", "endpoint", "add", R.CLIENT_ADDR[R.WWAN], "dev", R.WWAN,
           "subflow")
    before = rig.endpoints()
    g = start_groupd(conf=G.mptcp_conf("off", HOLD))
    assert g.prop("Mode") == "off"
    assert g.prop("ActiveGroup") == ""
    gdlib.stays(lambda: rig.endpoints() == before, 1.0, what="the kernel's endpoints unchanged")
    eps = g.prop("Endpoints")
    assert [(e[1], e[2], e[3]) for e in eps] == [(R.CLIENT_ADDR[R.WWAN], R.WWAN, "")], eps


def test_set_preference(rig, start_groupd):
    g = start_groupd(conf=G.mptcp_conf("failover", HOLD))
    g.wait_active("wifi")
    wait_kernel_endpoints(rig, FAILOVER)
    signals = g.monitor()
    g.call("SetPreference", "as", 2, "cellular", "wifi")
    assert g.prop("Preference") == ["cellular", "wifi"]
    g.wait_active("cellular", timeout=HOLD + 3)
    wait_kernel_endpoints(rig, REVERSED)
    changes = G.active_group_changes(signals)
    assert [c[:2] for c in changes] == [("cellular", "wifi")], changes

    endpoints = rig.endpoints()
    g.expect_error("NoSuchGroup", "SetPreference", "@as ['nosuch', 'wifi']")
    g.expect_error("AccessDenied", "SetPreference", "@as ['wifi', 'cellular']",
                   uid=gdlib.NOBODY)
    assert g.prop("Preference") == ["cellular", "wifi"]
    assert rig.endpoints() == endpoints

    # Numbers name groups too.
    g.call("SetPreference", "as", 2, "10", "20")
    assert g.prop("Preference") == ["wifi", "cellular"]
    g.wait_active("wifi", timeout=HOLD + 3)
    wait_kernel_endpoints(rig, FAILOVER)


def test_failover_method(rig, start_groupd):
    g = start_groupd(conf=G.mptcp_conf("failover", HOLD))
    g.wait_active("wifi")
    wait_kernel_endpoints(rig, FAILOVER)
    signals = g.monitor()

    t0 = time.monotonic()
    g.call("Failover", "s", "")
    g.wait_active("cellular", timeout=2)
    wait_kernel_endpoints(rig, {R.WWAN: ["subflow"]}, timeout=2)
    health = {grp: state for grp, state, _r in g.prop("Health")}
    assert health["wifi"] == "hold-down", g.prop("Health")
    # Held down for HoldDownSec, then back.
    g.wait_active("wifi", timeout=HOLD + 3)
    assert time.monotonic() - t0 >= HOLD - 0.1
    wait_kernel_endpoints(rig, FAILOVER)
    changes = G.active_group_changes(signals)
    assert [c[:2] for c in changes] == [("cellular", "wifi"), ("wifi", "cellular")], changes
    assert all(c[2] for c in changes)

    g.call("Failover", "s", "cellular")
    g.wait_active("cellular", timeout=2)
    g.wait_active("wifi", timeout=HOLD + 3)

    g.expect_error("NoSuchGroup", "Failover", "'nosuch'")
    g.expect_error("AccessDenied", "Failover", "''", uid=gdlib.NOBODY)
    # No other healthy group: NotPossible.
    rig.fault("carrier", dev=R.WWAN)
    gdlib.wait_for(lambda: {grp: s for grp, s, _r in g.prop("Health")}["cellular"] == "down", 3,
                   what="cellular down")
    g.expect_error("NotPossible", "Failover", "''")
    assert g.prop("ActiveGroup") == "wifi"


MPTCPD = Path("/usr/libexec/mptcpd")


def start_mptcpd(rig):
    """Debian's mptcpd (addr_adv plugin) in the client namespace; returns
    once it has added its endpoints (so it listens to mptcp_pm_events)."""
    assert MPTCPD.exists(), f"{MPTCPD} missing: install mptcpd and mptcpd-plugins " \
                            "(tools/install-deps.sh)"
    log = open(Path(rig.workdir) / "mptcpd.log", "w")
    proc = rig.popen(rig.client, [MPTCPD, "--log=stderr", "--path-manager=addr_adv",
                                  "--addr-flags=subflow",
                                  "--notify-flags=existing,skip_link_local,skip_loopback"],
                     stdout=log)
    deadline = time.monotonic() + 10
    while len(rig.endpoints()) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, \
            f"mptcpd added no endpoints: {(Path(rig.workdir) / 'mptcpd.log').read_text()}"
        time.sleep(0.05)
    return proc


def test_mptcpd_running_refuses(rig, start_groupd):
    proc = start_mptcpd(rig)
    before = rig.endpoints()
    g = start_groupd(conf=G.mptcp_conf("failover", HOLD))
    gdlib.wait_for(lambda: g.prop("Owner") == "mptcpd", 3, what="Owner mptcpd")
    assert f"pid {proc.pid}" in g.prop("OwnerDetail"), g.prop("OwnerDetail")
    gdlib.stays(lambda: rig.endpoints() == before, 1.0, what="mptcpd's endpoints untouched")
    g.expect_error("NotPossible", "Failover", "''")
    g.expect_error("NotPossible", "Failover", "'cellular'")


def test_mptcpd_running_owner_groupd(rig, start_groupd):
    start_mptcpd(rig)
    g = start_groupd(conf=G.mptcp_conf("failover", HOLD, extra="Owner=groupd\n"))
    wait_kernel_endpoints(rig, FAILOVER)
    assert g.prop("Owner") == "groupd"
    g.wait_active("wifi")


def test_foreign_endpoints_refused(rig, start_groupd):
    rig.ip(rig.client, "mptcp", "endpoint", "add", "10.71.1.2", "dev", R.WLAN, "signal")
    before = rig.endpoints()
    g = start_groupd(conf=G.mptcp_conf("failover", HOLD))
    gdlib.wait_for(lambda: g.prop("Owner") == "foreign-endpoints", 3, what="Owner")
    gdlib.stays(lambda: rig.endpoints() == before, 1.0, what="the foreign endpoint untouched")


def _start_refused(rig, workdir_name, conf):
    """groupd with conf must refuse to start: (exit code, stderr)."""
    base = Path(rig.workdir) / workdir_name
    base.mkdir(mode=0o755)
    root = gdlib.ConfigRoot(base)
    root.write_iproute2_groups(G.GROUP_NAMES)
    root.write_conf(conf)
    root.write_group("10-wifi.group", G.group_file(G.WIFI, "wifi", R.WLAN))
    root.write_group("20-cellular.group", G.group_file(G.CELL, "cellular", R.WWAN))
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "DBUS_SESSION_BUS_ADDRESS", "WATCHDOG_USEC")}
    env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=/nonexistent"
    proc = subprocess.run(["ip", "netns", "exec", rig.client, str(groupd_bin()),
                           f"--config-root={root}"], env=env, capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stderr, root


def test_limits_above_8_refused(rig, start_groupd):
    limits = kernel_limits(rig)
    for key in ("Subflows", "AddAddrAccepted"):
        code, err, _root = _start_refused(rig, f"refused-{key}",
                                          G.mptcp_conf("failover", HOLD, extra=f"{key}=9\n"))
        assert code != 0, f"groupd started with {key}=9"
        assert f'[MPTCP] {key}: "9" is out of range (0..8)' in err, err
    assert kernel_limits(rig) == limits
    assert rig.endpoints() == []

    # On reload: InvalidArgs, the running limits stay.
    g = start_groupd(conf=G.mptcp_conf("failover", HOLD, extra="Subflows=3\n"))
    wait_kernel_endpoints(rig, FAILOVER)
    assert kernel_limits(rig)["subflows"] == 3
    g.root.write_conf(G.mptcp_conf("failover", HOLD, extra="Subflows=9\n"))
    name, message = gdlib.reload_error(g.client)
    assert name == gdlib.ERROR_PREFIX + "InvalidArgs", (name, message)
    assert 'Subflows: "9" is out of range (0..8)' in message, message
    assert kernel_limits(rig)["subflows"] == 3
    assert dict(g.prop("Limits"))["subflows"] == 3


def test_more_than_8_endpoints_reported(rig, start_groupd):
    """10 usable addresses, 8 endpoints at most: reported, not truncated silently."""
    rig.batch(rig.client, [f"addr add 10.71.1.{i}/24 dev {R.WLAN}" for i in range(10, 18)])
    g = start_groupd(conf=G.mptcp_conf("aggregate", HOLD))
    gdlib.wait_for(lambda: g.prop("LastError") != "", 5, what="LastError")
    assert "8" in g.prop("LastError"), g.prop("LastError")
    eps = rig.endpoints()
    assert len(eps) == 8, eps
    assert len(g.prop("Endpoints")) == 8
    assert g.daemon.alive()

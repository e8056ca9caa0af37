# SPDX-License-Identifier: LGPL-2.1-or-later
"""When a polkit authority is on the bus, a caller that is neither root nor
in the admin group is allowed exactly when it authorizes the method's
action (net.groupd1.*); without one, or when it refuses, AccessDenied.

The authority here is tests/integration/fake_polkit.py: it speaks
org.freedesktop.PolicyKit1.Authority.CheckAuthorization as polkitd does
and authorizes one uid, so the test proves groupd's side of the protocol
(subject, action ids, the answer) against the real bus."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import gdlib

HERE = Path(__file__).resolve().parent
NO_OPTS = "@a{sv} {}"


def start_fake_polkit(address, uid, log):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    proc = subprocess.Popen(["/usr/bin/python3", str(HERE / "fake_polkit.py"), str(uid), str(log)],
                            stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        gdlib.terminate(proc)
        raise AssertionError(f"fake polkit did not start: {line!r}")
    return proc


def test_polkit_authorizes_and_refuses(netns, groupd_factory, workdir):
    netns.add_ifbs(2, group=100)
    root = groupd_factory().client
    nobody = gdlib.Client(root.address, uid=gdlib.NOBODY)
    address = root.address if root.address.startswith("unix:") else f"unix:path={root.address}"

    # No authority on the bus: the credential check alone decides.
    nobody.expect_error("AccessDenied", "SetGroup", "'100'", "{'MTU': <uint32 1400>}", NO_OPTS)
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {1500}

    log = Path(workdir) / "polkit.log"
    polkit = start_fake_polkit(address, gdlib.NOBODY, log)
    try:
        # Authorized for uid 65534: the change reaches the kernel.
        nobody.set_group("100", {"MTU": 1400})
        assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {1400}
        nobody.expect_error("NoSuchLink", "SetLinkGroup", gdlib.gv_strv(["nope"]), "'100'")
        entries = log.read_text().split("\n")
        # busctl allows interactive authorization (flag 1 passed on), gdbus does not.
        assert f"net.groupd1.set-group {gdlib.NOBODY} 1 yes" in entries, entries
        assert f"net.groupd1.set-link-group {gdlib.NOBODY} 0 yes" in entries, entries
        # Root never needs polkit: nothing more is asked.
        asked = len(log.read_text().splitlines())
        root.set_group("100", {"MTU": 1450})
        assert len(log.read_text().splitlines()) == asked
    finally:
        gdlib.terminate(polkit)

    # An authority that authorizes someone else refuses 65534.
    polkit = start_fake_polkit(address, 4242, log)
    try:
        before = netns.snapshot()
        nobody.expect_error("AccessDenied", "AddGroupAddress", "'100'", "'10.0.0.1/24'", NO_OPTS)
        gdlib.assert_same_snapshot(before, netns.snapshot(), "a call polkit refused")
        assert f"net.groupd1.group-address {gdlib.NOBODY} 0 no" in log.read_text().split("\n")
    finally:
        gdlib.terminate(polkit)


MPTCP = {"path": "/net/groupd1/mptcp", "iface": "net.groupd1.Mptcp"}
POLICY_FILE = HERE.parents[1] / "data" / "net.groupd1.policy"


def test_every_action_defined():
    """Every action in data/net.groupd1.policy is auth_admin_keep for the
    active session, like the others, and described. (That they are exactly
    the actions groupd asks polkit about is tests/unit/test-bus-methods.c.)"""
    actions = {a.get("id"): a for a in ET.parse(POLICY_FILE).getroot().iter("action")}
    assert "net.groupd1.manage-mptcp" in actions, set(actions)
    for action_id, action in actions.items():
        defaults = action.find("defaults")
        assert defaults.findtext("allow_active") == "auth_admin_keep", action_id
        assert defaults.findtext("allow_any") == "auth_admin", action_id
        assert action.findtext("description") and action.findtext("message"), action_id


def test_polkit_mptcp(netns, groupd_factory, workdir):
    """SetMode, SetPreference and Failover ask for net.groupd1.manage-mptcp."""
    root = groupd_factory().client
    nobody = gdlib.Client(root.address, uid=gdlib.NOBODY)
    address = root.address if root.address.startswith("unix:") else f"unix:path={root.address}"
    mode = lambda: root.get_property(MPTCP["path"], MPTCP["iface"], "Mode")  # noqa: E731

    # No authority: refused by groupd's credential check.
    assert nobody.gdbus("SetMode", "'aggregate'", **MPTCP)[0] == "net.groupd1.Error.AccessDenied"
    assert mode() == "off"

    log = Path(workdir) / "polkit.log"
    polkit = start_fake_polkit(address, gdlib.NOBODY, log)
    try:
        got, out = nobody.gdbus("SetMode", "'aggregate'", **MPTCP)
        assert got is None, out
        assert mode() == "aggregate"
        # Authorized, then groupd's own answer: nowhere to fail over to.
        assert nobody.gdbus("Failover", "''", **MPTCP)[0] == "net.groupd1.Error.NotPossible"
        entries = log.read_text().split("\n")
        assert entries.count(f"net.groupd1.manage-mptcp {gdlib.NOBODY} 0 yes") == 2, entries
    finally:
        gdlib.terminate(polkit)

    polkit = start_fake_polkit(address, 4242, log)
    try:
        assert nobody.gdbus("SetPreference", "@as []", **MPTCP)[0] == \
            "net.groupd1.Error.AccessDenied"
        assert nobody.gdbus("SetMode", "'off'", **MPTCP)[0] == "net.groupd1.Error.AccessDenied"
        assert mode() == "aggregate"
        assert f"net.groupd1.manage-mptcp {gdlib.NOBODY} 0 no" in log.read_text().split("\n")
    finally:
        gdlib.terminate(polkit)

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

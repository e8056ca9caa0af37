# SPDX-License-Identifier: LGPL-2.1-or-later
"""Start-up notification and a clean exit on SIGTERM."""

import subprocess

import gdlib


def name_has_owner(client):
    return client.call("NameHasOwner", "s", gdlib.BUS_NAME, dest="org.freedesktop.DBus",
                       path="/org/freedesktop/DBus", iface="org.freedesktop.DBus")[0]


def test_sigterm_exits_cleanly(netns, groupd_factory):
    netns.add_ifbs(4, group=100)
    daemon = groupd_factory()
    client = daemon.client
    # READY=1 came with a STATUS line (checked by the fixture: READY).
    assert any("READY=1" in s for s in daemon.status)
    assert name_has_owner(client) is True
    client.set_group("100", {"MTU": 1400})
    before = netns.snapshot()

    code = daemon.terminate(timeout=10)
    assert code is not None, "groupd did not exit within 10 s of SIGTERM"
    assert code == 0, f"groupd exited with {code} on SIGTERM"
    # It leaves the network as it was, and its name on the bus is gone.
    gdlib.assert_same_snapshot(before, netns.snapshot(), "stopping groupd")
    assert name_has_owner(client) is False


def test_sigterm_while_busy(netns, groupd_factory):
    """SIGTERM with operations running and queued still exits 0 within 10 s."""
    netns.add_ifbs(1024, group=100)
    daemon = groupd_factory()
    calls = [
        subprocess.Popen(
            ["busctl", f"--address={daemon.client.address}", "call", gdlib.BUS_NAME,
             gdlib.MANAGER_PATH, gdlib.MANAGER_IFACE, "SetGroup", "sa{sv}a{sv}", "100", "1",
             "State", "s", "up" if i % 2 == 0 else "down", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(8)
    ]
    try:
        gdlib.wait_for(lambda: "group change on group 100" in daemon.log_tail(), 30,
                       interval=0.01, what="the first operation to finish")
        code = daemon.terminate(timeout=10)
    finally:
        for call in calls:
            call.wait(30)
    assert code == 0, f"groupd exited with {code} (None: still running after 10 s)"


def test_restart_reads_state(netns, groupd_factory):
    """A second groupd, after the first stopped, finds what the first did."""
    netns.add_ifbs(8)
    first = groupd_factory()
    assert first.client.set_link_group([f"ifb{i}" for i in range(4)], "100") == 4
    first.client.set_group("100", {"MTU": 1400})
    assert first.terminate() == 0
    second = groupd_factory()
    gdlib.assert_cache_matches_kernel(netns, second.client)
    assert second.client.group_property(100, "MTU") == 1400
    assert second.client.list_groups() == [(0, "default", 4 + len(netns.base)),
                                           (100, "", 4)]

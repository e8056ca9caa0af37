# SPDX-License-Identifier: LGPL-2.1-or-later
"""Start-up notification and a clean exit on SIGTERM."""

import subprocess
import time

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


def test_start_while_addresses_change(netns, groupd_factory):
    """Dumps that other changes keep interrupting (NLM_F_DUMP_INTR), as while
    thousands of links that just came up finish IPv6 address setup: groupd
    waits and reads again instead of exiting, and its cache ends equal to
    the kernel's."""
    names = netns.add_ifbs(2048)
    netns.batch([f"addr add fd80::{i:x}:{j}/128 dev {n}"
                 for i, n in enumerate(names) for j in (1, 2, 3, 4)])
    # Bounded: for at most 4 s, three processes add and delete addresses in
    # the test's namespace (each ~8000 changes a second).
    churns = []
    for k in range(3):
        path = netns.workdir / f"churn-{k}.txt"
        path.write_text(f"addr add fd99::{k + 1}/128 dev ifb{k}\naddr del fd99::{k + 1}/128 "
                        f"dev ifb{k}\n" * 100000)
        churns.append(subprocess.Popen(["timeout", "4", "ip", "-n", netns.name, "-batch", str(path)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        time.sleep(0.3)
        assert all(c.poll() is None for c in churns), "the churn ended before groupd started"
        daemon = groupd_factory()
        log = daemon.log_path.read_text(errors="replace")
        assert "kept changing while they were read" in log, (
            "no dump was interrupted often enough: the test did not make the case it is for\n"
            + daemon.log_tail())
    finally:
        for c in churns:
            c.wait(timeout=30)
    gdlib.wait_for(lambda: daemon.client.list_links() == netns.kernel_list_links(), 10,
                   what="the cache to match the kernel after the churn")
    gdlib.assert_cache_matches_kernel(netns, daemon.client)
    addrs = netns.addrs()
    for name in ("ifb0", "ifb1", names[-1]):
        assert sorted(daemon.client.get_link(name)["Addresses"]) == addrs[name], name

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drift repair: a member changed behind groupd's back is put back
after the debounce with one group-scoped message; RepairDrift=no only
reports it; a change the kernel refuses is retried with back-off, not in a
loop; a SetGroup on a policy group becomes the desired state until the
next reload."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import gdlib

ADDRESSES = ("10.0.0.1/24", "fd00::1/64")
POLICY = dict(mtu=1400, up=True, txqlen=500, addresses=ADDRESSES)
MAC = "02:00:00:00:00:01"


def start(netns, workdir, groupd_factory, repair_drift=True, n=16, **policy):
    names = netns.add_ifbs(n)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(repair_drift=repair_drift, debounce="0.2")
    args = dict(gid=100, name="ppp", match={"Name": "ifb*"}, mtu=1400, state="up", txqlen=500,
                addresses=ADDRESSES)
    args.update(policy)
    root.write_group("50-ppp.group", gdlib.policy_text(**args))
    daemon = groupd_factory(config_root=root)
    return daemon, root, names


def settled_counters(client, quiet=1.0, timeout=15):
    """The netlink counters once they stopped moving for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last = gdlib.netlink_counters(client)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = gdlib.netlink_counters(client)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"groupd kept writing for {timeout} s: counters {last}")


def test_mtu_drift_repaired_with_one_group_message(netns, workdir, groupd_factory):
    daemon, _, names = start(netns, workdir, groupd_factory)
    client = daemon.client
    assert not gdlib.policy_violations(netns, names, 100, **POLICY)
    r0, s0 = settled_counters(client)

    netns.ip("link", "set", "dev", "ifb5", "mtu", "9000")
    gdlib.wait_policy(netns, ["ifb5"], 100, timeout=5, **POLICY)
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 0, 5, what="Drifted 0")
    r1, s1 = settled_counters(client)
    assert (r1 - r0, s1 - s0) == (1, 1), (
        f"repairing one member's MTU took {r1 - r0} requests in {s1 - s0} sendmsg() "
        "(expected one group-scoped message)")
    assert not gdlib.policy_violations(netns, names, 100, **POLICY)
    assert client.group_property(100, "LastError") == ""


def test_every_kind_of_drift_repaired(netns, workdir, groupd_factory):
    daemon, _, names = start(netns, workdir, groupd_factory)
    client = daemon.client
    settled_counters(client)
    netns.batch([
        "link set dev ifb6 down",
        "link set dev ifb7 txqueuelen 100",
        "address del 10.0.0.1/24 dev ifb8",
        "address del fd00::1/64 dev ifb9",
        "link set dev ifb10 mtu 1280",
    ])
    gdlib.wait_policy(netns, names, 100, timeout=5, **POLICY)
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 0, 5, what="Drifted 0")
    settled_counters(client)


def test_member_moved_out_is_moved_back(netns, workdir, groupd_factory):
    """A link whose first match is the policy belongs to its group: moved
    out by hand, it is moved back (and given the policy)."""
    daemon, _, names = start(netns, workdir, groupd_factory)
    settled_counters(daemon.client)
    netns.ip("link", "set", "dev", "ifb3", "group", "0")
    netns.ip("link", "set", "dev", "ifb4", "group", "55")
    gdlib.wait_policy(netns, names, 100, timeout=5, **POLICY)


def test_drift_reported_not_repaired_when_disabled(netns, workdir, groupd_factory):
    daemon, _, names = start(netns, workdir, groupd_factory, repair_drift=False)
    client = daemon.client
    assert not gdlib.policy_violations(netns, names, 100, **POLICY), \
        "RepairDrift=no must not stop the policy being applied on start"
    before = settled_counters(client)

    netns.ip("link", "set", "dev", "ifb5", "mtu", "9000")
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 1, 5, what="Drifted 1")
    # Well past the debounce (0.2 s): still 9000, nothing sent.
    gdlib.stays(lambda: netns.links_by_name()["ifb5"]["mtu"] == 9000, 2,
                what="ifb5 keeping MTU 9000 with RepairDrift=no")
    assert gdlib.netlink_counters(client) == before
    assert client.group_property(100, "Drifted") == 1
    assert client.group_property(100, "MTU") == 0  # the members differ

    entry = gdlib.plan_group(gdlib.get_plan(client), 100)
    assert entry["drifted"] == 1, entry
    assert entry["change"] == {"MTU": {"to": 1400, "from": [{"value": 9000,
                                                               "links": ["ifb5"]}]}}, entry

    # A reload applies the plan whatever RepairDrift says.
    gdlib.reload(client)
    assert not gdlib.policy_violations(netns, names, 100, **POLICY)
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 0, 5, what="Drifted 0")


def test_drifted_is_current_when_reload_returns(netns, workdir, groupd_factory):
    """Drifted counts what the kernel shows when a mutating call returned
    (the Manager's promise), not what the plan before the apply saw."""
    daemon, _, names = start(netns, workdir, groupd_factory, repair_drift=False)
    client = daemon.client
    netns.ip("link", "set", "dev", "ifb5", "mtu", "9000")
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 1, 5, what="Drifted 1")
    gdlib.reload(client)
    assert not gdlib.policy_violations(netns, names, 100, **POLICY)
    assert gdlib.plan_group(gdlib.get_plan(client), 100)["drifted"] == 0
    assert client.group_property(100, "Drifted") == 0, \
        "Drifted still counts the member Reload just repaired"


def test_drifted_is_current_at_ready(netns, workdir, groupd_factory):
    """Members already in the group but off-policy are repaired before
    READY=1; Drifted must then say 0, not what the plan before the apply saw."""
    names = netns.add_ifbs(8, group=100)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="5")  # no reconcile after the start within this test
    root.write_group("50-ppp.group", gdlib.policy_text(gid=100, match={"Name": "ifb*"},
                                                       mtu=1400))
    client = groupd_factory(config_root=root).client
    assert not gdlib.policy_violations(netns, names, 100, mtu=1400)
    assert gdlib.plan_group(gdlib.get_plan(client), 100)["drifted"] == 0
    assert client.group_property(100, "Drifted") == 0, \
        "Drifted counts the members the start just repaired"


def failed_attempts(log, gid=100):
    """[(attempt, back-off ms)] from groupd's "group G (name): retrying in N
    ms (attempt K failed)" lines."""
    return [(int(m.group(2)), int(m.group(1))) for m in re.finditer(
        rf"group {gid}(?: \([^)]*\))?: retrying in (\d+) ms \(attempt (\d+) failed\)", log)]


def test_refused_change_retried_with_backoff(netns, workdir, groupd_factory):
    """ifb refuses MAC changes (EOPNOTSUPP): groupd reports it in LastError
    and retries with back-off (1, 2, 4 s…), never in a loop, and keeps
    answering."""
    daemon, _, names = start(netns, workdir, groupd_factory, n=4, mtu=None, state=None,
                             txqlen=None, addresses=(), mac=MAC)
    client = daemon.client
    # The moves succeeded; the group message was refused at the first member.
    assert not gdlib.policy_violations(netns, names, 100)
    macs = {n: l["address"] for n, l in netns.links_by_name().items() if n in names}
    assert MAC not in macs.values()

    error = gdlib.wait_for(lambda: client.group_property(100, "LastError"), 5,
                           what="LastError to be set")
    assert "Operation not supported" in error, f"LastError {error!r} does not name EOPNOTSUPP"
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 4, 5, what="Drifted 4")

    r0, s0 = gdlib.netlink_counters(client)
    t0 = time.monotonic()
    calls = 0
    while time.monotonic() - t0 < 6:
        # Responsive meanwhile (busctl's own timeout is long: bound it here).
        assert len(client.list_links()) == len(netns.base) + 4
        assert gdlib.run(["busctl", f"--address={client.address}", "--timeout=3", "call",
                          gdlib.BUS_NAME, gdlib.MANAGER_PATH, gdlib.MANAGER_IFACE, "Plan"],
                         timeout=10).stdout.startswith("s ")
        calls += 1
        time.sleep(0.3)
    r1, s1 = gdlib.netlink_counters(client)
    assert calls >= 10
    # Back-off 1, 2, 4 s: 2 or 3 retries in 6 s; a hot loop would be hundreds.
    assert 1 <= r1 - r0 <= 5, f"{r1 - r0} group messages in 6 s (expected a back-off)"
    assert s1 - s0 == r1 - r0
    attempts = failed_attempts(daemon.log_tail(10**9))
    # The first at start, then one per retry sent; each waits twice as long.
    assert 2 <= len(attempts) <= 6, attempts
    assert [a for a, _ in attempts] == list(range(1, len(attempts) + 1)), attempts
    assert [d for _, d in attempts] == [1000 * 2**i for i in range(len(attempts))], attempts
    assert "Operation not supported" in client.group_property(100, "LastError")
    assert {n: l["address"] for n, l in netns.links_by_name().items() if n in names} == macs

    # Other work still goes through: a SetGroup on the group succeeds.
    client.set_group("100", {"MTU": 1300})
    assert not gdlib.policy_violations(netns, names, 100, mtu=1300)


def test_refused_change_does_not_block_other_groups(netns, workdir, groupd_factory):
    netns.add_ifbs(4)
    netns.add_ifbs(4, prefix="ok")
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2")
    root.write_group("50-mac.group", gdlib.policy_text(gid=100, match={"Name": "ifb*"}, mac=MAC))
    root.write_group("60-ok.group", gdlib.policy_text(gid=200, match={"Name": "ok*"}, mtu=1300))
    client = groupd_factory(config_root=root).client
    assert not gdlib.policy_violations(netns, [f"ok{i}" for i in range(4)], 200, mtu=1300)
    assert client.group_property(200, "LastError") == ""
    gdlib.wait_for(lambda: client.group_property(100, "LastError"), 5, what="LastError")
    netns.ip("link", "set", "dev", "ok1", "mtu", "9000")
    gdlib.wait_policy(netns, ["ok1"], 200, timeout=5, mtu=1300)


def test_setgroup_overrides_policy_until_reload(netns, workdir, groupd_factory):
    daemon, _, names = start(netns, workdir, groupd_factory)
    client = daemon.client
    client.set_group("100", {"MTU": 1300})
    assert not gdlib.policy_violations(netns, names, 100, **dict(POLICY, mtu=1300))
    # Well past the debounce: drift repair does not undo the caller's change.
    gdlib.stays(lambda: not gdlib.policy_violations(netns, names, 100, mtu=1300), 1.5,
                what="MTU 1300 after SetGroup")
    policy = gdlib.group_policy(client, 100)
    assert (policy["MTU"], policy["Overridden"], policy["State"], policy["TxQueueLength"]) == (
        1300, True, "up", 500), policy
    assert client.group_property(100, "Drifted") == 0
    entry = gdlib.plan_group(gdlib.get_plan(client), 100)
    assert (entry["override"], entry["desired"]["MTU"], entry["change"]) == (True, 1300, None)

    # The override is the desired state: a drift goes back to 1300, not 1400.
    netns.ip("link", "set", "dev", "ifb3", "mtu", "9000")
    gdlib.wait_policy(netns, ["ifb3"], 100, timeout=5, mtu=1300)
    gdlib.stays(lambda: netns.links_by_name()["ifb3"]["mtu"] == 1300, 1,
                what="ifb3 at MTU 1300")

    # A reload forgets the override.
    gdlib.reload(client)
    assert not gdlib.policy_violations(netns, names, 100, **POLICY)
    policy = gdlib.group_policy(client, 100)
    assert (policy["MTU"], policy["Overridden"]) == (1400, False), policy


def test_setgroup_state_override(netns, workdir, groupd_factory):
    """State=down by SetGroup on a State=up policy: kept, then undone by
    SIGHUP (a reload too)."""
    daemon, _, names = start(netns, workdir, groupd_factory, addresses=())
    client = daemon.client
    client.set_group("100", {"State": "down"})
    gdlib.stays(lambda: not gdlib.policy_violations(netns, names, 100, up=False), 1.5,
                what="the group staying down")
    assert gdlib.group_policy(client, 100)["State"] == "down"
    os.kill(daemon.proc.pid, signal.SIGHUP)
    gdlib.wait_policy(netns, names, 100, timeout=10, up=True, mtu=1400)
    gdlib.wait_for(lambda: gdlib.group_policy(client, 100)["Overridden"] is False, 5,
                   what="Overridden false after SIGHUP")


def test_refused_setgroup_keeps_the_policy(netns, workdir, groupd_factory):
    """A SetGroup the kernel refuses does not become the desired state."""
    daemon, _, names = start(netns, workdir, groupd_factory, n=4)
    client = daemon.client
    # Let the start's own events be reconciled first (debounce 0.2 s): a
    # reconcile while the SetGroup below is in flight would plan with its
    # not yet acknowledged override (see the report on this race).
    settled_counters(client)
    time.sleep(0.5)
    before = gdlib.group_policy(client, 100)
    message = client.expect_error("Kernel", "SetGroup", "'100'", f"{{'MACAddress': <'{MAC}'>}}",
                                  "@a{sv} {}")
    assert "Operation not supported" in message
    assert gdlib.group_policy(client, 100) == before
    assert "MACAddress" not in before and before["Overridden"] is False
    # Invalid arguments do not touch it either.
    client.expect_error("InvalidArgs", "SetGroup", "'100'", "{'MTU': <uint32 0>}", "@a{sv} {}")
    assert gdlib.group_policy(client, 100) == before
    # Nothing to retry: no error, nothing sent.
    counters = gdlib.netlink_counters(client)
    time.sleep(1.5)
    assert gdlib.netlink_counters(client) == counters
    assert client.group_property(100, "LastError") == ""


def test_drift_emits_properties_changed(netns, workdir, groupd_factory):
    daemon, _, names = start(netns, workdir, groupd_factory, repair_drift=False)
    client = daemon.client
    with gdlib.Monitor(client.address, workdir) as monitor:
        netns.ip("link", "set", "dev", "ifb5", "mtu", "9000")
        gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 1, 5, what="Drifted 1")

        def drifted_signal():
            return [b for m, h, b in monitor.signals()
                    if m == "PropertiesChanged" and "path=/net/groupd1/group/100" in h
                    and '"Drifted"' in b]
        gdlib.wait_for(drifted_signal, 5, what="PropertiesChanged with Drifted")
        assert "uint32 1" in drifted_signal()[-1]


def wakeups(pid):
    """Voluntary context switches of every thread of pid: how often it slept."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def test_failed_group_that_converges_goes_quiet(netns, workdir, groupd_factory):
    """A group backing off after a refusal whose members then vanish has
    nothing left to apply: groupd stops retrying (no busy loop of
    re-planning, even one that sends nothing) and clears LastError."""
    daemon, _, names = start(netns, workdir, groupd_factory, n=4, mtu=None, state=None,
                             txqlen=None, addresses=(), mac=MAC)
    client = daemon.client
    gdlib.wait_for(lambda: client.group_property(100, "LastError"), 5, what="LastError")
    w0 = wakeups(daemon.proc.pid)
    time.sleep(2)
    backing_off = wakeups(daemon.proc.pid) - w0

    netns.batch([f"link del {n}" for n in names])
    time.sleep(3)  # past the first retries (1 s, 2 s)
    w1 = wakeups(daemon.proc.pid)
    time.sleep(2)
    converged = wakeups(daemon.proc.pid) - w1
    assert converged <= 100, (
        f"groupd woke up {converged} times in 2 s with nothing to apply "
        f"({backing_off} while backing off): a retry loop")
    gdlib.wait_for(lambda: client.group_property(100, "LastError") == "", 5,
                   what="LastError to clear once nothing is left to apply")


def test_refused_setgroup_in_flight_is_not_adopted(netns, workdir, groupd_factory):
    """A SetGroup waiting in the queue (behind two long group changes of
    another group) is not yet the desired state: a drift repair planned
    meanwhile must not send it too. Here the SetGroup (a MAC on ifb) is
    refused; adopting it early would send a second refused group message,
    set LastError and delay the repair by a back-off."""
    bulk = netns.add_ifbs(2048, prefix="bulk", group=7)
    names = netns.add_ifbs(4, prefix="p")
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.6")
    root.write_group("50-p.group", gdlib.policy_text(gid=100, match={"Name": "p*"}, mtu=1400))
    # One group message per change, for the count below (the kernel path is
    # not what this is about).
    daemon = groupd_factory("--kernel-path=group", config_root=root)
    client = daemon.client
    client.set_group("7", {"State": "up"})  # UP with IPv6: each MTU change takes a while
    time.sleep(3.5)  # past the settle window of that operation
    r0, s0 = settled_counters(client)

    def busctl_async(*args):
        return subprocess.Popen(
            ["busctl", f"--address={client.address}", "--timeout=100", "call", gdlib.BUS_NAME,
             gdlib.MANAGER_PATH, gdlib.MANAGER_IFACE, *[str(a) for a in args]],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    netns.ip("link", "set", "dev", "p1", "mtu", "9000")
    time.sleep(0.4)  # published; the repair is due 0.6 s after
    calls = [busctl_async("SetGroup", "sa{sv}a{sv}", "7", 1, "MTU", "u", 1280, 0),
             busctl_async("SetGroup", "sa{sv}a{sv}", "7", 1, "MTU", "u", 1300, 0)]
    time.sleep(0.05)
    refused = busctl_async("SetGroup", "sa{sv}a{sv}", "100", 1, "MACAddress", "s", MAC, 0)
    errors = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        error = client.group_property(100, "LastError")
        if error:
            errors.add(error)
        time.sleep(0.1)
    for call in calls:
        assert call.wait(60) == 0, call.stderr.read()
    assert refused.wait(60) != 0
    assert "Operation not supported" in refused.stderr.read()
    assert not gdlib.policy_violations(netns, names, 100, mtu=1400)
    assert gdlib.group_policy(client, 100)["Overridden"] is False
    assert not errors, f"the refused SetGroup was adopted by drift repair: LastError {errors}"
    r1, s1 = settled_counters(client)
    # 2 MTU changes of group 7, the refused SetGroup, one repair of p1.
    assert r1 - r0 == 4, f"{r1 - r0} requests (expected 4)"

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reload: Manager.Reload(u) and SIGHUP adding, removing and
renaming groups, masking, and the dry run that makes no netlink write."""

import json
import os
import signal
import subprocess
import time

import gdlib

ADDRESSES = ("10.0.0.1/24",)
PPP = dict(mtu=1400, up=True, txqlen=500, addresses=ADDRESSES)


def ppp_text(**kw):
    args = dict(gid=100, name="ppp", match={"Name": "ifb*"}, mtu=1400, state="up", txqlen=500,
                addresses=ADDRESSES)
    args.update(kw)
    return gdlib.policy_text(**args)


def vpn_text(**kw):
    args = dict(gid=200, name="vpn", match={"Name": "vpn*"}, mtu=1300)
    args.update(kw)
    return gdlib.policy_text(**args)


def start(netns, workdir, groupd_factory, vpn=False, n=16):
    names = netns.add_ifbs(n)
    vpns = netns.add_ifbs(4, prefix="vpn")
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2")
    root.write_group("50-ppp.group", ppp_text())
    if vpn:
        root.write_group("60-vpn.group", vpn_text())
    daemon = groupd_factory(config_root=root)
    assert not gdlib.policy_violations(netns, names, 100, **PPP)
    return daemon, root, names, vpns


def untouched(netns, names):
    links = netns.links_by_name()
    bad = [n for n in names if (links[n]["group_id"], links[n]["mtu"]) != (0, 1500)]
    assert not bad, f"changed though no policy names them: {bad}"


def test_reload_adds_group(netns, workdir, groupd_factory):
    daemon, root, names, vpns = start(netns, workdir, groupd_factory)
    client = daemon.client
    untouched(netns, vpns)
    assert not gdlib.group_object_exists(client, 200)

    path = root.write_group("60-vpn.group", vpn_text())
    plan = gdlib.reload(client)
    entry = gdlib.plan_group(plan, 200)
    assert [m["link"] for m in entry["moves"]] == vpns, entry
    assert all(m["from"] == 0 for m in entry["moves"]), entry
    assert entry["change"] == {"MTU": {"to": 1300, "from": [{"value": 1500, "links": vpns}]}}
    assert gdlib.plan_group(plan, 100)["change"] is None

    # Applied by the time Reload returned.
    assert not gdlib.policy_violations(netns, vpns, 200, mtu=1300)
    assert not gdlib.policy_violations(netns, names, 100, **PPP)
    assert gdlib.group_object_exists(client, 200)
    props = client.group_properties(200)
    assert (props["MemberCount"], props["MTU"]) == (4, 1300)
    assert gdlib.unwrap_variants(props["Policy"]) == {"File": str(path), "MTU": 1300,
                                                      "Addresses": [], "Overridden": False,
                                                      "OtherManagers": "enforce"}
    assert [g["id"] for g in gdlib.get_plan(client)["groups"]] == [100, 200]

    # Hot-plug and drift repair cover the new group too.
    netns.add_ifbs(2, prefix="vpn", start=10)
    gdlib.wait_policy(netns, ["vpn10", "vpn11"], 200, timeout=10, mtu=1300)
    netns.ip("link", "set", "dev", "vpn1", "mtu", "9000")
    gdlib.wait_policy(netns, ["vpn1"], 200, timeout=5, mtu=1300)


def test_reload_removes_group(netns, workdir, groupd_factory):
    daemon, root, names, vpns = start(netns, workdir, groupd_factory, vpn=True)
    client = daemon.client
    root.write_group("70-spare.group",
                     gdlib.policy_text(gid=300, name="spare", match={"Name": "none*"}, mtu=1400))
    gdlib.reload(client)
    assert not gdlib.policy_violations(netns, vpns, 200, mtu=1300)
    assert gdlib.group_object_exists(client, 300)

    root.remove_group("60-vpn.group")
    root.remove_group("70-spare.group")
    plan = gdlib.reload(client)
    assert [g["id"] for g in plan["groups"]] == [100], plan
    assert [g["id"] for g in gdlib.get_plan(client)["groups"]] == [100]

    # Links stay where they are, as they are: groupd never moves them back.
    assert not gdlib.policy_violations(netns, vpns, 200, mtu=1300)
    props = client.group_properties(200)
    assert (props["Policy"], props["Drifted"], props["MemberCount"], props["LastError"]) == (
        {}, 0, 4, ""), props
    # A group without members and without a policy has no object.
    assert not gdlib.group_object_exists(client, 300)

    # No longer managed: a change is not repaired, a new vpn link not moved.
    before = gdlib.netlink_counters(client)
    netns.ip("link", "set", "dev", "vpn1", "mtu", "9000")
    netns.add_ifbs(1, prefix="vpn", start=10)
    time.sleep(1.5)
    links = netns.links_by_name()
    assert links["vpn1"]["mtu"] == 9000
    assert (links["vpn10"]["group_id"], links["vpn10"]["mtu"]) == (0, 1500)
    assert gdlib.netlink_counters(client) == before
    assert not gdlib.policy_violations(netns, names, 100, **PPP)


def test_reload_renames_group(netns, workdir, groupd_factory):
    daemon, root, names, _ = start(netns, workdir, groupd_factory)
    client = daemon.client
    assert client.group_property(100, "Name") == "ppp"
    before = gdlib.stable_snapshot(netns)

    root.write_group("50-ppp.group", ppp_text(name="pppoe"))
    plan = gdlib.reload(client)
    assert gdlib.plan_group(plan, 100)["name"] == "pppoe"
    assert client.group_property(100, "Name") == "pppoe"
    assert (100, "pppoe", 16) in client.list_groups()
    assert gdlib.plan_group(gdlib.get_plan(client), 100)["name"] == "pppoe"
    # Only the name changed: nothing was sent to the kernel.
    gdlib.assert_same_snapshot(before, gdlib.stable_snapshot(netns), "renaming a group")
    # The group answers to its new name.
    client.set_group("pppoe", {"TxQueueLength": 600})
    assert not gdlib.policy_violations(netns, names, 100, txqlen=600)


def test_reload_changes_policy(netns, workdir, groupd_factory):
    daemon, root, names, _ = start(netns, workdir, groupd_factory)
    client = daemon.client
    r0, s0 = gdlib.netlink_counters(client)
    p0 = gdlib.kernel_paths(client)
    root.write_group("50-ppp.group", ppp_text(mtu=1280, txqlen=700,
                                              addresses=ADDRESSES + ("fd00::1/64",)))
    plan = gdlib.reload(client)
    entry = gdlib.plan_group(plan, 100)
    assert entry["change"] == {
        "MTU": {"to": 1280, "from": [{"value": 1400, "links": names}]},
        "TxQueueLength": {"to": 700, "from": [{"value": 500, "links": names}]},
    }, entry
    assert entry["addresses"] == [{"address": "fd00::1/64", "links": names}], entry
    assert not gdlib.policy_violations(netns, names, 100, mtu=1280, up=True, txqlen=700,
                                       addresses=ADDRESSES + ("fd00::1/64",))
    r1, s1 = gdlib.netlink_counters(client)
    # Both attributes in one group message or in one request per member (the
    # cost model's choice), one batch for the address.
    p1 = gdlib.kernel_paths(client)
    change = 1 if p1["group"] - p0["group"] == 1 else len(names)
    assert (r1 - r0, s1 - s0) == (change + 16, 2), (r1 - r0, s1 - s0, p0, p1)
    # An address the policy no longer names is left alone (never removed).
    root.write_group("50-ppp.group", ppp_text(mtu=1280, txqlen=700, addresses=()))
    gdlib.reload(client)
    assert all("10.0.0.1/24" in netns.addrs()[n] for n in names)


def test_sighup_reloads(netns, workdir, groupd_factory):
    daemon, root, names, vpns = start(netns, workdir, groupd_factory)
    client = daemon.client
    root.write_group("50-ppp.group", ppp_text(mtu=1300))
    root.write_group("60-vpn.group", vpn_text())
    os.kill(daemon.proc.pid, signal.SIGHUP)
    gdlib.wait_policy(netns, names, 100, timeout=10, **dict(PPP, mtu=1300))
    gdlib.wait_policy(netns, vpns, 200, timeout=10, mtu=1300)
    gdlib.wait_for(lambda: gdlib.group_object_exists(client, 200), 5, what="group 200's object")
    assert gdlib.group_policy(client, 100)["MTU"] == 1300
    assert daemon.alive()


def test_sighup_with_bad_config_keeps_running(netns, workdir, groupd_factory):
    daemon, root, names, _ = start(netns, workdir, groupd_factory)
    client = daemon.client
    root.write_group("50-ppp.group", ppp_text(mtu=1300, state="sideways"))
    before = gdlib.stable_snapshot(netns)
    os.kill(daemon.proc.pid, signal.SIGHUP)
    # The refusal is logged with the file, section, key and reason.
    message = f'{root.group_path("50-ppp.group")}: [Link] State: "sideways" is not "up" or "down"'
    gdlib.wait_for(lambda: message in daemon.log_tail(10**9), 10, what="the error in the log")
    assert daemon.alive()
    gdlib.assert_same_snapshot(before, gdlib.stable_snapshot(netns), "a SIGHUP with a bad file")
    assert gdlib.group_policy(client, 100)["MTU"] == 1400


def test_mask_with_empty_file(netns, workdir, groupd_factory):
    names = netns.add_ifbs(8)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2")
    root.write_group("50-ppp.group", ppp_text(), where="vendor")
    client = groupd_factory(config_root=root).client
    assert not gdlib.policy_violations(netns, names, 100, **PPP)

    root.mask_group("50-ppp.group", where="admin", how="empty")
    plan = gdlib.reload(client)
    assert plan == {"groups": []}, plan
    assert gdlib.get_plan(client) == {"groups": []}
    assert client.group_property(100, "Policy") == {}
    # Unmanaged now: the links keep their state, and drift stays.
    netns.ip("link", "set", "dev", "ifb2", "mtu", "9000")
    time.sleep(1.5)
    links = netns.links_by_name()
    assert links["ifb2"]["mtu"] == 9000
    assert not gdlib.policy_violations(netns, [n for n in names if n != "ifb2"], 100, **PPP)


def test_mask_with_devnull_symlink(netns, workdir, groupd_factory):
    names = netns.add_ifbs(4)
    vpns = netns.add_ifbs(4, prefix="vpn")
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2")
    root.write_group("50-ppp.group", ppp_text(), where="admin")
    root.mask_group("50-ppp.group", where="runtime", how="devnull")
    root.write_group("60-vpn.group", vpn_text(), where="vendor")
    client = groupd_factory(config_root=root).client
    # Masked from the start: ppp is not applied, vpn is.
    links = netns.links_by_name()
    assert [(links[n]["group_id"], links[n]["mtu"]) for n in names] == [(0, 1500)] * 4
    assert not gdlib.policy_violations(netns, vpns, 200, mtu=1300)
    assert not gdlib.group_object_exists(client, 100)

    # Unmasking applies it.
    root.remove_group("50-ppp.group", where="runtime")
    gdlib.reload(client)
    assert not gdlib.policy_violations(netns, names, 100, **PPP)
    # Masking the vendor file from /etc removes that policy only.
    root.mask_group("60-vpn.group", where="admin", how="devnull")
    gdlib.reload(client)
    assert [g["id"] for g in gdlib.get_plan(client)["groups"]] == [100]
    assert client.group_property(200, "Policy") == {}


def test_dry_run_makes_no_writes(netns, workdir, groupd_factory):
    daemon, root, names, vpns = start(netns, workdir, groupd_factory)
    client = daemon.client
    time.sleep(0.5)
    counters = gdlib.netlink_counters(client)
    snapshot = gdlib.stable_snapshot(netns)
    old_plan = gdlib.get_plan(client)
    old_policy = gdlib.group_policy(client, 100)

    root.write_group("50-ppp.group", ppp_text(mtu=1300, state="down",
                                              addresses=ADDRESSES + ("10.1.0.1/24",)))
    root.write_group("60-vpn.group", vpn_text())
    plan = gdlib.reload(client, 1)

    # What would change…
    ppp = gdlib.plan_group(plan, 100)
    assert ppp["desired"] == {"MTU": 1300, "State": "down", "TxQueueLength": 500}, ppp
    assert ppp["change"] == {"MTU": {"to": 1300, "from": [{"value": 1400, "links": names}]},
                             "State": {"to": "down", "from": [{"value": "up", "links": names}]}}
    assert ppp["addresses"] == [{"address": "10.1.0.1/24", "links": names}], ppp
    vpn = gdlib.plan_group(plan, 200)
    assert [m["link"] for m in vpn["moves"]] == vpns, vpn
    # …and nothing changed: no netlink write, same kernel, same config.
    time.sleep(1)
    assert gdlib.netlink_counters(client) == counters, "the dry run sent netlink requests"
    gdlib.assert_same_snapshot(snapshot, gdlib.stable_snapshot(netns), "Reload(1)")
    assert gdlib.get_plan(client) == old_plan
    assert gdlib.group_policy(client, 100) == old_policy
    assert not gdlib.group_object_exists(client, 200)

    # The old configuration still runs: a drift is repaired to it.
    netns.ip("link", "set", "dev", "ifb4", "mtu", "9000")
    gdlib.wait_policy(netns, ["ifb4"], 100, timeout=5, **PPP)

    # A dry run of the same files again gives the same plan; the real one applies it.
    assert gdlib.reload(client, 1) == plan
    gdlib.reload(client, 0)
    assert not gdlib.policy_violations(netns, names, 100, mtu=1300, up=False, txqlen=500,
                                       addresses=ADDRESSES + ("10.1.0.1/24",))
    assert not gdlib.policy_violations(netns, vpns, 200, mtu=1300)


def test_dry_run_with_drift_pending_and_repair_disabled(netns, workdir, groupd_factory):
    """A dry run with a drifted member (RepairDrift=no) shows the repair and
    does not make it."""
    names = netns.add_ifbs(8)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(repair_drift=False, debounce="0.2")
    root.write_group("50-ppp.group", ppp_text())
    client = groupd_factory(config_root=root).client
    netns.ip("link", "set", "dev", "ifb1", "mtu", "9000")
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 1, 5, what="Drifted 1")
    counters = gdlib.netlink_counters(client)
    snapshot = gdlib.stable_snapshot(netns)
    plan = gdlib.reload(client, 1)
    assert gdlib.plan_group(plan, 100)["change"] == {
        "MTU": {"to": 1400, "from": [{"value": 9000, "links": ["ifb1"]}]}}
    assert gdlib.netlink_counters(client) == counters
    gdlib.assert_same_snapshot(snapshot, gdlib.stable_snapshot(netns), "Reload(1)")


def test_reload_flags_and_access(netns, workdir, groupd_factory):
    daemon, root, names, _ = start(netns, workdir, groupd_factory)
    client = daemon.client
    counters = gdlib.netlink_counters(client)
    root.write_group("50-ppp.group", ppp_text(mtu=1300))
    for flags in (2, 3, 0x80000000):
        name, message = gdlib.reload_error(client, flags)
        assert name == gdlib.ERROR_PREFIX + "InvalidArgs", (flags, name, message)
    nobody = gdlib.Client(client.address, uid=gdlib.NOBODY)
    for flags in (0, 1):
        name, message = gdlib.reload_error(nobody, flags)
        assert name == gdlib.ERROR_PREFIX + "AccessDenied", (flags, name, message)
    # Plan() is a read: allowed.
    assert gdlib.plan_group(gdlib.get_plan(nobody), 100)["desired"]["MTU"] == 1400
    assert gdlib.netlink_counters(client) == counters
    assert not gdlib.policy_violations(netns, names, 100, **PPP)
    assert gdlib.group_policy(client, 100)["MTU"] == 1400


def test_reload_moves_links_between_groups(netns, workdir, groupd_factory):
    daemon, root, names, _ = start(netns, workdir, groupd_factory)
    client = daemon.client
    # ppp keeps ifb1*; the others go to a new group 200 listed after it.
    root.write_group("50-ppp.group", ppp_text(match={"Name": "ifb1*"}))
    root.write_group("60-rest.group", gdlib.policy_text(gid=200, match={"Name": "ifb*"},
                                                        mtu=1300))
    plan = gdlib.reload(client)
    keep = [n for n in names if n.startswith("ifb1")]
    move = [n for n in names if n not in keep]
    assert [(m["link"], m["from"]) for m in gdlib.plan_group(plan, 200)["moves"]] == [
        (n, 100) for n in move]
    assert not gdlib.policy_violations(netns, keep, 100, **PPP)
    # The moved ones keep what they had and get what group 200 says.
    assert not gdlib.policy_violations(netns, move, 200, mtu=1300, up=True, txqlen=500,
                                       addresses=ADDRESSES)
    assert client.group_property(100, "MemberCount") == len(keep)
    assert client.group_property(200, "MemberCount") == len(move)


def test_reload_refused_by_kernel(netns, workdir, groupd_factory):
    """The configuration is taken, the kernel refuses part of it:
    PartiallyApplied naming the kernel's reason; groupd retries with back-off."""
    daemon, root, names, _ = start(netns, workdir, groupd_factory, n=4)
    client = daemon.client
    root.write_group("50-ppp.group", ppp_text(mac="02:00:00:00:00:01"))
    name, message = gdlib.reload_error(client)
    assert name == gdlib.ERROR_PREFIX + "PartiallyApplied", (name, message)
    assert "Operation not supported" in message, message
    policy = gdlib.group_policy(client, 100)
    assert policy["MACAddress"] == "02:00:00:00:00:01"
    assert "Operation not supported" in client.group_property(100, "LastError")
    # Fixed by another reload: LastError clears.
    root.write_group("50-ppp.group", ppp_text())
    gdlib.reload(client)
    assert client.group_property(100, "LastError") == ""


def test_reload_unchanged_config_writes_nothing(netns, workdir, groupd_factory):
    daemon, root, names, _ = start(netns, workdir, groupd_factory)
    client = daemon.client
    counters = gdlib.netlink_counters(client)
    snapshot = gdlib.stable_snapshot(netns)
    plan = gdlib.reload(client)
    assert plan == gdlib.get_plan(client)
    entry = gdlib.plan_group(plan, 100)
    assert (entry["moves"], entry["change"], entry["addresses"]) == ([], None, []), entry
    assert gdlib.netlink_counters(client) == counters
    gdlib.assert_same_snapshot(snapshot, gdlib.stable_snapshot(netns), "a reload of the same files")


def test_reload_announces_group_objects(netns, workdir, groupd_factory):
    """A policy group without members appears and disappears with
    ObjectManager's InterfacesAdded / InterfacesRemoved."""
    daemon, root, names, _ = start(netns, workdir, groupd_factory)
    client = daemon.client
    with gdlib.Monitor(client.address, workdir) as monitor:
        root.write_group("70-spare.group",
                         gdlib.policy_text(gid=300, match={"Name": "none*"}, mtu=1400))
        gdlib.reload(client)
        gdlib.wait_for(lambda: [h for m, h, _ in monitor.signals()
                                if m == "InterfacesAdded"], 5, what="InterfacesAdded")
        added = [b for m, _, b in monitor.signals() if m == "InterfacesAdded"]
        assert any("/net/groupd1/group/300" in b for b in added), added
        monitor.mark()
        root.remove_group("70-spare.group")
        gdlib.reload(client)
        gdlib.wait_for(lambda: [h for m, h, _ in monitor.signals()
                                if m == "InterfacesRemoved"], 5, what="InterfacesRemoved")
        removed = [b for m, _, b in monitor.signals() if m == "InterfacesRemoved"]
        assert any("/net/groupd1/group/300" in b for b in removed), removed
    assert not gdlib.group_object_exists(client, 300)


def test_concurrent_reloads_both_return_the_plan(netns, workdir, groupd_factory):
    """A Reload that arrives while another one's apply runs (2048 UP members
    change MTU: long on a stock kernel) still returns a plan."""
    names = netns.add_ifbs(2048)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2")
    root.write_group("50-ppp.group", ppp_text(addresses=("fd00::1/64",)))
    client = groupd_factory(config_root=root).client
    root.write_group("50-ppp.group", ppp_text(mtu=1280, addresses=("fd00::1/64",)))
    cmd = ["busctl", f"--address={client.address}", "--json=short", "--timeout=100", "call",
           gdlib.BUS_NAME, gdlib.MANAGER_PATH, gdlib.MANAGER_IFACE, "Reload", "u", "0"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.05)
    second = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(json.loads(out)["data"][0]))
    for plan in results:
        assert "groups" in plan, f"Reload returned {plan!r}, not a plan"
        gdlib.plan_group(plan, 100)
    assert gdlib.plan_group(results[0], 100)["change"]["MTU"]["to"] == 1280
    assert not gdlib.policy_violations(netns, names, 100, mtu=1280, up=True, txqlen=500)


def test_reload_changes_daemon_settings(netns, workdir, groupd_factory):
    """RepairDrift= in groupd.conf takes effect on reload."""
    daemon, root, names, _ = start(netns, workdir, groupd_factory)
    client = daemon.client
    root.daemon_conf(repair_drift=False, debounce="0.2")
    gdlib.reload(client)
    netns.ip("link", "set", "dev", "ifb2", "mtu", "9000")
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 1, 5, what="Drifted 1")
    gdlib.stays(lambda: netns.links_by_name()["ifb2"]["mtu"] == 9000, 1.5,
                what="ifb2 not repaired with RepairDrift=no")
    root.daemon_conf(repair_drift=True, debounce="0.2")
    gdlib.reload(client)
    assert netns.links_by_name()["ifb2"]["mtu"] == 1400
    netns.ip("link", "set", "dev", "ifb3", "mtu", "9000")
    gdlib.wait_policy(netns, ["ifb3"], 100, timeout=5, **PPP)

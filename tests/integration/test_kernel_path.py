# SPDX-License-Identifier: LGPL-2.1-or-later
"""The kernel path of a group change: one group message, or one message per
member in chunks. Both give the same kernel state, the same errors (the
member the kernel stopped at, what changed and what did not) and the same
signals; the cost model picks per-link messages where the group message
would walk the IPv6 FIB twice per member, and says so in the log, in Plan()
and in the Manager's KernelPaths counter. No timing is asserted here: the
times are the benchmark's (tests/bench/bench-up.py)."""

import re
import subprocess

import pytest

import gdlib

MAC = "02:00:00:00:00:01"
PATHS = ("group", "per-link")


def member_state(netns, gid=100):
    """What a group change touches, per member, from the kernel."""
    return {l["ifname"]: (l["mtu"], gdlib.is_up(l), l["address"], l["txqlen"])
            for l in netns.links() if l["group_id"] == gid}


def mixed_group(netns):
    """Group 100, in ifindex order two ifb, a veth pair, two ifb, … (three
    times): ifb takes any MTU but keeps its MAC address, veth takes a MAC
    address but no MTU above 65535. Returns the names in ifindex order."""
    for i in range(3):
        netns.add_ifbs(2, start=2 * i, group=100)
        netns.add_veth_pairs(1, prefix=f"va{i}_", peer_prefix=f"vb{i}_", group=100)
    order = [l["ifname"] for l in sorted(netns.links(), key=lambda l: l["ifindex"])
             if l["group_id"] == 100]
    assert len(order) == 12 and order[:2] == ["ifb0", "ifb1"], order
    assert order[2].startswith("v") and order[3].startswith("v"), order
    return order


def reset(netns, names):
    """The state every run starts from, whatever the last one left."""
    netns.batch([f"link set dev {n} down mtu 1500 txqueuelen 1000" for n in names])
    for i, n in enumerate(names):
        if n.startswith("v"):
            netns.ip("link", "set", "dev", n, "address", f"02:aa:00:00:{i >> 8:02x}:{i & 255:02x}")


# (props, the D-Bus error expected or None): each runs on both paths.
SCENARIOS = {
    "mtu": ({"MTU": 9000}, None),
    "state-up-then-mtu": ({"State": "up", "MTU": 1400, "TxQueueLength": 64}, None),
    # veth refuses MTU 70000: the kernel stops at the first veth, ifb0 and
    # ifb1 keep it.
    "mtu-refused-part-way": ({"MTU": 70000}, "PartiallyApplied"),
    # ifb refuses any MAC address: the kernel stops at ifb0, nothing changed.
    "mac-refused-at-the-first": ({"MACAddress": MAC}, "Kernel"),
}


def run_scenario(netns, groupd_factory, workdir, names, path, props, error):
    reset(netns, names)
    # Validation would refuse MTU 70000 before sending: this is about what
    # the kernel does.
    daemon = groupd_factory(f"--kernel-path={path}", "--test-skip-validation")
    client = daemon.client
    before = gdlib.kernel_paths(client)
    with gdlib.Monitor(client.address, workdir) as monitor:
        if error is None:
            client.set_group("100", props)
            message = None
        else:
            types = {"MTU": "u", "MACAddress": "s", "State": "s", "TxQueueLength": "u"}
            text = ", ".join(f"'{k}': <{'uint32 ' if types[k] == 'u' else ''}"
                             f"{v if types[k] == 'u' else gdlib.gv_str(v)}>"
                             for k, v in props.items())
            message = client.expect_error(error, "SetGroup", "'100'", f"{{{text}}}",
                                          "@a{sv} {}")
        monitor.settle(quiet=1.0)
        signals = monitor.signals()
    after = gdlib.kernel_paths(client)
    assert after[path] == before[path] + 1, (path, before, after)
    log = daemon.log_path.read_text()
    words = "one group message" if path == "group" else "per-link messages"
    assert re.search(rf"group 100: group change of \d+ links by {words}", log), log[-3000:]
    gdlib.assert_cache_matches_kernel(netns, client)
    daemon.terminate()
    return member_state(netns), message, signals, log


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_both_paths_same_result(netns, groupd_factory, workdir, scenario):
    props, error = SCENARIOS[scenario]
    names = mixed_group(netns)
    results = {p: run_scenario(netns, groupd_factory, workdir, names, p, props, error)
               for p in PATHS}
    state = {p: results[p][0] for p in PATHS}
    assert state["group"] == state["per-link"], (
        "the kernel state differs between the paths:\n"
        + "\n".join(f"  {n}: group {state['group'][n]} per-link {state['per-link'].get(n)}"
                    for n in names if state["group"][n] != state["per-link"].get(n)))
    assert results["group"][1] == results["per-link"][1], (results["group"][1],
                                                           results["per-link"][1])
    for p in PATHS:
        signals = results[p][2]
        assert len(signals) <= 3, (p, [s[0] for s in signals])
    if scenario == "mtu-refused-part-way":
        # What the group message did: the members before the refusing one.
        assert [n for n in names if state["group"][n][0] == 70000] == ["ifb0", "ifb1"]
        assert f"stopped at {names[2]}" in results["group"][1], results["group"][1]
    elif scenario == "mac-refused-at-the-first":
        assert all(state["group"][n][2] != MAC for n in names)
    else:
        want = props.get("MTU")
        assert all(s[0] == want for s in state["group"].values()), state["group"]


def test_refusal_in_the_middle_of_a_large_group(netns, groupd_factory, workdir):
    """1402 members, a veth pair in the middle of the kernel's order: the
    per-link messages go out in the order the kernel finds their devices
    (by the index's low eight bits), so members after the veth are changed
    before its refusal arrives, and only the last message of a chunk asks
    for an ack, so the refusal comes unasked. The result is still the group
    message's: every member before the veth changed, none from it on, the
    same error naming the same member."""
    ifbs = netns.add_ifbs(700, group=100)
    netns.add_veth_pairs(1, prefix="vm", peer_prefix="vn", group=100)
    ifbs += netns.add_ifbs(700, start=700, group=100)
    names = [l["ifname"] for l in sorted(netns.links(), key=lambda l: l["ifindex"])
             if l["group_id"] == 100]
    first_veth = min(names.index("vm0"), names.index("vn0"))
    assert first_veth == 700 and {names[700], names[701]} == {"vm0", "vn0"}, names[698:703]
    results = {p: run_scenario(netns, groupd_factory, workdir, names, p, {"MTU": 70000},
                               "PartiallyApplied") for p in PATHS}
    state = {p: results[p][0] for p in PATHS}
    assert state["group"] == state["per-link"], [
        (n, state["group"][n], state["per-link"][n]) for n in names
        if state["group"][n] != state["per-link"][n]][:10]
    assert [n for n in names if state["per-link"][n][0] == 70000] == names[:first_veth]
    assert results["group"][1] == results["per-link"][1]
    assert f"stopped at {names[first_veth]}" in results["per-link"][1], results["per-link"][1]
    # Several chunks, and members after the veth were changed and set back.
    sends = re.search(r"group change of \d+ links by per-link messages \(\d+ in (\d+) sends, "
                      r"the longest [0-9.]+ ms, the changes after the refusal taken back\)",
                      results["per-link"][3])
    assert sends and int(sends.group(1)) >= 2, results["per-link"][3][-2000:]


def test_up_links_with_ipv6_go_per_link(netns, groupd_factory):
    """512 UP links with IPv6: a group message would walk the FIB twice per
    member, per-link messages once; 8 DOWN links: one group message. The
    first choice of a fresh daemon comes from the default costs."""
    up = netns.add_ifbs(512, group=100)
    netns.ip("link", "set", "group", "100", "up")
    down = netns.add_ifbs(8, prefix="dn", group=200)
    daemon = groupd_factory()
    client = daemon.client
    assert gdlib.kernel_paths(client) == {"group": 0, "per-link": 0}
    client.set_group("100", {"MTU": 1400})
    assert gdlib.kernel_paths(client) == {"group": 0, "per-link": 1}
    client.set_group("200", {"MTU": 1400})
    assert gdlib.kernel_paths(client) == {"group": 1, "per-link": 1}
    links = netns.links_by_name()
    assert all(links[n]["mtu"] == 1400 for n in up + down)
    log = daemon.log_path.read_text()
    assert re.search(r"group 100: group change of 512 links by per-link messages \(512 in \d+ "
                     r"sends", log), log[-3000:]
    assert "group 200: group change of 8 links by one group message" in log
    # Moves are per link always.
    client.set_link_group(down, "300")
    assert gdlib.kernel_paths(client) == {"group": 1, "per-link": 2}


def test_plan_names_the_path(netns, workdir, groupd_factory):
    """Plan() shows, per group, how each pending operation would reach the
    kernel and why."""
    names = netns.add_ifbs(256, group=100)
    netns.ip("link", "set", "group", "100", "up")
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(repair_drift=False)
    root.write_group("50-ppp.group", gdlib.policy_text(gid=100, match={"Name": "ifb*"},
                                                       mtu=1400))
    client = groupd_factory(config_root=root).client
    assert not gdlib.policy_violations(netns, names, 100, mtu=1400)
    # Drift nobody repairs (RepairDrift=no): the plan keeps it.
    netns.ip("link", "set", "dev", "ifb7", "mtu", "9000")
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 1, 5, what="Drifted 1")
    kernel = gdlib.plan_group(gdlib.get_plan(client), 100)["kernel"]
    assert set(kernel) == {"moves", "change", "addresses"}, kernel
    assert (kernel["moves"], kernel["addresses"]) == (None, []), kernel
    change = kernel["change"]
    assert set(change) == {"path", "messages", "chunk", "expected_ms", "hold_ms", "group_ms",
                           "per_link_ms", "reason"}, change
    # One member lacks the MTU: one message, against a group message that
    # re-applies the group to 256 UP members (a FIB walk each).
    assert (change["path"], change["messages"]) == ("per-link", 1), change
    assert change["group_ms"] > change["per_link_ms"] > 0, change
    assert 0 < change["hold_ms"] < 100, change
    assert change["chunk"] >= 1
    assert change["reason"] == "per-link messages cost the kernel less", change


def test_forced_path_in_the_plan(netns, workdir, groupd_factory):
    names = netns.add_ifbs(16, group=100)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(repair_drift=False)
    root.write_group("50-ppp.group", gdlib.policy_text(gid=100, match={"Name": "ifb*"},
                                                       mtu=1400))
    client = groupd_factory("--kernel-path=per-link", config_root=root).client
    assert not gdlib.policy_violations(netns, names, 100, mtu=1400)
    assert gdlib.kernel_paths(client) == {"group": 0, "per-link": 1}
    netns.ip("link", "set", "dev", "ifb3", "mtu", "9000")
    gdlib.wait_for(lambda: client.group_property(100, "Drifted") == 1, 5, what="Drifted 1")
    change = gdlib.plan_group(gdlib.get_plan(client), 100)["kernel"]["change"]
    assert (change["path"], change["messages"], change["reason"]) == ("per-link", 1, "forced")


def test_bad_kernel_path_option(netns, bus):
    from conftest import groupd_bin
    r = gdlib.run(netns.exec_cmd(str(groupd_bin()), "--kernel-path=sideways",
                                 f"--bus-address={bus.address}"), check=False)
    assert r.returncode == 2, r
    assert "--kernel-path must be auto, group or per-link" in r.stderr


def test_group_message_measured_again(netns, groupd_factory):
    """The calibration learns a path's cost only from operations sent that
    way. 256 UP links with IPv6 and a new queue length: per-link messages
    by the default costs (the group message re-applies the group, a FIB
    walk per member); after 16 such operations the group message is taken
    once to measure it again, and says so; then per-link messages again.
    Both leave the kernel exact. The daemon keeps its default costs
    (--test-default-costs): what it measures on a loaded machine would
    otherwise move the choice (the unit tests cover the calibration)."""
    names = netns.add_ifbs(256, group=100)
    netns.ip("link", "set", "group", "100", "up")
    daemon = groupd_factory("--test-default-costs")
    client = daemon.client
    for i in range(16):
        client.set_group("100", {"TxQueueLength": 500 + i})
        assert gdlib.kernel_paths(client) == {"group": 0, "per-link": i + 1}
    client.set_group("100", {"TxQueueLength": 700})
    assert gdlib.kernel_paths(client) == {"group": 1, "per-link": 16}
    links = netns.links_by_name()
    assert all(links[n]["txqlen"] == 700 for n in names)
    log = daemon.log_path.read_text()
    assert re.search(r"group 100: group change of 256 links by one group message: .*"
                     r"the group message, measured again after per-link messages were chosen "
                     r"as cheaper", log), log[-3000:]
    assert len(re.findall(r"group 100: group change of 256 links by per-link messages", log)) == 16
    client.set_group("100", {"TxQueueLength": 800})
    assert gdlib.kernel_paths(client) == {"group": 1, "per-link": 17}
    assert all(l["txqlen"] == 800 for l in netns.links() if l["group_id"] == 100)
    gdlib.assert_cache_matches_kernel(netns, client)


def test_queue_length_of_up_links_goes_per_link(netns, groupd_factory):
    """A new queue length deactivates each UP device around its qdisc's
    resize, five times an MTU change's cost: for 2048 UP links the group
    message would hold RTNL near 100 ms, so per-link messages; the same
    links DOWN take the group message. The model's own costs
    (--test-default-costs): what the first change measures on a loaded
    machine can tip the second one, which is a near tie once calibrated."""
    subprocess.run(netns.exec_cmd("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"),
                   check=True)
    up = netns.add_ifbs(2048, group=100)
    netns.ip("link", "set", "group", "100", "up")
    down = netns.add_ifbs(2048, prefix="dn", group=200)
    daemon = groupd_factory("--test-default-costs")
    client = daemon.client
    client.set_group("100", {"TxQueueLength": 500})
    assert gdlib.kernel_paths(client) == {"group": 0, "per-link": 1}
    client.set_group("200", {"TxQueueLength": 500})
    assert gdlib.kernel_paths(client) == {"group": 1, "per-link": 1}
    links = netns.links_by_name()
    assert all(links[n]["txqlen"] == 500 for n in up + down)
    log = daemon.log_path.read_text()
    assert re.search(r"group 100: group change of 2048 links by per-link messages .*: a group "
                     r"message would hold RTNL too close to 100 ms or longer", log), log[-3000:]
    assert "group 200: group change of 2048 links by one group message" in log
    gdlib.assert_cache_matches_kernel(netns, client)

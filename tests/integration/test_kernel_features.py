# SPDX-License-Identifier: LGPL-2.1-or-later
"""Manager.KernelFeatures, and what groupd does with each feature of the
patched kernel (kernel/patches) against its fallback on a stock kernel.

Runs on the host (a stock kernel) and in both QEMU guests: kernel/run-vm
sets GROUPD_TEST_KERNEL to the variant it booted ("stock" or "patched");
unset means the host, a stock kernel. Each test checks the path the
kernel has, and on the patched kernel also the fallback, forced with
groupd's --ignore-kernel-features. groupd finds the features by what the
kernel does (no feature file), and its probes change nothing."""

import os
import subprocess
import time

import gdlib
from conftest import groupd_bin

ALL_FEATURES = ["group-notify", "group-dump", "validate"]
# The 6.1 series' feature sysctl; the current series has none.
OLD_SYSCTL = "/proc/sys/net/core/group_ops_features"


def variant():
    value = os.environ.get("GROUPD_TEST_KERNEL", "stock")
    assert value in ("stock", "patched"), f"GROUPD_TEST_KERNEL={value!r}"
    return value


def patched():
    return variant() == "patched"


def features(client):
    return client.manager_property("KernelFeatures")


def test_kernel_features_match_the_kernel(netns, groupd_factory):
    netns.add_ifbs(2)
    netns.add_veth_pairs(1)
    before = netns.snapshot()
    client = groupd_factory().client
    expected = ALL_FEATURES if patched() else []
    assert features(client) == expected
    # The probes left every link and address as it was.
    gdlib.assert_same_snapshot(before, netns.snapshot(), "probing the kernel")
    # Found by behaviour: there is no feature file on either kernel.
    proc = subprocess.run(netns.exec_cmd("cat", OLD_SYSCTL), capture_output=True, text=True)
    assert proc.returncode != 0 and "No such file" in proc.stderr, proc


def test_group_notify_probe_needs_a_down_link(netns, groupd_factory):
    """group-notify is probed on a DOWN link (lo, or another one) by setting
    the group it has; with every link UP nothing can be asked without a
    change, and groupd does without the feature."""
    netns.add_ifbs(2)
    netns.ip("link", "set", "lo", "up")
    before = netns.snapshot()
    daemon = groupd_factory()
    assert ("group-notify" in features(daemon.client)) == patched()
    gdlib.assert_same_snapshot(before, netns.snapshot(), "probing with lo UP")
    daemon.terminate()
    # Every link, also a fallback tunnel a module put in every namespace (sit0).
    for link in netns.links():
        netns.ip("link", "set", link["ifname"], "up")
    daemon = groupd_factory()
    assert "group-notify" not in features(daemon.client)
    expected = ["group-dump", "validate"] if patched() else []
    assert features(daemon.client) == expected
    log = daemon.log_path.read_text(errors="replace")
    assert "no DOWN link to probe group notifications with" in log, log[-3000:]


def test_ignored_features_and_a_bad_name(netns, groupd_factory):
    daemon = groupd_factory("--ignore-kernel-features=all")
    assert features(daemon.client) == []
    daemon.terminate()
    client = groupd_factory("--ignore-kernel-features=group-dump,validate").client
    expected = [f for f in ALL_FEATURES if f not in ("group-dump", "validate")] if patched() else []
    assert features(client) == expected
    for name in ("warp-drive", "notify-batch"):
        proc = subprocess.run(
            netns.exec_cmd(str(groupd_bin()), f"--ignore-kernel-features={name}"),
            capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2
        assert f'unknown feature "{name}"' in proc.stderr, proc.stderr


def test_down_links_moved_by_groupd(netns, groupd_factory):
    """Both paths: events (group-notify), or the kernel's acks."""
    names = netns.add_ifbs(256)
    runs = [()]
    if patched():
        runs.append(("--ignore-kernel-features=group-notify",))
    for run, args in enumerate(runs):
        daemon = groupd_factory(*args)
        client = daemon.client
        target = str(100 + run)
        assert client.set_link_group(names, target) == len(names)
        # Straight after the reply: no waiting.
        gdlib.assert_cache_matches_kernel(netns, client)
        assert client.get_link(names[-1])["Group"] == 100 + run
        # Without group-notify the kernel's acks are the record: no link
        # is read back one by one.
        log = daemon.log_path.read_text(errors="replace")
        assert "others one by one" not in log or " 0 others one by one" in log, log[-3000:]
        daemon.terminate()


def test_down_link_moved_by_someone_else(netns, groupd_factory):
    """group-notify: a DOWN link's move by `ip` reaches the cache. A stock
    kernel announces nothing (the limitation the patch removes)."""
    netns.add_ifbs(4)
    client = groupd_factory().client
    netns.ip("link", "set", "dev", "ifb2", "group", "7")
    if patched():
        gdlib.wait_for(lambda: client.get_link("ifb2")["Group"] == 7, 10,
                       what="the move of a down link to appear in the cache")
        gdlib.assert_cache_matches_kernel(netns, client)
    else:
        time.sleep(1.5)
        assert client.get_link("ifb2")["Group"] == 0, "a stock kernel announced the move"


def test_foreign_group_change_reaches_the_cache(netns, groupd_factory, workdir):
    """Someone else's group MTU change on 512 UP links: no kernel marks its
    end, so groupd publishes as the burst pauses; every member's change is
    in what it published, and its cache matches the kernel."""
    names = netns.add_ifbs(512, group=100)
    netns.ip("link", "set", "group", "100", "up")
    client = groupd_factory().client
    time.sleep(2)  # the tail of bringing them up (IPv6 link-local addresses)
    with gdlib.Monitor(client.address, workdir) as monitor:
        netns.ip("link", "set", "group", "100", "mtu", "1400")
        gdlib.wait_for(lambda: all(l["MTU"] == 1400 for l in [client.get_link(names[-1])]), 20,
                       what="the MTU change in the cache")
        monitor.settle(quiet=1.0)
        signals = monitor.signals()
    published = [m for m, _, _ in signals].count("LinksChanged")
    changed = gdlib.changed_links(signals)
    assert published >= 1
    assert {c[1] for c in changed} == set(names)
    assert all(c[3] == 1400 for c in changed if c[1] in names)
    gdlib.assert_cache_matches_kernel(netns, client)


def addresses_of(netns, names, address):
    addrs = netns.addrs()
    return [n for n in names if address in addrs[n]]


def test_group_address_per_member(netns, groupd_factory):
    """AddGroupAddress and RemoveGroupAddress on 2048 members send one
    request per member, in one sendmsg."""
    n = 2048
    names = netns.add_ifbs(n, group=100)
    client = groupd_factory().client
    for address in ("10.7.0.1/24", "fd07::1/64"):
        before = gdlib.netlink_counters(client)[0]
        client.add_group_address("100", address)
        assert gdlib.netlink_counters(client)[0] - before == n
        having = set(addresses_of(netns, names, address))
        missing = [x for x in names if x not in having]
        assert not missing, f"{len(missing)} members without {address}: {missing[:5]}"
        gdlib.assert_cache_matches_kernel(netns, client)
    for address in ("10.7.0.1/24", "fd07::1/64"):
        before = gdlib.netlink_counters(client)[0]
        client.remove_group_address("100", address)
        assert gdlib.netlink_counters(client)[0] - before == n
        assert addresses_of(netns, names, address) == []
    gdlib.assert_cache_matches_kernel(netns, client)
    assert client.get_link(names[0])["Addresses"] == []


def test_group_address_refused_by_one_member(netns, groupd_factory):
    """IPv6 disabled on one member: the others get the address, and the
    reply names the member that refused (PartiallyApplied)."""
    names = netns.add_ifbs(64, group=100)
    netns.ip("link", "set", "group", "100", "up")
    subprocess.run(netns.exec_cmd("sysctl", "-qw", f"net.ipv6.conf.{names[10]}.disable_ipv6=1"),
                   check=True)
    client = groupd_factory().client
    got, message = client.gdbus("AddGroupAddress", "'100'", "'fd09::1/64'", "@a{sv} {}")
    assert got == gdlib.ERROR_PREFIX + "PartiallyApplied", (got, message)
    assert names[10] in message, message
    assert len(addresses_of(netns, names, "fd09::1/64")) == len(names) - 1
    gdlib.assert_cache_matches_kernel(netns, client)


def test_lost_answers_read_back_by_one_dump(netns, groupd_factory):
    """group-dump: links whose answers were lost are read back by one dump
    filtered by the group; on a stock kernel by one dump of all links. (The
    request socket is made to overrun; group-notify, which would make the
    read-back unnecessary, is ignored.)"""
    names = netns.add_ifbs(4096)
    daemon = groupd_factory("--test-request-rcvbuf=4096",
                            "--ignore-kernel-features=group-notify")
    assert daemon.client.set_link_group(names, "100") == len(names)
    gdlib.assert_cache_matches_kernel(netns, daemon.client)
    log = daemon.log_path.read_text(errors="replace")
    assert "answers for" in log, "no answer was lost: the test proves nothing"
    if patched():
        assert "members by one filtered dump" in log, log[-3000:]
    else:
        assert "links by one link dump" in log, log[-3000:]
        assert "filtered dump" not in log

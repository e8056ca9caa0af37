# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hot-plug without the drift debounce: a link that appears and matches a
policy is configured at once (its own move, attributes and addresses, one
message each, nothing sent to the other members), a burst goes in a few
batches with few signals each, links no policy names stay untouched, a link
deleted before its batch ran causes no error, and drift repair still waits
for its debounce. The latencies are the benchmark's
(tests/bench/bench-hotplug.py), not asserted here."""

import re
import time

import gdlib

ADDRESSES = ("10.0.0.1/24", "fd00::1/64")
POLICY = dict(mtu=1492, up=True, txqlen=500, addresses=ADDRESSES)
# Long enough that anything waiting for it fails the waits below.
DEBOUNCE = "60"


def start(netns, workdir, groupd_factory, existing=64):
    """existing ppp links in the policy's group already (UP, configured),
    and other links no policy names."""
    old = netns.add_ifbs(existing, prefix="ppp", group=100)
    netns.batch([f"link set dev {n} mtu 1492 txqueuelen 500 up" for n in old])
    others = netns.add_ifbs(8, prefix="eth")
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce=DEBOUNCE)
    root.write_group("50-ppp.group",
                     gdlib.policy_text(gid=100, name="ppp", match={"Name": "ppp*"}, mtu=1492,
                                       state="up", txqlen=500, addresses=ADDRESSES))
    daemon = groupd_factory(config_root=root)
    gdlib.wait_policy(netns, old, 100, timeout=20, **POLICY)
    time.sleep(3.5)  # past the start's settle window
    return daemon, old, others


def hotplug_rounds(log):
    return [int(m) for m in re.findall(r"apply \(hot-plug\): \d+ operations for (\d+) new links",
                                       log)]


def test_lone_link_without_the_debounce(netns, workdir, groupd_factory):
    daemon, old, _ = start(netns, workdir, groupd_factory)
    client = daemon.client
    # A drifted member: the debounce (60 s) holds its repair.
    netns.ip("link", "set", "dev", old[3], "mtu", "9000")
    r0, s0 = gdlib.netlink_counters(client)
    p0 = gdlib.kernel_paths(client)
    netns.ip("link", "add", "ppp900", "type", "ifb")
    gdlib.wait_policy(netns, ["ppp900"], 100, timeout=10, **POLICY)
    time.sleep(1)
    # Its move, its attributes (one per-link message), its two addresses.
    assert gdlib.netlink_counters(client) == (r0 + 4, s0 + 3)
    p1 = gdlib.kernel_paths(client)
    assert (p1["group"] - p0["group"], p1["per-link"] - p0["per-link"]) == (0, 3), (p0, p1)
    # The drift waits for its debounce; the other members got nothing.
    assert netns.links_by_name()[old[3]]["mtu"] == 9000
    assert hotplug_rounds(daemon.log_path.read_text())[-1] == 1
    assert client.group_property(100, "LastError") == ""


def test_burst_every_link_configured(netns, workdir, groupd_factory):
    daemon, old, others = start(netns, workdir, groupd_factory)
    client = daemon.client
    before = netns.snapshot()
    with gdlib.Monitor(client.address, workdir) as monitor:
        new = netns.add_ifbs(500, prefix="ppp", start=1000)
        gdlib.wait_policy(netns, new, 100, timeout=60, **POLICY)
        monitor.settle(quiet=1.5)
        signals = monitor.signals()
    rounds = hotplug_rounds(daemon.log_path.read_text())
    assert sum(rounds) == 500, rounds
    # Batches, not one round per link, and a bounded number of signals per
    # batch: each publishes once (the kernel's tail after the last, once),
    # a LinksChanged and PropertiesChanged of the Manager (LinkCount) and of
    # the two groups the links left and joined.
    assert len(rounds) <= 50, rounds
    where = [(s[0], re.search(r"path=([^;\s]+)", s[1]).group(1)) for s in signals]
    assert sum(1 for s in where if s[0] == "LinksChanged") <= len(rounds) + 1, where
    assert len(signals) <= 4 * (len(rounds) + 1), (len(rounds), where)
    # Nothing else was touched.
    after = netns.snapshot()
    for name in old + others + netns.base:
        assert before["links"][name] == after["links"][name], name
        assert before["addrs"].get(name) == after["addrs"].get(name), name
    gdlib.wait_for(lambda: client.group_property(100, "MemberCount") == len(old) + 500, 10,
                   what="MemberCount")
    gdlib.wait_for(lambda: gdlib.cache_matches_kernel(netns, client), 10,
                   what="the cache to match the kernel")
    assert client.group_property(100, "LastError") == ""


def test_links_deleted_before_their_batch(netns, workdir, groupd_factory):
    """Links created and deleted in one burst: those gone by the time their
    batch reaches the kernel are neither an error nor a warning."""
    daemon, _, _ = start(netns, workdir, groupd_factory, existing=16)
    client = daemon.client
    lines = []
    for i in range(400):
        lines.append(f"link add ppp{2000 + i} type ifb")
        if i % 3 == 2:
            lines.append(f"link del ppp{2000 + i - 1}")
    netns.batch(lines)
    kept = [f"ppp{2000 + i}" for i in range(400) if i % 3 != 1]
    gdlib.wait_policy(netns, kept, 100, timeout=60, **POLICY)
    time.sleep(1.5)
    log = daemon.log_path.read_text()
    warnings = [l for l in log.splitlines() if "WARNING" in l or "CRITICAL" in l]
    assert not warnings, warnings[:10]
    assert client.group_property(100, "LastError") == ""
    assert daemon.alive()


def test_renamed_link_joins(netns, workdir, groupd_factory):
    """A link renamed into a policy's names (as udev renames new links) is
    hot-plugged too."""
    daemon, _, _ = start(netns, workdir, groupd_factory, existing=4)
    netns.ip("link", "add", "tmp0", "type", "ifb")
    time.sleep(0.5)
    assert netns.links_by_name()["tmp0"]["group_id"] == 0
    netns.ip("link", "set", "dev", "tmp0", "name", "ppp777")
    gdlib.wait_policy(netns, ["ppp777"], 100, timeout=10, **POLICY)

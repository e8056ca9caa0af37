# SPDX-License-Identifier: LGPL-2.1-or-later
"""groupd keeps only CAP_NET_ADMIN once it runs, even when started as root
with every capability, and still does its work with it."""

from pathlib import Path

CAP_NET_ADMIN = 1 << 12


def capabilities(pid):
    caps = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            caps[key] = int(value.strip(), 16)
    return caps


def all_threads(pid):
    return [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]


def test_only_net_admin_after_start(netns, groupd_factory):
    """Capabilities are per thread: every thread of groupd (its own, GDBus's,
    GLib's, the executor's) must have dropped them."""
    netns.add_ifbs(4, group=100)
    groupd = groupd_factory()
    # An operation starts the executor's worker thread too.
    groupd.client.set_group("100", {"TxQueueLength": 100})
    threads = all_threads(groupd.proc.pid)
    assert len(threads) >= 3, threads
    for tid in threads:
        caps = capabilities(f"{groupd.proc.pid}/task/{tid}")
        assert caps == {
            "CapInh": 0,
            "CapPrm": CAP_NET_ADMIN,
            "CapEff": CAP_NET_ADMIN,
            "CapBnd": CAP_NET_ADMIN,
            "CapAmb": 0,
        }, f"thread {tid}: {caps}"
    # Every kind of kernel request still goes through.
    groupd.client.set_group("100", {"MTU": 1400, "State": "up"})
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {1400}
    assert groupd.client.set_link_group(["ifb0"], "200") == 1
    assert [l["group_id"] for l in netns.links() if l["ifname"] == "ifb0"] == [200]

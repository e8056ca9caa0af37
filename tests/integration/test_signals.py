# SPDX-License-Identifier: LGPL-2.1-or-later
"""Signal budget: one group operation on 2048 members puts at most 3 signals
on the bus, counted with dbus-monitor."""

import gdlib

N = 2048
BUDGET = 3


def describe(signals):
    return [(member, header.split("path=")[-1]) for member, header, _ in signals]


def test_set_group_signal_budget(netns, groupd_factory, workdir):
    names = netns.add_ifbs(N, group=100)
    client = groupd_factory().client
    indexes = {l["ifname"]: l["ifindex"] for l in netns.links()}
    with gdlib.Monitor(client.address, workdir) as monitor:
        client.set_group("100", {"MTU": 1400})
        monitor.settle(quiet=1.0)
        signals = monitor.signals()
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {1400}
    assert 1 <= len(signals) <= BUDGET, f"{len(signals)} signals: {describe(signals)[:20]}"
    assert [m for m, _, _ in signals].count("LinksChanged") == 1, describe(signals)
    changed = gdlib.changed_links(signals)
    assert len(changed) == N
    assert {c[0] for c in changed} == {indexes[n] for n in names}
    assert all(c[2] == 100 and c[3] == 1400 for c in changed), changed[:5]
    assert sorted(c[1] for c in changed) == sorted(names)


def test_set_link_group_signal_budget(netns, groupd_factory, workdir):
    names = netns.add_ifbs(N)
    client = groupd_factory().client
    indexes = {l["ifname"]: l["ifindex"] for l in netns.links()}
    with gdlib.Monitor(client.address, workdir) as monitor:
        assert client.set_link_group(names, "200") == N
        monitor.settle(quiet=1.0)
        signals = monitor.signals()
    assert all(l["group_id"] == 200 for l in netns.links() if l["ifname"] not in netns.base)
    assert 1 <= len(signals) <= BUDGET, f"{len(signals)} signals: {describe(signals)[:20]}"
    # The new group's object is announced.
    assert any(m == "InterfacesAdded" and "/net/groupd1/group/200" in body
               for m, _, body in signals), describe(signals)
    changed = gdlib.changed_links(signals)
    assert len(changed) == N
    assert {c[0] for c in changed} == {indexes[n] for n in names}
    assert all(c[2] == 200 for c in changed), changed[:5]

    # And back into a group that exists: its object changes, the emptied one goes.
    with gdlib.Monitor(client.address, workdir) as monitor:
        assert client.set_link_group(names, "100") == N
        monitor.settle(quiet=1.0)
        signals = monitor.signals()
    assert 1 <= len(signals) <= BUDGET, describe(signals)
    assert len(gdlib.changed_links(signals)) == N
    gdlib.assert_cache_matches_kernel(netns, client)


def test_set_group_state_up_signal_budget(netns, groupd_factory, workdir):
    """Up on 2048 DOWN members: the kernel sends two notifications per member
    for a group-mode request on them, and then, with IPv6 on, goes on for a
    while (linkwatch, link-local addresses) after the reply. groupd folds
    that tail into one more batch: at most 3 signals in all."""
    netns.add_ifbs(N, group=100)
    client = groupd_factory().client
    with gdlib.Monitor(client.address, workdir) as monitor:
        client.set_group("100", {"State": "up"})
        monitor.settle(quiet=1.5)
        signals = monitor.signals()
    assert all(gdlib.is_up(l) for l in netns.links() if l["group_id"] == 100)
    assert len({c[0] for c in gdlib.changed_links(signals)}) == N
    assert 1 <= len(signals) <= BUDGET, f"{len(signals)} signals: {describe(signals)}"
    gdlib.assert_cache_matches_kernel(netns, client)

# SPDX-License-Identifier: LGPL-2.1-or-later
"""The kernel drops events (ENOBUFS) when groupd's event socket overflows:
groupd must resync, count it, and end up with the kernel's state."""

import gdlib

N = 2048
FLAPS = 10


def test_overrun_resync(netns, groupd_factory):
    netns.add_ifbs(N, group=100)
    groupd = groupd_factory("--netlink-rcvbuf=4096")
    client = groupd.client
    assert client.manager_property("ResyncCount") == 0

    # Changes made by others (ip), as bursts of 2048+ events each.
    for i in range(FLAPS):
        netns.ip("link", "set", "group", "100", "up")
        netns.ip("link", "set", "group", "100", "mtu", str(1400 + i))
        netns.ip("link", "set", "group", "100", "down")
    netns.ip("link", "set", "group", "100", "mtu", "1280")

    gdlib.wait_for(lambda: gdlib.cache_matches_kernel(netns, client), 30,
                   what="ListLinks to equal `ip -j link` after the overrun")
    gdlib.assert_cache_matches_kernel(netns, client)
    assert client.manager_property("ResyncCount") > 0
    assert client.manager_property("LinkCount") == N + len(netns.base)
    assert client.group_properties(100) == gdlib.expected_group(netns.links(), 100)
    assert client.group_property(100, "MTU") == 1280
    assert groupd.alive()

    # The resynced cache is a working one: groupd's own change lands too.
    client.set_group("100", {"MTU": 1500})
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {1500}
    # The reply comes once the cache reflects the change, overrun or not.
    gdlib.assert_cache_matches_kernel(netns, client)
    assert client.group_property(100, "MTU") == 1500

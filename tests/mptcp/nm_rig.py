# SPDX-License-Identifier: LGPL-2.1-or-later
"""The real NetworkManager on the rig's client, as on a laptop: it makes
wlan0's and wwan0's addresses and default routes (the rig's metrics) from
its profiles "Home Wi-Fi" and "Cellular", with its default
connection.mptcp-flags, on groupd's bus (tests/integration/peer_daemons.py).
Used by tests/integration/test_mptcp_nm_failover.py and
tests/bench/bench-mptcp-nm.py."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
sys.path.insert(0, str(HERE))

import peer_daemons  # noqa: E402
import rig as R  # noqa: E402

PROFILES = ((R.WLAN, "wifi", "Home Wi-Fi"), (R.WWAN, "cell", "Cellular"))


def start_networkmanager(rig, g):
    """NetworkManager in rig.client on g's bus (g: a GroupdInRig, possibly
    not started yet: use it as before_start). Stopped with the rig."""
    # The addresses and default routes are NetworkManager's to make, from
    # its profiles (else it takes the links as configured by someone else,
    # and leaves them).
    for dev in (R.WLAN, R.WWAN):
        rig.ip(rig.client, "addr", "flush", "dev", dev)
    nm = peer_daemons.NetworkManager(g.netns, g.bus, g.workdir,
                                     unmanaged="interface-name:lo;interface-name:ifb*")
    rig.add_cleanup(nm.stop)
    for dev, key, name in PROFILES:
        nm.add_profile(key, peer_daemons.nm_profile(
            name, dev, addresses=[f"{R.CLIENT_ADDR[dev]}/{R.PREFIXLEN}"],
            gateway=R.GATEWAY[dev], route_metric=R.METRIC[dev]))
    start(nm)
    return nm


def start(nm):
    nm.start()
    nm.wait_activated(R.WLAN)
    nm.wait_activated(R.WWAN)

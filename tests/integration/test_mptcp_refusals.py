# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the kernel cannot do with MPTCP endpoints, in the rig's client
namespace (tests/mptcp/rig.py): it keeps one endpoint per address, so two
members of an [MPTCP] group that share the group's [Address] get one
endpoint between them. groupd says so once — LastError and one log line
naming both members — and does not ask the kernel for the other endpoint
again and again; the message goes when the situation changes. Two
[MPTCP] groups whose [Address] sections share an address can never work:
groupd refuses to start with them."""

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mptcp"))
import gdlib  # noqa: E402
import groupd_mptcp as G  # noqa: E402
import rig as R  # noqa: E402
from conftest import groupd_bin  # noqa: E402
from mptcp_fixtures import rig, start_groupd  # noqa: E402,F401

SHARED = "10.71.9.2"
WIFI_WITH_ADDRESS = G.group_file(G.WIFI, "wifi", "wlan*",
                                 extra=f"[Address]\nAddress={SHARED}/24\n")
SHARED_TEXT = (f"wlan1 (group wifi) and wlan0 (group wifi) share the address {SHARED}: the kernel "
               "keeps one MPTCP endpoint per address, wlan1 gets none")


def test_shared_address_reported_once(rig, start_groupd):
    rig.add_veth("wlan1")
    g = start_groupd(groups={
        "10-wifi.group": WIFI_WITH_ADDRESS,
        "20-cellular.group": G.group_file(G.CELL, "cellular", R.WWAN)})
    g.wait_active("wifi")
    # groupd gave both members the group's address; the kernel has one
    # endpoint for it, on the first member.
    gdlib.wait_for(lambda: g.prop("LastError") == SHARED_TEXT, 5,
                   what=f"LastError {SHARED_TEXT!r} (now {g.prop('LastError')!r})")
    for dev in (R.WLAN, "wlan1"):
        addrs = {a["local"] for i in rig.ip_json(rig.client, "addr", "show", "dev", dev)
                 for a in i["addr_info"]}
        assert SHARED in addrs, (dev, addrs)
    shared = [e for e in rig.endpoints() if e["address"] == SHARED]
    assert [e.get("dev") for e in shared] == [R.WLAN], rig.endpoints()

    # Tried again with a growing back-off (1 s, 2 s, …): still shown, and
    # logged only once.
    time.sleep(4.5)
    assert g.prop("LastError") == SHARED_TEXT
    warnings = [line for line in g.log().splitlines()
                if "share the address" in line and "WARNING" in line]
    assert len(warnings) == 1, warnings
    retries = [line for line in g.log().splitlines()
               if "share the address" in line and "tried again in" in line]
    assert len(retries) >= 3, retries  # the first, then at 1 s and 3 s at least

    # wlan1 goes down: no endpoint is wanted for it, the problem is gone.
    rig.ip(rig.client, "link", "set", "wlan1", "down")
    gdlib.wait_for(lambda: g.prop("LastError") == "", 5,
                   what=f"LastError cleared (now {g.prop('LastError')!r})")


def test_shared_address_between_groups_refused(rig, workdir):
    """Two groups with [MPTCP] and the same [Address]: refused at start."""
    root = gdlib.ConfigRoot(Path(workdir), name="refused")
    root.write_iproute2_groups(G.GROUP_NAMES)
    root.write_conf(G.mptcp_conf())
    root.write_group("10-wifi.group", WIFI_WITH_ADDRESS)
    root.write_group("20-cellular.group", G.group_file(
        G.CELL, "cellular", R.WWAN, extra=f"[Address]\nAddress={SHARED}/16\n"))
    before = rig.ip_json(rig.client, "addr", "show")
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "DBUS_SESSION_BUS_ADDRESS", "WATCHDOG_USEC",
                        "WATCHDOG_PID", "DBUS_SYSTEM_BUS_ADDRESS")}
    proc = subprocess.run(rig.exec_cmd(rig.client, [groupd_bin(), f"--config-root={root}"]),
                          env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0, f"groupd started:\n{proc.stderr}"
    wifi = root.group_path("10-wifi.group")
    cell = root.group_path("20-cellular.group")
    want = (f"{cell}: [Address] Address: {SHARED}/16 is also an address of group {G.WIFI} in "
            f"{wifi}, and both groups have [MPTCP]: the kernel keeps one MPTCP endpoint per "
            "address")
    assert want in proc.stderr, proc.stderr
    assert rig.ip_json(rig.client, "addr", "show") == before

# SPDX-License-Identifier: LGPL-2.1-or-later
"""data/groupd.service: the sandbox score, a clean `systemd-analyze verify`,
and groupd working with exactly what the unit gives it (a non-root user,
CAP_NET_ADMIN only, no new privileges)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import gdlib

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "data" / "groupd.service"
MAX_EXPOSURE = 2.0

_OVERALL = re.compile(r"Overall exposure level for groupd\.service:\s*([0-9]+(?:\.[0-9]+)?)")


def test_security_exposure():
    proc = gdlib.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", UNIT],
                     check=False)
    text = proc.stdout + proc.stderr
    found = _OVERALL.findall(text)
    assert found, f"no overall exposure in the output (exit {proc.returncode}):\n{text}"
    exposure = float(found[-1])
    assert exposure <= MAX_EXPOSURE, f"exposure {exposure} > {MAX_EXPOSURE}:\n{text}"


def _unit_settings():
    settings = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_settings():
    s = _unit_settings()
    assert s["Type"] == ["notify"] and s["BusName"] == ["net.groupd1"]
    assert s["User"] == ["groupd"]
    assert s["AmbientCapabilities"] == ["CAP_NET_ADMIN"]
    assert s["CapabilityBoundingSet"] == ["CAP_NET_ADMIN"]
    assert "WatchdogSec" in s and s["Restart"] == ["on-failure"]
    # Reload goes through the bus, as root (the service user may not reload),
    # without printing the plan into the journal.
    assert s["ExecReload"] == [
        "+/usr/bin/busctl call --quiet net.groupd1 /net/groupd1 net.groupd1.Manager Reload u 0"]
    # groupd manages the host's links, with its capability in the initial
    # user namespace.
    assert "PrivateNetwork" not in s and "PrivateUsers" not in s
    # Memory: the slice allocator off (what a large message cost goes back),
    # and limits far above the peak at 32768 links (41 MiB).
    assert s["Environment"] == ["G_SLICE=always-malloc"]
    assert s["MemoryHigh"] == ["256M"] and s["MemoryMax"] == ["512M"]


def test_verify(tmp_path):
    """systemd-analyze verify in a scratch root holding the unit, the units
    it refers to (copied from the host) and the commands it runs."""
    root = tmp_path / "root"
    unitdir = root / "usr/lib/systemd/system"
    unitdir.mkdir(parents=True)
    shutil.copy(UNIT, unitdir / "groupd.service")
    for name in ("sysinit.target", "basic.target", "multi-user.target", "network.target",
                 "sockets.target", "paths.target", "timers.target", "slices.target",
                 "shutdown.target", "local-fs.target", "swap.target", "dbus.socket",
                 "dbus.service", "systemd-sysusers.service", "systemd-tmpfiles-setup.service"):
        host = Path("/usr/lib/systemd/system") / name
        assert host.is_file(), f"{host} missing on this host"
        shutil.copy(host, unitdir / name)
    for cmd in ("usr/sbin/groupd", "usr/bin/busctl"):
        path = root / cmd
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    proc = gdlib.run(["systemd-analyze", "verify", "--man=no", f"--root={root}",
                      unitdir / "groupd.service"], check=False)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


# ---- groupd with the unit's privileges ----

SERVICE_UID = 65534  # stands for the groupd user, which need not exist here


def _rtnl_rcvbufs(netns):
    """skmem rb of the user rtnetlink sockets of the namespace (ss -m): the
    namespace is the test's own, so they are groupd's."""
    proc = netns_run(netns, ["ss", "-f", "netlink", "-a", "-m"])
    sizes = []
    for line in proc.stdout.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3].startswith("rtnl:") and fields[3] != "rtnl:kernel":
            m = re.search(r"skmem:\(r\d+,rb(\d+)", line)
            if m:
                sizes.append(int(m.group(1)))
    return sizes


def netns_run(netns, cmd):
    return gdlib.run(netns.exec_cmd(*cmd))


def test_runs_with_net_admin_only(netns, groupd_factory, workdir, monkeypatch):
    """The unit's sandbox, approximated with setpriv: uid != 0, no groups,
    CAP_NET_ADMIN ambient and the only capability in the bounding set,
    no_new_privs. groupd starts, forces its 32 MiB event buffer
    (SO_RCVBUFFORCE) and changes links for a root caller."""
    from conftest import groupd_bin

    netns.add_ifbs(3, group=100)
    real = groupd_bin()
    wrapper = workdir / "groupd-unprivileged"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec setpriv --reuid={SERVICE_UID} --regid={SERVICE_UID} --clear-groups "
        "--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin "
        "--bounding-set=-all,+net_admin --no-new-privs "
        f"{real} \"$@\"\n")
    wrapper.chmod(0o755)
    monkeypatch.setenv("GROUPD_BIN", str(wrapper))
    # The notification socket is created by root: let the service uid write to it.
    old = os.umask(0)
    try:
        daemon = groupd_factory()
    finally:
        os.umask(old)

    status = Path(f"/proc/{daemon.proc.pid}/status").read_text()
    fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
    assert fields["Uid"].split()[0] == str(SERVICE_UID)
    assert int(fields["CapEff"], 16) == 1 << 12  # CAP_NET_ADMIN only
    assert int(fields["CapBnd"], 16) == 1 << 12
    assert fields["NoNewPrivs"].strip() == "1"

    rcvbufs = _rtnl_rcvbufs(netns)
    assert rcvbufs and max(rcvbufs) >= 32 * 1024 * 1024, (
        f"no forced 32 MiB receive buffer among groupd's rtnetlink sockets: {rcvbufs}")

    root = daemon.client
    root.set_group("100", {"MTU": 1400, "State": "up"})
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {1400}
    root.add_group_address("100", "10.9.0.1/24")
    assert root.set_link_group(["ifb2"], "0") == 1
    assert sorted(l["ifname"] for l in netns.links() if l["group_id"] == 100) == ["ifb0", "ifb1"]

# SPDX-License-Identifier: LGPL-2.1-or-later
"""dbus/net.groupd1.conf on a private system-type bus: everyone may read,
the bus itself refuses mutating calls from anyone but root and the admin
group (netdev), and a netdev member passes the bus and groupd's own check.

The `bus` fixture of conftest is replaced here by a dbus-daemon whose
configuration is Debian's system bus default policy, cut down, plus the real
policy file; groupd_factory then runs groupd (as root, in the test's
namespace) on it."""

import grp
import os
import subprocess
from pathlib import Path

import pytest

import gdlib

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "dbus" / "net.groupd1.conf"
ADMIN_GROUP = "netdev"
BUS_ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
NO_OPTS = "@a{sv} {}"

# /usr/share/dbus-1/system.conf of Debian 12, minus forking, the pid file,
# syslog, activation and the includes of the host's service policies.
SYSTEM_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={socket}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus"
          send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


@pytest.fixture(scope="module")
def admin_gid():
    """The gid of netdev; the group is created (as a system group) only if
    this host lacks it, and then removed again."""
    try:
        yield grp.getgrnam(ADMIN_GROUP).gr_gid
        return
    except KeyError:
        pass
    gdlib.run(["groupadd", "--system", ADMIN_GROUP])
    try:
        yield grp.getgrnam(ADMIN_GROUP).gr_gid
    finally:
        gdlib.run(["groupdel", ADMIN_GROUP], check=False)
        assert ADMIN_GROUP not in {g.gr_name for g in grp.getgrall()}, \
            f"could not remove the group {ADMIN_GROUP} this test created"


class PolicyBus:
    """A dbus-daemon with the system bus default policy and net.groupd1.conf
    (the interface of conftest's Bus)."""

    def __init__(self, workdir):
        self.socket = workdir / "bus.sock"
        self.address = f"unix:path={self.socket}"
        self.config = workdir / "system-bus.conf"
        self.config.write_text(SYSTEM_BUS_CONFIG.format(socket=self.socket, policy=POLICY))
        self.log_path = workdir / "dbus-daemon.log"
        self._log = open(self.log_path, "w")
        rfd, wfd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                ["dbus-daemon", f"--config-file={self.config}", "--nofork",
                 f"--print-address={wfd}"],
                pass_fds=(wfd,), stdout=self._log, stderr=subprocess.STDOUT)
        finally:
            os.close(wfd)
        with os.fdopen(rfd) as r:
            line = r.readline()
        if not line.strip():
            self.stop()
            raise AssertionError(f"dbus-daemon did not start: {self.log_path.read_text()}")

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        gdlib.terminate(self.proc)
        self._log.close()


@pytest.fixture
def bus(workdir, admin_gid):
    b = PolicyBus(workdir)
    try:
        yield b
    finally:
        b.stop()


class GroupClient(gdlib.Client):
    """uid 65534 with exactly the supplementary groups given."""

    def __init__(self, address, uid, gids):
        super().__init__(address, uid=uid)
        self.gids = gids

    def _wrap(self, cmd):
        groups = ",".join(str(g) for g in self.gids)
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}",
                f"--groups={groups}", *cmd]


def _request_name(client, name):
    """RequestName as the client; returns (error name or None, output)."""
    proc = gdlib.run(client._wrap(
        ["gdbus", "call", "--address", client.address, "--dest", "org.freedesktop.DBus",
         "--object-path", "/org/freedesktop/DBus",
         "--method", "org.freedesktop.DBus.RequestName", name, "4"]), check=False)
    if proc.returncode == 0:
        return None, proc.stdout
    m = gdlib._GDBUS_ERROR.search(proc.stderr)
    assert m, proc.stderr
    return m.group(1), m.group(2)


MUTATIONS = [
    ("SetGroup", "'100'", "{'MTU': <uint32 1400>}", NO_OPTS),
    ("SetLinkGroup", gdlib.gv_strv(["ifb2"]), "'100'"),
    ("AddGroupAddress", "'100'", "'10.0.0.1/24'", NO_OPTS),
    ("RemoveGroupAddress", "'100'", "'10.3.0.1/24'", NO_OPTS),
    ("Reload", "0"),
]


def test_non_admin_refused_by_the_bus(netns, groupd_factory, bus):
    netns.add_ifbs(2, group=100)
    netns.add_ifbs(1, start=2)
    netns.ip("addr", "add", "10.3.0.1/24", "dev", "ifb0")
    daemon = groupd_factory(f"--admin-group={ADMIN_GROUP}")
    root = daemon.client
    nobody = gdlib.Client(bus.address, uid=gdlib.NOBODY)
    before = netns.snapshot()

    for method, *args in MUTATIONS:
        got, message = nobody.gdbus(method, *args)
        assert got == BUS_ACCESS_DENIED, f"{method}: {got}: {message}"
        assert message.startswith("Rejected send message"), message  # the bus's words
    # Nothing reached groupd: it logged no refusal of its own.
    assert "may not change" not in daemon.log_tail()
    # No writable property, no other interface.
    got, _ = nobody.gdbus("Set", "'net.groupd1.Manager'", "'Version'", "<'x'>",
                          iface="org.freedesktop.DBus.Properties")
    assert got == BUS_ACCESS_DENIED
    # Nobody may own the name either.
    got, _ = _request_name(nobody, gdlib.BUS_NAME)
    assert got == BUS_ACCESS_DENIED
    gdlib.assert_same_snapshot(before, netns.snapshot(), "calls from uid 65534")

    # Reads are for everyone.
    assert nobody.list_links() == netns.kernel_list_links()
    assert nobody.list_groups() == root.list_groups()
    assert nobody.get_link("ifb0")["Addresses"] == ["10.3.0.1/24"]
    assert nobody.manager_property("LinkCount") == 3 + len(netns.base)
    assert nobody.group_property(100, "MemberCount") == 2
    assert nobody.group_properties(100)["MemberCount"] == 2
    assert "groups" in nobody.call("Plan")[0]
    nobody.call("GetManagedObjects", path=gdlib.MANAGER_PATH,
                iface="org.freedesktop.DBus.ObjectManager")
    nobody.call("Introspect", path=gdlib.MANAGER_PATH,
                iface="org.freedesktop.DBus.Introspectable")
    nobody.call("Ping", iface="org.freedesktop.DBus.Peer")

    # Root passes both gates.
    root.set_group("100", {"MTU": 1400})
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {1400}


def test_admin_group_allowed(netns, groupd_factory, bus, admin_gid):
    netns.add_ifbs(2, group=100)
    netns.add_ifbs(1, start=2)
    netns.ip("addr", "add", "10.3.0.1/24", "dev", "ifb0")
    daemon = groupd_factory(f"--admin-group={ADMIN_GROUP}")
    admin = GroupClient(bus.address, gdlib.NOBODY, [admin_gid])

    admin.set_group("100", {"MTU": 1400})
    assert {l["mtu"] for l in netns.links() if l["group_id"] == 100} == {1400}
    assert admin.set_link_group(["ifb2"], "100") == 1
    admin.add_group_address("100", "10.0.0.1/24")
    admin.remove_group_address("100", "10.3.0.1/24")
    links = {l["ifname"]: l for l in netns.links()}
    assert all(links[n]["group_id"] == 100 for n in ("ifb0", "ifb1", "ifb2"))
    assert admin.expect_ok("Reload", "0")

    # The admin group passes the bus but is still not the name's owner.
    got, _ = _request_name(admin, gdlib.BUS_NAME)
    assert got == BUS_ACCESS_DENIED
    assert daemon.alive()


def test_bus_gate_before_groupd(netns, groupd_factory, bus, admin_gid):
    """A netdev member passes the bus, but groupd configured with another
    admin group refuses it itself (net.groupd1.Error.AccessDenied, and no
    polkit on this bus): the two gates are independent."""
    netns.add_ifbs(2, group=100)
    daemon = groupd_factory("--admin-group=daemon")
    admin = GroupClient(bus.address, gdlib.NOBODY, [admin_gid])
    admin.expect_error("AccessDenied", "SetGroup", "'100'", "{'MTU': <uint32 1400>}", NO_OPTS)
    assert daemon.alive()


# ---- the Mptcp object's methods ----
# (That every method of the API has its place in the policy, the static
# check, is tests/unit/test-bus-methods.c: the method tables against
# dbus/*.xml, data/net.groupd1.policy and this policy.)

MPTCP_PATH = "/net/groupd1/mptcp"
MPTCP_IFACE = "net.groupd1.Mptcp"


MPTCP_MUTATIONS = [("SetMode", "'aggregate'"), ("SetPreference", "@as []"), ("Failover", "''")]


def test_mptcp_methods_by_the_bus(netns, groupd_factory, bus, admin_gid):
    """Mptcp: uid 65534 is refused by the bus and may read; a netdev member
    reaches groupd and may change the mode."""
    daemon = groupd_factory(f"--admin-group={ADMIN_GROUP}")
    nobody = gdlib.Client(bus.address, uid=gdlib.NOBODY)
    admin = GroupClient(bus.address, gdlib.NOBODY, [admin_gid])
    for method, *args in MPTCP_MUTATIONS:
        got, message = nobody.gdbus(method, *args, path=MPTCP_PATH, iface=MPTCP_IFACE)
        assert got == BUS_ACCESS_DENIED, f"{method}: {got}: {message}"
        assert message.startswith("Rejected send message"), message
    assert "may not change" not in daemon.log_tail()
    assert nobody.get_property(MPTCP_PATH, MPTCP_IFACE, "Mode") == "off"
    nobody.busctl("introspect", gdlib.BUS_NAME, MPTCP_PATH, MPTCP_IFACE)

    got, message = admin.gdbus("SetMode", "'aggregate'", path=MPTCP_PATH, iface=MPTCP_IFACE)
    assert got is None, f"{got}: {message}"
    assert nobody.get_property(MPTCP_PATH, MPTCP_IFACE, "Mode") == "aggregate"
    # Past the bus, groupd's own answer: no group to fail over to.
    got, _ = admin.gdbus("Failover", "''", path=MPTCP_PATH, iface=MPTCP_IFACE)
    assert got == "net.groupd1.Error.NotPossible"
    assert daemon.alive()

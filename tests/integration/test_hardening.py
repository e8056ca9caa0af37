# SPDX-License-Identifier: LGPL-2.1-or-later
"""Refusals that keep groupd and the host whole:

- SetGroup after SetGroup on a policy group (the override used to be freed
  while still stored: a use-after-free, then a double free), also across a
  reload and with a refused call in between;
- groupd.conf as a symlink out of groupd's directories (its lines used to be
  quoted back in Reload errors: /etc/shadow's were), at start and on reload;
- an MTU below 68 on members that have IPv4 (the kernel removes IPv4 and the
  addresses; later adds fail with ENOBUFS): InvalidArgs unless forced;
- the unspecified address (0.0.0.0/0 is acknowledged and not added).
"""

import os

import pytest

import gdlib

MAC = "02:00:00:00:00:01"
SECRET = "root:$6$notreally$abcdefghijklmnop:19000:0:99999:7:::"


def start_policy(netns, workdir, groupd_factory, n=4):
    names = netns.add_ifbs(n)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf(debounce="0.2")
    root.write_group("50-ppp.group", gdlib.policy_text(gid=100, name="ppp", match={"Name": "ifb*"},
                                                       mtu=1400, state="up"))
    daemon = groupd_factory(config_root=root)
    gdlib.wait_policy(netns, names, 100, mtu=1400, up=True)
    return daemon, root, names


def test_repeated_setgroup_on_a_policy_group(netns, workdir, groupd_factory):
    daemon, root, names = start_policy(netns, workdir, groupd_factory)
    c = daemon.client
    for mtu in (1300, 1310, 1320, 1330):
        c.set_group("100", {"MTU": mtu})
        c.set_group("100", {"TxQueueLength": mtu - 800})
        policy = gdlib.group_policy(c, 100)
        assert (policy["MTU"], policy["TxQueueLength"], policy["Overridden"]) == \
            (mtu, mtu - 800, True), policy
        assert not gdlib.policy_violations(netns, names, 100, mtu=mtu, txqlen=mtu - 800)
    # Refused by the kernel (ifb has no MAC to set): the override stays as
    # it was before that call.
    c.expect_error("Kernel", "SetGroup", "'100'", f"{{'MACAddress': <'{MAC}'>}}", "@a{sv} {}")
    policy = gdlib.group_policy(c, 100)
    assert (policy["MTU"], policy["TxQueueLength"]) == (1330, 530) and "MACAddress" not in policy
    # Across a reload: dropped, then overridden again, twice.
    gdlib.reload(c)
    gdlib.wait_policy(netns, names, 100, timeout=10, mtu=1400)
    assert gdlib.group_policy(c, 100)["Overridden"] is False
    c.set_group("100", {"MTU": 1280})
    c.set_group("100", {"MTU": 1290, "State": "up"})
    assert gdlib.group_policy(c, 100)["MTU"] == 1290
    assert not gdlib.policy_violations(netns, names, 100, mtu=1290)
    assert daemon.alive()


def write_secret(workdir):
    """A root-owned file outside the configuration, standing for /etc/shadow."""
    path = workdir / "shadow"
    path.write_text(SECRET + "\n")
    os.chmod(path, 0o600)
    return path


def test_conf_symlink_out_of_the_directories_on_reload(netns, workdir, groupd_factory):
    daemon, root, names = start_policy(netns, workdir, groupd_factory)
    secret = write_secret(workdir)
    conf = root.conf_path
    conf.unlink()
    conf.symlink_to(secret)
    got, message = gdlib.reload_error(daemon.client)
    assert got == gdlib.ERROR_PREFIX + "InvalidArgs", message
    assert "groupd.conf: symlink to" in message and "leads out of the configuration" in message
    assert SECRET not in message and "notreally" not in message, message
    assert "notreally" not in daemon.log_path.read_text()
    # Inside groupd's directories a symlink is followed; to /dev/null it masks.
    real = root.path / "usr/lib/groupd/groupd.conf"
    real.parent.mkdir(parents=True, exist_ok=True)
    real.write_text("[Daemon]\nDriftDebounceSec=0.3\n")
    conf.unlink()
    conf.symlink_to(real)
    gdlib.reload(daemon.client)
    conf.unlink()
    conf.symlink_to("/dev/null")
    gdlib.reload(daemon.client)
    assert not gdlib.policy_violations(netns, names, 100, mtu=1400)


def test_conf_symlink_out_of_the_directories_at_start(netns, workdir, groupd_factory):
    root = gdlib.ConfigRoot(workdir)
    root.conf_path.parent.mkdir(parents=True)
    root.conf_path.symlink_to(write_secret(workdir))
    with pytest.raises(AssertionError, match="exited with 1 before READY"):
        groupd_factory(config_root=root)
    log = (workdir / "groupd-0.log").read_text()
    assert "leads out of the configuration directories; refused" in log
    assert "notreally" not in log


def test_mtu_below_68_with_ipv4(netns, workdir, groupd_factory):
    names = netns.add_ifbs(3, group=100)
    netns.ip("addr", "add", "10.68.0.1/24", "dev", "ifb0")
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    daemon = groupd_factory(config_root=root)
    c = daemon.client
    before = gdlib.stable_snapshot(netns)
    message = c.expect_error("InvalidArgs", "SetGroup", "'100'", "{'MTU': <uint32 60>}",
                             "@a{sv} {}")
    assert "MTU 60 is below 68, the least IPv4 works with" in message, message
    assert "from 3 of 3 members (ifb0, ifb1, ifb2)" in message and '"force"' in message
    gdlib.assert_same_snapshot(before, gdlib.stable_snapshot(netns), "the refused SetGroup")
    # Forced: done, and the kernel took IPv4 away.
    c.set_group("100", {"MTU": 60}, force=True)
    assert {l["mtu"] for l in netns.links() if l["ifname"] in names} == {60}
    assert netns.addrs()["ifb0"] == []
    # Without IPv4 left, a lower MTU needs no force; back at 1500 IPv4 is
    # there again (the kernel says so in the link's events), and 60 is
    # refused again.
    c.set_group("100", {"MTU": 50})
    c.set_group("100", {"MTU": 1500})
    gdlib.wait_for(lambda: c.gdbus("SetGroup", "'100'", "{'MTU': <uint32 64>}",
                                   "@a{sv} {}")[0] == gdlib.ERROR_PREFIX + "InvalidArgs", 5,
                   what="IPv4 back on the members")
    netns.ip("addr", "add", "10.68.0.1/24", "dev", "ifb0")
    # A policy with an IPv4 address and such an MTU is refused as it loads.
    root.write_group("50-low.group", gdlib.policy_text(gid=200, match={"Name": "nomatch*"},
                                                       mtu=60, addresses=["10.69.0.1/24"]))
    got, message = gdlib.reload_error(c)
    assert got == gdlib.ERROR_PREFIX + "InvalidArgs", message
    assert "[Link] MTU: 60 is below 68, the least IPv4 works with, and [Address] has IPv4" \
        in message, message


def test_unspecified_address_refused(netns, workdir, groupd_factory):
    netns.add_ifbs(2, group=100)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    daemon = groupd_factory(config_root=root)
    c = daemon.client
    before = gdlib.stable_snapshot(netns)
    for address in ("0.0.0.0/0", "0.0.0.0/24", "0.0.0.0", "::/0", "::"):
        message = c.expect_error("InvalidArgs", "AddGroupAddress", "'100'",
                                 gdlib.gv_str(address), "@a{sv} {}")
        assert "the unspecified address, which no interface can have" in message, message
    gdlib.assert_same_snapshot(before, gdlib.stable_snapshot(netns), "the refused adds")
    c.add_group_address("100", "10.70.0.1/24")
    assert all("10.70.0.1/24" in a for n, a in netns.addrs().items() if n.startswith("ifb"))
    root.write_group("50-zero.group", gdlib.policy_text(gid=200, match={"Name": "nomatch*"},
                                                        addresses=["0.0.0.0/0"]))
    got, message = gdlib.reload_error(c)
    assert got == gdlib.ERROR_PREFIX + "InvalidArgs", message
    assert '"0.0.0.0/0" is the unspecified address' in message, message

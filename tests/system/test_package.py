# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Debian package on a running Debian 12 with systemd as PID 1, dbus and
polkitd, as an administrator meets it: installed with apt on the running
system, then driven with systemctl, busctl and ip inside the container.

The tests run in file order and build on each other (one container, one
installation), as an administrator's session would."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEB_INSIDE = "/root/groupd.deb"
SETTINGS = "/etc/groupd/groupd.conf"
POLICIES = "/etc/groupd/groups.d"


def set_mtu(group, mtu):
    """SetGroup's arguments: one MTU, no options."""
    return ("SetGroup", "sa{sv}a{sv}", group, "1", "MTU", "u", str(mtu), "0")


def active(m):
    return m.run("systemctl", "is-active", "groupd.service", check=False).stdout.strip()


def main_pid(m):
    return int(m.unit("MainPID")["MainPID"])


def journal_entries(m, *matches):
    out = m.run("journalctl", "--no-pager", "-o", "json", *matches).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def groupd_log(m, *args):
    """What groupd's own process logged (GLib's journal writer sets no
    SYSLOG_IDENTIFIER: match the command name)."""
    return m.journal("_COMM=groupd", *args)


def bus_owner(m, name="net.groupd1"):
    """The pid owning NAME, None when nobody does (activatable or not)."""
    for entry in json.loads(m.run("busctl", "list", "--json=short").stdout):
        if entry["name"] == name:
            return entry.get("pid")
    return None


def test_lintian_clean():
    """No error and no warning (information tags are allowed)."""
    changes = os.environ["GD_SYSTEM_CHANGES"]
    proc = subprocess.run(["lintian", "--fail-on", "error,warning", changes],
                          capture_output=True, text=True, timeout=600)
    tags = [l for l in proc.stdout.splitlines() if l.startswith(("E:", "W:"))]
    assert proc.returncode == 0 and not tags, proc.stdout + proc.stderr
    print(proc.stdout)


def test_install_starts_the_service(machine):
    """apt on the running system: the users exist before groupd starts,
    the bus knows them, and groupd runs without a manual step."""
    m = machine
    # In group 100 from the start: a stock kernel sends no notification
    # when a DOWN link changes group.
    m.run("ip", "link", "add", "gda0", "group", "100", "type", "veth", "peer", "name", "gda1",
          "group", "100")
    shutil.copy(os.environ["GD_SYSTEM_DEB"], m.path(DEB_INSIDE))
    m.run("apt-get", "install", "-y", "--no-install-recommends", DEB_INSIDE, timeout=300)

    assert active(m) == "active", m.journal("-u", "groupd")
    assert m.run("systemctl", "is-enabled", "groupd.service").stdout.strip() == "enabled"
    assert m.unit("NRestarts")["NRestarts"] == "0", m.journal("-u", "groupd")
    assert "could not own" not in groupd_log(m)
    m.run("getent", "passwd", "groupd")
    m.run("getent", "group", "netdev")
    assert bus_owner(m) == main_pid(m)
    links = json.loads(m.busctl("ListLinks").stdout)["data"][0]
    assert "gda0" in [link[1] for link in links], links

    # The callers of the following tests: a plain user, a member of the
    # admin group, one a polkit rule will allow, one it will not.
    m.run("useradd", "-M", "alice")
    m.run("useradd", "-M", "-G", "netdev", "bob")
    m.run("useradd", "-M", "carol")
    m.run("useradd", "-M", "dave")


def test_ready_status_and_capabilities(machine):
    """READY=1 once on the bus with the policies applied, a STATUS line,
    the watchdog; running as groupd with CAP_NET_ADMIN only, and nothing
    logged about capabilities."""
    m = machine
    u = m.unit("Type", "ActiveState", "SubState", "StatusText", "WatchdogUSec", "MainPID")
    assert (u["Type"], u["ActiveState"], u["SubState"]) == ("notify", "active", "running"), u
    assert re.fullmatch(r"Managing \d+ links in \d+ groups.*", u["StatusText"]), u
    assert u["WatchdogUSec"] == "30s", u
    log = m.journal("-u", "groupd", "-o", "cat")
    assert log.index("ready:") < log.index("Started groupd.service"), log

    status = dict(line.split(":", 1) for line in
                  m.run("cat", f"/proc/{u['MainPID']}/status").stdout.splitlines() if ":" in line)
    uid = m.run("id", "-u", "groupd").stdout.strip()
    assert status["Uid"].split()[0] == uid
    net_admin = 1 << 12
    for key in ("CapEff", "CapPrm", "CapBnd"):
        assert int(status[key], 16) == net_admin, (key, status[key])
    assert int(status["CapAmb"], 16) == 0
    log = groupd_log(m, "-o", "cat")
    assert "ready:" in log and not re.search(r"capabilit|libcap", log, re.I), log


def test_dbus_activation(machine):
    """Stopped, groupd is started by the bus for the first caller, even an
    unprivileged one."""
    m = machine
    m.run("systemctl", "stop", "groupd.service")
    assert active(m) == "inactive"
    groups = json.loads(m.busctl("ListGroups", user="alice").stdout)["data"][0]
    assert groups, groups
    assert active(m) == "active"
    assert "Activating via systemd: service name='net.groupd1'" in m.journal("-u", "dbus")


def test_unprivileged_reads_allowed_writes_refused(machine):
    m = machine
    links = json.loads(m.busctl("ListLinks", user="alice").stdout)["data"][0]
    assert {"gda0", "gda1"} <= {link[1] for link in links}
    m.run("busctl", "get-property", "net.groupd1", "/net/groupd1", "net.groupd1.Manager",
          "Version", user="alice")
    m.busctl("Plan", user="alice")

    for call in (set_mtu("100", 1400), ("SetLinkGroup", "ass", "1", "gda0", "200"),
                 ("Reload", "u", "0")):
        proc = m.busctl(*call, user="alice", check=False)
        # The bus policy refuses before groupd sees the call.
        assert proc.returncode != 0 and "Access denied" in proc.stderr, (call, proc)
    links = m.links()
    assert links["gda0"]["mtu"] == 1500 and links["gda0"].get("group") != "200", links["gda0"]


def test_netdev_member_writes(machine):
    m = machine
    m.busctl(*set_mtu("100", 1400), user="bob")
    links = m.links()
    assert links["gda0"]["mtu"] == links["gda1"]["mtu"] == 1400
    moved = json.loads(m.busctl("SetLinkGroup", "ass", "1", "gda1", "101", user="bob").stdout)
    assert moved["data"] == [1], moved
    assert m.links()["gda1"]["group"] == "101"


def test_polkit_rule_allows_another_user(machine):
    """With the bus policy opened for everyone (as the README describes), a
    polkit rule decides: carol is allowed, dave is refused, and groupd's log
    says why (no agent to answer, or no interactive authorization)."""
    m = machine
    bus_dropin = "/etc/dbus-1/system.d/groupd-everyone.conf"
    rule = "/etc/polkit-1/rules.d/50-groupd-carol.rules"
    m.write(bus_dropin, """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy context="default">
    <allow send_destination="net.groupd1" send_interface="net.groupd1.Manager"
           send_member="SetGroup"/>
  </policy>
</busconfig>
""")
    m.write(rule, """polkit.addRule(function(action, subject) {
    if (action.id == "net.groupd1.set-group" && subject.user == "carol")
        return polkit.Result.YES;
});
""")
    try:
        m.run("systemctl", "reload", "dbus.service")
        m.run("systemctl", "try-restart", "polkit.service")
        m.busctl(*set_mtu("100", 1300), user="carol")
        assert m.links()["gda0"]["mtu"] == 1300

        for interactive in (True, False):
            proc = m.busctl(*set_mtu("100", 1200), user="dave", check=False,
                            interactive=interactive)
            assert proc.returncode != 0 and "polkit authorizes for net.groupd1.set-group" in \
                proc.stderr, proc
        assert m.links()["gda0"]["mtu"] == 1300
        log = groupd_log(m, "-o", "cat")
        assert "polkit authorized net.groupd1.set-group" in log, log
        assert ("polkit refused net.groupd1.set-group: authentication was required, but no "
                "polkit authentication agent answered for the caller") in log, log
        assert ("polkit refused net.groupd1.set-group: authentication was required, and the "
                "call did not allow interactive authorization") in log, log
    finally:
        for path in (bus_dropin, rule):
            m.path(path).unlink(missing_ok=True)
        m.run("systemctl", "reload", "dbus.service")


def test_reload_good_and_bad(machine):
    """A good file applies; a bad one fails `systemctl reload`, and groupd
    keeps running with the configuration it had (a hot-plugged link still
    gets the old policy). ExecReload prints nothing into the journal."""
    m = machine
    m.run("ip", "link", "add", "gdb0", "type", "veth", "peer", "name", "gdb1")
    policy = f"{POLICIES}/50-systest.group"
    m.write(policy, "[Group]\nId=300\nName=systest\n[Match]\nName=gdb*\n[Link]\nMTU=1280\n")
    m.run("systemctl", "reload", "groupd.service")
    links = m.links()
    assert (links["gdb0"]["group"], links["gdb0"]["mtu"]) == ("300", 1280), links["gdb0"]
    assert links["gdb1"]["mtu"] == 1280
    assert journal_entries(m, "SYSLOG_IDENTIFIER=busctl") == []

    pid = main_pid(m)
    m.write(policy, "[Group]\nId=300\nName=systest\n[Match]\nName=gdb*\n[Link]\nMTU=1300\n")
    m.write(f"{POLICIES}/60-bad.group", "[Deamon]\nMTU=1\n")
    proc = m.run("systemctl", "reload", "groupd.service", check=False)
    assert proc.returncode != 0, proc
    assert active(m) == "active" and main_pid(m) == pid
    assert m.links()["gdb0"]["mtu"] == 1280
    assert "60-bad.group" in m.journal("-u", "groupd", "-n", "20")
    # The running configuration goes on: a new link gets the old MTU.
    m.run("ip", "link", "add", "gdb2", "type", "veth", "peer", "name", "gdb3")
    m.wait_for("gdb2 to join group 300 with MTU 1280",
               lambda: (m.links()["gdb2"].get("group"), m.links()["gdb2"]["mtu"]) ==
               ("300", 1280))

    m.path(f"{POLICIES}/60-bad.group").unlink()
    m.run("systemctl", "reload", "groupd.service")
    assert m.links()["gdb0"]["mtu"] == 1300 and main_pid(m) == pid


def test_policies_at_boot(machine):
    """Links that exist when groupd starts at boot get their policy before
    READY."""
    m = machine
    m.write("/etc/systemd/system/gd-boot-links.service", """[Unit]
Description=system test: links present when groupd starts
Before=groupd.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/ip link add gdc0 type veth peer name gdc1

[Install]
WantedBy=multi-user.target
""")
    m.run("systemctl", "enable", "gd-boot-links.service")
    m.write(f"{POLICIES}/70-boot.group",
            "[Group]\nId=400\nName=boot\n[Match]\nName=gdc*\n[Link]\nMTU=1360\nState=up\n")
    m.reboot()

    assert active(m) == "active"
    assert m.unit("NRestarts")["NRestarts"] == "0"
    links = m.links()
    for name in ("gdc0", "gdc1"):
        assert (links[name]["group"], links[name]["mtu"]) == ("400", 1360), links[name]
        assert "UP" in links[name]["flags"], links[name]
    assert "ready:" in groupd_log(m, "-b")


def test_stop_and_restart(machine):
    m = machine
    pid = main_pid(m)
    m.run("systemctl", "stop", "groupd.service")
    assert active(m) == "inactive"
    u = m.unit("Result", "ExecMainStatus")
    assert (u["Result"], u["ExecMainStatus"]) == ("success", "0"), u
    assert "stopping on signal" in groupd_log(m, "-b", "-o", "cat")
    assert bus_owner(m) is None

    m.run("systemctl", "start", "groupd.service")
    started = main_pid(m)
    assert active(m) == "active" and started not in (0, pid)
    m.run("systemctl", "restart", "groupd.service")
    assert active(m) == "active" and main_pid(m) not in (0, started)
    assert bus_owner(m) == main_pid(m)
    assert m.unit("NRestarts")["NRestarts"] == "0"


def test_restart_after_crash(machine):
    """Restart=on-failure: a SIGSEGV brings groupd back within RestartSec."""
    m = machine
    pid = main_pid(m)
    m.run("sh", "-c", f"kill -SEGV {pid}")
    m.wait_for("groupd to run again",
               lambda: active(m) == "active" and main_pid(m) not in (0, pid))
    assert m.unit("NRestarts")["NRestarts"] == "1"
    assert "status=11/SEGV" in m.journal("-u", "groupd", "-b", "-o", "cat")
    assert bus_owner(m) == main_pid(m)


def newer_package(deb, directory):
    """The same package under a higher version: an upgrade for dpkg (the
    maintainer scripts run with the old version as argument)."""
    tree = directory / "tree"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    text = control.read_text()
    version = re.search(r"^Version: (\S+)$", text, re.M).group(1)
    control.write_text(text.replace(f"Version: {version}", f"Version: {version}+systest1"))
    out = directory / "groupd-newer.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", str(tree), str(out)],
                   check=True, capture_output=True)
    return out, f"{version}+systest1"


def test_upgrade_keeps_configuration(machine):
    """An upgrade to a newer version: the edited conffile stays as the
    administrator left it, the policies stay, and groupd is restarted."""
    m = machine
    work = Path(os.environ["GD_SYSTEM_WORK"]).parent / "upgrade"
    work.mkdir(exist_ok=True)
    deb, version = newer_package(os.environ["GD_SYSTEM_DEB"], work)
    shutil.copy(deb, m.path("/root/groupd-newer.deb"))

    edited = m.path(SETTINGS).read_text() + "# edited by the administrator\n"
    m.write(SETTINGS, edited)
    pid = main_pid(m)
    m.run("apt-get", "install", "-y", "/root/groupd-newer.deb", timeout=300)
    assert m.run("dpkg-query", "-W", "-f=${Version}", "groupd").stdout == version
    assert m.path(SETTINGS).read_text() == edited
    assert not list(m.path("/etc/groupd").glob("*.dpkg-*"))
    assert m.path(f"{POLICIES}/70-boot.group").exists()
    assert active(m) == "active" and main_pid(m) not in (0, pid)
    assert m.unit("NRestarts")["NRestarts"] == "0"
    assert m.links()["gdc0"]["mtu"] == 1360


def test_remove_and_purge(machine):
    """remove: stopped, files gone, conffiles kept. purge: conffiles and
    runtime state gone; the administrator's own policies and the users stay."""
    m = machine
    m.run("apt-get", "remove", "-y", "groupd", timeout=300)
    assert active(m) == "inactive"
    assert not m.path("/lib/systemd/system/groupd.service").exists()
    assert not m.path("/usr/share/dbus-1/system.d/net.groupd1.conf").exists()
    assert m.path(SETTINGS).exists()
    assert bus_owner(m) is None

    m.run("apt-get", "purge", "-y", "groupd", timeout=300)
    assert not m.path(SETTINGS).exists()
    assert m.path(f"{POLICIES}/70-boot.group").exists()
    assert not m.path("/run/groupd").exists()
    assert not m.path("/etc/systemd/system/multi-user.target.wants/groupd.service").exists()
    m.run("getent", "passwd", "groupd")
    status = m.run("dpkg-query", "-W", "-f=${db:Status-Status}", "groupd", check=False).stdout
    assert status in ("", "not-installed"), status


def test_meson_install_on_running_system(machine):
    """`meson install` on a running system, users not yet there: the bus
    reads the policy before the users exist; the install script creates
    them and has the bus read it again, and groupd then owns its name."""
    m = machine
    m.run("userdel", "groupd")
    m.run("groupdel", "netdev")
    m.run("systemctl", "reload", "dbus.service")

    dest = Path(os.environ["GD_SYSTEM_WORK"]).parent / "meson-destdir"
    subprocess.run(["meson", "install", "-C", os.environ["GD_SYSTEM_BUILD"], "--no-rebuild",
                    "--quiet", "--destdir", str(dest)], check=True, capture_output=True,
                   timeout=300)
    # What meson install does on the running system: the files, then the
    # install script (which does nothing into a DESTDIR).
    subprocess.run(f"tar -C '{dest}' -cf - . | tar -C '{m.root}' --keep-directory-symlink -xf -",
                   shell=True, check=True)
    shutil.copy(REPO / "data" / "install-live.sh", m.path("/root/install-live.sh"))
    m.wait_for("dbus-daemon to read the new policy",
               lambda: 'Unknown username "groupd"' in m.journal("-u", "dbus", "-b"))
    m.run("env", "MESON_INSTALL_PREFIX=/usr", "MESON_INSTALL_DESTDIR_PREFIX=/usr",
          "sh", "/root/install-live.sh", "/usr/lib/sysusers.d/groupd.conf",
          "/usr/lib/tmpfiles.d/groupd.conf")
    m.run("systemctl", "enable", "--now", "groupd.service")
    assert active(m) == "active"
    assert bus_owner(m) == main_pid(m)
    assert m.unit("NRestarts")["NRestarts"] == "0"


def test_no_error_lines_from_groupd(machine):
    """Over every boot of this container: nothing groupd's process logged
    (GLib, libcap-ng's syslog, stderr) is at priority err or worse. The only
    err lines about the unit at all are those of the reload this test made
    fail on purpose: busctl's refusal (ExecReload) and systemd's "Reload
    failed"."""
    m = machine
    own = journal_entries(m, "_COMM=groupd")
    assert len(own) > 20, own
    bad = [e["MESSAGE"] for e in own if int(e.get("PRIORITY", 6)) <= 3]
    assert bad == [], "\n".join(bad)

    about = journal_entries(m, "_SYSTEMD_UNIT=groupd.service", "+", "UNIT=groupd.service", "+",
                            "SYSLOG_IDENTIFIER=busctl")
    refused_reload = ("Call failed: the configuration has errors", "60-bad.group",
                      "Reload failed for groupd.service")
    other = [f"{e.get('SYSLOG_IDENTIFIER') or e.get('_COMM')}: {e['MESSAGE']}" for e in about
             if int(e.get("PRIORITY", 6)) <= 3 and not any(r in e["MESSAGE"] for r in refused_reload)]
    assert other == [], "\n".join(other)

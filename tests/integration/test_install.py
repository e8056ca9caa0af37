# SPDX-License-Identifier: LGPL-2.1-or-later
"""`meson install` into a DESTDIR puts every file where Debian expects it.

One fresh build (--prefix=/usr --sysconfdir=/etc) per module, installed with
--destdir into a temporary directory; nothing is installed on the host."""

import configparser
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import gdlib

REPO = Path(__file__).resolve().parents[2]


def pkgconfig_systemd(variable, default):
    """Where systemd's pkg-config file puts things (Debian 12: units in
    /lib/systemd/system, sysusers and tmpfiles under /usr/lib)."""
    proc = subprocess.run(["pkg-config", f"--variable={variable}", "systemd"],
                          capture_output=True, text=True)
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value else default


UNITDIR = pkgconfig_systemd("systemdsystemunitdir", "/lib/systemd/system")
SYSUSERSDIR = pkgconfig_systemd("sysusersdir", "/usr/lib/sysusers.d")
TMPFILESDIR = pkgconfig_systemd("tmpfilesdir", "/usr/lib/tmpfiles.d")
EXAMPLES = "/usr/share/doc/groupd/examples"

# Files (and the one empty directory) the install must produce.
EXPECTED = [
    "/usr/sbin/groupd",
    f"{UNITDIR}/groupd.service",
    f"{SYSUSERSDIR}/groupd.conf",
    f"{TMPFILESDIR}/groupd.conf",
    "/usr/share/dbus-1/system.d/net.groupd1.conf",
    "/usr/share/dbus-1/system-services/net.groupd1.service",
    "/usr/share/dbus-1/interfaces/net.groupd1.Manager.xml",
    "/usr/share/dbus-1/interfaces/net.groupd1.Group.xml",
    "/usr/share/dbus-1/interfaces/net.groupd1.Mptcp.xml",
    "/usr/share/polkit-1/actions/net.groupd1.policy",
    "/etc/groupd/groupd.conf",
    "/etc/groupd/groups.d/",
    f"{EXAMPLES}/groupd.conf",
    f"{EXAMPLES}/ppp-concentrator/50-ppp.group",
    f"{EXAMPLES}/container-host/50-veth.group",
    f"{EXAMPLES}/laptop/10-wifi.group",
    f"{EXAMPLES}/laptop/20-cellular.group",
    "/usr/bin/groupctl",
    "/usr/share/bash-completion/completions/groupctl",
    "/usr/share/man/man8/groupd.8",
    "/usr/share/man/man1/groupctl.1",
    "/usr/share/man/man5/groupd.conf.5",
    "/usr/share/man/man5/groupd.group.5",
    "/usr/share/man/man7/groupd-dbus.7",
]



def _run(cmd, **kw):
    return gdlib.run(cmd, timeout=600, **kw)


@pytest.fixture(scope="module")
def destdir():
    top = Path(tempfile.mkdtemp(prefix="gdt-install-"))
    build, dest = top / "build", top / "dest"
    try:
        _run(["meson", "setup", "--prefix=/usr", "--sysconfdir=/etc", "--wrap-mode=nodownload",
              str(build), str(REPO)])
        _run(["meson", "compile", "-C", str(build)])
        _run(["meson", "install", "-C", str(build), "--no-rebuild", "--destdir", str(dest)])
        yield dest
    finally:
        shutil.rmtree(top, ignore_errors=True)


def installed(dest):
    """Every installed file, and every empty directory with a trailing /."""
    out = set()
    for root, dirs, files in os.walk(dest):
        rel = "/" + os.path.relpath(root, dest)
        for f in files:
            out.add(os.path.normpath(f"{rel}/{f}"))
        if not dirs and not files:
            out.add(os.path.normpath(rel) + "/")
    return out


def test_expected_files(destdir):
    have = installed(destdir)
    missing = [p for p in EXPECTED if p not in have]
    assert not missing, f"not installed: {missing}\ninstalled: {sorted(have)}"
    groupd = destdir / "usr/sbin/groupd"
    assert os.access(groupd, os.X_OK)
    assert gdlib.run([groupd, "--version"]).stdout.startswith("groupd ")


def test_nothing_unexpected(destdir):
    stray = sorted(installed(destdir) - set(EXPECTED))
    assert not stray, f"installed at paths no test expects: {stray}"


def test_installed_files_agree(destdir):
    """The unit starts the installed binary and owns the name the activation
    file and the bus policy are about."""
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(destdir / UNITDIR.lstrip("/") / "groupd.service")
    service = unit["Service"]
    assert service["ExecStart"].split()[0] == "/usr/sbin/groupd"
    assert service["BusName"] == "net.groupd1"
    assert service["User"] == "groupd"

    act = configparser.ConfigParser(interpolation=None)
    act.optionxform = str
    act.read(destdir / "usr/share/dbus-1/system-services/net.groupd1.service")
    entry = act["D-BUS Service"]
    assert entry["Name"] == "net.groupd1"
    assert entry["SystemdService"] == "groupd.service"
    assert (destdir / UNITDIR.lstrip("/") / entry["SystemdService"]).is_file()

    policy = (destdir / "usr/share/dbus-1/system.d/net.groupd1.conf").read_text()
    assert '<policy user="groupd">' in policy and 'own="net.groupd1"' in policy
    _run(["xmllint", "--noout", destdir / "usr/share/dbus-1/system.d/net.groupd1.conf"])
    _run(["xmllint", "--noout", "--dtdvalid", "/usr/share/polkit-1/policyconfig-1.dtd",
          destdir / "usr/share/polkit-1/actions/net.groupd1.policy"])


def test_sysusers_and_tmpfiles(destdir, tmp_path):
    """The installed snippets create the service user, the admin group and
    /run/groupd in a scratch root (never on the host)."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    sysusers = destdir / SYSUSERSDIR.lstrip("/") / "groupd.conf"
    tmpfiles = destdir / TMPFILESDIR.lstrip("/") / "groupd.conf"
    _run(["systemd-sysusers", f"--root={root}", sysusers])
    passwd = {l.split(":")[0]: l.split(":") for l in (root / "etc/passwd").read_text().splitlines()}
    groups = {l.split(":")[0]: l.split(":") for l in (root / "etc/group").read_text().splitlines()}
    assert "groupd" in passwd and "netdev" in groups and "groupd" in groups
    uid, gid = int(passwd["groupd"][2]), int(passwd["groupd"][3])
    assert 0 < uid < 1000 and gid == int(groups["groupd"][2])
    assert passwd["groupd"][6].endswith("nologin")

    proc = _run(["systemd-tmpfiles", f"--root={root}", "--create", tmpfiles])
    assert not proc.stderr.strip(), proc.stderr
    run_groupd = (root / "run/groupd").stat()
    assert (run_groupd.st_uid, run_groupd.st_gid, run_groupd.st_mode & 0o7777) == (uid, gid, 0o755)
    runtime_policies = (root / "run/groupd/groups.d").stat()
    assert (runtime_policies.st_uid, runtime_policies.st_mode & 0o7777) == (0, 0o755)

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bad configuration files: every kind of error is reported with
the file's path, the section, the key and the reason, all errors at once;
a reload keeps the running configuration, a start refuses to run.

Message forms (src/config/config.h):
  "PATH:LINE: reason"              the line cannot be parsed
  "PATH: [Section] Key: reason"    a value is wrong, missing or repeated
  "PATH: [Section]: reason"        a section is unknown
  "PATH: reason"                   the file as a whole
"""

import os
import subprocess

import pytest

import gdlib
from conftest import groupd_bin

BAD = "70-bad.group"


def header(gid=300, name=None):
    return "[Group]\n" + (f"Name={name}\n" if name else "") + f"Id={gid}\n[Match]\nName=zz*\n"


# name → (files {file name: text}, [expected messages]); in the messages,
# {bad} {ppp} {iproute2} {conf} stand for the paths.
CASES = {
    "syntax": (
        {BAD: header() + "[Link]\nMTU 1400\n"},
        ['{bad}:6: "MTU 1400" is not a [Section], Key=Value or # comment line'],
    ),
    "bad-section-line": (
        {BAD: header() + "[Link\nMTU=1400\n"},
        ['{bad}:5: "[Link" is not a valid [Section] line'],
    ),
    "unknown-section": (
        {BAD: header() + "[Mtach]\nName=ifb*\n"},
        ["{bad}: [Mtach]: unknown section"],
    ),
    "unknown-key": (
        {BAD: header() + "[Link]\nSpeed=1000\n"},
        ["{bad}: [Link] Speed: unknown key"],
    ),
    "mtu-zero": (
        {BAD: header() + "[Link]\nMTU=0\n"},
        ['{bad}: [Link] MTU: "0" is out of range (1..2147483647)'],
    ),
    "mtu-abc": (
        {BAD: header() + "[Link]\nMTU=abc\n"},
        ['{bad}: [Link] MTU: "abc" is not a number'],
    ),
    "state": (
        {BAD: header() + "[Link]\nState=sideways\n"},
        ['{bad}: [Link] State: "sideways" is not "up" or "down"'],
    ),
    "mac": (
        {BAD: header() + "[Link]\nMACAddress=02:00:00:00:00:zz\n"},
        ['{bad}: [Link] MACAddress: "02:00:00:00:00:zz" is not a hardware address '
         '(hexadecimal bytes separated by ":")'],
    ),
    "cidr": (
        {BAD: header() + "[Address]\nAddress=10.0.0.1/33 fd00::1/64\nAddress=10.0.0.256/24\n"},
        ['{bad}: [Address] Address: "10.0.0.1/33" is not an IPv4 or IPv6 address with an '
         'optional /prefix',
         '{bad}: [Address] Address: "10.0.0.256/24" is not an IPv4 or IPv6 address with an '
         'optional /prefix'],
    ),
    "repeated-key": (
        {BAD: header() + "[Link]\nMTU=1400\nMTU=1500\n"},
        ["{bad}: [Link] MTU: given more than once (lines 6 and 7)"],
    ),
    "name-is-another-id": (
        # iproute2 says vpn is 200.
        {BAD: header(gid=300, name="vpn")},
        ['{bad}: [Group] Name: "vpn" is group 200 in {iproute2}, not 300'],
    ),
    "id-has-another-name": (
        {BAD: header(gid=200, name="other")},
        ['{bad}: [Group] Id: group 200 is named "vpn" in {iproute2}, not "other"'],
    ),
    "duplicate-id": (
        # 70-bad.group sorts after 50-ppp.group: the later file is blamed.
        {BAD: header(gid=100)},
        ["{bad}: [Group] Id: group 100 is also defined by {ppp}"],
    ),
    "daemon-conf": (
        {"groupd.conf": "[Daemon]\nRepairDrift=maybe\nDriftDebounceSec=0.2\n"},
        ['{conf}: [Daemon] RepairDrift: "maybe" is not "yes" or "no"'],
    ),
    "empty-value": (
        {BAD: header() + "[Link]\nMTU=\n"},
        ["{bad}: [Link] MTU: empty value"],
    ),
    "missing-id": (
        {BAD: "[Group]\nName=newname\n[Match]\nName=zz*\n"},
        ['{bad}: [Group] Id: missing, and "newname" is not in {iproute2}'],
    ),
    "symlink-outside": (
        {BAD: ("symlink", "{outside}")},
        ['{bad}: symlink to "{outside}" leads out of the configuration directories; refused'],
    ),
    "not-a-file": (
        {BAD: ("directory",)},
        ["{bad}: not a regular file"],
    ),
    "group-0-link": (
        {BAD: "[Group]\nId=0\n[Match]\nName=zz*\n[Link]\nMTU=1400\n"},
        ["{bad}: [Group] Id: group 0 (default) holds every link nobody configured, lo and the "
         "uplink included: its policy may not have [Link] or [Address] settings"],
    ),
    "several": (
        {BAD: header() + "[Link]\nMTU=abc\nState=sideways\nSpeed=10\n[Foo]\nBar=1\n",
         "80-worse.group": "[Group]\nId=400\nthis line is wrong\n",
         "groupd.conf": "[Daemon]\nDriftDebounceSec=fast\n"},
        ['{bad}: [Link] MTU: "abc" is not a number',
         '{bad}: [Link] State: "sideways" is not "up" or "down"',
         "{bad}: [Link] Speed: unknown key",
         "{bad}: [Foo]: unknown section",
         '{worse}:3: "this line is wrong" is not a [Section], Key=Value or # comment line',
         '{conf}: [Daemon] DriftDebounceSec: "fast" is not a number of seconds with at most '
         '3 decimals (1, 0.5, …)'],
    ),
}


def good_config(root):
    root.write_iproute2_groups({100: "ppp", 200: "vpn"})
    root.daemon_conf(debounce="0.2")
    return root.write_group("50-ppp.group",
                            gdlib.policy_text(gid=100, name="ppp", match={"Name": "ifb*"},
                                              mtu=1400, state="up", addresses=("10.0.0.1/24",)))


def outside(root):
    """A valid group file outside the configuration directories."""
    path = root.path.parent / "outside.group"
    path.write_text(gdlib.policy_text(gid=300, match={"Name": "zz*"}))
    return path


def write_bad(root, files):
    for file_name, text in files.items():
        if file_name == "groupd.conf":
            root.write_conf(text)
        elif isinstance(text, str):
            root.write_group(file_name, text)
        elif text[0] == "symlink":
            (root.dir() / file_name).symlink_to(text[1].format(outside=outside(root)))
        elif text[0] == "directory":
            (root.dir() / file_name).mkdir()
        else:
            raise ValueError(text)


def remove_bad(root, files):
    for file_name in files:
        path = root.group_path(file_name)
        if file_name == "groupd.conf":
            root.daemon_conf(debounce="0.2")
        elif path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()


def expected(root, messages):
    paths = {
        "bad": root.group_path(BAD),
        "worse": root.group_path("80-worse.group"),
        "ppp": root.group_path("50-ppp.group"),
        "iproute2": root.iproute2_path,
        "conf": root.conf_path,
        "outside": root.path.parent / "outside.group",
    }
    return [m.format(**{k: str(v) for k, v in paths.items()}) for m in messages]


def assert_lists(text, messages):
    """Every message appears in text, each on a line of its own."""
    lines = [l.strip() for l in text.splitlines()]
    missing = [m for m in messages if not any(l.endswith(m) for l in lines)]
    assert not missing, "missing from the error:\n  " + "\n  ".join(missing) + \
        f"\nfull text:\n{text}"


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_refused_on_reload(netns, workdir, groupd_factory, case):
    files, messages = CASES[case]
    names = netns.add_ifbs(8)
    root = gdlib.ConfigRoot(workdir)
    good_config(root)
    client = groupd_factory(config_root=root).client
    policy = gdlib.group_policy(client, 100)
    plan = gdlib.get_plan(client)
    assert not gdlib.policy_violations(netns, names, 100, mtu=1400, up=True,
                                       addresses=("10.0.0.1/24",))
    # The bad files would also change the good one's MTU if they were taken.
    root.write_group("50-ppp.group",
                     gdlib.policy_text(gid=100, name="ppp", match={"Name": "ifb*"}, mtu=1300,
                                       state="up", addresses=("10.0.0.1/24",)))
    write_bad(root, files)
    counters = gdlib.netlink_counters(client)
    snapshot = gdlib.stable_snapshot(netns)

    for flags in (0, 1):  # a dry run reports the same errors
        name, message = gdlib.reload_error(client, flags)
        assert name == gdlib.ERROR_PREFIX + "InvalidArgs", \
            f"Reload({flags}) gave {name}: {message}"
        assert_lists(message, expected(root, messages))

    # The old configuration keeps running.
    assert gdlib.netlink_counters(client) == counters
    gdlib.assert_same_snapshot(snapshot, gdlib.stable_snapshot(netns), "a refused reload")
    assert gdlib.group_policy(client, 100) == policy
    assert gdlib.get_plan(client) == plan
    assert not gdlib.group_object_exists(client, 300)
    netns.ip("link", "set", "dev", "ifb3", "mtu", "9000")
    gdlib.wait_policy(netns, ["ifb3"], 100, timeout=5, mtu=1400)

    # Fixed, the reload goes through (and takes the new MTU).
    remove_bad(root, files)
    gdlib.reload(client)
    assert not gdlib.policy_violations(netns, names, 100, mtu=1300, up=True)


@pytest.mark.parametrize("case", ["several", "duplicate-id", "id-has-another-name"])
def test_bad_config_refuses_start(netns, bus, workdir, case):
    files, messages = CASES[case]
    netns.add_ifbs(4)
    root = gdlib.ConfigRoot(workdir)
    good_config(root)
    write_bad(root, files)
    snapshot = gdlib.stable_snapshot(netns)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
    for var in ("NOTIFY_SOCKET", "DBUS_SESSION_BUS_ADDRESS", "WATCHDOG_USEC", "WATCHDOG_PID"):
        env.pop(var, None)
    cmd = netns.exec_cmd(str(groupd_bin()), f"--config-root={root}")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise AssertionError(f"groupd kept running with a bad configuration:\n{stderr}")
    assert proc.returncode != 0, f"groupd exited 0 with a bad configuration:\n{stderr}"
    assert_lists(stderr, expected(root, messages))
    gdlib.assert_same_snapshot(snapshot, gdlib.stable_snapshot(netns), "a refused start")

# SPDX-License-Identifier: LGPL-2.1-or-later
"""groupctl against a running groupd: golden human output, --json checked
with jq, exit codes, every mutating verb checked with `ip -j`, monitor.

GROUPCTL_BIN names the client (default: <repo>/build/src/groupctl);
GROUPCTL_REGENERATE=1 rewrites the golden files under golden/groupctl/.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import gdlib

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden" / "groupctl"
COMPLETION = REPO / "data" / "completion" / "groupctl"


def groupctl_bin():
    path = Path(os.environ.get("GROUPCTL_BIN", REPO / "build" / "src" / "groupctl"))
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"groupctl not found at {path}: build it or set GROUPCTL_BIN", pytrace=False)
    return path.resolve()


class Ctl:
    def __init__(self, address, netns=None, root=None):
        self.address = address
        self.netns = netns
        self.root = root
        self.bin = groupctl_bin()

    def cmd(self, *args):
        return [str(self.bin), f"--address={self.address}", *[str(a) for a in args]]

    def run(self, *args, rc=0, env=None):
        proc = gdlib.run(self.cmd(*args), check=False, env=env)
        assert proc.returncode == rc, (
            f"groupctl {' '.join(map(str, args))}: exit {proc.returncode}, expected {rc}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def out(self, *args):
        return self.run(*args).stdout

    def json(self, *args):
        out = self.out("--json", *args)
        jq(out, ".")
        return json.loads(out)


def jq(text, filt, *args):
    """`jq -e FILTER`: must exit 0; returns its output."""
    proc = subprocess.run(["jq", "-e", *args, filt], input=text, capture_output=True, text=True)
    assert proc.returncode == 0, f"jq -e {filt!r} failed ({proc.returncode}) on {text!r}: {proc.stderr}"
    return proc.stdout


def normalise(text, ctl=None):
    """What varies from run to run or host to host: ifindexes (first column
    of `links`), the row of group 0 (lo and whatever tunnels the host's
    modules create in every namespace), the config root's path."""
    lines = []
    for line in text.splitlines():
        if re.match(r"^ *0 default ", line):
            line = "<group 0: host-dependent>"
        lines.append(line)
    text = "\n".join(lines) + ("\n" if text.endswith("\n") else "")
    if ctl is not None and ctl.root is not None:
        text = text.replace(str(ctl.root), "<root>")
    return text


def normalise_ifindex(text):
    return "\n".join(
        re.sub(r"^ *\d+(?= )", lambda m: "*".rjust(len(m.group(0))), l)
        if i and not l.endswith(" listed.") else l
        for i, l in enumerate(text.split("\n")))


def golden(name, text):
    path = GOLDEN / name
    if os.environ.get("GROUPCTL_REGENERATE") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"no golden file {path}: run with GROUPCTL_REGENERATE=1"
    expected = path.read_text()
    assert text == expected, f"{name} differs from the golden file:\n--- expected\n{expected}--- got\n{text}"


A = [f"a{i}" for i in range(4)]   # group 100 "ppp"
B = ["b0", "b1"]                  # group 200 "tun"
P = ["p0", "p1"]                  # moved into group 300 "edge" by a policy
V = ["v0", "w0"]                  # group 400, veth (they take a MAC)


@pytest.fixture
def ctl(netns, groupd_factory, workdir):
    netns.add_ifbs(4, prefix="a", group=100)
    netns.add_ifbs(2, prefix="b", group=200)
    netns.add_ifbs(2, prefix="p")
    netns.add_veth_pairs(1, prefix="v", peer_prefix="w", group=400)
    root = gdlib.ConfigRoot(workdir)
    root.write_iproute2_groups({100: "ppp", 200: "tun"})
    root.daemon_conf(repair_drift=False)
    root.write_group("50-edge.group", gdlib.policy_text(
        gid=300, name="edge", match={"Name": "p*"}, mtu=1400))
    daemon = groupd_factory(config_root=root)
    gdlib.wait_policy(netns, P, 300, mtu=1400)
    return Ctl(daemon.client.address, netns, root.path)


# ---- read verbs: golden output ----


def test_read_golden(ctl):
    golden("list.txt", normalise(ctl.out("list")))
    golden("list-no-legend.txt", normalise(ctl.out("list", "--no-legend", "--no-pager")))
    links = ctl.out("links", "100")
    golden("links-100.txt", normalise_ifindex(links))
    assert ctl.out("links", "ppp") == links  # by name, as ip does
    golden("show-100.txt", normalise(ctl.out("show", "100")))
    golden("show-300.txt", normalise(ctl.out("show", "edge"), ctl))
    golden("plan-in-line.txt", ctl.out("plan"))
    # No colour when stdout is not a terminal.
    assert "\033[" not in ctl.out("list") + ctl.out("links") + ctl.out("show", "100")


def test_links_match_kernel(ctl):
    kernel = {l["ifname"]: l for l in ctl.netns.links()}
    rows = [l.split() for l in ctl.out("links", "--no-legend").splitlines()]
    assert {r[1] for r in rows} == set(kernel)
    for r in rows:
        k = kernel[r[1]]
        assert int(r[0]) == k["ifindex"] and int(r[2]) == k["group_id"], r
    # The header is aligned with the values.
    lines = ctl.out("links").splitlines()
    col = lines[0].index("NAME")
    assert all(l[col - 1] == " " for l in lines[1:] if l.strip() and "listed" not in l)


# ---- --json, checked with jq ----


def test_json(ctl):
    kernel = ctl.netns.links()
    status = ctl.out("--json", "status")
    jq(status, '.Version == "0.1.0" and (.LinkCount|type) == "number"')
    jq(status, f".LinkCount == {len(kernel)} and .ResyncCount == 0")
    jq(status, ".GroupCount == 5 and (.NetlinkRequests >= 1) and (.NetlinkSends >= 1)")

    lst = ctl.out("--json", "list")
    jq(lst, '[.Groups[].Id] == [0, 100, 200, 300, 400]')
    jq(lst, '.Groups[] | select(.Id == 100) | .Name == "ppp" and .MemberCount == 4 '
            'and .MTU == 1500 and .State == "down" and .Drifted == 0')
    jq(lst, '.Groups[] | select(.Id == 300) | .Name == "edge" and .MTU == 1400')
    jq(lst, '.Groups[0] | keys == ["Drifted","Id","MTU","MemberCount","Name","State"]')

    links = ctl.out("--json", "links", "tun")
    jq(links, '[.Links[].Name] == ["b0", "b1"]')
    jq(links, 'all(.Links[]; .Group == 200 and .GroupName == "tun" and .MTU == 1500)')
    idx = {l["ifname"]: l["ifindex"] for l in kernel}
    jq(links, f'.Links[0].Index == {idx["b0"]}')
    all_links = json.loads(ctl.out("--json", "links"))["Links"]
    assert sorted((l["Index"], l["Name"], l["Group"], l["MTU"], l["OperState"])
                  for l in all_links) == ctl.netns.kernel_list_links()

    show = ctl.out("--json", "show", "300")
    jq(show, '.Id == 300 and .Name == "edge" and .Members == ["p0","p1"] and .MTU == 1400')
    jq(show, '.Policy.MTU == 1400 and .Policy.Overridden == false and (.Policy.File | endswith("50-edge.group"))')
    jq(show, '.Drifted == 0 and .LastError == "" and .TxQueueLength == 32')
    jq(ctl.out("--json", "show", "100"), '.Policy == {} and .MemberCount == 4')

    plan = ctl.out("--json", "plan")
    jq(plan, '.groups[0].id == 300 and .groups[0].change == null and .groups[0].drifted == 0')


def test_json_escaping(ctl):
    """A name with characters JSON must escape: the output stays valid. A
    backslash in a name is shown doubled (groupd-dbus(7): the shown form)."""
    ctl.netns.ip("link", "add", 'q"\\x', "group", "500", "type", "ifb")
    gdlib.wait_for(lambda: 'q"\\\\x' in ctl.out("links", "500"), 10, what="the new link")
    out = ctl.out("--json", "links", "500")
    jq(out, '.Links[0].Name == "q\\"\\\\\\\\x"')


# ---- mutating verbs, checked with ip -j ----


def test_set(ctl):
    assert ctl.out("set", "ppp", "mtu", "1400", "state", "up", "txqlen", "500") == ""
    links = ctl.netns.links_by_name()
    for n in A:
        assert links[n]["mtu"] == 1400 and gdlib.is_up(links[n]) and links[n]["txqlen"] == 500
    for n in B:
        assert links[n]["mtu"] == 1500 and not gdlib.is_up(links[n])
    jq(ctl.out("--json", "show", "100"), '.MTU == 1400 and .State == "up" and .TxQueueLength == 500')

    mac = "02:00:00:00:04:01"
    ctl.run("set", "400", "mac", mac)
    links = ctl.netns.links_by_name()
    assert [links[n]["address"] for n in V] == [mac, mac]

    # An error from groupd: its name and message, exit 1, nothing changed.
    before = gdlib.stable_snapshot(ctl.netns)
    p = ctl.run("set", "100", "mtu", "0", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.InvalidArgs: "), p.stderr
    p = ctl.run("set", "nosuchgroup", "mtu", "1400", rc=1)
    assert "net.groupd1.Error.NoSuchGroup" in p.stderr
    gdlib.assert_same_snapshot(before, gdlib.stable_snapshot(ctl.netns))


def test_default_group_needs_force(ctl):
    before = gdlib.stable_snapshot(ctl.netns)
    p = ctl.run("set", "0", "txqlen", "1234", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.DefaultGroupProtected: "), p.stderr
    p = ctl.run("address", "add", "default", "192.0.2.1/32", rc=1)
    assert "net.groupd1.Error.DefaultGroupProtected" in p.stderr
    gdlib.assert_same_snapshot(before, gdlib.stable_snapshot(ctl.netns))

    ctl.run("set", "0", "txqlen", "1234", "--force")
    members = [l for l in ctl.netns.links() if l["group_id"] == 0]
    assert members and all(l["txqlen"] == 1234 for l in members)


def test_join(ctl):
    out = ctl.out("join", "tun", "a0", "a1", "b0")
    assert out == "Moved 2 links into group tun.\n"
    links = ctl.netns.links_by_name()
    assert [links[n]["group_id"] for n in ("a0", "a1", "a2", "b0")] == [200, 200, 100, 200]
    assert ctl.out("join", "100", "a0") == "Moved 1 link into group 100.\n"
    jq(ctl.out("--json", "join", "100", "a0", "a1"), ".Moved == 1")
    assert ctl.netns.links_by_name()["a1"]["group_id"] == 100

    before = gdlib.stable_snapshot(ctl.netns)
    p = ctl.run("join", "200", "a2", "nosuchlink", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.NoSuchLink: "), p.stderr
    gdlib.assert_same_snapshot(before, gdlib.stable_snapshot(ctl.netns))


def test_address(ctl):
    ctl.run("address", "add", "ppp", "10.9.0.1/24")
    ctl.run("address", "add", "100", "fd00:9::1/64")
    addrs = ctl.netns.addrs()
    for n in A:
        assert "10.9.0.1/24" in addrs.get(n, []) and "fd00:9::1/64" in addrs.get(n, [])
    for n in B:
        assert "10.9.0.1/24" not in addrs.get(n, [])
    ctl.run("address", "del", "100", "10.9.0.1/24")
    addrs = ctl.netns.addrs()
    assert not any("10.9.0.1/24" in addrs.get(n, []) for n in A)
    assert all("fd00:9::1/64" in addrs.get(n, []) for n in A)

    p = ctl.run("address", "del", "100", "10.9.0.1/24", rc=1)
    assert "net.groupd1.Error.InvalidArgs" in p.stderr
    p = ctl.run("address", "add", "100", "not-an-address", rc=1)
    assert "net.groupd1.Error.InvalidArgs" in p.stderr
    ctl.run("address", "frob", "100", "10.9.0.1/24", rc=2)

    ctl.run("address", "add", "0", "192.0.2.7/32", "--force")
    addrs = ctl.netns.addrs()
    assert all("192.0.2.7/32" in addrs.get(l["ifname"], [])
               for l in ctl.netns.links() if l["group_id"] == 0)


def test_plan_and_reload(ctl):
    ctl.netns.ip("link", "set", "p1", "mtu", "1500")  # drift; RepairDrift=no keeps it
    gdlib.wait_for(lambda: json.loads(ctl.out("--json", "plan"))["groups"][0]["drifted"] == 1,
                   10, what="the plan to show the drift")
    golden("plan-drift.txt", ctl.out("plan"))

    requests = ctl.json("status")["NetlinkRequests"]
    out = ctl.out("reload", "--dry-run")
    golden("reload-dry-run.txt", out)
    jq(ctl.out("reload", "--dry-run", "--json"),
       '.groups[0].change.MTU.to == 1400 and .groups[0].change.MTU.from[0].links == ["p1"]')
    assert ctl.json("status")["NetlinkRequests"] == requests
    assert ctl.netns.links_by_name()["p1"]["mtu"] == 1500

    golden("reload.txt", ctl.out("reload"))
    assert ctl.netns.links_by_name()["p1"]["mtu"] == 1400
    assert ctl.json("status")["NetlinkRequests"] > requests

    # A bad configuration: refused with every error, exit 1, nothing changed.
    (Path(ctl.root) / gdlib.ADMIN_DIR / "60-bad.group").write_text("[Group]\nId=nope\n")
    p = ctl.run("reload", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.InvalidArgs: "), p.stderr
    assert "60-bad.group" in p.stderr


# ---- exit codes ----


@pytest.mark.parametrize("args", [
    [], ["frobnicate"], ["--frobnicate", "list"], ["show"], ["show", "1", "2"], ["join", "100"],
    ["set", "100"], ["set", "100", "mtu"], ["set", "100", "mtu", "big"], ["set", "100", "state", "sideways"],
    ["set", "100", "colour", "blue"], ["address", "add", "100"], ["monitor", "--count", "0"],
    ["links", "1", "2"],
])
def test_usage_exit_2(args):
    # No bus is needed to find bad usage: the address is never reached.
    p = gdlib.run([groupctl_bin(), "--address=unix:path=/nonexistent", *args], check=False)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert "Usage: groupctl" in p.stderr and p.stdout == ""


def test_help_and_version():
    p = gdlib.run([groupctl_bin(), "--help"])
    assert "Usage: groupctl" in p.stdout and "monitor" in p.stdout
    assert gdlib.run([groupctl_bin(), "--version"]).stdout == "groupctl 0.1.0\n"


@pytest.mark.parametrize("verb", [["status"], ["list"], ["set", "100", "mtu", "1400"], ["monitor"]])
def test_no_bus_exit_3(verb):
    p = gdlib.run([groupctl_bin(), "--address=unix:path=/nonexistent", *verb], check=False)
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert p.stderr.startswith("groupctl: cannot connect to the bus"), p.stderr


def test_no_daemon_exit_3(bus):
    """A bus without groupd: the bus's error name, exit 3."""
    for verb in (["status"], ["list"], ["monitor"]):
        p = gdlib.run([groupctl_bin(), f"--address={bus.address}", *verb], check=False)
        assert p.returncode == 3, (p.stdout, p.stderr)
        assert "org.freedesktop.DBus.Error.ServiceUnknown" in p.stderr \
            or "org.freedesktop.DBus.Error.NameHasNoOwner" in p.stderr, p.stderr
    # The system bus's environment variable works as --address does.
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
    p = gdlib.run([groupctl_bin(), "list"], check=False, env=env)
    assert p.returncode == 3 and "ServiceUnknown" in p.stderr, p.stderr


def test_system_bus_env(ctl):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=ctl.address)
    p = gdlib.run([groupctl_bin(), "list"], env=env)
    assert p.stdout == ctl.out("list")


# ---- monitor ----


def start_monitor(ctl, *args):
    proc = subprocess.Popen(ctl.cmd("monitor", *args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # printed once the match rules are in place
    assert line.startswith("Monitoring net.groupd1"), line
    return proc


def test_monitor_count(ctl):
    proc = start_monitor(ctl, "--count", "1")
    try:
        ctl.run("set", "100", "mtu", "1300")
        out, err = proc.communicate(timeout=10)
    finally:
        gdlib.terminate(proc)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert re.match(r"^(LinksChanged: 4 changed \(a0 a1 a2 a3\), 0 removed"
                    r"|PropertiesChanged group 100: .*MTU=1300.*)$", lines[0]), lines[0]


def test_monitor_json_and_sigint(ctl):
    proc = start_monitor(ctl, "--json")
    try:
        ctl.run("set", "200", "state", "up")
        ctl.run("join", "100", "b0")
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        gdlib.terminate(proc)
    assert proc.returncode == 0, err
    events = [json.loads(l) for l in out.splitlines()]
    for l in out.splitlines():
        jq(l, ".Signal | type == \"string\"")
    links_changed = [e for e in events if e["Signal"] == "LinksChanged"]
    assert links_changed, events
    assert any({c["Name"] for c in e["Changed"]} == {"b0", "b1"} for e in links_changed), events
    assert any([c["Name"] for c in e["Changed"]] == ["b0"] and e["Changed"][0]["Group"] == 100
               for e in links_changed), events
    props = [e for e in events if e["Signal"] == "PropertiesChanged"]
    assert any(e["Path"] == "/net/groupd1/group/200" and e["Arguments"][1].get("State") == "up"
               for e in props), events


# ---- bash completion ----


def complete(ctl, line):
    """The words bash completion offers for `line` (the cursor at its end)."""
    if shutil.which("bash") is None:
        pytest.fail("bash is missing")
    words = line.split(" ")
    script = (
        f"source {COMPLETION}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\nCOMP_LINE={line!r}\nCOMP_POINT=${{#COMP_LINE}}\n"
        "_groupctl groupctl\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    env = dict(os.environ, PATH=f"{ctl.bin.parent}:{os.environ['PATH']}")
    p = gdlib.run(["bash", "-c", script], env=env)
    return sorted(w for w in p.stdout.splitlines() if w)


def test_completion(ctl):
    assert COMPLETION.is_file()
    addr = f"--address={ctl.address}"
    assert complete(ctl, "groupctl l") == ["links", "list"]
    assert "--no-legend" in complete(ctl, "groupctl --no-l")
    assert complete(ctl, f"groupctl {addr} show ") == sorted(
        ["0", "default", "100", "ppp", "200", "tun", "300", "edge", "400"])
    assert complete(ctl, f"groupctl {addr} show e") == ["edge"]
    assert complete(ctl, f"groupctl {addr} join ppp b") == ["b0", "b1"]
    assert complete(ctl, f"groupctl {addr} set 100 st") == ["state"]
    assert complete(ctl, f"groupctl {addr} set 100 state ") == ["down", "up"]
    assert complete(ctl, f"groupctl {addr} address ") == ["add", "del"]

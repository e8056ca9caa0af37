# SPDX-License-Identifier: LGPL-2.1-or-later
"""groupctl mptcp against a running groupd with an MPTCP failover policy:
status (human, golden, and --json checked with jq against `ip -j mptcp`),
mode / prefer / failover checked with the kernel's endpoints, monitor of
ActiveGroupChanged, errors and exit codes, bash completion.

Two namespaces: the test's (groupd's) and a peer, joined by two veth pairs,
wlan0/wlan0p (10.1.0.2 - 10.1.0.1) and wwan0/wwan0p (10.2.0.2 - 10.2.0.1),
with a default route over each (wlan0 first) to the peer's 10.9.0.1 on lo,
as a laptop has. wlan0 is group 10 "wifi", wwan0 group 20 "cellular", each with an [MPTCP]
section; groupd.conf has Mode=failover, Preference=wifi cellular. Carrier
loss is the peer's end going down. Both namespaces are removed in teardown.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gdlib
from test_groupctl import Ctl, complete, golden, groupctl_bin, jq

MPTCP_PATH = "/net/groupd1/mptcp"
MPTCP_IFACE = "net.groupd1.Mptcp"
HOLD_DOWN = 1  # seconds: HoldDownSec= of the fixture
WIFI, CELL = "10.1.0.2", "10.2.0.2"
PEER_WIFI = "10.1.0.1"
SERVICE = "10.9.0.1"  # on the peer's lo, reached by the default routes
PORT = 5201
IPPROTO_MPTCP = 262
WAIT = 20  # generous upper bound for "it happened at all" (2 shared cores)
ENDPOINT_FLAGS = {"signal", "subflow", "backup", "fullmesh", "laminar", "implicit"}

GROUP_FILE = """[Group]
Name={name}
Id={gid}

[Match]
Name={link}

[MPTCP]
Endpoint=subflow
"""


def mptcp_conf(owner="groupd"):
    return ("[Daemon]\nDriftDebounceSec=0.2\n\n[MPTCP]\n"
            f"Mode=failover\nPreference=wifi cellular\nHoldDownSec={HOLD_DOWN}\n"
            f"Owner={owner}\nStallDetectMSec=0\n")


class MptcpCtl(Ctl):
    def __init__(self, address, netns, root, daemon):
        super().__init__(address, netns, root)
        self.daemon = daemon

    def status(self):
        return self.json("mptcp")

    def kernel_endpoints(self):
        """{address: (id, dev, sorted flags)} from `ip -j mptcp endpoint show`
        (iproute2 6.1 writes each flag as a key of value true)."""
        out = {}
        for e in self.netns.ip_json("mptcp", "endpoint", "show"):
            flags = sorted(k for k, v in e.items() if v is True and k in ENDPOINT_FLAGS)
            out[e["address"]] = (e["id"], e.get("dev", ""), flags)
        return out

    def kernel_limits(self):
        """`ip mptcp limits show` ("add_addr_accepted 0 subflows 2": no JSON
        in iproute2 6.1) as a dict."""
        words = self.netns.ip("mptcp", "limits", "show").split()
        return {words[i]: int(words[i + 1]) for i in range(0, len(words), 2)}

    def wait_kernel(self, want, what):
        """Waits until the kernel's endpoints are exactly want
        ({address: sorted flags}); returns them with ids and devices."""
        got = {}

        def check():
            nonlocal got
            got = self.kernel_endpoints()
            return {a: f for a, (_, _, f) in got.items()} == want

        gdlib.wait_for(check, WAIT, what=f"{what}: endpoints {want} (have {got})")
        return got

    def wait_active(self, group):
        gdlib.wait_for(lambda: self.status()["ActiveGroup"] == group, WAIT,
                       what=f"ActiveGroup {group!r}")


@pytest.fixture
def peer(netns):
    """The other end of the links: a second namespace, removed in teardown."""
    name = f"{netns.name}-peer"
    gdlib.run(["ip", "netns", "add", name])
    try:
        yield name
    finally:
        gdlib.run(["ip", "netns", "del", name], check=False)


def make_links(netns, peer):
    netns.batch([f"link add wlan0 type veth peer name wlan0p netns {peer}",
                 f"link add wwan0 type veth peer name wwan0p netns {peer}",
                 f"addr add {WIFI}/24 dev wlan0",
                 f"addr add {CELL}/24 dev wwan0",
                 "link set wlan0 up", "link set wwan0 up"])
    gdlib.run(["ip", "-n", peer, "-batch", "-"],
              input=f"addr add {PEER_WIFI}/24 dev wlan0p\n"
                    "addr add 10.2.0.1/24 dev wwan0p\n"
                    f"addr add {SERVICE}/32 dev lo\n"
                    "link set lo up\nlink set wlan0p up\nlink set wwan0p up\n")
    netns.batch([f"route add default via {PEER_WIFI} dev wlan0 metric 100",
                 "route add default via 10.2.0.1 dev wwan0 metric 200"])
    for link in ("wlan0", "wwan0"):
        gdlib.wait_operstate(netns, link, "UP")


def start_groupd(netns, peer, groupd_factory, workdir, owner="groupd"):
    root = gdlib.ConfigRoot(workdir)
    root.write_iproute2_groups({10: "wifi", 20: "cellular"})
    # Owner=groupd in most tests: whether the host runs an mptcpd of its own
    # is not their business.
    root.write_conf(mptcp_conf(owner))
    root.write_group("10-wifi.group", GROUP_FILE.format(name="wifi", gid=10, link="wlan0"))
    root.write_group("20-cellular.group",
                     GROUP_FILE.format(name="cellular", gid=20, link="wwan0"))
    daemon = groupd_factory(config_root=root)
    ctl = MptcpCtl(daemon.client.address, netns, root.path, daemon)
    ctl.peer = peer
    return ctl


@pytest.fixture
def mctl(netns, peer, groupd_factory, workdir):
    make_links(netns, peer)
    # Strict reverse-path filtering on wlan0, which groupd relaxes; wwan0
    # keeps the namespace's default 0 (off), which is already loose enough.
    gdlib.run(netns.exec_cmd("sysctl", "-q", "-w", "net.ipv4.conf.wlan0.rp_filter=1"))
    ctl = start_groupd(netns, peer, groupd_factory, workdir)
    # Failover: an endpoint on each group, the cellular one a backup.
    ctl.wait_kernel({WIFI: ["subflow"], CELL: ["backup", "subflow"]}, "start")
    ctl.wait_active("wifi")
    return ctl


def sysctl(netns, name):
    return gdlib.run(netns.exec_cmd("sysctl", "-n", name)).stdout.strip()


# ---- status ----


def test_status_json_matches_kernel(mctl):
    out = mctl.out("--json", "mptcp")
    assert mctl.out("--json", "mptcp", "status") == out
    jq(out, 'keys_unsorted == ["Mode","Preference","ActiveGroup","Endpoints","Limits",'
            '"Connections","Owner","OwnerDetail","Health","SysctlChanges","FailoverCount",'
            '"LastError"]')
    jq(out, '.Mode == "failover" and .Preference == ["wifi","cellular"] '
            'and .ActiveGroup == "wifi" and .Owner == "groupd" and .LastError == "" '
            'and (.FailoverCount | type) == "number" and .Connections == []')
    jq(out, '.Health == [{"Group":"wifi","State":"active","Reason":""},'
            '{"Group":"cellular","State":"standby","Reason":""}]')
    status = json.loads(out)

    # Endpoints: exactly the kernel's, field by field.
    kernel = mctl.kernel_endpoints()
    assert {e["Address"]: (e["Id"], e["Interface"], sorted(e["Flags"]))
            for e in status["Endpoints"]} == kernel
    assert {e["Address"]: e["Group"] for e in status["Endpoints"]} == {
        WIFI: "wifi", CELL: "cellular"}
    assert kernel[WIFI][1] == "wlan0" and kernel[CELL][1] == "wwan0"

    # Limits: the kernel's.
    assert status["Limits"] == mctl.kernel_limits()

    # SysctlChanges: exactly what groupd changed, as the namespace says now.
    assert status["SysctlChanges"] == [
        {"Path": "net/mptcp/stale_loss_cnt", "Previous": "4", "Value": "2"},
        {"Path": "net/ipv4/conf/wlan0/rp_filter", "Previous": "1", "Value": "2"}], status
    assert sysctl(mctl.netns, "net.mptcp.stale_loss_cnt") == "2"
    assert sysctl(mctl.netns, "net.ipv4.conf.wlan0.rp_filter") == "2"
    assert sysctl(mctl.netns, "net.ipv4.conf.wwan0.rp_filter") == "0"


def test_status_human(mctl):
    out = mctl.out("mptcp")
    assert mctl.out("mptcp", "status") == out
    assert "\033[" not in out  # not a terminal: no colour
    golden("mptcp-status.txt", out)
    # Every endpoint of the kernel is a row of the endpoint table.
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^ *(\d+) (\S+) +(\S+) +(\S+) +(.+)$", line)
        if m:
            rows[m.group(2)] = (int(m.group(1)), m.group(3), sorted(m.group(5).split()))
    assert rows == mctl.kernel_endpoints()
    # --no-legend drops the tables' headers (and so may narrow columns).
    bare = mctl.out("mptcp", "--no-legend")
    assert [l.split() for l in out.splitlines() if not re.match(r"^(GROUP|ID|TOKEN) ", l)] == \
        [l.split() for l in bare.splitlines()]


SERVER = f"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, {IPPROTO_MPTCP})
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("{SERVICE}", {PORT}))
s.listen()
print("ready", flush=True)
c, _ = s.accept()
while data := c.recv(4096):
    c.sendall(data)
"""

CLIENT = f"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, {IPPROTO_MPTCP})
s.connect(("{SERVICE}", {PORT}))
# Data both ways: the connection is then fully established, and only then
# does the kernel open subflows from the other endpoints.
s.sendall(b"ping")
assert s.recv(4) == b"ping"
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


def kernel_subflows(netns):
    """{"addr:port": {"dev": bound device or "", "backup": bool}} of the
    namespace's established TCP subflows, from `ss -tniMH`."""
    out = gdlib.run(netns.exec_cmd("ss", "-tniMH", "state", "established")).stdout
    subs, last = {}, None
    for line in out.splitlines():
        fields = line.split()
        if not line[:1].isspace():
            # "tcp 0 0 10.2.0.2%wwan0:53065 10.9.0.1:5201"; "mptcp …" is the
            # MPTCP socket itself, not a subflow.
            last = None
            if fields[0] != "tcp":
                continue
            m = re.match(r"^(.+?)(?:%(\S+))?:(\d+)$", fields[-2])
            last = f"{m.group(1)}:{m.group(3)}"
            subs[last] = {"dev": m.group(2) or "", "backup": False, "mptcp": False}
        elif last and "tcp-ulp-mptcp" in line:
            m = re.search(r"\bflags:(\S+)", line)
            subs[last]["mptcp"] = True
            subs[last]["backup"] = bool(m and re.search(r"[bB]", m.group(1)))
    return {k: {"dev": v["dev"], "backup": v["backup"]} for k, v in subs.items() if v["mptcp"]}


@pytest.fixture
def connection(mctl):
    """One MPTCP connection from wlan0 to the peer's service, with data
    exchanged, once groupd lists it with the extra subflow the cellular
    (backup) endpoint opened. Returns (its Connections entry, the kernel's
    subflows)."""
    procs = []
    try:
        server = subprocess.Popen(["ip", "netns", "exec", mctl.peer, sys.executable, "-c",
                                   SERVER], stdout=subprocess.PIPE, text=True)
        procs.append(server)
        assert server.stdout.readline().strip() == "ready"
        client = subprocess.Popen(mctl.netns.exec_cmd(sys.executable, "-c", CLIENT),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(client)
        port = int(client.stdout.readline())

        def with_wwan0():
            conns = mctl.status()["Connections"]
            return len(conns) == 1 and any(f["Local"].startswith(f"{CELL}:")
                                           for f in conns[0]["Subflows"])

        try:
            gdlib.wait_for(with_wwan0, WAIT, what="a subflow from 10.2.0.2 in Connections")
        except AssertionError:
            ss = gdlib.run(mctl.netns.exec_cmd("ss", "-tniMH")).stdout
            raise AssertionError(f"Connections: {mctl.status()['Connections']}\nss: {ss}")
        conn = mctl.status()["Connections"][0]
        assert conn["Local"] == f"{WIFI}:{port}" and conn["Remote"] == f"{SERVICE}:{PORT}", conn
        yield conn, kernel_subflows(mctl.netns)
    finally:
        for p in procs:
            gdlib.terminate(p)


def test_connections(mctl, connection):
    """groupd lists the kernel's subflows; groupctl shows what groupd lists."""
    conn, kernel = connection
    remote = f"{SERVICE}:{PORT}"
    assert conn["Token"] > 0
    assert {f["Local"] for f in conn["Subflows"]} == set(kernel), (conn, kernel)
    for sub in conn["Subflows"]:
        assert sub["Remote"] == remote, sub
        if kernel[sub["Local"]]["dev"]:  # bound to its endpoint's device
            assert sub["Interface"] == kernel[sub["Local"]]["dev"], (sub, kernel)
    wwan = [f for f in conn["Subflows"] if f["Local"].startswith(f"{CELL}:")]
    assert len(wwan) == 1 and wwan[0]["Interface"] == "wwan0", conn

    # The human table: the connection, then one row per subflow.
    human = mctl.out("mptcp")
    token = f"{conn['Token']:08x}"
    lines = human.splitlines()
    row = next(i for i, l in enumerate(lines) if l.startswith(token + " "))
    n = len(conn["Subflows"])
    assert lines[row].split() == [token, conn["Local"], remote, str(n),
                                  "subflow" if n == 1 else "subflows"], lines[row]
    assert [l.split() for l in lines[row + 1: row + 1 + n]] == [
        [f["Local"], remote, f["Interface"] or "-"] + (["(backup)"] if f["Backup"] else [])
        for f in conn["Subflows"]], human


# ---- mutations, checked with ip -j mptcp ----


def test_failover_and_return(mctl):
    count = mctl.status()["FailoverCount"]
    mon = start_monitor(mctl, "--count", "2")
    try:
        start = time.monotonic()
        assert mctl.out("mptcp", "failover") == ""
        # wifi is held down: its endpoint is gone, cellular's is no backup.
        after = mctl.wait_kernel({CELL: ["subflow"]}, "failover")
        st = mctl.status()
        assert st["ActiveGroup"] == "cellular" and st["FailoverCount"] == count + 1
        health = {h["Group"]: h for h in st["Health"]}
        if time.monotonic() - start < HOLD_DOWN:
            assert health["wifi"]["State"] == "hold-down", health
        assert after[CELL][1] == "wwan0"
        # After the hold-down, wifi (preferred, healthy) is active again.
        mctl.wait_kernel({WIFI: ["subflow"], CELL: ["backup", "subflow"]}, "return")
        out, err = mon.communicate(timeout=WAIT + HOLD_DOWN)
    finally:
        gdlib.terminate(mon)
    assert mon.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert re.match(r"^ActiveGroupChanged: wifi -> cellular: .*Failover", lines[0]), lines
    assert re.match(r"^ActiveGroupChanged: cellular -> wifi: .+$", lines[1]), lines
    st = mctl.status()
    assert st["ActiveGroup"] == "wifi" and st["FailoverCount"] == count + 2


def test_failover_to_group(mctl):
    mctl.run("mptcp", "failover", "cellular")
    mctl.wait_kernel({CELL: ["subflow"]}, "failover cellular")
    assert mctl.status()["ActiveGroup"] == "cellular"


def test_prefer(mctl):
    assert mctl.out("mptcp", "prefer", "cellular", "wifi") == ""
    mctl.wait_kernel({WIFI: ["backup", "subflow"], CELL: ["subflow"]}, "prefer cellular")
    st = mctl.status()
    assert st["Preference"] == ["cellular", "wifi"] and st["ActiveGroup"] == "cellular"
    # By number too, as ip does.
    mctl.run("mptcp", "prefer", "10", "20")
    mctl.wait_kernel({WIFI: ["subflow"], CELL: ["backup", "subflow"]}, "prefer 10 20")
    assert mctl.status()["Preference"] == ["wifi", "cellular"]


def test_modes(mctl):
    mctl.run("mptcp", "mode", "power-save")
    mctl.wait_kernel({WIFI: ["subflow"]}, "power-save")
    assert mctl.status()["Mode"] == "power-save"
    mctl.run("mptcp", "mode", "aggregate")
    mctl.wait_kernel({WIFI: ["subflow"], CELL: ["subflow"]}, "aggregate")
    mctl.run("mptcp", "mode", "off")
    mctl.wait_kernel({}, "off")
    st = mctl.status()
    assert st["Mode"] == "off" and st["ActiveGroup"] == "" and st["Owner"] == "none"
    # Nothing to fail over in mode off.
    p = mctl.run("mptcp", "failover", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.NotPossible: "), p.stderr
    mctl.run("mptcp", "mode", "failover")
    mctl.wait_kernel({WIFI: ["subflow"], CELL: ["backup", "subflow"]}, "failover again")


def test_reload_forgets_runtime_changes(mctl):
    """mode and prefer hold until the next reload, as groupctl(1) says."""
    mctl.run("mptcp", "prefer", "cellular", "wifi")
    mctl.run("mptcp", "mode", "power-save")
    mctl.wait_kernel({CELL: ["subflow"]}, "power-save on cellular")
    mctl.run("reload")
    mctl.wait_kernel({WIFI: ["subflow"], CELL: ["backup", "subflow"]}, "after the reload")
    st = mctl.status()
    assert st["Mode"] == "failover" and st["Preference"] == ["wifi", "cellular"], st


def test_carrier_loss(mctl):
    mon = start_monitor(mctl, "--json", "--count", "1")
    try:
        gdlib.run(["ip", "-n", mctl.peer, "link", "set", "wlan0p", "down"])
        mctl.wait_kernel({CELL: ["subflow"]}, "carrier lost")
        out, err = mon.communicate(timeout=WAIT)
    finally:
        gdlib.terminate(mon)
    assert mon.returncode == 0, err
    jq(out, '.Signal == "ActiveGroupChanged" and .Group == "cellular" and .Previous == "wifi" '
            'and (.Reason | test("wlan0"))')
    st = mctl.status()
    health = {h["Group"]: h for h in st["Health"]}
    assert health["wifi"]["State"] == "down" and "wlan0" in health["wifi"]["Reason"], health
    assert health["cellular"]["State"] == "active"
    human = mctl.out("mptcp")
    assert re.search(r"^wifi +down +.*wlan0", human, re.M), human

    # Both down: no active group ("" on the bus, "-" for a human).
    mon = start_monitor(mctl, "--count", "1")
    try:
        gdlib.run(["ip", "-n", mctl.peer, "link", "set", "wwan0p", "down"])
        mctl.wait_kernel({}, "both down")
        out, err = mon.communicate(timeout=WAIT)
    finally:
        gdlib.terminate(mon)
    assert re.match(r"^ActiveGroupChanged: cellular -> -: .*wwan0", out), out
    st = mctl.status()
    assert st["ActiveGroup"] == "" and {h["State"] for h in st["Health"]} == {"down"}, st
    assert "  ActiveGroup: -\n" in mctl.out("mptcp")
    p = mctl.run("mptcp", "failover", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.NotPossible: "), p.stderr


def test_errors(mctl):
    before = mctl.kernel_endpoints()
    p = mctl.run("mptcp", "prefer", "wifi", "nosuchgroup", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.NoSuchGroup: "), p.stderr
    # Group 0 exists (lo) but has no [MPTCP] section.
    p = mctl.run("mptcp", "prefer", "wifi", "default", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.InvalidArgs: "), p.stderr
    p = mctl.run("mptcp", "prefer", "wifi", "wifi", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.InvalidArgs: "), p.stderr
    p = mctl.run("mptcp", "failover", "nosuchgroup", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.NoSuchGroup: "), p.stderr
    # The bus's own check of the value, past groupctl's.
    got, _ = mctl.daemon.client.gdbus("SetMode", "'sideways'", path=MPTCP_PATH, iface=MPTCP_IFACE)
    assert got == "net.groupd1.Error.InvalidArgs"
    assert mctl.kernel_endpoints() == before
    assert mctl.status()["Preference"] == ["wifi", "cellular"]


def test_not_root(mctl):
    env = None
    nobody = ["setpriv", f"--reuid={gdlib.NOBODY}", f"--regid={gdlib.NOBODY}", "--clear-groups"]
    p = gdlib.run([*nobody, *mctl.cmd("--json", "mptcp")], env=env)
    jq(p.stdout, '.ActiveGroup == "wifi"')
    before = mctl.kernel_endpoints()
    for args in (["mode", "off"], ["prefer", "cellular"], ["failover"]):
        p = gdlib.run([*nobody, *mctl.cmd("mptcp", *args)], check=False)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        assert p.stderr.startswith("groupctl: net.groupd1.Error.AccessDenied: "), p.stderr
    assert mctl.kernel_endpoints() == before


# ---- monitor ----


def start_monitor(ctl, *args):
    proc = subprocess.Popen(ctl.cmd("mptcp", "monitor", *args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # printed once the match rules are in place
    assert line.startswith("Monitoring net.groupd1 MPTCP"), line
    return proc


def test_monitor_ends_with_groupd(mctl):
    mon = start_monitor(mctl)
    try:
        assert mctl.daemon.terminate() == 0
        out, err = mon.communicate(timeout=WAIT)
    finally:
        gdlib.terminate(mon)
    assert mon.returncode == 3 and "groupd left the bus" in err, (out, err)


def test_foreign_endpoints(netns, peer, groupd_factory, workdir):
    """Owner=auto with an endpoint someone else made: groupd leaves the
    endpoints alone, groupctl says who owns them and why, Failover is
    NotPossible."""
    make_links(netns, peer)
    netns.ip("mptcp", "endpoint", "add", WIFI, "dev", "wlan0", "signal")
    ctl = start_groupd(netns, peer, groupd_factory, workdir, owner="auto")
    before = ctl.kernel_endpoints()
    st = ctl.status()
    assert st["Owner"] == "foreign-endpoints" and st["OwnerDetail"], st
    assert [(e["Address"], e["Group"], e["Flags"]) for e in st["Endpoints"]] == \
        [(WIFI, "", ["signal"])]
    human = ctl.out("mptcp")
    assert f"        Owner: foreign-endpoints ({st['OwnerDetail']})\n" in human, human
    assert re.search(rf"^ *\d+ {re.escape(WIFI)} +wlan0 +\(not groupd's\) +signal$", human,
                     re.M), human
    p = ctl.run("mptcp", "failover", rc=1)
    assert p.stderr.startswith("groupctl: net.groupd1.Error.NotPossible: "), p.stderr
    gdlib.stays(lambda: ctl.kernel_endpoints() == before, 1.0, what="the foreign endpoint alone")


# ---- the shipped examples ----


def test_laptop_examples(netns, groupd_factory, workdir):
    """data/examples/groupd.conf with the two lines it suggests for the
    laptop, and data/examples/laptop/*.group: groupd takes them, in failover
    mode over wifi then cellular (no wlan or wwan device here: both down)."""
    examples = Path(__file__).resolve().parents[2] / "data" / "examples"
    conf = (examples / "groupd.conf").read_text()
    m = re.search(r"laptop.*?\n((?:#   \w+=.*\n)+)", conf, re.S)
    assert m, "the example groupd.conf no longer shows the laptop's lines"
    laptop = [l[len("#   "):] for l in m.group(1).splitlines()]
    assert laptop == ["Mode=failover", "Preference=wifi cellular"], laptop
    # The laptop lines go into the last section, [MPTCP].
    assert re.findall(r"^\[(\w+)\]$", conf, re.M) == ["Daemon", "MPTCP"]
    root = gdlib.ConfigRoot(workdir)
    root.write_conf(conf + "\n".join(laptop) + "\n")
    for path in sorted((examples / "laptop").glob("*.group")):
        root.write_group(path.name, path.read_text())
    daemon = groupd_factory(config_root=root)
    ctl = Ctl(daemon.client.address, netns, root.path)
    out = ctl.out("--json", "mptcp")
    jq(out, '.Mode == "failover" and .Preference == ["wifi","cellular"] and .ActiveGroup == ""')
    jq(out, '[.Health[] | .Group] == ["wifi","cellular"] and all(.Health[]; .State == "down")')
    assert netns.ip_json("mptcp", "endpoint", "show") == []
    # The example as installed (every key at its default): MPTCP off.
    root.write_conf(conf)
    daemon.client.call("Reload", "u", 0)
    jq(ctl.out("--json", "mptcp"), '.Mode == "off" and .Owner == "none"')


# ---- usage, no bus ----


@pytest.mark.parametrize("args", [
    ["mptcp", "frob"], ["mptcp", "status", "x"], ["mptcp", "mode"], ["mptcp", "mode", "fast"],
    ["mptcp", "mode", "off", "on"], ["mptcp", "prefer"], ["mptcp", "failover", "a", "b"],
    ["mptcp", "monitor", "x"], ["mptcp", "monitor", "--count", "0"],
])
def test_usage_exit_2(args):
    p = gdlib.run([groupctl_bin(), "--address=unix:path=/nonexistent", *args], check=False)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert "Usage: groupctl" in p.stderr and p.stdout == ""


@pytest.mark.parametrize("args", [["mptcp"], ["mptcp", "mode", "off"], ["mptcp", "monitor"]])
def test_no_bus_exit_3(args):
    p = gdlib.run([groupctl_bin(), "--address=unix:path=/nonexistent", *args], check=False)
    assert p.returncode == 3, (p.stdout, p.stderr)


def test_no_daemon_exit_3(bus):
    for args in (["mptcp"], ["mptcp", "failover"], ["mptcp", "monitor"]):
        p = gdlib.run([groupctl_bin(), f"--address={bus.address}", *args], check=False)
        assert p.returncode == 3, (args, p.stdout, p.stderr)
        assert "org.freedesktop.DBus.Error.ServiceUnknown" in p.stderr \
            or "org.freedesktop.DBus.Error.NameHasNoOwner" in p.stderr, p.stderr


def test_help_lists_mptcp():
    out = gdlib.run([groupctl_bin(), "--help"]).stdout
    for verb in ("mptcp [status]", "mptcp mode MODE", "mptcp prefer GROUP...",
                 "mptcp failover [GROUP]", "mptcp monitor [--count N]"):
        assert verb in out, verb


# ---- bash completion ----


def test_completion(mctl):
    addr = f"--address={mctl.address}"
    assert "mptcp" in complete(mctl, "groupctl m")
    assert complete(mctl, f"groupctl {addr} mptcp ") == [
        "failover", "hand-back", "hand-over", "mode", "monitor", "prefer", "status"]
    assert complete(mctl, f"groupctl {addr} mptcp mode ") == [
        "aggregate", "failover", "off", "power-save"]
    assert complete(mctl, f"groupctl {addr} mptcp mode failover ") == []
    assert complete(mctl, f"groupctl {addr} mptcp prefer ") == ["cellular", "wifi"]
    assert complete(mctl, f"groupctl {addr} mptcp prefer wifi c") == ["cellular"]
    assert complete(mctl, f"groupctl {addr} mptcp failover ") == ["cellular", "wifi"]
    assert complete(mctl, f"groupctl {addr} mptcp failover wifi ") == []
    assert complete(mctl, f"groupctl {addr} mptcp monitor --c") == ["--count"]




def test_connection_subflow_details(mctl, connection):
    """Each subflow's Backup is the kernel's (ss: b or B, a local or remote
    backup request), its Interface the device it is bound to, else the link
    that has its local address (the initial subflow)."""
    conn, kernel = connection
    owner = {a.split("/")[0]: link for link, addrs in mctl.netns.addrs().items()
             for a in addrs}
    assert kernel[next(f["Local"] for f in conn["Subflows"]
                       if f["Local"].startswith(f"{CELL}:"))]["backup"] is True, kernel
    for sub in conn["Subflows"]:
        assert sub["Backup"] == kernel[sub["Local"]]["backup"], (sub, kernel)
        dev = kernel[sub["Local"]]["dev"] or owner[sub["Local"].rsplit(":", 1)[0]]
        assert sub["Interface"] == dev, (sub, kernel)

    # Cellular first: its endpoint is a regular one and Wi-Fi's the backup;
    # the subflows follow (MP_PRIO), in the kernel and in what groupd shows.
    mctl.run("mptcp", "prefer", "cellular", "wifi")
    cell = next(f["Local"] for f in conn["Subflows"] if f["Local"].startswith(f"{CELL}:"))
    wifi = conn["Local"]

    def settled():
        subs = {f["Local"]: f for f in mctl.status()["Connections"][0]["Subflows"]}
        kern = kernel_subflows(mctl.netns)
        return (set(subs) == set(kern) == {cell, wifi}
                and kern[cell]["backup"] is False and kern[wifi]["backup"] is True
                and all(subs[a]["Backup"] == kern[a]["backup"] for a in subs))

    gdlib.wait_for(settled, WAIT, what="the backup flags swapped, as the kernel says")


def test_connection_survives_carrier_loss(mctl, connection):
    """When Wi-Fi loses its carrier, the connection goes on over the very
    subflow it already had on the cellular link: that subflow (same ports)
    stays established and stops being backup; the Wi-Fi one goes."""
    conn, _ = connection
    cell = next(f["Local"] for f in conn["Subflows"] if f["Local"].startswith(f"{CELL}:"))
    gdlib.run(["ip", "-n", mctl.peer, "link", "set", "wlan0p", "down"])
    mctl.wait_active("cellular")

    def settled():
        kern = kernel_subflows(mctl.netns)
        subs = {f["Local"]: f for f in mctl.status()["Connections"][0]["Subflows"]}
        return (set(kern) == set(subs) == {cell} and kern[cell]["backup"] is False
                and subs[cell]["Backup"] is False)

    try:
        gdlib.wait_for(settled, WAIT, what=f"the subflow {cell} alone, no longer backup")
    except AssertionError:
        raise AssertionError(f"kernel {kernel_subflows(mctl.netns)}, groupd "
                             f"{mctl.status()['Connections']}")

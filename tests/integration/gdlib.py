# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers of groupd's integration tests: network namespaces, the kernel's
view of them (ip -j), and clients of groupd's D-Bus API (busctl, gdbus,
dbus-monitor).

Nothing here touches the host's network namespace: every `ip` command runs
with `-n NAMESPACE`, and every namespace is created by the tests themselves.
"""

import json
import re
import subprocess
import time
from pathlib import Path

BUS_NAME = "net.groupd1"
MANAGER_PATH = "/net/groupd1"
MANAGER_IFACE = "net.groupd1.Manager"
GROUP_IFACE = "net.groupd1.Group"
GROUP_PATH_PREFIX = "/net/groupd1/group/"
ERROR_PREFIX = "net.groupd1.Error."

NOBODY = 65534


class CommandError(AssertionError):
    """A command that had to succeed failed."""


def terminate(proc, timeout=10):
    """Stops a helper process this suite started (SIGTERM, then SIGKILL)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(cmd, check=True, timeout=300, input=None, env=None):
    proc = subprocess.run(
        [str(c) for c in cmd],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if check and proc.returncode != 0:
        raise CommandError(
            f"command failed ({proc.returncode}): {_show(cmd)}\n"
            f"stdout: {proc.stdout[-4000:]}\nstderr: {proc.stderr[-4000:]}"
        )
    return proc


def _show(cmd):
    text = " ".join(str(c) for c in cmd)
    return text if len(text) < 400 else text[:400] + f"... ({len(text)} chars)"


# ---- device group names, as ip(8) prints them ----


def _parse_group_file(path):
    names = {}
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return names
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 2:
            continue
        try:
            names[fields[1]] = int(fields[0], 0)
        except ValueError:
            continue
    return names


_IP_GROUP_NAMES = None


def ip_group_names():
    """Name → id, from the files ip(8) reads (it prints names, not numbers)."""
    global _IP_GROUP_NAMES
    if _IP_GROUP_NAMES is None:
        names = {"default": 0}
        names.update(_parse_group_file("/usr/share/iproute2/group"))
        names.update(_parse_group_file("/etc/iproute2/group"))
        _IP_GROUP_NAMES = names
    return _IP_GROUP_NAMES


def group_id(text):
    """The numeric group of an `ip -j` "group" field."""
    if isinstance(text, int):
        return text
    try:
        return int(text, 0)
    except ValueError:
        pass
    names = ip_group_names()
    if text not in names:
        raise AssertionError(f"ip printed group {text!r}, which no group file names")
    return names[text]


# ---- network namespaces ----


class Netns:
    """A network namespace these tests created; every command is scoped to it."""

    def __init__(self, name, workdir):
        self.name = name
        self.workdir = Path(workdir)
        self._batches = 0
        # What a new namespace holds before the test adds anything: lo, and
        # the fallback tunnels of modules the host has loaded (sit0, …).
        self.base = [l["ifname"] for l in sorted(self.links(), key=lambda l: l["ifindex"])]

    def ip(self, *args, check=True, timeout=300):
        return run(["ip", "-n", self.name, *args], check=check, timeout=timeout).stdout

    def ip_json(self, *args):
        out = self.ip("-j", *args)
        return json.loads(out) if out.strip() else []

    def batch(self, lines, force=False):
        """Many `ip` commands in one process: `ip -n NS -batch FILE`."""
        self._batches += 1
        path = self.workdir / f"batch-{self._batches}.txt"
        path.write_text("".join(line + "\n" for line in lines))
        args = ["ip", "-n", self.name]
        if force:
            args.append("-force")
        run([*args, "-batch", path], timeout=600)

    def exec_cmd(self, *cmd):
        """A command line that runs inside the namespace."""
        return ["ip", "netns", "exec", self.name, *cmd]

    def add_ifbs(self, count, prefix="ifb", start=0, group=None):
        grp = f" group {group}" if group is not None else ""
        names = [f"{prefix}{i}" for i in range(start, start + count)]
        self.batch([f"link add {n}{grp} type ifb" for n in names])
        return names

    def add_veth_pairs(self, count, prefix="va", peer_prefix="vb", group=None):
        """count pairs: prefix0/peer_prefix0, …; returns all 2*count names."""
        grp = f" group {group}" if group is not None else ""
        lines, names = [], []
        for i in range(count):
            a, b = f"{prefix}{i}", f"{peer_prefix}{i}"
            lines.append(f"link add {a}{grp} type veth peer name {b}{grp}")
            names += [a, b]
        self.batch(lines)
        return names

    # -- the kernel's view --

    def links(self):
        """`ip -j -d link show`, with "group_id" (a number) added to each link."""
        links = self.ip_json("-d", "link", "show")
        for link in links:
            link["group_id"] = group_id(link["group"])
        return links

    def links_by_name(self):
        return {l["ifname"]: l for l in self.links()}

    def addrs(self):
        """ifname → sorted list of "address/prefixlen" (all families)."""
        out = {}
        for entry in self.ip_json("addr", "show"):
            out[entry["ifname"]] = sorted(
                f"{a['local']}/{a['prefixlen']}" for a in entry.get("addr_info", [])
            )
        return out

    def kernel_list_links(self):
        """What ListLinks must return, built from `ip -j link`."""
        return sorted(
            (
                l["ifindex"],
                l["ifname"],
                group_id(l["group"]),
                l["mtu"],
                l["operstate"].lower(),
            )
            for l in self.ip_json("link", "show")
        )

    def snapshot(self):
        """Everything a refused call must leave alone: full `ip -j -d link`
        and `ip -j addr` (without address lifetimes, which count down)."""
        links = self.ip_json("-d", "link", "show")
        addrs = self.ip_json("addr", "show")
        for entry in addrs:
            for a in entry.get("addr_info", []):
                a.pop("valid_life_time", None)
                a.pop("preferred_life_time", None)
        return {
            "links": {l["ifname"]: l for l in links},
            "addrs": {a["ifname"]: a.get("addr_info", []) for a in addrs},
        }


def assert_same_snapshot(before, after, what="the call"):
    """Fails naming the links (and fields) that differ."""
    if before == after:
        return
    diffs = []
    for kind in ("links", "addrs"):
        b, a = before[kind], after[kind]
        for name in sorted(set(b) | set(a)):
            if b.get(name) == a.get(name):
                continue
            if name not in b or name not in a:
                diffs.append(f"{kind}: {name} {'appeared' if name in a else 'vanished'}")
                continue
            if kind == "links":
                keys = sorted(
                    k for k in set(b[name]) | set(a[name]) if b[name].get(k) != a[name].get(k)
                )
                diffs.append(
                    f"link {name}: "
                    + ", ".join(f"{k}: {b[name].get(k)!r} -> {a[name].get(k)!r}" for k in keys)
                )
            else:
                diffs.append(f"addresses of {name}: {b[name]!r} -> {a[name]!r}")
    raise AssertionError(
        f"{what} changed the kernel's state ({len(diffs)} differences):\n  "
        + "\n  ".join(diffs[:30])
    )


# ---- D-Bus clients ----


class DBusError(AssertionError):
    def __init__(self, name, message, cmd):
        super().__init__(f"{name}: {message}\n(command: {_show(cmd)})")
        self.name = name
        self.message = message


_GDBUS_ERROR = re.compile(r"GDBus\.Error:([A-Za-z0-9_.]+):\s?(.*)", re.S)


def gv_str(text):
    """A GVariant text literal for a string."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def gv_strv(items):
    return "@as [" + ", ".join(gv_str(s) for s in items) + "]"


def gv_dict(entries):
    """a{sv} from {key: gvariant-text-of-value}."""
    if not entries:
        return "@a{sv} {}"
    return "{" + ", ".join(f"{gv_str(k)}: <{v}>" for k, v in entries.items()) + "}"


class Client:
    """busctl/gdbus against one bus, optionally as another uid."""

    def __init__(self, address, uid=None):
        self.address = address
        self.uid = uid

    def _wrap(self, cmd):
        if self.uid is None:
            return cmd
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.uid}",
            "--clear-groups",
            *cmd,
        ]

    # busctl: the ordinary client; JSON out.
    def busctl(self, *args, check=True, timeout=120):
        cmd = self._wrap(
            ["busctl", f"--address={self.address}", "--json=short", "--timeout=100", *args]
        )
        return run(cmd, check=check, timeout=timeout)

    def call(self, method, signature="", *args, path=MANAGER_PATH, iface=MANAGER_IFACE,
             dest=BUS_NAME):
        """Calls a method with busctl; returns the list of out arguments.
        Raises CommandError (message only: busctl does not print error names)."""
        cmd_args = ["call", dest, path, iface, method]
        if signature:
            cmd_args += [signature, *[str(a) for a in args]]
        proc = self.busctl(*cmd_args)
        out = proc.stdout.strip()
        if not out:
            return []
        return json.loads(out)["data"]

    def get_property(self, path, iface, prop):
        proc = self.busctl("get-property", BUS_NAME, path, iface, prop)
        return json.loads(proc.stdout)["data"]

    # gdbus: tells the error's name.
    def gdbus(self, method, *gv_args, path=MANAGER_PATH, iface=MANAGER_IFACE, timeout=120):
        """Calls with gdbus; returns (None, stdout) or (error name, message)."""
        cmd = self._wrap(
            [
                "gdbus",
                "call",
                "--address",
                self.address,
                "--dest",
                BUS_NAME,
                "--object-path",
                path,
                "--timeout",
                "100",
                "--method",
                f"{iface}.{method}",
                *gv_args,
            ]
        )
        proc = run(cmd, check=False, timeout=timeout)
        if proc.returncode == 0:
            return None, proc.stdout
        m = _GDBUS_ERROR.search(proc.stderr)
        if not m:
            raise CommandError(f"gdbus failed without a D-Bus error: {_show(cmd)}\n{proc.stderr}")
        return m.group(1), m.group(2).strip()

    def expect_error(self, name, method, *gv_args):
        """Calls method; it must fail with the error `name` (short or full)."""
        full = name if "." in name else ERROR_PREFIX + name
        got, message = self.gdbus(method, *gv_args)
        assert got is not None, f"{method}{gv_args!r} succeeded; expected {full}"
        assert got == full, f"{method}: expected {full}, got {got}: {message}"
        return message

    def expect_ok(self, method, *gv_args):
        got, out = self.gdbus(method, *gv_args)
        assert got is None, f"{method} failed: {got}: {out}"
        return out

    # The API, in Python terms.
    def list_links(self):
        return sorted(tuple(l) for l in self.call("ListLinks")[0])

    def list_groups(self):
        return [tuple(g) for g in self.call("ListGroups")[0]]

    def get_link(self, name):
        raw = self.call("GetLink", "s", name)[0]
        return {k: v["data"] for k, v in raw.items()}

    def set_link_group(self, links, group):
        return self.call("SetLinkGroup", "ass", len(links), *links, group)[0]

    def set_group(self, group, props, force=None):
        """props: {"MTU": 1400, "State": "up", ...} with Python types."""
        types = {"MTU": "u", "TxQueueLength": "u", "State": "s", "MACAddress": "s"}
        args = [group, len(props)]
        for k, v in props.items():
            args += [k, types[k], v]
        if force is None:
            args.append(0)
        else:
            args += [1, "force", "b", "true" if force else "false"]
        return self.call("SetGroup", "sa{sv}a{sv}", *args)

    def add_group_address(self, group, address, force=None):
        opts = [0] if force is None else [1, "force", "b", "true" if force else "false"]
        return self.call("AddGroupAddress", "ssa{sv}", group, address, *opts)

    def remove_group_address(self, group, address, force=None):
        opts = [0] if force is None else [1, "force", "b", "true" if force else "false"]
        return self.call("RemoveGroupAddress", "ssa{sv}", group, address, *opts)

    def manager_property(self, prop):
        return self.get_property(MANAGER_PATH, MANAGER_IFACE, prop)

    def group_property(self, gid, prop):
        return self.get_property(f"{GROUP_PATH_PREFIX}{gid}", GROUP_IFACE, prop)

    def group_properties(self, gid):
        raw = self.call(
            "GetAll",
            "s",
            GROUP_IFACE,
            path=f"{GROUP_PATH_PREFIX}{gid}",
            iface="org.freedesktop.DBus.Properties",
        )[0]
        return {k: v["data"] for k, v in raw.items()}

    def managed_objects(self):
        raw = self.call(
            "GetManagedObjects", path=MANAGER_PATH, iface="org.freedesktop.DBus.ObjectManager"
        )[0]
        return {
            path: {iface: {k: v["data"] for k, v in props.items()} for iface, props in ifaces.items()}
            for path, ifaces in raw.items()
        }


# ---- watching signals ----


class Monitor:
    """dbus-monitor on the private bus with one match rule; by default
    groupd's signals."""

    def __init__(self, address, workdir, rule=f"type='signal',sender='{BUS_NAME}'"):
        self.path = Path(workdir) / f"monitor-{time.monotonic_ns()}.txt"
        self.file = open(self.path, "w")
        self.proc = subprocess.Popen(
            ["dbus-monitor", "--address", address, rule],
            stdout=self.file,
            stderr=subprocess.STDOUT,
        )
        # dbus-monitor gets a name and drops it when it becomes a monitor:
        # once NameLost is printed, it sees every matching message.
        deadline = time.monotonic() + 20
        while "member=NameLost" not in self.path.read_text():
            if self.proc.poll() is not None:
                raise AssertionError(f"dbus-monitor exited: {self.path.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"dbus-monitor never became a monitor: {self.path.read_text()}")
            time.sleep(0.05)
        self.skip = len(self.messages())

    def stop(self):
        terminate(self.proc)
        if not self.file.closed:
            self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def messages(self):
        """[(header line, body text)] of every message printed so far."""
        text = self.path.read_text()
        msgs = []
        for chunk in re.split(r"^(?=\S)", text, flags=re.M):
            if not chunk.strip():
                continue
            header, _, body = chunk.partition("\n")
            msgs.append((header, body))
        return msgs

    def new_messages(self):
        """Messages since the monitor started (or since mark())."""
        return [
            (h, b)
            for h, b in self.messages()[self.skip :]
            if "sender=org.freedesktop.DBus " not in h
        ]

    def signals(self):
        """groupd's signals since the monitor started: [(member, header, body)]."""
        out = []
        for header, body in self.new_messages():
            if not header.startswith("signal "):
                continue
            m = re.search(r"member=(\S+)", header)
            out.append((m.group(1) if m else "?", header, body))
        return out

    def error_names(self):
        return [
            m.group(1)
            for h, _ in self.new_messages()
            for m in [re.search(r"error_name=(\S+)", h)]
            if h.startswith("error ") and m
        ]

    def settle(self, quiet=1.0, timeout=30):
        """Waits until nothing new was printed for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            size = self.path.stat().st_size
            if size != last:
                last, since = size, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)

    def mark(self):
        """Forget what was seen so far."""
        self.skip = len(self.messages())


_LINK_STRUCT = re.compile(
    r'struct \{\s*int32 (-?\d+)\s*string "([^"]*)"\s*uint32 (\d+)\s*uint32 (\d+)\s*string "([^"]*)"\s*\}'
)


def parse_links_changed(body):
    """The `changed` array of a LinksChanged as dbus-monitor prints it."""
    first_array_end = body.find("\n   ]")
    part = body if first_array_end < 0 else body[: first_array_end + 5]
    return [
        (int(i), name, int(g), int(mtu), state) for i, name, g, mtu, state in _LINK_STRUCT.findall(part)
    ]


def changed_links(signals):
    """Every link of the LinksChanged among Monitor.signals(), in order."""
    out = []
    for member, _, body in signals:
        if member == "LinksChanged":
            out += parse_links_changed(body)
    return out


def wait_for(predicate, timeout, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def assert_cache_matches_kernel(netns, client, what="ListLinks"):
    cache = client.list_links()
    kernel = netns.kernel_list_links()
    if cache == kernel:
        return
    c, k = set(cache), set(kernel)
    only_c = sorted(c - k)[:10]
    only_k = sorted(k - c)[:10]
    raise AssertionError(
        f"{what} differs from `ip -j link` ({len(c - k)} + {len(k - c)} entries):\n"
        f"  only in groupd: {only_c}\n  only in the kernel: {only_k}"
    )


def cache_matches_kernel(netns, client):
    return client.list_links() == netns.kernel_list_links()


def is_up(link):
    """Administratively up, from `ip -j link`."""
    return "UP" in link["flags"]


def expected_group(links, gid, name=""):
    """What net.groupd1.Group of group gid must say, from `ip -j -d link`."""
    members = sorted((l for l in links if l["group_id"] == gid), key=lambda l: l["ifindex"])
    mtus = {l["mtu"] for l in members}
    txqs = {l["txqlen"] for l in members}
    ups = {is_up(l) for l in members}
    return {
        "Id": gid,
        "Name": name,
        "MemberCount": len(members),
        "Members": [l["ifname"] for l in members],
        "MTU": mtus.pop() if len(mtus) == 1 else 0,
        "State": "mixed" if len(ups) == 2 else ("up" if ups == {True} else "down"),
        "TxQueueLength": txqs.pop() if len(txqs) == 1 else 0,
        # A group without a policy file.
        "Policy": {},
        "Drifted": 0,
        "Conflicts": [],
        "LastError": "",
    }


def wait_operstate(netns, name, state, timeout=10):
    """Waits for the kernel's (asynchronous) operstate of a link."""
    wait_for(
        lambda: netns.links_by_name()[name]["operstate"] == state,
        timeout,
        what=f"{name} to be {state}",
    )


# ---- declarative policies: config roots, Reload, Plan, Policy ----

VENDOR_DIR = "usr/lib/groupd/groups.d"
ADMIN_DIR = "etc/groupd/groups.d"
RUNTIME_DIR = "run/groupd/groups.d"
CONF_FILE = "etc/groupd/groupd.conf"
IPROUTE2_GROUP_FILE = "etc/iproute2/group"
_WHERE = {"vendor": VENDOR_DIR, "admin": ADMIN_DIR, "runtime": RUNTIME_DIR}


def policy_text(gid=None, name=None, match=None, mtu=None, state=None, txqlen=None, mac=None,
                addresses=(), extra=""):
    """A *.group file. match: {"Name": "ifb*", ...} (the [Match] keys as written)."""
    lines = ["[Group]"]
    if name is not None:
        lines.append(f"Name={name}")
    if gid is not None:
        lines.append(f"Id={gid}")
    if match:
        lines.append("[Match]")
        lines += [f"{k}={v}" for k, v in match.items()]
    link = [("MTU", mtu), ("State", state), ("TxQueueLength", txqlen), ("MACAddress", mac)]
    if any(v is not None for _, v in link):
        lines.append("[Link]")
        lines += [f"{k}={v}" for k, v in link if v is not None]
    if addresses:
        lines.append("[Address]")
        lines.append("Address=" + " ".join(addresses))
    text = "\n".join(lines) + "\n"
    return text + extra


class ConfigRoot:
    """A --config-root directory: groupd.conf, the three groups.d
    directories and an iproute2 group file, all under one private path."""

    def __init__(self, workdir, name="root"):
        self.path = Path(workdir) / name
        self.path.mkdir(mode=0o755)

    def __str__(self):
        return str(self.path)

    def __fspath__(self):
        return str(self.path)

    def dir(self, where="admin"):
        d = self.path / _WHERE[where]
        d.mkdir(parents=True, exist_ok=True)
        return d

    def group_path(self, file_name, where="admin"):
        """The path as groupd names it in messages."""
        return self.path / _WHERE[where] / file_name

    def write_group(self, file_name, text, where="admin"):
        path = self.dir(where) / file_name
        tmp = path.with_name("." + file_name + ".tmp")
        tmp.write_text(text)
        tmp.rename(path)
        return path

    def remove_group(self, file_name, where="admin"):
        (self.path / _WHERE[where] / file_name).unlink()

    def mask_group(self, file_name, where="admin", how="empty"):
        path = self.dir(where) / file_name
        if path.exists() or path.is_symlink():
            path.unlink()
        if how == "empty":
            path.write_text("")
        elif how == "devnull":
            path.symlink_to("/dev/null")
        else:
            raise ValueError(how)
        return path

    @property
    def conf_path(self):
        return self.path / CONF_FILE

    def write_conf(self, text):
        self.conf_path.parent.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(text)
        return self.conf_path

    def daemon_conf(self, repair_drift=True, debounce="0.2", extra=""):
        return self.write_conf(
            "[Daemon]\n"
            f"RepairDrift={'yes' if repair_drift else 'no'}\n"
            f"DriftDebounceSec={debounce}\n" + extra
        )

    @property
    def iproute2_path(self):
        return self.path / IPROUTE2_GROUP_FILE

    def write_iproute2_groups(self, names):
        """names: {id: name}; "0 default" is always there."""
        self.iproute2_path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["0\tdefault"] + [f"{gid}\t{n}" for gid, n in sorted(names.items()) if gid != 0]
        self.iproute2_path.write_text("\n".join(lines) + "\n")
        return self.iproute2_path


def unwrap_variants(d):
    """busctl's {"key": {"type": t, "data": v}} → {"key": v}."""
    return {k: (v["data"] if isinstance(v, dict) and "data" in v and "type" in v else v)
            for k, v in d.items()}


def reload(client, flags=0):
    """Manager.Reload(u flags) with busctl; returns the plan JSON, parsed."""
    out = client.call("Reload", "u", flags)
    assert len(out) == 1 and isinstance(out[0], str), f"Reload returned {out!r}"
    return json.loads(out[0])


def reload_error(client, flags=0):
    """Manager.Reload with gdbus: (error name or None, message or output)."""
    return client.gdbus("Reload", f"uint32 {flags}")


def get_plan(client):
    out = client.call("Plan")
    assert len(out) == 1 and isinstance(out[0], str), f"Plan returned {out!r}"
    return json.loads(out[0])


def plan_group(plan, gid):
    entries = [g for g in plan["groups"] if g["id"] == gid]
    assert len(entries) == 1, f"plan has {len(entries)} entries for group {gid}: {plan!r}"[:2000]
    return entries[0]


def group_policy(client, gid):
    return unwrap_variants(client.group_property(gid, "Policy"))


def netlink_counters(client):
    """(NetlinkRequests, NetlinkSends)."""
    return (client.manager_property("NetlinkRequests"), client.manager_property("NetlinkSends"))


def kernel_paths(client):
    """Operations groupd sent, per kernel path: {"group": n, "per-link": m}."""
    return dict(client.manager_property("KernelPaths"))


def group_object_paths(client):
    return {p for p, ifaces in client.managed_objects().items() if GROUP_IFACE in ifaces}


def group_object_exists(client, gid):
    return f"{GROUP_PATH_PREFIX}{gid}" in group_object_paths(client)


def policy_violations(netns, names, gid, mtu=None, up=None, txqlen=None, addresses=()):
    """The links of names that are not in group gid or lack the policy:
    [(name, reason)]."""
    links = netns.links_by_name()
    addrs = netns.addrs() if addresses else {}
    bad = []
    for n in names:
        l = links.get(n)
        if l is None:
            bad.append((n, "missing"))
            continue
        if l["group_id"] != gid:
            bad.append((n, f"group {l['group_id']}"))
        elif mtu is not None and l["mtu"] != mtu:
            bad.append((n, f"mtu {l['mtu']}"))
        elif up is not None and is_up(l) != up:
            bad.append((n, "up" if is_up(l) else "down"))
        elif txqlen is not None and l["txqlen"] != txqlen:
            bad.append((n, f"txqlen {l['txqlen']}"))
        else:
            missing = [a for a in addresses if a not in addrs.get(n, [])]
            if missing:
                bad.append((n, f"lacks {missing}"))
    return bad


def wait_policy(netns, names, gid, timeout=10, **policy):
    """Polls until every link of names shows the policy; fails with the
    first offenders."""
    deadline = time.monotonic() + timeout
    while True:
        bad = policy_violations(netns, names, gid, **policy)
        if not bad:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"after {timeout} s, {len(bad)} of {len(names)} links do not show the policy of "
                f"group {gid} {policy}: {bad[:10]}"
            )
        time.sleep(0.2)


def stays(predicate, duration, interval=0.1, what="condition"):
    """predicate() holds for the whole duration (checked every interval)."""
    deadline = time.monotonic() + duration
    while True:
        value = predicate()
        assert value, f"{what} stopped holding"
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


_TRANSIENT_ADDR_KEYS = ("tentative", "dadfailed", "optimistic")


def stable_snapshot(netns):
    """netns.snapshot() without what the kernel changes on its own shortly
    after a link goes up: operstate (linkwatch) and the IPv6 DAD flags
    (a link-local address stops being tentative)."""
    snap = netns.snapshot()
    for link in snap["links"].values():
        link.pop("operstate", None)
    for addrs in snap["addrs"].values():
        for a in addrs:
            for k in _TRANSIENT_ADDR_KEYS:
                a.pop(k, None)
    return snap

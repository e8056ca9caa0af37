# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the benchmarks share: commands that fail loudly, a throw-away network
namespace proved not to be the host's, a private system-type dbus-daemon,
groupd (or another daemon) inside the namespace on that bus, the helper
processes that answer one line per request, and the end of every process a
benchmark started, by its pid.

The bench-*.py scripts run from this directory, so `import bench_harness`
finds this file. Nothing here touches the host's links: every `ip` command
names the benchmark's namespace.
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GROUP = "100"
MTUS = (1400, 1450)
BUS_NAME = "net.groupd1"
MANAGER_PATH = "/net/groupd1"
MANAGER_IFACE = "net.groupd1.Manager"

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""


class BenchError(Exception):
    pass


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, **kw)
    if check and r.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))[:200]}: exit {r.returncode}: "
                         f"{r.stderr.strip()[:500]}")
    return r


def timed(cmd):
    """Seconds cmd took, its process start included."""
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    t = time.perf_counter() - t0
    if r.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))[:200]}: exit {r.returncode}: "
                         f"{r.stderr[:500]}")
    return t


def make_netns(name):
    """A new namespace with lo up, or BenchError if it were the host's."""
    run(["ip", "netns", "add", name])
    host = os.readlink("/proc/self/ns/net")
    inner = run(["ip", "netns", "exec", name, "readlink", "/proc/self/ns/net"]).stdout.strip()
    if not inner or inner == host:
        run(["ip", "netns", "del", name], check=False)
        raise BenchError(f"namespace {name} is the host's ({inner}); refusing to go on")
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def stop_processes(procs, timeout):
    """Ends procs (Popen) in reverse order: stdin closed, SIGTERM, SIGKILL
    after timeout seconds."""
    for p in reversed(procs):
        if p.poll() is None:
            if p.stdin:
                try:
                    p.stdin.close()
                except OSError:
                    pass
            p.terminate()
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def ask(proc, request, who):
    """One request line to a helper (nl-group-msg.py, link-monitor.py, …),
    its one answer line back; an empty answer or one starting with "error"
    is a BenchError."""
    proc.stdin.write(request + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline().strip()
    if not line or line.startswith("error"):
        raise BenchError(f"{who}: {line or 'no answer'}")
    return line


def expect_ready(proc, who):
    if proc.stdout.readline().strip() != "ready":
        raise BenchError(f"{who} did not start")


def wait_no_tentative(ns, limit):
    """The kernel's DAD tail after links came UP changes addresses for a
    while, each in a short RTNL hold: a link dump meanwhile is interrupted
    again and again. Returns once no IPv6 address in ns is tentative."""
    deadline = time.monotonic() + limit
    while run(["ip", "-n", ns, "-6", "addr", "show", "tentative"]).stdout.strip():
        if time.monotonic() > deadline:
            raise BenchError(f"IPv6 addresses still tentative after {limit} s")
        time.sleep(0.5)


class Probe:
    """rtnl-probe.py in a namespace of its own: the longest wait of a
    request for RTNL (one lock for the machine) while an operation runs."""

    def __init__(self, tag):
        self.ns = f"gd-probe-{tag}"
        make_netns(self.ns)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "/usr/bin/python3", str(HERE / "rtnl-probe.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        expect_ready(self.proc, "rtnl-probe.py")

    def mark(self):
        ask(self.proc, "mark", "rtnl-probe.py")

    def report(self):
        """Longest wait in ms since the mark."""
        longest, _count = ask(self.proc, "report", "rtnl-probe.py").split()
        return float(longest)

    def quiet(self, log, threshold_ms=10.0, window=0.3, timeout=120):
        """Waits until no request waited more than threshold_ms for a whole
        window: the teardown of the last namespace (cleanup_net unregisters
        its links under RTNL, in the background) and other processes'
        requests are over. Returns the seconds waited."""
        t0 = time.monotonic()
        while True:
            self.mark()
            time.sleep(window)
            if self.report() < threshold_ms:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                log(f"  RTNL not quiet for {timeout} s; measuring anyway")
                return time.monotonic() - t0

    def stop(self):
        stop_processes([self.proc], 30)
        run(["ip", "netns", "del", self.ns], check=False)


class Harness:
    """A throw-away namespace, a temporary directory, a private bus in it,
    and every process started for them, ended by pid in stop().

    groupd, groupd_args: for start_groupd(). Subclasses set the timeouts."""

    stop_timeout = 30      # seconds a process gets between SIGTERM and SIGKILL
    busctl_timeout = None  # busctl --timeout= in seconds; None: busctl's own
    ip_timeout = None      # seconds an `ip -n NS` command may take
    groupd_timeout = 30    # seconds until groupd answers on the bus

    def __init__(self, ns_name, tmp_prefix, groupd=None, groupd_args=()):
        self.ns_name = ns_name
        self.ns = None
        self.tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix))
        self.groupd = groupd
        self.groupd_args = list(groupd_args)
        self.procs = []
        self.bus_addr = None
        self.conn = None
        self.groupd_proc = None
        self.daemon = None
        self.log_path = self.tmp / "groupd.log"

    # -- set-up and tear-down ------------------------------------------------
    def make_netns(self):
        make_netns(self.ns_name)
        self.ns = self.ns_name

    def spawn(self, cmd, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(cmd, **kw)
        self.procs.append(p)
        return p

    def start_bus(self):
        sock = self.tmp / "bus.sock"
        self.bus_addr = f"unix:path={sock}"
        conf = self.tmp / "bus.conf"
        conf.write_text(BUS_CONFIG.format(address=self.bus_addr))
        log = open(self.tmp / "dbus.log", "w")
        self.spawn(["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile"],
                   stdout=log, stderr=log)
        for _ in range(200):
            if sock.exists():
                return
            time.sleep(0.02)
        raise BenchError("dbus-daemon did not start: " + (self.tmp / "dbus.log").read_text())

    def exec_groupd(self, root, log, **kw):
        """groupd inside the namespace on the private bus; refuses without
        the namespace. Returns its process (not waited for)."""
        if not self.ns or not Path(f"/run/netns/{self.ns}").exists():
            raise BenchError("no namespace: refusing to start groupd")
        self.groupd_proc = self.spawn(
            ["ip", "netns", "exec", self.ns, str(self.groupd), f"--config-root={root}",
             f"--bus-address={self.bus_addr}", *self.groupd_args], stdout=log, stderr=log, **kw)
        return self.groupd_proc

    def start_groupd(self):
        """groupd with an empty configuration root; returns once it answers."""
        root = self.tmp / "root"
        root.mkdir(exist_ok=True)
        proc = self.exec_groupd(root, open(self.log_path, "w"))
        deadline = time.monotonic() + self.groupd_timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if self.busctl("call", BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "ListGroups",
                           check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise BenchError("groupd did not come up: " + self.log_path.read_text()[-2000:])

    def spawn_daemon(self, script):
        """script (sh) runs in `ip netns exec NS unshare -m`: private mounts,
        the private bus as its system bus, its output in daemon.log. It ends
        in `exec DAEMON`, so the pid becomes the daemon's."""
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_addr)
        for k in ("NOTIFY_SOCKET", "DBUS_SESSION_BUS_ADDRESS", "WATCHDOG_USEC", "WATCHDOG_PID"):
            env.pop(k, None)
        log = open(self.tmp / "daemon.log", "a")
        self.daemon = self.spawn(["ip", "netns", "exec", self.ns, "unshare", "-m",
                                  "--propagation", "private", "sh", "-euc", script],
                                 stdout=log, stderr=log, env=env)
        return self.daemon

    def connect(self):
        """An open GDBus connection to the private bus, in self.conn."""
        from gi.repository import Gio
        self.conn = Gio.DBusConnection.new_for_address_sync(
            self.bus_addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)

    def stop(self):
        if self.conn is not None:
            try:
                self.conn.close_sync(None)
            except Exception:
                pass
            self.conn = None
        stop_processes(self.procs, self.stop_timeout)
        self.procs = []
        if self.ns:
            run(["ip", "netns", "del", self.ns], check=False)
            self.ns = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # -- helpers -------------------------------------------------------------
    def ip(self, *args, check=True, timeout=None):
        return run(["ip", "-n", self.ns, *args], check=check,
                   timeout=timeout if timeout is not None else self.ip_timeout)

    def busctl(self, *args, check=True):
        t = [] if self.busctl_timeout is None else [f"--timeout={self.busctl_timeout}"]
        return run(["busctl", f"--address={self.bus_addr}", *t, *args], check=check)

    def on_bus(self, name):
        r = self.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "NameHasOwner", "s", name, check=False)
        return r.returncode == 0 and r.stdout.split()[1] == "true"

    def signals_during(self, sender_name, action, until_quiet=False):
        """The signals ("interface.member") the owner of sender_name sends
        while action() runs and 1 s after it (until_quiet: until 1 s passed
        without any message on the bus), seen by dbus-monitor; returns
        (action's result, signals)."""
        owner = self.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus", "GetNameOwner", "s",
                            sender_name).stdout.split()[1].strip('"')
        mon = self.spawn(["dbus-monitor", "--address", self.bus_addr, "--profile"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines = []
        ready = threading.Event()

        def reader():
            for line in mon.stdout:
                lines.append(line.rstrip("\n"))
                ready.set()

        th = threading.Thread(target=reader, daemon=True)
        th.start()
        if not ready.wait(10):
            raise BenchError("dbus-monitor did not start")
        time.sleep(0.3)
        start = len(lines)
        result = action()
        if until_quiet:
            last, quiet_since = len(lines), time.monotonic()
            while time.monotonic() - quiet_since < 1.0:
                time.sleep(0.1)
                if len(lines) != last:
                    last, quiet_since = len(lines), time.monotonic()
        else:
            time.sleep(1.0)  # signals flushed after the reply arrive within this
        mon.terminate()
        mon.wait()
        th.join(5)
        sigs = []
        for line in lines[start:]:
            f = line.split("\t")
            if len(f) >= 8 and f[0] == "sig" and f[3] == owner:
                sigs.append(f"{f[6]}.{f[7]}")
        return result, sigs

    def group_prop(self, name):
        out = self.busctl("get-property", BUS_NAME, f"{MANAGER_PATH}/group/{GROUP}",
                          "net.groupd1.Group", name).stdout.split(None, 1)
        return out[1].strip().strip('"')

    def kernel_members(self):
        data = json.loads(self.ip("-j", "link", "show", "group", GROUP).stdout)
        return [d for d in data if d.get("ifname")]  # iproute2 6.1 prints {} for the others

    def setgroup_cmd(self, key, sig, value, timeout_s):
        """busctl's SetGroup GROUP {key: value} command line."""
        return ["busctl", f"--address={self.bus_addr}", f"--timeout={timeout_s}", "call",
                BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "SetGroup", "sa{sv}a{sv}", GROUP, "1",
                key, sig, str(value), "0"]

    def call(self, method, sig, args, timeout_ms=600000):
        """method of groupd's Manager on the open connection; its reply, unpacked."""
        from gi.repository import Gio, GLib
        r = self.conn.call_sync(BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method,
                                GLib.Variant(sig, args) if sig else None, None,
                                Gio.DBusCallFlags.NONE, timeout_ms, None)
        return r.unpack()

    def timed_call(self, method, sig, args, timeout_ms=600000):
        """Seconds method took on the open connection (the call alone: its
        arguments are built before the clock starts)."""
        from gi.repository import Gio, GLib
        variant = GLib.Variant(sig, args)
        t0 = time.perf_counter()
        self.conn.call_sync(BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, variant, None,
                            Gio.DBusCallFlags.NONE, timeout_ms, None)
        return time.perf_counter() - t0

    def timed_set_group(self, key, sig, value, timeout_ms):
        """SetGroup GROUP {key: value} on the open connection, timed."""
        from gi.repository import GLib
        return self.timed_call("SetGroup", "(sa{sv}a{sv})",
                               (GROUP, {key: GLib.Variant(sig, value)}, {}), timeout_ms)

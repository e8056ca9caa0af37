# SPDX-License-Identifier: LGPL-2.1-or-later
"""A two-namespace MPTCP test rig: a client with links wlan0 and wwan0, a
server reachable over both, fault injectors, and the stream tool.

    client ns (PREFIX-c)                      server ns (PREFIX-s)
    wlan0 10.71.1.2/24  <-- veth, tbf -->  wlan0p 10.71.1.1/24
    wwan0 10.71.2.2/24  <-- veth, tbf -->  wwan0p 10.71.2.1/24
    default via 10.71.1.1 metric 100                lo 10.71.0.1/32 (service)
    default via 10.71.2.1 metric 200               ifbbh (drops: blackhole)

Everything is created in namespaces named PREFIX-c / PREFIX-s (PREFIX =
gdm-<pid>-<random>) and deleted on exit of the `with` block, at interpreter
exit (atexit) and, for rigs whose creating process is gone, by
cleanup_stale(). Nothing here touches the host's namespace: every `ip`/`tc`/
`sysctl` runs with `-n NS` or `ip netns exec NS`.

Usage:
    with Rig() as rig:
        rig.kernel_endpoints()             # the kernel-alone baseline
        s = rig.start_stream(duration=6)
        time.sleep(2); t = rig.fault("carrier"); time.sleep(2); rig.heal("carrier")
        result = s.wait()                  # merged JSON of both ends
        analyse(result, t)                 # stall / catch-up after t
"""

import atexit
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STREAM_TOOL = HERE / "mptcp-stream"
IFSTAT_TOOL = HERE / "ifstat-poll"
PYTHON = "/usr/bin/python3"

WLAN = "wlan0"
WWAN = "wwan0"
PEER = {WLAN: "wlan0p", WWAN: "wwan0p"}
CLIENT_ADDR = {WLAN: "10.71.1.2", WWAN: "10.71.2.2"}
GATEWAY = {WLAN: "10.71.1.1", WWAN: "10.71.2.1"}
METRIC = {WLAN: 100, WWAN: 200}
PREFIXLEN = 24
SERVICE_ADDR = "10.71.0.1"
SERVICE_PORT = 5201
BLACKHOLE_IFB = "ifbbh"

FAULTS = ("carrier", "admin", "addr", "blackhole")

_LIVE = set()
_LIVE_LOCK = threading.Lock()


class RigError(AssertionError):
    pass


def run(cmd, check=True, timeout=60, input=None):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise RigError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
                       f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}")
    return proc


def check_tools():
    missing = [t for t in ("ip", "tc") if shutil.which(t) is None]
    if os.geteuid() != 0:
        raise RigError("the MPTCP rig runs as root (it creates network namespaces)")
    if missing:
        raise RigError(f"missing tools: {', '.join(missing)}")
    if not Path("/proc/sys/net/mptcp/enabled").exists():
        raise RigError("this kernel has no MPTCP (/proc/sys/net/mptcp missing)")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cleanup_stale():
    """Deletes gdm-<pid>-* namespaces whose creating process is gone
    (left behind by a SIGKILLed run)."""
    out = run(["ip", "-j", "netns", "list"], check=False).stdout
    try:
        names = [n["name"] for n in json.loads(out or "[]")]
    except json.JSONDecodeError:
        return
    for name in names:
        parts = name.split("-")
        if len(parts) >= 4 and parts[0] == "gdm" and parts[1].isdigit():
            if not _pid_alive(int(parts[1])):
                run(["ip", "netns", "del", name], check=False)


def _cleanup_all():
    with _LIVE_LOCK:
        rigs = list(_LIVE)
    for rig in rigs:
        rig.close()


atexit.register(_cleanup_all)


class Stream:
    """One mptcp-stream server + client pair; wait() → merged result."""

    def __init__(self, rig, duration, rate, size, port, late_ms, extra_wait, direction="both",
                 pattern="steady", seed=1):
        self.rig = rig
        self.duration = duration
        self.direction = direction
        self.workdir = Path(tempfile.mkdtemp(prefix="gdm-stream-", dir=rig.workdir))
        common = ["--rate", rate, "--size", size, "--duration", duration, "--late-ms", late_ms,
                  "--direction", direction, "--pattern", pattern, "--seed", seed]
        ready = self.workdir / "ready"
        self.server_out = self.workdir / "server.json"
        self.client_out = self.workdir / "client.json"
        self.server_log = open(self.workdir / "server.log", "w")
        self.client_log = open(self.workdir / "client.log", "w")
        self.server = rig.popen(rig.server, [PYTHON, STREAM_TOOL, "server", "--bind", SERVICE_ADDR,
                                             "--port", port, "--ready-file", ready,
                                             "--out", self.server_out, *common],
                                stdout=self.server_log)
        deadline = time.monotonic() + 10
        while not ready.exists():
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RigError(f"mptcp-stream server did not start: "
                               f"{(self.workdir / 'server.log').read_text()}")
            time.sleep(0.01)
        self.started = time.monotonic()
        self.client = rig.popen(rig.client, [PYTHON, STREAM_TOOL, "client", "--connect",
                                             SERVICE_ADDR, "--port", port,
                                             "--out", self.client_out, *common],
                                stdout=self.client_log)
        self.timeout = duration + extra_wait

    def wait(self):
        """Waits for both ends; {"up": …, "down": …, "client": …, "server": …}.
        up = client→server (received by the server), down = server→client."""
        deadline = self.started + self.timeout
        for proc in (self.client, self.server):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in (self.client, self.server):
            self.rig.stop_proc(proc)
        self.server_log.close()
        self.client_log.close()
        out = {}
        for side, path in (("client", self.client_out), ("server", self.server_out)):
            try:
                out[side] = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as e:
                log = (self.workdir / f"{side}.log").read_text()
                raise RigError(f"mptcp-stream {side} wrote no result ({e}): {log[-3000:]}")
        out["up"] = out["server"]["rx"]
        out["down"] = out["client"]["rx"]
        out["reset"] = out["client"]["reset"] or out["server"]["reset"]
        return out


SSH_PORT = 2222


class Sshd:
    """OpenSSH's sshd in the server namespace, its sockets MPTCP (mptcpize),
    with a configuration, a host key and a client key of its own in the
    rig's work directory. Debian's sshd insists on /run/sshd (privilege
    separation): it gets a tmpfs /run in a mount namespace of its own, so
    nothing of the host's /run is touched."""

    def __init__(self, rig):
        for tool in ("/usr/sbin/sshd", "ssh", "ssh-keygen", "mptcpize", "unshare"):
            if shutil.which(tool) is None:
                raise RigError(f"{tool} is missing (tools/install-deps.sh installs "
                               "openssh-server, openssh-client and mptcpize)")
        self.rig = rig
        self.dir = Path(tempfile.mkdtemp(prefix="gdm-sshd-", dir=rig.workdir))
        os.chmod(self.dir, 0o700)
        self.host_key = self.dir / "host_key"
        self.client_key = self.dir / "client_key"
        for key in (self.host_key, self.client_key):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "groupd-test", "-f", key])
        (self.dir / "authorized_keys").write_text(
            Path(f"{self.client_key}.pub").read_text())
        config = self.dir / "sshd_config"
        config.write_text("\n".join([
            f"ListenAddress {SERVICE_ADDR}:{SSH_PORT}",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.dir}/authorized_keys",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PidFile none",
            "LogLevel VERBOSE",
        ]) + "\n")
        self.log = open(self.dir / "sshd.log", "w")
        script = ('mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && '
                  'exec mptcpize run /usr/sbin/sshd -D -e -f "$0"')
        self.proc = rig.popen(rig.server, ["unshare", "-m", "--propagation", "private",
                                           "sh", "-c", script, config], stdout=self.log)
        deadline = time.monotonic() + 10
        while not self.listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RigError(f"sshd did not start: {(self.dir / 'sshd.log').read_text()}")
            time.sleep(0.05)
        # It must run in the rig's server namespace, never in the host's.
        ns = run(["ip", "netns", "identify", str(self.proc.pid)]).stdout.strip()
        if ns != rig.server:
            raise RigError(f"sshd (pid {self.proc.pid}) runs in namespace {ns!r}, "
                           f"not {rig.server}")

    def listening(self):
        out = run(["ip", "netns", "exec", self.rig.server, "ss", "-Hltn",
                   f"sport = :{SSH_PORT}"], check=False).stdout
        return bool(out.strip())

    def ssh_command(self, remote):
        """The client's command (under mptcpize) that runs remote on the server."""
        return ["mptcpize", "run", "ssh", "-F", "/dev/null", "-T", "-i", self.client_key,
                "-p", SSH_PORT, "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "LogLevel=ERROR", f"root@{SERVICE_ADDR}", *remote]


class SshSession:
    """One SSH session from the client to the rig's sshd whose remote
    command prints records (mptcp-stream emit) that the client reads
    (mptcp-stream absorb): SSH output as a download. wait() → a result
    that analyse() and integrity() read like a stream's ("down"; "up" is
    empty: the client sends nothing but SSH's own messages)."""

    def __init__(self, rig, sshd, duration, rate, size, late_ms, extra_wait, pattern, seed):
        self.rig = rig
        self.duration = duration
        self.workdir = Path(tempfile.mkdtemp(prefix="gdm-ssh-", dir=rig.workdir))
        common = ["--rate", rate, "--size", size, "--duration", duration, "--late-ms", late_ms,
                  "--pattern", pattern, "--seed", seed]
        remote = [PYTHON, STREAM_TOOL, "emit", *map(str, common)]
        self.out = self.workdir / "ssh.json"
        self.log = open(self.workdir / "ssh.log", "w")
        self.started = time.monotonic()
        self.proc = rig.popen(rig.client, [PYTHON, STREAM_TOOL, "absorb", "--out", self.out,
                                           *common, "--", *sshd.ssh_command(remote)],
                              stdout=self.log)
        self.timeout = duration + extra_wait
        self.mptcp = self._wait_mptcp()

    def _wait_mptcp(self, timeout=10):
        """Whether the session's connection is an MPTCP one (ss -M)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            out = run(["ip", "netns", "exec", self.rig.client, "ss", "-HnM",
                       f"dport = :{SSH_PORT}"], check=False).stdout
            if out.strip():
                return True
            time.sleep(0.05)
        return False

    def wait(self):
        try:
            self.proc.wait(max(0.1, self.started + self.timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        self.rig.stop_proc(self.proc)
        self.log.close()
        try:
            data = json.loads(self.out.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise RigError(f"the SSH session wrote no result ({e}): "
                           f"{(self.workdir / 'ssh.log').read_text()[-3000:]}")
        empty = {"expected": 0, "received": 0, "lost": 0, "duplicates": 0, "reorders": 0,
                 "corrupt": 0, "end_seen": True, "gaps": [], "late": []}
        side = {"mptcp": self.mptcp, "mptcp_info": None if self.mptcp else "no MPTCP socket"}
        return {"up": empty, "down": data["rx"], "reset": data["reset"],
                "client": {**side, "error": data["error"]}, "server": side, "ssh": data}


ENDPOINT_FLAGS = ("signal", "subflow", "backup", "fullmesh", "laminar", "implicit")


def endpoint_flags(entry):
    """The sorted flag names of one `ip -j mptcp endpoint` entry (iproute2
    6.1 prints each flag as a boolean key; newer ones may print a list)."""
    flags = set(entry.get("flags", []))
    flags.update(f for f in ENDPOINT_FLAGS if entry.get(f) is True)
    return sorted(flags)


class Counters:
    """ifstat-poll in the client ns: byte counters of wlan0/wwan0 every 10 ms."""

    def __init__(self, rig, interval, duration):
        self.rig = rig
        self.path = Path(tempfile.mkstemp(prefix="gdm-ifstat-", suffix=".json",
                                          dir=rig.workdir)[1])
        self.proc = rig.popen(rig.client, [PYTHON, IFSTAT_TOOL, "--dev", WLAN, "--dev", WWAN,
                                           "--interval", interval, "--duration", duration,
                                           "--out", self.path])

    def stop(self):
        """→ {"devs": [...], "samples": [[t, tx, rx, ...]]}"""
        self.rig.stop_proc(self.proc)
        data = json.loads(self.path.read_text())
        return data


def _series(counters, dev):
    i = 1 + 2 * counters["devs"].index(dev)
    return [(row[0], row[i] + row[i + 1]) for row in counters["samples"] if row[i] >= 0]


def bytes_between(counters, dev, t0, t1):
    """tx+rx bytes of dev between the samples nearest t0 and t1."""
    ser = [(t, b) for t, b in _series(counters, dev) if t0 <= t <= t1]
    return ser[-1][1] - ser[0][1] if len(ser) >= 2 else 0


def busy_bins(counters, dev, t0, t1, width=0.05, rate=30000):
    """[(bin start, bin end)] between t0 and t1 in which dev moved more than
    rate bytes/s (tx+rx): data, not a stray ACK."""
    ser = [(t, b) for t, b in _series(counters, dev) if t0 <= t <= t1]
    out = []
    j = 0
    for i in range(len(ser)):
        while j < len(ser) and ser[j][0] - ser[i][0] < width:
            j += 1
        if j >= len(ser):
            break
        if i % 5 == 0 and (ser[j][1] - ser[i][1]) / (ser[j][0] - ser[i][0]) > rate:
            out.append((ser[i][0], ser[j][0]))
    return out


def return_time(counters, t_heal, t_end, primary=None, backup=None):
    """Seconds from t_heal until data runs on the primary link and no more
    on the backup (None if it never did before t_end)."""
    primary, backup = primary or WLAN, backup or WWAN
    prim = busy_bins(counters, primary, t_heal, t_end)
    back = busy_bins(counters, backup, t_heal, t_end)
    if not prim:
        return None
    last_back = back[-1][1] if back else t_heal
    # Data must run on the primary after the backup went quiet.
    if not any(b[0] >= last_back - 0.05 for b in prim):
        return None
    first_prim = next((b[0] for b in prim if b[0] >= last_back - 0.05), prim[0][0])
    return max(last_back, first_prim) - t_heal


class PmMonitor:
    """`ip mptcp monitor` in the client ns: [(monotonic t, event, {key: value})]."""

    def __init__(self, rig):
        self.rig = rig
        self.events = []
        self.proc = subprocess.Popen(["ip", "-n", rig.client, "mptcp", "monitor"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, bufsize=1)
        rig.procs.append(self.proc)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        time.sleep(0.1)  # subscribed before anything happens

    def _read(self):
        for line in self.proc.stdout:
            t = time.monotonic()
            line = line.strip()
            if not line.startswith("["):
                continue
            name, _, rest = line[1:].partition("]")
            fields = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
            self.events.append((t, name.strip(), fields))

    def stop(self):
        self.rig.stop_proc(self.proc)
        self.thread.join(5)
        return self.events

    def subflow_events(self, name, saddr, after=0.0, before=float("inf")):
        return [(t, f) for t, n, f in list(self.events)
                if n == name and f.get("saddr4") == saddr and after <= t <= before]


class Rig:
    def __init__(self, wlan_rate="20mbit", wwan_rate="10mbit", rp_filter=2,
                 client_limits=(8, 0), server_limits=(8, 8), stale_loss_cnt=None,
                 workdir=None):
        check_tools()
        cleanup_stale()
        self.prefix = f"gdm-{os.getpid()}-{secrets.token_hex(3)}"
        self.client = f"{self.prefix}-c"
        self.server = f"{self.prefix}-s"
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="gdm-"))
        os.chmod(self.workdir, 0o755)
        self.rates = {WLAN: wlan_rate, WWAN: wwan_rate}
        self.rp_filter = rp_filter
        self.client_limits = client_limits
        self.server_limits = server_limits
        self.stale_loss_cnt = stale_loss_cnt
        self.procs = []
        self.sshd = None
        self.closed = False
        self._port = SERVICE_PORT
        self._flap = None
        self._cleanups = []
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    # -- set-up / teardown --

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def ip(self, ns, *args, check=True):
        return run(["ip", "-n", ns, *args], check=check).stdout

    def ip_json(self, ns, *args):
        out = self.ip(ns, "-j", *args)
        return json.loads(out) if out.strip() else []

    def batch(self, ns, lines, tool="ip"):
        """One process for many commands (ip -batch / tc -batch)."""
        text = "".join(l + "\n" for l in lines)
        if tool == "ip":
            return run(["ip", "-n", ns, "-batch", "-"], input=text)
        return run(["ip", "netns", "exec", ns, "tc", "-batch", "-"], input=text)

    def sysctl(self, ns, key, value):
        run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}"])

    def read_sysctl(self, ns, key):
        return run(["ip", "netns", "exec", ns, "sysctl", "-n", key]).stdout.strip()

    def _setup(self):
        c, s = self.client, self.server
        run(["ip", "netns", "add", c])
        run(["ip", "netns", "add", s])
        for ns in (c, s):
            self.sysctl(ns, "net.mptcp.enabled", 1)
            # No IPv6 on the test links: no RS/MLD/DAD bytes in the counters.
            self.sysctl(ns, "net.ipv6.conf.default.disable_ipv6", 1)
            self.sysctl(ns, "net.ipv4.conf.all.rp_filter", 0)
            self.sysctl(ns, "net.ipv4.conf.default.rp_filter", self.rp_filter)
        lines = []
        for dev in (WLAN, WWAN):
            lines += [f"link add {dev} type veth peer name {PEER[dev]} netns {s}",
                      f"addr add {CLIENT_ADDR[dev]}/{PREFIXLEN} dev {dev}",
                      f"link set {dev} up"]
        lines.append("link set lo up")
        self.batch(c, lines)
        lines = ["link set lo up", f"addr add {SERVICE_ADDR}/32 dev lo",
                 f"link add {BLACKHOLE_IFB} type ifb", f"link set {BLACKHOLE_IFB} up"]
        for dev in (WLAN, WWAN):
            lines += [f"addr add {GATEWAY[dev]}/{PREFIXLEN} dev {PEER[dev]}",
                      f"link set {PEER[dev]} up"]
        self.batch(s, lines)
        for dev in (WLAN, WWAN):
            self.sysctl(c, f"net.ipv4.conf.{dev}.rp_filter", self.rp_filter)
        self.add_default_route(WLAN)
        self.add_default_route(WWAN)
        tc = []
        for dev in (WLAN, WWAN):
            # tbf both ways; 64 KiB of queue, so a dead link backs up like a radio would.
            tc.append(f"qdisc add dev {PEER[dev]} root tbf rate {self.rates[dev]} "
                      "burst 32kb limit 64kb")
            tc.append(f"qdisc add dev {PEER[dev]} clsact")
        # The blackhole's sink: everything redirected to it is dropped.
        # (a tbf with a 1-byte queue: this kernel has no gact for "action drop").
        tc.append(f"qdisc add dev {BLACKHOLE_IFB} root tbf rate 1kbit burst 1600 limit 1")
        self.batch(s, tc, tool="tc")
        self.batch(c, [f"qdisc add dev {dev} root tbf rate {self.rates[dev]} burst 32kb limit 64kb"
                       for dev in (WLAN, WWAN)], tool="tc")
        if self.server_limits:
            self.ip(s, "mptcp", "limits", "set", "subflows", self.server_limits[0],
                    "add_addr_accepted", self.server_limits[1])
        if self.client_limits:
            self.ip(c, "mptcp", "limits", "set", "subflows", self.client_limits[0],
                    "add_addr_accepted", self.client_limits[1])
        if self.stale_loss_cnt is not None:
            self.sysctl(c, "net.mptcp.stale_loss_cnt", self.stale_loss_cnt)
        for dev in (WLAN, WWAN):
            self.wait_carrier(dev, True)

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.stop_flap()
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as e:  # teardown goes on: the namespaces must go
                print(f"rig cleanup {fn!r} failed: {e}", file=sys.stderr)
        for proc in list(self.procs):
            self.stop_proc(proc)
        # What they started in the namespaces (sshd's sessions, say) goes too.
        for ns in (self.client, self.server):
            self._kill_namespace_pids(ns)
        for ns in (self.client, self.server):
            run(["ip", "netns", "del", ns], check=False)
        if self._own_workdir and not os.environ.get("GDM_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def _kill_namespace_pids(self, ns):
        """Stops the processes left in ns, a namespace of this rig: they were
        started by its processes."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(int(pid), sig)
                except (ProcessLookupError, ValueError):
                    pass
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and \
                    run(["ip", "netns", "pids", ns], check=False).stdout.split():
                time.sleep(0.05)

    def add_cleanup(self, fn):
        """fn() runs on close(), before the namespaces are deleted (last added first)."""
        self._cleanups.append(fn)

    # -- processes in the namespaces --

    def exec_cmd(self, ns, cmd):
        return ["ip", "netns", "exec", ns, *[str(c) for c in cmd]]

    def popen(self, ns, cmd, stdout=subprocess.DEVNULL, env=None):
        proc = subprocess.Popen(self.exec_cmd(ns, cmd), stdout=stdout, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
        self.procs.append(proc)
        return proc

    def stop_proc(self, proc, timeout=5):
        """Stops a process this rig started (by its pid)."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def start_stream(self, duration=6.0, rate=500, size=256, late_ms=20, extra_wait=30,
                     direction="both", pattern="steady", seed=1):
        """Starts the stream server in the server ns and the client in the
        client ns (one MPTCP connection to SERVICE_ADDR); returns a Stream.
        direction "down": only the server sends (a download: the client
        only receives); "up": only the client sends. pattern "bursty":
        bursts and idle gaps (mptcp-stream)."""
        self._port += 1
        return Stream(self, duration, rate, size, self._port, late_ms, extra_wait, direction,
                      pattern, seed)

    def start_ssh(self, duration=6.0, rate=500, size=256, late_ms=20, extra_wait=30,
                  pattern="steady", seed=1):
        """An SSH session (sshd started in the server ns at first use) whose
        remote command prints records for duration s; returns an SshSession."""
        if self.sshd is None:
            self.sshd = Sshd(self)
        return SshSession(self, self.sshd, duration, rate, size, late_ms, extra_wait, pattern,
                          seed)

    def start_pm_monitor(self):
        return PmMonitor(self)

    def start_counters(self, interval=0.01, duration=120):
        return Counters(self, interval, duration)

    # -- routes and endpoints --

    def add_default_route(self, dev):
        self.ip(self.client, "route", "replace", "default", "via", GATEWAY[dev], "dev", dev,
                "metric", METRIC[dev])

    def default_routes(self):
        return {r.get("dev") for r in self.ip_json(self.client, "route", "show", "default")}

    def kernel_endpoints(self, wlan="subflow", wwan="subflow backup"):
        """The kernel-alone configuration: one endpoint per client link,
        bound to it (ip mptcp endpoint add ADDR dev DEV FLAGS)."""
        for dev, flags in ((WLAN, wlan), (WWAN, wwan)):
            if flags is not None:
                self.ip(self.client, "mptcp", "endpoint", "add", CLIENT_ADDR[dev], "dev", dev,
                        *flags.split())

    def endpoints(self):
        """`ip -j mptcp endpoint show` of the client: [{address, id, flags, dev}]."""
        out = self.ip(self.client, "-j", "mptcp", "endpoint", "show")
        # iproute2 6.1 prints one JSON object per line for endpoints.
        eps = []
        for line in out.splitlines():
            line = line.strip()
            if not line:
                continue
            data = json.loads(line)
            eps += data if isinstance(data, list) else [data]
        return eps

    def endpoint_devs(self):
        """dev → flags (sorted) of the client's endpoints."""
        return {e.get("dev"): endpoint_flags(e) for e in self.endpoints()}

    def delete_endpoint_of(self, dev):
        for e in self.endpoints():
            if e.get("dev") == dev:
                self.ip(self.client, "mptcp", "endpoint", "delete", "id", e["id"])

    def link_counters(self, dev=None):
        """ifname → {rx_bytes, tx_bytes, rx_packets, tx_packets} of the client's links."""
        out = {}
        for l in self.ip_json(self.client, "-s", "link", "show"):
            st = l.get("stats64", {})
            out[l["ifname"]] = {"rx_bytes": st["rx"]["bytes"], "tx_bytes": st["tx"]["bytes"],
                                "rx_packets": st["rx"]["packets"],
                                "tx_packets": st["tx"]["packets"]}
        return out[dev] if dev else out

    def mptcp_subflows(self):
        """The client's established MPTCP subflows: [(local ip, interface)] from ss."""
        out = run(["ip", "netns", "exec", self.client, "ss", "-tnH", "state", "established"],
                  check=False).stdout
        subs = []
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 4 and ":" in fields[2]:
                local = fields[2].rsplit(":", 1)[0].split("%")[0]
                if local in CLIENT_ADDR.values():
                    dev = next(d for d, a in CLIENT_ADDR.items() if a == local)
                    subs.append((local, dev))
        return subs

    def add_veth(self, dev):
        """One more veth in the client, its peer (dev + "p") up in the
        server, no address: a second member for a group."""
        self.batch(self.client, [f"link add {dev} type veth peer name {dev}p netns {self.server}",
                                 f"link set {dev} up"])
        self.ip(self.server, "link", "set", f"{dev}p", "up")
        self.wait_carrier(dev, True)

    # -- faults --

    def link(self, ns, dev):
        return self.ip_json(ns, "link", "show", "dev", dev)[0]

    def wait_carrier(self, dev, on, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            flags = self.link(self.client, dev)["flags"]
            if ("LOWER_UP" in flags) == on:
                return
            if time.monotonic() > deadline:
                raise RigError(f"{dev}: carrier still {'off' if on else 'on'} after {timeout} s")
            time.sleep(0.01)

    def fault(self, kind, dev=WLAN):
        """Injects a failure of dev; returns the monotonic time just before."""
        t = time.monotonic()
        if kind == "carrier":
            self.ip(self.server, "link", "set", PEER[dev], "down")
        elif kind == "admin":
            self.ip(self.client, "link", "set", dev, "down")
        elif kind == "addr":
            self.ip(self.client, "addr", "del", f"{CLIENT_ADDR[dev]}/{PREFIXLEN}", "dev", dev)
        elif kind == "blackhole":
            # Both directions in one tc process, silently: the peer's ingress
            # and egress go to an ifb that drops them.
            self.batch(self.server, [
                f"filter add dev {PEER[dev]} ingress protocol all prio 1 u32 match u32 0 0 "
                f"action mirred egress redirect dev {BLACKHOLE_IFB}",
                f"filter add dev {PEER[dev]} egress protocol all prio 1 u32 match u32 0 0 "
                f"action mirred egress redirect dev {BLACKHOLE_IFB}",
            ], tool="tc")
        else:
            raise ValueError(kind)
        return t

    def heal(self, kind, dev=WLAN):
        """Undoes fault(kind), default route included; returns the time just after."""
        if kind == "carrier":
            self.ip(self.server, "link", "set", PEER[dev], "up")
            self.wait_carrier(dev, True)
        elif kind == "admin":
            self.ip(self.client, "link", "set", dev, "up")
            self.wait_carrier(dev, True)
            self.add_default_route(dev)
        elif kind == "addr":
            self.ip(self.client, "addr", "add", f"{CLIENT_ADDR[dev]}/{PREFIXLEN}", "dev", dev)
            self.add_default_route(dev)
        elif kind == "blackhole":
            self.batch(self.server, [f"filter del dev {PEER[dev]} ingress prio 1",
                                     f"filter del dev {PEER[dev]} egress prio 1"], tool="tc")
        else:
            raise ValueError(kind)
        return time.monotonic()

    def blackhole_drops(self):
        """Packets the blackhole's ifb dropped."""
        out = run(["ip", "netns", "exec", self.server, "tc", "-j", "-s", "qdisc", "show", "dev",
                   BLACKHOLE_IFB]).stdout
        return sum(q.get("drops", 0) for q in json.loads(out))

    def flap(self, kind="carrier", period=2.0, duration=30.0, dev=WLAN, background=True):
        """Fails dev, heals it period s later, and so on for duration s
        (ends healed). Returns [(t, "fault"|"heal")]; in the background
        with background=True (stop_flap() / the returned thread)."""
        events = []

        def loop():
            start = time.monotonic()
            n = 0
            while not self._flap_stop.is_set():
                due = start + n * period
                if due >= start + duration:
                    break
                delay = due - time.monotonic()
                if delay > 0 and self._flap_stop.wait(delay):
                    break
                if n % 2 == 0:
                    events.append((self.fault(kind, dev), "fault"))
                else:
                    events.append((self.heal(kind, dev), "heal"))
                n += 1
            if events and events[-1][1] == "fault":
                # The last failure lasts its full period too; the link ends healed.
                self._flap_stop.wait(max(0.0, start + n * period - time.monotonic()))
                events.append((self.heal(kind, dev), "heal"))

        self._flap_stop = threading.Event()
        if not background:
            loop()
            return events
        self._flap = threading.Thread(target=loop, daemon=True)
        self._flap.start()
        self._flap.events = events
        return self._flap

    def stop_flap(self):
        if self._flap is not None:
            self._flap_stop.set()
            self._flap.join(10)
            self._flap = None


# ---- analysis of a stream result around an event ----


def analyse(result, t_event, t_end=None, chain_gap=0.3, first_within=2.0):
    """Stall and catch-up after t_event (monotonic s), over both directions.

    stall: the longest gap between consecutive arrivals that ends after
    t_event (and starts before t_end). catch_up: from t_event to the end of
    the episode of late records (one-way delay > late_ms) the event caused:
    the first run of late records that starts within first_within s of the
    event, and every run that follows it within chain_gap s; 0 when no
    record arrived late. A lone late run later on (the shared machine's
    scheduling jitter) is not part of it. Both in seconds, the worse
    direction of the two."""
    t_end = float("inf") if t_end is None else t_end
    out = {}
    for direction in ("up", "down"):
        rx = result[direction]
        stall = 0.0
        for start, end in rx["gaps"]:
            if end > t_event and start < t_end:
                stall = max(stall, end - start)
        catch = 0.0
        last = None
        for first, last_arrival, _max_delay, _count in rx["late"]:
            if last_arrival <= t_event or first >= t_end:
                continue
            if last is None:
                if first > t_event + first_within:
                    break
            elif first - last > chain_gap:
                break
            last = last_arrival
        if last is not None:
            catch = last - t_event
        out[direction] = {"stall": stall, "catch_up": catch}
    return {
        "stall": max(out["up"]["stall"], out["down"]["stall"]),
        "catch_up": max(out["up"]["catch_up"], out["down"]["catch_up"]),
        "per_direction": out,
    }


def max_gap(result, t0, t1):
    """The longest gap between arrivals within [t0, t1], both directions:
    the noise floor of a healthy path on this machine."""
    return max((end - start for d in ("up", "down") for start, end in result[d]["gaps"]
                if start >= t0 and end <= t1), default=0.0)


def integrity(result):
    """Problems of a stream result: [] when no byte was lost, nothing
    duplicated or reordered and the connection was never reset."""
    problems = []
    for direction in ("up", "down"):
        rx = result[direction]
        for key in ("lost", "duplicates", "reorders", "corrupt"):
            if rx[key]:
                problems.append(f"{direction}: {key}={rx[key]}")
        if not rx["end_seen"]:
            problems.append(f"{direction}: the end record never arrived")
        if rx["received"] != rx["expected"]:
            problems.append(f"{direction}: received {rx['received']} of {rx['expected']}")
    if result["reset"]:
        problems.append(f"connection reset: client {result['client'].get('error')!r}, "
                        f"server {result['server'].get('error')!r}")
    for side in ("client", "server"):
        if not result[side].get("mptcp"):
            problems.append(f"{side}: the connection is not MPTCP "
                            f"({result[side].get('mptcp_info')})")
    return problems


if __name__ == "__main__":
    # Smoke run: python3 rig.py [fault] — a 6 s stream, the fault at 2 s, healed at 4 s.
    kind = sys.argv[1] if len(sys.argv) > 1 else "carrier"
    with Rig() as rig:
        rig.kernel_endpoints()
        s = rig.start_stream(duration=6)
        time.sleep(2)
        t = rig.fault(kind)
        time.sleep(2)
        rig.heal(kind)
        res = s.wait()
        print(json.dumps({"analysis": analyse(res, t), "integrity": integrity(res),
                          "counters": rig.link_counters()}, indent=1))

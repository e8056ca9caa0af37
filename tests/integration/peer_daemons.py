# SPDX-License-Identifier: LGPL-2.1-or-later
"""Debian's NetworkManager and systemd-networkd, run next to groupd inside a
test's network namespace, on the test's private bus.

Each runs as `ip netns exec NS unshare -m --propagation private sh -euc
SCRIPT`: a private mount namespace where the script puts empty directories,
tmpfs or directories of the test over the daemon's configuration and state
directories (NetworkManager's /run/NetworkManager is the test's, so that a
restarted NetworkManager finds what it ran, as on a host), remounts
/sys read-only (with a writable /sys they wait for udev, which does not run
here) and execs the daemon. DBUS_SYSTEM_BUS_ADDRESS is the test's bus. They
never see the host's configuration, state or links; `check_inside()` proves
the process is in the test's network namespace and not in the host's.

systemd-networkd keeps its state in files (/run/systemd/netif/links/<ifindex>)
that name the .network file of each link. groupd reads them under its
--config-root, so here the script bind-mounts the test's ROOT/run/systemd and
ROOT/etc/systemd/network over /run/systemd and /etc/systemd/network: both see
the same files, as on a real host where ROOT is /.

A daemon that does not start, or starts in the wrong namespace, fails the
test (AssertionError): nothing here skips.
"""
import json
import os
import pwd
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import gdlib

NM = "/usr/sbin/NetworkManager"
NETWORKD = "/lib/systemd/systemd-networkd"
NM_BUS = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
NETWORKD_BUS = "org.freedesktop.network1"

NM_CONF = """[main]
plugins=keyfile
no-auto-default=*
dhcp=internal
dns=none
rc-manager=unmanaged
auth-polkit=false

[keyfile]
path={keyfiles}
unmanaged-devices={unmanaged}

[logging]
level=INFO
domains=DEFAULT,MPTCP:TRACE

[connectivity]
enabled=false
"""


def nm_profile(name, ifname, mtu=None, addresses=(), gateway=None, mptcp_flags=None,
               mac=None, autoconnect=True, route_metric=None, extra=""):
    """A keyfile profile for ifname (type ethernet: veth ends count as such)."""
    lines = ["[connection]", f"id={name}", f"uuid={uuid.uuid4()}", "type=ethernet",
             f"interface-name={ifname}", f"autoconnect={'true' if autoconnect else 'false'}"]
    if mptcp_flags is not None:
        lines.append(f"mptcp-flags={mptcp_flags}")
    lines += ["", "[ethernet]"]
    if mtu is not None:
        lines.append(f"mtu={mtu}")
    if mac is not None:
        lines.append(f"cloned-mac-address={mac}")
    lines += ["", "[ipv4]"]
    if addresses:
        lines.append("method=manual")
        for i, a in enumerate(addresses, 1):
            lines.append(f"address{i}={a}" + (f",{gateway}" if gateway and i == 1 else ""))
    else:
        lines.append("method=disabled")
    if route_metric is not None:
        lines.append(f"route-metric={route_metric}")
    lines += ["", "[ipv6]", "method=disabled", ""]
    return "\n".join(lines) + extra


class Daemon:
    """One daemon process in its own mount namespace inside the test's netns."""

    name = "daemon"

    def __init__(self, netns, bus, workdir):
        self.netns = netns
        self.bus = bus
        self.workdir = workdir
        self.proc = None
        self.log_path = workdir / f"{self.name}.log"
        self.starts = 0

    def spawn(self, script):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address)
        for k in ("NOTIFY_SOCKET", "DBUS_SESSION_BUS_ADDRESS", "WATCHDOG_USEC", "WATCHDOG_PID",
                  "LISTEN_FDS", "LISTEN_PID"):
            env.pop(k, None)
        log = open(self.log_path, "a")
        log.write(f"--- start {self.starts} ---\n")
        log.flush()
        self.starts += 1
        # `sh -c '… exec DAEMON'`: after the exec this pid is the daemon's.
        self.proc = subprocess.Popen(
            self.netns.exec_cmd("unshare", "-m", "--propagation", "private", "sh", "-euc", script),
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def check_inside(self):
        """The daemon runs in the test's network namespace, not the host's."""
        assert self.proc and self.proc.poll() is None, f"{self.name} is not running:\n{self.log()}"
        host = os.readlink("/proc/self/ns/net")  # the test runs in the host's
        mine = os.readlink(f"/proc/{self.proc.pid}/ns/net")
        test = gdlib.run(self.netns.exec_cmd("readlink", "/proc/self/ns/net")).stdout.strip()
        assert mine == test and mine != host, (
            f"{self.name} (pid {self.proc.pid}) runs in {mine}, the test's namespace is {test}, "
            f"the host's {host}")
        exe = os.readlink(f"/proc/{self.proc.pid}/exe")
        assert os.path.realpath(exe) == os.path.realpath(self.binary), (
            f"pid {self.proc.pid} is {exe}, not {self.binary}")

    def wait_on_bus(self, bus_name, timeout=60):
        def owned():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n"
                                     f"{self.log()}")
            r = gdlib.run(["busctl", f"--address={self.bus.address}", "status", bus_name],
                          check=False)
            return r.returncode == 0
        gdlib.wait_for(owned, timeout, what=f"{bus_name} on the test's bus")

    def stop(self, timeout=30):
        p = self.proc
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.proc = None

    def log(self, limit=8000):
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return "(no log)"

    def busctl(self, *args, check=True):
        return gdlib.run(["busctl", f"--address={self.bus.address}", *args], check=check)


class NetworkManager(Daemon):
    """NetworkManager with keyfile profiles in WORKDIR/nm/profiles."""

    name = "NetworkManager"
    binary = NM

    def __init__(self, netns, bus, workdir, unmanaged="interface-name:lo"):
        super().__init__(netns, bus, workdir)
        self.dir = workdir / "nm"
        self.profiles = self.dir / "profiles"
        self.empty = self.dir / "empty"
        for d in (self.profiles, self.empty, self.dir / "state", self.dir / "run",
                  self.dir / "lib"):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.profiles, 0o700)
        (self.dir / "NetworkManager.conf").write_text(
            NM_CONF.format(keyfiles=self.profiles, unmanaged=unmanaged))

    def add_profile(self, file_name, text):
        path = self.profiles / f"{file_name}.nmconnection"
        path.write_text(text)
        os.chmod(path, 0o600)
        return path

    def script(self):
        d = self.dir
        return f"""
mount -o remount,bind,ro /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/NetworkManager
mount --bind {d}/run /run/NetworkManager
mount --bind {d}/lib /var/lib/NetworkManager
mount --bind {d}/empty /etc/NetworkManager
mount --bind {d}/empty /usr/lib/NetworkManager
exec {NM} --no-daemon --config={d}/NetworkManager.conf --config-dir={d}/empty \
    --system-config-dir={d}/empty --intern-config={d}/state/intern.conf \
    --state-file={d}/state/NetworkManager.state
"""

    def start(self, timeout=60):
        self.spawn(self.script())
        self.wait_on_bus(NM_BUS, timeout)
        self.check_inside()
        # NM on the bus has read its profiles; wait until it has taken the
        # devices it manages (startup complete).
        gdlib.wait_for(lambda: self.prop(NM_PATH, NM_BUS, "Startup") is False, timeout,
                       what="NetworkManager's startup to complete")
        return self

    def restart(self):
        self.stop()
        return self.start()

    def prop(self, path, iface, name):
        r = self.busctl("--json=short", "get-property", NM_BUS, path, iface, name)
        return json.loads(r.stdout)["data"]

    def call(self, path, iface, method, sig="", *args):
        r = self.busctl("--json=short", "call", NM_BUS, path, iface, method, sig,
                        *[str(a) for a in args])
        return json.loads(r.stdout)["data"] if r.stdout.strip() else None

    def device(self, ifname):
        return self.call(NM_PATH, NM_BUS, "GetDeviceByIpIface", "s", ifname)[0]

    def device_state(self, ifname):
        return self.prop(self.device(ifname), NM_BUS + ".Device", "State")

    def wait_activated(self, ifname, timeout=60):
        gdlib.wait_for(lambda: self.device_state(ifname) == 100, timeout,
                       what=f"NetworkManager to activate {ifname}")

    def nmcli(self, *args, check=True):
        """nmcli on the test's bus, inside the test's namespace."""
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address)
        return gdlib.run(self.netns.exec_cmd("nmcli", *args), check=check, env=env)


NETWORK_FILE_MODE = 0o644


class Networkd(Daemon):
    """systemd-networkd with its .network files in ROOT/etc/systemd/network and
    its state in ROOT/run/systemd (ROOT: groupd's --config-root)."""

    name = "systemd-networkd"
    binary = NETWORKD

    def __init__(self, netns, bus, workdir, root):
        super().__init__(netns, bus, workdir)
        self.root = Path(root)
        self.network_dir = self.root / "etc/systemd/network"
        self.run_dir = self.root / "run/systemd"
        self.empty = workdir / "networkd-empty"
        for d in (self.network_dir, self.run_dir, self.empty):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.network_dir, 0o755)
        user = pwd.getpwnam("systemd-network")
        self.uid, self.gid = user.pw_uid, user.pw_gid

    def write_network(self, file_name, text):
        path = self.network_dir / file_name
        path.write_text(text)
        os.chmod(path, NETWORK_FILE_MODE)
        return path

    def script(self):
        run = self.run_dir
        return f"""
mount -o remount,bind,ro /sys
rm -rf {run}/netif
mkdir -p {run}/netif/links {run}/netif/leases {run}/netif/lldp {run}/network
chown -R {self.uid}:{self.gid} {run}/netif
mount --bind {run} /run/systemd
mount --bind {self.network_dir} /etc/systemd/network
mount --bind {self.empty} /usr/lib/systemd/network
mount --bind {self.empty} /run/systemd/network
mount -t tmpfs tmpfs /var/lib/systemd/network 2>/dev/null || true
export SYSTEMD_LOG_LEVEL=debug
exec {NETWORKD}
"""

    def start(self, timeout=60):
        self.spawn(self.script())
        self.wait_on_bus(NETWORKD_BUS, timeout)
        self.check_inside()
        return self

    def restart(self):
        self.stop()
        return self.start()

    def link_state(self, ifindex):
        """networkd's state file of a link as a dict ({} when none)."""
        try:
            text = (self.run_dir / "netif/links" / str(ifindex)).read_text()
        except OSError:
            return {}
        return dict(line.split("=", 1) for line in text.splitlines()
                    if "=" in line and not line.startswith("#"))

    def wait_configured(self, netns, ifname, timeout=60):
        ifindex = netns.ip_json("link", "show", "dev", ifname)[0]["ifindex"]
        gdlib.wait_for(lambda: self.link_state(ifindex).get("ADMIN_STATE") == "configured",
                       timeout, what=f"networkd to configure {ifname}")
        return ifindex

    def networkctl(self, *args, check=True):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address,
                   SYSTEMD_LOG_LEVEL="warning")
        # networkctl reads /run/systemd/netif: run it where networkd's is.
        return gdlib.run(["nsenter", "-t", str(self.proc.pid), "-m", "-n", "networkctl",
                          "--no-pager", *args], check=check, env=env)


def check_prerequisites():
    missing = [p for p in (NM, NETWORKD, shutil.which("nmcli") or "/usr/bin/nmcli")
               if not os.path.exists(p)]
    if missing:
        raise AssertionError(f"missing {', '.join(missing)}: run tools/install-deps.sh")

# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemons users run today, on the links of bench-scale.py.

systemd-networkd (Debian's systemd 252): N ifb links, one .network file with
`[Link] MTUBytes=` (networkd reads MTUBytes= from .network files; .link files
are udev's). Measured: networkd from exec until every link has the MTU, and
`Reload` over D-Bus after the file changed until every link has the new MTU;
then how many links networkd lists as failed and whether it is still on the
bus.

NetworkManager (Debian's network-manager 1.42): it leaves ifb unmanaged, so N
veth pairs, one keyfile profile per "va" end with ethernet.mtu (the "vb" ends
unmanaged, up, for carrier). Measured: NM from exec until every link has the
MTU, and one client (GDBus from Python) calling Device.Reapply with a new
ethernet.mtu on every device (100 calls in flight: the bus allows 128), until
every link has it; the D-Bus signals NM
sends for that one change, counted with dbus-monitor.

Both run by hand inside the benchmark's namespace, in a private mount
namespace (unshare -m) with /sys read-only (else they wait for udev forever),
tmpfs on /run and on their state and configuration directories, and a
private dbus-daemon as their system bus: never the host's bus or links.
"""
import json
import os
import subprocess
import time

from bench_harness import GROUP, BenchError, Harness, run

NETWORKD = "/lib/systemd/systemd-networkd"
NM = "/usr/sbin/NetworkManager"
MTUS = (1400, 1450)
POLL_LIMIT = 600.0
WINDOW = 100


class DaemonEnv(Harness):
    """A namespace with N links and a private bus; no groupd."""

    stop_timeout = 10

    def __init__(self, links, kind):
        super().__init__(f"gd-bench-d-{os.getpid()}", "gd-bench-d.")
        os.chmod(self.tmp, 0o755)  # the daemons drop root and still reach the bus
        self.links = links
        self.kind = kind

    def start(self):
        self.make_netns()
        batch = self.tmp / "links.batch"
        with open(batch, "w") as f:
            if self.kind == "ifb":
                self.names = [f"ifb{i}" for i in range(self.links)]
                for n in self.names:
                    f.write(f"link add {n} type ifb\n")
            else:
                self.names = [f"va{i}" for i in range(self.links)]
                for i in range(self.links):
                    f.write(f"link add va{i} type veth peer name vb{i}\n")
                for i in range(self.links):
                    f.write(f"link set dev vb{i} up\n")
            for n in self.names:
                f.write(f"link set dev {n} group {GROUP}\n")
        run(["ip", "-n", self.ns, "-batch", str(batch)])
        self.start_bus()

    def mtus(self):
        return [d["mtu"] for d in self.kernel_members()]

    def wait_mtu(self, mtu, t0, limit=POLL_LIMIT):
        """Seconds from t0 until every link has mtu (polled)."""
        while True:
            got = self.mtus()
            now = time.perf_counter()
            if len(got) == self.links and all(m == mtu for m in got):
                return now - t0
            if now - t0 > limit:
                raise BenchError(f"{sum(m == mtu for m in got)} of {self.links} links have MTU "
                                 f"{mtu} after {limit:.0f} s")
            if self.daemon and self.daemon.poll() is not None:
                raise BenchError(f"the daemon exited {self.daemon.returncode}: "
                                 + self.daemon_log())
            time.sleep(0.05 if self.links <= 2048 else 0.2)

    def daemon_log(self):
        try:
            return "\n  ".join((self.tmp / "daemon.log").read_text().splitlines()[-20:])
        except OSError:
            return "(no log)"

    def stop_daemon(self):
        p = self.daemon
        if p and p.poll() is None:
            # `sh -c … exec DAEMON`: this pid is the daemon's.
            p.terminate()
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.daemon = None

    def reset_mtu(self, mtu=1500):
        self.ip("link", "set", "group", GROUP, "mtu", str(mtu))


# -- systemd-networkd ---------------------------------------------------------

NETWORK_FILE = """[Match]
Name=ifb*

[Link]
MTUBytes={mtu}
ActivationPolicy=manual

[Network]
LinkLocalAddressing=no
IPv6AcceptRA=no
"""


def networkd_script(tmp):
    return f"""
mount -o remount,bind,ro /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp /run/systemd/network
chown -R systemd-network:systemd-network /run/systemd/netif
mount --bind {tmp}/network /run/systemd/network
mount -t tmpfs tmpfs /etc/systemd/network
mount -t tmpfs tmpfs /usr/lib/systemd/network
mkdir -p /var/lib/systemd/network 2>/dev/null || true
mount -t tmpfs tmpfs /var/lib/systemd/network 2>/dev/null || true
export SYSTEMD_LOG_LEVEL=notice
exec {NETWORKD}
"""


def networkd_failed(env):
    """Links networkd's state files call failed (read in its mount namespace)."""
    pid = env.daemon.pid
    r = run(["nsenter", "-t", str(pid), "-m", "sh", "-c",
             "grep -l '^ADMIN_STATE=failed' /run/systemd/netif/links/* 2>/dev/null | wc -l"],
            check=False)
    return int(r.stdout.strip() or 0)


def bench_networkd(n, runs, rec, log):
    env = DaemonEnv(n, "ifb")
    notes = []
    try:
        env.start()
        (env.tmp / "network").mkdir()
        os.chmod(env.tmp / "network", 0o755)
        nf = env.tmp / "network" / "50-bench.network"
        for r in range(runs):
            env.reset_mtu()
            nf.write_text(NETWORK_FILE.format(mtu=MTUS[0]))
            os.chmod(nf, 0o644)
            t0 = time.perf_counter()
            env.spawn_daemon(networkd_script(env.tmp))
            t = env.wait_mtu(MTUS[0], t0)
            rec.add("daemon", n, "networkd-start", r + 1, t)
            if r < runs - 1:
                env.stop_daemon()
        # reload with a changed file, from the running networkd
        cur = MTUS[0]
        for r in range(runs):
            m = MTUS[1] if cur == MTUS[0] else MTUS[0]
            nf.write_text(NETWORK_FILE.format(mtu=m))
            t0 = time.perf_counter()
            env.busctl("--timeout=600", "call", "org.freedesktop.network1",
                       "/org/freedesktop/network1", "org.freedesktop.network1.Manager", "Reload")
            t = env.wait_mtu(m, t0)
            cur = m
            rec.add("daemon", n, "networkd-reload", r + 1, t)
        time.sleep(1.0)
        failed = networkd_failed(env)
        on_bus = env.on_bus("org.freedesktop.network1")
        rec.add("daemon", n, "networkd-failed", 1, failed, "links")
        notes.append(f"networkd at {n}: {failed} links failed, "
                     f"{'still on' if on_bus else 'dropped off'} the bus")
        log("  " + notes[-1])
        env.stop_daemon()
    finally:
        env.stop_daemon()
        env.stop()
    return notes


# -- NetworkManager -----------------------------------------------------------

NM_CONF = """[main]
plugins=keyfile
no-auto-default=*
dhcp=internal
dns=none
rc-manager=unmanaged
auth-polkit=false

[keyfile]
unmanaged-devices=interface-name:vb*;interface-name:lo

[logging]
level=WARN

[connectivity]
enabled=false
"""

NM_PROFILE = """[connection]
id={name}
uuid={uuid}
type=ethernet
interface-name={name}
autoconnect=true

[ethernet]
mtu={mtu}

[ipv4]
method=disabled

[ipv6]
method=disabled
"""


def nm_script(tmp):
    return f"""
mount -o remount,bind,ro /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/NetworkManager
mount -t tmpfs tmpfs /var/lib/NetworkManager
mount --bind {tmp}/nm-etc /etc/NetworkManager
mount -t tmpfs tmpfs /usr/lib/NetworkManager/conf.d 2>/dev/null || true
exec {NM} --no-daemon --config=/etc/NetworkManager/NetworkManager.conf \
    --state-file=/var/lib/NetworkManager/NetworkManager.state
"""


def nm_reapply(env, mtu):
    """One client: Reapply ethernet.mtu on every managed device, all calls in
    flight at once; returns the seconds until the last reply."""
    from gi.repository import Gio, GLib
    conn = Gio.DBusConnection.new_for_address_sync(
        env.bus_addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    nm = "org.freedesktop.NetworkManager"

    def call(path, iface, method, args, sig):
        return conn.call_sync(nm, path, iface, method, args, GLib.VariantType(sig),
                              Gio.DBusCallFlags.NONE, 600000, None)

    devices = call("/org/freedesktop/NetworkManager", nm, "GetDevices", None, "(ao)").unpack()[0]
    mine = []
    for d in devices:
        name = call(d, "org.freedesktop.DBus.Properties", "Get",
                    GLib.Variant("(ss)", (nm + ".Device", "Interface")), "(v)").unpack()[0]
        if name.startswith("va"):
            mine.append(d)
    if len(mine) != env.links:
        raise BenchError(f"NetworkManager has {len(mine)} va* devices, not {env.links}")
    applied = []
    for d in mine:
        r = call(d, nm + ".Device", "GetAppliedConnection", GLib.Variant("(u)", (0,)),
                 "(a{sa{sv}}t)")
        # Keep NM's own variants (their exact types), change only the MTU.
        settings = {}
        sv = r.get_child_value(0)
        for i in range(sv.n_children()):
            entry = sv.get_child_value(i)
            inner = entry.get_child_value(1)
            settings[entry.get_child_value(0).get_string()] = {
                inner.get_child_value(j).get_child_value(0).get_string():
                inner.get_child_value(j).get_child_value(1).get_variant()
                for j in range(inner.n_children())}
        settings.setdefault("802-3-ethernet", {})["mtu"] = GLib.Variant("u", mtu)
        applied.append((d, GLib.Variant("(a{sa{sv}}tu)",
                                        (settings, r.get_child_value(1).get_uint64(), 0))))
    ctx = GLib.MainContext.default()
    pending = [0]
    errors = []

    def done(c, res, _d):
        try:
            c.call_finish(res)
        except GLib.Error as e:
            errors.append(e.message)
        pending[0] -= 1

    t0 = time.perf_counter()
    for d, v in applied:
        # A bus allows a connection 128 calls awaiting replies
        # (max_replies_per_connection): keep WINDOW in flight.
        while pending[0] >= WINDOW:
            ctx.iteration(True)
        pending[0] += 1
        conn.call(nm, d, nm + ".Device", "Reapply", v, None, Gio.DBusCallFlags.NONE, 600000,
                  None, done, None)
    while pending[0] > 0:
        ctx.iteration(True)
    t = time.perf_counter() - t0
    conn.close_sync(None)
    if errors:
        raise BenchError(f"Reapply: {len(errors)} errors, first: {errors[0]}")
    return t0, t


def bench_nm(n, runs, rec, log):
    import uuid
    env = DaemonEnv(n, "veth")
    notes = []
    try:
        env.start()
        etc = env.tmp / "nm-etc"
        (etc / "system-connections").mkdir(parents=True)
        (etc / "NetworkManager.conf").write_text(NM_CONF)
        for name in env.names:
            p = etc / "system-connections" / f"{name}.nmconnection"
            p.write_text(NM_PROFILE.format(name=name, uuid=uuid.uuid4(), mtu=MTUS[0]))
            os.chmod(p, 0o600)
        t0 = time.perf_counter()
        env.spawn_daemon(nm_script(env.tmp))
        t = env.wait_mtu(MTUS[0], t0)
        rec.add("daemon", n, "nm-start", 1, t)
        # wait until NM has every profile active before reapplying
        deadline = time.monotonic() + POLL_LIMIT
        while True:
            r = env.busctl("--json=short", "get-property", "org.freedesktop.NetworkManager",
                           "/org/freedesktop/NetworkManager", "org.freedesktop.NetworkManager",
                           "ActiveConnections", check=False)
            active = len(json.loads(r.stdout)["data"]) if r.returncode == 0 else 0
            if active >= n:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"NetworkManager: {active} of {n} connections active")
            time.sleep(0.5)
        rec.add("daemon", n, "nm-active", 1, time.perf_counter() - t0)
        cur = MTUS[0]
        for r in range(runs):
            m = MTUS[1] if cur == MTUS[0] else MTUS[0]

            def action():
                t0, t_calls = nm_reapply(env, m)
                return t_calls, env.wait_mtu(m, t0)

            (t_calls, t_all), sigs = env.signals_during("org.freedesktop.NetworkManager",
                                                        action, until_quiet=True)
            cur = m
            rec.add("daemon", n, "nm-reapply", r + 1, t_all)
            rec.add("daemon", n, "nm-reapply-replies", r + 1, t_calls)
            rec.add("daemon", n, "nm-signals", r + 1, len(sigs), "signals")
        env.stop_daemon()
    finally:
        env.stop_daemon()
        env.stop()
    return notes


def run_all(a, wanted, sizes, rec, log, failures):
    notes = []
    for n in sizes:
        for name, limit, func in (("networkd", a.networkd_max, bench_networkd),
                                  ("nm", a.nm_max, bench_nm)):
            if name not in wanted:
                continue
            if n > limit:
                notes.append(f"{name} not run at {n} links (--{name}-max {limit})")
                continue
            log(f"{name}, {n} links")
            try:
                notes += func(n, a.daemon_runs, rec, log)
            except BenchError as e:
                failures.append(f"{name} at {n} links: {e}")
                log(f"bench-scale: {failures[-1]}")
    return notes

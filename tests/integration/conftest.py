# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures of groupd's integration tests.

Every test gets its own network namespace (gdt-<pid>-<random>), its own
dbus-daemon listening on a socket in a private directory, and starts groupd
inside the namespace with `groupd_factory(...)`. Teardown stops groupd
(SIGTERM, exit code 0 within 10 s), the bus, and deletes the namespace, also
when the test failed. Nothing runs in, or changes, the host's namespace.

GROUPD_BIN names the daemon (default: <repo>/build/src/groupd).
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gdlib  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60
STOP_TIMEOUT = 10


def groupd_bin():
    path = Path(os.environ.get("GROUPD_BIN", REPO / "build" / "src" / "groupd"))
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"groupd not found at {path}: build it (meson setup build && meson compile -C build) "
            "or set GROUPD_BIN",
            pytrace=False,
        )
    return path.resolve()


def _check_prerequisites():
    if os.geteuid() != 0:
        pytest.fail("the integration tests run as root (they create network namespaces)",
                    pytrace=False)
    missing = [t for t in ("ip", "dbus-daemon", "busctl", "gdbus", "dbus-monitor", "setpriv")
               if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools: {', '.join(missing)}", pytrace=False)


# ---- reporting groupd's log on failure ----


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for daemon in getattr(item, "_groupd_daemons", []):
            report.sections.append((f"groupd log ({daemon.log_path})", daemon.log_tail()))


# ---- fixtures ----


@pytest.fixture
def workdir():
    """A private directory, 0755 so that an unprivileged caller reaches the bus socket."""
    path = Path(tempfile.mkdtemp(prefix="gdt-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def netns(workdir):
    _check_prerequisites()
    name = f"gdt-{os.getpid()}-{secrets.token_hex(4)}"
    gdlib.run(["ip", "netns", "add", name])
    try:
        yield gdlib.Netns(name, workdir)
    finally:
        gdlib.run(["ip", "netns", "del", name], check=False)


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow send_type="signal"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""


class Bus:
    def __init__(self, workdir):
        self.socket = workdir / "bus.sock"
        self.address = f"unix:path={self.socket}"
        config = workdir / "bus.conf"
        config.write_text(BUS_CONFIG.format(socket=self.socket))
        self.log_path = workdir / "dbus-daemon.log"
        self._log = open(self.log_path, "w")
        rfd, wfd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--nofork", f"--print-address={wfd}"],
                pass_fds=(wfd,),
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
        finally:
            os.close(wfd)
        with os.fdopen(rfd) as r:
            line = r.readline()  # EOF if it dies
        if not line.strip():
            self.stop()
            raise AssertionError(f"dbus-daemon did not start: {self.log_path.read_text()}")

    def stop(self):
        gdlib.terminate(self.proc)
        self._log.close()


@pytest.fixture
def bus(workdir):
    b = Bus(workdir)
    try:
        yield b
    finally:
        b.stop()


class Groupd:
    """One groupd process inside the test's namespace."""

    def __init__(self, netns, bus, workdir, args, config_root=None):
        self.netns = netns
        self.bus = bus
        self.index = len(list(workdir.glob("groupd-*.log")))
        self.log_path = workdir / f"groupd-{self.index}.log"
        self.returncode = None
        notify_path = workdir / f"notify-{self.index}.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(notify_path))
        env = dict(os.environ)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
        env["NOTIFY_SOCKET"] = str(notify_path)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        cmd = netns.exec_cmd(str(groupd_bin()), "--log-level=debug")
        if config_root is not None:
            cmd.append(f"--config-root={config_root}")
        cmd += [str(a) for a in args]
        self.cmd = cmd
        self._log = open(self.log_path, "w")
        # `ip netns exec` execs the command: this pid is groupd's.
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.status = []
        try:
            self._wait_ready(sock)
        except BaseException:
            self.kill()
            raise
        finally:
            sock.close()
        self.client = gdlib.Client(bus.address)

    def _wait_ready(self, sock):
        deadline = time.monotonic() + READY_TIMEOUT
        sock.settimeout(0.2)
        while True:
            try:
                data = sock.recv(65536).decode(errors="replace")
                self.status.append(data)
                if "READY=1" in data.split("\n"):
                    return
            except socket.timeout:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"groupd exited with {self.proc.returncode} before READY=1\n"
                    f"command: {' '.join(self.cmd)}\nlog:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"groupd sent no READY=1 within {READY_TIMEOUT} s "
                    f"(notifications: {self.status!r})\nlog:\n{self.log_tail()}"
                )

    def log_tail(self, limit=60000):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"(no log: {e})"
        if len(text) > limit:
            text = f"... ({len(text) - limit} characters skipped)\n" + text[-limit:]
        return text

    def alive(self):
        return self.proc.poll() is None

    def terminate(self, timeout=STOP_TIMEOUT):
        """SIGTERM; returns the exit code, or None if it did not exit in time."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return None
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._log.close()


@pytest.fixture
def groupd_factory(request, netns, bus, workdir):
    """start(*args, config_root=None) → a running Groupd (READY=1 received).
    Create links before calling it to have groupd find them on start."""
    daemons = []
    request.node._groupd_daemons = daemons

    def start(*args, config_root=None):
        daemon = Groupd(netns, bus, workdir, args, config_root=config_root)
        daemons.append(daemon)
        return daemon

    yield start

    problems = []
    for daemon in daemons:
        if daemon.returncode is None and not daemon.alive():
            problems.append(f"groupd-{daemon.index} died during the test "
                            f"(exit code {daemon.proc.returncode})")
        elif daemon.returncode is None:
            code = daemon.terminate()
            if code is None:
                problems.append(f"groupd-{daemon.index} did not exit within {STOP_TIMEOUT} s "
                                "of SIGTERM")
            elif code != 0:
                problems.append(f"groupd-{daemon.index} exited with {code} on SIGTERM")
        elif daemon.returncode != 0:
            problems.append(f"groupd-{daemon.index} exited with {daemon.returncode}")
        daemon.kill()
        log = daemon.log_path.read_text(errors="replace")
        criticals = [l for l in log.splitlines() if "CRITICAL **" in l]
        if criticals:
            problems.append(f"groupd-{daemon.index} logged criticals: {criticals[:5]}")
    if problems:
        logs = "\n".join(f"--- groupd-{d.index} log ---\n{d.log_tail()}" for d in daemons)
        pytest.fail("; ".join(problems) + "\n" + logs, pytrace=False)


@pytest.fixture
def groupd(groupd_factory):
    """groupd started on an empty namespace (lo only)."""
    return groupd_factory()

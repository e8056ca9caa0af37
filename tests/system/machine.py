# SPDX-License-Identifier: LGPL-2.1-or-later
"""A Debian tree booted with systemd-nspawn, on an overlay of the cached
tree, in its own network namespace; commands run inside through nsenter.

This host has no systemd as PID 1: --register=no --keep-unit keep nspawn
from asking for one. --private-network gives the container a network
namespace of its own, holding only lo: every link the tests create is
there, never in the host's namespace."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "TERM": "dumb",
       "DEBIAN_FRONTEND": "noninteractive", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}


class CommandFailed(AssertionError):
    pass


class Machine:
    def __init__(self, base, work, name):
        self.base = Path(base)
        self.work = Path(work)
        self.name = name
        self.root = self.work / "root"
        self.proc = None
        self.pid1 = None
        self.boots = 0
        self.console = None

    # ---- the overlay ----
    def mount(self):
        for d in ("upper", "ovl", "root"):
            (self.work / d).mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={self.base},upperdir={self.work / 'upper'},"
                        f"workdir={self.work / 'ovl'}", str(self.root)], check=True)

    def unmount(self):
        if os.path.ismount(self.root):
            if subprocess.run(["umount", str(self.root)]).returncode != 0:
                subprocess.run(["umount", "-l", str(self.root)])
        shutil.rmtree(self.work, ignore_errors=True)

    # ---- boot and power off ----
    def boot(self, timeout=120):
        self.boots += 1
        self.console = self.work / f"console-{self.boots}.log"
        with open(self.console, "w") as log:
            self.proc = subprocess.Popen(
                ["systemd-nspawn", "-D", str(self.root), "-M", self.name, "-b",
                 "--private-network", "--register=no", "--keep-unit", "--console=read-only"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=ENV)
        # For run.sh, should this process be killed before the power-off.
        (self.work / "nspawn.pid").write_text(f"{self.proc.pid}\n")
        deadline = time.monotonic() + timeout
        self.pid1 = None
        while self.pid1 is None:
            if self.proc.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited ({self.proc.returncode}):\n"
                                     f"{self.console_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no container init after {timeout} s:\n"
                                     f"{self.console_tail()}")
            self.pid1 = self._container_init()
            time.sleep(0.1)
        # Its own network namespace, never the host's.
        if os.readlink(f"/proc/{self.pid1}/ns/net") == os.readlink("/proc/self/ns/net"):
            self.kill()
            raise AssertionError("the container shares the host's network namespace")
        state = ""
        while state not in ("running", "degraded"):
            if time.monotonic() > deadline:
                raise AssertionError(f"boot did not finish in {timeout} s (state {state!r}):\n"
                                     f"{self.console_tail()}")
            state = self.run("systemctl", "is-system-running", "--wait", check=False,
                             timeout=max(1, deadline - time.monotonic())).stdout.strip()
        if state == "degraded":
            failed = self.run("systemctl", "--failed", "--no-legend", check=False).stdout
            raise AssertionError(f"the container booted degraded:\n{failed}")

    def _container_init(self):
        """The child of nspawn that runs systemd: the container's PID 1."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return None
        for pid in children.split():
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                    return int(pid)
            except OSError:
                pass
        return None

    def poweroff(self, timeout=60):
        """From inside; nspawn exits when the container has shut down."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.run("systemctl", "poweroff", check=False, timeout=30)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"no power-off in {timeout} s:\n{self.console_tail()}")
        self.proc = self.pid1 = None

    def kill(self):
        """nspawn's SIGTERM asks the container to shut down; then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = self.pid1 = None

    def reboot(self):
        self.poweroff()
        self.boot()

    def console_tail(self, lines=40):
        try:
            return "\n".join(self.console.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AttributeError):
            return "(no console log)"

    # ---- commands inside ----
    def run(self, *cmd, user=None, check=True, timeout=60, input=None):
        """Runs CMD in every namespace of the container, as root or as USER
        (setpriv: no PAM, no session, with the user's groups)."""
        argv = ["nsenter", "-t", str(self.pid1), "-m", "-u", "-i", "-n", "-p", "-r", "-w"]
        if user:
            argv += ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"]
        argv += [str(c) for c in cmd]
        proc = subprocess.run(argv, env=ENV, input=input, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise CommandFailed(f"{' '.join(str(c) for c in cmd)}: exit {proc.returncode}\n"
                                f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def sh(self, script, **kw):
        return self.run("sh", "-ec", script, **kw)

    def path(self, inside):
        """A path of the container's tree, as the host writes it."""
        return self.root / str(inside).lstrip("/")

    def write(self, inside, text):
        target = self.path(inside)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    # ---- helpers for the checks ----
    def links(self):
        return {l["ifname"]: l for l in json.loads(self.run("ip", "-j", "link", "show").stdout)}

    def unit(self, *props, unit="groupd.service"):
        out = self.run("systemctl", "show", unit, *[f"--property={p}" for p in props]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def busctl(self, *args, user=None, check=True, interactive=True):
        cmd = ["busctl", "--json=short"]
        if not interactive:
            cmd.append("--allow-interactive-authorization=no")
        cmd += ["call", "net.groupd1", "/net/groupd1", "net.groupd1.Manager", *args]
        return self.run(*cmd, user=user, check=check)

    def journal(self, *args):
        return self.run("journalctl", "--no-pager", "-q", "-o", "short-monotonic",
                        *args).stdout

    def wait_for(self, what, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.2)

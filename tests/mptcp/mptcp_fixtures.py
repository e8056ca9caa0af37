# SPDX-License-Identifier: LGPL-2.1-or-later
"""pytest fixtures of the MPTCP integration tests (test_mptcp_*.py import
them): `rig` (tests/mptcp/rig.py, torn down also on failure; `rig_strict`
and `rig_slow` are variants) and `start_groupd` (groupd in the rig's
client namespace; teardown fails the test unless it exits 0 on SIGTERM
without a GLib critical, as conftest's groupd_factory does; its log is
attached to a failed test's report)."""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import groupd_mptcp as G  # noqa: E402
import rig as R  # noqa: E402


@pytest.fixture
def rig(workdir):
    path = Path(workdir) / "rig"
    path.mkdir()
    with R.Rig(workdir=path) as r:
        yield r


@pytest.fixture
def rig_strict(workdir):
    """The rig with rp_filter=1 (strict) on the client's links: only
    groupd's RelaxRpFilter lets packets in over the second path."""
    path = Path(workdir) / "rig"
    path.mkdir()
    with R.Rig(workdir=path, rp_filter=1) as r:
        yield r


@pytest.fixture
def rig_slow(workdir):
    """The rig with wlan0 at 2 Mbit/s: a slow but live path (its 64 KiB
    queue takes a quarter of a second to drain)."""
    path = Path(workdir) / "rig"
    path.mkdir()
    with R.Rig(workdir=path, wlan_rate="2mbit") as r:
        yield r


def _starter(request, rig_obj):
    started = []
    daemons = request.node.__dict__.setdefault("_groupd_daemons", [])

    def start(conf=None, groups=None, args=()):
        g = G.GroupdInRig(rig_obj, conf=conf, groups=groups, args=args,
                          name=f"groupd-{len(started)}")
        started.append(g)
        daemons.append(g.daemon)
        return g

    return start, started


def _finish(started):
    problems = []
    for g in started:
        died = not g.daemon.alive() and g.returncode is None
        code = g.stop()
        if died:
            problems.append(f"groupd died during the test (exit code {code})")
        elif code is None:
            problems.append("groupd did not exit within 10 s of SIGTERM")
        elif code != 0:
            problems.append(f"groupd exited with {code}")
        criticals = [l for l in g.log().splitlines() if "CRITICAL **" in l]
        if criticals:
            problems.append(f"groupd logged criticals: {criticals[:5]}")
    if problems:
        logs = "\n".join(f"--- {g.workdir.name} log ---\n{g.log()[-20000:]}" for g in started)
        pytest.fail("; ".join(problems) + "\n" + logs, pytrace=False)


@pytest.fixture
def start_groupd(request, rig):
    start, started = _starter(request, rig)
    yield start
    _finish(started)


@pytest.fixture
def start_groupd_strict(request, rig_strict):
    start, started = _starter(request, rig_strict)
    yield start
    _finish(started)


@pytest.fixture
def start_groupd_slow(request, rig_slow):
    start, started = _starter(request, rig_slow)
    yield start
    _finish(started)


def wait_subflow(rig, dev, present=True, timeout=5):
    """Waits until the client has (or no longer has) an established subflow on dev."""
    deadline = time.monotonic() + timeout
    while True:
        devs = {d for _a, d in rig.mptcp_subflows()}
        if (dev in devs) == present:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s the client's subflows are on {sorted(devs)}; "
                                 f"expected {'one' if present else 'none'} on {dev}")
        time.sleep(0.05)


def wait_kernel_endpoints(rig, expected, timeout=5):
    """Waits until `ip -j mptcp endpoint show` is exactly expected
    ({dev: sorted flags}); returns the time it was seen."""
    deadline = time.monotonic() + timeout
    while True:
        got = rig.endpoint_devs()
        if got == expected:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError(f"kernel endpoints after {timeout} s: {got}; expected {expected}"
                                 f"\n(all: {rig.endpoints()})")
        time.sleep(0.02)

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures of the system tests. tests/system/run.sh builds the package and
the cached Debian tree, and passes them in the environment:

    GD_SYSTEM_DEB      the groupd .deb
    GD_SYSTEM_CHANGES  its .changes (for lintian)
    GD_SYSTEM_BASE     the cached tree (read-only: the overlay's lower layer)
    GD_SYSTEM_WORK     a scratch directory for the overlay
    GD_SYSTEM_BUILD    the package's meson build directory

A test that cannot run here fails; none is skipped."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import Machine  # noqa: E402


def setting(name):
    value = os.environ.get(name)
    if not value:
        raise AssertionError(f"{name} is not set: run the system tests with tests/system/run.sh")
    return value


@pytest.fixture(scope="session")
def machine():
    """One container for the whole module, booted from a fresh overlay;
    powered off from inside and unmounted at the end, also on failure."""
    m = Machine(setting("GD_SYSTEM_BASE"), setting("GD_SYSTEM_WORK"), f"gdsys-{os.getpid()}")
    m.mount()
    try:
        m.boot()
        yield m
    finally:
        try:
            m.poweroff()
        finally:
            m.kill()
            m.unmount()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing check also shows groupd's journal and the console."""
    outcome = yield
    report = outcome.get_result()
    m = item.funcargs.get("machine") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and m is not None and m.pid1:
        try:
            report.sections.append(("journal (groupd, dbus, polkit)",
                                    m.journal("-u", "groupd", "-u", "dbus", "-u", "polkit",
                                              "-n", "80")))
        except Exception as e:  # the container may be gone
            report.sections.append(("journal", f"(unavailable: {e})"))
        report.sections.append(("console", m.console_tail()))

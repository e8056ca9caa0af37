# SPDX-License-Identifier: LGPL-2.1-or-later
"""The README's first command, `bash tools/demo.sh`, runs to its end with every
check passed (it creates and removes its own namespace and bus), on the build
under test."""

import os
import subprocess
from pathlib import Path

from conftest import groupd_bin

REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_every_check():
    build = groupd_bin().parents[1]  # <build>/src/groupd
    env = dict(os.environ, GD_SKIP_DEPS="1", GD_BUILD_DIR=str(build))
    proc = subprocess.run(["bash", str(REPO / "tools" / "demo.sh")], cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"demo.sh exited with {proc.returncode}:\n{out[-6000:]}"
    assert "every check passed" in proc.stdout, out[-6000:]
    assert "!!" not in proc.stdout, out[-6000:]

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what is missing, build with -Werror into build/, run the unit tests
# (meson, GTest), the fuzz corpus replay and the integration tests (meson's
# 'integration' suite: pytest, as root, each test in its own network
# namespace with a private dbus-daemon).
#
#   bash tools/test-all.sh            (as root, on Debian 12; .ci/run runs it)
#
# The last line of output is always "N passed, N failed", summed over unit and
# integration tests; the exit status is non-zero when anything failed or when
# no test ran at all. A skipped test counts as failed: tests here never skip.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
BUILD=${GD_BUILD_DIR:-build}
PY=/usr/bin/python3
PASSED=0
FAILED=0

finish() {
    local rc=0
    trap - EXIT
    if [ "$FAILED" -ne 0 ] || [ "$PASSED" -eq 0 ]; then
        rc=1
    fi
    echo
    echo "$PASSED passed, $FAILED failed"
    exit "$rc"
}
trap finish EXIT
trap 'echo "test-all: interrupted"; FAILED=$((FAILED + 1)); finish' INT TERM

stage() { printf '\n=== %s\n' "$*"; }
fail_stage() {
    echo "test-all: $*" >&2
    FAILED=$((FAILED + 1))
    finish
}

if [ "$(id -u)" -ne 0 ]; then
    echo "test-all: the integration tests need root (network namespaces)" >&2
fi

stage "dependencies"
bash tools/install-deps.sh </dev/null || fail_stage "installing dependencies failed"

stage "configure ($BUILD, -Dwerror=true)"
if [ -f "$BUILD/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$BUILD" -Dwerror=true ||
        meson setup --wipe "$BUILD" -Dwerror=true ||
        fail_stage "meson setup failed"
else
    meson setup "$BUILD" -Dwerror=true || fail_stage "meson setup failed"
fi

stage "build"
meson compile -C "$BUILD" || fail_stage "the build failed"

# --- unit tests --------------------------------------------------------------
stage "unit tests, fuzz corpus replay, source format (meson test --suite unit --suite fuzz --suite format)"
rm -f "$BUILD/meson-logs/testlog.json"
meson_rc=0
meson test -C "$BUILD" --suite unit --suite fuzz --suite format --print-errorlogs </dev/null || meson_rc=$?
read -r u_pass u_fail < <("$PY" tools/lib/counts.py meson "$BUILD/meson-logs/testlog.json")
if [ "$meson_rc" -ne 0 ] && [ "$u_fail" -eq 0 ]; then
    echo "test-all: meson test exited with $meson_rc; counting it as one failure" >&2
    u_fail=1
fi
if [ "$((u_pass + u_fail))" -eq 0 ]; then
    echo "test-all: no unit tests are defined yet"
fi
echo "unit: $u_pass passed, $u_fail failed"
PASSED=$((PASSED + u_pass))
FAILED=$((FAILED + u_fail))

# --- integration tests -------------------------------------------------------
stage "integration tests (meson test --suite integration: pytest, one file at a time)"
junit_dir="$ROOT/$BUILD/tests/integration/junit"
rm -rf "$junit_dir" "$BUILD/meson-logs/testlog.json"
py_rc=0
meson test -C "$BUILD" --suite integration --verbose </dev/null || py_rc=$?
read -r i_pass i_fail < <("$PY" tools/lib/counts.py meson "$BUILD/meson-logs/testlog.json" "$junit_dir")
if [ "$py_rc" -ne 0 ] && [ "$i_fail" -eq 0 ]; then
    echo "test-all: meson test --suite integration exited with $py_rc; counting it as one failure" >&2
    i_fail=1
fi
if [ "$((i_pass + i_fail))" -eq 0 ]; then
    echo "test-all: no integration test ran; counting it as one failure" >&2
    i_fail=1
fi
echo "integration: $i_pass passed, $i_fail failed"
PASSED=$((PASSED + i_pass))
FAILED=$((FAILED + i_fail))

finish

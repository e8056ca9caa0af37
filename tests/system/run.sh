#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# System tests: the Debian package, installed on a running Debian 12 that
# boots with systemd as PID 1, in a container with its own network namespace.
#
#   bash tests/system/run.sh          (as root, on Debian 12; .ci/run runs it)
#
#  1. installs what it needs (tools/install-deps.sh --system-tests);
#  2. builds the package from a copy of this tree (dpkg-buildpackage -b),
#     which counts as one test;
#  3. creates the Debian tree the container boots (debootstrap minbase with
#     systemd, dbus, polkitd and the package's dependencies), once: it is
#     cached under $GROUPD_SYSTEM_CACHE (default /var/cache/groupd-system),
#     keyed by what goes into it;
#  4. runs tests/system/test_package.py (Debian's pytest), which checks the
#     package with lintian, boots an overlay of the cached tree with
#     systemd-nspawn --private-network, installs the package into it with apt
#     and checks the running system through nsenter.
# The last line is "N passed, N failed"; the exit status is non-zero when
# anything failed. Nothing runs in the host's network namespace, and no
# service starts on the host.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
REPO=$(pwd)
PY=/usr/bin/python3
CACHE=${GROUPD_SYSTEM_CACHE:-/var/cache/groupd-system}
# Bump when the steps after debootstrap change: the key covers the rest.
RECIPE=1
SUITE=bookworm
BASE_PACKAGES=systemd,systemd-sysv,libpam-systemd,dbus,polkitd,iproute2,sudo
PASSED=0
FAILED=0
WORK=
DONE=

finish() {
    trap - EXIT
    if [ -z "$DONE" ]; then
        # Stopped early (an error of this script itself): never a green run.
        echo "system tests: stopped before the end" >&2
        FAILED=$((FAILED + 1))
    fi
    if [ -n "$WORK" ]; then
        # The tests power the container off and unmount their overlay; this
        # is for a run killed in between: its nspawn (the pid the tests
        # wrote), then the overlay.
        local pid
        if pid=$(cat "$WORK/machine/nspawn.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            timeout 30 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null
        fi
        if mountpoint -q "$WORK/machine/root" 2>/dev/null; then
            umount "$WORK/machine/root" || umount -l "$WORK/machine/root"
        fi
        rm -rf --one-file-system "$WORK"
    fi
    echo
    echo "$PASSED passed, $FAILED failed"
    if [ "$FAILED" -ne 0 ] || [ "$PASSED" -eq 0 ]; then
        exit 1
    fi
    exit 0
}
trap finish EXIT
trap 'echo "system tests: interrupted" >&2; FAILED=$((FAILED + 1)); DONE=1; finish' INT TERM

stage() { printf '\n=== system: %s\n' "$*"; }
fail_stage() {
    echo "system tests: $*" >&2
    FAILED=$((FAILED + 1))
    DONE=1
    finish
}
elapsed() { echo "$(($(date +%s) - $1)) s"; }

if [ "$(id -u)" -ne 0 ]; then
    fail_stage "must run as root (debootstrap, overlay mounts, systemd-nspawn)"
fi

stage "dependencies"
bash tools/install-deps.sh --system-tests </dev/null || fail_stage "installing dependencies failed"

WORK=$(mktemp -d /var/tmp/groupd-system.XXXXXX) || fail_stage "mktemp failed"

# --- the package -------------------------------------------------------------
stage "build the package (dpkg-buildpackage -b -us -uc, a copy of this tree)"
start=$(date +%s)
mkdir -p "$WORK/src/groupd"
# The tracked and new files as they are now, without build directories.
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z --cached --others --exclude-standard |
        (cd "$REPO" && tar --null -T - -cf -) | tar -xf - -C "$WORK/src/groupd"
else
    tar -C "$REPO" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -xf - -C "$WORK/src/groupd"
fi
if (cd "$WORK/src/groupd" && nice dpkg-buildpackage -b -us -uc) >"$WORK/build.log" 2>&1; then
    PASSED=$((PASSED + 1))
    echo "built in $(elapsed "$start"): $(cd "$WORK/src" && ls ./*.deb | tr '\n' ' ')"
else
    tail -n 40 "$WORK/build.log"
    fail_stage "dpkg-buildpackage failed (the rest cannot run)"
fi
DEB=$(ls "$WORK"/src/groupd_*_*.deb)
CHANGES=$(ls "$WORK"/src/groupd_*_*.changes)

# --- the cached Debian tree --------------------------------------------------
# The mirror apt uses on this machine, else debootstrap's default.
apt_mirror() {
    local uri
    uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources \
        2>/dev/null | grep -v security | head -n 1)
    if [ -z "$uri" ]; then
        uri=$(awk '$1 == "deb" && $3 !~ /security/ { print $2; exit }' /etc/apt/sources.list \
            2>/dev/null)
    fi
    echo "$uri"
}

# Every package the .deb depends on (the first of alternatives), so that it
# installs from the local file alone: the container has no network.
deb_depends() {
    dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' |
        grep -v '^$' | sort -u | paste -sd, -
}

stage "the Debian tree ($SUITE, debootstrap --variant=minbase), cached in $CACHE"
start=$(date +%s)
MIRROR=$(apt_mirror)
INCLUDE="$BASE_PACKAGES,$(deb_depends)"
KEY=$(printf '%s\n' "$RECIPE" "$SUITE" "$MIRROR" minbase "$INCLUDE" "$(uname -m)" |
    sha256sum | cut -c1-16)
BASE="$CACHE/$SUITE-$KEY"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -f "$BASE/complete" ]; then
    echo "reusing $BASE"
else
    echo "creating $BASE (key of: recipe $RECIPE, $SUITE, ${MIRROR:-the default mirror}, minbase, $INCLUDE)"
    rm -rf --one-file-system "$BASE.tmp"
    mkdir -p "$BASE.tmp"
    # shellcheck disable=SC2086 # an empty mirror is no argument
    if ! nice debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$BASE.tmp/root" \
        $MIRROR >"$WORK/debootstrap.log" 2>&1; then
        tail -n 30 "$WORK/debootstrap.log"
        rm -rf --one-file-system "$BASE.tmp"
        fail_stage "debootstrap failed"
    fi
    root="$BASE.tmp/root"
    # A persistent journal (the tests read it across a reboot) under one
    # machine id; no downloaded packages kept; no timers that want network.
    rm -f "$root"/var/cache/apt/archives/*.deb
    mkdir -p "$root/var/log/journal"
    rm -f "$root/etc/machine-id"
    systemd-machine-id-setup --root="$root" >/dev/null
    echo gdsystem >"$root/etc/hostname"
    for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
    done
    touch "$BASE.tmp/complete"
    mv "$BASE.tmp" "$BASE"
    # Trees of earlier keys are of no more use.
    for old in "$CACHE/$SUITE"-*; do
        [ "$old" = "$BASE" ] || rm -rf --one-file-system "$old"
    done
    echo "created in $(elapsed "$start")"
fi
flock -u 9

# --- the tests in the booted container ---------------------------------------
stage "tests in the container (pytest tests/system)"
junit="$WORK/junit.xml"
GD_SYSTEM_DEB="$DEB" GD_SYSTEM_CHANGES="$CHANGES" GD_SYSTEM_BASE="$BASE/root" \
    GD_SYSTEM_WORK="$WORK/machine" GD_SYSTEM_BUILD="$(ls -d "$WORK"/src/groupd/obj-*)" \
    "$PY" -m pytest -v -p no:cacheprovider --junitxml="$junit" tests/system </dev/null
read -r s_pass s_fail < <("$PY" tools/lib/counts.py junit "$junit")
if [ "$((s_pass + s_fail))" -eq 0 ]; then
    echo "system tests: pytest reported no test" >&2
    s_fail=1
fi
echo "system: $s_pass passed, $s_fail failed"
PASSED=$((PASSED + s_pass))
FAILED=$((FAILED + s_fail))
DONE=1

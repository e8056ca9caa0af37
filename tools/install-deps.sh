#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what groupd's build, demo, tests and benchmark need, on Debian 12.
# Idempotent: asks apt only for what is missing, and runs `apt-get update`
# only when something is. Needs root when something is missing. No stdin.
set -euo pipefail

packages=(
    # build
    meson ninja-build pkg-config gcc libc6-dev
    libglib2.0-dev libglib2.0-dev-bin libmnl-dev libsystemd-dev libcap-ng-dev
    libjson-glib-dev
    # runtime clients: busctl (systemd), gdbus (libglib2.0-bin), a private bus
    systemd libglib2.0-bin dbus-daemon dbus-bin
    # namespaces, links, addresses; setpriv (util-linux) for non-root callers
    iproute2 util-linux procps
    # integration tests: Debian's /usr/bin/python3 with pytest
    python3 python3-pytest
    # benchmark: a D-Bus client without a process start (GDBus from Python)
    python3-gi
    # source formatting check
    clang-format
    # groupctl's --json checked with jq; man pages from scdoc
    jq scdoc
    # MPTCP benchmark: mptcpd (addr_adv plugin) as the peer to compare with
    mptcpd mptcpd-plugins
    # MPTCP receive-side tests: OpenSSH under mptcpize (sshd only ever runs inside
    # a test's server namespace, with its own configuration and host keys)
    openssh-server openssh-client mptcpize
    # scale benchmark: its plot (systemd-networkd, compared with, comes with systemd)
    gnuplot-nox
)
# The scale benchmark also compares with NetworkManager. Only on request:
# on a host whose init is systemd the package starts NetworkManager at once,
# and it would manage the host's own interfaces.
if [ "${1:-}" = --bench-daemons ]; then
    packages+=(network-manager)
fi
# The system tests (tests/system/run.sh): build the Debian package, check it
# with lintian, create a Debian tree and boot it with systemd-nspawn. Only on
# request: lintian alone pulls in some 60 packages.
if [ "${1:-}" = --system-tests ]; then
    packages+=(dpkg-dev debhelper fakeroot lintian debootstrap systemd-container)
fi
# A kernel with modules loads ifb/veth on demand through modprobe.
if [ -e /proc/modules ]; then
    packages+=(kmod)
fi

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" </dev/null

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
# NetworkManager: the integration tests run it (and systemd-networkd, which
# comes with systemd) inside test namespaces, next to groupd; the scale
# benchmark compares with it. Installing the package must not start it on
# the host, where it would take over the host's own interfaces: see
# nm_may_not_start below.
packages+=(network-manager)
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

# apt-get starts a package's services through invoke-rc.d/deb-systemd-invoke,
# which ask /usr/sbin/policy-rc.d first: exit code 101 forbids. Without such
# a policy, NetworkManager (and systemd-networkd's units, enabled by the
# package) would start in the host's namespace and manage its uplink.
nm_may_not_start() {
    local policy=/usr/sbin/policy-rc.d rc=0
    [ -x "$policy" ] || return 1
    "$policy" NetworkManager start </dev/null >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 101 ]
}
for p in "${missing[@]}"; do
    if [ "$p" = network-manager ] && ! nm_may_not_start; then
        echo "install-deps: refusing to install network-manager: /usr/sbin/policy-rc.d" \
            "does not forbid starting services (exit 101), so the package would start" \
            "NetworkManager in the host's namespace, where it would take over its" \
            "interfaces. Install such a policy-rc.d first (the tests run NetworkManager" \
            "only inside their own namespaces)." >&2
        exit 1
    fi
done

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" </dev/null

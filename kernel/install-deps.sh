#!/bin/bash
# Debian 12 packages for kernel/build.sh, kernel/qemu/run.sh and kernel/run-tests.sh.
# Not part of the default CI path (tools/install-deps.sh): the guest suite is a separate,
# slower command. Idempotent; needs root when something is missing.
set -euo pipefail
packages=(
	linux-source-6.12                       # the kernel source tarball under /usr/src
	gcc make flex bison bc libelf-dev libssl-dev git dpkg-dev
	qemu-system-x86 busybox-static cpio     # the guest: QEMU, its initramfs
	python3 python3-yaml iproute2           # the selftests and YNL (from the host root, over 9p)
	linux-perf                              # kernel/bench/group_mtu_perf.py
)
missing=()
for p in "${packages[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
[ ${#missing[@]} = 0 ] && exit 0
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

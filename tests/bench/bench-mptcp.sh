#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# MPTCP failover benchmark (see mptcp_bench.py): per failure kind of wlan0
# (carrier loss, admin down, address removal, silent blackhole), the stall,
# the catch-up time, the return to wlan0 after the heal and the bytes on
# wwan0 while wlan0 is healthy, for: the kernel alone with a backup endpoint,
# an actor deleting the wlan0 endpoint 20 ms after the fault, mptcpd, and
# groupd in failover, power-save and aggregate modes. Everything runs in
# throw-away namespace pairs (tests/mptcp/rig.py); builds groupd if needed.
#
#   bash tests/bench/bench-mptcp.sh [--runs 5] [--setups kernel,actor,...]
#                                   [--kinds carrier,admin,addr,blackhole]
#                                   [--hold-down 2]
#
# Markdown on stdout, every run in tests/bench/results/mptcp.csv. Run as root.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
export GROUPD_BIN=${GROUPD_BIN:-$PWD/$BUILD/src/groupd}
exec nice -n 10 /usr/bin/python3 tests/bench/mptcp_bench.py "$@"

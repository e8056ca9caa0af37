#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# groupd on UP links with IPv6 on a stock kernel (see bench-up.py): builds
# groupd into build/ if needed, then times group-wide MTU changes and
# State=up on N UP ifb links (IPv6 on and off) and on DOWN links, three ways
# (group message, ip -batch, SetGroup), with the longest RTNL wait of a probe
# in another namespace during each.
#
#   bash tests/bench/bench-up.sh [--sizes 128,...,8192] [--down-sizes 128,...,32768]
#                                [--ipv6 on,off] [--series mtu,up,down-mtu] [--runs 3]
#
# Markdown on stdout, CSV and plot in tests/bench/results/up.*. Run as root.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
exec nice /usr/bin/python3 tests/bench/bench-up.py --groupd "$BUILD/src/groupd" "$@"

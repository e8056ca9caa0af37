#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# groupd core benchmark (see bench-core.py): builds groupd into build/ if
# needed, then times a group-wide MTU change on N ifb links in a throw-away
# network namespace: one group message, busctl SetGroup, ip -batch and one ip
# process per link, with the links DOWN and UP.
#
#   bash tests/bench/bench-core.sh [--links 2048] [--runs 5] [--slow-runs 3]
#                                  [--up-runs 3] [--up-slow-runs 3]
#
# Markdown on stdout, CSV in tests/bench/results/core-N.csv. Run as root.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
exec /usr/bin/python3 tests/bench/bench-core.py --groupd "$BUILD/src/groupd" "$@"

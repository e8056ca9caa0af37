#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Where the time of bringing N links up with IPv6 goes (see up-profile.py):
# builds groupd into build/ if needed, then brings the group up each way
# (group message, SetGroup, ip -batch, ip -batch drained between chunks)
# under perf, and splits the samples by process and kernel function.
#
#   bash tests/bench/up-profile.sh [--size 8192] [--runs 2] [--ways group,...] [--no-probe]
#
# Markdown on stdout and in tests/bench/results/up-profile.md. Run as root.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
exec nice /usr/bin/python3 tests/bench/up-profile.py --groupd "$BUILD/src/groupd" "$@"

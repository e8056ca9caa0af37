#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# groupd scale benchmark (see bench-scale.py): builds groupd if needed, then
# measures N = 128 … 32768 ifb links in throw-away network namespaces: the
# original table (one group message against one process per link), ip -batch,
# groupd over D-Bus (SetGroup, SetLinkGroup, agreement with the kernel,
# startup, RSS, signals), systemd-networkd and NetworkManager.
#
#   bash tests/bench/bench-scale.sh [--sizes 128,256,512,1024,2048,8192,32768]
#        [--runs 5] [--big-runs 3] [--up-max 8192] [--daemons networkd,nm]
#
# Markdown on stdout and in tests/bench/results/scale.md, CSV in scale.csv
# (every sample in scale-runs.csv), the plot in scale.png. Run as root.
# NetworkManager comes from `bash tools/install-deps.sh`;
# without it, pass --daemons networkd.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
exec nice -n "${GD_BENCH_NICE:-0}" /usr/bin/python3 tests/bench/bench-scale.py \
    --groupd "$BUILD/src/groupd" "$@"

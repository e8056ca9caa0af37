#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The long load test: 50 clients for 60 s against 8192 ifb links
# (tests/integration/test_load.py; CI runs the same test with 2048 links for
# 10 s). Everything happens in a throw-away network namespace and on a
# private bus, as for the other integration tests.
#
#   sudo bash tools/load-test.sh [--links N] [--seconds S] [--clients C]
#
# GROUPD_BIN picks the daemon (default build/src/groupd). Prints the figures
# (operations accepted, reads, Busy, mismatches, VmRSS) and exits non-zero
# on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

links=8192 seconds=60 clients=50
while [ $# -gt 0 ]; do
    case "$1" in
    --links) links=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    *) echo "usage: $0 [--links N] [--seconds S] [--clients C]" >&2; exit 2 ;;
    esac
done

GROUPD_LOAD_LINKS=$links GROUPD_LOAD_SECONDS=$seconds GROUPD_LOAD_CLIENTS=$clients \
    nice -n 10 /usr/bin/python3 -m pytest -q -p no:cacheprovider -s \
    tests/integration/test_load.py 2>&1 | grep -Ev '^(\(groupd|groupd-)'

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# groupd under valgrind (memcheck), for the integration tests:
#
#   GROUPD_BIN=tests/integration/valgrind-groupd.sh \
#   GROUPD_REAL_BIN=build/src/groupd GROUPD_VALGRIND_DIR=/tmp/vg \
#   /usr/bin/python3 -m pytest -q tests/integration/test_group_ops.py
#
# The fixtures start GROUPD_BIN through `ip netns exec`, which execs it: this
# script then execs valgrind, so the pid the fixture signals (SIGTERM) is
# valgrind's, which runs groupd's exit and reports. One log per process,
# GROUPD_VALGRIND_DIR/valgrind.<pid>.log (default: next to this script's real
# binary, <builddir>/valgrind-logs). Errors and definite leaks make the exit
# code 99, which the fixtures report as a failure; "possibly lost" and "still
# reachable" (GLib's one-time allocations) do not count.
here=$(cd "$(dirname "$0")" && pwd)
real=${GROUPD_REAL_BIN:-$here/../../build/src/groupd}
dir=${GROUPD_VALGRIND_DIR:-$(dirname "$real")/../valgrind-logs}
mkdir -p "$dir" && chmod 1777 "$dir" 2>/dev/null
# GLib: slices on malloc, so that memcheck sees each block.
G_SLICE=always-malloc G_DEBUG=gc-friendly
export G_SLICE G_DEBUG
exec valgrind --quiet --tool=memcheck --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=40 \
    --track-origins=yes --log-file="$dir/valgrind.%p.log" "$real" "$@"

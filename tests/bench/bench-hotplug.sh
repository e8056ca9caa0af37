#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hot-plug latency, groupd against systemd-networkd (see bench-hotplug.py):
# builds groupd into build/ if needed, then creates 1, 100 and 1000 links
# named ppp* among N existing ones (DOWN, and UP with IPv6) in a throw-away
# namespace and measures, per new link, its first RTM_NEWLINK to its first
# showing the policy's MTU.
#
#   bash tests/bench/bench-hotplug.sh [--sizes 128,1024,4096,32768] [--states down,up]
#                                     [--bursts 1,100,1000] [--managers groupd,networkd]
#
# Markdown on stdout, CSV in tests/bench/results/hotplug.*. Run as root.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
exec nice /usr/bin/python3 tests/bench/bench-hotplug.py --groupd "$BUILD/src/groupd" "$@"

# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the bench-*.sh wrappers: goes to the repository's root and builds
# groupd into $BUILD ($GD_BUILD_DIR, build/ by default), setting it up first
# if needed. The build's output goes to stderr: stdout is the results'.
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
BUILD=${GD_BUILD_DIR:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" >&2
fi
meson compile -C "$BUILD" >&2

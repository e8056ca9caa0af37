#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/
# (-Db_sanitize=address,undefined, debug, -Werror) and run the unit tests
# (meson, GTest) and the whole integration suite (pytest, as root) with the
# sanitized groupd and groupctl.
#
#   bash tools/test-sanitizers.sh     (as root, on Debian 12; CC=clang to use clang)
#
# Every sanitizer report, of any sanitized process (groupd, groupctl, the unit
# tests, also one whose exit code no test looks at, also one running under an
# unprivileged uid), is written to a file of $BUILD/sanitizer-logs/
# (ASAN_OPTIONS/UBSAN_OPTIONS log_path); LeakSanitizer reports at exit, which
# the fixtures reach by SIGTERM (groupd returns from main()). Before the tests,
# a small leaking canary run through `ip netns exec` proves that the options
# reach a process started the way the fixtures start groupd.
#
# The last line of output is always "N passed, N failed", as in test-all.sh,
# summed over unit and integration tests, plus one failure per sanitizer
# report; the exit status is non-zero when anything failed, when a report was
# written, or when no test ran at all.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
BUILD=${GD_ASAN_BUILD_DIR:-build-asan}
PY=/usr/bin/python3
PASSED=0
FAILED=0
CANARY_NS=""
START=$(date +%s)

finish() {
    local rc=0
    trap - EXIT
    if [ -n "$CANARY_NS" ]; then
        ip netns del "$CANARY_NS" 2>/dev/null
    fi
    if [ "$FAILED" -ne 0 ] || [ "$PASSED" -eq 0 ]; then
        rc=1
    fi
    echo
    echo "test-sanitizers: $(( $(date +%s) - START )) s"
    echo "$PASSED passed, $FAILED failed"
    exit "$rc"
}
trap finish EXIT
trap 'echo "test-sanitizers: interrupted"; FAILED=$((FAILED + 1)); finish' INT TERM

stage() { printf '\n=== %s\n' "$*"; }
fail_stage() {
    echo "test-sanitizers: $*" >&2
    FAILED=$((FAILED + 1))
    finish
}

if [ "$(id -u)" -ne 0 ]; then
    echo "test-sanitizers: the integration tests need root (network namespaces)" >&2
fi

stage "dependencies"
bash tools/install-deps.sh </dev/null || fail_stage "installing dependencies failed"

# --- build -------------------------------------------------------------------
SETUP_OPTS=(-Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true --buildtype=debug)
stage "configure ($BUILD, ${SETUP_OPTS[*]}${CC:+, CC=$CC})"
if [ -f "$BUILD/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$BUILD" "${SETUP_OPTS[@]}" ||
        meson setup --wipe "$BUILD" "${SETUP_OPTS[@]}" ||
        fail_stage "meson setup failed"
else
    meson setup "$BUILD" "${SETUP_OPTS[@]}" || fail_stage "meson setup failed"
fi

stage "build"
meson compile -C "$BUILD" || fail_stage "the build failed"
for bin in "$BUILD/src/groupd" "$BUILD/src/groupctl"; do
    # ASan's runtime is in the binary's link (gcc: libasan.so; clang: static).
    # (grep -c, not -q: with pipefail, nm killed by SIGPIPE would fail the test.)
    if [ "$( { nm -D "$bin"; nm "$bin"; } 2>/dev/null | grep -c __asan_init)" -eq 0 ]; then
        fail_stage "$bin is not built with AddressSanitizer"
    fi
done

# --- sanitizer options -------------------------------------------------------
# Reports go to files: a report of a process whose output a test swallows or
# whose exit code it does not check is found all the same. The directory is
# world-writable (sticky): test_systemd runs groupd as uid 65534.
LOGDIR="$ROOT/$BUILD/sanitizer-logs"
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR" && chmod 1777 "$LOGDIR" || fail_stage "cannot create $LOGDIR"
# Ours first, so that options already in the environment (e.g. suppressions=)
# are kept, and win.
# fast_unwind_on_malloc=0: GLib has no frame pointers, and a leak's stack
# would end at g_malloc without it.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:disable_coredump=1:fast_unwind_on_malloc=0:malloc_context_size=40:log_path=$LOGDIR/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGDIR/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"
# GLib 2.74: g_slice_*() on plain malloc, so that ASan sees those blocks too.
export G_SLICE=always-malloc
echo "ASAN_OPTIONS=$ASAN_OPTIONS"
echo "UBSAN_OPTIONS=$UBSAN_OPTIONS"

# Markers of a sanitizer report, in a log file or in captured output.
MARKERS='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)Sanitizer|LeakSanitizer has encountered a fatal error|Sanitizer CHECK failed'

# --- canary: the options reach a process started like groupd ------------------
stage "canary (a leak, under ip netns exec)"
canary_dir="$ROOT/$BUILD/sanitizer-canary"
rm -rf "$canary_dir"
mkdir -p "$canary_dir"
cat >"$canary_dir/canary.c" <<'EOF'
#include <stdlib.h>
int main(void)
{
    char *volatile p = malloc(77);
    p[0] = 1;
    p = NULL;
    return 0;
}
EOF
"${CC:-cc}" -g -O0 -fsanitize=address,undefined -o "$canary_dir/canary" "$canary_dir/canary.c" ||
    fail_stage "cannot build the canary with ${CC:-cc}"
CANARY_NS="gds-canary-$$"
ip netns add "$CANARY_NS" || fail_stage "ip netns add $CANARY_NS failed"
canary_rc=0
ip netns exec "$CANARY_NS" "$canary_dir/canary" >"$canary_dir/output" 2>&1 || canary_rc=$?
ip netns del "$CANARY_NS"
CANARY_NS=""
# Only the canary has run since the directory was emptied: its report is here.
shopt -s nullglob
canary_reports=("$LOGDIR"/asan.* "$LOGDIR"/ubsan.*)
shopt -u nullglob
canary_leaks=0
if [ "${#canary_reports[@]}" -gt 0 ]; then
    mv "${canary_reports[@]}" "$canary_dir/"
    canary_leaks=$(cat "$canary_dir"/asan.* 2>/dev/null |
        grep -c "ERROR: LeakSanitizer: detected memory leaks")
fi
if [ "$canary_rc" -eq 0 ] || [ "$canary_leaks" -eq 0 ]; then
    fail_stage "the canary's leak was not reported (exit $canary_rc, reports: ${#canary_reports[@]}): the sanitizer options do not reach the daemon, or LeakSanitizer does not run here"
fi
echo "canary: leak reported, exit $canary_rc"

# --- unit tests --------------------------------------------------------------
stage "unit tests and fuzz corpus replay (meson test --suite unit --suite fuzz)"
rm -f "$BUILD/meson-logs/testlog.json"
meson_rc=0
meson test -C "$BUILD" --suite unit --suite fuzz --print-errorlogs </dev/null || meson_rc=$?
read -r u_pass u_fail < <("$PY" tools/lib/counts.py meson "$BUILD/meson-logs/testlog.json")
if [ "$meson_rc" -ne 0 ] && [ "$u_fail" -eq 0 ]; then
    echo "test-sanitizers: meson test exited with $meson_rc; counting it as one failure" >&2
    u_fail=1
fi
if [ "$((u_pass + u_fail))" -eq 0 ]; then
    echo "test-sanitizers: no unit test ran"
fi
echo "unit: $u_pass passed, $u_fail failed"
PASSED=$((PASSED + u_pass))
FAILED=$((FAILED + u_fail))

# --- integration tests -------------------------------------------------------
stage "integration tests (meson test --suite integration, sanitized groupd and groupctl)"
junit_dir="$ROOT/$BUILD/tests/integration/junit"
pytest_out="$ROOT/$BUILD/integration-output.txt"
rm -rf "$junit_dir" "$BUILD/meson-logs/testlog.json"
py_rc=0
i_start=$(date +%s)
meson test -C "$BUILD" --suite integration --verbose </dev/null 2>&1 | tee "$pytest_out"
py_rc=${PIPESTATUS[0]}
echo "integration: $(( $(date +%s) - i_start )) s"
read -r i_pass i_fail < <("$PY" tools/lib/counts.py meson "$BUILD/meson-logs/testlog.json" "$junit_dir")
if [ "$py_rc" -ne 0 ] && [ "$i_fail" -eq 0 ]; then
    echo "test-sanitizers: meson test --suite integration exited with $py_rc; counting it as one failure" >&2
    i_fail=1
fi
if [ "$((i_pass + i_fail))" -eq 0 ]; then
    echo "test-sanitizers: no integration test ran; counting it as one failure" >&2
    i_fail=1
fi
echo "integration: $i_pass passed, $i_fail failed"
PASSED=$((PASSED + i_pass))
FAILED=$((FAILED + i_fail))

# --- sanitizer reports -------------------------------------------------------
stage "sanitizer reports ($LOGDIR)"
shopt -s nullglob
reports=("$LOGDIR"/asan.* "$LOGDIR"/ubsan.*)
shopt -u nullglob
for r in "${reports[@]}"; do
    printf -- '--- %s\n' "$r"
    cat "$r"
done
# One line per kind of report: the first frames in our sources.
if [ "${#reports[@]}" -gt 0 ]; then
    echo
    echo "sanitizer reports by origin (count, kind, first frames in src/):"
    "$PY" - "${reports[@]}" <<'EOF'
import collections, re, sys
kinds = collections.Counter()
for path in sys.argv[1:]:
    text = open(path, errors="replace").read()
    for block in re.split(r"\n(?=Direct leak|Indirect leak|==\d+==ERROR|\S+:\d+:\d+: runtime error)", text):
        head = block.strip().splitlines()[0] if block.strip() else ""
        if head.startswith("Indirect leak") or not head:
            continue
        m = re.search(r"(Direct leak|ERROR: AddressSanitizer: [\w-]+|runtime error: .*)", head)
        if not m or m.group(1).startswith("ERROR: LeakSanitizer"):
            continue
        ours = re.findall(r"in (\w+) \.\./src/(\S+)", block)
        where = " < ".join(f"{fn} ({loc})" for fn, loc in ours[:3])
        if not where:  # e.g. an object GDBus made on its thread: its first named frames
            named = [f for f in re.findall(r"#\d+ 0x[0-9a-f]+ in (\w+)", block)
                     if not re.match(r"(__interceptor_|g_malloc|g_slice|g_realloc|g_type_create)", f)]
            where = "no frame in src/: " + " < ".join(named[:4])
        kinds[(m.group(1)[:70], where)] += 1
for (kind, where), n in kinds.most_common():
    print(f"{n:6}  {kind}: {where}")
EOF
fi
# A report that did not reach its file (e.g. the file could not be opened)
# lands on the process's stderr: look in the captured outputs too.
stray=$(grep -aEc "$MARKERS" "$pytest_out" "$BUILD/meson-logs/testlog.txt" 2>/dev/null |
    awk -F: '{ n += $NF } END { print n + 0 }')
if [ "$stray" -gt 0 ]; then
    echo "test-sanitizers: $stray sanitizer report line(s) in the test output:" >&2
    grep -aEn "$MARKERS" "$pytest_out" "$BUILD/meson-logs/testlog.txt" 2>/dev/null | head -50 >&2
fi
# LeakSanitizer stops the threads with ptrace: in a process that cannot be
# traced (not dumpable, e.g. after dropping capabilities, without
# CAP_SYS_PTRACE) it scans no thread's stack or TLS and reports false leaks.
unsuspended=0
if [ "${#reports[@]}" -gt 0 ]; then
    unsuspended=$(grep -l "was not suspended" "${reports[@]}" | wc -l)
fi
if [ "$unsuspended" -gt 0 ]; then
    echo "test-sanitizers: in $unsuspended report(s) LeakSanitizer could not suspend threads" \
        "(\"False leaks are possible\"): the process was not traceable (dumpable 0 after" \
        "dropping capabilities?); leaks reported from GLib's threads there may be false" >&2
fi
n_reports=$(( ${#reports[@]} + (stray > 0 ? 1 : 0) ))
echo "sanitizer reports: ${#reports[@]} file(s)$([ "$stray" -gt 0 ] && echo ", and report lines in the test output")"
FAILED=$((FAILED + n_reports))

finish

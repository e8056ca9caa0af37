#!/bin/bash
# Build the test kernel if needed, boot it under QEMU and run the series' selftests
# (tools/testing/selftests/net/*.py added by kernel/patches/linux-6.12) in the guest.
#
#   kernel/run-tests.sh [--stock|--debug] [TEST...]
#
# --stock  run the same selftests on the unpatched kernel: rtnl_group.py fails there (each
#          case checks what a patch changes), the four ipv6_*.py pass on both (they check
#          that the IPv6 patches change no result)
# --debug  on the patched kernel built with lockdep and friends (build.sh --debug); a kernel
#          warning in the guest's log (lock order, sleeping in atomic context, ...) counts as
#          one more failure
# TEST     run only these selftests (e.g. rtnl_group.py); default: all the series adds
#
# The selftests run in-tree from the patched source (lib/py, YNL and the netlink specs
# included), exported to the cache because the guest sees the host's root file system read-only
# but has its own /tmp. Ends with "N passed, N failed", counting test cases (KTAP "ok" and
# "not ok"; a skipped case counts as failed, as does a program that reported no cases); exits
# non-zero if any failed.
# Cache: $GROUPD_KERNEL_CACHE (default /var/cache/groupd-kernel), see kernel/build.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${GROUPD_KERNEL_CACHE:-/var/cache/groupd-kernel}
variant=
tests=()
for a in "$@"; do
	case $a in
	--stock) variant=--stock ;;
	--debug) variant=--debug ;;
	-*) echo "usage: $0 [--stock|--debug] [TEST...]" >&2; exit 2 ;;
	*) tests+=("$a") ;;
	esac
done
command -v git >/dev/null || { echo "run-tests.sh: git missing" >&2; exit 1; }

image=$("$here/build.sh" $variant | tail -n1)

# The patched tree, composed from the unpacked source (build.sh made it) and the series.
shopt -s nullglob
patches=()
for p in "$here"/patches/linux-6.12/*.patch; do
	case $(basename "$p") in 0000-cover-letter.patch) ;; *) patches+=("$p") ;; esac
done
shopt -u nullglob
repo=$(cat "$image/source-tree")/src
key=$(cat "${patches[@]}" | sha256sum | cut -c1-16)
st=$cache/selftests-$key
if [ ! -d "$st" ]; then
	index=$(mktemp "$cache/selftests.index.XXXXXX")
	git_() { GIT_INDEX_FILE=$index git -C "$repo" "$@"; }
	git_ read-tree pristine
	for p in "${patches[@]}"; do git_ apply --cached "$p"; done
	tree=$(git_ write-tree)
	rm -f "$index"
	rm -rf "$st.tmp"
	mkdir -p "$st.tmp"
	git -C "$repo" archive "$tree" tools/testing/selftests/net tools/net/ynl \
		Documentation/netlink/specs | tar x -C "$st.tmp"
	mv "$st.tmp" "$st"
fi
net=$st/tools/testing/selftests/net
if [ ${#tests[@]} = 0 ]; then
	# The programs the series adds to the Makefile's TEST_PROGS.
	for p in "${patches[@]}"; do
		sed -n 's|^+TEST_PROGS += \(.*\.py\)$|\1|p' "$p"
	done >"$st.list"
	mapfile -t tests <"$st.list"
	rm -f "$st.list"
fi

# The loop runs in the guest; each selftest makes its own network namespaces.
guest_cmd='for t in '"${tests[*]}"'; do
	echo "=== $t"
	./$t; echo "=== exit $?"
done
dmesg | grep -E "WARNING:|BUG:|circular locking|inconsistent lock|sleeping function|suspicious RCU" &&
	echo "=== kernel warnings"
echo "=== kernel $(uname -r)"'

cd "$net"
set +e
"$here/qemu/run.sh" --kernel "$image" --timeout "${GROUPD_VM_TIMEOUT:-1800}" -- "$guest_cmd" |
	tee "$cache/last-run.log"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -cE '^ok [0-9]+ [^#]*$' "$cache/last-run.log" || true)
failed=$(grep -cE '^not ok |^ok [0-9]+ .*# (SKIP|XFAIL)' "$cache/last-run.log" || true)
# A program that crashed before its KTAP plan, or a guest that did not finish.
for t in "${tests[@]}"; do
	grep -q "^1\.\.[0-9]" <(sed -n "/^=== $t\$/,/^=== exit/p" "$cache/last-run.log") || {
		echo "run-tests.sh: $t reported no test cases" >&2
		failed=$((failed + 1))
	}
done
grep -q '^=== kernel warnings' "$cache/last-run.log" && {
	echo "run-tests.sh: the kernel warned (above)" >&2
	failed=$((failed + 1))
}
grep -q '^=== kernel [0-9]' "$cache/last-run.log" || {
	echo "run-tests.sh: the guest did not finish (exit $rc)" >&2
	failed=$((failed + 1))
}
[ -n "$variant" ] && echo "run-tests.sh: on the ${variant#--} kernel" >&2
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

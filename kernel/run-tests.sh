#!/bin/bash
# Build the test kernel if needed, boot it under QEMU and run the series' selftests
# (tools/testing/selftests/net/rtnl_group_*.py from kernel/patches/linux-6.1) in the guest.
#
#   kernel/run-tests.sh [--stock] [TEST...]
#
# --stock  run the same selftests on the unpatched kernel (they are expected to fail there:
#          each one proves what its patch changes)
# TEST     run only these selftests (e.g. rtnl_group_dump.py); default: all of them
#
# Ends with "N passed, N failed" (selftest programs); exits non-zero if any failed.
# Cache: $GROUPD_KERNEL_CACHE (default /var/cache/groupd-kernel), see kernel/build.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${GROUPD_KERNEL_CACHE:-/var/cache/groupd-kernel}
variant=
tests=()
for a in "$@"; do
	case $a in
	--stock) variant=--stock ;;
	-*) echo "usage: $0 [--stock] [TEST...]" >&2; exit 2 ;;
	*) tests+=("$a") ;;
	esac
done
command -v git >/dev/null || { echo "run-tests.sh: git missing" >&2; exit 1; }

image=$("$here/build.sh" $variant | tail -n1)

# The selftests come from the patches themselves (all new files), so the stock kernel runs
# exactly the tests the patched one does. They live in the cache because the guest sees
# the host's root file system but has its own /tmp.
key=$(cat "$here"/patches/linux-6.1/*.patch | sha256sum | cut -c1-16)
st=$cache/selftests-$key
if [ ! -d "$st" ]; then
	rm -rf "$st.tmp"
	mkdir -p "$st.tmp"
	git -C "$st.tmp" init -q
	for p in "$here"/patches/linux-6.1/*.patch; do
		git -C "$st.tmp" apply --include='tools/testing/selftests/net/rtnl_group_*' "$p"
	done
	mv "$st.tmp/tools/testing/selftests/net" "$st.net"
	rm -rf "$st.tmp"
	mv "$st.net" "$st"
fi
if [ ${#tests[@]} = 0 ]; then
	for f in "$st"/rtnl_group_*.py; do
		case $f in *_lib.py) continue ;; esac
		tests+=("$(basename "$f")")
	done
fi

# The loop runs in the guest; each selftest makes its own network namespace.
guest_cmd='pass=0; fail=0
for t in '"${tests[*]}"'; do
	echo "=== $t"
	if python3 ./$t; then pass=$((pass + 1)); echo "=== PASS $t"
	else fail=$((fail + 1)); echo "=== FAIL $t"; fi
done
echo "kernel $(uname -r): $pass passed, $fail failed"
[ $fail = 0 ]'

cd "$st"
set +e
"$here/qemu/run.sh" --kernel "$image" --timeout "${GROUPD_VM_TIMEOUT:-1800}" -- "$guest_cmd" | tee "$cache/last-run.log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^kernel .*: [0-9]+ passed, [0-9]+ failed$' "$cache/last-run.log" | tail -n1 || true)
if [ -z "$summary" ]; then
	echo "0 passed, 1 failed (the guest did not finish, exit $rc)"
	exit 1
fi
echo "${variant:+stock kernel: }${summary#*: }"
exit "$rc"

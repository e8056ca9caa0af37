#!/bin/bash
# Boot a groupd test kernel under QEMU and run one command inside it.
#
#   kernel/qemu/run.sh [--kernel DIR|bzImage] [--stock] [--timeout SEC] [--mem MB]
#                      [--share DIR] [--out DIR] [--] CMD...
#
# The guest sees the host's root file system read-only (virtio 9p) with tmpfs on /tmp, /run,
# /root, and runs CMD with /bin/sh -c in the caller's working directory. CMD's output is
# printed here; the exit code of this script is CMD's exit code in the guest (124 on timeout,
# 125 when the guest did not report one). $GROUPD_VM_JOB in the guest is a read-write
# directory shared with the host (kept with --keep).
# --share DIR  mount the host's DIR read-only at the same path in the guest, over the tmpfs
#              (a checkout under /tmp or /root would otherwise be hidden)
# --out DIR    what CMD writes to $GROUPD_VM_OUT in the guest is copied to DIR on the host
#
# Acceleration: $GROUPD_VM_ACCEL (default "kvm tcg") is tried in order; KVM is given a short
# boot deadline because KVM guests hang on some hosts, then TCG is used.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kernel=
variant=
timeout=900
mem=2048
smp=1
keep=0
share=
outdir=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--stock) variant=--stock; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--share) share=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--out) outdir=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--kernel DIR|bzImage] [--stock] [--timeout S] [--] CMD..." >&2; exit 2; }

if [ -z "$kernel" ]; then
	kernel=$("$here/../build.sh" $variant --print | tail -n1) || {
		echo "run.sh: no kernel built; run kernel/build.sh ${variant}" >&2
		exit 1
	}
fi
[ -d "$kernel" ] && kernel=$kernel/bzImage
[ -f "$kernel" ] || { echo "run.sh: $kernel: no such kernel" >&2; exit 1; }
for t in qemu-system-x86_64 cpio; do
	command -v $t >/dev/null || { echo "run.sh: $t missing (kernel/install-deps.sh)" >&2; exit 1; }
done
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
	[ -x /bin/busybox ] && busybox=/bin/busybox
fi
[ -n "$busybox" ] || { echo "run.sh: a static busybox is needed (busybox-static)" >&2; exit 1; }

job=$(mktemp -d "${TMPDIR:-/tmp}/groupd-vm.XXXXXX")
mkdir "$job/out"
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null || true
	[ $keep = 1 ] && echo "run.sh: job directory kept: $job" >&2 || rm -rf "$job"
}
trap cleanup EXIT

# initramfs: busybox and init only.
mkdir -p "$job/initramfs/bin"
cp "$busybox" "$job/initramfs/bin/busybox"
cp "$here/init" "$job/initramfs/init"
chmod 755 "$job/initramfs/init"
(cd "$job/initramfs" && find . | cpio -o -H newc --quiet) >"$job/initramfs.cpio"
rm -rf "$job/initramfs"

# One argument is a shell snippet (pipelines allowed); several are quoted words.
if [ $# = 1 ]; then
	printf '%s\n' "$1" >"$job/cmd.sh"
else
	printf '%q ' "$@" >"$job/cmd.sh"
	echo >>"$job/cmd.sh"
fi
{
	echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
	echo 'export HOME=/root GROUPD_VM=1 GROUPD_VM_JOB=/run/job GROUPD_VM_OUT=/run/job/out'
	printf 'cd %q || exit 125\n' "$PWD"
	echo 'sh /run/job/cmd.sh </dev/null >/run/job/output 2>&1'
	echo 'echo $? >/run/job/rc'
} >"$job/job.sh"
# init mounts this directory (one absolute path, read-only) before it runs the job.
[ -n "$share" ] && printf '%s\n' "$share" >"$job/share"
share_args=()
[ -n "$share" ] && share_args=(-virtfs "local,path=$share,mount_tag=share,security_model=none,readonly=on,multidevs=remap")

boot() { # accel deadline
	local accel=$1 deadline=$2 t0
	: >"$job/console.log"
	rm -f "$job/rc" "$job/rc.tmp" "$job/output"
	nice -n 19 ionice -c3 qemu-system-x86_64 -accel "$accel" -m "$mem" -smp "$smp" \
		-nographic -no-reboot -display none -monitor none \
		-serial "file:$job/console.log" \
		-kernel "$kernel" -initrd "$job/initramfs.cpio" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$job,mount_tag=job,security_model=none" "${share_args[@]}" \
		>"$job/qemu.log" 2>&1 </dev/null &
	qpid=$!
	t0=$(date +%s)
	# Wait for the guest's first line (boot deadline), then for the job (overall timeout).
	while kill -0 "$qpid" 2>/dev/null; do
		if ! grep -q 'groupd-vm: init' "$job/console.log" && [ $(($(date +%s) - t0)) -ge "$deadline" ]; then
			echo "run.sh: no boot under $accel within ${deadline}s" >&2
			kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null || true; qpid=
			return 1
		fi
		if [ $(($(date +%s) - t0)) -ge "$timeout" ]; then
			echo "run.sh: guest timed out after ${timeout}s" >&2
			kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null || true; qpid=
			return 2
		fi
		sleep 0.5
	done
	wait "$qpid" 2>/dev/null || true
	qpid=
	echo "run.sh: guest ($accel) ran $(($(date +%s) - t0)) s" >&2
	return 0
}

# A KVM guest that never printed is remembered for a day, so later runs go straight to TCG.
kvm_memo=${GROUPD_KERNEL_CACHE:-/var/cache/groupd-kernel}/kvm-does-not-boot
status=1
for accel in ${GROUPD_VM_ACCEL:-kvm tcg}; do
	case $accel in
	kvm)
		[ -w /dev/kvm ] || continue
		if [ -z "${GROUPD_VM_ACCEL:-}" ] && [ -n "$(find "$kvm_memo" -mmin -1440 2>/dev/null)" ]; then
			continue
		fi
		deadline=15
		;;
	*) deadline=120 ;;
	esac
	set +e
	boot "$accel" "$deadline"
	status=$?
	set -e
	if [ $status = 1 ]; then
		[ $accel = kvm ] && { mkdir -p "$(dirname "$kvm_memo")" && touch "$kvm_memo"; } 2>/dev/null || true
		continue
	fi
	break
done

[ -f "$job/output" ] && cat "$job/output"
if [ -n "$outdir" ]; then
	mkdir -p "$outdir" && cp -r "$job/out/." "$outdir/"
fi
if [ $status = 2 ]; then
	tail -n 30 "$job/console.log" >&2
	exit 124
fi
if [ ! -f "$job/rc" ]; then
	echo "run.sh: guest reported no exit code; console:" >&2
	tail -n 40 "$job/console.log" >&2
	cat "$job/qemu.log" >&2
	exit 125
fi
exit "$(cat "$job/rc")"

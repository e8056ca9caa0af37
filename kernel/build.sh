#!/bin/bash
# Build the groupd test kernel from Debian's linux-source-6.12.
#
#   kernel/build.sh [--stock|--patched|--debug] [--print]
#
# --stock    build the unpatched kernel
# --patched  apply kernel/patches/linux-6.12/*.patch (the default)
# --debug    the patched kernel with config/debug.config on top (lockdep, atomic sleep and
#            list debugging): slower, for checking the series, not for measuring
# --print    only print the bzImage path of an existing build (exit 1 if there is none)
#
# Work happens in $GROUPD_KERNEL_CACHE (default /var/cache/groupd-kernel), never in the repo:
#   linux-<source package version>/   one directory per version of the source package:
#     src/          the unpacked tarball as a git repository (tag "pristine"): the stock tree
#     src-patched/  a worktree of it with the series applied (only changed files rewritten)
#     obj-stock/, obj-patched/, obj-debug/  object directories, so each variant rebuilds
#                   incrementally (patched and debug share src-patched/)
#   images/<variant>-<key>/  bzImage, .config, System.map, the series' subjects and the source
#            tree it was built from (source-tree); <key> hashes every input
#            (source package version, toolchain, this script, config fragment, patches), so an
#            unchanged build is reused and a changed one is never.
# A new version of the package gets a fresh directory; the older ones of linux-source-6.12
# are removed then (their images stay until the cache is cleaned).
# Prints the image directory on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${GROUPD_KERNEL_CACHE:-/var/cache/groupd-kernel}
srcpkg=linux-source-6.12
tarball=${GROUPD_KERNEL_TARBALL:-/usr/src/$srcpkg.tar.xz}
fragment=$here/config/groupd.config
patchdir=$here/patches/linux-6.12
jobs=${GROUPD_KERNEL_JOBS:-2}
variant=patched
print_only=0
for a in "$@"; do
	case $a in
	--stock) variant=stock ;;
	--patched) variant=patched ;;
	--debug) variant=debug ;;
	--print) print_only=1 ;;
	*)
		echo "usage: $0 [--stock|--patched|--debug] [--print]" >&2
		exit 2
		;;
	esac
done

[ -r "$tarball" ] || {
	echo "build.sh: $tarball missing: apt-get install --no-install-recommends $srcpkg" >&2
	exit 1
}
for t in make gcc flex bison bc git; do
	command -v $t >/dev/null || {
		echo "build.sh: $t missing (kernel/install-deps.sh)" >&2
		exit 1
	}
done

# Low priority: the machine is shared with timing-sensitive benchmarks.
run() { nice -n 19 ionice -c3 "$@"; }

pkgver=$(dpkg-query -W -f '${Version}' $srcpkg 2>/dev/null || stat -c %s-%Y "$tarball")
patches=()
fragments=("$fragment")
[ $variant = debug ] && fragments+=("$here/config/debug.config")
if [ $variant != stock ]; then
	shopt -s nullglob
	# The cover letter has no diff: it is neither applied nor an input of the image.
	for p in "$patchdir"/*.patch; do
		case $(basename "$p") in 0000-cover-letter.patch) ;; *) patches+=("$p") ;; esac
	done
	shopt -u nullglob
fi
# The key covers every input of the image: the source package, the compiler and binutils,
# this script (it decides how the tree is configured and built), the fragment and the
# patches, so a reused image is exactly what a cold build would produce.
toolchain=$(gcc --version | head -n1; ld --version | head -n1)
key=$( {
	echo "$variant $pkgver"
	echo "$toolchain"
	cat "$here/build.sh" "${fragments[@]}"
	for p in "${patches[@]}"; do cat "$p"; done
} | sha256sum | cut -c1-16)
out=$cache/images/$variant-$key

if [ -f "$out/bzImage" ]; then
	echo "build.sh: reusing $variant kernel ($key)" >&2
	echo "$out"
	exit 0
fi
[ $print_only = 1 ] && {
	echo "build.sh: no $variant kernel built for the current series/config" >&2
	exit 1
}

# The trees of this version of the source package ('~' and ':' of Debian versions kept out
# of paths).
vdir=$cache/linux-$(printf '%s' "$pkgver" | tr '~:' '__')
repo=$vdir/src
obj=$vdir/obj-$variant
if [ ! -d "$vdir" ]; then
	for old in "$cache"/linux-*; do
		[ -d "$old/src" ] && [ "$(cat "$old/package" 2>/dev/null)" = $srcpkg ] || continue
		echo "build.sh: removing the trees of an older $srcpkg: $old" >&2
		rm -rf "$old"
	done
fi
mkdir -p "$vdir" "$obj"
echo $srcpkg >"$vdir/package"
git_() { git -C "$repo" -c user.name=groupd-build -c user.email=build@groupd.invalid "$@"; }

if ! git_ rev-parse -q --verify pristine >/dev/null 2>&1; then
	echo "build.sh: unpacking $tarball" >&2
	rm -rf "$repo" "$vdir/unpack" "$vdir/src-patched"
	mkdir -p "$vdir/unpack"
	run tar xf "$tarball" -C "$vdir/unpack"
	mv "$vdir/unpack/$srcpkg" "$repo"
	rmdir "$vdir/unpack"
	git_ init -q
	# Debian's top-level .gitignore ignores everything: add by force.
	run git -C "$repo" add -f -A .
	git_ commit -q -m "Debian $srcpkg $pkgver (pristine)"
	git_ tag pristine
fi

# Each variant has its own source tree and object directory: switching never touches the
# other's files, so both stay incremental (the series edits widely included headers).
target=pristine
src=$repo
if [ $variant != stock ]; then
	src=$vdir/src-patched
	if [ ! -d "$src" ]; then
		git_ worktree prune
		run git -C "$repo" worktree add -q --detach "$src" pristine
	fi
	# Compose the wanted tree in a scratch index, then check it out from whatever is
	# there now: git rewrites only the files that differ, so unchanged files keep
	# their mtimes.
	echo "build.sh: applying ${#patches[@]} patches" >&2
	index=$vdir/apply.index
	rm -f "$index"
	GIT_INDEX_FILE=$index git_ read-tree pristine
	for p in "${patches[@]}"; do
		GIT_INDEX_FILE=$index git_ apply --cached "$p" || {
			echo "build.sh: $(basename "$p") does not apply" >&2
			exit 1
		}
	done
	tree=$(GIT_INDEX_FILE=$index git_ write-tree)
	rm -f "$index"
	target=$(echo "groupd series ($key)" | git_ commit-tree "$tree" -p pristine)
fi
git -C "$src" checkout -q -f --detach "$target"

echo "build.sh: configuring (tinyconfig + ${fragments[*]##*/})" >&2
run make -s -C "$src" O="$obj" tinyconfig >/dev/null
run "$src"/scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" "${fragments[@]}" >/dev/null
run make -s -C "$src" O="$obj" olddefconfig >/dev/null
# Every symbol of the fragment must have survived (a dropped dependency fails loudly).
missing=0
while IFS= read -r line; do
	case $line in CONFIG_*=*) ;; *) continue ;; esac
	if ! grep -qx "$line" "$obj/.config"; then
		echo "build.sh: config lost: $line" >&2
		missing=1
	fi
done < <(cat "${fragments[@]}")
[ $missing = 0 ] || exit 1

echo "build.sh: building $variant bzImage (make -j$jobs)" >&2
start=$(date +%s)
run make -s -C "$src" O="$obj" -j"$jobs" bzImage
echo "build.sh: built in $(($(date +%s) - start)) s" >&2

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$obj/arch/x86/boot/bzImage" "$obj/.config" "$obj/System.map" "$tmp/"
for p in "${patches[@]}"; do sed -n 's/^Subject: //p' "$p"; done >"$tmp/series.txt"
echo "$vdir" >"$tmp/source-tree"
rm -rf "$out"
mv "$tmp" "$out"
echo "$out"

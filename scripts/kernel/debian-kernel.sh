#!/bin/sh
# The kernel tree klp-rs builds modules against for Debian's stock 7.3 kernel:
# Debian's configuration and exported symbols, with the Rust metadata that
# Debian's headers package lacks regenerated from linux-source-7.3.
#
#   scripts/kernel/debian-kernel.sh      prints the tree's path (made once)
#
# In the Debian 13 root (scripts/kernel/debian-root.sh), with the compilers
# Debian built the kernel with (gcc-14, Debian's rustc 1.85.1, bindgen), it
# extracts linux-source-7.3, configures an O= tree with the headers package's
# .config (olddefconfig must change nothing), runs `make prepare
# modules_prepare` (objtool, target.json, the bindings, every rust/*.rmeta),
# and copies in the stock Module.symvers and vmlinux (the base of the
# modules' BTF). Before anything it checks that the root's rustc is the one
# the kernel was built with (CONFIG_RUSTC_VERSION_TEXT): the symbol names of
# the kernel's Rust crates depend on rustc's full version string, and a
# module built by any other rustc would not load. The tree lives in the root,
# /usr/src/klp-rs/build-<release>; a finished one has a stamp file.
set -eu
export KLP_LOG_TAG=debian-kernel
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

root=$("$KLP_TOP/scripts/kernel/debian-root.sh")
release=$(cat "$root/etc/klp-rs-kernel-release")
series=${release%.*}
headers=/usr/src/linux-headers-$release
src=/usr/src/klp-rs/linux-source-$series
build=/usr/src/klp-rs/build-$release

prepare() {
	start=$(date +%s)
	# The headers package's configuration is the kernel's.
	line_root=$root
	line_kdir=$root$headers
	line_vars=$(debian_kbuild_vars "$release")
	line_check_rustc
	if [ ! -f "$root$src/Makefile" ]; then
		log "extracting linux-source-$series in the build root"
		rm -rf "$root$src" "$root$src.tmp"
		mkdir -p "$root$src.tmp"
		tar -C "$root$src.tmp" -xf "$root/usr/src/linux-source-$series.tar.xz"
		mv "$root$src.tmp/linux-source-$series" "$root$src"
		rmdir "$root$src.tmp"
	fi
	rm -rf "$root$build"
	mkdir -p "$root$build"
	cp "$root$headers/.config" "$root$build/.config"
	log "make prepare modules_prepare for $release (about 3.5 minutes; log: $root$build/prepare.log)"
	# shellcheck disable=SC2046 # one make variable per line
	in_root "$root" make -C "$src" O="$build" $(debian_kbuild_vars "$release") olddefconfig \
		>"$root$build/prepare.log" 2>&1
	cmp -s "$root$headers/.config" "$root$build/.config" ||
		die "olddefconfig changed Debian's configuration (diff $root$headers/.config $root$build/.config)"
	# shellcheck disable=SC2046 # one make variable per line
	if ! in_root "$root" make -C "$src" O="$build" $(debian_kbuild_vars "$release") \
		-j"$(( $(nproc) + 1 ))" prepare modules_prepare >>"$root$build/prepare.log" 2>&1; then
		tail -n 30 "$root$build/prepare.log" >&2
		die "make prepare failed (log: $root$build/prepare.log)"
	fi
	cp "$root$headers/Module.symvers" "$root$headers/vmlinux" "$root$build/"
	date -u +%Y-%m-%dT%H:%M:%SZ >"$root$build/.klp-rs-built"
	log "prepared in $(elapsed "$start"): $(find "$root$build/rust" -name '*.rmeta' | wc -l) Rust crates' metadata"
}

exec 9>"$root/usr/src/klp-rs.lock"
flock 9
[ -f "$root$build/.klp-rs-built" ] || prepare
printf '%s\n' "$root$build"

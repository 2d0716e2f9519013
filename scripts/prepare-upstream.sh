#!/bin/sh
# Stage the kernel's own livepatch selftests (tools/testing/selftests/livepatch
# of the test kernel's source tree) to run, unchanged, against two sets of
# test modules: our Rust ports (selftests/test_modules/) and, as a control,
# the C originals built from the same tree.
#
#   scripts/prepare-upstream.sh KDIR OUT
#
# KDIR is the built kernel tree; the Rust modules must have been built
# (scripts/build-modules.sh). OUT gets:
#   modroot/lib/modules/<release>/
#                           the module tree the guest mounts as its
#                           /lib/modules/$(uname -r): the kernel's modules and
#                           ours (`modules_install`, then depmod), and `build`
#                           -> KDIR, which the upstream scripts check for
#   c-build/test_modules/   a copy of the C test modules, built out of tree
#                           against KDIR with the kernel's LLVM toolchain
#   rust/, c/               one run directory per flavour: the upstream
#                           functions.sh and test-*.sh (copied byte for byte),
#                           test_klp-call_getpid (built with the host compiler)
#                           and test_modules/*.ko of that flavour
# The upstream scripts load test_modules/NAME.ko relative to their working
# directory, so the guest runs each flavour from its own directory.
set -eu
export KLP_LOG_TAG=upstream
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/common.sh"

[ $# -eq 2 ] || die "usage: $0 KDIR OUT"
kdir=$1
out=$2
src=$kdir/tools/testing/selftests/livepatch
[ -f "$src/functions.sh" ] || die "$src: no livepatch selftests in this kernel tree"
mkdir -p "$out"

# The C modules: a private copy of test_modules/, built like any external
# module (`make -C KDIR M=DIR`), so the kernel tree stays untouched.
cbuild=$out/c-build/test_modules
mkdir -p "$cbuild"
for file in "$src"/test_modules/*; do
	cmp -s "$file" "$cbuild/$(basename "$file")" || cp "$file" "$cbuild/"
done
log "building the C test modules against $(basename "$(dirname "$kdir")")"
# shellcheck disable=SC2046 # one make variable per line
make -s -C "$kdir" M="$cbuild" $(kbuild_vars) -j"$(( $(nproc) + 1 ))" modules >&2

# The helper program of test-syscall.sh, built with the host compiler.
helper=$out/test_klp-call_getpid
${CC:-cc} -O2 -Wall -o "$helper" "$src/test_klp-call_getpid.c"

# modules MODULE_DIR: the .ko files a flavour's scripts expect, all present.
modules=$(sed -n 's/^[[:space:]]*\(obj-m += \)\{0,1\}\(test_klp_[a-z0-9_]*\)\.o.*$/\2/p' \
	"$src/test_modules/Makefile")
[ -n "$modules" ] || die "no module list in $src/test_modules/Makefile"

# stage FLAVOUR MODULE_DIR: one run directory.
stage() {
	dir=$out/$1
	rm -rf "$dir"
	mkdir -p "$dir/test_modules"
	cp "$src"/functions.sh "$src"/test-*.sh "$src/settings" "$dir/"
	cp "$helper" "$dir/"
	for mod in $modules; do
		ko=$2/$mod.ko
		[ -f "$ko" ] || die "$1: $ko is missing"
		cp "$ko" "$dir/test_modules/"
	done
	log "$1: $(echo "$modules" | wc -w) modules and $(find "$dir" -maxdepth 1 -name 'test-*.sh' | wc -l) scripts in $dir"
}

stage rust "$KLP_TOP/selftests/test_modules"
stage c "$cbuild"

# The guest's module tree: modprobe finds the kernel's modules and ours
# (samples and Rust test modules, under updates/) by name.
release=$(make -s -C "$kdir" kernelrelease)
modroot=$out/modroot
rm -rf "$modroot"
# shellcheck disable=SC2046 # one make variable per line
make -s -C "$kdir" $(kbuild_vars) INSTALL_MOD_PATH="$modroot" modules_install >&2
# shellcheck disable=SC2046 # one make variable per line
make -s -C "$kdir" M="$KLP_TOP" $(kbuild_vars) INSTALL_MOD_PATH="$modroot" modules_install >&2
ln -sfn "$kdir" "$modroot/lib/modules/$release/build"
depmod -b "$modroot" "$release"
log "module tree for $release: $(find "$modroot/lib/modules/$release" -name '*.ko' | wc -l) modules in $modroot"

#!/bin/sh
# Stage the kernel's own livepatch selftests (tools/testing/selftests/livepatch
# of the line's kernel source) to run, unchanged, against two sets of test
# modules: our Rust ports (selftests/test_modules/) and, as a control, the C
# originals built from the same tree; and the module tree the guest uses.
#
#   scripts/build/upstream-selftests.sh LINE OUT
#
# The Rust modules must have been built (scripts/build/modules.sh LINE).
# The C test modules are built, out of tree against the line's kernel with
# its compilers, in a copy kept between runs (build/upstream/LINE/, beside
# the Rust modules' build/LINE/), so that kbuild rebuilds only what changed.
# OUT gets:
#   rust/, c/               one run directory per flavour: the upstream
#                           functions.sh and test-*.sh (copied byte for byte),
#                           test_klp-call_getpid and test_modules/*.ko of
#                           that flavour
#   modroot/lib/modules/<release>/   (6.12 line) the module tree the guest
#                           mounts as its /lib/modules/$(uname -r): the test
#                           kernel's modules and ours, and `build` -> the
#                           kernel tree, which the upstream scripts check for
# On the 7.3 line the guest's root is the Debian root, whose
# /lib/modules/<release> already holds Debian's modules: ours are copied
# there, under updates/klp-rs, and depmod runs in the root. For its debug
# kernel (built in the root) `make modules_install` puts that kernel's
# modules there first, with `build` -> its tree.
# The upstream scripts load test_modules/NAME.ko relative to their working
# directory, so the guest runs each flavour from its own directory.
set -eu
export KLP_LOG_TAG=upstream
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

[ $# -eq 2 ] || die "usage: $0 LINE OUT"
line_setup "$1"
out=$2
src=$line_src/tools/testing/selftests/livepatch
[ -f "$src/functions.sh" ] || die "$src: no livepatch selftests in this kernel tree"
mkdir -p "$out"
printf '%s\n' "$line_release" >"$out/release"

# The C modules: a private copy of test_modules/, built like any external
# module (`make -C KDIR M=DIR`), so the kernel tree stays untouched.
cbuild=$KLP_TOP/build/upstream/$(basename "$line_build")/test_modules
mkdir -p "$cbuild"
for file in "$src"/test_modules/*; do
	cmp -s "$file" "$cbuild/$(basename "$file")" || cp "$file" "$cbuild/"
done
log "building the C test modules for $line_release"
line_make -s M="$cbuild" -j"$(( $(nproc) + 1 ))" modules >&2

# The helper program of test-syscall.sh, built with the line's C compiler.
helper=$out/test_klp-call_getpid
cp "$src/test_klp-call_getpid.c" "$out/"
if [ -n "$line_root" ]; then
	line_run gcc-14 -O2 -Wall -o "$helper" "$out/test_klp-call_getpid.c"
else
	${CC:-cc} -O2 -Wall -o "$helper" "$out/test_klp-call_getpid.c"
fi

# The .ko files a flavour's scripts expect, all present.
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

stage rust "$line_build/selftests/test_modules"
stage c "$cbuild"

# The guest's module tree: modprobe finds the kernel's modules and ours
# (samples and Rust test modules, under updates/klp-rs/) by name. Ours are
# copied as built: `make modules_install` would sign them with a key that
# only Debian has and compress them.
# install_ours DIR: our modules into DIR (updates/klp-rs of a module tree).
install_ours() {
	rm -rf "$1"
	(cd "$line_build" && find . \( -path ./signed -o -path ./signed-other -o -path ./unsigned \) -prune -o \
		-name '*.ko' ! -path './selftests/compile/*' -print) | while read -r ko; do
		mkdir -p "$1/$(dirname "$ko")"
		cp "$line_build/$ko" "$1/$ko"
	done
}
if [ -n "$line_root" ]; then
	case $line_image in
	"$line_kdir"/*)
		# A kernel klp-rs built in the root (the 7.3 debug kernel): its
		# own modules, and `build` for the scripts that check KDIR.
		line_make -s INSTALL_MOD_PATH=/ modules_install >&2
		ln -sfn "$line_kdir_in" "$line_root/lib/modules/$line_release/build"
		;;
	esac
	install_ours "$line_root/lib/modules/$line_release/updates/klp-rs"
	line_run depmod "$line_release"
	log "module tree for $line_release: $(find "$line_root/lib/modules/$line_release/updates/klp-rs" -name '*.ko' | wc -l) klp-rs modules in the Debian root"
else
	modroot=$out/modroot
	rm -rf "$modroot"
	line_make -s INSTALL_MOD_PATH="$modroot" modules_install >&2
	install_ours "$modroot/lib/modules/$line_release/updates/klp-rs"
	ln -sfn "$line_kdir" "$modroot/lib/modules/$line_release/build"
	depmod -b "$modroot" "$line_release"
	log "module tree for $line_release: $(find "$modroot/lib/modules/$line_release" -name '*.ko' | wc -l) modules in $modroot"
fi

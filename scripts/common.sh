# shellcheck shell=sh
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# Shared settings and helpers for the klp-rs host scripts. Sourced, not run.
#
# Everything built or installed outside the repository lives under one cache
# directory, $KLP_CACHE (default: ${XDG_CACHE_HOME:-$HOME/.cache}/klp-rs):
#   tools/bin/bindgen        bindgen-cli from crates.io
#   venv/                    virtme-ng from PyPI
#   kernel/<key>/            built test kernels, keyed by version + config hash
#   debian13/<key>/root      the Debian 13 root of the stock-kernel line
#
# Kernel lines: the kernels klp-rs builds for and tests on, each with its own
# build environment, boot image and guest root (line_setup):
#   6.12   the 6.12 LTS test kernel klp-rs builds from linux-source-6.12
#          (clang, tinyconfig + scripts/kernel/test-kernel.config); built
#          with the host's toolchain, booted with the host's file system
#   7.3    Debian's own linux-image-7.3.N+deb13-amd64, unmodified; modules
#          are built in the Debian 13 root (scripts/kernel/debian-root.sh)
#          with Debian's compilers, and the guest boots with that root.
#          Its debug kernel (make check-debug) is built from linux-source-7.3
#          in that root (scripts/kernel/test-kernel.sh 7.3)
#   kdir   your own kernel tree, KDIR=/path: a built Rust-enabled kernel, or
#          Debian's headers package with klp-rs's Rust metadata added
#          (README.md); built on the host with the compilers its
#          configuration names, booted (make check) with the host's files
# The modules of a line are built in build/<line>/, a copy of the sources
# (one kernel's objects never mix with another's).

# The repository: the nearest directory above the running script with src/lib.rs.
KLP_TOP=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
while [ ! -f "$KLP_TOP/src/lib.rs" ] && [ "$KLP_TOP" != / ]; do
	KLP_TOP=$(dirname "$KLP_TOP")
done
KLP_CACHE=${KLP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/klp-rs}
KLP_LLVM_SUFFIX=${KLP_LLVM_SUFFIX:--19}
KLP_LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm${KLP_LLVM_SUFFIX}/lib}
KLP_BINDGEN=${BINDGEN:-$KLP_CACHE/tools/bin/bindgen}
KLP_RUSTC=${RUSTC:-/usr/bin/rustc}
KLP_RUSTDOC=${RUSTDOC:-/usr/bin/rustdoc}
KLP_VENV=$KLP_CACHE/venv
# ansible-core from PyPI in the host's venv (scripts/setup/toolchain.sh): the
# controller of the fleet playbook's test, which reaches a 7.3 guest over SSH.
KLP_ANSIBLE_CORE_VERSION=2.19.14
KLP_KERNEL_SOURCE_TARBALL=${KLP_KERNEL_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
# The test kernel's variant: `base` (make check) or `debug` (make check-debug),
# and the config fragments merged over tinyconfig for it.
KLP_KERNEL_VARIANT=${KLP_KERNEL_VARIANT:-base}
KLP_KERNEL_FRAGMENTS=$KLP_TOP/scripts/kernel/test-kernel.config
case $KLP_KERNEL_VARIANT in
base) ;;
debug) KLP_KERNEL_FRAGMENTS="$KLP_KERNEL_FRAGMENTS $KLP_TOP/scripts/kernel/test-kernel-debug.config" ;;
*)
	printf 'unknown KLP_KERNEL_VARIANT=%s (base or debug)\n' "$KLP_KERNEL_VARIANT" >&2
	exit 1
	;;
esac
# The lines `make check` runs (LINES=... on make's command line sets it);
# with KDIR set (your own kernel tree), the line `kdir` alone.
if [ -n "${KDIR:-}" ]; then
	KLP_LINES=${KLP_LINES:-kdir}
else
	KLP_LINES=${KLP_LINES:-6.12 7.3}
fi
export KLP_TOP KLP_CACHE KLP_KERNEL_VARIANT KLP_LINES

# log MSG...: a progress line on stderr, prefixed with the script's name.
log() {
	printf '[%s] %s\n' "${KLP_LOG_TAG:-klp-rs}" "$*" >&2
}

# shell_quote STRING: STRING in single quotes, for sh to read back.
shell_quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# die MSG...: an error line on stderr, then exit 1.
die() {
	printf '[%s] error: %s\n' "${KLP_LOG_TAG:-klp-rs}" "$*" >&2
	exit 1
}

# kbuild_vars: the make variables that build Rust code against a kernel tree.
kbuild_vars() {
	printf '%s\n' "LLVM=$KLP_LLVM_SUFFIX" "RUSTC=$KLP_RUSTC" "RUSTDOC=$KLP_RUSTDOC" \
		"BINDGEN=$KLP_BINDGEN" "LIBCLANG_PATH=$KLP_LIBCLANG_PATH"
}

# elapsed SINCE: seconds since the epoch time SINCE, as M:SS.
elapsed() {
	s=$(( $(date +%s) - $1 ))
	printf '%d:%02d' $((s / 60)) $((s % 60))
}

# as_root COMMAND...: runs COMMAND as root (directly, or through sudo). Says
# so and returns 1 when neither is possible; callers under `set -e` stop there.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		log "error: need root (or sudo) to run: $*"
		return 1
	fi
}

# kernel_bindgen_command KDIR: how the kernel build of KDIR ran bindgen for
# `kernel::bindings`, as it recorded it in .bindings_generated.rs.cmd
# (without the `; sed ...` step after it, and with make's `$(pound)`, which
# the record keeps, as the `#` it stands for). Prints nothing if KDIR has no
# such record (not a built kernel with CONFIG_RUST=y).
kernel_bindgen_command() {
	cmdfile=$1/rust/bindings/.bindings_generated.rs.cmd
	[ -f "$cmdfile" ] || return 0
	# shellcheck disable=SC2016 # make's literal $(pound)
	sed -n 's/^savedcmd_[^ ]* := \(.*\)$/\1/p' "$cmdfile" | sed 's/ *;.*$//; s/\$(pound)/#/g'
}

# in_root ROOT COMMAND...: runs COMMAND in the Debian root ROOT (a chroot in a
# mount namespace of its own, so nothing stays mounted if it is killed), with
# /proc, /dev and the repository ($KLP_TOP, at the same path) mounted in it.
# With KLP_ROOT_HIDE=DIR (a directory of the root), COMMAND sees DIR empty.
# With KLP_ROOT_BIND=DIR (a host directory), COMMAND sees it at the same path
# (a directory of the root is made for it, and removed after).
in_root() {
	root=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	as_root unshare --mount --propagation private sh -ec '
		root=$1 top=$2 hide=$3 bind=$4
		shift 4
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		[ -z "$hide" ] || mount -t tmpfs klp-rs-hidden "$root$hide"
		mkdir -p "$root$top"
		mount --bind "$top" "$root$top"
		if [ -n "$bind" ]; then
			mkdir -p "$root$bind"
			mount --bind "$bind" "$root$bind"
			chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
				LANG=C.UTF-8 "$@" && rc=0 || rc=$?
			umount "$root$bind"
			rmdir "$root$bind" 2>/dev/null || true
			exit "$rc"
		fi
		exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			LANG=C.UTF-8 "$@"' in_root "$root" "$KLP_TOP" "${KLP_ROOT_HIDE:-}" \
		"${KLP_ROOT_BIND:-}" "$@"
}

# kdir_kbuild_vars KDIR: the make variables for your own kernel tree, from
# its configuration: clang-built (LLVM=-19, as the 6.12 test kernel), or
# built by the C compiler CONFIG_CC_VERSION_TEXT names (a distribution
# kernel), with the rustc and bindgen on PATH.
kdir_kbuild_vars() {
	if grep -q '^CONFIG_CC_IS_CLANG=y' "$1/.config"; then
		kbuild_vars
		return
	fi
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*$/\1/p' "$1/.config")
	printf '%s\n' ARCH=x86 "CC=${cc:-gcc}" "RUSTC=${RUSTC:-rustc}" "BINDGEN=${BINDGEN:-bindgen}"
}

# debian_kbuild_vars RELEASE: the make variables that build for Debian's
# stock kernel RELEASE in the Debian root, as Debian built it.
debian_kbuild_vars() {
	printf '%s\n' ARCH=x86 CC=x86_64-linux-gnu-gcc-14 HOSTCC=gcc-14 RUSTC=rustc \
		BINDGEN=bindgen "KERNELRELEASE=$1"
}

# debian_clang_vars: the make variables that build the 7.3 line's debug
# kernel, and modules for it, in the Debian root: clang 19 (the LLVM of
# Debian's rustc), as KASAN beside Rust needs.
debian_clang_vars() {
	printf '%s\n' ARCH=x86 LLVM=-19 RUSTC=rustc BINDGEN=bindgen
}

# line_build_dir LINE: where LINE's modules are built: build/LINE, or
# build/LINE-debug for its debug kernel.
line_build_dir() {
	if [ "$KLP_KERNEL_VARIANT" = base ]; then
		printf '%s/build/%s\n' "$KLP_TOP" "$1"
	else
		printf '%s/build/%s-%s\n' "$KLP_TOP" "$1" "$KLP_KERNEL_VARIANT"
	fi
}

# line_setup LINE: makes (or reuses) what LINE needs and sets, for it:
#   line_kdir     the kernel tree modules are built against (a host path)
#   line_kdir_in  the same tree as line_run's commands see it
#   line_src      the line's kernel source (its samples and selftests): the
#                 test kernel's tree, or for Debian's stock kernel the
#                 linux-source-7.3 that debian-kernel.sh extracted
#   line_root     the Debian root it builds in and boots with ('' for the host)
#   line_image    the kernel image the VM boots
#   line_release  the kernel release (uname -r)
#   line_vars     the make variables that build for it (one per line)
#   line_build    where its modules are built (line_build_dir)
# Progress goes to stderr.
line_setup() {
	line_build=$(line_build_dir "$1")
	case $1 in
	6.12)
		line_root=
		line_kdir=$(KDIR='' "$KLP_TOP/scripts/kernel/test-kernel.sh")
		line_image=$line_kdir/arch/x86/boot/bzImage
		line_release=$(cat "$line_kdir/include/config/kernel.release")
		line_vars=$(kbuild_vars)
		line_src=$line_kdir
		;;
	kdir)
		line_root=
		line_kdir=$("$KLP_TOP/scripts/kernel/test-kernel.sh")
		line_image=$line_kdir/arch/x86/boot/bzImage
		line_release=$(cat "$line_kdir/include/config/kernel.release")
		line_vars=$(kdir_kbuild_vars "$line_kdir")
		line_src=$line_kdir
		;;
	7.3)
		line_root=$("$KLP_TOP/scripts/kernel/debian-root.sh")
		if [ "$KLP_KERNEL_VARIANT" = base ]; then
			line_kdir=$("$KLP_TOP/scripts/kernel/debian-kernel.sh")
			line_release=$(cat "$line_root/etc/klp-rs-kernel-release")
			line_image=$line_root/boot/vmlinuz-$line_release
			line_vars=$(debian_kbuild_vars "$line_release")
			line_src=$line_root/usr/src/klp-rs/linux-source-${line_release%.*}
		else
			line_kdir=$("$KLP_TOP/scripts/kernel/test-kernel.sh" 7.3)
			line_release=$(cat "$line_kdir/include/config/kernel.release")
			line_image=$line_kdir/arch/x86/boot/bzImage
			line_vars=$(debian_clang_vars)
			line_src=$line_kdir
		fi
		;;
	*) die "unknown kernel line '$1' (known: 6.12 7.3, and kdir with KDIR=...)" ;;
	esac
	line_kdir_in=${line_kdir#"$line_root"}
}

# line_run COMMAND...: runs COMMAND in the build environment of the line set
# up last (line_setup): in its Debian root, or on the host.
line_run() {
	if [ -n "$line_root" ]; then
		in_root "$line_root" env "$(line_var BINDGEN)" LIBCLANG_PATH=/usr/lib/llvm-19/lib "$@"
	else
		env "$(line_var BINDGEN)" "$@"
	fi
}

# line_var NAME: NAME=VALUE from the make variables of the line set up last.
line_var() {
	printf '%s\n' "$line_vars" | grep "^$1=" | head -n 1
}

# line_make ARGS...: make against the kernel tree of the line set up last,
# with the compilers that kernel was built with.
line_make() {
	# shellcheck disable=SC2086 # one make variable per line, without spaces
	line_run make -C "$line_kdir_in" $line_vars "$@"
}

# line_check_rustc: the rustc of the line set up last is the one its kernel
# was built with (CONFIG_RUSTC_VERSION_TEXT), or the build stops here with
# why: the symbol names of the kernel's Rust crates depend on rustc's full
# version string, and a module built by any other rustc would not load.
line_check_rustc() {
	want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$line_kdir/.config")
	rustc=$(line_var RUSTC)
	have=$(line_run "${rustc#RUSTC=}" --version)
	[ "$want" = "$have" ] ||
		die "the kernel in $line_kdir was built by '$want', but the rustc here is '$have': modules built with it would not load (Unknown symbol). Use the kernel's own rustc (for Debian's kernel: Debian's rustc of the same release, see README)."
}

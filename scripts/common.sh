# shellcheck shell=sh
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# Shared settings and helpers for the klp-rs host scripts. Sourced, not run.
#
# Everything built or installed outside the repository lives under one cache
# directory, $KLP_CACHE (default: ${XDG_CACHE_HOME:-$HOME/.cache}/klp-rs):
#   tools/bin/bindgen        bindgen-cli from crates.io
#   venv/                    virtme-ng from PyPI
#   kernel/<key>/            built test kernels, keyed by version + config hash

KLP_TOP=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
KLP_CACHE=${KLP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/klp-rs}
KLP_LLVM_SUFFIX=${KLP_LLVM_SUFFIX:--19}
KLP_LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm${KLP_LLVM_SUFFIX}/lib}
KLP_BINDGEN=${BINDGEN:-$KLP_CACHE/tools/bin/bindgen}
KLP_RUSTC=${RUSTC:-/usr/bin/rustc}
KLP_RUSTDOC=${RUSTDOC:-/usr/bin/rustdoc}
KLP_VENV=$KLP_CACHE/venv
KLP_KERNEL_SOURCE_TARBALL=${KLP_KERNEL_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
# The test kernel's variant: `base` (make check) or `debug` (make check-debug),
# and the config fragments merged over tinyconfig for it.
KLP_KERNEL_VARIANT=${KLP_KERNEL_VARIANT:-base}
KLP_KERNEL_FRAGMENTS=$KLP_TOP/scripts/test-kernel.config
case $KLP_KERNEL_VARIANT in
base) ;;
debug) KLP_KERNEL_FRAGMENTS="$KLP_KERNEL_FRAGMENTS $KLP_TOP/scripts/test-kernel-debug.config" ;;
*)
	printf 'unknown KLP_KERNEL_VARIANT=%s (base or debug)\n' "$KLP_KERNEL_VARIANT" >&2
	exit 1
	;;
esac
export KLP_TOP KLP_CACHE KLP_KERNEL_VARIANT

# log MSG...: a progress line on stderr, prefixed with the script's name.
log() {
	printf '[%s] %s\n' "${KLP_LOG_TAG:-klp-rs}" "$*" >&2
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

# kernel_key: the cache key of the test kernel: source version + a hash of
# its config fragments (+ the variant's name, unless it is the base one).
kernel_key() {
	version=$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null) ||
		version=unknown
	# shellcheck disable=SC2086 # a list of paths without spaces
	fragment_hash=$(cat $KLP_KERNEL_FRAGMENTS | sha256sum | cut -c1-12)
	suffix=
	[ "$KLP_KERNEL_VARIANT" = base ] || suffix=-$KLP_KERNEL_VARIANT
	printf '%s-%s%s\n' "$version" "$fragment_hash" "$suffix"
}

# kernel_dir: where the test kernel for the current key is built.
kernel_dir() {
	printf '%s/kernel/%s/linux\n' "$KLP_CACHE" "$(kernel_key)"
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
# (without the `; sed ...` step after it). Prints nothing if KDIR has no
# such record (not a built kernel with CONFIG_RUST=y).
kernel_bindgen_command() {
	cmdfile=$1/rust/bindings/.bindings_generated.rs.cmd
	[ -f "$cmdfile" ] || return 0
	sed -n 's/^savedcmd_[^ ]* := \(.*\)$/\1/p' "$cmdfile" | sed 's/ *;.*$//'
}

#!/bin/sh
# Build the klp-rs test kernel once and reuse it.
#
# The tree comes from Debian's linux-source-6.12 tarball, configured as
# `tinyconfig` + scripts/kernel/test-kernel.config (+ scripts/kernel/test-kernel-debug.config
# for KLP_KERNEL_VARIANT=debug), and is built in
# $KLP_CACHE/kernel/<package version>-<fragments hash>[-debug]/linux. A finished build
# leaves a stamp file; later runs with the same key reuse it at once.
#
# With KDIR set, the user's own kernel tree is used instead; it is only checked.
# Prints the kernel tree's path on stdout.
set -eu
export KLP_LOG_TAG=kernel
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

# require_options DIR: the options the tests depend on are set in DIR/.config.
require_options() {
	config=$1/.config
	[ -f "$config" ] || die "$1 has no .config"
	for opt in CONFIG_RUST CONFIG_LIVEPATCH CONFIG_HAVE_RELIABLE_STACKTRACE \
		CONFIG_DYNAMIC_FTRACE CONFIG_MODULE_UNLOAD CONFIG_KALLSYMS_ALL; do
		grep -q "^$opt=y" "$config" || die "$1: $opt is not =y"
	done
	grep -Eq '^CONFIG_DYNAMIC_FTRACE_WITH_(REGS|ARGS)=y' "$config" ||
		die "$1: neither DYNAMIC_FTRACE_WITH_REGS nor _ARGS is set"
}

# check_fragment DIR: every option of the fragments kept its value after olddefconfig.
check_fragment() {
	# shellcheck disable=SC2086 # a list of paths without spaces
	grep -hE '^CONFIG_[A-Z0-9_]+=' $KLP_KERNEL_FRAGMENTS | while IFS= read -r line; do
		grep -qx "$line" "$1/.config" ||
			die "config fragment line '$line' did not survive olddefconfig"
	done
}

# progress LOG START: every 20 s, one line with elapsed time and build steps done.
progress() {
	last=$KLP_CACHE/kernel/last-build-steps-$KLP_KERNEL_VARIANT
	total=$(cat "$last" 2>/dev/null || echo 0)
	while sleep 20; do
		steps=$(grep -cE '^  (CC|AS|LD|AR|RUSTC|BINDGEN|EXPORTS|OBJCOPY)' "$1" || true)
		current=$(grep -E '^  [A-Z]' "$1" | tail -n 1 | sed 's/^ *//')
		if [ "$total" -gt 0 ]; then
			pct=" (~$((steps * 100 / total))%)"
		else
			pct=
		fi
		log "$(elapsed "$2") elapsed, $steps steps$pct, now: $current"
	done
}

build() {
	dir=$1
	top=$(dirname "$dir")
	start=$(date +%s)
	if [ ! -f "$dir/Makefile" ]; then
		log "extracting $KLP_KERNEL_SOURCE_TARBALL into $top"
		rm -rf "$top.tmp"
		mkdir -p "$top.tmp"
		tar -C "$top.tmp" -xf "$KLP_KERNEL_SOURCE_TARBALL"
		mkdir -p "$top"
		mv "$top.tmp"/linux-source-* "$dir"
		rmdir "$top.tmp"
	fi
	# shellcheck disable=SC2046 # one make variable per line
	set -- -C "$dir" $(kbuild_vars)
	log "configuring: tinyconfig + $(for f in $KLP_KERNEL_FRAGMENTS; do basename "$f"; done | tr '\n' ' ')"
	make "$@" tinyconfig >/dev/null
	# shellcheck disable=SC2086 # a list of paths without spaces
	(cd "$dir" && ./scripts/kconfig/merge_config.sh -m .config $KLP_KERNEL_FRAGMENTS) \
		>"$top/config.log" 2>&1
	make "$@" olddefconfig >>"$top/config.log" 2>&1
	check_fragment "$dir"
	require_options "$dir"
	make "$@" rustavailable >>"$top/config.log" 2>&1 ||
		die "the Rust toolchain is not usable for this kernel (see $top/config.log)"

	jobs=$(( $(nproc) + 1 ))
	log "building bzImage + modules with -j$jobs (a cold build takes about 12 minutes on 2 cores)"
	log "full build log: $top/build.log"
	progress "$top/build.log" "$start" &
	ticker=$!
	trap 'kill $ticker 2>/dev/null || true' EXIT
	if ! make "$@" -j"$jobs" bzImage modules >"$top/build.log" 2>&1; then
		kill "$ticker" 2>/dev/null || true
		tail -n 30 "$top/build.log" >&2
		die "kernel build failed (full log: $top/build.log)"
	fi
	kill "$ticker" 2>/dev/null || true
	grep -cE '^  (CC|AS|LD|AR|RUSTC|BINDGEN|EXPORTS|OBJCOPY)' "$top/build.log" \
		>"$KLP_CACHE/kernel/last-build-steps-$KLP_KERNEL_VARIANT" || true
	date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/.klp-rs-built"
	log "built in $(elapsed "$start"): $dir/arch/x86/boot/bzImage"
	prune_old_kernels "$top"
}

# prune_old_kernels KEEP: removes cached kernels of the same variant other than
# KEEP and the most recently built one before it, so the cache does not grow
# without bound.
prune_old_kernels() {
	if [ "$KLP_KERNEL_VARIANT" = base ]; then
		same_variant='[0-9a-f]$'
	else
		same_variant="-$KLP_KERNEL_VARIANT\$"
	fi
	# shellcheck disable=SC2012 # cache directory names are ours, without newlines
	ls -dt "$KLP_CACHE"/kernel/*/ 2>/dev/null | sed 's:/$::' | grep -e "$same_variant" |
		grep -vx "$1" | tail -n +2 | while IFS= read -r old; do
		log "removing an older cached kernel: $old"
		rm -rf "$old"
	done
}

if [ -n "${KDIR:-}" ]; then
	KDIR=$(CDPATH='' cd -- "$KDIR" && pwd) || die "KDIR=$KDIR is not a directory"
	require_options "$KDIR"
	[ -f "$KDIR/rust/libkernel.rmeta" ] || [ -f "$KDIR/rust/kernel.o" ] ||
		die "$KDIR has no built Rust support (rust/kernel.o); build the kernel first"
	log "using your kernel tree $KDIR"
	printf '%s\n' "$KDIR"
	exit 0
fi

dir=$(kernel_dir)
mkdir -p "$(dirname "$dir")"
exec 9>"$(dirname "$dir")/lock"
flock 9
if [ -f "$dir/.klp-rs-built" ]; then
	log "reusing cached test kernel $(kernel_key) (built $(cat "$dir/.klp-rs-built"))"
else
	build "$dir"
fi
printf '%s\n' "$dir"

#!/bin/sh
# Build a klp-rs test kernel once and reuse it.
#
#   scripts/kernel/test-kernel.sh [SERIES]   prints the kernel tree's path
#
# The tree comes from Debian's linux-source-SERIES tarball, configured as
# `tinyconfig` + scripts/kernel/test-kernel.config (+ scripts/kernel/test-kernel-debug.config
# for KLP_KERNEL_VARIANT=debug), after the upstream fixes of
# scripts/kernel/reverts/SERIES/*.patch are reverted from the source. A
# finished build leaves a stamp file; later runs with the same key (source
# version, fragments and reverts, variant) reuse it at once.
#   6.12 (default)  the host's linux-source-6.12, built on the host with clang
#                   in $KLP_CACHE/kernel/<version>-<fragments hash>[-debug]/linux
#   7.3             linux-source-7.3 of the Debian 13 root (debian-root.sh),
#                   built in that root with Debian's rustc and clang 19 (the
#                   kernel takes KASAN beside Rust only from clang), in the root's
#                   /usr/src/klp-rs/test-<version>-<hash>[-debug]/linux; the
#                   debug kernel of the 7.3 line (make check-debug)
#
# With KDIR set, the user's own kernel tree is used instead; it is only checked.
set -eu
export KLP_LOG_TAG=kernel
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

series=${1:-6.12}
case $series in
6.12)
	root=
	tarball=$KLP_KERNEL_SOURCE_TARBALL
	version=$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null) || version=unknown
	cache=$KLP_CACHE/kernel
	;;
7.3)
	root=$("$KLP_TOP/scripts/kernel/debian-root.sh")
	tarball=$root/usr/src/linux-source-7.3.tar.xz
	version=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Version}' linux-source-7.3)
	cache=$root/usr/src/klp-rs
	;;
*) die "no test kernel for '$series' (6.12 or 7.3)" ;;
esac
# The module signing key the kernel trusts (CONFIG_MODULE_SIG_KEY): the klp-rs
# test key (scripts/build/sign.sh), made once in the cache before the first
# build. Its certificate's fingerprint is part of the key below, so a new
# test key makes a new kernel.
sign_key=$("$KLP_TOP/scripts/build/sign.sh" --test-key)
sign_fingerprint=$(openssl x509 -in "$sign_key" -noout -fingerprint -sha256) ||
	die "cannot read the certificate of $sign_key"
# Upstream fixes reverted from the series' source, so the kernel has the bug a
# sample live patches (scripts/kernel/reverts/README.md); part of the key.
reverts=$(ls "$KLP_TOP/scripts/kernel/reverts/$series/"*.patch 2>/dev/null || true)
# shellcheck disable=SC2086 # a list of paths without spaces
fragment_hash=$({
	cat $KLP_KERNEL_FRAGMENTS $reverts
	printf 'module signing key %s\n' "$sign_fingerprint"
} | sha256sum | cut -c1-12)
key=$version-$fragment_hash
[ "$KLP_KERNEL_VARIANT" = base ] || key=$key-$KLP_KERNEL_VARIANT
[ -z "$root" ] || key=test-$key
dir=$cache/$key/linux

# kmake ARGS...: make in the tree, with the series' compilers (in the
# Debian root for 7.3).
kmake() {
	if [ -n "$root" ]; then
		# shellcheck disable=SC2046 # one make variable per line
		in_root "$root" make -C "${dir#"$root"}" $(debian_clang_vars) "$@"
	else
		# shellcheck disable=SC2046 # one make variable per line
		make -C "$dir" $(kbuild_vars) "$@"
	fi
}

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

# check_fragment DIR FRAGMENT...: every option of the fragments kept its
# value after olddefconfig (set or `is not set`).
check_fragment() {
	kconfig=$1/.config
	shift
	grep -hE '^CONFIG_[A-Z0-9_]+=' "$@" | while IFS= read -r line; do
		grep -qxF "$line" "$kconfig" ||
			die "config fragment line '$line' did not survive olddefconfig"
	done
	grep -hE '^# CONFIG_[A-Z0-9_]+ is not set' "$@" | while IFS= read -r line; do
		opt=${line#"# "}
		opt=${opt%% *}
		! grep -q "^$opt=" "$kconfig" ||
			die "config fragment line '$line' did not survive olddefconfig"
	done
}

# progress LOG START: every 20 s, one line with elapsed time and build steps done.
progress() {
	last=$KLP_CACHE/kernel/last-build-steps-$series-$KLP_KERNEL_VARIANT
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
		log "extracting $tarball into $top"
		rm -rf "$top.tmp"
		mkdir -p "$top.tmp"
		tar -C "$top.tmp" -xf "$tarball"
		for patch in $reverts; do
			log "reverting $(basename "$patch") (scripts/kernel/reverts/$series)"
			patch -d "$top.tmp"/linux-source-* -R -p1 --fuzz=0 -s <"$patch" ||
				die "$patch does not revert cleanly from $tarball"
		done
		mkdir -p "$top"
		mv "$top.tmp"/linux-source-* "$dir"
		rmdir "$top.tmp"
	fi
	# The test key, beside the tree (inside the Debian root for 7.3), and
	# the fragment that makes the kernel trust it.
	cp "$sign_key" "$top/signing_key.pem"
	chmod 600 "$top/signing_key.pem"
	printf 'CONFIG_MODULE_SIG_KEY="%s"\n' "${top#"$root"}/signing_key.pem" >"$top/signing.config"
	fragments="$KLP_KERNEL_FRAGMENTS $top/signing.config"
	log "configuring: tinyconfig + $(for f in $fragments; do basename "$f"; done | tr '\n' ' ')"
	kmake tinyconfig >/dev/null
	# shellcheck disable=SC2086 # a list of paths without spaces
	(cd "$dir" && ./scripts/kconfig/merge_config.sh -m .config $fragments) \
		>"$top/config.log" 2>&1
	kmake olddefconfig >>"$top/config.log" 2>&1
	# shellcheck disable=SC2086 # a list of paths without spaces
	check_fragment "$dir" $fragments
	require_options "$dir"
	kmake rustavailable >>"$top/config.log" 2>&1 ||
		die "the Rust toolchain is not usable for this kernel (see $top/config.log)"

	jobs=$(( $(nproc) + 1 ))
	log "building the $series test kernel ($KLP_KERNEL_VARIANT): bzImage + modules with -j$jobs (a cold build takes 12 to 25 minutes on 2 cores)"
	log "full build log: $top/build.log"
	progress "$top/build.log" "$start" &
	ticker=$!
	trap 'kill $ticker 2>/dev/null || true' EXIT
	if ! kmake -j"$jobs" bzImage modules >"$top/build.log" 2>&1; then
		kill "$ticker" 2>/dev/null || true
		tail -n 30 "$top/build.log" >&2
		die "kernel build failed (full log: $top/build.log)"
	fi
	kill "$ticker" 2>/dev/null || true
	grep -cE '^  (CC|AS|LD|AR|RUSTC|BINDGEN|EXPORTS|OBJCOPY)' "$top/build.log" \
		>"$KLP_CACHE/kernel/last-build-steps-$series-$KLP_KERNEL_VARIANT" || true
	date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/.klp-rs-built"
	log "built in $(elapsed "$start"): $dir/arch/x86/boot/bzImage"
	prune_old_kernels "$top"
}

# prune_old_kernels KEEP: removes finished cached kernels of the same variant
# other than KEEP and the two used most recently (each use touches the
# stamp), so the cache does not grow without bound. A kernel still being
# built (no stamp yet: another clone's build) is never removed.
prune_old_kernels() {
	if [ "$KLP_KERNEL_VARIANT" = base ]; then
		same_variant='[0-9a-f]/linux/.klp-rs-built$'
	else
		same_variant="-$KLP_KERNEL_VARIANT/linux/.klp-rs-built\$"
	fi
	# shellcheck disable=SC2010,SC2012 # cache directory names are ours, without newlines
	ls -t "$cache"/"${root:+test-}"*/linux/.klp-rs-built 2>/dev/null | grep -e "$same_variant" |
		sed 's:/linux/.klp-rs-built$::' | grep -vx "$1" | tail -n +3 | while IFS= read -r old; do
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

mkdir -p "$(dirname "$dir")" "$KLP_CACHE/kernel"
exec 9>"$(dirname "$dir")/lock"
flock 9
if [ -f "$dir/.klp-rs-built" ]; then
	log "reusing cached $series test kernel $key (built $(cat "$dir/.klp-rs-built"))"
	# Used now: the most recent use is what prune_old_kernels keeps.
	touch "$dir/.klp-rs-built"
else
	build "$dir"
fi
printf '%s\n' "$dir"

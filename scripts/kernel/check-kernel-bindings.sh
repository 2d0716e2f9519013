#!/bin/sh
# Check that the kernel's own Rust bindings (`kernel::bindings`) lay out every
# C structure as the C compiler does.
#
#   scripts/kernel/check-kernel-bindings.sh KDIR
#
# The kernel runs bindgen with --no-layout-tests, so nothing checks that. This
# reruns the command the kernel build recorded
# (rust/bindings/.bindings_generated.rs.cmd) with bindgen's layout assertions
# (offset, size and alignment of every field and type, as libclang computed
# them for C) and compiles them with rustc. Prints one line per assertion that
# fails, nothing when the layouts agree; exits non-zero if it could not check.
#
# Why: bindgen does not give a zero-sized struct its alignment. With
# CONFIG_SCHEDSTATS off, `struct sched_statistics` is empty but
# ____cacheline_aligned, so in Rust `task_struct.stats` and every field after
# it (`pid`, ...) sat 16 bytes early, and `Task::pid()` read 0.
set -eu
export KLP_LOG_TAG=bindings
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

[ $# -eq 1 ] || die "usage: $0 KDIR"
kdir=$1
cmdfile=$kdir/rust/bindings/.bindings_generated.rs.cmd
[ -f "$cmdfile" ] || die "$cmdfile is missing: is $kdir a built kernel with CONFIG_RUST=y?"

# Empty types only ever used through pointers, where an alignment that Rust
# does not know cannot move anything: "TYPE reason" lines.
harmless='slabobj_ext empty without CONFIG_MEMCG/CONFIG_MEM_ALLOC_PROFILING; only used through pointers
compat_ethtool_rxnfc 32-bit compat ABI (Linux 7.3): compat_u64 is aligned(4), which bindgen does not carry into Rust; no Rust code in the kernel crate or klp-rs uses it
compat_siginfo 32-bit compat ABI (Linux 7.3): bindgen lays it out larger than C; no Rust code in the kernel crate or klp-rs uses it'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The recorded command, minus --no-layout-tests and the dependency file,
# writing to $work; the layout tests use offset_of!, which
# needs a newer --rust-target than the kernel's minimum.
cmd=$(kernel_bindgen_command "$kdir" |
	sed -e 's/ --no-layout-tests//' \
		-e 's/--rust-target [0-9.]*/--rust-target 1.82/' -e 's/-Wp,-MMD,[^ ]*//' \
		-e "s|-o rust/bindings/bindings_generated.rs|-o $work/bindings.rs|")
case $cmd in
*"$work/bindings.rs"*) ;;
*) die "could not read the bindgen command from $cmdfile" ;;
esac
# The command names bindgen as the kernel build did: use ours, with its libclang.
cmd="$KLP_BINDGEN ${cmd#* }"
(cd "$kdir" && LIBCLANG_PATH=$KLP_LIBCLANG_PATH sh -c "$cmd") >"$work/bindgen.log" 2>&1 ||
	{ cat "$work/bindgen.log" >&2; die "bindgen failed"; }

# The types kernel::bindings takes from kernel::ffi and its own prelude.
cat >"$work/lib.rs" <<'EOF'
#![no_std]
#![allow(warnings, improper_ctypes)]
mod ffi {
    pub type c_char = u8;
    pub type c_schar = i8;
    pub type c_uchar = u8;
    pub type c_short = i16;
    pub type c_ushort = u16;
    pub type c_int = i32;
    pub type c_uint = u32;
    pub type c_long = isize;
    pub type c_ulong = usize;
    pub type c_longlong = i64;
    pub type c_ulonglong = u64;
    pub use core::ffi::c_void;
}
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;
include!("bindings.rs");
EOF
# What the kernel's own bindings crate adds that a plain crate lacks and that
# lays nothing out: 7.x's pin-init derive (`MaybeZeroable`) and kCFI's
# `#[cfi_encoding]` (an unstable attribute the kernel enables).
sed -i -e '/^#\[cfi_encoding = /d' -e 's/, MaybeZeroable\([,)]\)/\1/; s/(MaybeZeroable, /(/; s/(MaybeZeroable)/()/' \
	"$work/bindings.rs"
if "$KLP_RUSTC" --edition 2021 --crate-type lib --emit metadata -o "$work/lib.rmeta" \
	"$work/lib.rs" >"$work/rustc.log" 2>&1; then
	exit 0
fi
# Each failing assertion is a constant that does not evaluate; rustc quotes
# its line: `123 |     ["Offset of field: task_struct::stats"][...];`.
failures=$(sed -n 's/^ *[0-9]* |  *\["\([^"]*\)"\]\[.*/\1/p' "$work/rustc.log" | sort -u)
if [ -z "$failures" ]; then
	tail -n 30 "$work/rustc.log" >&2
	die "rustc failed on the bindings without a layout assertion"
fi
printf '%s\n' "$failures" | while read -r what; do
	type=${what##* }
	type=${type%%::*}
	printf '%s\n' "$harmless" | grep -q "^$type " || printf '%s\n' "$what"
done

#!/bin/sh
# Generate the Rust bindings to <linux/livepatch.h> for one kernel tree.
#
#   scripts/kernel/gen-bindings.sh KDIR OUTPUT
#
# Linux 6.12's `kernel::bindings` does not cover livepatch, so klp-rs runs
# bindgen itself, with the exact clang flags recorded for the kernel's own
# bindings (rust/bindings/.bindings_generated.rs.cmd), on src/livepatch/bindings_helper.h.
# Only klp_* items are generated, and what the selftest modules need that
# neither kernel's `kernel::bindings` has: `struct kprobe` (with the types only
# it uses) and its (un)registration, for test_klp_kprobe, and
# proc_create_single_data()/proc_remove(), for test_klp_mod_target. The types
# they refer to (kobject, list_head, module, pt_regs, proc_dir_entry, ...) are
# taken from `kernel::bindings`, so they are the same types the rest of the
# kernel crate uses, and C types come from `kernel::ffi` (where `c_char` is
# u8, as the kernel builds with -funsigned-char).
set -eu
export KLP_LOG_TAG=bindgen
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

[ $# -eq 2 ] || die "usage: $0 KDIR OUTPUT"
kdir=$1
out=$2
cmdfile=$kdir/rust/bindings/.bindings_generated.rs.cmd
header=$KLP_TOP/src/livepatch/bindings_helper.h
[ -f "$cmdfile" ] || die "$cmdfile is missing: is $kdir a built kernel with CONFIG_RUST=y?"

# The clang flags: what follows " -- " in the recorded command, up to the
# trailing "; sed ..." step, without the dependency-file option and the
# per-object KBUILD_* names.
clang_flags=$(kernel_bindgen_command "$kdir" |
	sed -n 's/^.* -- //p' |
	tr ' ' '\n' |
	grep -v -e '^-Wp,-MMD' -e '^-DKBUILD_' -e '^-D__KBUILD_MODNAME=' -e '^$' |
	tr '\n' ' ')
[ -n "$clang_flags" ] || die "could not read the clang flags from $cmdfile"

# Regenerate only when the inputs changed.
stamp="$out.inputs"
inputs=$(printf '%s\n%s\n%s\n' "$kdir" \
	"$(sha256sum "$cmdfile" "$header" "$0" "$KLP_TOP/scripts/kernel/layout-asserts.py" | cut -c1-64)" \
	"$("$KLP_BINDGEN" --version)")
if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
	exit 0
fi

log "generating $(basename "$out") for $kdir"
mkdir -p "$(dirname "$out")"
# shellcheck disable=SC2086 # clang_flags is a list of separate arguments
(cd "$kdir" && LIBCLANG_PATH=$KLP_LIBCLANG_PATH "$KLP_BINDGEN" "$header" \
	--rust-target 1.68 --use-core --ctypes-prefix kernel::ffi \
	--no-debug '.*' \
	--no-doc-comments --enable-function-attribute-detection \
	--allowlist-type 'klp_.*' \
	--allowlist-type 'kprobe|kprobe_(pre|post)_handler_t|kprobe_opcode_t|arch_specific_insn.*' \
	--allowlist-function 'klp_(enable_patch|shadow_.*|get_state|get_prev_state)' \
	--allowlist-function '(un)?register_kprobe|proc_create_single_data|proc_remove' \
	--allowlist-var 'KLP_.*' --no-recursive-allowlist \
	--raw-line 'pub use kernel::bindings::*;' \
	-o "$out.tmp" -- $clang_flags -DMODULE)
# bindgen's layout tests become compile-time assertions: the build fails if
# a klp_* struct laid out with kernel::bindings' field types differs from C.
python3 "$KLP_TOP/scripts/kernel/layout-asserts.py" "$out.tmp"
mv "$out.tmp" "$out"
printf '%s\n' "$inputs" >"$stamp"

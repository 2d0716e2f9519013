#!/bin/sh
# klp-rs-test: cpus=1 cost=4
# klp::patchable! at run time with every argument register in use: a Rust
# target module's six-argument function (u64, u32, i16, u8, i32, &u64),
# replaced by a live patch loaded before the module comes, receives each
# argument whole and with its sign, and returns through the patched entry;
# unpatched, the original runs again.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

TARGET=klp_patchable_target
LP=klp_patchable_patch
SUM="^$TARGET: klp_patchable_sum\\(1, 2, -3, 4, -5, &6\\) = "

patchable_ko() {
	printf '%s/selftests/patchable/%s.ko\n' "$KLP_MODULES" "$1"
}

tap_begin "patchable!: six register arguments through the patched entry"
cleanup_test_modules
unload_modules "$TARGET" "$LP"

dmesg_mark
expect_ok "insmod $TARGET.ko (unpatched)" insmod "$(patchable_ko "$TARGET")"
expect_dmesg "the original sums its six arguments: 5" "$SUM"'5$'
expect_kallsyms "$TARGET" klp_patchable_sum
expect_rmmod "$TARGET"

dmesg_mark
expect_ok "insmod $LP.ko, for a module not loaded yet" insmod "$(patchable_ko "$LP")"
expect_ok "its transition finishes" wait_transition "$LP"
expect_ok "insmod $TARGET.ko: patched as it comes" insmod "$(patchable_ko "$TARGET")"
expect_dmesg "the core applied $LP to $TARGET as it came" \
	"applying patch '$LP' to loading module '$TARGET'"
expect_dmesg "the replacement got every argument whole, signed ones with their sign" \
	"^$LP: patched_sum: a=1 b=2 c=-3 d=4 e=-5 f=6\$"
expect_dmesg "the caller got the replacement's value back: 117356" "$SUM"'117356$'
expect_eq "$LP/$TARGET/patched is 1" 1 "$(sysfs_value "$KLP_SYSFS/$LP/$TARGET/patched")"
expect_rmmod "$TARGET"
expect_ok "disable $LP" disable_patch "$LP"
expect_ok "rmmod $LP" unload "$LP"

dmesg_mark
expect_ok "insmod $TARGET.ko again, without the patch" insmod "$(patchable_ko "$TARGET")"
expect_dmesg "the original runs again: 5" "$SUM"'5$'
expect_no_dmesg "the replacement did not run" "^$LP: patched_sum:"
expect_rmmod "$TARGET"
expect_no_kernel_warning "no warning, bug or oops in the kernel log"
tap_end

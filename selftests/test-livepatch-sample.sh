#!/bin/sh
# klp-rs-test: cpus=1 cost=3
# The Rust livepatch_sample end to end: load, patched /proc/cmdline, sysfs
# state, refusals while enabled, disable, original output again, unload.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

PATCH=livepatch_sample
KO=$(sample_ko "$PATCH")
PATCHED_TEXT="this has been live patched by klp-rs"

tap_begin "Rust livepatch_sample: patch /proc/cmdline, then undo it"
cleanup_patches
original=$(cat /proc/cmdline)
taint_before=$(cat /proc/sys/kernel/tainted)

expect_eq "$PATCH.ko is tagged livepatch=Y in .modinfo" Y "$(modinfo -F livepatch "$KO" 2>&1)"

dmesg_mark
if out=$(insmod "$KO" 2>&1); then
	pass "insmod $PATCH.ko"
else
	fail "insmod $PATCH.ko" "$out" "kernel log:" "$(dmesg_since_mark | tail -n 20)"
	cleanup_patches
	tap_end
	exit
fi
expect_ok "the transition to the patched state completes" wait_transition "$PATCH"
expect_eq "/proc/cmdline shows the patched text" "$PATCHED_TEXT" "$(cat /proc/cmdline)"
expect_eq "$PATCH/enabled reads 1" 1 "$(sysfs_value "$KLP_SYSFS/$PATCH/enabled")"
expect_eq "$PATCH/transition reads 0" 0 "$(sysfs_value "$KLP_SYSFS/$PATCH/transition")"
expect_eq "$PATCH/replace reads 1 (atomic replace is the default)" 1 \
	"$(sysfs_value "$KLP_SYSFS/$PATCH/replace")"
expect_eq "$PATCH/vmlinux/patched reads 1" 1 \
	"$(sysfs_value "$KLP_SYSFS/$PATCH/vmlinux/patched")"
expect_ok "$PATCH/vmlinux/cmdline_proc_show,1 exists" \
	test -d "$KLP_SYSFS/$PATCH/vmlinux/cmdline_proc_show,1"
tainted=$(cat /proc/sys/kernel/tainted)
expect_eq "the kernel is tainted K (live patched, bit 15)" 1 $(((tainted >> 15) & 1))
# What the module taints: K, O (out of tree) and, where the kernel checks
# module signatures (both lines), E (unsigned); nothing else. A build signed
# with `make sign` has E or not depending on the key (test-signing.sh checks
# that on signed copies).
expected_taint=OK
if [ "$(kernel_config CONFIG_MODULE_SIG)" = y ]; then
	expected_taint=OEK
	if [ "$(tail -c 28 "$(sample_ko "$PATCH")" | head -c 27)" = '~Module signature appended~' ]; then
		diag "$PATCH.ko is signed (make sign): its taint shows whether the kernel trusts the key"
		sysfs_is "/sys/module/$PATCH/taint" OK && expected_taint=OK
	fi
fi
expect_eq "$PATCH taints the kernel with $expected_taint only (/sys/module/$PATCH/taint)" \
	"$expected_taint" "$(sysfs_value "/sys/module/$PATCH/taint")"
# W (bit 9) already set before the load is a warning of an earlier test in
# this VM (its console check reports it), not this module's.
expect_eq "the kernel's taint has no flag but O, E and K (mask $tainted)" 0 \
	$((tainted & ~(4096 | 8192 | 32768 | (taint_before & 512))))
expect_dmesg "the core logged enabling and completing the patch" \
	"livepatch: '$PATCH': patching complete"

expect_fail "rmmod is refused while the patch is enabled" rmmod "$PATCH"
expect_fail "loading the same module again is refused" insmod "$KO"
expect_eq "after both refusals the patch is still enabled" 1 \
	"$(sysfs_value "$KLP_SYSFS/$PATCH/enabled")"
expect_eq "after both refusals /proc/cmdline is still patched" "$PATCHED_TEXT" \
	"$(cat /proc/cmdline)"

dmesg_mark
expect_ok "echo 0 > $PATCH/enabled" sh -c "echo 0 > $KLP_SYSFS/$PATCH/enabled"
expect_ok "the unpatching transition completes and the patch leaves sysfs" \
	wait_patch_gone "$PATCH"
expect_eq "/proc/cmdline is the original again" "$original" "$(cat /proc/cmdline)"
expect_dmesg "the core logged the unpatching" "livepatch: '$PATCH': unpatching complete"
expect_ok "rmmod works after disable" rmmod "$PATCH"
if module_loaded "$PATCH"; then
	fail "$PATCH is gone from /proc/modules" "$(grep "^$PATCH " /proc/modules)"
else
	pass "$PATCH is gone from /proc/modules"
fi

cleanup_patches
tap_end

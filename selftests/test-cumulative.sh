#!/bin/sh
# klp-rs-test: cpus=1 cost=4
# The cumulative series v1 -> v2 -> v3: atomic replace, NOPs for functions
# only an earlier patch touched, removal of replaced patches, callbacks only
# from the newest patch, a system state, its version rule, and its handover
# in post_patch, which a reversed transition leaves with the old patch.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

V1=livepatch_cumulative_v1
V2=livepatch_cumulative_v2
V3=livepatch_cumulative_v3
ko() {
	printf '%s/samples/livepatch_cumulative/%s.ko\n' "$KLP_MODULES" "$1"
}

# load PATCH: insmod and wait for its transition; one case each.
load() {
	expect_ok "insmod $1.ko" insmod "$(ko "$1")"
	expect_ok "$1: the transition completes" wait_transition "$1"
}

tap_begin "cumulative series: v1 -> v2 -> v3 with atomic replace"
cleanup_patches
orig_cmdline=$(cat /proc/cmdline)
orig_version=$(cat /proc/version)

# v1: two functions patched.
dmesg_mark
load "$V1"
expect_eq "v1: /proc/cmdline is v1's" "cumulative v1: patched /proc/cmdline" "$(cat /proc/cmdline)"
expect_eq "v1: /proc/version is v1's" "cumulative v1: patched /proc/version" "$(cat /proc/version)"
expect_eq "v1: replace reads 1" 1 "$(sysfs_value "$KLP_SYSFS/$V1/replace")"
expect_ok "v1: sysfs lists both functions" test -d "$KLP_SYSFS/$V1/vmlinux/cmdline_proc_show,1" \
	-a -d "$KLP_SYSFS/$V1/vmlinux/version_proc_show,1"
expect_dmesg "v1: its pre_patch callback ran" "^$V1: pre_patch callback: vmlinux\$"
expect_dmesg "v1: its post_patch callback ran" "^$V1: post_patch callback: vmlinux\$"

# v2 replaces v1 and patches only cmdline_proc_show.
dmesg_mark
load "$V2"
expect_eq "v2: /proc/cmdline is v2's" "cumulative v2: patched /proc/cmdline" "$(cat /proc/cmdline)"
expect_eq "v2: /proc/version is the original again (NOP)" "$orig_version" "$(cat /proc/version)"
expect_ok "v2: v1 is removed from $KLP_SYSFS" wait_patch_gone "$V1"
expect_ok "v2: v1's module can be removed" rmmod "$V1"
expect_ok "v2: only cmdline_proc_show is left in v2's sysfs (NOPs discarded)" \
	test -d "$KLP_SYSFS/$V2/vmlinux/cmdline_proc_show,1" \
	-a ! -e "$KLP_SYSFS/$V2/vmlinux/version_proc_show,1"
expect_dmesg "v2: the core logged the replace transition" "livepatch: '$V2': patching complete"
expect_dmesg "v2: its pre_patch callback ran" "^$V2: pre_patch callback: vmlinux\$"
expect_dmesg "v2: its post_patch callback ran" "^$V2: post_patch callback: vmlinux\$"
if dmesg_since_mark | grep -q "^$V1: .*unpatch callback"; then
	fail "v2: the replaced v1's unpatch callbacks did not run" \
		"$(dmesg_since_mark | grep "^$V1:")"
else
	pass "v2: the replaced v1's unpatch callbacks did not run"
fi

# v3 replaces v2 and sets up a system state.
dmesg_mark
load "$V3"
expect_ok "v3: v2 is removed from $KLP_SYSFS" wait_patch_gone "$V2"
expect_ok "v3: v2's module can be removed" rmmod "$V2"
expect_dmesg "v3: pre_patch set up the state" "^$V3: state 1: set up at version 1\$"
# Other readers count too (libkmod reads /proc/cmdline in rmmod and insmod),
# so the assertions are on the text and on consecutive reads.
reads_in() {
	printf '%s\n' "$1" | sed -n 's/^cumulative v3: patched \/proc\/cmdline, read \([0-9]*\) times$/\1/p'
}
first=$(reads_in "$(cat /proc/cmdline)")
second=$(reads_in "$(cat /proc/cmdline)")
if [ -n "$first" ] && [ "$first" -ge 1 ]; then
	pass "v3: /proc/cmdline shows v3's text with a read count ($first)"
else
	fail "v3: /proc/cmdline shows v3's text with a read count" "got: '$(cat /proc/cmdline)'"
fi
expect_eq "v3: the next read counts one more (the state data persists)" \
	"$((${first:-0} + 1))" "${second:-none}"
expect_eq "v3: /proc/version is still the original" "$orig_version" "$(cat /proc/version)"

# A patch without v3's state may not replace it.
dmesg_mark
expect_fail "v2 (no state 1) is refused on top of v3" insmod "$(ko "$V2")"
expect_dmesg "the core logged the incompatibility" \
	"Livepatch patch \\($V2\\) is not compatible with the already installed livepatches"
expect_eq "v3 is still enabled" 1 "$(sysfs_value "$KLP_SYSFS/$V3/enabled")"

# Disabling the newest patch returns to the unpatched kernel, not to v2 or v1.
dmesg_mark
expect_ok "disable v3" disable_patch "$V3"
expect_eq "after disable: /proc/cmdline is the original" "$orig_cmdline" "$(cat /proc/cmdline)"
expect_eq "after disable: /proc/version is the original" "$orig_version" "$(cat /proc/version)"
expect_dmesg "v3: its pre_unpatch callback ran" "^$V3: pre_unpatch callback: vmlinux\$"
released=$(dmesg_since_mark | sed -n "s/^$V3: state 1: released after \([0-9]*\) reads\$/\1/p")
if [ -n "$released" ] && [ "$released" -ge "${second:-0}" ]; then
	pass "v3: post_unpatch released the state ($released reads)"
else
	fail "v3: post_unpatch released the state with its count" \
		"expected a release line with at least ${second:-?} reads, got: '$released'"
fi
expect_ok "v3's module can be removed" rmmod "$V3"
expect_eq "no live patch is left" "" "$(ls "$KLP_SYSFS")"

# A handover in post_patch survives a reversed transition: klp_state_handover
# inherits v3's counter in its post_patch, and patches busymod_work_func(),
# where a busy worker holds its transition until it is reversed.
HO=klp_state_handover
BUSY=test_klp_callbacks_busy
dmesg_mark
expect_ok "insmod $BUSY block_transition=Y" insmod "$(test_ko "$BUSY")" block_transition=Y
load "$V3"
before=$(reads_in "$(cat /proc/cmdline)")
expect_ok "insmod $HO" insmod "$KLP_MODULES/selftests/bad_input/$HO.ko"
sleep 2
expect_eq "$HO: its transition is held by the busy worker" 1 \
	"$(sysfs_value "$KLP_SYSFS/$HO/transition")"
expect_ok "reverse $HO's transition" sh -c "echo 0 > $KLP_SYSFS/$HO/enabled"
expect_ok "$HO: the reversed transition completes" wait_patch_gone "$HO"
expect_dmesg "$HO: its post_unpatch had no data (post_patch never ran)" \
	"^$HO: state 1: no data to release\$"
after=$(reads_in "$(cat /proc/cmdline)")
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ]; then
	pass "v3 kept its counter across the reversed handover ($before, then $after reads)"
else
	fail "v3 kept its counter across the reversed handover" \
		"before: '$before', after: '$after' ($(cat /proc/cmdline))"
fi
expect_ok "rmmod $HO" unload "$HO"
# Without the worker, the handover completes and takes the counter.
expect_ok "release the worker" sh -c "echo 0 > /sys/module/$BUSY/parameters/block_transition"
dmesg_mark
before=$(reads_in "$(cat /proc/cmdline)")
expect_ok "insmod $HO again" insmod "$KLP_MODULES/selftests/bad_input/$HO.ko"
expect_ok "$HO: the transition completes" wait_transition "$HO"
expect_ok "$HO: v3 is replaced" wait_patch_gone "$V3"
taken=$(dmesg_since_mark | sed -n "s/^$HO: state 1: taken over from version 1 at \([0-9]*\) reads\$/\1/p")
if [ -n "$taken" ] && [ -n "$before" ] && [ "$taken" -ge "$before" ]; then
	pass "$HO: post_patch took v3's counter over ($taken reads)"
else
	fail "$HO: post_patch took v3's counter over" "before: '$before', taken: '$taken'"
fi
expect_ok "disable $HO" disable_patch "$HO"
expect_dmesg "$HO: post_unpatch released the inherited counter" \
	"^$HO: state 1: released after [0-9]* reads\$"
expect_ok "rmmod $HO" unload "$HO"
expect_ok "rmmod $V3" unload "$V3"
expect_ok "rmmod $BUSY" rmmod "$BUSY"

cleanup_test_modules
tap_end

#!/bin/sh
# klp-rs-test: cpus=1 cost=15
# The order of the pre/post (un)patch callbacks with our Rust test modules:
# test_klp_callbacks_demo (callbacks on vmlinux, test_klp_callbacks_mod and
# test_klp_callbacks_busy, whose busymod_work_func() it replaces),
# test_klp_callbacks_demo2 (vmlinux only, replace=0|1) and the two targets.
# Covers a target loaded before or after the patch (the module coming and
# going notifiers), failing pre-patch callbacks, a busy target that blocks
# the transition (with /proc/<pid>/patch_state of the blocked worker) and the
# reversal of that transition, and atomic replace, where only the newest
# patch's callbacks run.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

DEMO=test_klp_callbacks_demo
DEMO2=test_klp_callbacks_demo2
MOD=test_klp_callbacks_mod
BUSY=test_klp_callbacks_busy
LIVE="[MODULE_STATE_LIVE] Normal state"
COMING="[MODULE_STATE_COMING] Full formed, running module_init"
GOING="[MODULE_STATE_GOING] Going away"
# The lines of the test modules themselves.
OURS="^test_klp_callbacks_[a-z0-9]*:"

# cb PATCH CALLBACK OBJECT [STATE]: the line a callback logs.
cb() {
	if [ $# -eq 4 ]; then
		echo "$1: $2_callback: $3 -> $4"
	else
		echo "$1: $2_callback: $3"
	fi
}
# lines LINE...: the arguments, one per line.
lines() {
	printf '%s\n' "$@"
}

tap_begin "callback order: targets coming and going, failures, a busy target, atomic replace"
cleanup_test_modules
klp_debug on

# --- target module loaded before the patch
dmesg_mark
expect_ok "insmod $MOD" insmod "$(test_ko "$MOD")"
expect_ok "load $DEMO" load_patch "$DEMO"
expect_eq "$DEMO/$MOD/patched is 1" 1 "$(sysfs_value "$KLP_SYSFS/$DEMO/$MOD/patched")"
expect_ok "disable $DEMO" disable_patch "$DEMO"
expect_ok "rmmod $DEMO" unload "$DEMO"
expect_ok "rmmod $MOD" rmmod "$MOD"
expect_lines "pre callbacks before the transition, post after it, for every loaded object" "$(lines \
	"$MOD: ${MOD}_init" \
	"$(cb $DEMO pre_patch vmlinux)" "$(cb $DEMO pre_patch $MOD "$LIVE")" \
	"$(cb $DEMO post_patch vmlinux)" "$(cb $DEMO post_patch $MOD "$LIVE")" \
	"$(cb $DEMO pre_unpatch vmlinux)" "$(cb $DEMO pre_unpatch $MOD "$LIVE")" \
	"$(cb $DEMO post_unpatch vmlinux)" "$(cb $DEMO post_unpatch $MOD "$LIVE")" \
	"$MOD: ${MOD}_exit")" "$OURS"

# --- patch first, then the target comes and goes
dmesg_mark
expect_ok "load $DEMO" load_patch "$DEMO"
expect_eq "$DEMO/$MOD/patched is 0 before $MOD is loaded" 0 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/$MOD/patched")"
expect_ok "insmod $MOD" insmod "$(test_ko "$MOD")"
expect_eq "$DEMO/$MOD/patched is 1 once it is loaded" 1 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/$MOD/patched")"
expect_ok "rmmod $MOD" rmmod "$MOD"
expect_eq "$DEMO/$MOD/patched is 0 once it is gone" 0 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/$MOD/patched")"
expect_ok "disable $DEMO" disable_patch "$DEMO"
expect_ok "rmmod $DEMO" unload "$DEMO"
expect_lines "the coming module is patched before its init, unpatched after its exit" "$(lines \
	"$(cb $DEMO pre_patch vmlinux)" "$(cb $DEMO post_patch vmlinux)" \
	"$(cb $DEMO pre_patch $MOD "$COMING")" "$(cb $DEMO post_patch $MOD "$COMING")" \
	"$MOD: ${MOD}_init" "$MOD: ${MOD}_exit" \
	"$(cb $DEMO pre_unpatch $MOD "$GOING")" "$(cb $DEMO post_unpatch $MOD "$GOING")" \
	"$(cb $DEMO pre_unpatch vmlinux)" "$(cb $DEMO post_unpatch vmlinux)")" "$OURS"
expect_dmesg "the core logged patching the coming module" \
	"^livepatch: applying patch '$DEMO' to loading module '$MOD'"
expect_dmesg "and reverting it from the going module" \
	"^livepatch: reverting patch '$DEMO' on unloading module '$MOD'"

# --- a failing pre-patch callback refuses the patch
expect_ok "insmod $MOD" insmod "$(test_ko "$MOD")"
dmesg_mark
out=$(insmod "$(test_ko "$DEMO")" pre_patch_ret=-19 2>&1)
expect_eq "insmod $DEMO pre_patch_ret=-19 fails with ENODEV" \
	"insmod: ERROR: could not insert module $(test_ko "$DEMO"): No such device" "$out"
expect_lines "only vmlinux's pre-patch callback ran, and no unpatch callback" \
	"$(cb $DEMO pre_patch vmlinux)" "$OURS"
expect_dmesg "the core named the failing object" \
	"^livepatch: pre-patch callback failed for object 'vmlinux'"
expect_eq "no patch is left in sysfs" no "$(test -d "$KLP_SYSFS/$DEMO" && echo yes || echo no)"
expect_ok "rmmod $MOD" rmmod "$MOD"

# --- a failing pre-patch callback refuses a coming module
expect_ok "load $DEMO" load_patch "$DEMO"
expect_ok "set its pre_patch_ret to -19 through sysfs" \
	sh -c "echo -19 > /sys/module/$DEMO/parameters/pre_patch_ret"
expect_eq "the parameter reads -19" -19 "$(sysfs_value "/sys/module/$DEMO/parameters/pre_patch_ret")"
dmesg_mark
expect_fail "insmod $MOD is refused" insmod "$(test_ko "$MOD")"
expect_lines "the module's pre-patch callback ran, its init did not" \
	"$(cb $DEMO pre_patch $MOD "$COMING")" "$OURS"
expect_dmesg "the core refused the module" \
	"^livepatch: patch '$DEMO' failed for module '$MOD', refusing to load module '$MOD'"
expect_ok "disable $DEMO" disable_patch "$DEMO"
expect_ok "rmmod $DEMO" unload "$DEMO"

# --- a busy target blocks the transition, which is then reversed
dmesg_mark
expect_ok "insmod $BUSY block_transition=Y" insmod "$(test_ko "$BUSY")" block_transition=Y
expect_ok "busymod_work_func has an ftrace call site (the Rust module's fentry entry)" \
	grep -q "^busymod_work_func \\[$BUSY\\]" /sys/kernel/debug/tracing/available_filter_functions
expect_ok "insmod $DEMO" insmod "$(test_ko "$DEMO")"
sleep 3
expect_eq "after 3 s the transition is still in progress" 1 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/transition")"
worker=$(grep -l busymod_work_func /proc/[0-9]*/stack 2>/dev/null | head -n 1 | cut -d/ -f3)
expect_ok "a worker is found sleeping in busymod_work_func (/proc/<pid>/stack)" test -n "$worker"
expect_eq "the busy worker's patch_state is 0 (unpatched)" 0 "$(patch_state "${worker:-0}")"
expect_eq "this shell's patch_state is 1 (patched)" 1 "$(patch_state $$)"
expect_ok "insmod $MOD during the transition" insmod "$(test_ko "$MOD")"
expect_ok "rmmod $MOD during the transition" rmmod "$MOD"
expect_ok "disable $DEMO during the transition" sh -c "echo 0 > $KLP_SYSFS/$DEMO/enabled"
expect_ok "the reversed transition completes, the busy worker still busy" wait_patch_gone "$DEMO"
expect_ok "rmmod $DEMO" unload "$DEMO"
expect_ok "release the worker" sh -c "echo 0 > /sys/module/$BUSY/parameters/block_transition"
expect_ok "rmmod $BUSY" rmmod "$BUSY"
expect_lines "no post-patch and no pre-unpatch callbacks while in transition" "$(lines \
	"$BUSY: ${BUSY}_init" "$BUSY: busymod_work_func enter" \
	"$(cb $DEMO pre_patch vmlinux)" "$(cb $DEMO pre_patch $BUSY "$LIVE")" \
	"$(cb $DEMO pre_patch $MOD "$COMING")" "$MOD: ${MOD}_init" \
	"$MOD: ${MOD}_exit" "$(cb $DEMO post_unpatch $MOD "$GOING")" \
	"$(cb $DEMO post_unpatch vmlinux)" "$(cb $DEMO post_unpatch $BUSY "$LIVE")" \
	"$BUSY: busymod_work_func exit" "$BUSY: ${BUSY}_exit")" "$OURS"
expect_dmesg "the core reversed the transition" \
	"^livepatch: '$DEMO': reversing transition from patching to unpatching"

# --- stacked patches: each runs its own callbacks
dmesg_mark
expect_ok "load $DEMO" load_patch "$DEMO"
expect_ok "load $DEMO2 (replace=0)" load_patch "$DEMO2"
expect_ok "disable $DEMO2" disable_patch "$DEMO2"
expect_ok "disable $DEMO" disable_patch "$DEMO"
expect_ok "rmmod $DEMO2" unload "$DEMO2"
expect_ok "rmmod $DEMO" unload "$DEMO"
expect_lines "each stacked patch runs all its callbacks" "$(lines \
	"$(cb $DEMO pre_patch vmlinux)" "$(cb $DEMO post_patch vmlinux)" \
	"$(cb $DEMO2 pre_patch vmlinux)" "$(cb $DEMO2 post_patch vmlinux)" \
	"$(cb $DEMO2 pre_unpatch vmlinux)" "$(cb $DEMO2 post_unpatch vmlinux)" \
	"$(cb $DEMO pre_unpatch vmlinux)" "$(cb $DEMO post_unpatch vmlinux)")" "$OURS"

# --- atomic replace: only the newest patch's callbacks run
dmesg_mark
expect_ok "load $DEMO" load_patch "$DEMO"
expect_ok "load $DEMO2 replace=1" load_patch "$DEMO2" replace=1
expect_ok "the replaced $DEMO leaves sysfs" wait_patch_gone "$DEMO"
expect_ok "disable $DEMO2" disable_patch "$DEMO2"
expect_ok "rmmod $DEMO2" unload "$DEMO2"
expect_ok "rmmod the replaced $DEMO" unload "$DEMO"
expect_lines "the replaced patch's unpatch callbacks never run" "$(lines \
	"$(cb $DEMO pre_patch vmlinux)" "$(cb $DEMO post_patch vmlinux)" \
	"$(cb $DEMO2 pre_patch vmlinux)" "$(cb $DEMO2 post_patch vmlinux)" \
	"$(cb $DEMO2 pre_unpatch vmlinux)" "$(cb $DEMO2 post_unpatch vmlinux)")" "$OURS"

cleanup_test_modules
tap_end

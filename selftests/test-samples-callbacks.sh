#!/bin/sh
# klp-rs-test: cpus=1 cost=33
# The Rust callbacks demo (livepatch_callbacks_demo) with its target modules
# livepatch_callbacks_mod and livepatch_callbacks_busymod: which callbacks run,
# in which order, for which object and module state, when the patch is enabled
# and disabled and when a target module comes or goes; a failing pre_patch;
# a transition blocked by a task sleeping in a patched Rust function.
# The cases follow the kernel's tools/testing/selftests/livepatch/test-callbacks.sh.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

DEMO=livepatch_callbacks_demo
MOD=livepatch_callbacks_mod
BUSY=livepatch_callbacks_busymod
BLOCK=/sys/module/$BUSY/parameters/block_transition
PRE_PATCH_RET=/sys/module/$DEMO/parameters/pre_patch_ret
LIVE='\[MODULE_STATE_LIVE\] Normal state'
COMING='\[MODULE_STATE_COMING\] Full formed, running module_init'
GOING='\[MODULE_STATE_GOING\] Going away'

# cb CALLBACK OBJECT: the log line of the demo's CALLBACK for OBJECT.
cb() {
	printf '^%s: %s_callback: %s$' "$DEMO" "$1" "$2"
}

# core MESSAGE: the livepatch core's log line MESSAGE about the demo patch.
core() {
	printf "^livepatch: '%s': %s\$" "$DEMO" "$1"
}

# reset: no patch, none of the modules loaded.
reset() {
	[ -w "$BLOCK" ] && echo N >"$BLOCK"
	cleanup_patches
	unload_modules "$DEMO" "$MOD" "$BUSY"
}

# disable_demo: disables the demo patch (one TAP line), waits until it is gone.
disable_demo() {
	expect_ok "disable $DEMO and wait until it leaves sysfs" disable_patch "$DEMO"
}

tap_begin "Rust livepatch_callbacks_demo: callbacks around (un)patching vmlinux and modules"
reset
expect_ok "turn on the livepatch core's debug messages, blocking tasks too (dynamic debug)" klp_debug tasks

expect_eq "$DEMO.ko is tagged livepatch=Y" Y "$(modinfo -F livepatch "$(sample_ko "$DEMO")" 2>&1)"
expect_eq "$DEMO.ko declares its pre_patch_ret int parameter" "pre_patch_ret:int" \
	"$(modinfo -F parmtype "$(sample_ko "$DEMO")" 2>&1)"
expect_eq "$BUSY.ko declares its block_transition bool parameter" "block_transition:bool" \
	"$(modinfo -F parmtype "$(sample_ko "$BUSY")" 2>&1)"
expect_eq "$MOD.ko is not a live patch" "" "$(modinfo -F livepatch "$(sample_ko "$MOD")" 2>&1)"

# 1. Target module before the patch: callbacks for vmlinux and the module,
#    pre before the transition starts, post after it completes.
dmesg_mark
expect_insmod "$MOD"
expect_insmod "$DEMO"
expect_ok "the patching transition completes" wait_transition "$DEMO"
expect_eq "$PRE_PATCH_RET reads 0 (the default)" 0 "$(sysfs_value "$PRE_PATCH_RET")"
expect_eq "$DEMO/enabled reads 1" 1 "$(sysfs_value "$KLP_SYSFS/$DEMO/enabled")"
expect_eq "$DEMO/replace reads 0 (it stacks, like the C sample)" 0 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/replace")"
expect_eq "$DEMO/vmlinux/patched reads 1 (an object with callbacks and no function)" 1 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/vmlinux/patched")"
expect_eq "$DEMO/$MOD/patched reads 1" 1 "$(sysfs_value "$KLP_SYSFS/$DEMO/$MOD/patched")"
expect_dmesg_seq "enable, module loaded before: pre_patch for vmlinux and $MOD (LIVE), transition, post_patch for both" \
	"^$MOD: ${MOD}_init\$" \
	"^livepatch: enabling patch '$DEMO'\$" \
	"$(core "initializing patching transition")" \
	"$(cb pre_patch vmlinux)" \
	"$(cb pre_patch "$MOD -> $LIVE")" \
	"$(core "starting patching transition")" \
	"$(core "completing patching transition")" \
	"$(cb post_patch vmlinux)" \
	"$(cb post_patch "$MOD -> $LIVE")" \
	"$(core "patching complete")"
dmesg_mark
disable_demo
expect_dmesg_seq "disable: pre_unpatch for vmlinux and $MOD (LIVE), transition, post_unpatch for both" \
	"$(core "initializing unpatching transition")" \
	"$(cb pre_unpatch vmlinux)" \
	"$(cb pre_unpatch "$MOD -> $LIVE")" \
	"$(core "starting unpatching transition")" \
	"$(core "completing unpatching transition")" \
	"$(cb post_unpatch vmlinux)" \
	"$(cb post_unpatch "$MOD -> $LIVE")" \
	"$(core "unpatching complete")"
dmesg_mark
expect_rmmod "$DEMO"
expect_rmmod "$MOD"
expect_dmesg "$MOD logged its exit" "^$MOD: ${MOD}_exit\$"

# 2. Patch before the target module: the module's callbacks run when it
#    comes (state COMING, before its init), the disable covers both objects.
dmesg_mark
expect_insmod "$DEMO"
expect_ok "the patching transition completes" wait_transition "$DEMO"
expect_dmesg_seq "enable, module not loaded: callbacks for vmlinux only" \
	"$(cb pre_patch vmlinux)" "$(cb post_patch vmlinux)" "$(core "patching complete")"
expect_no_dmesg "no callback ran for $MOD, which is not loaded" "_callback: $MOD"
expect_eq "$DEMO/$MOD/patched reads 0 while $MOD is not loaded" 0 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/$MOD/patched")"
dmesg_mark
expect_insmod "$MOD"
expect_dmesg_seq "module comes: pre_patch and post_patch for $MOD (COMING), then its init" \
	"^livepatch: applying patch '$DEMO' to loading module '$MOD'\$" \
	"$(cb pre_patch "$MOD -> $COMING")" \
	"$(cb post_patch "$MOD -> $COMING")" \
	"^$MOD: ${MOD}_init\$"
expect_eq "$DEMO/$MOD/patched reads 1 once $MOD is loaded" 1 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/$MOD/patched")"
dmesg_mark
disable_demo
expect_dmesg_seq "disable: pre_unpatch and post_unpatch for vmlinux and $MOD (LIVE)" \
	"$(cb pre_unpatch vmlinux)" "$(cb pre_unpatch "$MOD -> $LIVE")" \
	"$(cb post_unpatch vmlinux)" "$(cb post_unpatch "$MOD -> $LIVE")" \
	"$(core "unpatching complete")"
expect_rmmod "$DEMO"
expect_rmmod "$MOD"

# 3. Target module removed while the patch is enabled: its unpatch callbacks
#    run (state GOING, after its exit); the disable then covers vmlinux only.
dmesg_mark
expect_insmod "$MOD"
expect_insmod "$DEMO"
expect_ok "the patching transition completes" wait_transition "$DEMO"
dmesg_mark
expect_rmmod "$MOD"
expect_dmesg_seq "module goes: its exit, then pre_unpatch and post_unpatch for $MOD (GOING)" \
	"^$MOD: ${MOD}_exit\$" \
	"$(cb pre_unpatch "$MOD -> $GOING")" \
	"^livepatch: reverting patch '$DEMO' on unloading module '$MOD'\$" \
	"$(cb post_unpatch "$MOD -> $GOING")"
expect_eq "the patch stays enabled" 1 "$(sysfs_value "$KLP_SYSFS/$DEMO/enabled")"
dmesg_mark
disable_demo
expect_dmesg_seq "disable: callbacks for vmlinux" \
	"$(cb pre_unpatch vmlinux)" "$(cb post_unpatch vmlinux)" "$(core "unpatching complete")"
expect_no_dmesg "disable: no callback for the removed $MOD" "_callback: $MOD"
expect_rmmod "$DEMO"

# 4. pre_patch fails for vmlinux (pre_patch_ret=-19): insmod fails with
#    ENODEV, the core cancels the transition and nothing stays patched.
expect_insmod "$MOD"
dmesg_mark
if out=$(insmod "$(sample_ko "$DEMO")" pre_patch_ret=-19 2>&1); then
	fail "insmod $DEMO pre_patch_ret=-19 fails" "insmod succeeded: $out"
else
	pass "insmod $DEMO pre_patch_ret=-19 fails"
fi
expect_eq "insmod reports ENODEV" 1 "$(printf '%s\n' "$out" | grep -c 'No such device')"
expect_dmesg_seq "the vmlinux pre_patch ran and failed, the core gave up and unpatched" \
	"$(cb pre_patch vmlinux)" \
	"^livepatch: pre-patch callback failed for object 'vmlinux'\$" \
	"^livepatch: failed to enable patch '$DEMO'\$" \
	"$(core "canceling patching transition, going to unpatch")" \
	"$(core "unpatching complete")"
expect_no_dmesg "no pre_patch ran for $MOD after the vmlinux one failed" "pre_patch_callback: $MOD"
expect_no_dmesg "no post_patch callback ran" "post_patch_callback"
expect_eq "$DEMO is not in $KLP_SYSFS" no "$([ -e "$KLP_SYSFS/$DEMO" ] && echo yes || echo no)"
expect_module_gone "$DEMO"
expect_rmmod "$MOD"

# 5. pre_patch fails for a module loaded later: the module loader refuses it.
dmesg_mark
expect_insmod "$DEMO"
expect_ok "the patching transition completes" wait_transition "$DEMO"
expect_ok "echo -19 > $PRE_PATCH_RET" sh -c "echo -19 > $PRE_PATCH_RET"
expect_eq "$PRE_PATCH_RET reads -19" -19 "$(sysfs_value "$PRE_PATCH_RET")"
dmesg_mark
if out=$(insmod "$(sample_ko "$MOD")" 2>&1); then
	fail "insmod $MOD is refused" "insmod succeeded: $out"
else
	pass "insmod $MOD is refused"
fi
expect_eq "insmod reports ENODEV" 1 "$(printf '%s\n' "$out" | grep -c 'No such device')"
expect_dmesg_seq "the $MOD pre_patch ran (COMING) and failed, the loader refused the module" \
	"$(cb pre_patch "$MOD -> $COMING")" \
	"^livepatch: pre-patch callback failed for object '$MOD'\$" \
	"^livepatch: patch '$DEMO' failed for module '$MOD', refusing to load module '$MOD'\$"
expect_no_dmesg "$MOD's init never ran" "${MOD}_init"
expect_module_gone "$MOD"
expect_eq "the patch stays enabled" 1 "$(sysfs_value "$KLP_SYSFS/$DEMO/enabled")"
dmesg_mark
disable_demo
expect_dmesg_seq "disable: callbacks for vmlinux only" \
	"$(cb pre_unpatch vmlinux)" "$(cb post_unpatch vmlinux)" "$(core "unpatching complete")"
expect_no_dmesg "disable: no callback for the refused $MOD" "_callback: $MOD"
expect_rmmod "$DEMO"

# 6. Busy module that does not block, then the patch, then a second target:
#    the Rust busymod_work_func() is a patchable function of the module.
dmesg_mark
expect_insmod "$BUSY" block_transition=N
expect_kallsyms "$BUSY" busymod_work_func
expect_dmesg_seq "the busy module's work ran and returned before its init did" \
	"^$BUSY: ${BUSY}_init\$" "^$BUSY: busymod_work_func enter\$" "^$BUSY: busymod_work_func exit\$"
dmesg_mark
expect_insmod "$DEMO"
expect_ok "the patching transition completes" wait_transition "$DEMO"
expect_dmesg_seq "enable: callbacks for vmlinux and $BUSY (LIVE)" \
	"$(cb pre_patch vmlinux)" "$(cb pre_patch "$BUSY -> $LIVE")" \
	"$(cb post_patch vmlinux)" "$(cb post_patch "$BUSY -> $LIVE")" \
	"$(core "patching complete")"
expect_eq "$DEMO/$BUSY/patched reads 1" 1 "$(sysfs_value "$KLP_SYSFS/$DEMO/$BUSY/patched")"
expect_ok "$DEMO/$BUSY/busymod_work_func,1 exists" \
	test -d "$KLP_SYSFS/$DEMO/$BUSY/busymod_work_func,1"
dmesg_mark
expect_insmod "$MOD"
expect_rmmod "$MOD"
expect_dmesg_seq "a second target comes and goes: its callbacks only" \
	"$(cb pre_patch "$MOD -> $COMING")" "$(cb post_patch "$MOD -> $COMING")" \
	"$(cb pre_unpatch "$MOD -> $GOING")" "$(cb post_unpatch "$MOD -> $GOING")"
dmesg_mark
disable_demo
expect_dmesg_seq "disable: callbacks for vmlinux and $BUSY" \
	"$(cb pre_unpatch vmlinux)" "$(cb pre_unpatch "$BUSY -> $LIVE")" \
	"$(cb post_unpatch vmlinux)" "$(cb post_unpatch "$BUSY -> $LIVE")"
expect_rmmod "$DEMO"
dmesg_mark
expect_rmmod "$BUSY"
expect_dmesg "$BUSY logged its exit" "^$BUSY: ${BUSY}_exit\$"

# 7. Patch first, then the busy module: its work calls the replacement.
dmesg_mark
expect_insmod "$DEMO"
expect_ok "the patching transition completes" wait_transition "$DEMO"
dmesg_mark
expect_insmod "$BUSY" block_transition=N
expect_dmesg_seq "the busy module's work ran the demo's replacement function" \
	"$(cb pre_patch "$BUSY -> $COMING")" "$(cb post_patch "$BUSY -> $COMING")" \
	"^$BUSY: ${BUSY}_init\$" "^$DEMO: patched_work_func\$"
expect_no_dmesg "the original busymod_work_func() did not run" "busymod_work_func enter"
disable_demo
expect_rmmod "$DEMO"
expect_rmmod "$BUSY"

# 8. A task sleeps in busymod_work_func(): the transition stays blocked, a
#    target module loaded meanwhile gets no post_patch, and the transition
#    completes once the busy module lets its task go (block_transition=N).
dmesg_mark
expect_insmod "$BUSY" block_transition=Y
expect_dmesg "the busy work entered busymod_work_func()" "^$BUSY: busymod_work_func enter\$"
expect_no_dmesg "and stays in it" "busymod_work_func exit"
dmesg_mark
expect_insmod "$DEMO"
expect_eq "$DEMO/transition reads 1 right after insmod" 1 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/transition")"
sleep 3
expect_eq "$DEMO/transition still reads 1 three seconds later" 1 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/transition")"
expect_dmesg_seq "enable: pre_patch callbacks ran and the transition started" \
	"$(cb pre_patch vmlinux)" "$(cb pre_patch "$BUSY -> $LIVE")" \
	"$(core "starting patching transition")"
expect_dmesg "the core reports the busy task sleeping on busymod_work_func()" \
	"^livepatch: klp_try_switch_task: .* is sleeping on function busymod_work_func\$"
expect_no_dmesg "no post_patch callback while the transition is blocked" "post_patch_callback"
expect_no_dmesg "the patching did not complete" "$(core "patching complete")"
dmesg_mark
expect_insmod "$MOD"
expect_rmmod "$MOD"
expect_dmesg_seq "in transition, $MOD comes and goes: pre_patch and post_unpatch only" \
	"$(cb pre_patch "$MOD -> $COMING")" "^$MOD: ${MOD}_init\$" "^$MOD: ${MOD}_exit\$" \
	"^livepatch: reverting patch '$DEMO' on unloading module '$MOD'\$" \
	"$(cb post_unpatch "$MOD -> $GOING")"
expect_no_dmesg "in transition, no post_patch or pre_unpatch for $MOD" \
	"(post_patch|pre_unpatch)_callback: $MOD"
dmesg_mark
expect_ok "echo N > $BLOCK" sh -c "echo N > $BLOCK"
expect_ok "the transition completes once the task left busymod_work_func()" \
	wait_transition "$DEMO"
expect_dmesg_seq "the task left, then post_patch ran for vmlinux and $BUSY" \
	"^$BUSY: busymod_work_func exit\$" \
	"$(core "completing patching transition")" \
	"$(cb post_patch vmlinux)" "$(cb post_patch "$BUSY -> $LIVE")" \
	"$(core "patching complete")"
disable_demo
expect_rmmod "$DEMO"
expect_rmmod "$BUSY"

# 9. The same block, undone the way the C selftest does: disabling the patch
#    reverses the blocked transition, which completes at once (the busy task
#    never left the unpatched state); removing the busy module releases it.
dmesg_mark
expect_insmod "$BUSY" block_transition=Y
expect_insmod "$DEMO"
expect_eq "$DEMO/transition reads 1" 1 "$(sysfs_value "$KLP_SYSFS/$DEMO/transition")"
dmesg_mark
disable_demo
expect_dmesg_seq "disable reverses the transition; post_unpatch runs for vmlinux and $BUSY" \
	"$(core "reversing transition from patching to unpatching")" \
	"$(core "starting unpatching transition")" \
	"$(core "completing unpatching transition")" \
	"$(cb post_unpatch vmlinux)" "$(cb post_unpatch "$BUSY -> $LIVE")" \
	"$(core "unpatching complete")"
expect_no_dmesg "no pre_unpatch callback ran (post_patch never did)" "pre_unpatch_callback"
expect_rmmod "$DEMO"
dmesg_mark
expect_rmmod "$BUSY"
expect_dmesg_seq "removing $BUSY lets its work return first" \
	"^$BUSY: busymod_work_func exit\$" "^$BUSY: ${BUSY}_exit\$"

expect_no_patches
reset
klp_debug off
tap_end

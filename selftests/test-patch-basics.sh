#!/bin/sh
# klp-rs-test: cpus=1 cost=4
# Basic function patching with our Rust test_klp_livepatch (which replaces
# cmdline_proc_show()): the patched and restored /proc/cmdline, the core's
# log of both transitions, the sysfs attributes and their permissions,
# /proc/<pid>/patch_state outside a transition, and the interplay with the
# kernel.ftrace_enabled sysctl.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

LP=test_klp_livepatch
DIR=$KLP_SYSFS/$LP
PATCHED="$LP: this has been live patched"
FTRACE_ENABLED=/proc/sys/kernel/ftrace_enabled

tap_begin "basic patching, sysfs attributes, patch_state, ftrace_enabled"
cleanup_test_modules
klp_debug on
original=$(cat /proc/cmdline)

# --- patching and unpatching
dmesg_mark
expect_ok "insmod $LP.ko and wait for the transition" load_patch "$LP"
expect_eq "/proc/cmdline prints the replacement's text" "$PATCHED" "$(cat /proc/cmdline)"
expect_lines "the core logged the patching transition, nothing else logged by $LP" \
	"$(core_lines "$LP" enable init-patch start-patch complete-patch patched)" \
	"livepatch:|$LP"

expect_eq "$LP/enabled is 1" 1 "$(sysfs_value "$DIR/enabled")"
expect_eq "$LP/transition is 0" 0 "$(sysfs_value "$DIR/transition")"
expect_eq "$LP/replace is 0: like the C module, it stacks" 0 "$(sysfs_value "$DIR/replace")"
expect_eq "$LP/vmlinux/patched is 1" 1 "$(sysfs_value "$DIR/vmlinux/patched")"
expect_ok "$LP/vmlinux/cmdline_proc_show,1 is the function's directory" \
	test -d "$DIR/vmlinux/cmdline_proc_show,1"
for spec in ":drwxr-xr-x" "enabled:-rw-r--r--" "force:--w-------" \
	"replace:-r--r--r--" "transition:-r--r--r--" "vmlinux/patched:-r--r--r--"; do
	file=${spec%%:*}
	expect_eq "permissions of $LP/${file:-.}" "${spec#*:}" \
		"$(stat -c %A "$DIR/$file" 2>&1)"
done
expect_eq "patch_state of this shell is -1: no transition in progress" -1 "$(patch_state $$)"
expect_eq "patch_state of init is -1 too" -1 "$(patch_state 1)"
expect_fail "rmmod is refused while the patch is enabled" rmmod "$LP"
expect_fail "writing 1 to enabled again is refused" sh -c "echo 1 > $DIR/enabled"

dmesg_mark
expect_ok "echo 0 > $LP/enabled; the patch leaves sysfs" disable_patch "$LP"
expect_eq "/proc/cmdline is the original again" "$original" "$(cat /proc/cmdline)"
expect_ok "rmmod $LP" unload "$LP"
expect_lines "the core logged the unpatching transition" \
	"$(core_lines "$LP" init-unpatch start-unpatch complete-unpatch unpatched)" \
	"livepatch:|$LP"

# --- ftrace_enabled: live patching needs ftrace, and holds it on. Linux 7.x
# no longer lets the knob turn ftrace off: every write of 0 is refused.
dmesg_mark
if kernel_at_least 7.0; then
	expect_fail "kernel.ftrace_enabled=0 is refused (deprecated on Linux 7.x)" \
		sh -c "echo 0 > $FTRACE_ENABLED"
	expect_eq "ftrace_enabled still reads 1" 1 "$(cat "$FTRACE_ENABLED")"
else
	expect_ok "kernel.ftrace_enabled can be turned off without live patches" \
		sh -c "echo 0 > $FTRACE_ENABLED"
	expect_fail "with ftrace off, the patch module fails to load" insmod "$(test_ko "$LP")"
	expect_dmesg "the core could not register its ftrace handler (-EBUSY)" \
		"^livepatch: failed to register ftrace handler for function 'cmdline_proc_show' \\(-16\\)"
	expect_dmesg "and it cancelled the transition" \
		"^livepatch: '$LP': canceling patching transition, going to unpatch"
	expect_eq "$LP is not loaded" no "$(module_loaded "$LP" && echo yes || echo no)"
	expect_eq "/proc/cmdline is untouched" "$original" "$(cat /proc/cmdline)"
fi

expect_ok "ftrace_enabled back on" sh -c "echo 1 > $FTRACE_ENABLED"
expect_eq "modprobe finds $LP by name in /lib/modules/$(uname -r)" \
	"insmod /lib/modules/$(uname -r)/updates/klp-rs/selftests/test_modules/$LP.ko" \
	"$(modprobe --show-depends "$LP" 2>&1 | sed 's/ *$//')"
expect_ok "now the patch loads, with modprobe" modprobe "$LP"
expect_ok "the transition completes" wait_transition "$LP"
expect_fail "ftrace_enabled cannot be turned off while a patch is enabled" \
	sh -c "echo 0 > $FTRACE_ENABLED"
expect_eq "ftrace_enabled still reads 1" 1 "$(cat "$FTRACE_ENABLED")"
expect_eq "/proc/cmdline is still patched" "$PATCHED" "$(cat /proc/cmdline)"
expect_ok "disable and unload" sh -c "echo 0 > $DIR/enabled"
expect_ok "the patch leaves sysfs" wait_patch_gone "$LP"
expect_ok "rmmod $LP" unload "$LP"

echo 1 >"$FTRACE_ENABLED" 2>/dev/null
cleanup_test_modules
tap_end

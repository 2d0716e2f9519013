#!/bin/sh
# klp-rs-test: cpus=1 cost=6
# Stacked patches and atomic replace with our Rust test modules:
# test_klp_livepatch (/proc/cmdline) and test_klp_atomic_replace
# (/proc/meminfo, replace=0|1). Proves that stacked patches are all active,
# that a replacing patch reverts, through a NOP, a function only an earlier
# patch touched, that the replaced patches leave sysfs and their modules can
# be removed, and that disabling the replacing patch returns to the
# unpatched kernel, not to the patches it replaced.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

LP=test_klp_livepatch
AR=test_klp_atomic_replace

# patched_by FILE: which test patch's text FILE shows, or "none".
patched_by() {
	by=$(sed -n 's/^\(test_klp_[a-z_]*\): this has been live patched$/\1/p' "$1")
	echo "${by:-none}"
}
# patches: the patches listed in /sys/kernel/livepatch, on one line.
patches() {
	# shellcheck disable=SC2012 # names of kernel objects, no odd characters
	ls "$KLP_SYSFS" | tr '\n' ' ' | sed 's/ $//'
}

tap_begin "stacked patches, atomic replace, NOPs, returning to the unpatched kernel"
cleanup_test_modules
klp_debug on

# --- stacking
expect_ok "load $LP" load_patch "$LP"
expect_ok "load $AR replace=0, stacked on top" load_patch "$AR" replace=0
expect_eq "both patches are listed" "$AR $LP" "$(patches)"
expect_eq "$AR/replace is 0" 0 "$(sysfs_value "$KLP_SYSFS/$AR/replace")"
expect_eq "/proc/cmdline is patched by $LP" "$LP" "$(patched_by /proc/cmdline)"
expect_eq "/proc/meminfo is patched by $AR" "$AR" "$(patched_by /proc/meminfo)"
expect_ok "disable the top patch" disable_patch "$AR"
expect_eq "/proc/meminfo is the original again" none "$(patched_by /proc/meminfo)"
expect_eq "/proc/cmdline is still patched by $LP" "$LP" "$(patched_by /proc/cmdline)"
expect_ok "rmmod $AR" unload "$AR"

# --- atomic replace
dmesg_mark
expect_ok "load $AR replace=1 over $LP" load_patch "$AR" replace=1
expect_eq "$AR/replace is 1" 1 "$(sysfs_value "$KLP_SYSFS/$AR/replace")"
expect_ok "the replaced $LP leaves /sys/kernel/livepatch" wait_patch_gone "$LP"
expect_eq "only the replacing patch is listed" "$AR" "$(patches)"
expect_eq "/proc/meminfo is patched by $AR" "$AR" "$(patched_by /proc/meminfo)"
expect_eq "/proc/cmdline is the original: $AR's NOP reverted what only $LP patched" \
	none "$(patched_by /proc/cmdline)"
expect_ok "$LP's module is still loaded (replaced, not unloaded)" module_loaded "$LP"
expect_ok "the replaced patch's module can be removed" unload "$LP"
expect_lines "the replaced patch went without an unpatching transition of its own" \
	"$(core_lines "$AR" enable init-patch start-patch complete-patch patched)" \
	"^livepatch:"

dmesg_mark
expect_ok "disable the replacing patch" disable_patch "$AR"
expect_eq "/proc/meminfo is the original" none "$(patched_by /proc/meminfo)"
expect_eq "/proc/cmdline is the original, not $LP's: the replaced patch does not come back" \
	none "$(patched_by /proc/cmdline)"
expect_eq "no patch is listed" "" "$(patches)"
expect_lines "only the replacing patch was unpatched" \
	"$(core_lines "$AR" init-unpatch start-unpatch complete-unpatch unpatched)" \
	"^livepatch:"
expect_ok "rmmod $AR" unload "$AR"

# --- replacing several stacked patches at once, incl. one of another module
expect_ok "load $LP" load_patch "$LP"
expect_ok "load test_klp_syscall" load_patch test_klp_syscall
expect_ok "load test_klp_callbacks_demo" load_patch test_klp_callbacks_demo
expect_eq "three patches are listed" "test_klp_callbacks_demo $LP test_klp_syscall" "$(patches)"
expect_ok "load $AR replace=1" load_patch "$AR" replace=1
expect_ok "all three replaced patches leave sysfs" wait_patch_gone "$LP"
expect_eq "only the replacing patch is listed" "$AR" "$(patches)"
for mod in test_klp_callbacks_demo test_klp_syscall "$LP"; do
	expect_ok "rmmod the replaced $mod" unload "$mod"
done
expect_ok "disable $AR" disable_patch "$AR"
expect_ok "rmmod $AR" unload "$AR"

cleanup_test_modules
tap_end

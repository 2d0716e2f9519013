#!/bin/sh
# klp-rs-test: cpus=1 cost=6
# Bad input fails cleanly and loses nothing: patches the core must refuse
# (missing function, wrong sympos, failing pre_patch, older state version),
# shadow-variable error paths, when post_unpatch gets the Unpatched proof
# (not when a patched module goes under an enabled patch), and bad writes to
# sysfs.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

bad_ko() {
	printf '%s/selftests/bad_input/%s.ko\n' "$KLP_MODULES" "$1"
}

# refused NAME DMESG_REGEX WHAT: NAME.ko must fail to load with that kernel
# log line, leave no patch in sysfs and no module, and change nothing.
refused() {
	dmesg_mark
	expect_fail "$3: insmod $1.ko is refused" insmod "$(bad_ko "$1")"
	expect_dmesg "$3: the kernel log says why" "$2"
	expect_ok "$3: no $1 in $KLP_SYSFS" test ! -e "$KLP_SYSFS/$1"
	if module_loaded "$1"; then
		fail "$3: $1 is not left loaded" "$(grep "^$1 " /proc/modules)"
	else
		pass "$3: $1 is not left loaded"
	fi
	expect_eq "$3: /proc/cmdline is unchanged" "$original" "$(cat /proc/cmdline)"
}

# no_failed_checks DESC: klp_shadow_errors logged no FAIL line since the mark.
no_failed_checks() {
	failed=$(kernel_lines_since_mark "^klp_shadow_errors: FAIL:")
	if [ -n "$failed" ]; then
		fail "$1" "$failed"
	else
		pass "$1"
	fi
}

# write_refused FILE VALUE WHAT: writing VALUE to FILE fails.
write_refused() {
	expect_fail "$3" sh -c "printf '%s' '$2' > '$1'"
}

tap_begin "bad input: refused patches, shadow error paths, bad sysfs writes"
cleanup_patches
original=$(cat /proc/cmdline)

refused klp_bad_missing_func "symbol 'klp_rs_no_such_function' not found in symbol table" \
	"missing target function"
refused klp_bad_sympos \
	"symbol position 2 for symbol 'cmdline_proc_show' in object 'vmlinux' not found" \
	"wrong old_sympos"
refused klp_bad_pre_patch "klp_bad_pre_patch: pre_patch: refusing with -ENODEV" \
	"failing pre_patch"
if dmesg_since_mark | grep -q 'post_unpatch: must not run'; then
	fail "failing pre_patch: post_unpatch did not run for the refused object" \
		"$(dmesg_since_mark | grep klp_bad_pre_patch)"
else
	pass "failing pre_patch: post_unpatch did not run for the refused object"
fi

# An older state version may not replace a patch with a newer one.
V3=livepatch_cumulative_v3
expect_ok "insmod $V3.ko (state 1, version 1)" \
	insmod "$(sample_ko livepatch_cumulative | sed "s/livepatch_cumulative.ko$/$V3.ko/")"
expect_ok "$V3: the transition completes" wait_transition "$V3"
patched=$(cat /proc/cmdline)
dmesg_mark
expect_fail "a patch with state 1 at version 0 is refused on top of it" \
	insmod "$(bad_ko klp_bad_state_version)"
expect_dmesg "the kernel log says it is not compatible" \
	"Livepatch patch \\(klp_bad_state_version\\) is not compatible"
expect_eq "$V3 is still enabled" 1 "$(sysfs_value "$KLP_SYSFS/$V3/enabled")"
case $(cat /proc/cmdline) in
"cumulative v3: patched /proc/cmdline"*) pass "$V3 is still in effect" ;;
*) fail "$V3 is still in effect" "before: $patched" "now: $(cat /proc/cmdline)" ;;
esac
cleanup_patches

# Error paths of klp::Shadow, checked by the module itself at load time (in
# its vmlinux pre_patch); then when post_unpatch gets the Unpatched proof.
SE=klp_shadow_errors
TM=test_klp_callbacks_mod
dmesg_mark
expect_ok "insmod $TM (the target of $SE's module object)" insmod "$(test_ko "$TM")"
expect_ok "insmod $SE.ko" insmod "$(bad_ko "$SE")"
expect_ok "$SE: the transition completes" wait_transition "$SE"
expect_dmesg "every shadow-variable error-path check passed" \
	"^$SE: 15 passed, 0 failed\$"
no_failed_checks "no shadow-variable error-path check failed"
# A module object's post_unpatch when that module goes while the patch stays
# enabled: the patch is not unpatched, so no proof.
expect_ok "rmmod $TM under the enabled $SE" rmmod "$TM"
expect_dmesg_seq "$TM removed under $SE: its post_unpatch runs without the proof" \
	"^livepatch: reverting patch '$SE' on unloading module '$TM'\$" \
	"^$SE: post_unpatch $TM \(MODULE_STATE_GOING\): no proof\$"
expect_eq "$SE stays enabled" 1 "$(sysfs_value "$KLP_SYSFS/$SE/enabled")"
expect_ok "insmod $TM again: patched on load" insmod "$(test_ko "$TM")"
expect_dmesg "the core applied $SE to the loading $TM" \
	"^livepatch: applying patch '$SE' to loading module '$TM'\$"
# Disabling the patch: both objects get the proof, and with it the vmlinux
# one checks that detach_all() frees nothing while a ShadowRef is alive.
dmesg_mark
expect_ok "disable $SE" disable_patch "$SE"
expect_dmesg_seq "disabling $SE: post_unpatch of both objects gets the proof" \
	"^livepatch: '$SE': starting unpatching transition\$" \
	"^$SE: post_unpatch vmlinux: proof granted\$" \
	"^$SE: post_unpatch $TM \(MODULE_STATE_LIVE\): proof granted\$" \
	"^livepatch: '$SE': unpatching complete\$"
expect_dmesg "detach_all() with a live ShadowRef warns and frees nothing" \
	"^$SE: klp-rs: shadow id 0x6b6c7072: 1 reference\(s\) still in use, values not freed\$"
expect_dmesg "every check with the proof passed (EBUSY, value readable, then freed)" \
	"^$SE: post_unpatch: 7 passed, 0 failed\$"
no_failed_checks "no check with the proof failed"
unload_modules "$SE" "$TM"

# Bad writes to a patch's sysfs files are refused and change nothing.
PATCH=livepatch_sample
expect_ok "insmod $PATCH.ko" insmod "$(sample_ko "$PATCH")"
expect_ok "$PATCH: the transition completes" wait_transition "$PATCH"
dir=$KLP_SYSFS/$PATCH
write_refused "$dir/enabled" "garbage" "enabled: 'garbage' is refused"
write_refused "$dir/enabled" "2" "enabled: '2' (out of range) is refused"
write_refused "$dir/enabled" "1" "enabled: '1' again (already enabled) is refused"
write_refused "$dir/force" "1" "force: refused when no transition is in progress"
write_refused "$dir/force" "garbage" "force: 'garbage' is refused"
write_refused "$dir/transition" "0" "transition: read-only, writing is refused"
write_refused "$dir/replace" "0" "replace: read-only, writing is refused"
expect_eq "after the bad writes $PATCH is still enabled" 1 "$(sysfs_value "$dir/enabled")"
expect_eq "after the bad writes /proc/cmdline is still patched" \
	"this has been live patched by klp-rs" "$(cat /proc/cmdline)"
expect_ok "disable $PATCH" disable_patch "$PATCH"
write_refused "$dir/enabled" "0" "enabled: a second disable finds no patch to write to"
expect_eq "/proc/cmdline is the original again" "$original" "$(cat /proc/cmdline)"
expect_ok "rmmod $PATCH" rmmod "$PATCH"

cleanup_patches
tap_end

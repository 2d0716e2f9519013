#!/bin/sh
# klp-rs-test: cpus=1 cost=10
# Livepatch relocations (klp::symbols!, tools/klp-post-link): Rust
# replacement code that calls static functions and reads and writes static
# variables of vmlinux and of a module, none of them exported. The core
# resolves them when the patch is enabled, or when the module comes (and
# again when it comes back); a cumulative patch with relocations of its own
# replaces one; a name the kernel does not have, or has twice without
# sympos, is refused at insmod with nothing left patched.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

TARGET=klp_relocs_target
V1=klp_relocs_vmlinux
V2=klp_relocs_mod
OOPS_LIMIT=/proc/sys/kernel/oops_limit
PROC_TARGET=/proc/$TARGET

relocs_ko() {
	printf '%s/selftests/klp_relocs/%s.ko\n' "$KLP_MODULES" "$1"
}

# expect_cmdline_relocs DESC: /proc/cmdline shows the replacement's work:
# /proc/version's line (version_proc_show), then oops_limit, which it read
# as 4242 and left at 4243.
expect_cmdline_relocs() {
	echo 4242 >"$OOPS_LIMIT"
	expect_eq "$1: /proc/cmdline shows /proc/version (a static function of vmlinux)" \
		"$(cat /proc/version)
klp_relocs: oops_limit=4242" "$(cat /proc/cmdline)"
	expect_eq "$1: the replacement incremented oops_limit (a static variable of vmlinux)" \
		4243 "$(cat "$OOPS_LIMIT")"
}

# expect_target_patched DESC: the target's proc file shows what the Rust
# replacement got from the module's static functions (secret(6) = 42, the
# two klp_relocs_dup by sympos) and its static variable, then the parameter
# shows the variable incremented.
expect_target_patched() {
	counter=$(sysfs_value /sys/module/$TARGET/parameters/counter)
	expect_eq "$1: $PROC_TARGET shows the module's static symbols, dup by sympos 1 and 2" \
		"$TARGET: patched: secret=42 dup=1,2 counter=$counter" "$(cat "$PROC_TARGET")"
	expect_eq "$1: the replacement incremented the module's static variable" \
		"$((counter + 1))" "$(sysfs_value /sys/module/$TARGET/parameters/counter)"
}

# expect_refused NAME DESC REGEX: insmod NAME fails, the core says why
# (REGEX), and nothing is left: no sysfs directory, no module, /proc/cmdline
# as it was.
expect_refused() {
	cmdline=$(cat /proc/cmdline)
	dmesg_mark
	expect_fail "insmod $1 is refused: $2" insmod "$(relocs_ko "$1")"
	expect_dmesg "the core's message: $3" "$3"
	expect_eq "no $KLP_SYSFS/$1 is left" "<missing>" "$(sysfs_value "$KLP_SYSFS/$1/enabled")"
	expect_module_gone "$1"
	expect_eq "/proc/cmdline is not patched" "$cmdline" "$(cat /proc/cmdline)"
}

tap_begin "livepatch relocations: non-exported symbols of vmlinux and of a module"
cleanup_test_modules
unload_modules "$V2" "$V1" "$TARGET"
orig_limit=$(cat "$OOPS_LIMIT")
orig_cmdline=$(cat /proc/cmdline)

dmesg_mark
expect_ok "insmod $TARGET.ko (unpatched)" insmod "$(relocs_ko "$TARGET")"
expect_eq "$PROC_TARGET is the original" "$TARGET: unpatched" "$(cat "$PROC_TARGET")"
expect_eq "two static functions named klp_relocs_dup in [$TARGET]" 2 \
	"$(grep -Ec "^[0-9a-f]+ t klp_relocs_dup[[:space:]]+\[$TARGET\]\$" /proc/kallsyms)"
expect_rmmod "$TARGET"

expect_ok "insmod $V1.ko" insmod "$(relocs_ko "$V1")"
expect_ok "its transition finishes" wait_transition "$V1"
expect_cmdline_relocs "$V1"

# The cumulative patch, with relocations for vmlinux and for the module,
# which is not loaded yet: only vmlinux's are written now.
expect_ok "insmod $V2.ko, replacing $V1, before $TARGET is loaded" insmod "$(relocs_ko "$V2")"
expect_ok "the replace transition finishes" wait_transition "$V2"
expect_ok "$V1 is replaced and gone from sysfs" wait_patch_gone "$V1"
expect_ok "rmmod the replaced $V1" unload "$V1"
expect_cmdline_relocs "$V2, $V1 removed"

dmesg_mark
expect_ok "insmod $TARGET.ko: patched as it comes" insmod "$(relocs_ko "$TARGET")"
expect_dmesg "the core applied $V2 to $TARGET as it came" \
	"applying patch '$V2' to loading module '$TARGET'"
expect_eq "$V2/$TARGET/patched is 1" 1 "$(sysfs_value "$KLP_SYSFS/$V2/$TARGET/patched")"
expect_target_patched "first load"
expect_target_patched "second read"
expect_rmmod "$TARGET"
expect_ok "insmod $TARGET.ko again: relocations written anew" insmod "$(relocs_ko "$TARGET")"
expect_eq "a fresh module: its variable is back at 100" 100 \
	"$(sysfs_value /sys/module/$TARGET/parameters/counter)"
expect_target_patched "reloaded"
expect_cmdline_relocs "$V2, after the module's reload"

expect_ok "disable $V2" disable_patch "$V2"
expect_eq "$PROC_TARGET is the original again" "$TARGET: unpatched" "$(cat "$PROC_TARGET")"
expect_eq "/proc/cmdline is the original again" "$orig_cmdline" "$(cat /proc/cmdline)"
expect_ok "rmmod $V2" unload "$V2"
expect_rmmod "$TARGET"
echo "$orig_limit" >"$OOPS_LIMIT"

expect_refused klp_relocs_nosym "a symbol vmlinux does not have" \
	"symbol 'klp_rs_no_such_symbol' not found in symbol table"
# The core names vmlinux "(null)" here (klp_find_object_symbol() gets a NULL
# object name for vmlinux).
expect_refused klp_relocs_ambiguous "a name two functions of vmlinux have, without sympos" \
	"unresolvable ambiguity for symbol 'cmp_range' in object '\\(null\\)'"
expect_no_patches
expect_no_kernel_warning "no warning, bug or oops in the kernel log"
tap_end

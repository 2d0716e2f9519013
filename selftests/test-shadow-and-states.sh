#!/bin/sh
# klp-rs-test: cpus=1 cost=5
# Shadow variables and system states with our Rust test modules.
# test_klp_shadow_vars exercises the shadow variable API in its init and logs
# each call; test_klp_state (state 1, version 1) and test_klp_state2/3
# (version 2) raise console_loglevel as their system state. Proves the
# shadow variable results, the state's effect and its restoration, taking a
# state over by a cumulative patch, and the core's version rules.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

SV=test_klp_shadow_vars
S1=test_klp_state
S2=test_klp_state2
S3=test_klp_state3

# loglevel: the current console_loglevel (first field of /proc/sys/kernel/printk).
loglevel() {
	cut -f1 /proc/sys/kernel/printk
}

tap_begin "shadow variables; system states, their take-over and version rules"
cleanup_test_modules
klp_debug on

# --- shadow variables
dmesg_mark
expect_ok "insmod $SV: its init runs the whole shadow variable test" insmod "$(test_ko "$SV")"
expect_ok "rmmod $SV" rmmod "$SV"
log=$(kernel_lines_since_mark "^$SV:")
expect_eq "an empty table finds nothing: 3 + 3 + 1 expected NULL results" 7 \
	"$(printf '%s\n' "$log" | grep -c '^[a-z_]*:   got expected NULL result$')"
expect_eq "all 12 lookups of live variables found the right data" 12 \
	"$(printf '%s\n' "$log" | grep -c '^[a-z_]*:   got expected PTR[0-9]* -> PTR[0-9]* result$')"
expect_eq "the constructor ran once per new variable (6), not for existing ones" 6 \
	"$(printf '%s\n' "$log" | grep -c ': shadow_ctor: ')"
expect_eq "klp_shadow_free ran the destructor for each of the 3 variables" 3 \
	"$(printf '%s\n' "$log" | grep -c ': shadow_dtor(obj=PTR[0-9]*, shadow_data=PTR[0-9]*)$')"
expect_ok "get_or_alloc on an existing variable returned it without a new one" \
	sh -c "printf '%s\n' \"\$1\" | grep -q 'klp_shadow_get_or_alloc(obj=PTR1, id=0x1234, size=8, gfp_flags=GFP_KERNEL), ctor=PTR4, ctor_data=PTR2 = PTR3\$'" \
	- "$log"
expect_ok "klp_shadow_free_all freed the second id without a destructor" \
	sh -c "printf '%s\n' \"\$1\" | grep -q 'klp_shadow_free_all(id=0x1235, dtor=PTR0)\$'" - "$log"

# --- a system state: console_loglevel
before=$(loglevel)
dmesg_mark
expect_ok "load $S1" load_patch "$S1"
expect_eq "console_loglevel is raised to 15 (CONSOLE_LOGLEVEL_MOTORMOUTH)" 15 "$(loglevel)"
expect_ok "disable $S1" disable_patch "$S1"
expect_eq "console_loglevel is restored" "$before" "$(loglevel)"
expect_ok "rmmod $S1" unload "$S1"
expect_lines "the state was allocated, set, restored and freed in the callbacks" "$(printf '%s\n' \
	"$S1: allocate_loglevel_state: allocating space to store console_loglevel" \
	"$S1: fix_console_loglevel: fixing console_loglevel" \
	"$S1: restore_console_loglevel: restoring console_loglevel" \
	"$S1: free_loglevel_state: freeing space for the stored console_loglevel")" \
	"^$S1: [a-z_]*_(state|loglevel):"

# --- a cumulative patch takes the state over
dmesg_mark
expect_ok "load $S1 (version 1)" load_patch "$S1"
expect_ok "load $S2 (version 2) over it" load_patch "$S2"
expect_ok "the replaced $S1 leaves sysfs" wait_patch_gone "$S1"
expect_eq "console_loglevel is still 15" 15 "$(loglevel)"
expect_ok "rmmod the replaced $S1" unload "$S1"
expect_ok "disable $S2" disable_patch "$S2"
expect_eq "console_loglevel is restored to what it was before $S1" "$before" "$(loglevel)"
expect_ok "rmmod $S2" unload "$S2"
expect_lines "$S2 found the state allocated and took the change over" "$(printf '%s\n' \
	"$S1: allocate_loglevel_state: allocating space to store console_loglevel" \
	"$S1: fix_console_loglevel: fixing console_loglevel" \
	"$S2: allocate_loglevel_state: space to store console_loglevel already allocated" \
	"$S2: fix_console_loglevel: taking over the console_loglevel change" \
	"$S2: restore_console_loglevel: restoring console_loglevel" \
	"$S2: free_loglevel_state: freeing space for the stored console_loglevel")" \
	"^test_klp_state[0-9]*: [a-z_]*_(state|loglevel):"

# --- version rules
expect_ok "load $S2 (version 2)" load_patch "$S2"
expect_ok "load $S3 (same version) over it: accepted" load_patch "$S3"
expect_ok "rmmod the replaced $S2" unload "$S2"
expect_ok "load $S2 again over $S3 (same version): accepted" load_patch "$S2"
expect_ok "rmmod the replaced $S3" unload "$S3"
dmesg_mark
out=$(insmod "$(test_ko "$S1")" 2>&1)
expect_eq "$S1 (version 1) over $S2 (version 2) is refused with EINVAL" \
	"insmod: ERROR: could not insert module $(test_ko "$S1"): Invalid parameters" "$out"
expect_dmesg "the core explains why" \
	"^livepatch: Livepatch patch \\($S1\\) is not compatible with the already installed livepatches\\.$"
expect_eq "$S1 did not run any callback" "" "$(kernel_lines_since_mark "^$S1:")"
expect_eq "console_loglevel is still 15" 15 "$(loglevel)"
expect_ok "disable $S2" disable_patch "$S2"
expect_eq "console_loglevel is restored" "$before" "$(loglevel)"
expect_ok "rmmod $S2" unload "$S2"

cleanup_test_modules
tap_end

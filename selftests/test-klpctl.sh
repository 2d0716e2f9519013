#!/bin/sh
# klp-rs-test: cpus=1 cost=40
# klpctl against the real kernel: load with --wait, list --json, status,
# bad input, unload; ensure (twice), check's exit codes, --format
# prometheus, install + load --all + the crash guard.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

KLPCTL=$KLP_TOP/tools/klpctl/target/debug/klpctl
PATCH=livepatch_sample
KO=$(sample_ko "$PATCH")

# klpctl_rc ARGS...: klpctl's exit status, output kept in $out.
klpctl_rc() {
	out=$("$KLPCTL" "$@" 2>&1)
	rc=$?
	return 0
}

# klpctl_json ARGS...: the same, with only standard output in $out (the
# JSON; progress and warnings go to standard error).
klpctl_json() {
	out=$("$KLPCTL" "$@" 2>/dev/null)
	rc=$?
	return 0
}

tap_begin "klpctl: load, list, status and unload on the running kernel"
cleanup_patches
if [ ! -x "$KLPCTL" ]; then
	fail "klpctl is built" "$KLPCTL is missing (make check builds it in its host step)"
	tap_end
	exit
fi

# json_query FILTER: jq's FILTER on klpctl's JSON output (strings raw).
json_query() {
	printf '%s' "$out" | jq -r "$1" 2>&1
}

klpctl_json list --json
expect_eq "list --json with no patch loaded: no patches" 0 "$(json_query '.patches | length')"

klpctl_rc load --wait --timeout 60 "$KO"
expect_eq "load --wait $PATCH.ko exits 0" 0 "$rc"
expect_eq "after load --wait the transition is over" 0 \
	"$(sysfs_value "$KLP_SYSFS/$PATCH/transition")"
expect_eq "the patch is in effect" "this has been live patched by klp-rs" "$(cat /proc/cmdline)"

klpctl_json list --json
expect_eq "list --json shows $PATCH, enabled, with replace" "$PATCH true false true" \
	"$(json_query '.patches[0] | "\(.name) \(.enabled) \(.transition) \(.replace)"')"
expect_eq "list --json shows its patched function" "vmlinux true cmdline_proc_show 1" \
	"$(json_query '.patches[0].objects[0] | "\(.name) \(.patched) \(.functions[0].name) \(.functions[0].sympos)"')"
# stack_order: in sysfs since Linux 6.13; klpctl shows it where it is.
if kernel_at_least 6.13; then
	expect_eq "list --json shows stack_order 1 (sysfs: $(sysfs_value "$KLP_SYSFS/$PATCH/stack_order"))" 1 \
		"$(json_query '.patches[0].stack_order')"
	klpctl_rc list
	expect_eq "the list table has a STACK column, 1 for $PATCH" "STACK 1" \
		"$(printf '%s\n' "$out" | awk -F'|' '/PATCH/ { for (i = 1; i <= NF; i++) if ($i ~ /STACK/) col = i }
			/'"$PATCH"'/ && col { gsub(/ /, "", $col); print "STACK", $col; exit }')"
else
	expect_eq "list --json: no stack_order on this kernel" null \
		"$(json_query '.patches[0].stack_order')"
fi

klpctl_rc status "$PATCH"
expect_eq "status of a settled patch exits 0" 0 "$rc"
diag "$out"

klpctl_rc load "$KO"
expect_eq "loading the same patch again changes nothing (exit 0, said so)" \
	"0 $PATCH: already loaded and enabled (same build): nothing to do" "$rc $out"

klpctl_rc load /proc/cmdline
expect_eq "a file that is not a module is refused (exit 7)" 7 "$rc"
diag "$out"

klpctl_rc unload no_such_patch
expect_eq "unload of an unknown patch is refused (exit 4)" 4 "$rc"
diag "$out"

klpctl_rc unload --timeout 60 "$PATCH"
expect_eq "unload $PATCH exits 0" 0 "$rc"
expect_ok "the patch left sysfs" test ! -e "$KLP_SYSFS/$PATCH"
if module_loaded "$PATCH"; then
	fail "unload removed the module" "$(grep "^$PATCH " /proc/modules)"
else
	pass "unload removed the module"
fi
expect_eq "/proc/cmdline is no longer patched" "" \
	"$(grep -c 'live patched by klp-rs' /proc/cmdline | sed 's/^0$//')"

# Configuration management: ensure twice, the second run changes nothing.
klpctl_json ensure --json "$KO"
expect_eq "ensure --json $PATCH.ko loads it (exit 0, changed)" "0 true" "$rc $(json_query '.changed')"
expect_eq "after ensure the patch is enabled, out of transition" "1 0" \
	"$(sysfs_value "$KLP_SYSFS/$PATCH/enabled") $(sysfs_value "$KLP_SYSFS/$PATCH/transition")"
klpctl_json ensure --json "$KO"
expect_eq "a second ensure changes nothing (exit 0, changed false, unchanged)" "0 false unchanged" \
	"$rc $(json_query '.changed') $(json_query '.patches[0].action')"
klpctl_json load --json "$KO"
expect_eq "load of the loaded patch: exit 0, changed false" "0 false" "$rc $(json_query '.changed')"
klpctl_rc list --format prometheus
case $out in
*"klp_patch_enabled{patch=\"$PATCH\"} 1"*"klp_patch_transition{patch=\"$PATCH\"} 0"*"klp_patch_tasks_pending{patch=\"$PATCH\"} 0"*)
	pass "list --format prometheus: $PATCH present, enabled, no transition" ;;
*) fail "list --format prometheus: $PATCH present, enabled, no transition" "$out" ;;
esac
klpctl_rc unload --timeout 60 "$PATCH"
expect_eq "unload after ensure exits 0" 0 "$rc"
klpctl_rc unload --missing-ok "$PATCH"
expect_eq "unload --missing-ok of an unloaded patch exits 0" "0 $PATCH: not loaded, nothing to do" "$rc $out"

# Persistence: install, load --all, check, the crash guard. /var/lib may be
# the host's, read-only: a tmpfs over it then, for this test only.
varlib_mounted=
if ! mkdir -p /var/lib/klp-rs 2>/dev/null; then
	mount -t tmpfs klpctl-test /var/lib && varlib_mounted=1
fi
STORE=/var/lib/klp-rs/$(uname -r)
audit_log=$(mktemp)
out=$(KLPCTL_AUDIT_LOG=$audit_log "$KLPCTL" install "$KO" 2>&1)
rc=$?
expect_eq "install $PATCH.ko exits 0 and copies it to $STORE" "0 yes" \
	"$rc $(test -f "$STORE/$PATCH.ko" && echo yes)"
diag "$out"
case $(cat "$audit_log") in
"notice install $PATCH ("*"): ok; by uid 0 (root)"*) pass "install is in the audit log (KLPCTL_AUDIT_LOG)" ;;
*) fail "install is in the audit log (KLPCTL_AUDIT_LOG)" "$(cat "$audit_log")" ;;
esac
rm -f "$audit_log"
klpctl_rc check
expect_eq "check: installed but not loaded is exit 10" 10 "$rc"
diag "$out"
klpctl_rc load --all
expect_eq "load --all exits 0 and enables $PATCH" "0 1" "$rc $(sysfs_value "$KLP_SYSFS/$PATCH/enabled")"
diag "$out"
klpctl_rc check
expect_eq "check after load --all: exit 0" 0 "$rc"
klpctl_rc check --format prometheus
case $out in
*"klp_patch_installed{patch=\"$PATCH\"} 1"*"klp_patch_crash_guard{patch=\"$PATCH\"} 0"*)
	pass "check --format prometheus: installed, no crash guard" ;;
*) fail "check --format prometheus: installed, no crash guard" "$out" ;;
esac
klpctl_rc unload --timeout 60 "$PATCH"
# A load at a previous boot that never finished left its crash guard.
echo "load --all by pid 1" >"$STORE/.loading-$PATCH"
klpctl_rc load --all
expect_eq "load --all skips a patch with a left-over crash guard (exit 13), not loaded" "13 no" \
	"$rc $(test -e "$KLP_SYSFS/$PATCH" && echo yes || echo no)"
diag "$out"
klpctl_rc check
expect_eq "check reports the crash guard (exit 13)" 13 "$rc"
klpctl_rc load --wait "$KO"
expect_eq "an explicit load clears the crash guard" "0 no" "$rc $(test -e "$STORE/.loading-$PATCH" && echo yes || echo no)"
klpctl_rc unload --timeout 60 "$PATCH"
klpctl_rc uninstall "$PATCH"
expect_eq "uninstall exits 0 and removes the file" "0 no" "$rc $(test -e "$STORE/$PATCH.ko" && echo yes || echo no)"
klpctl_rc check
expect_eq "check with nothing installed: exit 0" 0 "$rc"
rm -rf "$STORE"
[ -z "$varlib_mounted" ] || umount /var/lib

# A stalled transition: a task sleeps in the function the demo patches.
BUSY=livepatch_callbacks_busymod
DEMO=livepatch_callbacks_demo
dmesg_mark
expect_ok "insmod $BUSY.ko block_transition=Y" insmod "$(sample_ko "$BUSY")" block_transition=Y
wait_dmesg "busymod_work_func enter" 10 || true
klpctl_rc load --wait --timeout 5 "$(sample_ko "$DEMO")"
expect_eq "load --wait --timeout 5 of $DEMO times out (exit 3) on the stalled transition" 3 "$rc"
diag "$out"
expect_eq "the timed-out patch stays loaded, in transition" 1 \
	"$(sysfs_value "$KLP_SYSFS/$DEMO/transition")"

klpctl_json status --json "$DEMO"
expect_eq "status --json: patching, with at least one task on the old state" "patching true" \
	"$(json_query '(.transition // {}) | "\(.direction) \((.pending_tasks // 0) > 0)"' | head -n 3)"
diag "$out"

klpctl_json blockers --json "$DEMO"
expect_eq "blockers --json names a task sleeping in busymod_work_func" true \
	"$(json_query '[.blockers[] | (.stack // [])[] | contains("busymod_work_func")] | any')"
klpctl_rc blockers "$DEMO"
case $out in
*busymod_work_func*) pass "blockers shows the blocking task's kernel stack" ;;
*) fail "blockers shows the blocking task's kernel stack" "$out" ;;
esac
diag "$out"

expect_ok "echo N > block_transition releases the task" \
	sh -c "echo N > /sys/module/$BUSY/parameters/block_transition"
klpctl_rc status --watch "$DEMO"
expect_eq "status --watch follows the transition to its end" 0 "$rc"
expect_eq "the transition is over" 0 "$(sysfs_value "$KLP_SYSFS/$DEMO/transition")"
klpctl_rc unload --timeout 60 "$DEMO"
expect_eq "unload $DEMO exits 0" 0 "$rc"
rmmod "$BUSY" 2>/dev/null

cleanup_patches
tap_end

#!/bin/sh
# klp-rs-test: cpus=2 cost=27 debug-cost=1200 order=last
# Stress of a system call patch: cycles of load our Rust test_klp_syscall
# (it patches getpid), wait for the transition, disable, unload, while many
# processes call getpid in a loop. Every cycle is verified: the transition
# ends with every hammering task switched, each task the patch watches calls
# the replacement (its npids count drops to 0), getpid still returns the
# right pid, and the unpatching transition ends with the module removable.
#
# KLP_STRESS_SYSCALL_CYCLES (default 5; `make check-debug` runs 30) and
# KLP_STRESS_SYSCALL_TASKS (default 4; `make check-debug` runs 8) set the size.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

CYCLES=${KLP_STRESS_SYSCALL_CYCLES:-5}
TASKS=${KLP_STRESS_SYSCALL_TASKS:-4}
LP=test_klp_syscall
HELPER=${KLP_GETPID_HELPER:-$KLP_TOP/results/upstream/test_klp-call_getpid}
NPIDS=/sys/kernel/$LP/npids
# klp_pids holds one pid per possible CPU; watch at most this many tasks.
WATCHED=4

tap_begin "syscall stress: $CYCLES cycles of getpid patched and unpatched under $TASKS tasks"
cleanup_test_modules
if [ ! -x "$HELPER" ]; then
	printf 'ok 1 - %s # SKIP no getpid helper at %s (scripts/build/upstream-selftests.sh builds it)\n' \
		"the syscall stress" "$HELPER"
	tap_count=1
	tap_end
	exit
fi

pids=
i=0
while [ "$i" -lt "$TASKS" ]; do
	"$HELPER" &
	pids="$pids $!"
	i=$((i + 1))
done
watched=$(echo "$pids" | tr ' ' '\n' | sed '/^$/d' | head -n "$WATCHED" | paste -sd, -)

# wait_npids: waits until every watched task has called the patched getpid.
wait_npids() {
	loop_until "$KLP_TRANSITION_TIMEOUT" sysfs_is "$NPIDS" 0
}

# cycle: one verified cycle; prints a reason and returns 1 at the first surprise.
cycle() {
	load_patch "$LP" "klp_pids=$watched" 2>&1 || { echo "load or transition failed"; return 1; }
	for pid in $pids; do
		[ "$(patch_state "$pid")" = -1 ] ||
			{ echo "task $pid still in a transition (patch_state $(patch_state "$pid"))"; return 1; }
	done
	wait_npids || { echo "npids stayed at $(sysfs_value "$NPIDS")"; return 1; }
	# shellcheck disable=SC2016 # expanded by the inner shell
	same=$(sh -c 'read -r pid _ </proc/self/stat; [ "$pid" = $$ ] && echo same || echo "$pid vs $$"')
	[ "$same" = same ] || { echo "getpid through the patch: $same"; return 1; }
	disable_patch "$LP" || { echo "disable did not finish"; return 1; }
	unload "$LP" 2>&1 || { echo "rmmod failed"; return 1; }
	[ ! -e "/sys/kernel/$LP" ] || { echo "/sys/kernel/$LP outlived the module"; return 1; }
}

dmesg_mark
expect_cycles "$CYCLES"

diag "$done_cycles cycles in ${seconds}s under $TASKS getpid tasks"
# shellcheck disable=SC2086 # a list of pids
expect_ok "all $TASKS getpid tasks survived every cycle" kill -0 $pids
# shellcheck disable=SC2086 # a list of pids
kill $pids
wait
patched=$(kernel_lines_since_mark "^livepatch: '$LP': patching complete\$" | wc -l)
unpatched=$(kernel_lines_since_mark "^livepatch: '$LP': unpatching complete\$" | wc -l)
expect_eq "the core completed $CYCLES patching and $CYCLES unpatching transitions" \
	"$CYCLES $CYCLES" "$patched $unpatched"
expect_eq "no live patch is left" "" "$(ls "$KLP_SYSFS")"
expect_eq "$LP is not loaded" no "$(module_loaded "$LP" && echo yes || echo no)"
expect_no_kernel_warning "the kernel logged no warning during the stress"

cleanup_test_modules
tap_end

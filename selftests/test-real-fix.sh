#!/bin/sh
# klp-rs-test: cpus=1 cost=8
# A real upstream fix, live patched in Rust (Documentation/real-fix.md):
# cgroup.kill and a process whose thread-group leader has exited alone. The
# reproducer (selftests/helpers/leaderless.c) leaves such a process in a
# cgroup; writing 1 to the parent's cgroup.kill must kill it. On the 6.12
# line (6.12.117 with the fix reverted) it survives, the SIGKILL parked on
# the zombie leader; with samples/livepatch_cgroup_kill it dies; after
# disabling the patch it survives again. On the 7.3 line, Debian's stock
# kernel has the fix: the same reproducer shows the fixed behaviour, without
# the patch (built for the 6.12 line only).
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

PATCH=livepatch_cgroup_kill
KO=$(sample_ko "$PATCH")
HELPER=$KLP_MODULES/bin/leaderless
CGROOT=/sys/fs/cgroup
# The cgroup written to, and its child the reproducer runs in (the kill
# walks the descendants).
CG=$CGROOT/klp_real_fix
CHILD=$CG/child
# A threaded cgroup, where cgroup.kill is refused.
THREADED_PARENT=$CGROOT/klp_real_fix_threaded
THREADED=$THREADED_PARENT/t
pid=

# proc_field FIELD: the first word of FIELD in the reproducer leader's
# /proc/PID/status (empty once the process is reaped).
proc_field() {
	sed -n "s/^$1:[[:space:]]*\([^[:space:]]*\).*/\1/p" "/proc/$pid/status" 2>/dev/null
}

# live_threads: how many threads of the reproducer other than its leader
# are alive (neither zombie nor dead).
live_threads() {
	live=0
	for task in /proc/"$pid"/task/*; do
		[ "${task##*/}" != "$pid" ] || continue
		case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "$task/status" 2>/dev/null) in
		'' | Z | X) ;;
		*) live=$((live + 1)) ;;
		esac
	done
	echo "$live"
}

# populated: 1 if a live task is in $CG or below, 0 if none (cgroup.events).
populated() {
	sed -n 's/^populated //p' "$CG/cgroup.events"
}

cgroup_empty() {
	[ "$(populated)" = 0 ]
}

leader_exited_alone() {
	[ "$(proc_field State)" = Z ] && [ "$(live_threads)" = 1 ]
}

# state: one line on the reproducer, for the TAP output.
state() {
	if [ ! -d "/proc/$pid" ]; then
		printf 'pid %s: gone (exited, reaped); %s populated %s\n' "$pid" \
			"${CG#"$CGROOT"/}" "$(populated)"
		return
	fi
	printf 'pid %s: leader State %s, its own pending signals (SigPnd) %s; live threads %s; %s populated %s\n' \
		"$pid" "$(proc_field State)" "$(proc_field SigPnd)" "$(live_threads)" \
		"${CG#"$CGROOT"/}" "$(populated)"
}

# start_reproducer DESC: runs the reproducer in $CHILD and waits until its
# leader has exited and its thread lives on.
start_reproducer() {
	"$HELPER" "$CHILD" >/dev/null &
	pid=$!
	if loop_until 10 leader_exited_alone; then
		pass "$1: the reproducer's leader exited alone, a thread lives on in ${CHILD#"$CGROOT"/}"
	else
		fail "$1: the reproducer's leader exited alone, a thread lives on in ${CHILD#"$CGROOT"/}" \
			"$(state)"
	fi
}

# reap EXPECTED DESC: waits for the reproducer; its wait status is EXPECTED.
reap() {
	wait "$pid"
	expect_eq "$2" "$1" "$?"
	pid=
}

# expect_bug DESC: the process survives cgroup.kill.
expect_bug() {
	start_reproducer "$1"
	expect_ok "$1: echo 1 > ${CG#"$CGROOT"/}/cgroup.kill" sh -c "echo 1 >$CG/cgroup.kill"
	# The kill is synchronous; the threads it reached die at once.
	loop_until 2 cgroup_empty
	diag "$(state)"
	expect_eq "$1: BUG: the process survives cgroup.kill (a live thread, the cgroup populated)" \
		"1 1" "$(live_threads) $(populated)"
	expect_eq "$1: BUG: the SIGKILL sits in the zombie leader's own pending set (SigPnd)" \
		0000000000000100 "$(proc_field SigPnd)"
	kill -KILL "$pid"
	reap 137 "$1: kill -KILL PID (to the thread group) still kills it"
}

# expect_fixed DESC: cgroup.kill kills the process.
expect_fixed() {
	start_reproducer "$1"
	expect_ok "$1: echo 1 > ${CG#"$CGROOT"/}/cgroup.kill" sh -c "echo 1 >$CG/cgroup.kill"
	expect_ok "$1: FIXED: the cgroup is empty (populated 0)" loop_until 10 cgroup_empty
	diag "$(state)"
	expect_eq "$1: FIXED: no thread of the process is alive" 0 "$(live_threads)"
	reap 137 "$1: FIXED: the process died of SIGKILL (wait status 137)"
}

# write_error FILE TEXT: writes TEXT to FILE with coreutils' echo, which
# names the write's errno (the shell's own echo says "I/O error" for any);
# prints the error message, or "ok".
write_error() {
	if out=$(env echo "$2" 2>&1 >"$1"); then
		echo ok
	else
		printf '%s\n' "$out" | sed 's/^.*write error: //'
	fi
}

# expect_refusals DESC: the write handler's other answers, patched or not.
expect_refusals() {
	expect_eq "$1: cgroup.kill refuses 2 (ERANGE)" "Numerical result out of range" \
		"$(write_error "$CG/cgroup.kill" 2)"
	expect_eq "$1: cgroup.kill refuses 'x' (EINVAL)" "Invalid argument" \
		"$(write_error "$CG/cgroup.kill" x)"
	expect_eq "$1: cgroup.kill takes ' 1 ' (spaces trimmed) on an empty cgroup" ok \
		"$(write_error "$CG/cgroup.kill" ' 1 ')"
	expect_eq "$1: cgroup.kill of a threaded cgroup is refused (EOPNOTSUPP)" \
		"Operation not supported" "$(write_error "$THREADED/cgroup.kill" 1)"
}

cgroups_removed() {
	[ ! -d "$CG" ] && [ ! -d "$THREADED_PARENT" ]
}

cleanup() {
	[ -z "$pid" ] || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
	pid=
	for dir in "$THREADED" "$THREADED_PARENT" "$CHILD" "$CG"; do
		[ ! -d "$dir" ] || rmdir "$dir"
	done
}

tap_begin "a real fix live patched in Rust: cgroup.kill and an exited thread-group leader"
cleanup_patches
unload_modules "$PATCH"
mounted=
if [ ! -f "$CGROOT/cgroup.controllers" ]; then
	mount -t cgroup2 cgroup2 "$CGROOT" && mounted=y
fi
cleanup
expect_ok "the reproducer is built (${HELPER#"$KLP_TOP"/})" test -x "$HELPER"
expect_ok "mkdir ${CG#"$CGROOT"/} and ${CHILD#"$CGROOT"/} (cgroup v2)" mkdir "$CG" "$CHILD"
expect_ok "a threaded cgroup ${THREADED#"$CGROOT"/}" \
	sh -c "mkdir $THREADED_PARENT $THREADED && echo threaded >$THREADED/cgroup.type"
dmesg_mark

if kernel_at_least 6.13; then
	diag "$(uname -r): a kernel with the fix (the 7.3 line: Debian's stock kernel); $PATCH is for the 6.12 line's kernel"
	expect_fixed "unpatched $(uname -r)"
	expect_refusals "unpatched $(uname -r)"
	expect_no_patches
else
	diag "$(uname -r): 6.12.117 with the fix reverted (scripts/kernel/reverts/6.12)"
	expect_bug "unpatched"

	expect_ok "$PATCH.ko is built for this kernel (${KO#"$KLP_TOP"/})" test -f "$KO"
	expect_insmod "$PATCH"
	expect_ok "the transition to the patched state completes" wait_transition "$PATCH"
	expect_ok "$PATCH replaces cgroup_kill_write" \
		test -d "$KLP_SYSFS/$PATCH/vmlinux/cgroup_kill_write,1"
	expect_fixed "patched"
	expect_refusals "patched"

	expect_ok "echo 0 > $PATCH/enabled" sh -c "echo 0 >$KLP_SYSFS/$PATCH/enabled"
	expect_ok "the unpatching transition completes" wait_patch_gone "$PATCH"
	expect_bug "after disable"
	expect_ok "rmmod $PATCH" unload "$PATCH"
fi

expect_no_kernel_warning "no warning in the kernel log"
cleanup
expect_ok "the test's cgroups are removed" cgroups_removed
[ -z "$mounted" ] || umount "$CGROOT"
tap_end

#!/bin/sh
# klp-rs-test: cpus=2 cost=45 debug-cost=3000
# Stress: cycles of load v1, replace by v2, replace by v3, disable, unload,
# while reader processes keep calling the patched functions. Every cycle is
# verified, and every output a reader saw must be one a patch state explains.
#
# KLP_STRESS_CYCLES (default 5; `make check-debug` runs 100) and
# KLP_STRESS_READERS (default 4) set the size. Readers read with the shell's
# own `read` and pause half a second between reads: under the emulator a
# process start costs about 0.1 s of a debug guest's time, and readers that
# started `cat` twice and `sleep 0.02` for each read made a cycle of the 6.12
# debug guest take 30 s instead of 8 s without readers; with these, 18 s,
# and 1.6 times as many reads a cycle.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

CYCLES=${KLP_STRESS_CYCLES:-5}
READERS=${KLP_STRESS_READERS:-4}
SERIES=$KLP_MODULES/samples/livepatch_cumulative
V1=livepatch_cumulative_v1
V2=livepatch_cumulative_v2
V3=livepatch_cumulative_v3
work=$(mktemp -d)

tap_begin "stress: $CYCLES cycles of v1 -> v2 -> v3 -> disable -> unload under $READERS readers"
cleanup_patches
original_cmdline=$(cat /proc/cmdline)
original_version=$(cat /proc/version)

# reader N: reads both files until $work/stop exists, keeping every output
# that no patch state explains, and counting its reads.
reader() {
	n=0
	while [ ! -e "$work/stop" ]; do
		IFS= read -r c </proc/cmdline
		case $c in
		"$original_cmdline" | "cumulative v1: patched /proc/cmdline" | \
			"cumulative v2: patched /proc/cmdline" | \
			"cumulative v3: patched /proc/cmdline, read "*" times") ;;
		*) printf 'cmdline: %s\n' "$c" >>"$work/unexpected.$1" ;;
		esac
		IFS= read -r v </proc/version
		case $v in
		"$original_version" | "cumulative v1: patched /proc/version") ;;
		*) printf 'version: %s\n' "$v" >>"$work/unexpected.$1" ;;
		esac
		n=$((n + 1))
		sleep 0.5
	done
	echo "$n" >"$work/reads.$1"
}

i=0
while [ "$i" -lt "$READERS" ]; do
	i=$((i + 1))
	reader "$i" &
done

# step PATCH: loads PATCH and waits for its transition; prints what failed.
step() {
	insmod "$SERIES/$1.ko" 2>&1 || return 1
	wait_transition "$1" || { echo "$1: transition did not finish"; return 1; }
}

# cycle: one full cycle; prints a reason and returns 1 at the first surprise.
cycle() {
	step "$V1" || return 1
	[ "$(cat /proc/version)" = "cumulative v1: patched /proc/version" ] ||
		{ echo "v1 not in effect"; return 1; }
	step "$V2" || return 1
	wait_patch_gone "$V1" || { echo "v1 was not removed"; return 1; }
	rmmod "$V1" 2>&1 || return 1
	[ "$(cat /proc/version)" = "$original_version" ] ||
		{ echo "version_proc_show not reverted by the NOP"; return 1; }
	step "$V3" || return 1
	wait_patch_gone "$V2" || { echo "v2 was not removed"; return 1; }
	rmmod "$V2" 2>&1 || return 1
	case $(cat /proc/cmdline) in
	"cumulative v3: patched /proc/cmdline, read "*) ;;
	*) echo "v3 not in effect"; return 1 ;;
	esac
	disable_patch "$V3" || { echo "v3 could not be disabled"; return 1; }
	rmmod "$V3" 2>&1 || return 1
	[ "$(cat /proc/cmdline)" = "$original_cmdline" ] ||
		{ echo "cmdline_proc_show not restored"; return 1; }
}

dmesg_mark
expect_cycles "$CYCLES"
touch "$work/stop"
wait

diag "$done_cycles cycles in ${seconds}s"
reads=$(cat "$work"/reads.* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
if [ "$reads" -gt 0 ]; then
	pass "the $READERS readers kept reading the patched files ($reads reads of each)"
else
	fail "the $READERS readers kept reading the patched files" "no reads were counted"
fi
if cat "$work"/unexpected.* >/dev/null 2>&1; then
	fail "no reader saw an output that no patch state explains" \
		"$(cat "$work"/unexpected.* | sort | uniq -c | head -n 10)"
else
	pass "no reader saw an output that no patch state explains"
fi
expect_eq "no live patch is left" "" "$(ls "$KLP_SYSFS")"
left=$(grep -E "^($V1|$V2|$V3) " /proc/modules)
expect_eq "no series module is left loaded" "" "$left"
expect_eq "/proc/cmdline is the original" "$original_cmdline" "$(cat /proc/cmdline)"
expect_no_kernel_warning "the kernel logged no warning during the stress"

rm -rf "$work"
cleanup_patches
tap_end

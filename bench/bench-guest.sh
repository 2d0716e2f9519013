#!/bin/sh
# The guest side of `make bench`: runs inside the test VM, as root.
#
#   bench/bench-guest.sh RESULTS_DIR C_SAMPLES
#
# Loads klp_bench_target and the klp_bench harness, then measures, C live
# patch against Rust live patch, always in alternating order:
#   calls        cost of one call of klp_bench_target_fn(): unpatched,
#                patched, and while a transition is held open by a task
#                asleep in a patched function
#   transition   enable -> transition 0 with N sleeping / N busy kthreads,
#                with CPU 1 offline (see one_cpu), and with N sleeping
#                kthreads on both CPUs for one N
#   replace      the same (one CPU) when the patch atomically replaces one
#                of K functions (K NOP entries); also the K-function patch
#   footprint    /proc/modules size and insmod wall time of each sample and
#                benchmark live patch module next to its C counterpart
# scripts/bench.sh runs footprint in a VM whose clocks follow the host, and
# calls, transition and replace in one whose clocks count instructions
# (KLP_BENCH_CLOCK=icount, see scripts/vm/run.sh's KLP_VM_ICOUNT): there a
# guest ns is one instruction, so a call's cost is in instructions, and a
# time in the guest is the same from one run to the next, so fewer
# repetitions are needed.
# Every sample goes to RESULTS_DIR/raw.csv, one line each:
#   section,metric,variant,param,rep,value,unit
# Times of a transition come from the kernel log's printk timestamps: a
# marker written to /dev/kmsg just before insmod, the core's "enabling patch"
# line and its "patching complete" line. C_SAMPLES is the directory of the
# kernel's own sample live patches (livepatch-sample.ko, ...), the C
# counterparts of the samples.
#
# KLP_BENCH_QUICK=1 runs a short version (fewer repetitions, N <= 100, K <= 10);
# KLP_BENCH_PARTS (e.g. "calls footprint"), KLP_BENCH_NS and KLP_BENCH_KS pick
# parts and values, and KLP_BENCH_DYNDBG=1 logs the core's debug lines, for
# development.
set -u
results=$1
csamples=$2
KLP_TOP=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
export KLP_TOP
# shellcheck source=../selftests/lib.sh
. "$KLP_TOP/selftests/lib.sh"
bench=$KLP_MODULES/bench
dbg=/sys/kernel/debug/klp_bench
raw=$results/raw.csv

if [ "${KLP_BENCH_QUICK:-0}" = 1 ]; then
	call_rounds=2 call_runs=2 call_iters=20000 call_reps=8
	trans_ns="10 100" trans_reps=1 trans2_n=100 trans2_reps=1
	replace_ks="1 10" replace_reps=1
	load_reps=2
else
	call_rounds=4 call_runs=4 call_iters=20000 call_reps=16
	trans_ns="10 100 1000" trans_reps=11 trans2_n=100 trans2_reps=3
	replace_ks="1 10 100" replace_reps=7
	load_reps=3
	# On the instruction clock the one-CPU latencies repeat to within 0.5%;
	# the 2-CPU one, the core's 1 s retry, to within a few %.
	if [ "${KLP_BENCH_CLOCK:-wall}" = icount ]; then
		trans_reps=5 trans2_reps=5 replace_reps=3
	fi
fi
# The unit of the call cost: on the instruction clock (KLP_VM_ICOUNT=0) a
# guest ns is one executed instruction, so the same loop counts instructions.
# A call then costs the same number every time, so short loops and few of
# them do: only an interrupt adds to a loop, and loops of 2000 calls (up to
# 0.2M instructions; a tick comes every 4M at HZ=250) are seldom hit (none of
# 32 on 6.12, up to 5 of 32 on Debian's 7.3), which leaves the median exact.
# Two rounds still alternate which patch comes first; the runs 0.2 s apart
# were for the host's moments.
call_unit=ns
if [ "${KLP_BENCH_CLOCK:-wall}" = icount ]; then
	call_unit=insns call_iters=2000 call_runs=1
	call_rounds=2
fi
# For development: other N and K than the defaults.
trans_ns=${KLP_BENCH_NS:-$trans_ns}
replace_ks=${KLP_BENCH_KS:-$replace_ks}
# When, within a second, a timed insmod starts on 2 CPUs (see timed_load).
align_ms=300
align=$align_ms

say() {
	echo "klp-bench: $*"
}

# record SECTION METRIC VARIANT PARAM REP VALUE UNIT
record() {
	printf '%s,%s,%s,%s,%s,%s,%s\n' "$@" >>"$raw"
}

# orders ROUND: the two variants, C first in odd rounds, Rust first in even ones.
orders() {
	if [ $(($1 % 2)) = 1 ]; then echo "c rs"; else echo "rs c"; fi
}

# unload_patch NAME: disables live patch NAME if it is still there, waits for
# it to go, and removes its module (the guest library's unload, which waits
# for the core to let go of it: it does so asynchronously).
unload_patch() {
	if [ -d "$KLP_SYSFS/$1" ]; then
		wait_transition "$1" || say "warning: $1: transition still running"
		echo 0 >"$KLP_SYSFS/$1/enabled" 2>/dev/null
		wait_patch_gone "$1" || say "warning: $1 did not go away"
	fi
	module_loaded "$1" || return 0
	unload "$1" 2>/dev/null || { say "warning: cannot remove $1"; return 1; }
}

# load NAME KO: loads a live patch and waits until its transition is over.
load() {
	insmod "$2" || { say "error: insmod $2 failed"; return 1; }
	wait_transition "$1" || say "warning: $1: transition not over after ${KLP_TRANSITION_TIMEOUT}s"
}

mark_count=0
# timed_load NAME KO: loads live patch NAME after a marker line in the kernel
# log, and waits until its transition is over. With $align set (2 CPUs), the
# insmod starts $align ms past a whole second of jiffies: the core retries an
# unfinished transition on whole seconds (round_jiffies()), so without this
# the latency would jump by up to a second at random.
timed_load() {
	mark_count=$((mark_count + 1))
	mark="klp_bench: mark $mark_count:"
	[ -z "$align" ] || echo "$align" >"$dbg/align"
	echo "$mark" >/dev/kmsg
	load "$1" "$2"
}

# record_times SECTION VARIANT PARAM REP NAME: records, for the last
# timed_load of NAME, from the kernel log's timestamps:
#   insmod_to_enable_ms    marker before insmod -> "enabling patch" (module
#                          load and init: where C and Rust modules differ)
#   enable_to_complete_ms  "enabling patch" -> "patching complete"
#   insmod_to_complete_ms  the sum: insmod -> transition 0
record_times() {
	# shellcheck disable=SC2016 # awk's $0
	times=$(dmesg | awk -v mark="$mark" -v name="$5" '
		function ts(line) {
			sub(/^\[ */, "", line)
			sub(/\].*/, "", line)
			return line + 0
		}
		!m && substr($0, length($0) - length(mark) + 1) == mark { m = ts($0); next }
		m && !e && index($0, "enabling patch '\''" name "'\''") { e = ts($0) }
		m && e && !c && index($0, "'\''" name "'\'': patching complete") { c = ts($0) }
		END {
			if (m && e && c)
				printf "%.3f %.3f %.3f\n", (e - m) * 1000, (c - e) * 1000, (c - m) * 1000
		}')
	if [ -z "$times" ]; then
		say "warning: no enable/complete log lines for $5"
		return 1
	fi
	# shellcheck disable=SC2086 # three numbers
	set -- "$1" "$2" "$3" "$4" $times
	record "$1" insmod_to_enable_ms "$2" "$3" "$4" "$5" ms
	record "$1" enable_to_complete_ms "$2" "$3" "$4" "$6" ms
	record "$1" insmod_to_complete_ms "$2" "$3" "$4" "$7" ms
}

# measure_enable SECTION VARIANT PARAM REP NAME KO: timed_load, record_times.
measure_enable() {
	timed_load "$5" "$6" && record_times "$1" "$2" "$3" "$4" "$5"
}

# one_cpu / all_cpus: takes CPU 1 offline, and back. With one CPU online, the
# core's first attempt, right in klp_enable_patch(), can check every task
# (none is running elsewhere, and an offline CPU's idle task counts as
# switched), so a transition's latency is the core's own work over N tasks
# instead of its 1 s retry period. Without the attempt succeeding, the idle
# task or a busy task running on the other CPU makes it wait for the retry.
one_cpu() {
	echo 0 >/sys/devices/system/cpu/cpu1/online 2>/dev/null ||
		say "warning: cannot take CPU 1 offline"
	align=
}
all_cpus() {
	echo 1 >/sys/devices/system/cpu/cpu1/online 2>/dev/null
	align=$align_ms
}

# place_lag on|off: the scheduler's PLACE_LAG feature, off while latencies
# are measured. With it, a kworker woken while busy kthreads (SCHED_IDLE)
# wait keeps the lag it had when it last slept; if it owes time it is not
# eligible, and a busy kthread runs instead until the next tick. The core
# waits for such a kworker when a transition completes
# (klp_synchronize_transition() -> schedule_on_each_cpu()), so 0, 4 or 8 ms
# were added at random to a 10 ms figure, and now and then a retry 0.4 s
# later, whichever patch was loaded (Documentation/bench/method.md).
# Without it, a woken task starts at the queue's average and runs first.
place_lag() {
	features=/sys/kernel/debug/sched/features
	if [ "$1" = on ]; then set -- PLACE_LAG; else set -- NO_PLACE_LAG; fi
	echo "$1" >"$features" 2>/dev/null || say "warning: cannot set $1 in $features"
}

# calls VARIANT ROUND: $call_runs `calls` runs, 0.2 s apart (so that one
# moment of the shared host does not weigh on all samples). Records, for each
# repetition, the cost of one call of klp_bench_target_fn() ($call_unit, see
# above: *_per_call), of the never patched klp_bench_ref_fn() run right next
# to it (ref_*_per_call), and their quotient (relative_cost), which on the
# host's clock divides out how fast the emulated CPU was running at the
# time; and what klp_bench_target_fn(0) returned (returns: 1 original,
# 2 patched).
# (sh has no local variables: the names here are the function's own.)
calls() {
	calls_run=1
	while [ "$calls_run" -le "$call_runs" ]; do
		[ "$calls_run" = 1 ] || sleep 0.2
		calls_once "$1" "$2.$calls_run" || return 1
		calls_run=$((calls_run + 1))
	done
}

# calls_once VARIANT REP_PREFIX: one `calls` run, recorded as above.
calls_once() {
	echo "$call_iters $call_reps" >"$dbg/calls" || return 1
	read -r calls_ret calls_ps <"$dbg/calls"
	record calls returns "$1" - "$2" "$calls_ret" value
	# shellcheck disable=SC2086 # pairs of numbers
	set -- "$1" "$2" $calls_ps
	calls_variant=$1 calls_prefix=$2
	shift 2
	calls_i=0
	while [ $# -ge 2 ]; do
		calls_i=$((calls_i + 1))
		awk -v ref="$1" -v ps="$2" -v v="$calls_variant" -v rep="$calls_prefix.$calls_i" \
			-v u="$call_unit" 'BEGIN {
			printf "calls,%s_per_call,%s,-,%s,%.3f,%s\n", u, v, rep, ps / 1000, u
			printf "calls,ref_%s_per_call,%s,-,%s,%.3f,%s\n", u, v, rep, ref / 1000, u
			printf "calls,relative_cost,%s,-,%s,%.4f,x\n", v, rep, ps / ref
		}' >>"$raw"
		shift 2
	done
	say "calls $calls_variant ($calls_prefix): returns $calls_ret"
}

# bench_calls: on the instruction clock, with CPU 1 offline: the clock counts
# the instructions of both vCPUs (QEMU runs them in turn in one thread), so
# the other CPU's ticks and kworkers would be counted into the loop.
bench_calls() {
	say "patched-call cost: $call_rounds rounds of $call_runs x $call_reps x $call_iters calls per variant ($call_unit)"
	[ "$call_unit" != insns ] || one_cpu
	round=1
	while [ "$round" -le "$call_rounds" ]; do
		calls unpatched "$round"
		for v in $(orders "$round"); do
			load "klp_bench_patch_$v" "$bench/klp_bench_patch_$v.ko" &&
				calls "patched_$v" "$round"
			unload_patch "klp_bench_patch_$v"
		done
		for v in $(orders "$round"); do
			echo 1 >"$dbg/blocker" || say "warning: the blocker thread did not block"
			insmod "$bench/klp_bench_patch_$v.ko"
			sleep 0.2
			if [ "$(sysfs_value "$KLP_SYSFS/klp_bench_patch_$v/transition")" = 1 ]; then
				calls "transition_$v" "$round"
			else
				say "warning: klp_bench_patch_$v: no transition to measure in"
			fi
			echo 0 >"$dbg/blocker"
			unload_patch "klp_bench_patch_$v"
		done
		round=$((round + 1))
	done
	[ "$call_unit" != insns ] || all_cpus
}

# transition_runs SECTION KIND NS REPS: for each N, REPS times C and Rust:
# start N tasks of KIND, load the patch (timed), stop the tasks, record,
# unload. The tasks are gone before the records and the unload, so that
# the driver's own work does not wait behind them.
transition_runs() {
	for n in $3; do
		say "$1: enable -> transition 0 with $n $2 tasks ($4 reps)"
		rep=1
		while [ "$rep" -le "$4" ]; do
			for v in $(orders "$rep"); do
				echo "$2 $n" >"$dbg/tasks" || { say "error: cannot start $n tasks"; continue; }
				timed_load "klp_bench_patch_$v" "$bench/klp_bench_patch_$v.ko"
				echo stop >"$dbg/tasks"
				record_times "$1" "$v" "$n" "$rep" "klp_bench_patch_$v"
				unload_patch "klp_bench_patch_$v"
			done
			rep=$((rep + 1))
		done
	done
}

bench_transition() {
	place_lag off
	one_cpu
	transition_runs transition_sleep sleep "$trans_ns" "$trans_reps"
	transition_runs transition_busy busy "$trans_ns" "$trans_reps"
	all_cpus
	# The same on both CPUs, for one N: there the latency is mostly the
	# core's retry period.
	transition_runs transition2_sleep sleep "$trans2_n" "$trans2_reps"
	place_lag on
}

bench_replace() {
	place_lag off
	one_cpu
	for k in $replace_ks; do
		say "atomic replace of a $k-function patch ($replace_reps reps)"
		rep=1
		while [ "$rep" -le "$replace_reps" ]; do
			for v in $(orders "$rep"); do
				measure_enable patch_k "$v" "$k" "$rep" \
					"klp_bench_k${k}_$v" "$bench/klp_bench_k${k}_$v.ko"
				patched=$(cat "$dbg/nops")
				[ "$patched" = "$k" ] || say "warning: $k-function patch: $patched functions patched"
				measure_enable replace "$v" "$k" "$rep" \
					"klp_bench_patch_$v" "$bench/klp_bench_patch_$v.ko"
				patched=$(cat "$dbg/nops")
				[ "$patched" = 0 ] || say "warning: after the replace, $patched functions still patched"
				unload_patch "klp_bench_patch_$v"
				unload_patch "klp_bench_k${k}_$v"
			done
			rep=$((rep + 1))
		done
	done
	all_cpus
	place_lag on
}

# The modules whose size and load time are measured: "LABEL VARIANT NAME KO",
# for the first repetition; the later ones time only the two main pairs
# (the sizes do not change).
footprint_modules() {
	s=$KLP_MODULES/samples
	cat <<EOF_MODULES
livepatch_sample rs livepatch_sample $s/livepatch_sample/livepatch_sample.ko
livepatch_sample c livepatch_sample $csamples/livepatch-sample.ko
klp_bench_patch rs klp_bench_patch_rs $bench/klp_bench_patch_rs.ko
klp_bench_patch c klp_bench_patch_c $bench/klp_bench_patch_c.ko
EOF_MODULES
	[ "$1" = 1 ] || return 0
	cat <<EOF_MODULES
livepatch_cumulative_v1 rs livepatch_cumulative_v1 $s/livepatch_cumulative/livepatch_cumulative_v1.ko
livepatch_cumulative_v2 rs livepatch_cumulative_v2 $s/livepatch_cumulative/livepatch_cumulative_v2.ko
livepatch_cumulative_v3 rs livepatch_cumulative_v3 $s/livepatch_cumulative/livepatch_cumulative_v3.ko
livepatch_callbacks_demo c livepatch_callbacks_demo $csamples/livepatch-callbacks-demo.ko
EOF_MODULES
	for k in $replace_ks; do
		printf 'klp_bench_k%s rs klp_bench_k%s_rs %s\n' "$k" "$k" "$bench/klp_bench_k${k}_rs.ko"
		printf 'klp_bench_k%s c klp_bench_k%s_c %s\n' "$k" "$k" "$bench/klp_bench_k${k}_c.ko"
	done
}

bench_footprint() {
	say "footprint: /proc/modules size and insmod time ($load_reps reps)"
	rep=1
	while [ "$rep" -le "$load_reps" ]; do
		footprint_modules "$rep" | while read -r label v name ko; do
			[ -f "$ko" ] || { say "warning: $ko is missing"; continue; }
			if [ "$rep" = 1 ]; then
				# shellcheck disable=SC2046 # text, data, bss
				set -- $(size "$ko" | awk 'NR == 2 { print $1, $2, $3 }')
				record footprint ko_text_bytes "$v" "$label" - "$1" bytes
				record footprint ko_data_bytes "$v" "$label" - "$2" bytes
				record footprint ko_bss_bytes "$v" "$label" - "$3" bytes
			fi
			start=$(date +%s%N)
			insmod "$ko" || { say "error: insmod $ko failed"; continue; }
			end=$(date +%s%N)
			record footprint insmod_ms "$v" "$label" "$rep" \
				"$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e6 }')" ms
			record footprint resident_bytes "$v" "$label" "$rep" \
				"$(awk -v name="$name" '$1 == name { print $2 }' /proc/modules)" bytes
			unload_patch "$name"
		done
		rep=$((rep + 1))
	done
}

# The whole run is one function, called on the last line: sh reads a script
# as it runs it, so an edit of this file during a run cannot break the run.
main() {
	grep -q ' /sys/kernel/debug ' /proc/mounts ||
		mount -t debugfs debugfs /sys/kernel/debug
	# The driver runs as a real-time task, so that N busy kthreads do not
	# starve it (they do compete with the livepatch core's work, which is the
	# point).
	chrt -f -p 10 $$ >/dev/null || say "warning: cannot make the driver real-time"
	KLP_TRANSITION_TIMEOUT=300
	# For development: the core's debug lines (which task blocked a transition).
	[ "${KLP_BENCH_DYNDBG:-0}" = 0 ] ||
		echo 'file kernel/livepatch/* +p' >/proc/dynamic_debug/control

	say "guest kernel $(uname -r), $(nproc) CPUs, ${KLP_BENCH_CLOCK:-wall} clock, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "section,metric,variant,param,rep,value,unit" >"$raw"
	if ! insmod "$bench/klp_bench_target.ko" || ! insmod "$bench/klp_bench.ko"; then
		say "error: cannot load the benchmark modules"
		exit 1
	fi
	cleanup_patches
	start=$(date +%s)
	for part in ${KLP_BENCH_PARTS:-calls transition replace footprint}; do
		part_start=$(date +%s)
		"bench_$part"
		say "$part took $(($(date +%s) - part_start)) s"
	done
	say "all measurements took $(($(date +%s) - start)) s"
	cleanup_patches
	rmmod klp_bench klp_bench_target
	dmesg >"$results/dmesg.log"
	date >"$results/guest-finished"
}

main "$@"

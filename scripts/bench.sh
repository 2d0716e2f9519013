#!/bin/sh
# `make bench`: measure the Rust live patches against equivalent C ones in the
# test VM, and write the results into Documentation/bench/.
#
#   scripts/bench.sh
#
# Builds (or reuses) the test kernel, the modules of samples/ and bench/, and
# boots the VM twice to run bench/bench-guest.sh:
#   wall     patched-call cost and footprint, on clocks that follow the host
#            (the call cost is taken relative to a twin loop run right next
#            to it, which divides out the emulator's speed)
#   icount   transition and replace latency, on clocks that count guest
#            instructions (scripts/vm/run.sh's KLP_VM_ICOUNT): a latency of
#            a few ms is then the same from one run to the next, instead of
#            following the speed of the emulator, which moved it by up to
#            50% between two runs (Documentation/bench/method.md)
# then turns the samples into Documentation/bench/results.csv, results.md and
# latency.png with bench/report.py (Debian's python3-matplotlib, installed
# here if missing). Raw samples and the guests' logs stay in
# results/bench/{wall,icount}/.
#
# Not part of `make check`: the numbers come from an emulated (TCG) VM on a
# shared machine, so they are reported, not judged. KLP_BENCH_QUICK=1 runs a
# short version for development (results/bench/ only, Documentation/ is left
# alone unless KLP_BENCH_OUT says where to write); KLP_BENCH_PARTS,
# KLP_BENCH_NS, KLP_BENCH_KS and KLP_BENCH_DYNDBG are for development (see
# bench/bench-guest.sh), and KLP_BENCH_LATENCY_CLOCK=wall measures the
# latencies on the host's clock too, for comparison.
set -eu
export KLP_LOG_TAG=bench
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/common.sh"

start=$(date +%s)
results=$KLP_TOP/results/bench
quick=${KLP_BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
	out=${KLP_BENCH_OUT:-$results/report}
else
	out=${KLP_BENCH_OUT:-$KLP_TOP/Documentation/bench}
fi
python=/usr/bin/python3

# ensure_matplotlib: Debian's python3-matplotlib, for the plot. Only the plot
# needs it: without it the tables are still written.
ensure_matplotlib() {
	if "$python" -c 'import matplotlib' 2>/dev/null; then
		return
	fi
	log "installing Debian's python3-matplotlib (for the latency plot)"
	if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends python3-matplotlib >"$results/apt.log" 2>&1; then
		as_root apt-get update -q >>"$results/apt.log" 2>&1 || true
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends python3-matplotlib >>"$results/apt.log" 2>&1 ||
			log "warning: could not install python3-matplotlib (see $results/apt.log); no plot"
	fi
}

# sample_load FILE: appends the host's 1-minute load average to FILE every 10 s.
sample_load() {
	while :; do
		cut -d' ' -f1 /proc/loadavg >>"$1"
		sleep 10
	done
}

rm -rf "$results"
mkdir -p "$results"

log "step 1/5: toolchain"
"$KLP_TOP/scripts/setup/toolchain.sh"
ensure_matplotlib

log "step 2/5: test kernel, samples and benchmark modules"
# The bench runs on the 6.12 test kernel, whose tree also has the C samples
# it compares with.
modules=$("$KLP_TOP/scripts/build/modules.sh" 6.12)
line_setup 6.12
kdir=$line_kdir
log "make M=build/6.12/bench"
line_make M="$modules/bench" -j"$(($(nproc) + 1))" >"$results/build.log" 2>&1 ||
	{ tail -n 30 "$results/build.log" >&2; die "building bench/ failed (log: $results/build.log)"; }

parts=${KLP_BENCH_PARTS:-calls transition replace footprint}
latency_clock=${KLP_BENCH_LATENCY_CLOCK:-icount}
wall_parts=''
icount_parts=''
for part in $parts; do
	case $part in
	transition | replace) [ "$latency_clock" = wall ] || {
		icount_parts="$icount_parts $part"
		continue
	} ;;
	esac
	wall_parts="$wall_parts $part"
done

# bench_vm CLOCK PARTS: one boot of the VM running PARTS of
# bench/bench-guest.sh on CLOCK (wall or icount), into $results/CLOCK/.
bench_vm() {
	dir=$results/$1
	mkdir -p "$dir"
	log "VM $1: measuring$2 (host load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
	sample_load "$dir/host-load.txt" &
	sampler=$!
	# shellcheck disable=SC2016 # the quotes are for the guest's shell; $... expand here
	env KLP_VM_NAME="bench-$1" KLP_VM_TIMEOUT="${KLP_VM_TIMEOUT:-1500}" \
		KLP_VM_ICOUNT="$([ "$1" = icount ] && echo 0)" "$KLP_TOP/scripts/vm/run.sh" 6.12 "$dir" \
		"KLP_MODULES='$modules' KLP_BENCH_CLOCK=$1 KLP_BENCH_QUICK=$quick KLP_BENCH_PARTS='$2'" \
		"${KLP_BENCH_NS:+KLP_BENCH_NS='$KLP_BENCH_NS'} ${KLP_BENCH_KS:+KLP_BENCH_KS='$KLP_BENCH_KS'}" \
		"${KLP_BENCH_DYNDBG:+KLP_BENCH_DYNDBG='$KLP_BENCH_DYNDBG'}" \
		"sh '$KLP_TOP/bench/bench-guest.sh' '$dir' '$kdir'"
	kill "$sampler" 2>/dev/null || true
	[ -f "$dir/guest-finished" ] ||
		die "the $1 VM did not finish the benchmark; console log: $dir/console.log"
}

trap 'kill "$sampler" 2>/dev/null || true' EXIT
sampler=
log "step 3/5: measuring in the VM: on the host's clock:${wall_parts:- nothing}; on the instruction clock:${icount_parts:- nothing}"
[ -z "$wall_parts" ] || bench_vm wall "$wall_parts"
[ -z "$icount_parts" ] || bench_vm icount "$icount_parts"

log "step 4/5: report into $out"
mkdir -p "$out"
"$python" "$KLP_TOP/bench/report.py" --results "$results" --wall-seconds $(($(date +%s) - start)) \
	--quick "$quick" --out "$out"

log "step 5/5: done in $(elapsed "$start"): $out/results.md"

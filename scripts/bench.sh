#!/bin/sh
# `make bench`: measure the Rust live patches against equivalent C ones in the
# test VM of each kernel line, and write the results into Documentation/bench/.
#
#   scripts/bench.sh            (make bench; make bench LINES=7.3 for one line)
#
# The lines are $KLP_LINES (scripts/common.sh; default "6.12 7.3"). For each,
# it builds (or reuses) the line's kernel and modules (scripts/build/modules.sh),
# the modules of bench/ in build/LINE/bench, and has the kernel's C sample
# live patches the footprint compares with (c_samples); then it boots the
# line's kernel twice to run bench/bench-guest.sh:
#   wall     footprint: module sizes and insmod times, on clocks that follow
#            the host (loading a module waits for the host to read it over
#            9p, which only the host's clock measures)
#   icount   patched-call cost, transition and replace latency, on clocks
#            that count guest instructions (scripts/vm/run.sh's
#            KLP_VM_ICOUNT): a call then costs a number of instructions, and
#            a latency of a few ms is the same from one run to the next,
#            instead of following the speed of the emulator, which moved it
#            by up to 50% between two runs (Documentation/bench/method.md)
# then turns the samples of every line into Documentation/bench/results.csv,
# results.md and latency.png with bench/report.py (Debian's
# python3-matplotlib, installed here if missing). Raw samples and the guests'
# logs stay in results/bench/LINE/{wall,icount}/.
#
# Not part of `make check`: the numbers come from an emulated (TCG) VM on a
# shared machine, so they are reported, not judged. KLP_BENCH_QUICK=1 runs a
# short version for development (results/bench/report/ only, Documentation/
# is left alone unless KLP_BENCH_OUT says where to write); KLP_BENCH_PARTS,
# KLP_BENCH_NS, KLP_BENCH_KS and KLP_BENCH_DYNDBG are for development (see
# bench/bench-guest.sh), and KLP_BENCH_CALLS_CLOCK=wall and
# KLP_BENCH_LATENCY_CLOCK=wall measure the call cost or the latencies on the
# host's clock, for comparison.
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
parts=${KLP_BENCH_PARTS:-calls transition replace footprint}

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

# part_clock PART: the guest clock PART of bench/bench-guest.sh is measured
# on. The footprint's insmod times include the host's 9p reads, which only
# the host's clock sees as they are; everything else is guest work, counted
# in instructions unless asked otherwise.
part_clock() {
	case $1 in
	footprint) echo wall ;;
	calls) echo "${KLP_BENCH_CALLS_CLOCK:-icount}" ;;
	*) echo "${KLP_BENCH_LATENCY_CLOCK:-icount}" ;;
	esac
}

# clock_parts CLOCK: the parts of $parts measured on CLOCK, in their order.
clock_parts() {
	for part in $parts; do
		[ "$(part_clock "$part")" != "$1" ] || printf ' %s' "$part"
	done
}

# build_bench LINE DIR: the modules of bench/ for the line set up last, in
# build/LINE/bench (copied there by scripts/build/modules.sh); log in DIR.
build_bench() {
	log "$1: make M=build/$1/bench"
	line_make M="$line_build/bench" -j"$(($(nproc) + 1))" >"$2/build.log" 2>&1 ||
		{ tail -n 30 "$2/build.log" >&2; die "$1: building bench/ failed (log: $2/build.log)"; }
}

# c_samples DIR: prints the directory of the kernel's C sample live patches
# (samples/livepatch/*.ko) for the line set up last. The 6.12 test kernel's
# tree has them built; for another line they are built from its kernel
# source, as any external module, in a private copy in DIR/c-samples (the
# kernel tree stays untouched).
c_samples() {
	if [ -f "$line_kdir/samples/livepatch/livepatch-sample.ko" ]; then
		printf '%s\n' "$line_kdir/samples/livepatch"
		return
	fi
	src=$line_src/samples/livepatch
	[ -f "$src/livepatch-sample.c" ] || die "$src: no C livepatch samples in this kernel's source"
	dir=$1/c-samples
	mkdir -p "$dir"
	cp "$src"/*.c "$dir/"
	# shellcheck disable=SC2016 # make's $(...)
	echo 'obj-m += $(patsubst %.c,%.o,$(notdir $(wildcard $(src)/*.c)))' >"$dir/Kbuild"
	log "building the kernel's C livepatch samples for $line_release"
	line_make M="$dir" -j"$(($(nproc) + 1))" modules >"$1/c-samples.log" 2>&1 ||
		{ tail -n 30 "$1/c-samples.log" >&2; die "building the C samples failed (log: $1/c-samples.log)"; }
	printf '%s\n' "$dir"
}

# bench_vm LINE CLOCK PARTS: one boot of LINE's kernel running PARTS of
# bench/bench-guest.sh on CLOCK (wall or icount), into $line_results/CLOCK/.
bench_vm() {
	dir=$line_results/$2
	mkdir -p "$dir"
	log "$1: VM $2: measuring$3 (host load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
	sample_load "$dir/host-load.txt" &
	sampler=$!
	# shellcheck disable=SC2016 # the quotes are for the guest's shell; $... expand here
	env KLP_VM_NAME="bench-$1-$2" KLP_VM_TIMEOUT="${KLP_VM_TIMEOUT:-3600}" \
		KLP_VM_ICOUNT="$([ "$2" = icount ] && echo 0)" "$KLP_TOP/scripts/vm/run.sh" "$1" "$dir" \
		"KLP_MODULES='$line_build' KLP_BENCH_CLOCK=$2 KLP_BENCH_QUICK=$quick KLP_BENCH_PARTS='$3'" \
		"${KLP_BENCH_NS:+KLP_BENCH_NS='$KLP_BENCH_NS'} ${KLP_BENCH_KS:+KLP_BENCH_KS='$KLP_BENCH_KS'}" \
		"${KLP_BENCH_DYNDBG:+KLP_BENCH_DYNDBG='$KLP_BENCH_DYNDBG'}" \
		"sh '$KLP_TOP/bench/bench-guest.sh' '$dir' '$csamples'"
	kill "$sampler" 2>/dev/null || true
	sampler=
	[ -f "$dir/guest-finished" ] ||
		die "$1: the $2 VM did not finish the benchmark; console log: $dir/console.log"
}

# bench_line LINE: builds for LINE and measures it, into results/bench/LINE/.
bench_line() {
	line_start=$(date +%s)
	line_results=$results/$1
	mkdir -p "$line_results"
	log "$1: kernel, samples and benchmark modules"
	"$KLP_TOP/scripts/build/modules.sh" "$1" >/dev/null
	line_setup "$1"
	build_bench "$1" "$line_results"
	csamples=$(c_samples "$line_results")
	wall_parts=$(clock_parts wall)
	icount_parts=$(clock_parts icount)
	log "$1: on the host's clock:${wall_parts:- nothing}; on the instruction clock:${icount_parts:- nothing}"
	[ -z "$wall_parts" ] || bench_vm "$1" wall "$wall_parts"
	[ -z "$icount_parts" ] || bench_vm "$1" icount "$icount_parts"
	echo $(($(date +%s) - line_start)) >"$line_results/seconds"
	log "$1: measured in $(elapsed "$line_start")"
}

rm -rf "$results"
mkdir -p "$results"
sampler=
trap '[ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true' EXIT

log "toolchain"
"$KLP_TOP/scripts/setup/toolchain.sh"
ensure_matplotlib

for line in $KLP_LINES; do
	bench_line "$line"
done

log "report into $out"
mkdir -p "$out"
"$python" "$KLP_TOP/bench/report.py" --results "$results" --wall-seconds $(($(date +%s) - start)) \
	--quick "$quick" --out "$out"

log "done in $(elapsed "$start"): $out/results.md"

#!/bin/sh
# Runs selftest scripts inside the test VM and leaves their results for the host.
#
#   scripts/vm/guest-runner.sh RESULTS_DIR ENTRY...
#   scripts/vm/guest-runner.sh RESULTS_DIR @LIST_FILE
#
# The second form reads the entries from LIST_FILE, one per line: the guest's
# command travels on the kernel command line, which holds 2048 bytes on x86.
# An ENTRY is one of:
#   path/to/test-foo.sh        one of our scripts, run with sh; it prints TAP
#   upstream:FLAVOUR:DIR       every test-*.sh of the kernel's livepatch
#                              selftests staged in DIR (scripts/build/upstream-selftests.sh),
#                              run unchanged with bash from DIR, each as
#                              upstream-FLAVOUR-test-foo (see upstream-tap.sh)
#   upstream:FLAVOUR:DIR/test-foo.sh
#                              just that one of them
#   modules:DIR                before the tests: make DIR/$(uname -r) (a
#                              staged module tree) the guest's
#                              /lib/modules/$(uname -r), for modprobe and for
#                              the upstream scripts' check of .../build
#
# For each script, RESULTS_DIR gets NAME.tap (its TAP output; the console
# gets its counts) and NAME.rc (its exit status, 124 if it timed out). At the end
# the whole kernel log goes to dmesg.log and the file guest-finished is
# written: its absence tells the host the guest died before finishing.
set -u
results=$1
shift
KLP_TOP=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
export KLP_TOP
# The tests write their results here (selftests/lib.sh: KLP_KNOWN_BUG_LOG).
KLP_RESULTS=$results
export KLP_RESULTS
# Settings the host passes on (see scripts/check.sh): KLP_* variables.
if [ -f "$results/guest.env" ]; then
	set -a
	# shellcheck disable=SC1091 # written by the host at run time
	. "$results/guest.env"
	set +a
fi
: "${KLP_TEST_TIMEOUT:=600}"

# Under TCG a dynamically linked program costs ~80 ms to start, a static
# one ~15 ms, and the scripts start thousands of small tools: run the common
# ones as applets of busybox-static from a tmpfs at the front of PATH.
# Module tools (insmod, rmmod, modprobe) stay kmod's, as on a real system.
use_busybox_tools() {
	busybox=$(command -v busybox) || return 0
	bin=/tmp/klp-rs-tools
	mkdir -p "$bin" && cp "$busybox" "$bin/busybox" || return 0
	for tool in awk basename cat cut dirname dmesg env expr find grep head \
		id ls mkdir mktemp nproc paste readlink rm sed seq sleep sort stat \
		tail tee touch tr uname uniq wc xargs yes; do
		ln -sf busybox "$bin/$tool"
	done
	PATH=$bin:$PATH
	export PATH
}
[ "${KLP_GUEST_BUSYBOX:-1}" = 1 ] && use_busybox_tools

# The guest library: cleanup_test_modules between the kernel's scripts, and
# the kmemleak scan at the end.
# shellcheck source=selftests/lib.sh
. "$KLP_TOP/selftests/lib.sh"

grep -q ' /sys/kernel/debug ' /proc/mounts ||
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true

# install_modules DIR: /lib/modules/$(uname -r) -> DIR, on a tmpfs over
# /lib/modules (the root file system is the host's, read-only).
install_modules() {
	release=$(uname -r)
	tree=$1/$release
	if [ ! -d "$tree" ]; then
		echo "klp-rs: no module tree for $release at $1"
		return
	fi
	if [ "$(readlink -f "/lib/modules/$release")" != "$(readlink -f "$tree")" ]; then
		mkdir -p /lib/modules 2>/dev/null
		mount -t tmpfs -o mode=0755 klp-rs-modules /lib/modules &&
			ln -s "$tree" "/lib/modules/$release" ||
			echo "klp-rs: could not set up /lib/modules/$release"
	fi
	echo "klp-rs: /lib/modules/$release -> $(readlink -f "/lib/modules/$release")"
}

# busy: the CPU time the guest's CPUs have spent busy since boot, in
# hundredths of a second (/proc/stat: user, nice, system, irq, softirq).
# Under the emulator it ranks the scripts by what they cost the host, but
# is not the host's CPU time: the guest's clock is the host's, and runs on
# while QEMU waits for a host core (a script took 25 s busy alone, 80 s
# beside 7 other guests), or while QEMU's one TCG thread runs the other vCPU.
busy() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

# report NAME START BUSY: the one-line summary of a script started at START
# (date +%s) when the CPUs' busy time was BUSY.
report() {
	echo "klp-rs: $1: $(grep -c '^ok ' "$results/$1.tap") ok," \
		"$(grep -c '^not ok ' "$results/$1.tap") not ok" \
		"(exit $(cat "$results/$1.rc"), $(($(date +%s) - $2)) s, $((($(busy) - $3) / 100)) s busy)"
}

# run_upstream FLAVOUR DIR|SCRIPT: the kernel's scripts, from their
# directory, as they are.
run_upstream() {
	if [ -d "$2" ]; then
		dir=$2
		set -- "$1" "$2"/test-*.sh
	else
		dir=$(dirname "$2")
	fi
	flavour=$1
	shift
	for script in "$@"; do
		[ -f "$script" ] || continue
		base=$(basename "$script")
		name=upstream-$flavour-${base%.sh}
		echo "klp-rs: running $name"
		start=$(date +%s)
		busy_start=$(busy)
		(cd "$dir" && timeout -k 5 "$KLP_TEST_TIMEOUT" bash "./$base") \
			>"$results/$name.out" 2>"$results/$name.stderr"
		echo $? >"$results/$name.rc"
		sh "$KLP_TOP/scripts/tap/upstream-tap.sh" "$base ($flavour test modules)" \
			"$results/$name.out" "$results/$name.stderr" "$(cat "$results/$name.rc")" \
			>"$results/$name.tap"
		report "$name" "$start" "$busy_start"
		# A failed script leaves its modules behind; the next one must not
		# fail for that ("File exists").
		(cleanup_test_modules) >/dev/null 2>&1
	done
}

# run_test SCRIPT LIMIT: one of our test scripts, for LIMIT seconds if that
# is longer than KLP_TEST_TIMEOUT.
run_test() {
	name=$(basename "$1" .sh)
	echo "klp-rs: running $name"
	start=$(date +%s)
	busy_start=$(busy)
	limit=$KLP_TEST_TIMEOUT
	[ "$2" -le "$limit" ] || limit=$2
	timeout -k 5 "$limit" sh "$1" >"$results/$name.tap" 2>"$results/$name.stderr"
	echo $? >"$results/$name.rc"
	report "$name" "$start" "$busy_start"
}

if [ $# -eq 1 ] && [ "${1#@}" != "$1" ]; then
	list=${1#@}
	# shellcheck disable=SC2046 # one entry per line, entries have no spaces
	set -- $(cat "$list")
fi

echo "klp-rs: guest kernel $(uname -r), $(nproc) CPUs, testing in $KLP_TOP"
for entry in "$@"; do
	case $entry in
	modules:*)
		install_modules "${entry#modules:}"
		;;
	upstream:*:*)
		rest=${entry#upstream:}
		run_upstream "${rest%%:*}" "${rest#*:}"
		;;
	limit:*:*)
		# A longer time limit from the script's header (timeout=SECONDS).
		rest=${entry#limit:}
		run_test "${rest#*:}" "${rest%%:*}"
		;;
	*)
		run_test "$entry" 0
		;;
	esac
done
# On a kernel with kmemleak (make check-debug), a last scan for leaks. The
# leaks by design of the shadow sample (see kmemleak_split) go to their own
# file: they may surface in any later scan. So do those of the known kernel
# bug, if a test met it (known-kernel-bug.log): the host judges them.
if [ -w "$KLP_KMEMLEAK" ]; then
	echo "klp-rs: scanning for memory leaks (kmemleak)"
	kmemleak_suspects >"$results/kmemleak-all.log"
	kmemleak_split by-design <"$results/kmemleak-all.log" >"$results/kmemleak-by-design.log"
	if [ -s "$KLP_KNOWN_BUG_LOG" ]; then
		kmemleak_split kernel-bug <"$results/kmemleak-all.log" >"$results/kmemleak-kernel-bug.log"
		kmemleak_split other <"$results/kmemleak-all.log" >"$results/kmemleak.log"
	else
		kmemleak_split unexpected <"$results/kmemleak-all.log" >"$results/kmemleak.log"
	fi
	echo "klp-rs: kmemleak: $(kmemleak_count <"$results/kmemleak.log") leak(s)," \
		"$(kmemleak_count <"$results/kmemleak-by-design.log") by design"
fi
dmesg >"$results/dmesg.log"
date >"$results/guest-finished"

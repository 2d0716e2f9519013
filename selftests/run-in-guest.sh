#!/bin/sh
# Runs selftest scripts inside the test VM and leaves their results for the host.
#
#   selftests/run-in-guest.sh RESULTS_DIR TEST_SCRIPT...
#
# For each script, RESULTS_DIR gets NAME.tap (its TAP output; the console
# gets its counts) and NAME.rc (its exit status, 124 if it timed out). At the end
# the whole kernel log goes to dmesg.log and the file guest-finished is
# written: its absence tells the host the guest died before finishing.
set -u
results=$1
shift
KLP_TOP=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
export KLP_TOP
# Settings the host passes on (see scripts/check.sh): KLP_* variables.
if [ -f "$results/guest.env" ]; then
	set -a
	# shellcheck disable=SC1091 # written by the host at run time
	. "$results/guest.env"
	set +a
fi
: "${KLP_TEST_TIMEOUT:=600}"

grep -q ' /sys/kernel/debug ' /proc/mounts ||
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true

echo "klp-rs: guest kernel $(uname -r), $(nproc) CPUs, testing in $KLP_TOP"
for test in "$@"; do
	name=$(basename "$test" .sh)
	echo "klp-rs: running $name"
	start=$(date +%s)
	timeout -k 5 "$KLP_TEST_TIMEOUT" sh "$test" >"$results/$name.tap" 2>"$results/$name.stderr"
	echo $? >"$results/$name.rc"
	echo "klp-rs: $name: $(grep -c '^ok ' "$results/$name.tap") ok," \
		"$(grep -c '^not ok ' "$results/$name.tap") not ok" \
		"(exit $(cat "$results/$name.rc"), $(($(date +%s) - start)) s)"
done
# On a kernel with kmemleak (make check-debug), a last scan for leaks.
kmemleak=/sys/kernel/debug/kmemleak
if [ -w "$kmemleak" ]; then
	echo "klp-rs: scanning for memory leaks (kmemleak)"
	echo scan >"$kmemleak" && sleep 6 && echo scan >"$kmemleak"
	cat "$kmemleak" >"$results/kmemleak.log"
fi
dmesg >"$results/dmesg.log"
date >"$results/guest-finished"

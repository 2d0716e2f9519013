#!/bin/sh
# Judge a test run from the results the guest left, print them as KTAP, and
# end with the line `N passed, N failed[, N skipped]`.
#
#   scripts/tap-summary.sh RESULTS_DIR TEST_SCRIPT...
#
# Counts the test cases (ok / not ok lines) of every script's TAP. A script
# that wrote nothing, stopped before its plan, or exited non-zero without a
# failing case counts one more failure; so does a guest that did not finish.
# The guest kernel's log counts as one more case (no WARN, BUG, lockdep or
# KASAN report), and kmemleak's report, when the guest left one, as another.
# Exits 1 if anything failed or nothing was reported at all.
set -eu
export KLP_LOG_TAG=results
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/common.sh"

[ $# -ge 2 ] || die "usage: $0 RESULTS_DIR TEST_SCRIPT..."
results=$1
shift
passed=0
failed=0
KERNEL_REPORTS='Kernel panic|BUG:|WARNING:|Oops|general protection fault|possible circular locking|inconsistent lock state|possible recursive locking|suspicious RCU usage|KASAN|UBSAN'
extra=2
[ ! -f "$results/kmemleak.log" ] || extra=3
skipped=0
index=0

printf 'KTAP version 1\n1..%d\n' $(($# + extra))
for test in "$@"; do
	index=$((index + 1))
	name=$(basename "$test" .sh)
	tap=$results/$name.tap
	rc=$(cat "$results/$name.rc" 2>/dev/null || echo none)
	if [ ! -s "$tap" ]; then
		printf '# %s reported nothing (exit status %s)\n' "$name" "$rc"
		[ ! -s "$results/$name.stderr" ] || sed 's/^/# stderr: /' "$results/$name.stderr"
		printf 'not ok %d %s\n' "$index" "$name"
		failed=$((failed + 1))
		continue
	fi
	sed 's/^/    /' "$tap"
	ok=$(grep -E '^ok [0-9]+' "$tap" | grep -vc '# SKIP' || true)
	skip=$(grep -E '^ok [0-9]+' "$tap" | grep -c '# SKIP' || true)
	bad=$(grep -Ec '^not ok [0-9]+' "$tap" || true)
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | tail -n 1)
	broken=
	if [ "$plan" != $((ok + skip + bad)) ]; then
		broken="stopped early: plan '${plan:-none}', $((ok + skip + bad)) cases seen"
	elif [ "$rc" != 0 ] && [ "$bad" -eq 0 ]; then
		broken="exited with status $rc"
	fi
	if [ -n "$broken" ]; then
		printf '# %s %s\n' "$name" "$broken"
		[ ! -s "$results/$name.stderr" ] || sed 's/^/# stderr: /' "$results/$name.stderr"
		bad=$((bad + 1))
	fi
	passed=$((passed + ok))
	skipped=$((skipped + skip))
	failed=$((failed + bad))
	if [ "$bad" -eq 0 ]; then
		printf 'ok %d %s\n' "$index" "$name"
	else
		printf 'not ok %d %s\n' "$index" "$name"
	fi
done

index=$((index + 1))
if [ -f "$results/guest-finished" ]; then
	printf 'ok %d guest finished\n' "$index"
else
	printf '# the guest never finished the run: see %s/console.log\n' "$results"
	printf 'not ok %d guest finished\n' "$index"
	failed=$((failed + 1))
fi

# The guest kernel's own verdict: no warning, bug, lockdep or KASAN report
# in its log, and (on a kernel with kmemleak) no leak.
index=$((index + 1))
reports=$(grep -E "$KERNEL_REPORTS" "$results/console.log" 2>/dev/null | head -n 5)
if [ -z "$reports" ]; then
	printf 'ok %d guest kernel log has no WARN/BUG/Oops/lockdep/KASAN report\n' "$index"
	passed=$((passed + 1))
else
	printf '# the guest kernel reported problems (full log: %s/console.log):\n' "$results"
	grep -E -m 3 -A 12 "$KERNEL_REPORTS" "$results/console.log" | sed 's/^/#   /'
	printf 'not ok %d guest kernel log has no WARN/BUG/Oops/lockdep/KASAN report\n' "$index"
	failed=$((failed + 1))
fi
if [ -f "$results/kmemleak.log" ]; then
	index=$((index + 1))
	if grep -q 'unreferenced object' "$results/kmemleak.log"; then
		printf '# kmemleak found leaks:\n'
		head -n 30 "$results/kmemleak.log" | sed 's/^/#   /'
		printf 'not ok %d kmemleak found no leak\n' "$index"
		failed=$((failed + 1))
	else
		printf 'ok %d kmemleak found no leak\n' "$index"
		passed=$((passed + 1))
	fi
fi

summary="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || summary="$summary, $skipped skipped"
printf '%s\n' "$summary"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]

#!/bin/sh
# Judge a test run from the results the guest left, print them as KTAP, and
# end with the line `N passed, N failed[, N skipped]`.
#
#   scripts/tap-summary.sh RESULTS_DIR TEST_SCRIPT...
#
# Counts the test cases (ok / not ok lines) of every script's TAP. A script
# that wrote nothing, stopped before its plan, or exited non-zero without a
# failing case counts one more failure; so does a guest that did not finish.
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
skipped=0
index=0

printf 'KTAP version 1\n1..%d\n' $(($# + 1))
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
for pattern in 'Kernel panic' 'BUG:' 'WARNING:' 'Oops'; do
	if grep -q "$pattern" "$results/console.log" 2>/dev/null; then
		printf '# guest console has "%s":\n' "$pattern"
		grep -m 5 -A 5 "$pattern" "$results/console.log" | sed 's/^/#   /'
	fi
done

summary="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || summary="$summary, $skipped skipped"
printf '%s\n' "$summary"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]

#!/bin/sh
# Judge a test run from the results the guest left, print them as KTAP, and
# end with the line `N passed, N failed[, N skipped]`.
#
#   scripts/tap/summary.sh RESULTS_DIR NAME...
#
# Counts the test cases (ok / not ok lines) of every script's TAP: NAME's,
# found in RESULTS_DIR (host tests) or in a guest's RESULTS_DIR/vm-*/, or,
# for a NAME of the form LINE/SCRIPT, in RESULTS_DIR/LINE or its guests'
# RESULTS_DIR/LINE/vm-*/. A script
# that wrote nothing, stopped before its plan, or exited non-zero without a
# failing case counts one more failure; so does a guest that did not finish.
# Each guest's kernel log counts as one more case (no WARN, BUG, lockdep or
# KASAN report), and kmemleak's report, when the guest left one, as another.
# A case marked TODO (`not ok N - ... # TODO reason`: a known bug outside
# klp-rs, selftests/lib.sh) counts neither as passed nor as failed; so do a
# guest's kernel log and kmemleak report whose only problems are the known
# kernel bug's that its tests recorded (known-kernel-bug.log). The last line
# then says how many (`, N todo`).
# Exits 1 if anything failed or nothing was reported at all.
set -eu
export KLP_LOG_TAG=results
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

[ $# -ge 2 ] || die "usage: $0 RESULTS_DIR TEST_SCRIPT..."
results=$1
shift
passed=0
failed=0
todo=0
KERNEL_REPORTS='Kernel panic|BUG:|WARNING:|Oops|general protection fault|possible circular locking|inconsistent lock state|possible recursive locking|suspicious RCU usage|KASAN|UBSAN'
# The guests: RESULTS_DIR[/LINE]/vm-*/, or RESULTS_DIR itself for a single
# guest; only those that had something to run.
guests=$(find "$results" -mindepth 1 -maxdepth 2 -type d -name 'vm-*' | sort |
	while read -r dir; do
		if [ ! -f "$dir/entries.list" ] || [ -s "$dir/entries.list" ]; then echo "$dir"; fi
	done)
[ -n "$guests" ] || [ ! -f "$results/console.log" ] || guests=$results
extra=0
for guest in $guests; do
	extra=$((extra + 2))
	[ ! -f "$guest/kmemleak.log" ] || extra=$((extra + 1))
done
# KLP_NO_GUEST_OK=1: no guest was to run (only host tests were named).
[ -n "$guests" ] || [ "${KLP_NO_GUEST_OK:-0}" = 1 ] || extra=1

# result_dir NAME: the directory that holds NAME's results (NAME without
# its LINE/ part).
result_dir() {
	case $1 in
	*/*) top=$results/${1%/*} ;;
	*) top=$results ;;
	esac
	for dir in "$top" "$top"/vm-*; do
		if [ -e "$dir/${1##*/}.tap" ] || [ -e "$dir/${1##*/}.rc" ]; then
			printf '%s\n' "$dir"
			return
		fi
	done
	printf '%s\n' "$top"
}
skipped=0
index=0

printf 'KTAP version 1\n1..%d\n' $(($# + extra))
for test in "$@"; do
	index=$((index + 1))
	name=${test%.sh}
	dir=$(result_dir "$name")
	name=${name##*/}
	tap=$dir/$name.tap
	rc=$(cat "$dir/$name.rc" 2>/dev/null || echo none)
	if [ ! -s "$tap" ]; then
		printf '# %s reported nothing (exit status %s)\n' "$test" "$rc"
		[ ! -s "$dir/$name.stderr" ] || sed 's/^/# stderr: /' "$dir/$name.stderr"
		printf 'not ok %d %s\n' "$index" "$test"
		failed=$((failed + 1))
		continue
	fi
	sed 's/^/    /' "$tap"
	ok=$(grep -E '^ok [0-9]+' "$tap" | grep -vc '# SKIP' || true)
	skip=$(grep -E '^ok [0-9]+' "$tap" | grep -c '# SKIP' || true)
	known=$(grep -E '^not ok [0-9]+' "$tap" | grep -c '# TODO' || true)
	bad=$(grep -E '^not ok [0-9]+' "$tap" | grep -vc '# TODO' || true)
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | tail -n 1)
	broken=
	if [ "$plan" != $((ok + skip + known + bad)) ]; then
		broken="stopped early: plan '${plan:-none}', $((ok + skip + known + bad)) cases seen"
	elif [ "$rc" != 0 ] && [ "$bad" -eq 0 ]; then
		broken="exited with status $rc"
	fi
	if [ -n "$broken" ]; then
		printf '# %s %s\n' "$name" "$broken"
		[ ! -s "$dir/$name.stderr" ] || sed 's/^/# stderr: /' "$dir/$name.stderr"
		bad=$((bad + 1))
	fi
	passed=$((passed + ok))
	skipped=$((skipped + skip))
	todo=$((todo + known))
	failed=$((failed + bad))
	if [ "$bad" -eq 0 ]; then
		printf 'ok %d %s\n' "$index" "$test"
	else
		printf 'not ok %d %s\n' "$index" "$test"
	fi
done

# unknown_reports DIR: of the problem reports on stdin (guest DIR's kernel
# log), those that are not the warnings of the known kernel bug its tests
# recorded, each once.
unknown_reports() {
	awk -v known="$1/known-kernel-bug.log" '
		BEGIN { while ((getline line < known) > 0) if (line != "") k[++n] = line }
		{
			for (i = 1; i <= n; i++)
				if (k[i] != "" && index($0, k[i])) { k[i] = ""; next }
			print
		}'
}

# judge_guest DIR LABEL: the cases of one guest: it finished, its kernel log
# has no warning, bug, lockdep or KASAN report, and (on a kernel with
# kmemleak) no leak; reports and leaks of the known kernel bug its tests
# recorded make these cases TODO.
judge_guest() {
	index=$((index + 1))
	if [ -f "$1/guest-finished" ]; then
		printf 'ok %d %s finished\n' "$index" "$2"
		passed=$((passed + 1))
	else
		printf '# the %s never finished the run: see %s/console.log\n' "$2" "$1"
		printf 'not ok %d %s finished\n' "$index" "$2"
		failed=$((failed + 1))
	fi
	index=$((index + 1))
	what="$2 kernel log has no WARN/BUG/Oops/lockdep/KASAN report"
	bug_warnings=$(grep -c . "$1/known-kernel-bug.log" 2>/dev/null || true)
	all_reports=$(grep -E "$KERNEL_REPORTS" "$1/console.log" 2>/dev/null || true)
	reports=$(printf '%s\n' "$all_reports" | unknown_reports "$1" | head -n 5)
	if [ -f "$1/console.log" ] && [ -z "$reports" ] && [ "${bug_warnings:-0}" -gt 0 ] &&
		[ -n "$all_reports" ]; then
		printf 'not ok %d %s # TODO the known kernel bug (Documentation/testing.md, "A kernel bug")\n' \
			"$index" "$what"
		sed 's/^/#   /' "$1/known-kernel-bug.log"
		todo=$((todo + 1))
	elif [ -f "$1/console.log" ] && [ -z "$reports" ]; then
		printf 'ok %d %s\n' "$index" "$what"
		passed=$((passed + 1))
	else
		printf '# the %s kernel reported problems (full log: %s/console.log):\n' "$2" "$1"
		grep -E -m 3 -A 12 "$KERNEL_REPORTS" "$1/console.log" 2>/dev/null | sed 's/^/#   /'
		printf 'not ok %d %s\n' "$index" "$what"
		failed=$((failed + 1))
	fi
	if [ -f "$1/kmemleak.log" ]; then
		index=$((index + 1))
		bug_leaks=$(grep -c '^unreferenced object' "$1/kmemleak-kernel-bug.log" 2>/dev/null || true)
		if grep -q 'unreferenced object' "$1/kmemleak.log" ||
			[ "${bug_leaks:-0}" -gt $((3 * ${bug_warnings:-0})) ]; then
			printf '# kmemleak found leaks in the %s:\n' "$2"
			cat "$1/kmemleak.log" "$1/kmemleak-kernel-bug.log" 2>/dev/null | head -n 30 | sed 's/^/#   /'
			printf 'not ok %d kmemleak found no leak in the %s\n' "$index" "$2"
			failed=$((failed + 1))
		elif [ "${bug_leaks:-0}" -gt 0 ]; then
			printf 'not ok %d kmemleak found no leak in the %s # TODO %s leak(s) of the known kernel bug\n' \
				"$index" "$2" "$bug_leaks"
			todo=$((todo + 1))
		else
			printf 'ok %d kmemleak found no leak in the %s\n' "$index" "$2"
			passed=$((passed + 1))
		fi
	fi
}

if [ -z "$guests" ] && [ "${KLP_NO_GUEST_OK:-0}" != 1 ]; then
	index=$((index + 1))
	printf '# no guest ran: %s has no vm-*/console.log\n' "$results"
	printf 'not ok %d a guest ran\n' "$index"
	failed=$((failed + 1))
fi
for guest in $guests; do
	label=guest
	[ "$guest" = "$results" ] || label="guest ${guest#"$results"/}"
	judge_guest "$guest" "$label"
done

summary="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || summary="$summary, $skipped skipped"
[ "$todo" -eq 0 ] || summary="$summary, $todo todo"
printf '%s\n' "$summary"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]

#!/bin/sh
# Print the kernel's livepatch selftests' results side by side: each upstream
# script against our Rust test modules and against the C originals.
#
#   scripts/tap/upstream-summary.sh RESULTS_DIR
#
# Reads RESULTS_DIR[/vm-*]/upstream-{rust,c}-test-*.tap (see scripts/tap/upstream-tap.sh);
# prints nothing if neither flavour ran. Counting and judging stay with
# tap-summary.sh: this is only the comparison.
set -eu
export KLP_LOG_TAG=upstream
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

[ $# -eq 1 ] || die "usage: $0 RESULTS_DIR"
results=$1

# counts FILE: "passed/cases", "skip" marks, or "-" if the file is missing.
counts() {
	if [ ! -s "$1" ]; then
		printf -- '-'
		return
	fi
	ok=$(grep -E '^ok [0-9]+' "$1" | grep -vc '# SKIP' || true)
	skip=$(grep -E '^ok [0-9]+' "$1" | grep -c '# SKIP' || true)
	total=$(grep -Ec '^(not )?ok [0-9]+' "$1" || true)
	printf '%s/%s' "$ok" "$total"
	[ "$skip" -eq 0 ] || printf ' (%s skipped)' "$skip"
}

# tap NAME: the path of NAME's TAP file, wherever a guest left it.
tap() {
	find "$results" -maxdepth 2 -name "$1.tap" | head -n 1
}

scripts=$(find "$results" -maxdepth 2 -name 'upstream-*-test-*.tap' 2>/dev/null |
	sed 's:.*/upstream-[a-z]*-\(test-.*\)\.tap$:\1:' | sort -u)
[ -n "$scripts" ] || exit 0

printf '%-28s %-16s %s\n' "upstream script" "Rust modules" "C modules"
for script in $scripts; do
	printf '%-28s %-16s %s\n' "$script.sh" \
		"$(counts "$(tap "upstream-rust-$script")")" \
		"$(counts "$(tap "upstream-c-$script")")"
done

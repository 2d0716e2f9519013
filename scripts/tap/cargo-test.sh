#!/bin/sh
# Run a cargo crate's tests on the host and record them as TAP, so that
# `make check` counts them with the guest's results.
#
#   scripts/tap/cargo-test.sh CRATE_DIR RESULTS_DIR NAME
#
# Writes RESULTS_DIR/NAME.tap (one case per `test ... ok|FAILED|ignored`
# line), NAME.rc (cargo's exit status) and NAME.log (cargo's whole output).
set -eu
export KLP_LOG_TAG=cargo
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

[ $# -eq 3 ] || die "usage: $0 CRATE_DIR RESULTS_DIR NAME"
crate=$1
out=$2/$3
cargo=$(command -v cargo || echo /usr/bin/cargo)

log "cargo test in $crate (the first run downloads and builds its dependencies)"
rc=0
(cd "$crate" && "$cargo" test --locked 2>&1) >"$out.log" || rc=$?
printf '%s\n' "$rc" >"$out.rc"
{
	printf 'TAP version 13\n# cargo test in %s\n' "$crate"
	awk '
		/^test .* \.\.\. ok$/      { n++; sub(/^test /, ""); sub(/ \.\.\. ok$/, ""); print "ok " n " - " $0 }
		/^test .* \.\.\. ignored/  { n++; sub(/^test /, ""); sub(/ \.\.\. ignored.*$/, ""); print "ok " n " - " $0 " # SKIP ignored" }
		/^test .* \.\.\. FAILED$/  { n++; sub(/^test /, ""); sub(/ \.\.\. FAILED$/, ""); print "not ok " n " - " $0 }
		END { print "1.." n }
	' "$out.log"
} >"$out.tap"
if [ "$rc" -ne 0 ]; then
	log "cargo test failed (exit $rc); its output: $out.log"
	grep -E '^(error|failures:|---- )' "$out.log" | head -n 20 >&2 || true
fi
log "$(grep -c '^ok' "$out.tap") passed, $(grep -c '^not ok' "$out.tap") failed"

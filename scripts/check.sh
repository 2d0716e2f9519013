#!/bin/sh
# `make check`: install what is missing, build (or reuse) the test kernel,
# build the modules, run every selftest inside the VM, and judge the results.
# `make check-debug` is the same on the debug kernel (KLP_KERNEL_VARIANT=debug:
# lockdep, KASAN, kmemleak, object debugging), where any kernel report fails.
#
#   scripts/check.sh [TEST_SCRIPT...]     (default: selftests/test-*.sh)
#
# Results and the guest console log are kept in results/check/.
set -eu
export KLP_LOG_TAG=check
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/common.sh"

start=$(date +%s)
results=$KLP_TOP/results/check
[ "$KLP_KERNEL_VARIANT" = base ] || results=$results-$KLP_KERNEL_VARIANT
if [ $# -eq 0 ]; then
	set -- "$KLP_TOP"/selftests/test-*.sh
fi

rm -rf "$results"
mkdir -p "$results"

log "step 1/5: toolchain"
"$KLP_TOP/scripts/setup-toolchain.sh"
log "step 2/5: test kernel and modules"
"$KLP_TOP/scripts/build-modules.sh"
log "step 3/5: host tests (static checks, klpctl)"
"$KLP_TOP/scripts/static-checks.sh" "$("$KLP_TOP/scripts/build-kernel.sh")" "$results" static-checks
"$KLP_TOP/scripts/cargo-test-tap.sh" "$KLP_TOP/tools/klpctl" "$results" klpctl-cargo-test
# The guest does not inherit the host's environment: pass the test settings.
if [ "$KLP_KERNEL_VARIANT" != base ]; then
	KLP_STRESS_CYCLES=${KLP_STRESS_CYCLES:-100}
	KLP_TEST_TIMEOUT=${KLP_TEST_TIMEOUT:-5400}
	KLP_VM_TIMEOUT=${KLP_VM_TIMEOUT:-10800}
	export KLP_STRESS_CYCLES KLP_TEST_TIMEOUT KLP_VM_TIMEOUT
fi
env | grep -E '^KLP_(STRESS_[A-Z]+|TEST_TIMEOUT|TRANSITION_TIMEOUT)=' |
	sed "s/'/'\\\\''/g; s/=\(.*\)/='\1'/" >"$results/guest.env" || true
log "step 4/5: running $# test script(s) in the VM"
"$KLP_TOP/scripts/run-vm.sh" "$results" \
	sh "$KLP_TOP/selftests/run-in-guest.sh" "$results" "$@"
log "step 5/5: results (kept in $results)"
status=0
"$KLP_TOP/scripts/tap-summary.sh" "$results" static-checks klpctl-cargo-test "$@" || status=1
log "make check took $(elapsed "$start")"
exit "$status"

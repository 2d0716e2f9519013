#!/bin/sh
# The main job: install what is missing, build (or reuse) the test kernel and
# the modules, boot the kernel and show live patching in Rust at work.
set -eu
export KLP_LOG_TAG=demo
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/common.sh"

results=$KLP_TOP/results/demo
rm -rf "$results"
"$KLP_TOP/scripts/setup-toolchain.sh"
"$KLP_TOP/scripts/build-modules.sh"
KLP_VM_TIMEOUT=${KLP_VM_TIMEOUT:-600} "$KLP_TOP/scripts/run-vm.sh" "$results" \
	"sh '$KLP_TOP/samples/demo.sh'; echo \$? > '$results/demo.rc'"
rc=$(cat "$results/demo.rc" 2>/dev/null || echo none)
[ "$rc" = 0 ] || die "the demo did not complete in the guest (status $rc); console log: $results/console.log"

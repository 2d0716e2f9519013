#!/bin/sh
# The main job: install what is missing, get the kernel (by default Debian's
# own 7.3 kernel, the kernel a user runs: its cold path compiles no kernel,
# only the Rust metadata for it) and build the modules for it, boot it and
# show live patching in Rust at work. `make demo LINES=6.12` runs it on the
# 6.12 test kernel instead.
set -eu
export KLP_LOG_TAG=demo
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/common.sh"

# The first of KLP_LINES (the Makefile gives 7.3 unless LINES= says otherwise).
line=${KLP_LINES%% *}
results=$KLP_TOP/results/demo
rm -rf "$results"
"$KLP_TOP/scripts/setup/toolchain.sh"
modules=$("$KLP_TOP/scripts/build/modules.sh" "$line")
KLP_VM_TIMEOUT=${KLP_VM_TIMEOUT:-600} "$KLP_TOP/scripts/vm/run.sh" "$line" "$results" \
	"KLP_MODULES='$modules' sh '$KLP_TOP/samples/walkthrough.sh'; echo \$? > '$results/demo.rc'"
rc=$(cat "$results/demo.rc" 2>/dev/null || echo none)
[ "$rc" = 0 ] || die "the demo did not complete in the guest (status $rc); console log: $results/console.log"

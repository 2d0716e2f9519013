#!/bin/sh
# Build the klp-rs modules (samples/, selftests/) out of tree.
#
#   scripts/build-modules.sh [make targets...]     (default: modules)
#
# Uses $KDIR when set, else the cached test kernel (built if missing), then
# generates the livepatch bindings for that kernel into generated/.
set -eu
export KLP_LOG_TAG=modules
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/common.sh"

kdir=$("$KLP_TOP/scripts/build-kernel.sh")
"$KLP_TOP/scripts/gen-bindings.sh" "$kdir" "$KLP_TOP/generated/livepatch_bindings.rs"
[ $# -gt 0 ] || set -- modules
log "make -C $kdir M=$KLP_TOP $*"
# shellcheck disable=SC2046 # one make variable per line
make -C "$kdir" M="$KLP_TOP" $(kbuild_vars) -j"$(( $(nproc) + 1 ))" "$@"

#!/bin/sh
# Check, after a build, that every module can be loaded into its target
# kernel as far as symbols go: each undefined symbol of each module is
# exported by that kernel (its Module.symvers), or is a livepatch symbol
# (.klp.sym.*) that the livepatch core resolves at enable time.
#
#   scripts/build/check-symbols.sh MODULE_SYMVERS... KO...
#
# The leading arguments named Module.symvers list what may be imported: the
# kernel's, and those of the modules built beside (the benchmark modules
# import what klp_bench_target exports).
# A Rust module built by another rustc than the kernel's has other crate
# hashes in its symbol names (e.g. _RNvNtCs<hash>_4core9panicking9panic_fmt);
# this is where that shows, before insmod says "Unknown symbol". Prints each
# missing symbol with its module and exits 1 if there is one.
set -eu
export KLP_LOG_TAG=symbols
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

[ $# -ge 2 ] || die "usage: $0 MODULE_SYMVERS... KO..."
[ -s "$1" ] || die "$1 is missing or empty"
exported=$(mktemp)
undefined=$(mktemp)
trap 'rm -f "$exported" "$undefined"' EXIT
while [ $# -gt 0 ] && [ "${1##*/}" = Module.symvers ]; do
	cut -f2 "$1" >>"$exported"
	shift
done
missing=0
# One nm for all the modules ("FILE: U SYMBOL" lines); each missing symbol
# once per module.
if [ $# -gt 0 ]; then
	nm -A -u "$@" >"$undefined" || die "nm could not read the modules (above)"
	missing=$(awk -v exported="$exported" '
		BEGIN { while ((getline sym <exported) > 0) ok[sym] = 1 }
		{ ko = $1; sub(/:$/, "", ko); sub(/.*\//, "", ko); sym = $NF }
		seen[ko, sym]++ { next }
		# A livepatch symbol left undefined: the post-link step did not run.
		sym ~ /^\.klp\.sym\./ {
			printf "%s: %s is not a livepatch symbol yet (run tools/klp-post-link on it)\n", ko, sym >"/dev/stderr"
			n++
			next
		}
		!(sym in ok) {
			printf "%s: %s is not exported by the target kernel\n", ko, sym >"/dev/stderr"
			n++
		}
		END { print n + 0 }' "$undefined")
fi
[ "$missing" -eq 0 ] || die "$missing undefined symbol(s) the kernel does not export (was the module built by the kernel's own rustc?)"
log "$# module(s): every undefined symbol is exported by the kernel (or a module built with them)"

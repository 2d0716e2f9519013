#!/bin/sh
# `make check`: install what is missing, build (or reuse) the test kernel,
# build the modules, run every selftest inside the VM, and judge the results.
# `make check-debug` is the same on the debug kernel (KLP_KERNEL_VARIANT=debug:
# lockdep, KASAN, kmemleak, object debugging), with 100 stress cycles.
#
#   scripts/check.sh [TEST...]
#
# A TEST is one of our scripts (selftests/test-foo.sh), or the kernel's own
# livepatch selftests run unchanged: `upstream-rust` against our Rust test
# modules, `upstream-c` against the C originals (the control), or one of their
# scripts, e.g. `upstream-rust:test-state`. The default is all of them, in one
# boot of the VM. Results and the guest console log are kept in results/check/.
set -eu
export KLP_LOG_TAG=check
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/common.sh"

start=$(date +%s)
results=$KLP_TOP/results/check
upstream=$KLP_TOP/results/upstream
if [ "$KLP_KERNEL_VARIANT" != base ]; then
	results=$results-$KLP_KERNEL_VARIANT
	upstream=$upstream-$KLP_KERNEL_VARIANT
fi
if [ $# -eq 0 ]; then
	set -- "$KLP_TOP"/selftests/test-*.sh upstream-rust upstream-c
fi

rm -rf "$results"
mkdir -p "$results"

log "step 1/6: toolchain"
"$KLP_TOP/scripts/setup-toolchain.sh"
log "step 2/6: test kernel and modules"
"$KLP_TOP/scripts/build-modules.sh"
kdir=$("$KLP_TOP/scripts/build-kernel.sh" 2>/dev/null)
log "step 3/6: the kernel's livepatch selftests, C test modules, guest module tree"
"$KLP_TOP/scripts/prepare-upstream.sh" "$kdir" "$upstream"

# What the guest runs (entries) and the results the host judges (names).
# The scripts that patch getpid while tasks hammer it run last. Under QEMU's
# multi-threaded TCG, one vCPU has been seen executing a stale int3 in
# __x64_sys_getpid after ftrace's text_poke_bp() on the other had finished
# ("Oops: int3", a guest panic that loses every later result). check.sh
# therefore runs TCG single-threaded (KLP_VM_TCG_SINGLE, see run-vm.sh);
# running these scripts last limits the damage if that is turned off.
entries="modules:$upstream/modroot/lib/modules"
late=
names=
# add ENTRY NAME: queue one script.
add() {
	case $2 in
	*syscall*) late="$late $1" ;;
	*) entries="$entries $1" ;;
	esac
	names="$names $2"
}
for test; do
	case $test in
	upstream-rust | upstream-c)
		flavour=${test#upstream-}
		for script in "$upstream/$flavour"/test-*.sh; do
			add "upstream:$flavour:$script" "$test-$(basename "$script" .sh)"
		done
		;;
	upstream-rust:* | upstream-c:*)
		flavour=${test%%:*}
		flavour=${flavour#upstream-}
		script=${test#*:}
		script=${script%.sh}
		[ -f "$upstream/$flavour/$script.sh" ] || die "no upstream script $script.sh"
		add "upstream:$flavour:$upstream/$flavour/$script.sh" "upstream-$flavour-$script"
		;;
	*)
		add "$test" "$(basename "$test" .sh)"
		;;
	esac
done
entries="$entries$late"

log "step 4/6: host tests (static checks, klpctl)"
"$KLP_TOP/scripts/static-checks.sh" "$kdir" "$results" static-checks
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

log "step 5/6: running $(echo "$names" | wc -w) test script(s) in the VM"
export KLP_VM_TCG_SINGLE="${KLP_VM_TCG_SINGLE:-1}"
# The list goes in a file: the guest's command line has little room.
# shellcheck disable=SC2086 # one entry per word, no spaces in them
printf '%s\n' $entries >"$results/entries.list"
"$KLP_TOP/scripts/run-vm.sh" "$results" \
	sh "$KLP_TOP/selftests/run-in-guest.sh" "$results" "@$results/entries.list"
log "step 6/6: results (kept in $results)"
status=0
# shellcheck disable=SC2086 # names are result names without spaces
"$KLP_TOP/scripts/tap-summary.sh" "$results" static-checks klpctl-cargo-test $names || status=1
"$KLP_TOP/scripts/upstream-summary.sh" "$results" || true
log "make check took $(elapsed "$start")"
exit "$status"

#!/bin/sh
# `make check`: install what is missing, build (or reuse) the test kernel,
# build the modules, run every selftest inside the VM, and judge the results.
# `make check-debug` is the same on the debug kernel (KLP_KERNEL_VARIANT=debug:
# lockdep, KASAN, kmemleak, object debugging), with 100 stress cycles (30 of
# the syscall stress, whose cycles are slower).
#
#   scripts/check.sh [TEST...]
#
# A TEST is one of our scripts (selftests/test-foo.sh), or the kernel's own
# livepatch selftests run unchanged: `upstream-rust` against our Rust test
# modules, `upstream-c` against the C originals (the control), or one of their
# scripts, e.g. `upstream-rust:test-state`. The default is all of them, in one
# run, in two VMs side by side (see below). Results are kept in results/check/,
# each VM's console and kernel log in results/check/vm-NAME/.
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

# What the guests run. Two VMs boot side by side, one per host core (QEMU's
# TCG runs each single-threaded):
#  - "smp", 2 vCPUs: what needs tasks on other CPUs while code is patched: our
#    Rust test modules under the kernel's own selftests, the stress tests and
#    the syscall tests;
#  - "main", 1 vCPU: the functional suites and the C control run of the
#    kernel's selftests. With one vCPU a transition can finish as soon as it
#    starts; with two, the idle task of the other CPU is running and the core
#    only retries after a second (klp_transition_work), whatever the test.
#    On the debug kernel it has 2 vCPUs too, and takes the syscall stress so
#    that the two long stress runs go side by side.
# Within a VM the scripts that patch getpid while tasks hammer it run last.
# Under QEMU's multi-threaded TCG, one vCPU has been seen executing a stale
# int3 in __x64_sys_getpid after ftrace's text_poke_bp() on the other had
# finished ("Oops: int3", a guest panic that loses every later result), so
# the VMs run TCG single-threaded (KLP_VM_TCG_SINGLE, see run-vm.sh) and
# running these scripts last limits the damage if that is turned off.
main_cpus=1
[ "$KLP_KERNEL_VARIANT" = base ] || main_cpus=2
entries_smp=
entries_main=
late_smp=
late_main=
names=
# add ENTRY NAME: queue one script in its VM.
add() {
	case $2 in
	test-stress-syscall)
		vm=smp
		[ "$KLP_KERNEL_VARIANT" = base ] || vm=main
		;;
	upstream-rust-* | test-stress* | test-syscall*) vm=smp ;;
	*) vm=main ;;
	esac
	case $2 in
	*syscall*) eval "late_$vm=\"\$late_$vm \$1\"" ;;
	*) eval "entries_$vm=\"\$entries_$vm \$1\"" ;;
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
entries_smp="$entries_smp$late_smp"
entries_main="$entries_main$late_main"

log "step 4/6: host tests (static checks, klpctl)"
"$KLP_TOP/scripts/static-checks.sh" "$kdir" "$results" static-checks
"$KLP_TOP/scripts/cargo-test-tap.sh" "$KLP_TOP/tools/klpctl" "$results" klpctl-cargo-test

# The guest does not inherit the host's environment: pass the test settings.
if [ "$KLP_KERNEL_VARIANT" != base ]; then
	KLP_STRESS_CYCLES=${KLP_STRESS_CYCLES:-100}
	KLP_STRESS_SYSCALL_CYCLES=${KLP_STRESS_SYSCALL_CYCLES:-30}
	KLP_STRESS_SYSCALL_TASKS=${KLP_STRESS_SYSCALL_TASKS:-8}
	KLP_TEST_TIMEOUT=${KLP_TEST_TIMEOUT:-5400}
	KLP_VM_TIMEOUT=${KLP_VM_TIMEOUT:-10800}
	export KLP_STRESS_CYCLES KLP_STRESS_SYSCALL_CYCLES KLP_STRESS_SYSCALL_TASKS KLP_TEST_TIMEOUT KLP_VM_TIMEOUT
fi
# The getpid helper of the kernel's selftests, for our syscall tests.
KLP_GETPID_HELPER=${KLP_GETPID_HELPER:-$upstream/test_klp-call_getpid}
export KLP_GETPID_HELPER
env | grep -E '^KLP_(STRESS_[A-Z_]+|TEST_TIMEOUT|TRANSITION_TIMEOUT|GUEST_[A-Z_]+|GETPID_HELPER)=' |
	sed "s/'/'\\\\''/g; s/=\(.*\)/='\1'/" >"$results/guest.env" || true

# run_vm NAME CPUS ENTRIES: one VM in results/vm-NAME/, its output prefixed by
# [vm-NAME]; ENTRIES go in a file: the guest's command line has little room.
run_vm() {
	dir=$results/vm-$1
	mkdir -p "$dir"
	cp "$results/guest.env" "$dir/guest.env"
	# shellcheck disable=SC2086 # one entry per word, no spaces in them
	printf '%s\n' "modules:$upstream/modroot/lib/modules" $3 >"$dir/entries.list"
	KLP_VM_CPUS=$2 KLP_VM_NAME=$1 "$KLP_TOP/scripts/run-vm.sh" "$dir" \
		sh "$KLP_TOP/selftests/run-in-guest.sh" "$dir" "@$dir/entries.list" 2>&1 |
		sed -u "s/^klp-rs: /[vm-$1] /"
}

log "step 5/6: running $(echo "$names" | wc -w) test script(s) in the VMs"
export KLP_VM_TCG_SINGLE="${KLP_VM_TCG_SINGLE:-1}"
vms=
if [ -n "$entries_smp" ]; then
	run_vm smp 2 "$entries_smp" &
	vms="$vms $!"
fi
if [ -n "$entries_main" ]; then
	run_vm main "$main_cpus" "$entries_main" &
	vms="$vms $!"
fi
for vm in $vms; do
	wait "$vm" || true
done
log "step 6/6: results (kept in $results)"
status=0
# shellcheck disable=SC2086 # names are result names without spaces
"$KLP_TOP/scripts/tap-summary.sh" "$results" static-checks klpctl-cargo-test $names || status=1
"$KLP_TOP/scripts/upstream-summary.sh" "$results" || true
log "make check took $(elapsed "$start")"
exit "$status"

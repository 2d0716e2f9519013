#!/bin/sh
# klp-rs-test: cpus=2 cost=13 order=last
# The getpid system call patched under load with our Rust test_klp_syscall:
# six tasks call getpid in a loop, four of them listed in klp_pids (the
# module's array parameter holds one pid per possible CPU). Proves the
# transition completes with every task switched while the patched function
# is hammered, that each listed task called the replacement
# (/sys/kernel/test_klp_syscall/npids drops to 0), and that getpid still
# returns the right values.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

LP=test_klp_syscall
HELPER=${KLP_GETPID_HELPER:-$KLP_TOP/results/upstream/test_klp-call_getpid}
NPIDS=/sys/kernel/$LP/npids

tap_begin "getpid patched while six tasks call it"
cleanup_test_modules
klp_debug on
if [ ! -x "$HELPER" ]; then
	printf 'ok 1 - %s # SKIP no getpid helper at %s (scripts/build/upstream-selftests.sh builds it)\n' \
		"the getpid test" "$HELPER"
	tap_count=1
	tap_end
	exit
fi

pids=
for _ in 1 2 3 4 5 6; do
	"$HELPER" &
	pids="$pids $!"
done
listed=$(echo "$pids" | tr ' ' '\n' | sed -n '2,5p' | paste -sd, -)

dmesg_mark
expect_ok "insmod $LP klp_pids=$listed and wait for the transition" \
	load_patch "$LP" "klp_pids=$listed"
expect_eq "every task is out of the transition (patch_state -1)" "" \
	"$(for pid in $pids; do [ "$(patch_state "$pid")" = -1 ] || echo "$pid"; done)"
loop_until 10 sysfs_is "$NPIDS" 0 || true
expect_eq "$NPIDS: every listed task has called the patched getpid" 0 "$(sysfs_value "$NPIDS")"
expect_eq "$NPIDS is read-only" "-r--r--r--" "$(stat -c %A "$NPIDS" 2>&1)"
expect_eq "the klp_pids parameter is not in sysfs (permission 0)" no \
	"$(test -e "/sys/module/$LP/parameters/klp_pids" && echo yes || echo no)"
# shellcheck disable=SC2016 # expanded by the inner shell
expect_eq "getpid (\$\$ of a new shell) matches /proc/self/stat through the patch" same \
	"$(sh -c 'read -r pid _ </proc/self/stat; [ "$pid" = $$ ] && echo same || echo "$pid vs $$"')"
# shellcheck disable=SC2086 # a list of pids
expect_ok "the helpers are still running" kill -0 $pids
expect_ok "disable $LP under load" disable_patch "$LP"
expect_ok "rmmod $LP" unload "$LP"
expect_eq "/sys/kernel/$LP goes with it" gone "$(test -e "/sys/kernel/$LP" && echo present || echo gone)"
# shellcheck disable=SC2086 # a list of pids
kill $pids
wait
expect_lines "the core logged both transitions" "$(core_lines "$LP" enable init-patch \
	start-patch complete-patch patched init-unpatch start-unpatch complete-unpatch unpatched)" \
	"^livepatch:"

cleanup_test_modules
tap_end

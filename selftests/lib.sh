# shellcheck shell=sh
# Guest-side helpers for the klp-rs selftests: TAP output, assertions on the
# kernel's observable state, and live patch module handling. Sourced by each
# selftests/test-*.sh, which run as root inside the test VM.
#
# Every assertion prints one TAP line: `ok N - what` or `not ok N - what`
# followed by `# ` lines that say why. tap_end prints the plan.

KLP_SYSFS=/sys/kernel/livepatch
KLP_TOP=${KLP_TOP:-$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)}
KLP_TRANSITION_TIMEOUT=${KLP_TRANSITION_TIMEOUT:-60}
tap_count=0
tap_failures=0

# tap_begin TITLE: the TAP header of one test script.
tap_begin() {
	printf 'TAP version 13\n# %s\n' "$1"
}

# tap_end: the plan, and the script's exit status (1 if any case failed).
tap_end() {
	printf '1..%d\n' "$tap_count"
	[ "$tap_failures" -eq 0 ]
}

# diag TEXT...: indented `# ` lines under the current case, one or more per argument.
diag() {
	for text; do
		printf '%s\n' "$text" | sed 's/^/#   /'
	done
}

# pass DESC / fail DESC [WHY...]
pass() {
	tap_count=$((tap_count + 1))
	printf 'ok %d - %s\n' "$tap_count" "$1"
}
fail() {
	tap_count=$((tap_count + 1))
	tap_failures=$((tap_failures + 1))
	printf 'not ok %d - %s\n' "$tap_count" "$1"
	shift
	diag "$@"
}

# expect_eq DESC EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected: '$2'" "got:      '$3'"
	fi
}

# expect_ok DESC CMD...: CMD exits 0. Its output is shown if it does not.
expect_ok() {
	desc=$1
	shift
	if out=$("$@" 2>&1); then
		pass "$desc"
	else
		fail "$desc" "command failed (exit $?): $*" "$out"
	fi
}

# expect_fail DESC CMD...: CMD exits non-zero.
expect_fail() {
	desc=$1
	shift
	if out=$("$@" 2>&1); then
		fail "$desc" "command succeeded but should have failed: $*" "$out"
	else
		pass "$desc"
		diag "refused as expected: $out"
	fi
}

# expect_dmesg DESC REGEX: a kernel log line since the last dmesg_mark matches.
expect_dmesg() {
	if dmesg_since_mark | grep -Eq -- "$2"; then
		pass "$1"
	else
		fail "$1" "no kernel log line matches /$2/ since the mark; the log since then:" \
			"$(dmesg_since_mark | tail -n 20)"
	fi
}

# dmesg_mark: writes a unique marker line to the kernel log.
dmesg_mark() {
	dmesg_marker="klp-rs selftest mark $$-$(date +%s%N)"
	printf '%s\n' "$dmesg_marker" >/dev/kmsg
}

# dmesg_since_mark: the kernel log after the last marker, without timestamps.
dmesg_since_mark() {
	dmesg | sed -e 's/^\[[^]]*\] //' | sed -n "/^$dmesg_marker\$/,\$p" | sed 1d
}

# sysfs_value FILE: the content of FILE, or <missing>.
sysfs_value() {
	cat "$1" 2>/dev/null || printf '<missing>'
}

# wait_transition PATCH: waits until PATCH's transition is over (or PATCH is
# gone). Fails after KLP_TRANSITION_TIMEOUT seconds.
wait_transition() {
	waited=0
	while [ -d "$KLP_SYSFS/$1" ] && [ "$(sysfs_value "$KLP_SYSFS/$1/transition")" != 0 ]; do
		[ "$waited" -lt $((KLP_TRANSITION_TIMEOUT * 10)) ] || return 1
		sleep 0.1
		waited=$((waited + 1))
	done
}

# wait_patch_gone PATCH: waits until /sys/kernel/livepatch/PATCH is removed.
wait_patch_gone() {
	waited=0
	while [ -d "$KLP_SYSFS/$1" ]; do
		[ "$waited" -lt $((KLP_TRANSITION_TIMEOUT * 10)) ] || return 1
		sleep 0.1
		waited=$((waited + 1))
	done
}

# module_loaded NAME: NAME is in /proc/modules.
module_loaded() {
	grep -q "^$1 " /proc/modules
}

# disable_patch PATCH: writes 0 to enabled and waits for the patch to go.
disable_patch() {
	echo 0 >"$KLP_SYSFS/$1/enabled" && wait_patch_gone "$1"
}

# cleanup_patches: disables every live patch and unloads every live patch
# module (taint flag K), so the next script starts from an unpatched kernel.
cleanup_patches() {
	for dir in "$KLP_SYSFS"/*; do
		[ -d "$dir" ] || continue
		patch=$(basename "$dir")
		wait_transition "$patch" || true
		[ "$(sysfs_value "$dir/enabled")" = 1 ] && echo 0 >"$dir/enabled" 2>/dev/null
		wait_patch_gone "$patch" || true
	done
	for taint in /sys/module/*/taint; do
		grep -q K "$taint" 2>/dev/null || continue
		rmmod "$(basename "$(dirname "$taint")")" 2>/dev/null || true
	done
}

# sample_ko NAME: path of a built sample module.
sample_ko() {
	printf '%s/samples/%s/%s.ko\n' "$KLP_TOP" "$1" "$1"
}

# test_ko NAME: path of one of our Rust test modules (selftests/test_modules).
test_ko() {
	printf '%s/selftests/test_modules/%s.ko\n' "$KLP_TOP" "$1"
}

# load_patch NAME [PARAM=VALUE...]: insmod a test live patch and wait for its
# transition to finish. Prints why on failure.
load_patch() {
	mod=$1
	shift
	insmod "$(test_ko "$mod")" "$@" && wait_transition "$mod"
}

# unload MODULE: rmmod, once the module's reference count has dropped to 0
# (the livepatch core releases a patch module's reference asynchronously).
unload() {
	waited=0
	while [ "$(sysfs_value "/sys/module/$1/refcnt")" != 0 ]; do
		[ "$waited" -lt $((KLP_TRANSITION_TIMEOUT * 10)) ] || break
		sleep 0.1
		waited=$((waited + 1))
	done
	rmmod "$1"
}

# cleanup_test_modules: disables every patch and removes every test module,
# so the next script starts from a clean kernel.
cleanup_test_modules() {
	cleanup_patches
	for mod in test_klp_callbacks_mod test_klp_callbacks_busy test_klp_shadow_vars; do
		if module_loaded "$mod"; then
			[ "$mod" != test_klp_callbacks_busy ] ||
				echo 0 >/sys/module/test_klp_callbacks_busy/parameters/block_transition
			rmmod "$mod" 2>/dev/null || true
		fi
	done
	for dir in /sys/module/test_klp_*; do
		[ -d "$dir" ] || continue
		unload "$(basename "$dir")" 2>/dev/null || true
	done
}

# kernel_lines_since_mark PATTERN: the kernel log lines since the last
# dmesg_mark that match PATTERN (grep -E), without timestamps and without the
# module loader's taint notices (as the kernel's own selftests filter them).
kernel_lines_since_mark() {
	dmesg_since_mark | grep -E -- "$1" | grep -Ev '(tainting|taints) kernel' || true
}

# expect_lines DESC EXPECTED PATTERN: the kernel log lines since the mark that
# match PATTERN are exactly EXPECTED (one per line, in order).
expect_lines() {
	actual=$(kernel_lines_since_mark "$3")
	if [ "$actual" = "$2" ]; then
		pass "$1"
	else
		fail "$1" "expected lines:" "$2" "got:" "$actual"
	fi
}

# patch_state PID: /proc/PID/patch_state (-1: no transition, 0: unpatched, 1: patched).
patch_state() {
	sysfs_value "/proc/$1/patch_state"
}

# livepatch_debug_on: turn on the livepatch core's debug messages (the steps
# of each transition), as the kernel's own selftests do.
livepatch_debug_on() {
	printf '%s\n' 'file kernel/livepatch/* +p' 'func klp_try_switch_task -p' \
		>/sys/kernel/debug/dynamic_debug/control 2>/dev/null || true
}

# core_lines PATCH STEP...: the core's log lines for the given steps of
# PATCH (enable, init-patch, start-patch, complete-patch, patched,
# init-unpatch, start-unpatch, complete-unpatch, unpatched).
core_lines() {
	patch=$1
	shift
	for step; do
		case $step in
		enable) echo "livepatch: enabling patch '$patch'" ;;
		init-patch) echo "livepatch: '$patch': initializing patching transition" ;;
		start-patch) echo "livepatch: '$patch': starting patching transition" ;;
		complete-patch) echo "livepatch: '$patch': completing patching transition" ;;
		patched) echo "livepatch: '$patch': patching complete" ;;
		init-unpatch) echo "livepatch: '$patch': initializing unpatching transition" ;;
		start-unpatch) echo "livepatch: '$patch': starting unpatching transition" ;;
		complete-unpatch) echo "livepatch: '$patch': completing unpatching transition" ;;
		unpatched) echo "livepatch: '$patch': unpatching complete" ;;
		esac
	done
}

# expect_cycles N: runs the script's function `cycle` up to N times, stopping
# at the first one that fails (`cycle` prints why), as one TAP line. Sets
# done_cycles and seconds.
expect_cycles() {
	start=$(date +%s)
	done_cycles=0
	why=
	while [ "$done_cycles" -lt "$1" ]; do
		why=$(cycle) || break
		done_cycles=$((done_cycles + 1))
	done
	# shellcheck disable=SC2034 # read by the calling script
	seconds=$(($(date +%s) - start))
	expect_eq "all $1 cycles completed and verified" "$1" "$done_cycles"
	[ -z "$why" ] || diag "cycle $((done_cycles + 1)) failed: $why"
}

# expect_no_kernel_warning DESC: no warning, bug, oops or refcount error in
# the kernel log since the last dmesg_mark.
expect_no_kernel_warning() {
	pattern='WARNING:|BUG:|Oops|refcount_t:'
	if dmesg_since_mark | grep -Eq "$pattern"; then
		fail "$1" "$(dmesg_since_mark | grep -E -A5 "$pattern" | head -n 20)"
	else
		pass "$1"
	fi
}

# kmemleak, on a kernel built with it (make check-debug).
KLP_KMEMLEAK=/sys/kernel/debug/kmemleak

# kmemleak_clear: scans, then forgets the current suspects, so that a later
# kmemleak_suspects shows only newer leaks. Does nothing without kmemleak.
kmemleak_clear() {
	[ -w "$KLP_KMEMLEAK" ] || return 0
	echo scan >"$KLP_KMEMLEAK" && echo clear >"$KLP_KMEMLEAK"
}

# kmemleak_suspects: kmemleak's report of unreferenced objects, after two
# scans 6 s apart (an object is reported only once it is 5 s old).
kmemleak_suspects() {
	echo scan >"$KLP_KMEMLEAK" && sleep 6 && echo scan >"$KLP_KMEMLEAK" &&
		cat "$KLP_KMEMLEAK"
}

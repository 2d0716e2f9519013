# shellcheck shell=sh
# Helpers for the sample tests (selftests/test-samples-*.sh), on top of
# selftests/lib.sh, which must be sourced first: ordered and negative kernel
# log assertions, waiting for a log line, module loading with one TAP line.
# Sourced, not run (run-in-guest.sh runs test-*.sh only).

# expect_dmesg_seq DESC REGEX...: kernel log lines since the last dmesg_mark
# match the REGEXes in this order (other lines may come in between).
expect_dmesg_seq() {
	seq_desc=$1
	shift
	seq_log=$(dmesg_since_mark)
	seq_rest=$seq_log
	for seq_re; do
		seq_n=$(printf '%s\n' "$seq_rest" | grep -nE -m1 -- "$seq_re" | cut -d: -f1)
		if [ -z "$seq_n" ]; then
			fail "$seq_desc" "no kernel log line matches /$seq_re/ after the ones before it;" \
				"the log since the mark:" "$(printf '%s\n' "$seq_log" | tail -n 40)"
			return 0
		fi
		seq_rest=$(printf '%s\n' "$seq_rest" | sed "1,${seq_n}d")
	done
	pass "$seq_desc"
}

# expect_no_dmesg DESC REGEX: no kernel log line since the last dmesg_mark matches.
expect_no_dmesg() {
	if seq_hits=$(dmesg_since_mark | grep -E -- "$2"); then
		fail "$1" "kernel log lines match /$2/ since the mark:" "$seq_hits"
	else
		pass "$1"
	fi
}

# wait_dmesg REGEX [SECONDS]: waits until a kernel log line since the last
# dmesg_mark matches REGEX (default: 30 s). Fails when the time is up.
wait_dmesg() {
	wait_left=$(( ${2:-30} * 5 ))
	until dmesg_since_mark | grep -Eq -- "$1"; do
		[ "$wait_left" -gt 0 ] || return 1
		sleep 0.2
		wait_left=$((wait_left - 1))
	done
}

# expect_wait_dmesg DESC REGEX [SECONDS]: wait_dmesg as one TAP line.
expect_wait_dmesg() {
	if wait_dmesg "$2" "${3:-30}"; then
		pass "$1"
	else
		fail "$1" "no kernel log line matched /$2/ within ${3:-30} s; the log since the mark:" \
			"$(dmesg_since_mark | tail -n 20)"
	fi
}

# expect_insmod NAME [PARAM...]: loads sample module NAME; on failure the
# TAP line shows insmod's output and the kernel log. Returns insmod's status.
expect_insmod() {
	insmod_name=$1
	shift
	if insmod_out=$(insmod "$(sample_ko "$insmod_name")" "$@" 2>&1); then
		pass "insmod $insmod_name${*:+ $*}"
	else
		fail "insmod $insmod_name${*:+ $*}" "$insmod_out" "kernel log:" \
			"$(dmesg_since_mark | tail -n 20)"
		return 1
	fi
}

# expect_rmmod NAME: unloads NAME, then asserts it left /proc/modules.
expect_rmmod() {
	expect_ok "rmmod $1" rmmod "$1"
	expect_module_gone "$1"
}

# expect_module_gone NAME: NAME is not in /proc/modules.
expect_module_gone() {
	if module_loaded "$1"; then
		fail "$1 is not in /proc/modules" "$(grep "^$1 " /proc/modules)"
	else
		pass "$1 is not in /proc/modules"
	fi
}

# expect_kallsyms MODULE SYMBOL: /proc/kallsyms lists SYMBOL as a text symbol
# of MODULE (which is what the livepatch core looks functions up in).
expect_kallsyms() {
	if grep -Eq "^[0-9a-f]+ [tT] $2[[:space:]]+\[$1\]\$" /proc/kallsyms; then
		pass "kallsyms lists $2 in [$1]"
	else
		fail "kallsyms lists $2 in [$1]" "symbols of $1:" \
			"$(grep -F "[$1]" /proc/kallsyms | head -n 20)"
	fi
}

# expect_no_patches: no live patch is left in sysfs.
expect_no_patches() {
	expect_eq "no live patch is left in $KLP_SYSFS" "" "$(ls "$KLP_SYSFS")"
}

# unload_modules NAME...: removes those of the modules that are loaded,
# ignoring errors (for cleanups).
unload_modules() {
	for unload_name; do
		module_loaded "$unload_name" && rmmod "$unload_name" 2>/dev/null
	done
	return 0
}

# klp_debug on|off: the livepatch core's pr_debug() messages (the steps of a
# transition, and which task blocks it on which function), through dynamic
# debug, as the kernel's own livepatch selftests do.
klp_debug() {
	case $1 in
	on) klp_debug_flag=+p ;;
	*) klp_debug_flag=-p ;;
	esac
	klp_debug_ctl=/proc/dynamic_debug/control
	[ -w "$klp_debug_ctl" ] || klp_debug_ctl=/sys/kernel/debug/dynamic_debug/control
	echo "file kernel/livepatch/* $klp_debug_flag" >"$klp_debug_ctl"
}

#!/bin/sh
# The klp-rs demo, run inside the test VM by scripts/demo.sh: walk the
# cumulative series v1 -> v2 -> v3, showing at each step what is patched, the
# transition, the sysfs state and what userspace sees; then undo it all.
set -u
KLP_TOP=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
KLP_MODULES=${KLP_MODULES:-$KLP_TOP}
SYSFS=/sys/kernel/livepatch
SERIES=$KLP_MODULES/samples/livepatch_cumulative

step() {
	printf '\n=== %s\n' "$*"
}

# run CMD: shows a shell command and its output.
run() {
	printf '$ %s\n' "$*"
	sh -c "$*" 2>&1 | sed 's/^/  /'
}

# patches: every live patch with its state, objects and functions.
patches() {
	printf '  live patches in %s:\n' "$SYSFS"
	found=
	for dir in "$SYSFS"/*; do
		[ -d "$dir" ] || continue
		found=1
		printf '    %s: enabled=%s transition=%s replace=%s\n' "$(basename "$dir")" \
			"$(cat "$dir/enabled")" "$(cat "$dir/transition")" "$(cat "$dir/replace")"
		for obj in "$dir"/*/; do
			[ -f "$obj/patched" ] || continue
			funcs=$(cd "$obj" && for f in *,*; do [ -d "$f" ] && printf '%s ' "$f"; done)
			printf '      %s (patched=%s): %s\n' "$(basename "$obj")" "$(cat "$obj/patched")" "$funcs"
		done
	done
	[ -n "$found" ] || printf '    (none)\n'
}

# short FILE: the first line of FILE, cut to 70 characters.
short() {
	line=$(head -n 1 "$1")
	if [ ${#line} -gt 70 ]; then
		printf '%s...\n' "$(printf '%s' "$line" | cut -c1-70)"
	else
		printf '%s\n' "$line"
	fi
}

# userspace: what the two patched files show now.
userspace() {
	printf '  userspace sees:\n'
	printf '    /proc/cmdline: %s\n' "$(short /proc/cmdline)"
	printf '    /proc/version: %s\n' "$(short /proc/version)"
}

# load NAME: insmod, then follow the transition to its end.
load() {
	run insmod "$SERIES/$1.ko"
	printf '  right after insmod: transition=%s, this shell'\''s patch_state=%s\n' \
		"$(cat "$SYSFS/$1/transition" 2>/dev/null || echo -)" "$(cat /proc/self/patch_state)"
	n=0
	while [ "$(cat "$SYSFS/$1/transition" 2>/dev/null || echo 0)" != 0 ] && [ $n -lt 600 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	printf '  transition finished after %d.%d s\n' $((n / 10)) $((n % 10))
}

# wait_gone NAME: waits until a replaced or disabled patch has left sysfs.
wait_gone() {
	n=0
	while [ -d "$SYSFS/$1" ] && [ $n -lt 600 ]; do
		sleep 0.1
		n=$((n + 1))
	done
}

klog() {
	dmesg | sed 's/^\[[^]]*\] //' | grep -E "$1" | tail -n "${2:-6}" | sed 's/^/  dmesg: /'
}

step "Kernel $(uname -r), no live patch loaded"
patches
userspace

step "v1: patch cmdline_proc_show() and version_proc_show() (atomic replace on)"
load livepatch_cumulative_v1
patches
userspace
klog 'livepatch_cumulative_v1|livepatch:' 5

step "v2: replaces v1, patches cmdline_proc_show() only"
printf '  version_proc_show() goes back to the original through a NOP entry;\n'
printf '  v1 leaves sysfs once the transition ends, and only v2'\''s callbacks run.\n'
load livepatch_cumulative_v2
wait_gone livepatch_cumulative_v1
patches
userspace
klog 'livepatch_cumulative_v[12]|livepatch:' 5
run rmmod livepatch_cumulative_v1

step "v3: replaces v2, adds system state 1 (a read counter) with callbacks"
load livepatch_cumulative_v3
wait_gone livepatch_cumulative_v2
run rmmod livepatch_cumulative_v2
patches
userspace
printf '  read /proc/cmdline again: %s\n' "$(cat /proc/cmdline)"
klog 'livepatch_cumulative_v3' 3

step "v2 again: refused, it does not know v3's state"
run insmod "$SERIES/livepatch_cumulative_v2.ko"
klog 'not compatible' 1
patches

step "Disable v3: back to the unpatched kernel, not to v2 or v1"
run "echo 0 > $SYSFS/livepatch_cumulative_v3/enabled"
wait_gone livepatch_cumulative_v3
patches
userspace
klog 'livepatch_cumulative_v3|livepatch:' 5
run rmmod livepatch_cumulative_v3

printf '\nDone: three cumulative Rust live patches applied, replaced and removed\n'
printf 'without a reboot.\n'

#!/bin/sh
# The klp-rs demo, run inside the test VM by scripts/demo.sh: load the Rust
# livepatch_sample, show what changes for userspace and in sysfs, then undo it.
set -u
KLP_TOP=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
SYSFS=/sys/kernel/livepatch

step() {
	printf '\n=== %s\n' "$*"
}

show() {
	printf '$ %s\n' "$*"
	sh -c "$*" 2>&1 | sed 's/^/  /'
}

# state PATCH: the patch's sysfs attributes on one line.
state() {
	if [ -d "$SYSFS/$1" ]; then
		printf '  %s: enabled=%s transition=%s replace=%s\n' "$1" \
			"$(cat "$SYSFS/$1/enabled")" "$(cat "$SYSFS/$1/transition")" \
			"$(cat "$SYSFS/$1/replace")"
	else
		printf '  %s: not in %s\n' "$1" "$SYSFS"
	fi
}

wait_transition() {
	n=0
	while [ -d "$SYSFS/$1" ] && [ "$(cat "$SYSFS/$1/transition")" != 0 ] && [ $n -lt 600 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	printf '  transition finished after %d.%d s\n' $((n / 10)) $((n % 10))
}

ko=$KLP_TOP/samples/livepatch_sample/livepatch_sample.ko

step "Kernel $(uname -r), no live patch loaded"
show cat /proc/cmdline
show "ls $SYSFS"

step "Load the Rust live patch (atomic replace on by default)"
show "modinfo -F livepatch $ko | sed 's/^/livepatch=/'"
show insmod "$ko"
state livepatch_sample
wait_transition livepatch_sample
state livepatch_sample
show "ls $SYSFS/livepatch_sample/vmlinux"
show cat /proc/cmdline
show "dmesg | grep livepatch | tail -n 3"

step "A live patch cannot be removed while it is enabled"
show rmmod livepatch_sample

step "Disable it: the kernel transitions back to the original code"
show "echo 0 > $SYSFS/livepatch_sample/enabled"
wait_transition livepatch_sample
state livepatch_sample
show cat /proc/cmdline

step "Now the module can go"
show rmmod livepatch_sample
show "grep -c livepatch_sample /proc/modules"
printf '\nDone: /proc/cmdline was live patched by a Rust module and restored.\n'

#!/bin/sh
# Boot the kernel of one kernel line under virtme-ng and run one command
# inside it.
#
#   scripts/vm/run.sh LINE RESULTS_DIR COMMAND...
#
# The COMMAND words are joined with spaces into one guest shell command line,
# so quote a compound command as a single argument.
#
# On the 6.12 line the guest's root is the host's file system, read-only;
# on the 7.3 line it is the Debian 13 root (scripts/kernel/debian-root.sh),
# with the repository and its built modules at the same path as on the host.
# RESULTS_DIR is shared read-write; the command is expected to leave its
# results there. The full console, kernel messages included, goes to
# RESULTS_DIR/console.log; the command's own output is shown live.
# RESULTS_DIR is created if needed; the caller clears it.
#
# vng's exit status is not trusted (it can exit 255 after a clean run): the
# caller judges from the files in RESULTS_DIR. This script only reports a
# time-out (KLP_VM_TIMEOUT seconds, default 4800) and a kernel panic.
set -eu
export KLP_LOG_TAG="vm${KLP_VM_NAME:+-$KLP_VM_NAME}"
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

[ $# -ge 3 ] || die "usage: $0 LINE RESULTS_DIR COMMAND..."
line_setup "$1"
# KLP_VM_ROOT=DIR boots the line's kernel with DIR as the guest's root
# instead of the line's own (test-boot-systemd.sh: an overlay of the Debian
# root with packages installed); KLP_VM_SYSTEMD=1 boots it with systemd as
# PID 1 (vng --systemd: the command runs from a serial getty once the system
# is up, and the guest powers off after it).
[ -z "${KLP_VM_ROOT:-}" ] || line_root=$KLP_VM_ROOT
# KLP_VM_RW=1 mounts that root read-write (a throw-away copy only).
# KLP_VM_SSH_PORT=PORT gives the guest a network card on QEMU's user network
# (the guest is 10.0.2.15, the host 10.0.2.2; its root must set the address),
# with the host's 127.0.0.1:PORT forwarded to the guest's port 22: a
# controller on the host reaches the guest's sshd there
# (test-ansible-rollout.sh).
systemd=
[ "${KLP_VM_SYSTEMD:-0}" != 1 ] || systemd=--systemd
[ "${KLP_VM_RW:-0}" != 1 ] || systemd="$systemd --rw"
results=$2
shift 2
timeout=${KLP_VM_TIMEOUT:-4800}
cpus=${KLP_VM_CPUS:-2}
vng=$KLP_VENV/bin/vng
# vng runs its helpers (virtme-run, ...) from PATH: scripts/vm/virtme-run
# first, which gives the 9p root that vng's initramfs mounts (the 7.3 line)
# the cache mode of rootflags below.
PATH=$KLP_TOP/scripts/vm:$KLP_VENV/bin:$PATH
cache=${KLP_VM_9P_CACHE:-loose}
KLP_VM_ROOT_CACHE=
[ "$cache" = none ] || KLP_VM_ROOT_CACHE=$cache
export KLP_VM_ROOT_CACHE
[ -x "$vng" ] || die "virtme-ng is not installed ($vng); run scripts/setup/toolchain.sh"

# host_tool NAME: the path of scripts/vm/NAME.c built for the host, into the
# cache once (and again when the source changes).
host_tool() {
	src=$KLP_TOP/scripts/vm/$1.c
	bin=$KLP_CACHE/tools/bin/$1
	if [ ! -x "$bin" ] || [ -n "$(find "$src" -newer "$bin")" ]; then
		mkdir -p "$(dirname "$bin")"
		cc -O2 -o "$bin.$$" "$src" >&2 || die "could not build $bin"
		mv "$bin.$$" "$bin"
	fi
	printf '%s\n' "$bin"
}

mkdir -p "$results"
rm -f "$results/guest-finished" "$results/console.log" "$results/vng.rc"
results=$(CDPATH='' cd -- "$results" && pwd)

# The default is TCG: the /dev/kvm of the machines this was developed on is
# kvm-pvm, which emulates a guest kernel that is not PVM-enabled and fails
# on its first VEX instruction (README.md); KLP_VM_KVM=1 uses KVM where it
# works.
accel=--disable-kvm
[ "${KLP_VM_KVM:-0}" = 1 ] && accel=
# TCG runs with one host thread for all vCPUs (KLP_VM_TCG_SINGLE=1, the
# default) instead of one per vCPU: QEMU then executes one vCPU at a time, so
# code that one vCPU rewrites cannot be run stale by another. Multi-threaded
# TCG crashes both kernels while text is patched (see scripts/check.sh;
# Debian's 7.3 even at boot, patching a static key in set_next_task_fair).
qemu_opts=
if [ -n "$accel" ] && [ "${KLP_VM_TCG_SINGLE:-1}" = 1 ]; then
	qemu_opts="--qemu-opts=-accel tcg,thread=single"
fi
# KLP_VM_ICOUNT=SHIFT makes the guest's clocks count executed instructions
# instead of host time: each instruction takes 2^SHIFT ns of guest time, and
# an idle guest jumps to its next timer at once (sleep=off). A time measured
# in the guest then does not depend on how fast the host ran QEMU (make
# bench's latency part, Documentation/bench/method.md), except across waits
# for the host (9p I/O). QEMU runs TCG single-threaded with it.
if [ -n "$accel" ] && [ -n "${KLP_VM_ICOUNT:-}" ]; then
	qemu_opts="--qemu-opts=-icount shift=$KLP_VM_ICOUNT,sleep=off"
fi

# The guest's TSC frequency, given instead of calibrated (tsc_early_khz):
# under TCG the guest's TSC is the host's, and a guest calibrating it at boot
# on a busy host can be far off: one of seven guests booted together found
# "PIT calibration deviates from HPET: 40952 2597681" and, believing the
# PIT, took the 2.6 GHz TSC for 41 MHz, so its clock ran 63 times too fast
# and every test timed out. scripts/vm/tsc-khz.c measures the host's (built
# once into the cache); the kernel still refines it against the HPET after
# boot. With icount the TSC counts instructions, and on a host other than
# x86-64 QEMU's TSC is not the host's: the guest calibrates it.
tsc_khz=
if [ -n "$accel" ] && [ -z "${KLP_VM_ICOUNT:-}" ] && [ "$(uname -m)" = x86_64 ]; then
	tsc_bin=$(host_tool tsc-khz)
	tsc_khz=$("$tsc_bin") || die "$tsc_bin failed"
fi

# QEMU runs as a batch task with a slice of KLP_VM_SLICE_MS (default 20,
# 0: the host's default scheduling), scripts/vm/sched-batch.c: beside other
# guests on the same cores it is switched out less often, and keeps its
# translated code in the caches. Three 7.3 guests at once on 2 cores took
# 165-172 s of host CPU each without, 133-134 s with it (one alone: 133 s).
sched_batch=$(host_tool sched-batch)
slice=${KLP_VM_SLICE_MS:-20}

net_opts=
if [ -n "${KLP_VM_SSH_PORT:-}" ]; then
	net_opts="--qemu-opts=-netdev user,id=klp-net,hostfwd=tcp:127.0.0.1:$KLP_VM_SSH_PORT-:22"
	net_opts="$net_opts -device virtio-net-pci,netdev=klp-net"
fi

# The guest's root is the host's file system (or the Debian root) over 9p,
# not changed by the host while the guest runs (read-only; a read-write one,
# KLP_VM_RW=1, is a throw-away overlay that the host reads only after the
# guest has powered off, and synced), so the guest may cache it: with
# cache=loose a program's pages stay in the guest's page cache instead of
# being read over 9p at every exec (each exec ~40% faster
# under TCG). vng passes its own rootflags first; the kernel takes the last
# one. (Where vng's initramfs mounts the root, scripts/vm/virtme-run adds
# the cache mode.)
# log_buf_len: the tests read the kernel log back from their own marker
# line on; the stress runs of make check-debug log more than the default
# 128 KiB buffer holds.
# no_timer_check: an emulated guest on a busy host can miss the IO-APIC
# timer check at boot and panic ("IO-APIC + timer doesn't work!"); the
# kernel's option for virtualised guests skips it.
append="root=/dev/root log_buf_len=8M no_timer_check${tsc_khz:+ tsc_early_khz=$tsc_khz}"
# net.ifnames=0: the network card is eth0, whatever its PCI slot.
[ -z "$net_opts" ] || append="$append net.ifnames=0"
if [ "$cache" != none ]; then
	append="$append rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=$cache"
fi
# PATH=...: the guest's init (virtme-ng-init) starts with this PATH in front
# of its own, and finds the stand-ins of scripts/vm/boot-services for the
# boot-time systemd-tmpfiles and udev coldplug it would run (see there); the
# command takes the directory out of its PATH again. A guest booted with
# systemd runs the real ones.
boot_services=$KLP_TOP/scripts/vm/boot-services
command="$*"
if [ "${KLP_VM_SYSTEMD:-0}" != 1 ]; then
	append="$append PATH=$boot_services:/usr/sbin:/usr/bin:/sbin:/bin"
	command="PATH=\${PATH#$boot_services:}; $command"
fi
[ -n "${KLP_VM_APPEND:-}" ] && append="$append $KLP_VM_APPEND"

# The 7.3 line boots Debian's kernel with the Debian root as the guest's
# root, and the repository (its scripts, klpctl, the built modules) at the
# path it has on the host: bind-mounted into the root, read-only, in a mount
# namespace of vng's own (with_repo). A --rodir would not do: vng mounts every
# --rwdir first, so the repository would be mounted over RESULTS_DIR.
root_opts=
rwdir=$results
if [ -n "$line_root" ]; then
	root_opts="--root $line_root"
	rwdir=$results=$results
	mkdir -p "$line_root$KLP_TOP"
fi

# with_repo COMMAND...: runs COMMAND, with the repository in the Debian root
# on the 7.3 line.
with_repo() {
	if [ -n "$line_root" ]; then
		# shellcheck disable=SC2016 # expanded by the inner shell
		as_root unshare --mount --propagation private sh -ec '
			mount --bind "$1" "$2"
			mount -o remount,bind,ro "$2"
			shift 2
			exec "$@"' with_repo "$KLP_TOP" "$line_root$KLP_TOP" "$@"
	else
		"$@"
	fi
}

log "booting $line_release under virtme-ng (${accel:+TCG, }time limit ${timeout}s)"
start=$(date +%s)
# The guest's own output is shown live; kernel messages ("[    1.234] ...")
# only go to the log.
{
	# shellcheck disable=SC2086 # $accel, $root_opts, $systemd: options without spaces
	with_repo "$sched_batch" "$slice" timeout -k 10 "$timeout" "$vng" --run "$line_image" $accel $root_opts $systemd \
		--cpus "$cpus" --memory 1G --force-9p --append "$append" --verbose \
		--rwdir="$rwdir" --exec "$command" ${qemu_opts:+"$qemu_opts"} ${net_opts:+"$net_opts"} </dev/null
	echo $? >"$results/vng.rc"
	# The host CPU time of vng and QEMU (user + system, in seconds): what
	# the guest cost the host, whatever else shared its cores. (`times`
	# must not be part of a pipeline: its subshell would have no children.)
	times >"$results/vng.times"
	awk 'NR == 2 { gsub(/[ms]/, " "); printf "%d\n", $1 * 60 + $2 + $3 * 60 + $4 }' \
		"$results/vng.times" >"$results/vng.cpu"
} 2>&1 | tee "$results/console.log" | grep --line-buffered -v '^\[ *[0-9]*\.[0-9]*\]' || true

rc=$(cat "$results/vng.rc" 2>/dev/null || echo 125)
log "guest ran for $(elapsed "$start"), $(cat "$results/vng.cpu" 2>/dev/null || echo '?') s of host CPU (vng exit status $rc)"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	log "the guest did not finish within ${timeout}s; console log: $results/console.log"
fi
if grep -q 'Kernel panic' "$results/console.log"; then
	log "the guest kernel panicked; console log: $results/console.log"
	grep -A 20 'Kernel panic' "$results/console.log" | head -n 30 >&2
fi

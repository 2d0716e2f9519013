# shellcheck shell=sh
# The guest library of the klp-rs selftests: TAP output, assertions on the
# kernel's observable state (sysfs, /proc, the kernel log), one wait loop
# (loop_until), module loading and unloading, dynamic debug and kmemleak.
# Sourced by each selftests/test-*.sh (and bench/bench-guest.sh), which run
# as root inside the test VM.
#
# Every assertion prints one TAP line: `ok N - what` or `not ok N - what`
# followed by `# ` lines that say why. tap_end prints the plan.

KLP_SYSFS=/sys/kernel/livepatch
KLP_TOP=${KLP_TOP:-$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)}
# The built modules of the kernel line under test (build/LINE, set by the
# host in guest.env); the repository itself for an in-place build.
KLP_MODULES=${KLP_MODULES:-$KLP_TOP}
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

# todo DESC REASON [WHY...]: a case that fails for a known bug outside
# klp-rs, with TAP's TODO directive: reported with its reason, and counted
# neither as passed nor as failed (scripts/tap/summary.sh).
todo() {
	tap_count=$((tap_count + 1))
	printf 'not ok %d - %s # TODO %s\n' "$tap_count" "$1" "$2"
	shift 2
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

# kernel_config NAME: the running kernel's value of CONFIG option NAME (y,
# m, a string, or nothing if unset), from /proc/config.gz or, for a
# distribution kernel, /boot/config-$(uname -r).
kernel_config() {
	if [ -r /proc/config.gz ]; then
		zcat /proc/config.gz
	else
		cat "/boot/config-$(uname -r)" 2>/dev/null
	fi | sed -n "s/^$1=//p"
}

# kernel_at_least X.Y: the running kernel is version X.Y or later (for the
# behaviour that changed between the kernel lines klp-rs tests on).
kernel_at_least() {
	running=$(uname -r | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
	[ "$(printf '%s\n%s\n' "$running" "$1" | sort -V | head -n 1)" = "$1" ]
}

# sysfs_is FILE VALUE: FILE holds VALUE.
sysfs_is() {
	[ "$(sysfs_value "$1")" = "$2" ]
}

# loop_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds; fails
# once SECONDS have passed without that. The one wait loop of the tests.
loop_until() {
	loop_left=$(($1 * 10))
	shift
	until "$@"; do
		[ "$loop_left" -gt 0 ] || return 1
		sleep 0.1
		loop_left=$((loop_left - 1))
	done
}

# transition_over PATCH: PATCH is not in transition (or is gone).
transition_over() {
	[ ! -d "$KLP_SYSFS/$1" ] || [ "$(sysfs_value "$KLP_SYSFS/$1/transition")" = 0 ]
}

# patch_gone PATCH: /sys/kernel/livepatch/PATCH does not exist.
patch_gone() {
	[ ! -d "$KLP_SYSFS/$1" ]
}

# wait_transition PATCH: waits until PATCH's transition is over (or PATCH is
# gone). Fails after KLP_TRANSITION_TIMEOUT seconds.
wait_transition() {
	loop_until "$KLP_TRANSITION_TIMEOUT" transition_over "$1"
}

# wait_patch_gone PATCH: waits until /sys/kernel/livepatch/PATCH is removed.
wait_patch_gone() {
	loop_until "$KLP_TRANSITION_TIMEOUT" patch_gone "$1"
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
	printf '%s/samples/%s/%s.ko\n' "$KLP_MODULES" "$1" "$1"
}

# test_ko NAME: path of one of our Rust test modules (selftests/test_modules).
test_ko() {
	printf '%s/selftests/test_modules/%s.ko\n' "$KLP_MODULES" "$1"
}

# load_patch NAME [PARAM=VALUE...]: insmod a test live patch and wait for its
# transition to finish. Prints why on failure.
load_patch() {
	mod=$1
	shift
	insmod "$(test_ko "$mod")" "$@" && wait_transition "$mod"
}

# unreferenced MODULE: MODULE's reference count is 0.
unreferenced() {
	[ "$(sysfs_value "/sys/module/$1/refcnt")" = 0 ]
}

# unload MODULE: rmmod, once the module's reference count has dropped to 0
# (the livepatch core releases a patch module's reference asynchronously).
unload() {
	loop_until "$KLP_TRANSITION_TIMEOUT" unreferenced "$1" || true
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

# kmemleak_count: the number of objects in the kmemleak report on stdin.
kmemleak_count() {
	grep -c '^unreferenced object' || true
}

# The memory that livepatch_shadow_mod's original dummy_alloc() forgets (the
# leak that livepatch_shadow_fix1 fixes) is a leak by design, and holds the
# bytes "leak". kmemleak may report it long after the module is gone, when its
# backtrace is bare addresses: kmemleak is conservative, and a stale copy of
# the pointer hides the object until that copy is overwritten. On 7.3 such a
# copy stays in a per-CPU slab sheaf: alloc_from_pcs() (mm/slub.c) takes
# objects[size - 1] and leaves the slot as it was, and kmemleak scans whole
# sheaves (they are kmalloc'ed). So these leaks are told by what they hold.
#
# The known kernel bug (see KLP_KNOWN_BUG below) leaks the ftrace filter of
# a klp_ops: objects allocated by ftrace_set_filter_ip() under
# klp_patch_object(), at most 3 per warning of that bug.

# kmemleak_split WHICH: of the kmemleak report on stdin, the leaks by design
# (WHICH=by-design), those with the known bug's backtrace (kernel-bug), the
# rest (other), or all but the leaks by design (unexpected).
kmemleak_split() {
	awk -v want="$1" '
		function flush() {
			if (blk == "")
				return
			class = size8 && mark ? "by-design" : filter && klp ? "kernel-bug" : "other"
			if (class == want || (want == "unexpected" && class != "by-design"))
				print blk
		}
		/^unreferenced object/ {
			flush()
			blk = $0
			size8 = /[(]size 8[)]:$/
			mark = filter = klp = 0
			next
		}
		prev ~ /hex dump/ && /^ *6c 65 61 6b / { mark = 1 }
		/[] ]ftrace_set_filter_ip\+0x/ { filter = 1 }
		/[] ]klp_patch_object\+0x/ { klp = 1 }
		{ blk = blk "\n" $0; prev = $0 }
		END { flush() }'
}

# A kernel bug that klp-rs's tests meet, reported as TODO where it shows
# (Documentation/testing.md, "A kernel bug"; the fix:
# Documentation/upstream/0001-livepatch-free-the-filter-of-a-removed-klp_ops-without-allocating.patch):
# when a replace's transition completes, the livepatch core removes the
# replaced patch's ftrace_ops with klp_unpatch_func(), which calls
# ftrace_set_filter_ip(..., remove=1), and that allocates. If the
# allocation fails (only under fault injection), it warns at patch.c in
# __klp_unpatch_object(), and kfree(ops) leaks the filter (kernel-bug above).
# shellcheck disable=SC2034 # read by the tests and the guest runner that source this
KLP_KNOWN_BUG='WARNING: (.* at )?kernel/livepatch/patch\.c:[0-9]+ (at )?__klp_unpatch_object\+'
# The guest's record of each warning of that bug a test met, one line each
# (the WARNING line without its time stamp), for the host's judgement of
# the kernel log and of kmemleak's last scan (scripts/tap/summary.sh).
KLP_KNOWN_BUG_LOG=${KLP_RESULTS:+$KLP_RESULTS/known-kernel-bug.log}

# known_bug_record LINE: records one warning of the known bug.
known_bug_record() {
	[ -z "$KLP_KNOWN_BUG_LOG" ] || printf '%s\n' "$1" >>"$KLP_KNOWN_BUG_LOG"
}

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

# dmesg_has REGEX: a kernel log line since the last dmesg_mark matches REGEX.
dmesg_has() {
	dmesg_since_mark | grep -Eq -- "$1"
}

# wait_dmesg REGEX [SECONDS]: waits until a kernel log line since the last
# dmesg_mark matches REGEX (default: 30 s). Fails when the time is up.
wait_dmesg() {
	loop_until "${2:-30}" dmesg_has "$1"
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

# klp_debug on|tasks|off: the livepatch core's pr_debug() messages (the steps
# of a transition) through dynamic debug, as the kernel's own livepatch
# selftests turn them on: without klp_try_switch_task()'s line for each task
# that blocks a transition, unless `tasks` asks for those too.
klp_debug() {
	case $1 in
	on) set -- +p -p ;;
	tasks) set -- +p +p ;;
	*) set -- -p -p ;;
	esac
	klp_debug_ctl=/proc/dynamic_debug/control
	[ -w "$klp_debug_ctl" ] || klp_debug_ctl=/sys/kernel/debug/dynamic_debug/control
	printf '%s\n' "file kernel/livepatch/* $1" "func klp_try_switch_task $2" >"$klp_debug_ctl"
}

# overlay_root DIR: a writable copy of the guest's root file system at DIR,
# (redirect_dir=on: dpkg renames directories, which an overlay of the host's
# root over 9p otherwise refuses with EXDEV),
# for tests that install packages (dpkg) without changing the root itself:
# an overlay of / (read-only: the host's, or the cached Debian root) under a
# tmpfs that holds every change, with /proc, /sys, /dev and /run/klp-rs's
# parent bind-mounted from the guest, so that what runs in it (`chroot DIR`)
# sees the running kernel; and the repository at its own path (the packages
# in build/deb), bind-mounted where the root's fresh /tmp hides it (a clone
# in /tmp). Gone at the end of the boot, or with overlay_root_remove DIR.
overlay_root() {
	mkdir -p "$1" /tmp/klp-rs-overlay &&
		mount -t tmpfs -o mode=0755 klp-rs-overlay /tmp/klp-rs-overlay &&
		mkdir -p /tmp/klp-rs-overlay/upper /tmp/klp-rs-overlay/work &&
		mount -t overlay overlay \
			-o lowerdir=/,upperdir=/tmp/klp-rs-overlay/upper,workdir=/tmp/klp-rs-overlay/work,redirect_dir=on "$1" &&
		mount --rbind /proc "$1/proc" &&
		mount --rbind /sys "$1/sys" &&
		mount --rbind /dev "$1/dev" &&
		mount -t tmpfs -o mode=0755 klp-rs-run "$1/run" &&
		mount -t tmpfs -o mode=1777 klp-rs-tmp "$1/tmp" &&
		{ [ -d "$1$KLP_TOP/selftests" ] ||
			{ mkdir -p "$1$KLP_TOP" && mount --bind "$KLP_TOP" "$1$KLP_TOP"; }; }
}

# overlay_dpkg_db DIR TARBALL: the overlay DIR's /var/lib/dpkg on a tmpfs of
# its own, unpacked from TARBALL: the same directory of the guest's root,
# packed by the host before the guest booted (KLP_DPKG_DB, scripts/check.sh).
# dpkg reads every package's file list at each install and removal: over 9p
# under TCG that is ~2.5 ms a file, 4 s a run on the Debian root (1056 files)
# and 8 s on the host's (3234), from a tmpfs 1.3 to 2 s; reading the files
# into the tmpfs in the guest costs more than it saves (cp -r: 7 and 20 s),
# one file over 9p does not. Undone by overlay_root_remove.
overlay_dpkg_db() {
	mount -t tmpfs -o mode=0755 klp-rs-dpkg "$1/var/lib/dpkg" &&
		tar -C "$1/var/lib" -xf "$2"
}

# overlay_root_remove DIR: unmounts what overlay_root and overlay_dpkg_db
# mounted.
overlay_root_remove() {
	! mountpoint -q "$1$KLP_TOP" || umount "$1$KLP_TOP"
	! mountpoint -q "$1/var/lib/dpkg" || umount "$1/var/lib/dpkg"
	for dir in tmp run dev sys proc; do
		umount -R "$1/$dir" 2>/dev/null || umount -l "$1/$dir" 2>/dev/null
	done
	umount "$1" 2>/dev/null || umount -l "$1"
	umount /tmp/klp-rs-overlay
}

# overlay_dirs ROOT DEB...: makes the directories of the packages DEB in the
# overlay ROOT beforehand where it cannot rename a new directory. overlayfs
# marks such a directory opaque with an xattr, and its upper tmpfs has no
# xattrs without CONFIG_TMPFS_XATTR (the 6.12 test kernel and the 7.3 debug
# kernel; Debian's 7.3 kernel has them): rename(2) then fails with EXDEV,
# and dpkg renames every directory it creates (DIR.dpkg-new -> DIR). A real
# rename(2) is tried (perl: mv would fall back to copying).
overlay_dirs() {
	dirs_root=$1
	shift
	probe=$dirs_root/usr/.klp-rs-rename-probe
	mkdir "$probe.new" || return 1
	if perl -e 'rename($ARGV[0], $ARGV[1]) or exit 1' "$probe.new" "$probe"; then
		rmdir "$probe"
		return 0
	fi
	rmdir "$probe.new"
	for deb; do
		dpkg-deb -c "$deb" | awk '$1 ~ /^d/ { print $NF }' | while read -r dir; do
			mkdir -p "$dirs_root/$dir"
		done
	done
}

# boot_root WORK LOWER: for a host test that boots a guest with systemd as
# PID 1 (scripts/vm/run.sh with KLP_VM_SYSTEMD=1 KLP_VM_RW=1 KLP_VM_ROOT=WORK/root):
# WORK/root, a throw-away overlay of LOWER (the cached Debian 13 root, which
# stays as it is) with its changes in WORK/upper; systemd as /sbin/init
# (Debian's root has no systemd-sysv), and the units a test boot does not
# need masked (getty: vng's command would run there, but the root has no
# /dev/ttyS0 unit in time; timers; tmpfiles-setup takes a minute over 9p;
# the mounts, modprobes and settings of sysinit.target that neither
# klpctl.service nor sshd uses, and the journal's flush to /var: 10 s less
# of the emulator's time at every boot, its userspace up in 22 s instead of
# 29). Removed with boot_root_remove WORK.
boot_root() {
	mkdir -p "$1/upper" "$1/work" "$1/root" &&
		mount -t overlay overlay -o "lowerdir=$2,upperdir=$1/upper,workdir=$1/work" "$1/root" ||
		return 1
	ln -sf /usr/lib/systemd/systemd "$1/root/usr/sbin/init"
	for unit in serial-getty@ttyS0.service getty-static.service getty@tty1.service \
		systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer e2scrub_reap.service \
		e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
		fstrim.timer dracut-shutdown.service systemd-update-utmp.service \
		modprobe@configfs.service modprobe@drm.service modprobe@efi_pstore.service \
		modprobe@fuse.service dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount \
		sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount \
		proc-sys-fs-binfmt_misc.automount systemd-binfmt.service systemd-pstore.service \
		systemd-random-seed.service systemd-sysctl.service kmod-static-nodes.service \
		systemd-udev-load-credentials.service systemd-journal-flush.service; do
		ln -sf /dev/null "$1/root/etc/systemd/system/$unit"
	done
	# A root booted before: the units of a first boot after /usr changed
	# (ConditionNeedsUpdate: ldconfig, the journal catalog, hwdb; minutes
	# under the emulator) have nothing to do.
	touch "$1/root/etc/.updated" "$1/root/var/.updated"
}

# boot_root_remove WORK: unmounts boot_root's overlay and removes WORK.
boot_root_remove() {
	umount -R "$1/root" 2>/dev/null || umount -l "$1/root" 2>/dev/null
	rm -rf "$1"
}

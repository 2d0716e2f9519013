#!/bin/sh
# `make check`: install what is missing, build (or reuse) the kernel of each
# kernel line and the modules for it, run every selftest inside the VMs of
# each line, and judge the results.
# `make check-debug` is the same on debug kernels (KLP_KERNEL_VARIANT=debug:
# lockdep, KASAN, kmemleak, object debugging), with 100 stress cycles (30 of
# the syscall stress, whose cycles are slower): the debug build of the 6.12
# test kernel, and for the 7.3 line a test kernel built from Debian's
# linux-source-7.3 (Debian's own image has none of these).
#
#   scripts/check.sh [TEST...]
#
# The kernel lines are $KLP_LINES (default: "6.12 7.3"; `make check
# LINES=7.3` runs one). A TEST is one of our scripts (selftests/test-foo.sh),
# or the kernel's own livepatch selftests of the line's kernel, run unchanged:
# `upstream-rust` against our Rust test modules, `upstream-c` against the C
# originals (the control), or one of their scripts, e.g.
# `upstream-rust:test-state`. The default is all of them, and the host tests
# (static checks, klpctl's cargo test); named tests run alone. Results are kept in
# results/check/LINE/, each VM's console and kernel log in
# results/check/LINE/vm-NAME/.
#
# Each of our scripts states what it needs in a header line the runner reads:
#   # klp-rs-test: cpus=N [cost=N] [debug-cost=N] [order=last] [kernel>=X.Y] [line=L] [variant=V] [timeout=S]
# cpus: the vCPUs it needs; cost: about how many seconds it runs (on the 7.3
# line), its weight when tests are spread over the VMs (default 10), and,
# summed over a VM's tests, the VM's weight when the guests wait for room
# (start_jobs; a host test's cost is its own weight there);
# debug-cost: the same on the debug kernels (default 10 times cost);
# order=last: it runs after the others of its VM (several of them: the
# heaviest first, so a cheap one such as test-signing.sh, whose enforcement
# of module signatures cannot be undone, runs after all);
# kernel>=X.Y: it is left out (and reported as skipped) on older kernels;
# line=L: it is about that kernel line only (test-ansible-rollout.sh and
# test-boot-systemd.sh: Debian's 7.3 kernel with its Debian 13 root, what a
# fleet runs); the other lines leave it out (they say so in the log, and
# count nothing);
# host=1: a host test, run on the host as a job beside the line's VMs
# (start_jobs), as `sh SCRIPT LINE RESULTS/LINE`, printing
# TAP; it boots guests of its own with systemd as PID 1, which the harness's
# guests are not (test-boot-systemd.sh; test-ansible-rollout.sh: a managed
# host that the controller on the host reaches over SSH).
# variant=V: it runs only on the debug kernels (debug: make check-debug) or
# only on the others (base: make check); the other leaves it out (it says so
# in its log, and counts nothing);
# timeout=S: its time limit in the guest, if longer than KLP_TEST_TIMEOUT
# (default 600 s; scripts/vm/guest-runner.sh).
set -eu
export KLP_LOG_TAG=check
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/common.sh"

start=$(date +%s)
# step TEXT: a progress line with the time since make check started.
step() {
	log "step $* (at $(elapsed "$start"))"
}
results=$KLP_TOP/results/check
[ "$KLP_KERNEL_VARIANT" = base ] || results=$results-$KLP_KERNEL_VARIANT
if [ "$KLP_KERNEL_VARIANT" != base ]; then
	KLP_STRESS_CYCLES=${KLP_STRESS_CYCLES:-100}
	KLP_STRESS_SYSCALL_CYCLES=${KLP_STRESS_SYSCALL_CYCLES:-30}
	KLP_STRESS_SYSCALL_TASKS=${KLP_STRESS_SYSCALL_TASKS:-8}
	KLP_COEXIST=${KLP_COEXIST:-full}
	KLP_TEST_TIMEOUT=${KLP_TEST_TIMEOUT:-5400}
	KLP_VM_TIMEOUT=${KLP_VM_TIMEOUT:-10800}
	export KLP_VM_TIMEOUT
fi
# The host tests (static checks, the cargo tests of klpctl and klp-post-link)
# run with the whole
# suite, not when tests are named.
host_tests=
if [ $# -eq 0 ]; then
	set -- "$KLP_TOP"/selftests/test-*.sh upstream-rust upstream-c
	host_tests="static-checks klpctl-cargo-test klp-post-link-cargo-test"
fi
rm -rf "$results"
mkdir -p "$results"

# The settings the guests get, and nothing else of the host's environment.
GUEST_SETTINGS="KLP_STRESS_CYCLES KLP_STRESS_SYSCALL_CYCLES KLP_STRESS_SYSCALL_TASKS KLP_COEXIST \
KLP_TEST_TIMEOUT KLP_TRANSITION_TIMEOUT KLP_GUEST_BUSYBOX KLP_FAULT_SERIES KLP_FAULT_MAX"

# The two VMs of a line boot side by side, one per host core (QEMU's TCG runs
# each single-threaded):
#  - "smp", 2 vCPUs: what needs tasks on other CPUs while code is patched:
#    our Rust test modules under the kernel's own selftests, the stress and
#    syscall tests (cpus=2);
#  - "main", 1 vCPU: the rest, and the C control run of the kernel's
#    selftests. With one vCPU a transition can finish as soon as it starts;
#    with two, the idle task of the other CPU is running and the core only
#    retries after a second (klp_transition_work), whatever the test. On the
#    debug kernel it has 2 vCPUs too, so that the long stress runs can go
#    side by side.
# Under QEMU's multi-threaded TCG, one vCPU has been seen executing a stale
# int3 after ftrace's text_poke_bp() on the other had finished ("Oops: int3",
# on 6.12 and on Debian's 7.3 alike), so the VMs run TCG single-threaded
# (KLP_VM_TCG_SINGLE, see scripts/vm/run.sh); the scripts that patch getpid
# while tasks hammer it run last (order=last) to limit the damage if that is
# turned off.
main_cpus=1
[ "$KLP_KERNEL_VARIANT" = base ] || main_cpus=2

# header SCRIPT KEY DEFAULT: the value of KEY in SCRIPT's klp-rs-test line.
header() {
	value=$(sed -n 's/^# klp-rs-test:.*[[:space:]]\('"$2"'\)=\([^[:space:]]*\).*$/\2/p' "$1" |
		head -n 1)
	printf '%s\n' "${value:-$3}"
}

# builtin_cert TREE PEM: 1 if the certificate of PEM is built into the
# kernel of TREE (certs/signing_key.x509 and certs/x509_certificate_list make
# its builtin keyring), else 0.
builtin_cert() {
	openssl x509 -in "$2" -outform DER 2>/dev/null | python3 -c '
import sys
cert = sys.stdin.buffer.read()
builtin = b""
for name in sys.argv[1:]:
    try:
        with open(name, "rb") as f:
            builtin += f.read()
    except OSError:
        pass
print(1 if cert and cert in builtin else 0)' "$1/certs/signing_key.x509" "$1/certs/x509_certificate_list"
}

# version_ge A B: kernel version A (X.Y) is at least B.
version_ge() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]
}

# plan_line LINE: queues the tests for LINE's VMs into
# $results/LINE/vm-{smp,main}/entries.list (a test that needs a newer kernel
# gets a TAP file that says it was skipped); adds LINE/NAME of each to names.
plan_line() {
	line=$1
	shift
	dir=$results/$line
	upstream=$dir/upstream
	mkdir -p "$dir/vm-smp" "$dir/vm-main"
	: >"$dir/plan"
	: >"$dir/host-tests"
	# one line per test: cost cpus order entry name
	for test; do
		case $test in
		upstream-rust | upstream-c)
			flavour=${test#upstream-}
			for script in "$upstream/$flavour"/test-*.sh; do
				plan_upstream "$flavour" "$script"
			done
			;;
		upstream-rust:* | upstream-c:*)
			flavour=${test%%:*}
			flavour=${flavour#upstream-}
			script=${test#*:}
			[ -f "$upstream/$flavour/${script%.sh}.sh" ] || die "no upstream script ${script%.sh}.sh"
			plan_upstream "$flavour" "$upstream/$flavour/${script%.sh}.sh"
			;;
		*)
			[ -f "$test" ] || die "no test script $test"
			# The guest does not start in this directory (on 7.3 its root
			# is the Debian root): a relative path would not be found.
			case $test in /*) ;; *) test=$PWD/$test ;; esac
			name=$(basename "$test" .sh)
			min=$(header "$test" 'kernel>' '')
			if [ -n "$min" ] && ! version_ge "$line" "$min"; then
				printf 'TAP version 13\nok 1 - %s # SKIP needs kernel %s or later\n1..1\n' \
					"$name" "$min" >"$dir/$name.tap"
				echo 0 >"$dir/$name.rc"
				names="$names $line/$name"
				continue
			fi
			# A test of one kernel line: the others leave it out.
			only=$(header "$test" line '')
			if [ -n "$only" ] && [ "$only" != "$line" ]; then
				log "$line: $name runs on the $only line only"
				continue
			fi
			# A test of one variant only (debug: make check-debug; base:
			# make check): the other leaves it out.
			variant=$(header "$test" variant '')
			if [ -n "$variant" ] && [ "$variant" != "$KLP_KERNEL_VARIANT" ]; then
				case $variant in base) where='make check' ;; *) where=make\ check-$variant ;; esac
				log "$line: $name runs only in $where"
				continue
			fi
			# A host test boots its own guests: run on the host after the
			# line's VMs.
			if [ "$(header "$test" host 0)" = 1 ]; then
				printf '%s\n' "$test" >>"$dir/host-tests"
				names="$names $line/$name"
				continue
			fi
			# A longer time limit goes to the guest with the entry.
			entry=$test
			limit=$(header "$test" timeout '')
			[ -z "$limit" ] || entry=limit:$limit:$test
			cost=$(header "$test" cost 10)
			[ "$KLP_KERNEL_VARIANT" = base ] || cost=$(header "$test" debug-cost $((cost * 10)))
			printf '%s %s %s %s %s\n' "$cost" "$(header "$test" cpus 1)" \
				"$(header "$test" order normal)" "$entry" "$name" >>"$dir/plan"
			;;
		esac
	done
	# Spread: heaviest first, each to the VM with the least cost so far that
	# has the vCPUs; then each VM's list in the order given, order=last last.
	load_smp=0
	load_main=0
	# shellcheck disable=SC2034 # cost is read in the eval
	sort -s -k1,1nr "$dir/plan" | while read -r cost cpus order entry _; do
		vm=smp
		if [ "$cpus" -le "$main_cpus" ] && [ "$load_main" -le "$load_smp" ]; then
			vm=main
		fi
		eval "load_$vm=\$((load_$vm + cost))"
		printf '%s %s %s %s\n' "$vm" "$order" "$entry" "$cost"
	done >"$dir/assigned"
	for vm in smp main; do
		tests=$(awk -v vm=$vm '$1 == vm && $2 != "last" { print $3 }
			$1 == vm && $2 == "last" { last = last $3 "\n" }
			END { printf "%s", last }' "$dir/assigned")
		if [ -z "$tests" ]; then
			: >"$dir/vm-$vm/entries.list"
		elif [ -d "$upstream/modroot" ]; then
			printf 'modules:%s\n%s\n' "$upstream/modroot/lib/modules" "$tests" >"$dir/vm-$vm/entries.list"
		else
			printf '%s\n' "$tests" >"$dir/vm-$vm/entries.list"
		fi
	done
	names="$names $(awk -v l="$line" '{ print l "/" $5 }' "$dir/plan" | tr '\n' ' ')"
}

# plan_upstream FLAVOUR SCRIPT: one of the kernel's scripts, with our Rust
# modules (on the 2-vCPU VM) or with the C ones (the control). Their costs:
# seconds each took on the 7.3 line.
plan_upstream() {
	cpus=1
	[ "$1" = c ] || cpus=2
	case $(basename "$2" .sh) in
	test-ftrace) cost=36 ;;
	test-callbacks) cost=20 ;;
	test-sysfs) cost=13 ;;
	test-livepatch) cost=11 ;;
	test-state) cost=9 ;;
	test-kprobe) cost=8 ;;
	*) cost=4 ;;
	esac
	[ "$KLP_KERNEL_VARIANT" = base ] || cost=$((cost * 10))
	printf '%s %s normal upstream:%s:%s upstream-%s-%s\n' "$cost" "$cpus" "$1" "$2" "$1" \
		"$(basename "$2" .sh)" >>"$dir/plan"
}

# run_vm LINE NAME CPUS: one VM of LINE, its output prefixed by [LINE/NAME];
# the entries are in a file: the guest's command line has little room.
run_vm() {
	dir=$results/$1/vm-$2
	[ -s "$dir/entries.list" ] || return 0
	for var in $GUEST_SETTINGS; do
		eval "set=\${$var+x} value=\${$var-}"
		# shellcheck disable=SC2154 # set by the eval
		[ -z "$set" ] || printf '%s=%s\n' "$var" "$(shell_quote "$value")"
	done >"$dir/guest.env"
	printf "KLP_MODULES='%s'\nKLP_GETPID_HELPER='%s'\nKLP_UPSTREAM='%s'\nKLP_VENV='%s'\n" \
		"$(line_build_dir "$1")" "$results/$1/upstream/test_klp-call_getpid" \
		"$results/$1/upstream" "$KLP_VENV" >>"$dir/guest.env"
	printf "KLP_DPKG_DB='%s'\n" "$results/$1/dpkg-db.tar" >>"$dir/guest.env"
	# Does the line's kernel trust the klp-rs test key? The kernels klp-rs
	# builds do (CONFIG_MODULE_SIG_KEY); Debian's stock 7.3 trusts only
	# Debian's keys; a tree of the user's (KDIR) does if the test key's
	# certificate is among those built into it.
	case $1:$KLP_KERNEL_VARIANT in
	6.12:* | 7.3:debug) trusted=1 ;;
	kdir:*) trusted=$(builtin_cert "$KDIR" "$("$KLP_TOP/scripts/build/sign.sh" --test-key)") ;;
	*) trusted=0 ;;
	esac
	printf "KLP_SIGN_TRUSTED=%s\n" "$trusted" >>"$dir/guest.env"
	KLP_VM_CPUS=$3 KLP_VM_NAME=$1/$2 "$KLP_TOP/scripts/vm/run.sh" "$1" "$dir" \
		sh "$KLP_TOP/scripts/vm/guest-runner.sh" "$dir" "@$dir/entries.list" 2>&1 |
		sed -u "s|^klp-rs: |[$1/$2] |"
}

# pack_dpkg_db LINE: the dpkg database of LINE's guest root (the Debian
# root, or the host's) packed into results/LINE/dpkg-db.tar, from which
# test-deb.sh's dpkg reads it (overlay_dpkg_db in selftests/lib.sh): 3 to 8
# s less a dpkg run under TCG.
pack_dpkg_db() {
	(line_setup "$1" 2>/dev/null && tar -C "$line_root/var/lib" -cf "$results/$1/dpkg-db.tar" dpkg)
}

# The guests of the run: each VM of a line, and each host test (which boots
# its guests one after the other), is a job. The jobs start as the host's
# cores have room for them, the costliest ready one first (the sum of its
# tests' costs; a host test's own cost): one per core at once, then one more
# whenever the cores have been half a core idle on average for a while (the
# guests sleep much of their time: transitions, loop_until; on the debug
# kernels most of it), but at most $slots at once (KLP_VM_SLOTS, default two
# per core). Booted all at once, the 8 guests of make check took a fifth more
# CPU time each than two alone (7.3's VMs 238 and 227 s instead of 184 and
# 187: their translated code evicted from the host's caches by the others';
# since QEMU runs as a batch task with a 20 ms slice, scripts/vm/run.sh, three
# guests on two cores cost what each costs alone); a warm make check took
# 10:25 (1190 s of CPU) that way and 9:34 (1084 s) this way, in the same hour.
# A fifth job (three per core, the default until 2026-12-05) started only when
# the idle average caught a guest between two transitions: then the fleet test
# joined the four VMs at 1:10 instead of 3:20, its guest and the 2-vCPU VMs
# took a fifth to a third more CPU, and the run a minute more (8:02, 8:39,
# 7:40 against 6:41-7:13). Starting the 7.3 line's host tests before the 6.12
# VMs left those for last, alone: 10 minutes and more.
slots=${KLP_VM_SLOTS:-$(($(nproc) * 2))}
queue=$results/jobs.queue
: >"$queue"
running=

# queue_job COST JOB...: JOB (vm LINE NAME CPUS, or host LINE SCRIPT) waits
# for a slot.
queue_job() {
	printf '%s\n' "$*" >>"$queue"
}

# queue_line LINE: the jobs of LINE: its two VMs and its host tests.
queue_line() {
	for vm in smp main; do
		[ -s "$results/$1/vm-$vm/entries.list" ] || continue
		cpus=2
		[ "$vm" = smp ] || cpus=$main_cpus
		queue_job "$(awk -v vm=$vm '$1 == vm { c += $4 } END { print c + 0 }' \
			"$results/$1/assigned")" vm "$1" "$vm" "$cpus"
	done
	[ -s "$results/$1/host-tests" ] || return 0
	while read -r test; do
		queue_job "$(header "$test" cost 10)" host "$1" "$test"
	done <"$results/$1/host-tests"
}

# run_host_test LINE SCRIPT: one host test, its TAP output and exit status
# into results/LINE/.
run_host_test() {
	name=$(basename "$2" .sh)
	step "3/5: $1/$name (a host test: it boots its own guests)"
	rc=0
	sh "$2" "$1" "$results/$1" >"$results/$1/$name.tap" 2>"$results/$1/$name.stderr" || rc=$?
	echo "$rc" >"$results/$1/$name.rc"
}

# idle: the host's idle CPU time since the last call, in hundredths of a
# core, averaged with the earlier calls' (each counting half as much as the
# next), in $idle_avg. Niced time counts as idle: the host tests (static
# checks, cargo tests) run niced in what the guests leave.
idle_avg=0
cpu_last=
cores=$(nproc)
idle() {
	# shellcheck disable=SC2046 # three numbers
	set -- $(awk -v last="$cpu_last" -v n="$cores" '$1 == "cpu" {
		i = $3 + $5 + $6; t = $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9
		split(last, l, " ")
		print i, t, (last != "" && t > l[2] ? int(100 * n * (i - l[1]) / (t - l[2])) : -1)
		exit }' /proc/stat)
	cpu_last="$1 $2"
	[ "$3" -lt 0 ] || idle_avg=$(((idle_avg + $3) / 2))
}

# start_jobs: forgets the jobs that have ended, and starts the costliest
# queued ones: up to one per host core at once, then one more if the cores
# have been idle enough (idle) and the last one started 10 s ago or more
# (its boot keeps a core busy).
last_start=0
start_jobs() {
	still=
	count=0
	for pid in $running; do
		if kill -0 "$pid" 2>/dev/null; then
			still="$still $pid"
			count=$((count + 1))
		else
			wait "$pid" || true
		fi
	done
	running=$still
	idle
	while [ -s "$queue" ] && [ "$count" -lt "$slots" ]; do
		if [ "$count" -ge "$cores" ]; then
			if [ "$idle_avg" -lt 50 ] || [ $(($(date +%s) - last_start)) -lt 10 ]; then
				break
			fi
		fi
		sort -s -k1,1nr "$queue" >"$queue.new"
		job=$(head -n 1 "$queue.new")
		tail -n +2 "$queue.new" >"$queue"
		# shellcheck disable=SC2086 # COST TYPE LINE ARGS: words without spaces
		set -- $job
		case $2 in
		vm) run_vm "$3" "$4" "$5" & ;;
		host) run_host_test "$3" "$4" & ;;
		esac
		running="$running $!"
		count=$((count + 1))
		last_start=$(date +%s)
		idle_avg=0
	done
}

# run_jobs: until every queued job has run.
run_jobs() {
	start_jobs
	while [ -n "$running" ]; do
		sleep 1
		start_jobs
	done
}

step "1/5: toolchain"
"$KLP_TOP/scripts/setup/toolchain.sh"
# The kernels of the lines side by side: on a new machine the Debian root is
# mostly downloads and unpacking, which the 6.12 build's compiling hides.
step "2/5: the kernels of the lines ($KLP_LINES)"
kernels=
for line in $KLP_LINES; do
	(line_setup "$line") &
	kernels="$kernels $!"
done
for kernel in $kernels; do
	wait "$kernel" || die "a kernel could not be built or fetched (see above)"
done
# klpctl, which test-klpctl.sh runs in the guests (cargo test, later, finds
# it built and leaves it alone), and its Debian package.
step "2/5: klpctl and its package"
(cd "$KLP_TOP/tools/klpctl" && cargo build --locked --quiet) ||
	die "klpctl does not build (cd tools/klpctl && cargo build)"
"$KLP_TOP/scripts/build/deb.sh" klpctl >/dev/null || die "klpctl's package could not be built"

# Each line's jobs (its two VMs, its host tests) are queued as soon as its
# modules and packages are built, the newest line first: Debian's 7.3 is a
# full distribution kernel whose guests run longest, and the other lines'
# builds then overlap them (start_jobs: at most $slots guests at once).
names=
# shellcheck disable=SC2086 # a list of line names
for line in $(printf '%s\n' $KLP_LINES | sort -rV); do
	step "2/5: line $line: modules, the kernel's livepatch selftests, packages"
	"$KLP_TOP/scripts/build/modules.sh" "$line" >/dev/null
	# Copies for selftests/test-signing.sh: build/LINE/signed (the test
	# key), build/LINE/signed-other (a key no kernel trusts) and
	# build/LINE/unsigned (no signature, whatever `make sign` did).
	"$KLP_TOP/scripts/build/sign.sh" --test-copies "$line"
	"$KLP_TOP/scripts/build/upstream-selftests.sh" "$line" "$results/$line/upstream"
	plan_line "$line" "$@"
	# The packages test-deb.sh, test-ansible-rollout.sh and
	# test-boot-systemd.sh install: livepatch_sample's and
	# livepatch_callbacks_demo's (its transition stalls behind
	# livepatch_callbacks_busymod), scripts/build/deb.sh.
	KLP_DEB_LINTIAN=0 "$KLP_TOP/scripts/build/deb.sh" patch "$line" livepatch_sample \
		livepatch_callbacks_demo >/dev/null ||
		die "the live patch packages of line $line could not be built"
	pack_dpkg_db "$line" || die "the dpkg database of line $line's guest could not be packed"
	step "3/5: line $line: $(wc -l <"$results/$line/plan") test script(s) in 2 VMs"
	queue_line "$line"
	start_jobs
done

# They run in the background at a lower priority (nice): the guests, whose
# time limits run while the host compiles, are what make check waits for.
host_job=
[ -z "$host_tests" ] || step "4/5: host tests (static checks, cargo tests), beside the VMs"
# shellcheck disable=SC2086 # a list of line names
if [ -n "$host_tests" ]; then
	(
		nice -n 10 "$KLP_TOP/scripts/static-checks.sh" "$results" static-checks $KLP_LINES
		nice -n 10 "$KLP_TOP/scripts/tap/cargo-test.sh" "$KLP_TOP/tools/klpctl" "$results" \
			klpctl-cargo-test
		nice -n 10 "$KLP_TOP/scripts/tap/cargo-test.sh" "$KLP_TOP/tools/klp-post-link" \
			"$results" klp-post-link-cargo-test
	) &
	host_job=$!
fi
run_jobs
[ -z "$host_job" ] || wait "$host_job" || true

step "5/5: results (kept in $results)"
status=0
no_guest_ok=0
[ -n "$(cat "$results"/*/plan)" ] || no_guest_ok=1
# shellcheck disable=SC2086 # lists of names without spaces
KLP_NO_GUEST_OK=$no_guest_ok "$KLP_TOP/scripts/tap/summary.sh" "$results" $host_tests $names ||
	status=1
for line in $KLP_LINES; do
	printf '\nThe kernel'"'"'s livepatch selftests on the %s line (%s):\n' "$line" \
		"$(cat "$results/$line/upstream/release" 2>/dev/null)"
	"$KLP_TOP/scripts/tap/upstream-summary.sh" "$results/$line" || true
done
log "make check took $(elapsed "$start")"
exit "$status"

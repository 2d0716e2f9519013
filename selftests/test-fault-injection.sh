#!/bin/sh
# klp-rs-test: cpus=1 debug-cost=2000 variant=debug
# Injected allocation failures in the loading of each Rust live patch (make
# check-debug: the debug kernels have the fault-injection framework). For
# N = 1, 2, 3, ... the N-th allocation made on behalf of the insmod, under
# do_init_module() (the module's init: the klp-rs code that builds the
# patch, klp_enable_patch() and the callbacks it runs), is failed, until a
# load with no failure injected. After each: insmod failed or succeeded, and
# nothing in between (sysfs, /proc/PID/patch_state of every task and what
# the patched files show agree), the previous patch still works, the module
# can be removed, and the kernel logged no warning; per series, kmemleak
# finds nothing. One kernel bug is met here, and is reported as TODO, not
# as a failure: a failure injected in __klp_unpatch_object() (KLP_KNOWN_BUG
# in lib.sh), with its warning and at most 3 leaks per warning; anything
# else the kernel reports still fails. A target module coming under a patch is failed the same
# way in klp_module_coming(); and a replace patch whose transition a busy
# task holds is loaded, and reversed, under the same injection.
#
# How: /proc/self/fail-nth (fail the N-th call of a fault-injection point in
# this task) written by the shell that then execs insmod; failslab and
# fail_page_alloc with probability 0 (nothing else fails) and their stack
# filter (require-start/end) on do_init_module(), so that only allocations
# with it on the stack count; kmemleak's own bookkeeping (__alloc_object()) is
# left out (reject-start/end). Which of the two failed is told by their
# `times`, decremented by each failure injected.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

DBG=/sys/kernel/debug
FAULT_MAX=${KLP_FAULT_MAX:-200}
SAMPLE=livepatch_sample
V1=livepatch_cumulative_v1
V2=livepatch_cumulative_v2
V3=livepatch_cumulative_v3
DEMO=livepatch_callbacks_demo
MOD=livepatch_callbacks_mod
BUSYMOD=livepatch_callbacks_busymod
SHADOW=livepatch_shadow_mod
FIX1=livepatch_shadow_fix1
FIX2=livepatch_shadow_fix2
BUSY=test_klp_callbacks_busy
HO=klp_state_handover
WARNINGS='WARNING:|BUG:|Oops|refcount_t:|UBSAN:|INFO: task .* blocked|cannot create duplicate filename'

cum_ko() {
	printf '%s/samples/livepatch_cumulative/%s.ko\n' "$KLP_MODULES" "$1"
}
ho_ko() {
	printf '%s/selftests/bad_input/%s.ko\n' "$KLP_MODULES" "$HO"
}

# fi_bounds FUNC: "START END" of the text symbol FUNC in /proc/kallsyms, END
# being the address of the next symbol. Addresses compare as strings (all
# have 16 hex digits; awk's numbers cannot hold them).
fi_bounds() {
	awk -v f="$1" '
		NR == FNR { if ($3 == f && $2 ~ /^[tT]$/) start = $1; next }
		start != "" && ("x" $1) > ("x" start) && (end == "" || ("x" $1) < ("x" end)) { end = $1 }
		END { if (start != "" && end != "") print "0x" start, "0x" end }' /proc/kallsyms /proc/kallsyms
}

# fi_attr NAME VALUE: writes VALUE to NAME of both failslab and fail_page_alloc.
fi_attr() {
	for fi_cap in failslab fail_page_alloc; do
		echo "$2" >"$DBG/$fi_cap/$1" || return 1
	done
}

# fi_target FUNC: only allocations with FUNC on the stack count.
fi_target() {
	# shellcheck disable=SC2046 # two words
	set -- $(fi_bounds "$1")
	[ $# -eq 2 ] && fi_attr require-start "$1" && fi_attr require-end "$2"
}

# fi_setup: fail-nth only (probability 0), every allocation counted (also
# those that may sleep, order 0, highmem), a stack dump for each failure.
fi_setup() {
	fi_attr probability 0 && fi_attr times 1000000 && fi_attr verbose 2 &&
		fi_attr verbose_ratelimit_interval_ms 0 && fi_attr ignore-gfp-wait N &&
		fi_attr stacktrace-depth 32 &&
		echo N >"$DBG/fail_page_alloc/ignore-gfp-highmem" &&
		echo 0 >"$DBG/fail_page_alloc/min-order" || return 1
	# kmemleak's own object for each allocation: __alloc_object() (it
	# falls back to kmemleak's pool; kmemleak_alloc() tail-calls into it).
	# shellcheck disable=SC2046 # two words
	set -- $(fi_bounds __alloc_object)
	[ $# -ne 2 ] || { fi_attr reject-start "$1" && fi_attr reject-end "$2"; }
}

# fi_restore: the defaults again.
fi_restore() {
	fi_attr require-start 0
	fi_attr require-end 0xffffffffffffffff
	fi_attr reject-start 0
	fi_attr reject-end 0
	fi_attr ignore-gfp-wait Y
	fi_attr times 1
	echo Y >"$DBG/fail_page_alloc/ignore-gfp-highmem"
	echo 1 >"$DBG/fail_page_alloc/min-order"
}

# fi_insmod N KO [PARAM...]: insmod with the N-th counted allocation of its
# task failed. Sets fi_rc, fi_out and fi_kind (slab, page, or none when the
# load made fewer than N allocations).
fi_insmod() {
	read -r fi_slab <"$DBG/failslab/times"
	read -r fi_page <"$DBG/fail_page_alloc/times"
	if fi_out=$(sh -c 'echo "$1" >/proc/self/fail-nth && shift && exec insmod "$@"' sh "$@" 2>&1); then
		fi_rc=0
	else
		fi_rc=$?
	fi
	fi_kind=none
	read -r fi_now <"$DBG/failslab/times"
	[ "$fi_now" = "$fi_slab" ] || fi_kind=slab
	read -r fi_now <"$DBG/fail_page_alloc/times"
	[ "$fi_now" = "$fi_page" ] || fi_kind=page
}

# fi_site LOG: where the failure was injected: the first callers above the
# allocator in the stack dumped in LOG (none for __GFP_NOWARN).
fi_site() {
	printf '%s\n' "$1" | awk '
		/FAULT_INJECTION: forcing a failure/ { on = 1; next }
		on && /<\/TASK>/ { exit }
		on && match($1, /^[A-Za-z_][A-Za-z0-9_.$]*\+0x/) {
			f = substr($1, 1, RLENGTH - 3)
			if (first == "") {
				if (f !~ /^(dump_stack|fail_dump|should_fail|__should_fail|.*slab|.*kmalloc|kmem_cache|__kmem|__alloc|alloc_pages|prepare_alloc_pages|__get_free|get_zeroed|kzalloc|kvmalloc|__kvmalloc|krealloc|__do_krealloc|kstrdup|kmemdup|kasprintf|kvasprintf)/)
					first = f
			} else if (f ~ /^(__)?klp_|^_R/ || $2 ~ /^\[/) {
				# a Rust symbol: the last name of its path
				if (f ~ /^_R/) { sub(/[0-9]+$/, "", f); sub(/^.*[0-9]/, "", f); f = "(Rust) " f }
				klp = f
				exit
			}
		}
		END {
			if (first == "") print "(no stack: __GFP_NOWARN)"
			else print first (klp == "" || klp == first ? "" : " < " klp)
		}'
}

# all_patch_states: the distinct /proc/PID/patch_state values of all tasks,
# in the order -1 0 1, each followed by a space (read with the shell's own
# read: starting a process costs ~0.1 s on the debug kernel under TCG).
all_patch_states() {
	ps_m1='' ps_0='' ps_1=''
	for ps_file in /proc/[0-9]*/patch_state; do
		read -r ps_v 2>/dev/null <"$ps_file" || continue
		case $ps_v in
		-1) ps_m1='-1 ' ;;
		0) ps_0='0 ' ;;
		1) ps_1='1 ' ;;
		esac
	done
	printf '%s%s%s\n' "$ps_m1" "$ps_0" "$ps_1"
}

# value FILE: its first line, or <missing> (sysfs_value without a process).
value() {
	read -r value_v 2>/dev/null <"$1" || value_v='<missing>'
	printf '%s\n' "$value_v"
}

# need WHAT CMD...: prints WHAT if CMD fails (the hooks below print what is wrong).
need() {
	need_what=$1
	shift
	"$@" >/dev/null 2>&1 || printf '%s\n' "$need_what"
}

cmdline_is() {
	[ "$(value /proc/cmdline)" = "$1" ]
}
cmdline_like() {
	# shellcheck disable=SC2254 # a pattern
	case $(value /proc/cmdline) in $1) ;; *) return 1 ;; esac
}
is() {
	[ "$(value "$1")" = "$2" ]
}
enabled() {
	is "$KLP_SYSFS/$1/enabled" 1 && is "$KLP_SYSFS/$1/transition" 0
}
# loaded MODULE: MODULE is loaded (its /sys/module directory, no process).
loaded() {
	[ -d "/sys/module/$1" ]
}
no_transition() {
	[ "$(all_patch_states)" = "-1 " ]
}
# reload PATCH KO [PARAM...]: after PATCH was replaced, loads it again.
reload() {
	reload_patch=$1
	shift
	wait_patch_gone "$reload_patch" && unload "$reload_patch" &&
		insmod "$@" && wait_transition "$reload_patch"
}

# The series. Each ID has:
#   ID_setup     the state before its insmod (no injection)
#   ID_previous  prints what is wrong with that state, after each insmod
#   ID_loaded    prints what is wrong after an insmod that succeeded
#   ID_undo      back to the previous state after such a success
#   ID_teardown  removes what setup added
# and a line in the list at the end: ID, the function whose stack counts,
# the module, its .ko and parameters.

sample_setup() { :; }
sample_previous() {
	need "/proc/cmdline is not the original" cmdline_is "$orig_cmdline"
}
sample_loaded() {
	need "the transition does not complete" wait_transition "$SAMPLE"
	need "$SAMPLE/enabled is not 1" enabled "$SAMPLE"
	need "/proc/cmdline is not patched" cmdline_is "this has been live patched by klp-rs"
}
sample_undo() {
	need "cannot disable $SAMPLE" disable_patch "$SAMPLE"
	need "cannot rmmod $SAMPLE" unload "$SAMPLE"
}
sample_teardown() { :; }

v1_setup() { :; }
v1_previous() { sample_previous; }
v1_loaded() {
	need "the transition does not complete" wait_transition "$V1"
	need "$V1/enabled is not 1" enabled "$V1"
	need "/proc/cmdline is not v1's" cmdline_is "cumulative v1: patched /proc/cmdline"
}
v1_undo() {
	need "cannot disable $V1" disable_patch "$V1"
	need "cannot rmmod $V1" unload "$V1"
}
v1_teardown() { :; }

v2_setup() {
	insmod "$(cum_ko "$V1")" && wait_transition "$V1"
}
v2_previous() {
	need "$V1 is not enabled" enabled "$V1"
	need "/proc/cmdline is not v1's" cmdline_is "cumulative v1: patched /proc/cmdline"
}
v2_loaded() {
	need "the transition does not complete" wait_transition "$V2"
	need "$V2/enabled is not 1" enabled "$V2"
	need "$V1 is not replaced" wait_patch_gone "$V1"
	need "/proc/cmdline is not v2's" cmdline_is "cumulative v2: patched /proc/cmdline"
}
v2_undo() {
	need "cannot disable $V2" disable_patch "$V2"
	need "cannot rmmod $V2" unload "$V2"
	need "cannot load $V1 again" reload "$V1" "$(cum_ko "$V1")"
}
v2_teardown() {
	disable_patch "$V1" && unload "$V1"
}

v3_setup() {
	insmod "$(cum_ko "$V2")" && wait_transition "$V2"
}
v3_previous() {
	need "$V2 is not enabled" enabled "$V2"
	need "/proc/cmdline is not v2's" cmdline_is "cumulative v2: patched /proc/cmdline"
}
v3_loaded() {
	need "the transition does not complete" wait_transition "$V3"
	need "$V3/enabled is not 1" enabled "$V3"
	need "$V2 is not replaced" wait_patch_gone "$V2"
	need "/proc/cmdline is not v3's" cmdline_like "cumulative v3: patched /proc/cmdline, read * times"
}
v3_undo() {
	need "cannot disable $V3" disable_patch "$V3"
	need "cannot rmmod $V3" unload "$V3"
	need "cannot load $V2 again" reload "$V2" "$(cum_ko "$V2")"
}
v3_teardown() {
	disable_patch "$V2" && unload "$V2"
}

demo_setup() {
	insmod "$(sample_ko "$MOD")" && insmod "$(sample_ko "$BUSYMOD")"
}
demo_previous() {
	need "$MOD is not loaded" loaded "$MOD"
	need "$BUSYMOD is not loaded" loaded "$BUSYMOD"
}
demo_loaded() {
	need "the transition does not complete" wait_transition "$DEMO"
	need "$DEMO/enabled is not 1" enabled "$DEMO"
	need "$DEMO/$MOD/patched is not 1" is "$KLP_SYSFS/$DEMO/$MOD/patched" 1
	need "$DEMO/$BUSYMOD/patched is not 1" is "$KLP_SYSFS/$DEMO/$BUSYMOD/patched" 1
}
demo_undo() {
	need "cannot disable $DEMO" disable_patch "$DEMO"
	need "cannot rmmod $DEMO" unload "$DEMO"
}
demo_teardown() {
	rmmod "$MOD" && rmmod "$BUSYMOD"
}

# The target module comes while the demo patch is enabled: the patch is
# applied to it by klp_module_coming(), in the module loader.
coming_setup() {
	insmod "$(sample_ko "$DEMO")" && wait_transition "$DEMO"
}
coming_previous() {
	need "$DEMO is not enabled" enabled "$DEMO"
	need "$DEMO/vmlinux/patched is not 1" is "$KLP_SYSFS/$DEMO/vmlinux/patched" 1
	need "$DEMO/$BUSYMOD/patched is not 0" is "$KLP_SYSFS/$DEMO/$BUSYMOD/patched" 0
}
coming_loaded() {
	need "$DEMO/$BUSYMOD/patched is not 1" is "$KLP_SYSFS/$DEMO/$BUSYMOD/patched" 1
	need "$DEMO is not enabled" enabled "$DEMO"
}
coming_undo() {
	need "cannot rmmod $BUSYMOD" rmmod "$BUSYMOD"
}
coming_teardown() {
	disable_patch "$DEMO" && unload "$DEMO"
}

fix1_setup() {
	insmod "$(sample_ko "$SHADOW")"
}
fix1_previous() {
	need "$SHADOW is not loaded" loaded "$SHADOW"
}
fix1_loaded() {
	need "the transition does not complete" wait_transition "$FIX1"
	need "$FIX1/enabled is not 1" enabled "$FIX1"
	need "$FIX1/$SHADOW/patched is not 1" is "$KLP_SYSFS/$FIX1/$SHADOW/patched" 1
}
fix1_undo() {
	need "cannot disable $FIX1" disable_patch "$FIX1"
	need "cannot rmmod $FIX1" unload "$FIX1"
}
fix1_teardown() { :; }

fix2_setup() {
	insmod "$(sample_ko "$FIX1")" && wait_transition "$FIX1"
}
fix2_previous() {
	need "$FIX1 is not enabled" enabled "$FIX1"
	need "$SHADOW is not loaded" loaded "$SHADOW"
}
fix2_loaded() {
	need "the transition does not complete" wait_transition "$FIX2"
	need "$FIX2/enabled is not 1" enabled "$FIX2"
	need "$FIX1 is not enabled" enabled "$FIX1"
}
fix2_undo() {
	need "cannot disable $FIX2" disable_patch "$FIX2"
	need "cannot rmmod $FIX2" unload "$FIX2"
}
fix2_teardown() {
	disable_patch "$FIX1" && unload "$FIX1"
}

# A replace patch in transition: $BUSY's worker loops in
# busymod_work_func(), which $HO patches, so $HO's transition (replacing v3)
# stays held until it is reversed.
held_setup() {
	insmod "$(test_ko "$BUSY")" block_transition=Y &&
		insmod "$(cum_ko "$V3")" && wait_transition "$V3"
}
held_previous() {
	need "$V3 is not enabled" enabled "$V3"
	need "/proc/cmdline is not v3's" cmdline_like "cumulative v3: patched /proc/cmdline, read * times"
}
held_loaded() {
	need "$HO/enabled is not 1" is "$KLP_SYSFS/$HO/enabled" 1
	need "$HO/transition is not 1 (the busy worker should hold it)" \
		is "$KLP_SYSFS/$HO/transition" 1
	need "$V3 left sysfs before $HO's transition completed" test -d "$KLP_SYSFS/$V3"
	held_states=$(all_patch_states)
	[ "$held_states" = "0 1 " ] ||
		echo "the tasks' patch_state values are not 0 (the worker) and 1 (the others): $held_states"
	need "patch_state of this shell is not 1" test "$(patch_state $$)" = 1
}
held_undo() {
	need "cannot reverse $HO" sh -c "echo 0 >$KLP_SYSFS/$HO/enabled"
	need "the reversed $HO does not leave sysfs" wait_patch_gone "$HO"
	need "cannot rmmod $HO" unload "$HO"
}
held_teardown() {
	echo N >"/sys/module/$BUSY/parameters/block_transition" &&
		disable_patch "$V3" && unload "$V3" && rmmod "$BUSY"
}

# run_series ID FUNC MODULE KO [PARAM...]: the injection loop of one series,
# if KLP_FAULT_SERIES (a list of IDs; default all) has it. Sets
# series_summary.
run_series() {
	id=$1 func=$2 module=$3
	shift 3
	case " ${KLP_FAULT_SERIES:-$id} " in *" $id "*) ;; *) return 0 ;; esac
	series_start=$(date +%s)
	dmesg_mark
	if ! out=$("${id}_setup" 2>&1); then
		fail "$id: setup" "$out" "$(dmesg_since_mark | tail -n 20)"
		return 0
	fi
	warnings=$(warnings_since_mark setup)
	if ! fi_target "$func"; then
		fail "$id: the stack filter on $func()" "no $func in /proc/kallsyms"
		return 0
	fi
	problems='' table='' clean='' known=''
	n=0 refused=0 survived=0 slab=0 page=0 bad=0
	while [ "$n" -lt "$FAULT_MAX" ] && [ "$bad" -lt 3 ]; do
		n=$((n + 1))
		dmesg_mark
		fi_insmod "$n" "$@"
		if [ "$fi_kind" = none ]; then
			clean=$n
			outcome="no failure injected: insmod exit $fi_rc"
		else
			eval "$fi_kind=\$((\$$fi_kind + 1))"
			if [ "$fi_rc" -eq 0 ]; then
				survived=$((survived + 1))
				outcome=survived
			else
				refused=$((refused + 1))
				outcome="refused: ${fi_out##*: }"
			fi
		fi
		if [ "$fi_rc" -eq 0 ]; then
			why=$("${id}_loaded"; "${id}_undo")
		else
			why=$(need "$module is still loaded" not loaded "$module")
		fi
		why="$why$(need "a task keeps a patch_state other than -1" wait_no_transition
			"${id}_previous")"
		if [ -n "$why" ]; then
			bad=$((bad + 1))
			problems="$problems
N=$n ($fi_kind, insmod exit $fi_rc: $fi_out): $(printf '%s' "$why" | tr '\n' ';')"
		fi
		attempt_log=$(log_since_mark)
		site=$(fi_site "$attempt_log")
		if known_bug "$site" "$attempt_log"; then
			known="$known
N=$n: $known_line"
		else
			warnings="$warnings$(log_warnings "N=$n" "$attempt_log")"
		fi
		table="$table
N=$n $fi_kind: $outcome$([ "$fi_kind" = none ] || printf ' at %s' "$site")"
		[ -z "$clean" ] || break
	done
	fi_attr require-start 0
	fi_attr require-end 0xffffffffffffffff
	dmesg_mark
	if ! out=$("${id}_teardown" 2>&1); then
		fail "$id: teardown" "$out"
	fi
	warnings="$warnings$(warnings_since_mark teardown)"
	seconds=$(($(date +%s) - series_start))
	if [ -n "$problems" ]; then
		fail "$id: each of the $n loads was refused cleanly or fully applied, the previous state intact" \
			"$problems"
	else
		pass "$id: each of the $n loads was refused cleanly or fully applied, the previous state intact"
	fi
	if [ -n "$clean" ]; then
		expect_eq "$id: the load with no failure injected (N=$clean) succeeds" 0 "$fi_rc"
	else
		fail "$id: a load with no failure injected" "still failing at N=$n (KLP_FAULT_MAX=$FAULT_MAX)"
	fi
	if [ -n "$warnings" ]; then
		fail "$id: no kernel warning" "$warnings" ${known:+"and the known kernel bug's: $known"}
	elif [ -n "$known" ]; then
		todo "$id: no kernel warning" "kernel bug: a failed allocation in __klp_unpatch_object() warns" \
			"(Documentation/testing.md, \"A kernel bug\"):$known"
	else
		pass "$id: no kernel warning"
	fi
	series_summary="$id ($module, failures under $func): $((slab + page)) failure points (slab $slab, page $page): $refused refused, $survived survived; first clean load at N=${clean:-none}; $seconds s"
	diag "$series_summary" "$table"
	summary="$summary
$series_summary"
}

# known_bug SITE LOG: the failure of one attempt was injected at SITE in
# __klp_unpatch_object(), and every warning of its kernel log LOG is that
# known bug's (KLP_KNOWN_BUG). If so, records the warning (known_bug_record),
# counts it in known_warnings, and sets known_line.
known_bug() {
	case $1 in *" < __klp_unpatch_object") ;; *) return 1 ;; esac
	# One pass: the bug's warning exactly once, and no other warning.
	known_line=$(printf '%s\n' "$2" | BUG=$KLP_KNOWN_BUG WARN=$WARNINGS awk '
		$0 ~ ENVIRON["BUG"] { n++; line = $0; next }
		$0 ~ ENVIRON["WARN"] { other = 1 }
		END { if (n == 1 && !other) print line }')
	[ -n "$known_line" ] || return 1
	known_bug_record "$known_line"
	known_warnings=$((known_warnings + 1))
}
known_warnings=0
known_leaks=0

# log_warnings WHEN LOG: the warnings in kernel log LOG, after a line that
# starts with WHEN (nothing if none).
log_warnings() {
	case $2 in
	*WARNING:* | *BUG:* | *Oops* | *refcount_t:* | *UBSAN:* | *"INFO: task"* | *"duplicate filename"*) ;;
	*) return 0 ;;
	esac
	if printf '%s\n' "$2" | grep -Eq "$WARNINGS"; then
		printf '\n%s: %s' "$1" "$(printf '%s\n' "$2" | grep -E -A8 "$WARNINGS" | head -n 30)"
	fi
}

# log_since_mark: dmesg_since_mark in two processes.
log_since_mark() {
	dmesg | awk -v m="$dmesg_marker" 'on { sub(/^\[[^]]*\] /, ""); print } index($0, m) { on = 1 }'
}

# warnings_since_mark WHEN: log_warnings of the kernel log since the mark.
warnings_since_mark() {
	log_warnings "$1" "$(dmesg_since_mark)"
}

# wait_no_transition: every task's patch_state is -1 again (a transition
# that goes on after insmod returned must end).
wait_no_transition() {
	loop_until "$KLP_TRANSITION_TIMEOUT" no_transition
}
not() {
	! "$@"
}

# check_leaks WHAT: kmemleak finds nothing since the last kmemleak_clear, but
# the shadow sample's leaks by design (kmemleak_split), which surface at any
# time (on 7.3 often minutes after the module is gone), and the known kernel
# bug's, at most 3 per warning of it met so far (TODO).
check_leaks() {
	[ -w "$KLP_KMEMLEAK" ] || return 0
	leak_all=$(kmemleak_suspects)
	leak_report=$(printf '%s\n' "$leak_all" | kmemleak_split other)
	leak_bug=$(printf '%s\n' "$leak_all" | kmemleak_split kernel-bug)
	leaks=$(printf '%s\n' "$leak_report" | kmemleak_count)
	bug_leaks=$(printf '%s\n' "$leak_bug" | kmemleak_count)
	if [ $((known_leaks + bug_leaks)) -gt $((3 * known_warnings)) ]; then
		# more than the known bug explains: they all count
		leaks=$((leaks + bug_leaks))
		leak_report="$leak_report
$leak_bug"
		bug_leaks=0
	fi
	known_leaks=$((known_leaks + bug_leaks))
	if [ "$leaks" -ne 0 ]; then
		fail "kmemleak: no leak after $1" "$leaks suspects:" "$(printf '%s\n' "$leak_report" | head -n 60)"
	elif [ "$bug_leaks" -ne 0 ]; then
		todo "kmemleak: no leak after $1" \
			"kernel bug: the ftrace filter of a klp_ops removed in __klp_unpatch_object() leaks" \
			"$bug_leaks object(s) of the known kernel bug ($known_warnings warning(s) of it so far):" \
			"$(printf '%s\n' "$leak_bug" | head -n 60)"
	else
		pass "kmemleak: no leak after $1"
	fi
	kmemleak_clear
}

tap_begin "fault injection: the N-th allocation of each live patch's insmod fails"
cleanup_test_modules
unload_modules "$MOD" "$BUSYMOD" "$SHADOW"
orig_cmdline=$(cat /proc/cmdline)
if [ ! -w /proc/self/fail-nth ] || [ ! -d "$DBG/failslab" ] || [ ! -d "$DBG/fail_page_alloc" ] ||
	[ ! -e "$DBG/failslab/require-start" ]; then
	fail "the kernel has fault injection" \
		"needs CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS and" \
		"FAULT_INJECTION_STACKTRACE_FILTER (scripts/kernel/test-kernel-debug.config)"
	tap_end
	exit
fi
expect_ok "configure failslab and fail_page_alloc (fail-nth only, every allocation counted)" fi_setup
start_all=$(date +%s)
summary=
kmemleak_clear

run_series sample do_init_module "$SAMPLE" "$(sample_ko "$SAMPLE")"
check_leaks "$SAMPLE"
run_series v1 do_init_module "$V1" "$(cum_ko "$V1")"
run_series v2 do_init_module "$V2" "$(cum_ko "$V2")"
run_series v3 do_init_module "$V3" "$(cum_ko "$V3")"
check_leaks "the cumulative series"
run_series demo do_init_module "$DEMO" "$(sample_ko "$DEMO")"
run_series coming klp_module_coming "$BUSYMOD" "$(sample_ko "$BUSYMOD")"
check_leaks "the callbacks demo"
run_series fix1 do_init_module "$FIX1" "$(sample_ko "$FIX1")"
run_series fix2 do_init_module "$FIX2" "$(sample_ko "$FIX2")"
check_leaks "the shadow fixes"
unload_modules "$SHADOW"
check_leaks "removing $SHADOW"
run_series held do_init_module "$HO" "$(ho_ko)"
check_leaks "the held replace"

fi_restore
cleanup_test_modules
unload_modules "$MOD" "$BUSYMOD" "$SHADOW"
expect_no_patches
diag "all series: $(($(date +%s) - start_all)) s" "$summary"
tap_end

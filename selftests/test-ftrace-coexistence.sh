#!/bin/sh
# klp-rs-test: cpus=1 cost=55 debug-cost=500
# A live patch and the other ftrace users of the function it patches
# (cmdline_proc_show): a kprobe event (no post handler), a kprobe with a post
# handler (test_klp_kprobe), a kretprobe event, the function tracer,
# function_graph and an fprobe event, each attached before and after the
# patch, then one side removed while the other goes on; and a second live
# patch of the same function stacked on it. Every case runs twice, with our
# Rust test_klp_livepatch and with the kernel's C original of it, and what a
# user sees (the result of each attach, enable and removal, /proc/cmdline,
# the probe's hits, the patches in sysfs, the function's ftrace record, the
# kernel log) must be the same for both. The outcomes are printed as a table.
# `make check` runs four of the seven cases (KLP_COEXIST=short), `make
# check-debug` all of them (KLP_COEXIST=full).
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

TRACEFS=/sys/kernel/tracing
FUNC=cmdline_proc_show
LP=test_klp_livepatch
SAMPLE=livepatch_sample
GROUP=klp_coexist
# How many times each observation reads /proc/cmdline: the hits a probe
# must count.
READS=3
# The kernel's C test modules of this line, staged by
# scripts/build/upstream-selftests.sh (guest.env gives their directory).
UPSTREAM=${KLP_UPSTREAM:-$(dirname -- "${KLP_GETPID_HELPER:-$KLP_TOP/results/upstream/helper}")}
C_LP=$UPSTREAM/c/test_modules/$LP.ko
RUST_LP=$(test_ko "$LP")
# The kprobe with a post handler is a module: the kernel's C test_klp_kprobe
# (7.x), or our Rust port of it where the kernel's tree has none (6.12).
KPROBE_KO=$UPSTREAM/c/test_modules/test_klp_kprobe.ko
KPROBE_KO_IS="C test_klp_kprobe"
if [ ! -f "$KPROBE_KO" ]; then
	KPROBE_KO=$(test_ko test_klp_kprobe)
	KPROBE_KO_IS="Rust test_klp_kprobe"
fi
WORK=$(mktemp -d)

# put VALUE FILE / add VALUE FILE: write or append one line.
put() {
	printf '%s\n' "$1" >"$2"
}
add() {
	printf '%s\n' "$1" >>"$2"
}

# result CMD...: runs CMD; prints "ok", or why it failed: the errno text at
# the end of its last line of output, with the usual ones as their names.
result() {
	if result_out=$("$@" 2>&1); then
		echo ok
	else
		result_rc=$?
		result_out=$(printf '%s\n' "$result_out" | sed -n '$s/.*: //p' | sed \
			-e 's/^Device or resource busy$/EBUSY/' -e 's/^Invalid argument$/EINVAL/' \
			-e 's/^File exists$/EEXIST/' -e 's/^No such file or directory$/ENOENT/' \
			-e 's/^No such device$/ENODEV/' -e 's/^Operation not permitted$/EPERM/')
		echo "${result_out:-exit $result_rc}"
	fi
}

# --- the ftrace users: attach_U, detach_U, count_U (a running count of
# hits, or "n/a") for each U.

# remove_event FILE NAME: disables and deletes the dynamic event
# GROUP/NAME of tracefs FILE (kprobe_events or dynamic_events).
remove_event() {
	if [ -e "$TRACEFS/events/$GROUP/$2/enable" ]; then
		put 0 "$TRACEFS/events/$GROUP/$2/enable" || return
		add "-:$GROUP/$2" "$TRACEFS/$1"
	fi
}
# new_event FILE DEFINITION NAME: creates GROUP/NAME and enables it.
new_event() {
	add "$2" "$TRACEFS/$1" && put 1 "$TRACEFS/events/$GROUP/$3/enable"
}
# profile_hits NAME: the hits of kprobe event NAME (kprobe_profile).
profile_hits() {
	awk -v name="$1" '$1 == name { print $2 }' "$TRACEFS/kprobe_profile"
}
# trace_lines PATTERN: the lines of the trace buffer that match PATTERN.
trace_lines() {
	grep -c -- "$1" "$TRACEFS/trace"
}
# use_tracer TRACER: the tracer, on FUNC only; nop with no filter.
use_tracer() {
	if [ "$1" = nop ]; then
		put nop "$TRACEFS/current_tracer" && : >"$TRACEFS/set_ftrace_filter"
	else
		put "$FUNC" "$TRACEFS/set_ftrace_filter" && put "$1" "$TRACEFS/current_tracer"
	fi
}

attach_kp() { new_event kprobe_events "p:$GROUP/klp_kp $FUNC" klp_kp; }
detach_kp() { remove_event kprobe_events klp_kp; }
count_kp() { profile_hits klp_kp; }

attach_kpp() { insmod "$KPROBE_KO" has_post_handler=y; }
detach_kpp() { rmmod test_klp_kprobe; }
# No hit counter: whether kprobes lists the probe on FUNC (registered and
# in its table) instead.
count_kpp() {
	if grep -q " $FUNC+" /sys/kernel/debug/kprobes/list 2>/dev/null; then
		echo listed
	else
		echo "not listed"
	fi
}

attach_krp() { new_event kprobe_events "r:$GROUP/klp_krp $FUNC" klp_krp; }
detach_krp() { remove_event kprobe_events klp_krp; }
count_krp() { profile_hits klp_krp; }

attach_func() { : >"$TRACEFS/trace" && use_tracer function; }
detach_func() { use_tracer nop; }
count_func() { trace_lines "$FUNC <-"; }

attach_graph() { : >"$TRACEFS/trace" && use_tracer function_graph; }
detach_graph() { use_tracer nop; }
count_graph() { trace_lines "$FUNC()"; }

attach_fprobe() { : >"$TRACEFS/trace" && new_event dynamic_events "f:$GROUP/klp_fp $FUNC" klp_fp; }
detach_fprobe() { remove_event dynamic_events klp_fp; }
count_fprobe() { trace_lines ' klp_fp: '; }

# detach_all: every user removed, whatever state a case left (quiet).
detach_all() {
	for user in kp krp fprobe; do
		"detach_$user" 2>/dev/null
	done
	use_tracer nop 2>/dev/null
	unload_modules test_klp_kprobe
	return 0
}

# --- observing

# cmdline_shows: whose text /proc/cmdline shows (original, or a patch's
# name), read READS times ("a, then b" if the reads differ).
cmdline_shows() {
	i=0
	while [ "$i" -lt "$READS" ]; do
		case $(cat /proc/cmdline) in
		"$ORIGINAL") echo original ;;
		"$LP: this has been live patched") echo "$LP" ;;
		"this has been live patched by klp-rs") echo "$SAMPLE" ;;
		*) echo "unexpected: $(cat /proc/cmdline)" ;;
		esac
		i=$((i + 1))
	done | uniq | paste -s -d, - | sed 's/,/, then /g'
}
# patches: the patches in /sys/kernel/livepatch ("-" for none).
patches() {
	# shellcheck disable=SC2012 # names of kernel objects, no odd characters
	list=$(ls "$KLP_SYSFS" | paste -s -d' ' -)
	echo "${list:--}"
}
# ftrace_rec: FUNC's record in enabled_functions: the number of ftrace_ops
# on it and its flags (R: an ops saves all registers, I: an ops modifies
# the IP, D: direct call); "-" if no ops is on it. Without the M flag (the
# record was once modified), which depends on what ran before, and without
# the trampoline it calls (the ops list function when there are several).
ftrace_rec() {
	rec=$(grep "^$FUNC " "$TRACEFS/enabled_functions" | head -n 1 | cut -f1 |
		awk '{ for (i = 2; i <= NF && $i !~ /^->/; i++) if ($i != "M") r = r (r ? " " : "") $i }
			END { print r }')
	echo "${rec:--}"
}

# observe USER ON: reads /proc/cmdline READS times; prints the fields
# cmdline|hits|patches|ftrace, hits counted by USER if it is ON (1).
observe() {
	before=$([ "$2" = 1 ] && "count_$1")
	shows=$(cmdline_shows)
	hits=-
	if [ "$2" = 1 ]; then
		after=$("count_$1")
		case $after in
		[0-9]*) hits=$((after - ${before:-0})) ;;
		*) hits=$after ;;
		esac
	fi
	printf '%s|%s|%s|%s\n' "$shows" "$hits" "$(patches)" "$(ftrace_rec)"
}

# enable KO [PARAM...]: loads a live patch and waits for its transition.
enable() {
	enable_ko=$1
	shift
	insmod "$enable_ko" "$@" &&
		wait_transition "$(basename "$enable_ko" .ko)"
}
# remove PATCH: disables PATCH and unloads its module.
remove() {
	disable_patch "$1" && unload "$1"
}

# step N LABEL ACTION USER ON: one line of a case's record:
# N|LABEL|ACTION|cmdline|hits|patches|ftrace.
step() {
	printf '%s|%s|%s|%s\n' "$1" "$2" "$3" "$(observe "$4" "$5")"
}

# coexist USER NAME PATCH_KO: the steps of USER (called NAME) and the live
# patch PATCH_KO on FUNC.
coexist() {
	user=$1 name=$2 ko=$3
	on=0
	patched=0
	r=$(result "attach_$user")
	[ "$r" = ok ] && on=1
	step 1 "$name attached, no patch" "attach $r" "$user" "$on"
	r=$(result enable "$ko")
	[ "$r" = ok ] && patched=1
	step 2 "patch enabled over $name" "enable $r" "$user" "$on"
	r=$(result "detach_$user")
	[ "$r" = ok ] && on=0
	step 3 "$name removed, patch alone" "detach $r" "$user" "$on"
	r="still enabled"
	if [ "$patched" = 0 ]; then
		r=$(result enable "$ko")
		[ "$r" = ok ] && patched=1
		r="enable $r"
	fi
	step 4 "patch on (enabled again if refused)" "$r" "$user" "$on"
	r=$(result "attach_$user")
	[ "$r" = ok ] && on=1
	step 5 "$name attached over the patch" "attach $r" "$user" "$on"
	r=$(result remove "$LP")
	[ "$r" = ok ] && patched=0
	step 6 "patch removed, $name stays" "remove $r" "$user" "$on"
	if [ "$on" = 1 ]; then
		step 7 "$name removed" "detach $(result "detach_$user")" "$user" 0
	else
		r=$(result "attach_$user")
		[ "$r" = ok ] && on=1
		seen=$(observe "$user" "$on")
		printf '7|%s alone, then removed|attach %s, detach %s|%s\n' "$name" "$r" \
			"$(result "detach_$user")" "$seen"
	fi
}

# stacked PATCH_KO: PATCH_KO (replace=false) and our Rust livepatch_sample
# (atomic replace) on FUNC, with a kprobe event counting the calls.
stacked() {
	ko=$1
	sample=$(sample_ko "$SAMPLE")
	attach_kp
	step 1 "$SAMPLE (replace=1) enabled" "enable $(result enable "$sample")" kp 1
	step 2 "patch (replace=0) enabled on top" "enable $(result enable "$ko")" kp 1
	step 3 "$SAMPLE (below) removed" "remove $(result remove "$SAMPLE")" kp 1
	step 4 "patch removed" "remove $(result remove "$LP")" kp 1
	r=$(result enable "$sample")
	step 5 "both again, the patch on top" "enable $r, enable $(result enable "$ko")" kp 1
	step 6 "patch (top) removed" "remove $(result remove "$LP")" kp 1
	step 7 "$SAMPLE removed" "remove $(result remove "$SAMPLE")" kp 1
	r=$(result enable "$ko")
	r="enable $r, enable $(result enable "$sample")"
	loop_until 10 patch_gone "$LP"
	step 8 "patch, then $SAMPLE over it" "$r" kp 1
	r=$(result unload "$LP")
	step 9 "both modules removed" \
		"rmmod $r, remove $(result remove "$SAMPLE")" kp 1
	detach_kp
}

# The outcomes the kernel's ftrace rules give (fields N|action|cmdline|hits|patches):
# a user without FTRACE_OPS_FL_IPMODIFY shares the function with the patch.
expect_coexists() {
	cat <<-EOF
	1|attach ok|original|$READS|-
	2|enable ok|$LP|$READS|$LP
	3|detach ok|$LP|-|$LP
	4|still enabled|$LP|-|$LP
	5|attach ok|$LP|$READS|$LP
	6|remove ok|original|$READS|-
	7|detach ok|original|-|-
	EOF
}
# A kprobe with a post handler is an IPMODIFY ftrace user, as a live patch
# is, and a function takes one of those at a time: a patch enabled over the
# kprobe is refused with EBUSY. The kprobe over the patch is refused with
# EBUSY on 6.12; on 7.3 register_kprobe() returns 0 although arming it
# failed (since __register_kprobe() went over to guard(), it drops the
# probe from its table and returns 0): the module loads, the probe is not
# in kprobes/list and never fires, not even once the patch is gone.
expect_excludes() {
	cat <<-EOF
	1|attach ok|original|listed|-
	2|enable EBUSY|original|listed|-
	3|detach ok|original|-|-
	4|enable ok|$LP|-|$LP
	EOF
	if kernel_at_least 7.0; then
		cat <<-EOF
		5|attach ok|$LP|not listed|$LP
		6|remove ok|original|not listed|-
		7|detach ok|original|-|-
		EOF
	else
		cat <<-EOF
		5|attach EBUSY|$LP|-|$LP
		6|remove ok|original|-|-
		7|attach ok, detach ok|original|listed|-
		EOF
	fi
}
# Stacked patches: the last enabled one's function runs; removing either
# one leaves the other's; an atomic replace takes over from the patch below.
expect_stacked() {
	cat <<-EOF
	1|enable ok|$SAMPLE|$READS|$SAMPLE
	2|enable ok|$LP|$READS|$SAMPLE $LP
	3|remove ok|$LP|$READS|$LP
	4|remove ok|original|$READS|-
	5|enable ok, enable ok|$LP|$READS|$SAMPLE $LP
	6|remove ok|$SAMPLE|$READS|$SAMPLE
	7|remove ok|original|$READS|-
	8|enable ok, enable ok|$SAMPLE|$READS|$SAMPLE
	9|rmmod ok, remove ok|original|$READS|-
	EOF
}

# table TITLE RUST_RECORD C_RECORD: the steps of a case as TAP diagnostics,
# with the Rust patch's outcome and the C patch's ("same" if identical).
table() {
	printf '# %s\n' "$1"
	printf '#   %-40s %-21s %-24s %-4s %-36s %-11s %s\n' step action /proc/cmdline hits \
		"patches in sysfs" "ftrace rec" "C patch"
	paste -d'\n' "$2" "$3" | while IFS= read -r rust && IFS= read -r c; do
		other=same
		[ "$rust" = "$c" ] || other=$(printf '%s' "$c" | cut -d'|' -f3- | sed 's/|/; /g')
		printf '%s\n' "$rust" | while IFS='|' read -r n label action shows hits list rec; do
			printf '#   %-40s %-21s %-24s %-4s %-36s %-11s %s\n' "$n $label" "$action" \
				"$shows" "$hits" "$list" "$rec" "$other"
		done
	done
}

# field RECORD STEP N: field N of step STEP of a record file.
field() {
	awk -F'|' -v step="$2" -v n="$3" '$1 == step { print $n }' "$1"
}

# run_case KEY NAME TITLE EXPECTED: KEY's case (coexist, or stacked for
# KEY=stacked) with the Rust patch, then with the C patch; asserts the Rust
# outcomes against EXPECTED (expect_coexists...) and the C ones against the
# Rust ones; prints the table and adds a line to the summary.
run_case() {
	key=$1 name=$2 title=$3
	took=
	for flavour in rust c; do
		case_start=$(date +%s)
		ko=$RUST_LP
		[ "$flavour" = rust ] || ko=$C_LP
		[ -f "$ko" ] || continue
		dmesg_mark
		if [ "$key" = stacked ]; then
			stacked "$ko"
		else
			coexist "$key" "$name" "$ko"
		fi >"$WORK/$key.$flavour"
		kernel_lines_since_mark 'livepatch|ftrace|probe|trac|klp' |
			grep -v 'signaling' >"$WORK/$key.$flavour.log"
		detach_all
		cleanup_test_modules
		took="$took $flavour $(($(date +%s) - case_start)) s"
	done
	expect_eq "$title: Rust patch: outcomes as expected" "$($4)" \
		"$(cut -d'|' -f1,3-6 "$WORK/$key.rust")"
	if [ -f "$C_LP" ]; then
		expect_eq "$title: C patch: the same outcomes as the Rust patch" \
			"$(cat "$WORK/$key.rust")" "$(cat "$WORK/$key.c")"
		expect_eq "$title: C patch: the same kernel log as the Rust patch" \
			"$(cat "$WORK/$key.rust.log")" "$(cat "$WORK/$key.c.log")"
		same=no
		cmp -s "$WORK/$key.rust" "$WORK/$key.c" && same=yes
	else
		pass "$title: C patch: the same outcomes # SKIP no C $LP.ko at $C_LP"
		cp "$WORK/$key.rust" "$WORK/$key.c"
		same="no C patch"
	fi
	table "$title (took:$took)" "$WORK/$key.rust" "$WORK/$key.c"
	r=$WORK/$key.rust
	if [ "$key" = stacked ]; then
		row="$name|$(field "$r" 2 3)|-|$(field "$r" 2 4), hits $(field "$r" 2 5)|$same"
	else
		both=-
		[ "$(field "$r" 5 3)" != "attach ok" ] ||
			both="$(field "$r" 5 4), hits $(field "$r" 5 5)"
		row="$name|$(field "$r" 2 3)|$(field "$r" 5 3)|$both|$same"
	fi
	printf '%s\n' "$row" >>"$WORK/summary"
}

# skip_case NAME TITLE REASON: the case cannot run on this kernel.
skip_case() {
	pass "$2 # SKIP $3"
	printf '%s|skipped: %s|||\n' "$1" "$3" >>"$WORK/summary"
}

# needs OPTION...: the first of the kernel config options that is not y.
needs() {
	for option; do
		[ "$(kernel_config "$option")" = y ] || {
			echo "$option"
			return
		}
	done
}

tap_begin "a live patch of $FUNC beside kprobes, kretprobes, tracers, fprobes and a second patch; Rust = C"
cleanup_test_modules
dmesg_mark
start_marker=$dmesg_marker
mounted=
if [ ! -e "$TRACEFS/trace" ]; then
	mount -t tracefs nodev "$TRACEFS" && mounted=1
fi
expect_ok "tracefs is at $TRACEFS" test -e "$TRACEFS/kprobe_events" -o -e "$TRACEFS/trace"
detach_all
ORIGINAL=$(cat /proc/cmdline)
put 1 "$TRACEFS/tracing_on"
[ ! -w /sys/kernel/debug/kprobes/enabled ] || put 1 /sys/kernel/debug/kprobes/enabled
klp_debug on
expect_ok "our Rust $LP.ko is built" test -f "$RUST_LP"
diag "the C patch: $C_LP" "the kprobe with a post handler: $KPROBE_KO" \
	"each observation reads /proc/cmdline $READS times"
: >"$WORK/summary"

# The cases `make check` runs (KLP_COEXIST=short, the default): one of
# each kind of outcome (a user that shares the function, one that excludes
# the patch, a tracer, a stacked patch); `make check-debug` runs them all
# (KLP_COEXIST=full).
SHORT_CASES="kp kpp func stacked"

# case KEY NAME TITLE EXPECTED OPTION...: run_case, unless an OPTION is
# missing, or the run is short and KEY is not one of its cases.
case_if() {
	missing=$(shift 4 && needs "$@")
	if [ "${KLP_COEXIST:-short}" = short ] && ! echo " $SHORT_CASES " | grep -q " $1 "; then
		diag "$3: in make check-debug's full run only (KLP_COEXIST=full)"
		printf '%s|not in the short run|||\n' "$2" >>"$WORK/summary"
	elif [ -n "$missing" ]; then
		skip_case "$2" "$3" "the kernel has no $missing"
	else
		run_case "$1" "$2" "$3" "$4"
	fi
}

case_if kp kprobe "kprobe event (kprobe_events p:, no post handler)" expect_coexists \
	CONFIG_KPROBE_EVENTS
if [ ! -f "$KPROBE_KO" ]; then
	fail "kprobe with a post handler (test_klp_kprobe)" "no $KPROBE_KO"
else
	case_if kpp kprobe+post "kprobe with a post handler ($KPROBE_KO_IS)" expect_excludes \
		CONFIG_KPROBES_ON_FTRACE
fi
case_if krp kretprobe "kretprobe event (kprobe_events r:)" expect_coexists \
	CONFIG_KPROBE_EVENTS CONFIG_KRETPROBES
case_if func function "function tracer (set_ftrace_filter, current_tracer=function)" \
	expect_coexists CONFIG_FUNCTION_TRACER
case_if graph function_graph "function_graph tracer (set_ftrace_filter)" expect_coexists \
	CONFIG_FUNCTION_GRAPH_TRACER
case_if fprobe fprobe "fprobe event (dynamic_events f:)" expect_coexists CONFIG_FPROBE_EVENTS
case_if stacked "2nd patch" "a second patch stacked: $LP (replace=0) over $SAMPLE, and replaced by it" \
	expect_stacked CONFIG_KPROBE_EVENTS

printf '# summary (%s, %s)\n' "$(uname -r)" "the Rust patch; last column: the C patch the same"
printf '#   %-14s %-30s %-14s %-30s %s\n' "user" "patch enabled over it" \
	"it over patch" "both on: /proc/cmdline, hits" "Rust = C"
while IFS='|' read -r name over under both same; do
	case $over in
	skipped* | "not in the short run")
		printf '#   %-14s %s\n' "$name" "$over"
		continue
		;;
	esac
	printf '#   %-14s %-30s %-14s %-30s %s\n' "$name" "$over" "$under" "$both" "$same"
done <"$WORK/summary"

detach_all
cleanup_test_modules
klp_debug off
expect_eq "no $GROUP event is left" "" "$(grep -s "$GROUP" "$TRACEFS/dynamic_events")"
expect_eq "the current tracer is nop" nop "$(cat "$TRACEFS/current_tracer")"
expect_eq "no ftrace_ops is left on $FUNC" - "$(ftrace_rec)"
expect_no_patches
dmesg_marker=$start_marker
expect_no_kernel_warning "no kernel warning in the whole test"
[ -z "$mounted" ] || umount "$TRACEFS"
rm -rf "$WORK"
tap_end

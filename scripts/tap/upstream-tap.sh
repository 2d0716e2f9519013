#!/bin/sh
# Turn the output of one of the kernel's livepatch selftest scripts into TAP.
#
#   scripts/tap/upstream-tap.sh TITLE STDOUT_FILE STDERR_FILE EXIT_STATUS
#
# The upstream scripts print `TEST: <name> ... ok` for each scenario, or
# `... not ok` followed by a diff of the expected and actual kernel log, and
# stop at the first failure (exit 1); exit status 4 means skipped. Each
# scenario becomes one TAP case; the lines after it become `#` diagnostics.
# A scenario that never printed its result (the script died in it) fails,
# or is skipped if the script exited with 4. A script that ran no scenario,
# or exited non-zero with every scenario passed, gets one failing case; its
# stderr goes below the last case.
set -u
[ $# -eq 4 ] || {
	echo "usage: $0 TITLE STDOUT_FILE STDERR_FILE EXIT_STATUS" >&2
	exit 2
}
title=$1
stdout=$2
stderr=$3
rc=$4

awk -v title="$title" -v rc="$rc" -v errfile="$stderr" '
function result(ok, desc) {
	n++
	if (!ok) bad++
	printf "%s %d - %s\n", ok ? "ok" : "not ok", n, desc
}
function stderr_diag(   line) {
	while ((getline line < errfile) > 0)
		if (line != "") print "#   stderr: " line
}
BEGIN {
	print "TAP version 13"
	print "# " title
	n = 0; bad = 0; pending = ""
}
/^TEST: / {
	line = substr($0, 7)
	pos = index(line, " ... ")
	if (pos == 0) { print "#   " $0; next }
	name = substr(line, 1, pos - 1)
	status = substr(line, pos + 5)
	sub(/[ \t]+$/, "", status)
	if (status == "") { pending = name; next }
	result(status == "ok", name)
	if (status != "ok" && status != "not ok") print "#   printed: " status
	next
}
$0 != "" { print "#   " $0 }
END {
	if (pending != "") {
		if (rc == 4) printf "ok %d - %s # SKIP the script skipped it\n", ++n, pending
		else result(0, pending " (the script stopped in it, exit status " rc ")")
	} else if (n == 0) {
		if (rc == 4) printf "ok %d - %s # SKIP\n", ++n, title
		else result(0, title " ran no test (exit status " rc ")")
	} else if (rc != 0 && bad == 0) {
		result(0, title " exit status " rc)
	}
	if (rc != 0) stderr_diag()
	print "1.." n
}
' "$stdout"

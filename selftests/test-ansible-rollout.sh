#!/bin/sh
# klp-rs-test: cpus=1 cost=370 line=7.3 variant=base timeout=3600
# (Every Ansible task starts Python under the emulator, in the controller and
# in its module: 15 to 100 s a task on a two-core machine, by the machine
# and what runs beside the VM. The four runs took 19 minutes alone there,
# and a first run 992 s beside the other VMs of make check, over 21 minutes
# in another: 3600 s. Their task times are kept as `# task times:` lines.
# With the 7.3 root cached (scripts/vm/virtme-run) and a second run of two
# modules, alone: 333, 90, 146 and 306 s, against 420, 134, 201 and 441.
# Its cost: 1156 s in a make check where the other tests ran about 3.2 s
# per unit of cost.)
# The fleet playbook (deploy/ansible/livepatch.yml) run for real with
# ansible-core from PyPI (the venv /opt/klp-rs/ansible of the Debian 13 root,
# scripts/kernel/debian-root.sh) against this VM (`connection: local`), in a
# writable overlay of the guest's root (overlay_root): a first run installs
# klpctl's and livepatch_sample's packages and leaves the patch enabled
# (sysfs), a second run changes nothing (PLAY RECAP changed=0), a run where
# `klpctl check` fails (an installed patch is not loaded) reverts the host:
# the patch unloaded, its package purged, the host failed; and a run whose
# transition stalls (livepatch_callbacks_demo behind
# livepatch_callbacks_busymod) reports the blocking task with its stack, and
# reverts too. The sessions are kept as `#` lines of the TAP output.
# It runs on the 7.3 line, Debian's own kernel with a Debian 13 root: the
# machines a fleet runs; and in make check only (variant=base): on the debug
# kernel it took 39 minutes, for kernel paths (klpctl, dpkg's maintainer
# scripts, loading, replacing and disabling a patch) that test-deb.sh and
# test-klpctl.sh take there too.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

PATCH=livepatch_sample
release=$(uname -r)
debs=$KLP_TOP/build/deb
root=/tmp/klp-rs-ansible-root
playbook=$KLP_TOP/deploy/ansible/livepatch.yml
ansible=/opt/klp-rs/ansible/bin/ansible-playbook

tap_begin "Ansible: the fleet playbook installs the patch, changes nothing the second time, reverts on failure"
# ansible-core refuses to run without a UTF-8 locale.
LC_ALL=C.UTF-8
export LC_ALL
cleanup_patches
if ! version=$(ANSIBLE_HOME=/tmp/ansible-home ANSIBLE_LOCAL_TEMP=/tmp/ansible-local \
	"$ansible" --version 2>&1); then
	fail "ansible-playbook runs in this guest" "$ansible: $version"
	tap_end
	exit
fi
diag "$(printf '%s\n' "$version" | head -n 1)"

klpctl_deb=$(find "$debs" -name 'klpctl_*_amd64.deb' 2>/dev/null | sort | tail -n 1)
patch_deb=$(find "$debs" -name "klp-livepatch-sample-${release}_*_amd64.deb" 2>/dev/null |
	sort | tail -n 1)
if [ -z "$klpctl_deb" ] || [ -z "$patch_deb" ]; then
	fail "the packages are built" "no klpctl or klp-livepatch-sample-$release package in $debs"
	tap_end
	exit
fi
package=$(dpkg-deb -f "$patch_deb" Package)
if ! out=$(overlay_root "$root" 2>&1); then
	fail "a writable overlay of the root" "$out"
	tap_end
	exit
fi
printf '[fleet]\nthis-vm ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' \
	>"$root/tmp/inventory"

# playbook NAME: runs the playbook in the overlay with the package $deb
# (default: livepatch_sample's) and klpctl's (unless klpctl='' is set);
# its output in /tmp/NAME.log (and as # lines), its exit status in $rc, its
# run time in $secs, the counts of its PLAY RECAP line in $recap. The
# controller polls its workers every 50 ms instead of every 1 ms
# (ANSIBLE_INTERNAL_POLL_INTERVAL): on one emulated vCPU the polling takes
# time from the modules.
playbook() {
	overlay_dirs "$root" "$klpctl_deb" "${deb:-$patch_deb}"
	name=$1
	set -- -e "livepatch_deb=${deb:-$patch_deb}" -e "livepatch_timeout=${timeout:-120}"
	[ -z "${klpctl-$klpctl_deb}" ] || set -- "$@" -e "livepatch_klpctl_deb=$klpctl_deb"
	start=$(date +%s)
	chroot "$root" env PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		ANSIBLE_NOCOLOR=1 ANSIBLE_HOME=/tmp/ansible-home ANSIBLE_LOCAL_TEMP=/tmp/ansible-local \
		ANSIBLE_REMOTE_TEMP=/tmp/ansible-remote ANSIBLE_RETRY_FILES_ENABLED=0 \
		ANSIBLE_INTERNAL_POLL_INTERVAL=0.05 \
		ANSIBLE_LOG_PATH="/tmp/$name.timed" \
		"$ansible" -i /tmp/inventory "$playbook" "$@" >"/tmp/$name.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	recap=$(sed -n 's/^this-vm *: *//p' "/tmp/$name.log" | tr -s ' ')
	diag "ansible-playbook ($name, ${secs} s, exit $rc):"
	sed 's/^/#   /' "/tmp/$name.log"
	task_times "$root/tmp/$name.timed"
}
# task_times LOG: the seconds each task took, from the time stamps of
# Ansible's log (ANSIBLE_LOG_PATH), as one # line; a task that changed
# something is marked (changed), one that was skipped (skipped).
task_times() {
	awk '{ split($2, t, /[:,]/); now = t[1] * 3600 + t[2] * 60 + t[3] + t[4] / 1000 }
		/\| (TASK|PLAY RECAP) / {
			if (task != "") out = out sprintf("%s %.0f s%s; ", task, now - since, mark)
			task = $0; sub(/.*TASK \[/, "", task); sub(/\] \**$/, "", task); since = now
			mark = ""
		}
		/\| changed: / { mark = " (changed)" }
		/\| skipping: / && mark == "" { mark = " (skipped)" }
		END { print "# task times: " out }' "$1" 2>/dev/null
}
# recap_count KEY: the count of KEY (ok, changed, failed, ...) in $recap.
recap_count() {
	printf '%s\n' "$recap" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

playbook first-run
expect_eq "the first run exits 0" 0 "$rc"
expect_eq "the first run failed nowhere" 0 "$(recap_count failed)"
expect_ok "the first run changed something (changed > 0)" test "$(recap_count changed)" -gt 0
expect_eq "$PATCH/enabled reads 1 after the first run" 1 "$(sysfs_value "$KLP_SYSFS/$PATCH/enabled")"
expect_eq "$PATCH/transition reads 0" 0 "$(sysfs_value "$KLP_SYSFS/$PATCH/transition")"
expect_ok "the package is installed" sh -c \
	"chroot '$root' dpkg-query -W -f '\${Status}' '$package' | grep -qx 'install ok installed'"
expect_ok "the playbook said the patch is enabled" grep -q "$PATCH ($package .*): enabled" /tmp/first-run.log

playbook second-run
expect_eq "the second run exits 0" 0 "$rc"
expect_eq "the second run changed nothing (PLAY RECAP changed=0)" 0 "$(recap_count changed)"
expect_ok "... and copied and installed nothing (the versions are installed)" sh -c \
	"grep -A1 -F -e 'TASK [Copy the packages]' -e 'TASK [Install' /tmp/second-run.log |
		grep -c '^skipping:' | grep -qx 3"
expect_eq "the second run failed nowhere" 0 "$(recap_count failed)"
expect_eq "$PATCH/enabled still reads 1" 1 "$(sysfs_value "$KLP_SYSFS/$PATCH/enabled")"

# A failure on the host: another patch installed for this kernel but not
# loaded makes `klpctl check` exit 10; the playbook must revert the host.
other=$(sample_ko livepatch_callbacks_demo)
chroot "$root" klpctl install "$other" >/dev/null 2>&1
# klpctl is installed: the failure runs leave its package out.
klpctl='' playbook failing-run
expect_fail "a run where klpctl check fails exits non-zero" test "$rc" -eq 0
expect_eq "... with the host failed in PLAY RECAP" 1 "$(recap_count failed)"
expect_eq "... and the patch reverted: gone from sysfs" absent \
	"$( [ -e "$KLP_SYSFS/$PATCH" ] && echo present || echo absent)"
expect_eq "... its module unloaded" no "$(module_loaded "$PATCH" && echo yes || echo no)"
expect_fail "... its package purged" sh -c \
	"chroot '$root' dpkg-query -W -f '\${Status}' '$package' 2>/dev/null | grep -q 'ok installed'"
expect_ok "... and the reason reported (klpctl check exited 10)" \
	grep -q 'klpctl check exited 10' /tmp/failing-run.log
chroot "$root" klpctl uninstall livepatch_callbacks_demo >/dev/null 2>&1

# A stalled transition: livepatch_callbacks_busymod keeps a kworker asleep
# in busymod_work_func(), which livepatch_callbacks_demo patches; the
# playbook must report it with its blocker and revert the host.
DEMO=livepatch_callbacks_demo
BUSY=livepatch_callbacks_busymod
demo_deb=$(find "$debs" -name "klp-livepatch-callbacks-demo-${release}_*_amd64.deb" | sort | tail -n 1)
if [ -z "$demo_deb" ]; then
	fail "the package of $DEMO is built" "no klp-livepatch-callbacks-demo-$release package in $debs"
else
	dmesg_mark
	insmod "$(sample_ko "$BUSY")" block_transition=Y
	wait_dmesg "busymod_work_func enter" 10 || true
	deb=$demo_deb klpctl='' timeout=2 playbook stalled-run
	expect_fail "a run whose transition stalls exits non-zero" test "$rc" -eq 0
	expect_eq "... with the host failed in PLAY RECAP" 1 "$(recap_count failed)"
	expect_ok "... reporting the stall" grep -q "the transition of $DEMO did not finish within 2 s" \
		/tmp/stalled-run.log
	expect_ok "... and its blocker's kernel stack (busymod_work_func)" \
		grep -q 'busymod_work_func' /tmp/stalled-run.log
	expect_eq "... and the patch reverted: gone from sysfs" absent \
		"$( [ -e "$KLP_SYSFS/$DEMO" ] && echo present || echo absent)"
	expect_eq "... its module unloaded" no "$(module_loaded "$DEMO" && echo yes || echo no)"
	expect_fail "... its package purged" sh -c \
		"chroot '$root' dpkg-query -W -f '\${Status}' '$(dpkg-deb -f "$demo_deb" Package)' 2>/dev/null | grep -q 'ok installed'"
	echo N >"/sys/module/$BUSY/parameters/block_transition" 2>/dev/null
	rmmod "$BUSY" 2>/dev/null
fi

overlay_root_remove "$root"
cleanup_patches
tap_end

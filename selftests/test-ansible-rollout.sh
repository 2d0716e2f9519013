#!/bin/sh
# klp-rs-test: host=1 line=7.3 variant=base cost=200
# The fleet playbook (deploy/ansible/livepatch.yml) run as a fleet runs it:
# ansible-playbook on this machine, the controller (ansible-core from PyPI in
# the host's venv, scripts/setup/toolchain.sh), over SSH to a managed host:
# Debian's own 7.3 kernel booted with systemd as PID 1 (vng --systemd) on a
# throw-away overlay of the cached Debian 13 root (boot_root), with
# systemd-networkd giving it an address on QEMU's user network and Debian's
# sshd on it, reached through a port of the host's 127.0.0.1
# (KLP_VM_SSH_PORT, scripts/vm/run.sh), with a key pair of this run, and the
# root's own host key as the only one known.
#   - a first run installs klpctl's and livepatch_sample's packages and
#     leaves the patch enabled (sysfs);
#   - a second run changes nothing (PLAY RECAP changed=0) and copies and
#     installs nothing;
#   - a run where `klpctl check` fails (an installed patch is not loaded)
#     reverts the host: the patch unloaded, its package purged, the host
#     failed;
#   - a run whose transition stalls (livepatch_callbacks_demo behind
#     livepatch_callbacks_busymod) reports the blocking task with its stack,
#     and reverts too.
# The sessions are kept as `#` lines of the TAP output, with each task's
# time. A host test (host=1 in the line above): scripts/check.sh runs it on
# the host as `sh test-ansible-rollout.sh LINE DIR`. On the 7.3 line only,
# Debian's kernel with its Debian 13 root: the machines a fleet runs; and in
# make check only (variant=base): its kernel paths (klpctl, dpkg's maintainer
# scripts, loading, replacing and disabling a patch) are test-deb.sh's and
# test-klpctl.sh's too, which the debug kernels run.
set -u
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../scripts/common.sh"
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: $0 LINE RESULTS_DIR (a host test: scripts/check.sh runs it)"
line=$1
results=$(mkdir -p "$2" && CDPATH='' cd -- "$2" && pwd)
PATCH=livepatch_sample
DEMO=livepatch_callbacks_demo
BUSY=livepatch_callbacks_busymod
playbook=$KLP_TOP/deploy/ansible/livepatch.yml

tap_begin "Ansible over SSH: the fleet playbook installs the patch, changes nothing the second time, reverts on failure"
line_setup "$line" >/dev/null
release=$line_release
# The built modules of the line (sample_ko).
KLP_MODULES=$(line_build_dir "$line")
debs=$KLP_TOP/build/deb
klpctl_deb=$(find "$debs" -name 'klpctl_*_amd64.deb' 2>/dev/null | sort | tail -n 1)
patch_deb=$(find "$debs" -name "klp-livepatch-sample-${release}_*_amd64.deb" 2>/dev/null |
	sort | tail -n 1)
demo_deb=$(find "$debs" -name "klp-livepatch-callbacks-demo-${release}_*_amd64.deb" 2>/dev/null |
	sort | tail -n 1)
if [ -z "$line_root" ] || [ -z "$klpctl_deb" ] || [ -z "$patch_deb" ] || [ -z "$demo_deb" ]; then
	fail "a Debian root and the packages" "root '$line_root', packages in $debs:" \
		"$(ls "$debs" 2>&1)"
	tap_end
	exit
fi
package=$(dpkg-deb -f "$patch_deb" Package)
if ! version=$("$KLP_VENV/bin/ansible-playbook" --version 2>&1); then
	fail "ansible-playbook runs on the host" "$version"
	tap_end
	exit
fi
diag "$(printf '%s\n' "$version" | head -n 1) on the host, the controller"

work=$(mktemp -d /tmp/klp-rs-fleet.XXXXXX)
root=$work/root
vm_pid=
cleanup() {
	[ -z "$vm_pid" ] || kill -- "-$vm_pid" 2>/dev/null
	# The shared connections of the test and of ansible-playbook.
	for socket in "$work"/ssh-* "$work"/ansible-cp/*; do
		[ -S "$socket" ] && ssh -o ControlPath="$socket" -O exit managed-host >/dev/null 2>&1
	done
	boot_root_remove "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
if ! out=$(boot_root "$work" "$line_root" 2>&1); then
	fail "an overlay of the Debian root" "$out"
	tap_end
	exit
fi

# The managed host's side: an address on QEMU's user network
# (systemd-networkd), root's authorized key; sshd is enabled by its package.
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=eth0\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\n' \
	>"$root/etc/systemd/network/10-klp-rs-test.network"
chroot "$root" systemctl enable --quiet systemd-networkd.service
ssh-keygen -q -t ed25519 -N '' -C "klp-rs fleet test" -f "$work/id"
mkdir -p "$root/root/.ssh" && chmod 0700 "$root/root/.ssh"
cp "$work/id.pub" "$root/root/.ssh/authorized_keys"
# The controller's side: a free port of 127.0.0.1 forwarded to the guest's
# sshd; its host key the only one known (StrictHostKeyChecking); one
# connection shared by every ssh of the test (ControlMaster).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d ' ' -f 1,2 "$root/etc/ssh/ssh_host_ed25519_key.pub")" \
	>"$work/known_hosts"
cat >"$work/ssh_config" <<-EOF
	Host managed-host
	    HostName 127.0.0.1
	    Port $port
	    User root
	    IdentityFile $work/id
	    IdentitiesOnly yes
	    UserKnownHostsFile $work/known_hosts
	    StrictHostKeyChecking yes
	    BatchMode yes
	    ConnectTimeout 20
	    ControlMaster auto
	    ControlPath $work/ssh-%C
	    ControlPersist 600
EOF
printf '[fleet]\nthis-vm ansible_host=127.0.0.1 ansible_port=%s ansible_user=root %s %s %s\n' \
	"$port" "ansible_ssh_private_key_file=$work/id" \
	"ansible_ssh_common_args='-o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'" \
	"ansible_python_interpreter=/usr/bin/python3" >"$work/inventory"

# vm COMMAND: runs the shell command COMMAND on the managed host.
vm() {
	ssh -F "$work/ssh_config" managed-host "$@"
}
# vm_gone: the guest has powered off.
vm_gone() {
	! kill -0 "$vm_pid" 2>/dev/null
}
# vm_up: the guest's sshd answers (or the guest is gone: nothing to wait for).
vm_up() {
	vm_gone && return 0
	vm true 2>/dev/null && return 0
	sleep 1
	return 1
}

start=$(date +%s)
KLP_VM_ROOT=$root KLP_VM_SYSTEMD=1 KLP_VM_RW=1 KLP_VM_CPUS=1 KLP_VM_SSH_PORT=$port \
	KLP_VM_TIMEOUT=${KLP_FLEET_TIMEOUT:-3000} KLP_VM_NAME="$line/fleet" \
	setsid "$KLP_TOP/scripts/vm/run.sh" "$line" "$results/fleet-vm" true >/dev/null 2>&1 &
vm_pid=$!
# loop_until counts tenths of a second, and each try of vm_up waits a second
# more: at least 1320 s (the guest has booted in 146 to 587 s).
loop_until 120 vm_up
if ! vm true; then
	fail "the managed host boots and its sshd lets the controller in" \
		"after $(($(date +%s) - start)) s: see $results/fleet-vm/console.log" \
		"$(grep -a -E 'FAILED|Kernel panic|BUG:' "$results/fleet-vm/console.log" 2>/dev/null | head -n 5)"
	tap_end
	exit
fi
pass "the managed host boots and its sshd lets the controller in ($(($(date +%s) - start)) s)"
expect_eq "... running Debian's kernel $release" "$release" "$(vm uname -r)"
expect_eq "... with systemd as PID 1" systemd "$(vm cat /proc/1/comm)"

# playbook NAME: runs the playbook from the host with the package $deb
# (default: livepatch_sample's) and klpctl's (unless klpctl='' is set); its
# output in $work/NAME.log (and as # lines), its exit status in $rc, its run
# time in $secs, the counts of its PLAY RECAP line in $recap. Pipelining: a
# module is one ssh command.
playbook() {
	name=$1
	set -- -e "livepatch_deb=${deb:-$patch_deb}" -e "livepatch_timeout=${timeout:-120}"
	[ -z "${klpctl-$klpctl_deb}" ] || set -- "$@" -e "livepatch_klpctl_deb=$klpctl_deb"
	start=$(date +%s)
	env LC_ALL=C.UTF-8 ANSIBLE_NOCOLOR=1 ANSIBLE_HOME="$work/ansible-home" \
		ANSIBLE_LOCAL_TEMP="$work/ansible-local" ANSIBLE_RETRY_FILES_ENABLED=0 \
		ANSIBLE_PIPELINING=1 ANSIBLE_SSH_ARGS='-o ControlMaster=auto -o ControlPersist=600' \
		ANSIBLE_SSH_CONTROL_PATH_DIR="$work/ansible-cp" ANSIBLE_LOG_PATH="$work/$name.timed" \
		"$KLP_VENV/bin/ansible-playbook" -i "$work/inventory" "$playbook" "$@" >"$work/$name.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	recap=$(sed -n 's/^this-vm *: *//p' "$work/$name.log" | tr -s ' ')
	diag "ansible-playbook ($name, ${secs} s, exit $rc):"
	sed 's/^/#   /' "$work/$name.log"
	task_times "$work/$name.timed"
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
# enabled PATCH: PATCH's enabled file on the managed host, or absent.
enabled() {
	vm "cat $KLP_SYSFS/$1/enabled 2>/dev/null || echo absent"
}
# installed PACKAGE: PACKAGE's state in dpkg's database on the managed host
# (installed, config-files, ..., not-installed: purged, or never known).
installed() {
	vm "dpkg-query -W -f '\${db:Status-Status}' $1 2>/dev/null || echo not-installed"
}
# loaded MODULE: yes if MODULE is in the managed host's /proc/modules.
loaded() {
	vm "grep -q '^$1 ' /proc/modules && echo yes || echo no"
}

playbook first-run
expect_eq "the first run exits 0" 0 "$rc"
expect_eq "the first run failed nowhere" 0 "$(recap_count failed)"
expect_ok "the first run changed something (changed > 0)" test "$(recap_count changed)" -gt 0
expect_eq "$PATCH/enabled reads 1 after the first run" 1 "$(enabled "$PATCH")"
expect_eq "$PATCH/transition reads 0" 0 "$(vm cat "$KLP_SYSFS/$PATCH/transition")"
expect_eq "the package is installed" installed "$(installed "$package")"
expect_ok "the playbook said the patch is enabled" grep -q "$PATCH ($package .*): enabled" \
	"$work/first-run.log"

playbook second-run
expect_eq "the second run exits 0" 0 "$rc"
expect_eq "the second run changed nothing (PLAY RECAP changed=0)" 0 "$(recap_count changed)"
expect_ok "... and copied and installed nothing (the versions are installed)" sh -c \
	"grep -A1 -F -e 'TASK [Copy the packages]' -e 'TASK [Install' '$work/second-run.log' |
		grep -c '^skipping:' | grep -qx 3"
expect_eq "the second run failed nowhere" 0 "$(recap_count failed)"
expect_eq "$PATCH/enabled still reads 1" 1 "$(enabled "$PATCH")"

# The modules of the failure runs, copied to the managed host as an
# administrator would (the repository is not there when it is a clone under
# /tmp: the guest's own /tmp hides it).
for mod in "$DEMO" "$BUSY"; do
	vm "cat >/var/tmp/$mod.ko" <"$(sample_ko "$mod")"
done

# A failure on the host: another patch installed for this kernel but not
# loaded makes `klpctl check` exit 10; the playbook must revert the host.
expect_ok "klpctl install of another patch on the managed host" vm klpctl install "/var/tmp/$DEMO.ko"
# klpctl is installed: the failure runs leave its package out.
klpctl='' playbook failing-run
expect_fail "a run where klpctl check fails exits non-zero" test "$rc" -eq 0
expect_eq "... with the host failed in PLAY RECAP" 1 "$(recap_count failed)"
expect_eq "... and the patch reverted: gone from sysfs" absent "$(enabled "$PATCH")"
expect_eq "... its module unloaded" no "$(loaded "$PATCH")"
expect_eq "... its package purged" not-installed "$(installed "$package")"
expect_ok "... and the reason reported (klpctl check exited 10)" \
	grep -q 'klpctl check exited 10' "$work/failing-run.log"
vm klpctl uninstall "$DEMO" >/dev/null 2>&1

# A stalled transition: livepatch_callbacks_busymod keeps a kworker asleep
# in busymod_work_func(), which livepatch_callbacks_demo patches; the
# playbook must report it with its blocker and revert the host.
expect_ok "insmod $BUSY block_transition=Y on the managed host" \
	vm insmod "/var/tmp/$BUSY.ko" block_transition=Y
loop_until 30 vm "dmesg | grep -q 'busymod_work_func enter'" || true
deb=$demo_deb klpctl='' timeout=2 playbook stalled-run
expect_fail "a run whose transition stalls exits non-zero" test "$rc" -eq 0
expect_eq "... with the host failed in PLAY RECAP" 1 "$(recap_count failed)"
expect_ok "... reporting the stall" grep -q "the transition of $DEMO did not finish within 2 s" \
	"$work/stalled-run.log"
expect_ok "... and its blocker's kernel stack (busymod_work_func)" \
	grep -q 'busymod_work_func' "$work/stalled-run.log"
expect_eq "... and the patch reverted: gone from sysfs" absent "$(enabled "$DEMO")"
expect_eq "... its module unloaded" no "$(loaded "$DEMO")"
expect_eq "... its package purged" not-installed "$(installed "$(dpkg-deb -f "$demo_deb" Package)")"
vm "echo N >/sys/module/$BUSY/parameters/block_transition; rmmod $BUSY" 2>/dev/null

reports=$(vm "dmesg | grep -E 'Kernel panic|BUG:|WARNING:|Oops|general protection fault' | head -n 5")
expect_eq "no kernel WARN/BUG/Oops on the managed host" "" "$reports"
vm systemctl poweroff >/dev/null 2>&1
loop_until 300 vm_gone || true
expect_ok "the managed host powers off" vm_gone
tap_end

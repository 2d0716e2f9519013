#!/bin/sh
# klp-rs-test: host=1 line=7.3 variant=base cost=200
# klpctl.service at a real boot, with systemd as PID 1: Debian's 7.3 kernel
# booted (vng --systemd) with a throw-away overlay of the cached Debian 13
# root as its root (read-write; the cached root stays as it is), into which
# klpctl's and livepatch_sample's packages were installed with dpkg (the
# postinst enabled the unit and ran `klpctl install`). Three boots:
#   1. plain: the patch is enabled after boot (klpctl.service ran
#      `load --all`, and succeeded);
#   2. `klpctl.noload` on the kernel command line (this boot and the next
#      start klpctl.service from a minimal target, systemd.unit=, for speed): nothing is loaded, the
#      unit succeeds and its journal says why;
#   3. a crash guard left over (/var/lib/klp-rs/RELEASE/.loading-PATCH): the
#      patch is skipped, the unit fails with status 13 and its journal names
#      the guard.
# A host test (host=1 in the line above): scripts/check.sh runs it on the
# host, after the line's VMs, as `sh test-boot-systemd.sh LINE DIR`, and it
# boots its own guests. In each boot a unit of the test
# (klp-rs-boot-check.service, after klpctl.service) records what the unit
# did into the root, and powers the guest off; the host asserts on that.
set -u
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../scripts/common.sh"
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: $0 LINE RESULTS_DIR (a host test: scripts/check.sh runs it)"
line=$1
results=$(mkdir -p "$2" && CDPATH='' cd -- "$2" && pwd)
PATCH=livepatch_sample

tap_begin "klpctl.service at boot with systemd as init: load --all, klpctl.noload, the crash guard"
line_setup "$line" >/dev/null
release=$line_release
klpctl_deb=$(find "$KLP_TOP/build/deb" -name 'klpctl_*_amd64.deb' | sort | tail -n 1)
patch_deb=$(find "$KLP_TOP/build/deb" -name "klp-livepatch-sample-${release}_*_amd64.deb" |
	sort | tail -n 1)
if [ -z "$line_root" ] || [ -z "$klpctl_deb" ] || [ -z "$patch_deb" ]; then
	fail "a Debian root and the packages" "root '$line_root', packages in $KLP_TOP/build/deb:" \
		"$(ls "$KLP_TOP/build/deb" 2>&1)"
	tap_end
	exit
fi

work=$(mktemp -d /tmp/klp-rs-boot.XXXXXX)
root=$work/root
trap 'boot_root_remove "$work"' EXIT
trap 'exit 1' INT TERM
if ! out=$(boot_root "$work" "$line_root" 2>&1); then
	fail "an overlay of the Debian root" "$out"
	tap_end
	exit
fi

# The packages, as an administrator installs them (the root's own dpkg; the
# running kernel is the host's, so the postinst only installs the patch).
cp "$klpctl_deb" "$patch_deb" "$root/tmp/"
mount -t proc proc "$root/proc"
expect_ok "dpkg -i of klpctl's and the patch's packages into the root" \
	chroot "$root" dpkg -i "/tmp/$(basename "$klpctl_deb")" "/tmp/$(basename "$patch_deb")"
umount "$root/proc"
rm -f "$root/tmp/"*.deb
expect_ok "klpctl.service is enabled" \
	test -L "$root/etc/systemd/system/multi-user.target.wants/klpctl.service"
expect_ok "the patch is installed for $release" test -f "$root/var/lib/klp-rs/$release/$PATCH.ko"

# The test's side of the root (boot_root made the rest): the check unit.
cat >"$root/etc/systemd/system/klp-rs-boot-check.service" <<-EOF
	[Unit]
	Description=klp-rs boot test: record what klpctl.service did, then power off
	After=klpctl.service
	DefaultDependencies=no

	[Service]
	Type=oneshot
	ExecStart=/bin/sh /usr/local/sbin/klp-rs-boot-check
	StandardOutput=journal+console

	[Install]
	WantedBy=multi-user.target
EOF
# The second and third boots start this target instead of graphical.target
# (systemd.unit=): klpctl.service and the check unit alone, a minute less
# under TCG; the first boot proves that the package's enablement brings
# klpctl.service up in multi-user.target.
cat >"$root/etc/systemd/system/klp-rs-boot.target" <<-EOF
	[Unit]
	Description=klp-rs boot test: klpctl.service and the check unit only
	Wants=systemd-journald.service klpctl.service klp-rs-boot-check.service
	After=systemd-journald.service
EOF
ln -sf /etc/systemd/system/klp-rs-boot-check.service \
	"$root/etc/systemd/system/multi-user.target.wants/klp-rs-boot-check.service"
mkdir -p "$root/usr/local/sbin"
cat >"$root/usr/local/sbin/klp-rs-boot-check" <<-'EOF'
	#!/bin/sh
	# What klpctl.service did at this boot, into /var/tmp/klp-rs-boot/.
	out=/var/tmp/klp-rs-boot
	rm -rf "$out"
	mkdir -p "$out"
	cat /proc/1/comm >"$out/pid1"
	cat /proc/cmdline >"$out/cmdline"
	systemctl show -P ActiveState klpctl.service >"$out/state"
	systemctl show -P ExecMainStatus klpctl.service >"$out/status"
	# By unit, or by the identifier: journald files the lines of a process
	# that has exited before it looked the process up under no unit (the
	# crash-guard boot's klpctl fails in a few milliseconds).
	journalctl -b -o cat --no-pager _SYSTEMD_UNIT=klpctl.service + SYSLOG_IDENTIFIER=klpctl \
		>"$out/journal" 2>&1
	cat /sys/kernel/livepatch/livepatch_sample/enabled >"$out/enabled" 2>/dev/null ||
		echo absent >"$out/enabled"
	klpctl check >"$out/check" 2>&1
	echo $? >"$out/check.rc"
	awk '{ print $1 }' /proc/uptime >"$out/uptime"
	sync
	echo done >"$out/finished"
	systemctl --no-block poweroff
EOF

# boot CASE [KERNEL ARGS]: boots the root once; what the check unit recorded
# is in $work/CASE/.
boot() {
	case_name=$1
	shift
	start=$(date +%s)
	rm -rf "$root/var/tmp/klp-rs-boot"
	KLP_VM_ROOT=$root KLP_VM_SYSTEMD=1 KLP_VM_RW=1 KLP_VM_CPUS=1 KLP_VM_TIMEOUT=${KLP_BOOT_TIMEOUT:-420} \
		KLP_VM_APPEND="$*" KLP_VM_NAME="$line/boot-$case_name" \
		"$KLP_TOP/scripts/vm/run.sh" "$line" "$results/boot-$case_name" true >/dev/null 2>&1
	secs=$(($(date +%s) - start))
	mkdir -p "$work/$case_name"
	cp -a "$root/var/tmp/klp-rs-boot/." "$work/$case_name/" 2>/dev/null
	cp -a "$root/var/tmp/klp-rs-boot/." "$results/boot-$case_name/" 2>/dev/null
	diag "boot $case_name: ${secs} s on the host, $(cat "$work/$case_name/uptime" 2>/dev/null || echo '?') s of guest uptime when klpctl.service was done"
	if [ -f "$work/$case_name/finished" ]; then
		pass "boot $case_name: the guest booted with systemd and ran the check unit"
	else
		fail "boot $case_name: the guest booted with systemd and ran the check unit" \
			"no record after ${secs} s: see $results/boot-$case_name/console.log" \
			"$(grep -a -E 'FAILED|Kernel panic|BUG:' "$results/boot-$case_name/console.log" | head -n 5)"
	fi
	reports=$(grep -a -E 'Kernel panic|BUG:|WARNING:|Oops|general protection fault' \
		"$results/boot-$case_name/console.log" 2>/dev/null | head -n 5)
	expect_eq "boot $case_name: no kernel WARN/BUG/Oops" "" "$reports"
}
# recorded CASE FILE: what the check unit recorded.
recorded() {
	cat "$work/$1/$2" 2>/dev/null || printf '<missing>'
}

boot installed
expect_eq "installed: PID 1 is systemd" systemd "$(recorded installed pid1)"
expect_eq "installed: klpctl.service is active" active "$(recorded installed state)"
expect_eq "installed: klpctl.service exited 0" 0 "$(recorded installed status)"
expect_eq "installed: $PATCH/enabled reads 1 after boot" 1 "$(recorded installed enabled)"
expect_eq "installed: klpctl check exits 0" 0 "$(recorded installed check.rc)"
expect_ok "installed: the journal shows load --all loaded it" \
	grep -q "load --all: kernel $release: 1 loaded" "$work/installed/journal"
expect_ok "installed: no crash guard is left" test ! -e "$root/var/lib/klp-rs/$release/.loading-$PATCH"

boot noload klpctl.noload systemd.unit=klp-rs-boot.target
expect_ok "noload: klpctl.noload was on the kernel command line" \
	grep -qw klpctl.noload "$work/noload/cmdline"
expect_eq "noload: klpctl.service is active (a skip is no failure)" active "$(recorded noload state)"
expect_eq "noload: $PATCH is not loaded" absent "$(recorded noload enabled)"
expect_ok "noload: the journal says why" \
	grep -q 'the kernel command line has klpctl.noload' "$work/noload/journal"
expect_eq "noload: klpctl check exits 10 (installed, not loaded)" 10 "$(recorded noload check.rc)"

printf 'load --all by pid 1 of klpctl.service (left by the test)\n' \
	>"$root/var/lib/klp-rs/$release/.loading-$PATCH"
boot crash-guard systemd.unit=klp-rs-boot.target
expect_eq "crash guard: klpctl.service failed" failed "$(recorded crash-guard state)"
expect_eq "crash guard: with exit status 13" 13 "$(recorded crash-guard status)"
expect_eq "crash guard: $PATCH is not loaded" absent "$(recorded crash-guard enabled)"
expect_ok "crash guard: the journal names the guard and the patch" \
	grep -q "$PATCH: skipped by the crash guard" "$work/crash-guard/journal"
expect_eq "crash guard: klpctl check exits 13" 13 "$(recorded crash-guard check.rc)"
expect_ok "crash guard: the guard is still there for the administrator" \
	test -e "$root/var/lib/klp-rs/$release/.loading-$PATCH"
for case_name in installed noload crash-guard; do
	diag "journal of klpctl.service, boot $case_name:"
	sed 's/^/#   /' "$work/$case_name/journal" 2>/dev/null
done
tap_end

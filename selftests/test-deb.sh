#!/bin/sh
# klp-rs-test: cpus=1 cost=30 debug-cost=450
# The Debian packages of `make deb` (scripts/build/deb.sh, built by the host
# into build/deb/) installed with dpkg in a writable overlay of the guest's
# root (overlay_root: the root itself, the host's or the cached Debian one,
# stays as it is; its dpkg database on a tmpfs, overlay_dpkg_db; man-db's
# trigger off): klpctl's package (binary, unit enabled, man pages,
# completions), then the live patch's: `dpkg -i` leaves the patch enabled,
# `dpkg -r` leaves it unloaded and uninstalled, purge leaves nothing in
# /var/lib/klp-rs. On Debian's kernel, a package built for another version
# of the kernel package is refused.
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

PATCH=livepatch_sample
PATCHED_TEXT="this has been live patched by klp-rs"
release=$(uname -r)
debs=$KLP_TOP/build/deb
root=/tmp/klp-rs-deb-root

tap_begin "Debian packages: dpkg -i enables the live patch, dpkg -r unloads it, purge cleans up"
cleanup_patches
original=$(cat /proc/cmdline)

klpctl_deb=$(find "$debs" -name 'klpctl_*_amd64.deb' 2>/dev/null | sort | tail -n 1)
patch_deb=$(find "$debs" -name "klp-livepatch-sample-${release}_*_amd64.deb" 2>/dev/null |
	sort | tail -n 1)
if [ -z "$klpctl_deb" ] || [ -z "$patch_deb" ]; then
	fail "the packages are built" "no klpctl or klp-livepatch-sample-$release package in $debs" \
		"(make check builds them: scripts/build/deb.sh)"
	tap_end
	exit
fi
pass "the packages are built: $(basename "$klpctl_deb"), $(basename "$patch_deb")"
package=$(dpkg-deb -f "$patch_deb" Package)

# dpkg's database from the host's copy (KLP_DPKG_DB): the same, read faster.
if ! out=$(overlay_root "$root" 2>&1 && overlay_dpkg_db "$root" "${KLP_DPKG_DB:-}" 2>&1); then
	fail "a writable overlay of the root" "$out"
	tap_end
	exit
fi
# man-db's trigger off, as debconf's man-db/auto-update=false leaves it:
# it rebuilds the index of every manual page of the root (the host's on
# 6.12; the Debian root has no man-db) at each install and removal of
# klpctl's pages, 12 to 17 s each under TCG. The pages are tested as files.
rm -f "$root/var/lib/man-db/auto-update"
# in_root CMD...: CMD in the overlay, with its PATH.
in_root() {
	case $1 in dpkg) overlay_dirs "$root" "$klpctl_deb" "$patch_deb" ;; esac
	chroot "$root" env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
# presence PATH: present or absent.
presence() {
	if [ -e "$1" ] || [ -L "$1" ]; then echo present; else echo absent; fi
}
# status PACKAGE: its dpkg status ("install ok installed", or "not-installed").
status() {
	# shellcheck disable=SC2016 # dpkg-query's ${field}
	in_root dpkg-query -W -f '${Status}' "$1" 2>/dev/null || echo not-installed
}

expect_fail "the patch package without klpctl's: refused (dependency)" in_root dpkg -i "$patch_deb"
expect_eq "... and the patch is not loaded" absent "$(presence "$KLP_SYSFS/$PATCH")"
in_root dpkg --purge "$package" >/dev/null 2>&1

expect_ok "dpkg -i klpctl" in_root dpkg -i "$klpctl_deb"
expect_eq "klpctl is installed" "install ok installed" "$(status klpctl)"
expect_ok "/usr/sbin/klpctl runs" in_root /usr/sbin/klpctl --version
expect_ok "klpctl.service is enabled (multi-user.target.wants)" \
	test -L "$root/etc/systemd/system/multi-user.target.wants/klpctl.service"
expect_ok "the man page klpctl(8) is installed" test -s "$root/usr/share/man/man8/klpctl.8.gz"
expect_ok "... and klpctl-load(8)" test -s "$root/usr/share/man/man8/klpctl-load.8.gz"
expect_ok "the bash completion names the subcommands" \
	grep -q 'blockers' "$root/usr/share/bash-completion/completions/klpctl"

if dpkg-deb -f "$patch_deb" Depends | grep -q 'linux-image-'; then
	# A copy of the package that depends on another build of the kernel.
	tmp=$root/tmp/other-kernel
	mkdir -p "$tmp"
	dpkg-deb -R "$patch_deb" "$tmp/tree"
	sed -i 's/\(linux-image-[^ ]* (= \)[^)]*)/\10.0-other)/' "$tmp/tree/DEBIAN/control"
	dpkg-deb --root-owner-group -b "$tmp/tree" "$tmp/other.deb" >/dev/null
	expect_fail "a patch package for another version of the kernel package is refused" \
		in_root dpkg -i /tmp/other-kernel/other.deb
	expect_eq "... and the patch is not loaded" absent "$(presence "$KLP_SYSFS/$PATCH")"
	in_root dpkg --purge "$package" >/dev/null 2>&1
	rm -rf "$tmp"
fi

expect_ok "dpkg -i $(basename "$patch_deb")" in_root dpkg -i "$patch_deb"
expect_eq "the package is installed" "install ok installed" "$(status "$package")"
expect_eq "$PATCH/enabled reads 1 after dpkg -i" 1 "$(sysfs_value "$KLP_SYSFS/$PATCH/enabled")"
expect_eq "$PATCH/transition reads 0 (the postinst waited)" 0 \
	"$(sysfs_value "$KLP_SYSFS/$PATCH/transition")"
expect_eq "/proc/cmdline shows the patched text" "$PATCHED_TEXT" "$(cat /proc/cmdline)"
expect_ok "it is installed for klpctl.service: /var/lib/klp-rs/$release/$PATCH.ko" \
	test -f "$root/var/lib/klp-rs/$release/$PATCH.ko"
expect_ok "klpctl check: exit 0" in_root klpctl check
in_root klpctl list --installed >/dev/null 2>&1
expect_ok "list --installed shows it enabled" sh -c \
	"chroot '$root' klpctl list --installed | grep -q '$PATCH.*enabled'"

expect_ok "dpkg -i of the same package again" in_root dpkg -i "$patch_deb"
expect_eq "... the patch stays enabled" 1 "$(sysfs_value "$KLP_SYSFS/$PATCH/enabled")"

expect_ok "dpkg -r $package" in_root dpkg -r "$package"
expect_eq "the patch left sysfs after dpkg -r" absent "$(presence "$KLP_SYSFS/$PATCH")"
expect_eq "its module is unloaded" no "$(module_loaded "$PATCH" && echo yes || echo no)"
expect_eq "/proc/cmdline is the original again" "$original" "$(cat /proc/cmdline)"
expect_eq "it is no longer installed for klpctl.service" absent \
	"$(presence "$root/var/lib/klp-rs/$release/$PATCH.ko")"
expect_fail "the package is removed" sh -c \
	"chroot '$root' dpkg-query -W -f '\${Status}' '$package' | grep -q 'ok installed'"

# Install both again, then purge both: nothing of klp-rs remains.
expect_ok "dpkg -i both again" in_root dpkg -i "$klpctl_deb" "$patch_deb"
expect_eq "the patch is enabled again" 1 "$(sysfs_value "$KLP_SYSFS/$PATCH/enabled")"
expect_ok "dpkg --purge both" in_root dpkg --purge "$package" klpctl
expect_eq "the patch left sysfs after the purge" absent "$(presence "$KLP_SYSFS/$PATCH")"
expect_eq "nothing is left in /var/lib/klp-rs" "" \
	"$(find "$root/var/lib/klp-rs" 2>/dev/null)"
expect_eq "klpctl.service is no longer enabled" absent \
	"$(presence "$root/etc/systemd/system/multi-user.target.wants/klpctl.service")"
expect_eq "no file of the packages is left" "" \
	"$(ls "$root/usr/lib/klp-rs" "$root/usr/sbin/klpctl" "$root/usr/share/man/man8/klpctl.8.gz" 2>/dev/null)"
expect_eq "dpkg knows neither package" "not-installed not-installed" \
	"$(status klpctl | sed 's/.* //') $(status "$package" | sed 's/.* //')"

overlay_root_remove "$root"
cleanup_patches
tap_end

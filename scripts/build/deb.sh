#!/bin/sh
# Debian packages: of klpctl, and of a live patch for one kernel line.
#
#   scripts/build/deb.sh klpctl                 build/deb/klpctl_VERSION_amd64.deb
#   scripts/build/deb.sh patch LINE [PATCH...]  build/deb/klp-PATCH-RELEASE_VERSION_amd64.deb
#
# (`make deb [LINES=7.3] [PATCH=livepatch_sample]` runs both.) Each package is
# a staged tree with DEBIAN/control and maintainer scripts
# (packaging/debian/), built with `dpkg-deb --root-owner-group --build`; it
# prints the path of each package on stdout, and lintian's findings on stderr
# when lintian is installed (KLP_DEB_LINTIAN=0: not run).
#
# klpctl: the binary (release build) in /usr/sbin, klpctl.service (enabled by
# the postinst with deb-systemd-helper, as dh_installsystemd's snippets do;
# not started), the man pages and the bash, zsh and fish completions made by
# `klpctl generate` (clap_mangen, clap_complete).
#
# A live patch: the module PATCH.ko of the line's build (build/LINE/, built
# first), without its debug sections, in /usr/lib/klp-rs/RELEASE/, where RELEASE is the kernel release of
# its vermagic. Its postinst runs `klpctl install` and, if RELEASE is
# running, `klpctl load --wait` (so `dpkg -i` leaves the patch enabled); its
# prerm `klpctl unload`, its postrm `klpctl uninstall`. It depends on klpctl
# and, where the kernel is a Debian package (the 7.3 line), on that exact
# linux-image package version: it cannot be installed beside another build
# of the kernel. The 6.12 test kernel is no package: there the release in
# the package name and the postinst's check of the running kernel are all.
#
# KLP_DEB_VERSION (default: klpctl's version) is the packages' version.
set -eu
export KLP_LOG_TAG=deb
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

out=$KLP_TOP/build/deb
klpctl_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$KLP_TOP/tools/klpctl/Cargo.toml" | head -n 1)
version=${KLP_DEB_VERSION:-$klpctl_version}
maintainer=${KLP_DEB_MAINTAINER:-klp-rs developers <klp-rs@localhost>}
arch=amd64

# stage_doc DIR PACKAGE: the copyright and changelog Debian policy asks for.
stage_doc() {
	doc=$1/usr/share/doc/$2
	mkdir -p "$doc"
	cat >"$doc/copyright" <<-EOF
		Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
		Upstream-Name: klp-rs

		Files: *
		Copyright: $(git -C "$KLP_TOP" log -1 --format=%ad --date=format:%Y 2>/dev/null || date +%Y) klp-rs developers
		License: GPL-2
		 On Debian systems, the full text of the GNU General Public License
		 version 2 can be found in the file /usr/share/common-licenses/GPL-2.
	EOF
	{
		printf '%s (%s) unstable; urgency=medium\n\n' "$2" "$version"
		printf '  * Built by scripts/build/deb.sh from klp-rs %s.\n\n' \
			"$(git -C "$KLP_TOP" describe --always --dirty 2>/dev/null || echo unknown)"
		# The commit's date: the same tree gives the same package.
		printf ' -- %s  %s\n' "$maintainer" \
			"$(git -C "$KLP_TOP" log -1 --format=%aD 2>/dev/null || date -R)"
	} | gzip -9n >"$doc/changelog.gz"
}

# build_deb DIR: the package of the staged tree DIR, into $out; its path on
# stdout.
build_deb() {
	stage=$1
	package=$(sed -n 's/^Package: //p' "$stage/DEBIAN/control")
	# Installed-Size: in KiB, of everything but DEBIAN/.
	size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
	printf 'Installed-Size: %s\n' "$size" >>"$stage/DEBIAN/control"
	find "$stage" -type d -exec chmod 0755 {} +
	(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' |
		LC_ALL=C sort | xargs md5sum >DEBIAN/md5sums)
	mkdir -p "$out"
	deb=$out/${package}_${version}_$arch.deb
	# The commit's time for every file: reproducible packages.
	SOURCE_DATE_EPOCH=$(git -C "$KLP_TOP" log -1 --format=%ct 2>/dev/null || date +%s)
	export SOURCE_DATE_EPOCH
	dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
	if [ "${KLP_DEB_LINTIAN:-1}" = 1 ] && command -v lintian >/dev/null; then
		# The placeholder maintainer address (KLP_DEB_MAINTAINER sets a real one).
		lintian --quiet --suppress-tags \
			maintainer-address-is-on-localhost,bogus-mail-host,bogus-mail-host-in-debian-changelog \
			"$deb" >&2 || log "lintian found problems in $deb (above)"
	fi
	log "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"
	printf '%s\n' "$deb"
}

# substitute FILE NAME RELEASE: a maintainer script with @NAME@ and @RELEASE@ filled in.
substitute() {
	sed -e "s|@NAME@|$2|g" -e "s|@RELEASE@|$3|g" "$1"
}

deb_klpctl() {
	log "klpctl: cargo build --release"
	(cd "$KLP_TOP/tools/klpctl" && cargo build --release --locked --quiet) ||
		die "klpctl does not build (cd tools/klpctl && cargo build --release)"
	bin=$KLP_TOP/tools/klpctl/target/release/klpctl
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage/DEBIAN" "$stage/usr/sbin" "$stage/usr/lib/systemd/system" \
		"$stage/usr/share/man/man8" "$stage/usr/share/bash-completion/completions" \
		"$stage/usr/share/zsh/vendor-completions" "$stage/usr/share/fish/vendor_completions.d"
	install -m 0755 "$bin" "$stage/usr/sbin/klpctl"
	strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/sbin/klpctl"
	install -m 0644 "$KLP_TOP/tools/klpctl/systemd/klpctl.service" "$stage/usr/lib/systemd/system/"
	"$bin" generate man "$stage/usr/share/man/man8" >/dev/null
	gzip -9n "$stage"/usr/share/man/man8/*.8
	"$bin" generate completions bash >"$stage/usr/share/bash-completion/completions/klpctl"
	"$bin" generate completions zsh >"$stage/usr/share/zsh/vendor-completions/_klpctl"
	"$bin" generate completions fish >"$stage/usr/share/fish/vendor_completions.d/klpctl.fish"
	chmod 0644 "$stage"/usr/share/*/*/* "$stage"/usr/share/*/*/*/* 2>/dev/null || true
	stage_doc "$stage" klpctl
	# The C library: the highest symbol version the binary needs.
	glibc=$(objdump -T "$stage/usr/sbin/klpctl" | sed -n 's/.*GLIBC_\([0-9.]*\).*/\1/p' |
		sort -V | tail -n 1)
	depends="libc6 (>= $glibc)"
	if objdump -p "$stage/usr/sbin/klpctl" | grep -q 'NEEDED.*libgcc_s'; then
		depends="$depends, libgcc-s1 (>= 4.2)"
	fi
	cat >"$stage/DEBIAN/control" <<-EOF
		Package: klpctl
		Version: $version
		Architecture: $arch
		Maintainer: $maintainer
		Depends: $depends
		Section: admin
		Priority: optional
		Description: load, watch, diagnose and remove Linux kernel live patches
		 klpctl loads live patch modules and waits for their transition, shows
		 the tasks that block one, disables and removes patches, and keeps the
		 live patches installed for each kernel release in /var/lib/klp-rs,
		 which klpctl.service loads at boot (skipped with klpctl.noload on the
		 kernel command line; a patch whose load never finished is skipped by
		 the crash guard). "klpctl check" answers by its exit code, and
		 "--format prometheus" writes node_exporter textfile metrics.
	EOF
	cp "$KLP_TOP/packaging/debian/klpctl/postinst" "$KLP_TOP/packaging/debian/klpctl/postrm" \
		"$stage/DEBIAN/"
	chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/postrm"
	build_deb "$stage"
}

# deb_patch LINE PATCH: the package of PATCH, from LINE's build.
deb_patch() {
	line=$1
	patch=$2
	ko=$(find "$(line_build_dir "$line")" -name "$patch.ko" | head -n 1)
	[ -n "$ko" ] || die "no module $patch.ko in $(line_build_dir "$line")"
	modinfo -F livepatch "$ko" | grep -qx Y || die "$ko is not a live patch module (no livepatch=Y)"
	release=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
	[ -n "$release" ] || die "$ko has no vermagic"
	description=$(modinfo -F description "$ko" | head -n 1)
	# Debian package names: lower case letters, digits, + - .
	package=klp-$(printf '%s' "$patch" | tr '_A-Z' '-a-z')-$(printf '%s' "$release" | tr 'A-Z_' 'a-z-')
	depends="klpctl (>= $klpctl_version)"
	# Debian's own 7.3 kernel is a package the patch depends on, at that
	# version; the test kernels klp-rs builds (6.12, and 7.3's debug variant
	# for make check-debug) are not packaged.
	if [ "$line" = 7.3 ] && [ "$KLP_KERNEL_VARIANT" = base ]; then
		root=$("$KLP_TOP/scripts/kernel/debian-root.sh")
		image=linux-image-$release
		image_version=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Version}' "$image") ||
			die "$image is not installed in the Debian root $root"
		depends="$depends, $image (= $image_version)"
	fi
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage/DEBIAN" "$stage/usr/lib/klp-rs/$release"
	install -m 0644 "$ko" "$stage/usr/lib/klp-rs/$release/$patch.ko"
	# As kbuild's INSTALL_MOD_STRIP=1 and Debian's kernel modules: without
	# debug sections (951 KiB -> 33 KiB for livepatch_sample); the livepatch
	# sections and symbols stay.
	strip --strip-debug "$stage/usr/lib/klp-rs/$release/$patch.ko"
	stage_doc "$stage" "$package"
	cat >"$stage/DEBIAN/control" <<-EOF
		Package: $package
		Version: $version
		Architecture: $arch
		Maintainer: $maintainer
		Depends: $depends
		Section: kernel
		Priority: optional
		Description: live patch $patch for Linux $release
		 ${description:-A kernel live patch.}
		 .
		 Installing the package installs the patch with klpctl for kernel
		 $release and, when that kernel is running, loads it and waits until
		 it is enabled; klpctl.service loads it at each boot of that kernel.
		 Removing the package disables and unloads it.
	EOF
	for script in postinst prerm postrm; do
		substitute "$KLP_TOP/packaging/debian/patch/$script" "$patch" "$release" >"$stage/DEBIAN/$script"
		chmod 0755 "$stage/DEBIAN/$script"
	done
	build_deb "$stage"
	rm -rf "$stage"
}

case ${1:-} in
klpctl) deb_klpctl ;;
patch)
	[ $# -ge 2 ] || die "usage: $0 patch LINE [PATCH...]"
	line=$2
	shift 2
	[ $# -gt 0 ] || set -- livepatch_sample
	"$KLP_TOP/scripts/build/modules.sh" "$line" modules >/dev/null
	for patch; do
		deb_patch "$line" "$patch"
	done
	;;
*) die "usage: $0 klpctl | patch LINE [PATCH...]" ;;
esac

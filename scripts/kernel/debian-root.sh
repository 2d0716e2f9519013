#!/bin/sh
# The Debian 13 root of the stock-kernel line: one directory that is both the
# build root in which klp-rs builds modules for Debian's own 7.3 kernel, and
# the root file system the test VM boots that kernel with.
#
#   scripts/kernel/debian-root.sh        prints the root's path (made once)
#
# It is made with mmdebstrap from Debian's trixie, trixie-updates,
# trixie-security and trixie-backports suites (the host's own apt sources are
# not touched; the archive addresses are the host's, so a local mirror is
# used if the host has one), and holds:
#   - what Debian built the kernel with: rustc and rust-src from trixie (the
#     exact build Debian's kernel was compiled by; the backported rustc is a
#     different build and gives other symbol names), gcc-14, bindgen,
#     libclang 19, pahole and the kernel build tools; clang, lld and llvm
#     19 for the line's debug kernel (scripts/kernel/test-kernel.sh 7.3);
#   - Debian's kernel: linux-image-7.3.N+deb13-amd64 (the newest 7.3 in
#     trixie-backports, as Debian signed it), its headers package
#     (Module.symvers, .config, vmlinux for BTF) and linux-source-7.3;
#   - what the tests run in the guest: bash, kmod, procps, util-linux,
#     busybox; for a managed host of the fleet playbook
#     (selftests/test-ansible-rollout.sh: ansible-playbook on the host, the
#     controller, reaches the booted root over SSH): openssh-server, and
#     python3-apt for Ansible's apt module.
# The root is kept in $KLP_CACHE/debian13/<hash of the package lists>/root; a
# finished one has a stamp file and is reused at once.
set -eu
export KLP_LOG_TAG=debian-root
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

# The kernel line: the newest linux-image-$KLP_DEBIAN_SERIES.N+deb13-amd64.
KLP_DEBIAN_SERIES=${KLP_DEBIAN_SERIES:-7.3}

# clang, lld and llvm 19 build the line's debug kernel (make check-debug): the
# kernel allows KASAN beside Rust only when clang builds the C side.
BUILD_PACKAGES="rustc rust-src bindgen libclang-19-dev gcc-14 make bc flex bison \
pahole libelf-dev libssl-dev openssl xz-utils cpio python3 rustfmt rsync \
clang-19 lld-19 llvm-19"
GUEST_PACKAGES="bash kmod procps util-linux busybox-static iproute2 jq python3-apt \
openssh-server ca-certificates"
# Bumped when the way the root is made changes (the packages are in the key).
ROOT_FORMAT=1

# archive LABEL: the URI of the host's apt source with that label (Debian,
# Debian-Security).
archive() {
	# shellcheck disable=SC2016 # apt's own $(...) fields
	apt-get indextargets --format '$(REPO_URI) $(LABEL)' 'Created-By: Packages' |
		awk -v label="$1" '$2 == label { print $1; exit }'
}

make_root() {
	dir=$1
	main=$(archive Debian)
	security=$(archive Debian-Security)
	[ -n "$main" ] || die "the host's apt sources have no Debian archive"
	[ -n "$security" ] || security=${main%/debian/}/debian-security/
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	log "making a Debian 13 root with mmdebstrap in $dir (about 3 minutes)"
	# The customize hook picks the newest 7.3 kernel of trixie-backports and
	# installs it, its headers and the 7.3 source; mmdebstrap has mounted
	# /proc, /sys and /dev in the root for it.
	# shellcheck disable=SC2016 # $1 and $(...) are the hook's, not ours
	mmdebstrap --quiet --variant=minbase \
		--include="$(echo "$BUILD_PACKAGES $GUEST_PACKAGES" | tr ' ' ',')" \
		--aptopt='APT::Install-Recommends "false"' \
		--customize-hook='chroot "$1" sh -ec "
			ver=\$(apt-cache search --names-only \"^linux-image-'"$KLP_DEBIAN_SERIES"'\\.[0-9]+\\+deb13-amd64\$\" |
				cut -d\" \" -f1 | sed s/^linux-image-// | sort -V | tail -n 1)
			[ -n \"\$ver\" ] || { echo no linux-image-'"$KLP_DEBIAN_SERIES"' in trixie-backports >&2; exit 1; }
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t trixie-backports linux-image-\$ver \
				linux-headers-\$ver linux-source-'"$KLP_DEBIAN_SERIES"' >/dev/null
			echo \$ver >/etc/klp-rs-kernel-release"' \
		trixie "$dir.tmp" \
		"deb ${main} trixie main" \
		"deb ${main} trixie-updates main" \
		"deb ${security} trixie-security main" \
		"deb ${main} trixie-backports main" >&2
	mv "$dir.tmp" "$dir"
	# Roots made by other versions of this script are not used any more.
	for old in "$KLP_CACHE"/debian13/*/; do
		[ "${old%/}" = "$(dirname "$dir")" ] || { log "removing the old root $old"; rm -rf "$old"; }
	done
}

# shellcheck disable=SC2086 # the package lists, one package per word
hash=$(printf '%s\n' "$ROOT_FORMAT $KLP_DEBIAN_SERIES" \
	$BUILD_PACKAGES $GUEST_PACKAGES |
	sha256sum | cut -c1-12)
top=$KLP_CACHE/debian13/$hash
mkdir -p "$top"
exec 9>"$top/lock"
flock 9
if [ ! -f "$top/root/etc/klp-rs-kernel-release" ]; then
	start=$(date +%s)
	make_root "$top/root"
	log "made in $(elapsed "$start"): Debian kernel $(cat "$top/root/etc/klp-rs-kernel-release")," \
		"$(chroot "$top/root" rustc --version)"
fi
printf '%s\n' "$top/root"

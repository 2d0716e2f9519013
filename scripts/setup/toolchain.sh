#!/bin/sh
# Install what klp-rs needs to build and boot its test kernel, and nothing
# that is already there. Safe to run again: each step checks first.
#
#   Debian packages  clang/LLVM 19, rustc-web + rust-web-src (rustc with the
#                    library source the kernel's `core` build needs) and its
#                    rustfmt, kernel build tools, qemu, linux-source-6.12,
#                    mmdebstrap (the Debian 13 root of the 7.3 line), rsync,
#                    openssl (module signing keys, scripts/build/sign.sh),
#                    openssh-client (the fleet test's controller),
#                    and the linter: every tool a check uses
#   bindgen-cli      from crates.io into $KLP_CACHE/tools (Debian's is too old)
#   virtme-ng        from PyPI into the venv $KLP_CACHE/venv
#   ansible-core     from PyPI into the same venv: the fleet playbook
#                    (deploy/ansible/livepatch.yml) run from this machine
set -eu
export KLP_LOG_TAG=setup
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

BINDGEN_VERSION=0.73.2
VIRTME_NG_VERSION=1.42

APT_PACKAGES="rustc-web rust-web-src rustfmt-web clang-19 lld-19 llvm-19 libclang-19-dev \
flex bison bc make gcc libc6-dev libelf-dev libssl-dev openssl cpio kmod xz-utils \
qemu-system-x86 python3-venv python3-pip linux-source-6.12 busybox-static \
procps rsync mmdebstrap shellcheck binutils dpkg-dev fakeroot lintian python3-apt jq \
openssh-client"

missing_packages() {
	for pkg in $APT_PACKAGES; do
		status=$(dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null) || status=
		[ "$status" = installed ] || printf '%s ' "$pkg"
	done
}

install_packages() {
	missing=$(missing_packages)
	if [ -z "$missing" ]; then
		log "Debian packages: all present"
		return
	fi
	log "Debian packages: installing $missing"
	as_root apt-get update -q
	# shellcheck disable=SC2086 # word splitting of the package list is wanted
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing
}

install_bindgen() {
	if [ -x "$KLP_BINDGEN" ] &&
		"$KLP_BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
		log "bindgen: $("$KLP_BINDGEN" --version)"
		return
	fi
	cargo=$(command -v cargo || true)
	if [ -z "$cargo" ]; then
		log "cargo: not found, installing Debian's cargo-web"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends cargo-web
		cargo=/usr/bin/cargo
	fi
	log "bindgen: building bindgen-cli $BINDGEN_VERSION from crates.io (about 2 minutes)"
	"$cargo" install --quiet --locked --root "$KLP_CACHE/tools" \
		bindgen-cli --version "$BINDGEN_VERSION"
	log "bindgen: $("$KLP_BINDGEN" --version)"
}

install_virtme_ng() {
	if [ -x "$KLP_VENV/bin/vng" ] &&
		"$KLP_VENV/bin/pip" show virtme-ng 2>/dev/null |
		grep -q "^Version: $VIRTME_NG_VERSION\$"; then
		log "virtme-ng: $VIRTME_NG_VERSION in $KLP_VENV"
		return
	fi
	log "virtme-ng: installing $VIRTME_NG_VERSION from PyPI into $KLP_VENV"
	python3 -m venv "$KLP_VENV"
	"$KLP_VENV/bin/pip" install --quiet --disable-pip-version-check \
		"virtme-ng==$VIRTME_NG_VERSION"
}

install_ansible() {
	if "$KLP_VENV/bin/pip" show ansible-core 2>/dev/null |
		grep -q "^Version: $KLP_ANSIBLE_CORE_VERSION\$"; then
		log "ansible-core: $KLP_ANSIBLE_CORE_VERSION in $KLP_VENV"
		return
	fi
	log "ansible-core: installing $KLP_ANSIBLE_CORE_VERSION from PyPI into $KLP_VENV"
	"$KLP_VENV/bin/pip" install --quiet --disable-pip-version-check \
		"ansible-core==$KLP_ANSIBLE_CORE_VERSION"
}

check_versions() {
	"$KLP_RUSTC" --version >/dev/null 2>&1 || die "no rustc at $KLP_RUSTC"
	[ -d /usr/lib/rustlib/src/rust/library ] ||
		die "rust library source missing (package rust-web-src)"
	[ -f "$KLP_LIBCLANG_PATH/libclang.so" ] ||
		[ -n "$(find "$KLP_LIBCLANG_PATH" -maxdepth 1 -name 'libclang*.so*' 2>/dev/null)" ] ||
		die "no libclang in $KLP_LIBCLANG_PATH"
	[ -r "$KLP_KERNEL_SOURCE_TARBALL" ] ||
		die "kernel source $KLP_KERNEL_SOURCE_TARBALL missing (package linux-source-6.12)"
	log "rustc: $("$KLP_RUSTC" --version)"
	log "clang: $("clang$KLP_LLVM_SUFFIX" --version | head -n 1)"
}

mkdir -p "$KLP_CACHE"
install_packages
install_bindgen
install_virtme_ng
install_ansible
check_versions
log "toolchain ready (cache: $KLP_CACHE)"

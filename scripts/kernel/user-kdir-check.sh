#!/bin/sh
# The steps README.md gives a user with their own Debian 7.3 kernel, done
# for real inside the Debian 13 root (a Debian 13 machine with Debian's
# headers package and compilers): the headers package plus klp-rs's Rust
# metadata (scripts/kernel/rust-metadata.sh) build the modules with
# `make KDIR=...`; a rustc other than the kernel's is refused before
# building; every undefined symbol is exported by the kernel.
#
#   scripts/kernel/user-kdir-check.sh
#
# Prints TAP cases (without the plan) for scripts/static-checks.sh.
set -u
export KLP_LOG_TAG=user-kdir
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

n=${KLP_TAP_BASE:-0}
# case OK DESC [WHY...]
case_line() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		printf 'ok %d - %s\n' "$n" "$2"
	else
		printf 'not ok %d - %s\n' "$n" "$2"
		shift 2
		printf '%s\n' "$@" | tail -n 20 | sed 's/^/#   /'
	fi
}

line_setup 7.3
kit=$("$KLP_TOP/scripts/kernel/rust-metadata.sh" "$KLP_TOP/results/rust-metadata" 2>/dev/null)
# The user's steps: the metadata unpacked into the headers package's own
# directory (Debian's headers Makefile names that path; its scripts/ is a
# link to linux-kbuild's, which gets target.json). Taken out again at the end.
kdir=/usr/src/linux-headers-$line_release
rm -rf "$KLP_TOP/build/kdir"
tar -C "$line_root$kdir" -xf "$kit"
# remove_kit: the root's headers package as Debian installed it.
remove_kit() {
	tar -tf "$kit" | while read -r file; do rm -f "$line_root$kdir/$file"; done
	rmdir "$line_root$kdir/rust/bindings" "$line_root$kdir/rust" 2>/dev/null
}
trap remove_kit EXIT

# As on a user's machine: without the kernel source and the tree klp-rs
# prepared (in_root hides /usr/src/klp-rs).
KLP_ROOT_HIDE=/usr/src/klp-rs
export KLP_ROOT_HIDE

# A rustc that is not the kernel's: a wrapper that says it is another one.
fake=/tmp/klp-rs-other-rustc
# shellcheck disable=SC2016 # the wrapper's own $1 and $@
printf '#!/bin/sh\n[ "$1" = --version ] && { echo "rustc 1.85.1 (4eb161250 2025-03-15)"; exit 0; }\nexec rustc "$@"\n' \
	>"$line_root$fake"
chmod +x "$line_root$fake"
out=$(in_root "$line_root" env KDIR="$kdir" RUSTC="$fake" make -C "$KLP_TOP" modules 2>&1)
rc=$?
if [ "$rc" != 0 ] && printf '%s\n' "$out" | grep -q "was built by 'rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)'"; then
	case_line 0 "7.3 user kdir: a rustc other than the kernel's is refused before building, with why"
else
	case_line 1 "7.3 user kdir: a rustc other than the kernel's is refused before building, with why" \
		"exit $rc" "$out"
fi
compiled=$(find "$KLP_TOP/build/kdir" -name '*.o' 2>/dev/null | head -n 3)
case_line "$([ -z "$compiled" ] && echo 0 || echo 1)" "7.3 user kdir: and nothing was compiled" \
	"$compiled"

out=$(in_root "$line_root" env KDIR="$kdir" make -C "$KLP_TOP" modules 2>&1)
rc=$?
case_line "$rc" "7.3 user kdir: Debian's headers package + the Rust metadata build every module (make KDIR=...)" "$out"
if printf '%s\n' "$out" | grep -q 'every undefined symbol is exported by the kernel'; then
	case_line 0 "7.3 user kdir: every undefined symbol of the modules is exported by the kernel"
else
	case_line 1 "7.3 user kdir: every undefined symbol of the modules is exported by the kernel" "$out"
fi
# The same Rust symbols as the modules klp-rs builds in its own prepared tree.
a=$(nm -u "$KLP_TOP/build/kdir/samples/livepatch_sample/livepatch_sample.ko" 2>&1)
b=$(nm -u "$line_build/samples/livepatch_sample/livepatch_sample.ko" 2>&1)
if [ "$a" = "$b" ]; then
	case_line 0 "7.3 user kdir: livepatch_sample.ko needs the same symbols as the one built in the prepared tree"
else
	case_line 1 "7.3 user kdir: livepatch_sample.ko needs the same symbols as the one built in the prepared tree" \
		"$(printf '%s\n' "$a" >/tmp/a.$$; printf '%s\n' "$b" | diff /tmp/a.$$ -; rm -f /tmp/a.$$)"
fi
rm -f "$line_root$fake"

#!/bin/sh
# The Rust metadata that Debian's headers package lacks, as an add-on for a
# machine that runs Debian's stock 7.3 kernel: with it, the headers package
# builds Rust modules (klp-rs live patches among them) for that kernel.
#
#   scripts/kernel/rust-metadata.sh [OUT_DIR]     (default: results/rust-metadata)
#
# Packs, from the tree scripts/kernel/debian-kernel.sh prepared with Debian's
# own compilers: rust/*.rmeta and the proc-macro libraries rust/*.so (the
# kernel's crates: core, kernel, macros, ...), scripts/target.json, and the
# recorded bindgen command of the kernel's bindings (which klp-rs reads to
# generate its livepatch bindings with the kernel's clang flags), its paths
# turned to the headers package's. Prints the tarball's path. README.md ("Your own Debian 7.3 kernel") says how to use it.
set -eu
export KLP_LOG_TAG=rust-metadata
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

out=${1:-$KLP_TOP/results/rust-metadata}
line_setup 7.3
tarball=$out/linux-rust-metadata-$line_release.tar.xz
mkdir -p "$out"
log "packing the Rust metadata of $line_release into $tarball"
# The recorded bindgen command names the kernel source klp-rs prepared from;
# on the user's machine those headers are the headers package's common part
# (the directory its Makefile includes).
common=$(sed -n 's|^include \(.*\)/Makefile$|\1|p' "$line_root/usr/src/linux-headers-$line_release/Makefile")
[ -n "$common" ] || die "cannot find the common headers directory of linux-headers-$line_release"
source_dir=${line_src#"$line_root"}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
(cd "$line_kdir" && find rust -maxdepth 1 \( -name '*.rmeta' -o -name '*.so' \) -print &&
	echo scripts/target.json) | while read -r file; do
	mkdir -p "$stage/$(dirname "$file")"
	cp "$line_kdir/$file" "$stage/$file"
done
mkdir -p "$stage/rust/bindings"
sed "s|$source_dir|$common|g" "$line_kdir/rust/bindings/.bindings_generated.rs.cmd" \
	>"$stage/rust/bindings/.bindings_generated.rs.cmd"
# The build's post-link step for modules that use klp::symbols!
# (tools/klp-post-link), built here: a Debian machine has no cargo new
# enough for it. scripts/build/modules.sh finds it in the kernel tree.
(cd "$KLP_TOP/tools/klp-post-link" && cargo build --locked --quiet --release) ||
	die "tools/klp-post-link does not build"
mkdir -p "$stage/klp-rs"
cp "$KLP_TOP/tools/klp-post-link/target/release/klp-post-link" "$stage/klp-rs/"
# Packed again only when what goes in changed (xz takes most of a minute):
# the digest of the contents is kept beside the tarball.
digest=$( (cd "$stage" && find . -type f | sort | xargs sha256sum) | sha256sum | cut -d' ' -f1)
if [ -f "$tarball" ] && [ "$(cat "$tarball.contents" 2>/dev/null)" = "$digest" ]; then
	log "unchanged since it was packed"
else
	rm -f "$tarball.contents"
	(cd "$stage" && find . -type f | sed 's|^\./||' | sort) | tar -C "$stage" -cJf "$tarball" -T -
	printf '%s\n' "$digest" >"$tarball.contents"
fi
log "$(tar -tJf "$tarball" | wc -l) files, $(du -h "$tarball" | cut -f1)"
printf '%s\n' "$tarball"

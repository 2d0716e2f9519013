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
# generate its livepatch bindings with the kernel's clang flags). Prints the
# tarball's path. README.md ("Your own Debian 7.3 kernel") says how to use it.
set -eu
export KLP_LOG_TAG=rust-metadata
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

out=${1:-$KLP_TOP/results/rust-metadata}
line_setup 7.3
tarball=$out/linux-rust-metadata-$line_release.tar.xz
mkdir -p "$out"
log "packing the Rust metadata of $line_release into $tarball"
(cd "$line_kdir" && find rust -maxdepth 1 \( -name '*.rmeta' -o -name '*.so' \) -print &&
	echo scripts/target.json && echo rust/bindings/.bindings_generated.rs.cmd) |
	sort | tar -C "$line_kdir" -cJf "$tarball" -T -
log "$(tar -tJf "$tarball" | wc -l) files, $(du -h "$tarball" | cut -f1)"
printf '%s\n' "$tarball"

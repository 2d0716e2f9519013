#!/bin/sh
# Build the klp-rs modules (samples/, selftests/, bench/ generated ones) for
# one kernel line, out of tree.
#
#   scripts/build/modules.sh LINE [make targets...]     (default: modules)
#
# The sources are copied into build/LINE/ (rsync, keeping times, so that an
# unchanged file is not rebuilt) and built there against the line's kernel
# tree with the line's compilers (scripts/common.sh: line_setup), after the
# livepatch bindings for that kernel are generated into
# build/LINE/generated/. Before the build it checks that the rustc is the
# kernel's own; after it, it turns the uses of klp::symbols! into livepatch
# relocations (tools/klp-post-link) and checks that every other undefined
# symbol of every module is exported by the kernel
# (scripts/build/check-symbols.sh), and builds the selftests' user-space
# helpers (selftests/helpers/*.c) into build/LINE/bin/. Prints build/LINE on
# stdout.
set -eu
export KLP_LOG_TAG=modules
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

[ $# -ge 1 ] || die "usage: $0 LINE [make targets...]"
line=$1
shift
line_setup "$line"
line_check_rustc
mkdir -p "$line_build"
# The sources; build products in build/LINE are kept (excluded from --delete).
rsync -a --delete \
	--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
	--exclude='.*.cmd' --exclude='*.d' --exclude=modules.order \
	--exclude=Module.symvers --exclude='/generated/' \
	--include='/Kbuild' --include='/src/***' --include='/samples/***' \
	--include='/selftests/***' --include='/bench/***' --exclude='*' \
	"$KLP_TOP/" "$line_build/"
line_run "$KLP_TOP/scripts/kernel/gen-bindings.sh" "$line_kdir_in" \
	"$line_build/generated/livepatch_bindings.rs" >&2
[ $# -gt 0 ] || set -- modules
log "$line: make M=${line_build#"$KLP_TOP"/} $*"
# The log is kept for the static check that there was no compiler warning.
if ! line_make M="$line_build" -j"$(( $(nproc) + 1 ))" "$@" >"$line_build/build.log" 2>&1; then
	tail -n 40 "$line_build/build.log" >&2
	die "$line: the build failed (log: $line_build/build.log)"
fi
if [ "$*" = modules ]; then
	# The livepatch relocations of the modules that use klp::symbols!
	# (tools/klp-post-link; a module without .klp.sym.* symbols, or one
	# already converted, is left as it is).
	# Built with cargo where there is one; on a Debian machine building for
	# its own kernel, the copy `make rust-metadata` put in the kernel tree.
	post_link=$KLP_TOP/tools/klp-post-link/target/release/klp-post-link
	if command -v cargo >/dev/null; then
		(cd "$KLP_TOP/tools/klp-post-link" && cargo build --locked --quiet --release) ||
			die "tools/klp-post-link does not build (cd tools/klp-post-link && cargo build)"
	elif [ -x "$line_kdir/klp-rs/klp-post-link" ]; then
		post_link=$line_kdir/klp-rs/klp-post-link
	else
		die "no cargo to build tools/klp-post-link, and no klp-rs/klp-post-link in $line_kdir (from make rust-metadata)"
	fi
	# shellcheck disable=SC2046 # paths without spaces
	"$post_link" $(find "$line_build" -name '*.ko' | sort) ||
		die "$line: the livepatch relocations could not be made (see above)"
	# shellcheck disable=SC2046 # paths without spaces
	"$KLP_TOP/scripts/build/check-symbols.sh" "$line_kdir/Module.symvers" \
		$(find "$line_build" -name Module.symvers) \
		$(find "$line_build" \( -path "$line_build/signed" -o -path "$line_build/signed-other" \
			-o -path "$line_build/unsigned" \) \
			-prune -o -name '*.ko' -print | sort) >&2
	# The user-space helpers of the selftests (selftests/helpers/*.c), for
	# the line's guest: with its C compiler, into build/LINE/bin/.
	mkdir -p "$line_build/bin"
	for src in "$KLP_TOP"/selftests/helpers/*.c; do
		bin=$line_build/bin/$(basename "$src" .c)
		if [ -n "$line_root" ]; then
			line_run gcc-14 -O2 -Wall -Werror -pthread -o "$bin" "$src"
		else
			${CC:-cc} -O2 -Wall -Werror -pthread -o "$bin" "$src"
		fi || die "$line: $src does not build"
	done
fi
printf '%s\n' "$line_build"

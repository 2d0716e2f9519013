#!/bin/sh
# Checks of the source itself, recorded as TAP so that `make check` counts
# them: lint, the project's Rust rules, the layout of the kernel's Rust
# bindings, and compile-time behaviour of the library (a mismatching
# replacement signature must not build).
#
#   scripts/static-checks.sh RESULTS_DIR NAME LINE...
#
# The checks of the sources run once; those that depend on a kernel (the
# layout of its bindings, the compile tests) run for each kernel LINE, whose
# modules must have been built (scripts/build/modules.sh LINE). Writes
# RESULTS_DIR/NAME.tap and NAME.rc.
set -u
export KLP_LOG_TAG=static
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/common.sh"

[ $# -ge 3 ] || die "usage: $0 RESULTS_DIR NAME LINE..."
out=$1/$2
shift 2
cd "$KLP_TOP" || exit 1
n=0
failed=0

ok() {
	n=$((n + 1))
	printf 'ok %d - %s\n' "$n" "$1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	printf 'not ok %d - %s\n' "$n" "$1"
	shift
	printf '%s\n' "$@" | head -n 20 | sed 's/^/#   /'
}
# check DESC OUTPUT: passes when OUTPUT (the offending lines) is empty.
check() {
	if [ -z "$2" ]; then ok "$1"; else not_ok "$1" "$2"; fi
}

# Checks whose answer depends only on the sources and the tools keep a pass
# in build/static/NAME with the digest of what they read (their KEY), and a
# run with the same KEY says so instead of checking again: `make check` run
# twice on the same tree compiles and lints nothing twice. A failure is
# never kept.
#
# tree_key: a digest of every file of the repository, tracked or new (not
# the ignored build output); '' outside a git checkout, where nothing is
# kept.
tree_key() {
	git -C "$KLP_TOP" rev-parse --git-dir >/dev/null 2>&1 || return 0
	git -C "$KLP_TOP" ls-files -z -c -o --exclude-standard |
		xargs -0 sha256sum 2>/dev/null | sha256sum | cut -c1-16
}
# source_key TEXT...: the digest of the tree ($tree, tree_key) and of TEXT
# (the tools' versions ...); '' where the tree has none.
source_key() {
	[ -n "$tree" ] || return 0
	printf '%s\n' "$tree" "$@" | sha256sum | cut -c1-16
}
# kept NAME KEY: true if a pass of NAME was kept with KEY (not '').
kept() {
	[ -n "$2" ] && [ "$(head -n 1 "build/static/$1" 2>/dev/null)" = "$2" ]
}
# keep NAME KEY [LINE...]: keeps a pass of NAME with KEY, and the LINEs
# (the descriptions of the cases it passed).
keep() {
	[ -n "$2" ] || return 0
	mkdir -p build/static
	kept_file=build/static/$1
	printf '%s\n' "$2" >"$kept_file"
	shift 2
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$kept_file"
}
# kept_note NAME: the diagnostic line of a kept pass.
kept_note() {
	printf '#   as checked before with the same inputs (build/static/%s)\n' "$1"
}

rust_files() {
	find src samples selftests bench -name '*.rs' | sort
}

# unsafe blocks without a SAFETY comment: the comment block right above the
# block (or the block's own line) must have a `// SAFETY:` line; the whole
# argument may take several lines, as in rust/kernel/.
unsafe_without_safety_comment() {
	# shellcheck disable=SC2016 # $0 is awk's
	rust_files | xargs awk '
		FNR == 1 { safety = 0 }
		/unsafe[[:space:]]*\{/ && !safety && $0 !~ /SAFETY/ { print FILENAME ":" FNR ": " $0 }
		/^[[:space:]]*\/\/.*SAFETY:/ { safety = 1; next }
		/^[[:space:]]*\/\// { next }
		NF { safety = 0 }'
}

# SAFETY comments that a plain comment leads into: the whole argument
# belongs in the SAFETY block (as in rust/kernel/), not partly in a comment
# above a one-line SAFETY.
safety_not_first() {
	# shellcheck disable=SC2016 # $0 is awk's
	rust_files | xargs awk '
		/^[[:space:]]*\/\/ SAFETY:/ && prev ~ /^[[:space:]]*\/\/ / &&
			prev !~ /(SAFETY|INVARIANT):/ { print FILENAME ":" FNR ": " $0 }
		{ prev = $0 }'
}

# Rust files of live patch modules (samples/, bench/), where `unsafe`
# belongs only in replacement functions (`unsafe extern "C" fn` items) and in
# the promises only the patch author can make, each a block holding nothing
# but that one call (on one line or several), with its SAFETY comment, which
# unsafe_without_safety_comment checks: the entries of a patch,
# `unsafe { klp::func!(...) }` (the C prototype of the function replaced),
# `unsafe { State::new(..) }` or `unsafe { Shadow::new(..) }` (a global
# id that goes with its data type in every module), and the
# `unsafe mod NAME in "OBJECT" {` of a `klp::symbols!` (the C definitions of
# the patched object's symbols).
unsafe_outside_replacements() {
	for file in $(find samples bench -name '*.rs' | sort); do
		awk -v file="$file" '
			# entry: whether TEXT is `unsafe { klp::func!(...) }`,
			# `unsafe { State::new(...) }` or `unsafe { Shadow::new(...) }`
			# and no more (the parentheses of the call close only at its end).
			function entry(text,    inner, depth, i, c) {
				gsub(/[[:space:]]+/, " ", text)
				if (text !~ /^ ?unsafe ?\{ ?(klp::func!|State::new|Shadow::new)\(.*\) ?\}[,;]? ?$/)
					return 0
				inner = text
				sub(/^ ?unsafe ?\{ ?(klp::func!|State::new|Shadow::new)/, "", inner)
				sub(/ ?\}[,;]? ?$/, "", inner)
				depth = 0
				for (i = 1; i <= length(inner); i++) {
					c = substr(inner, i, 1)
					if (c == "(") depth++
					else if (c == ")") depth--
					if (depth == 0 && i < length(inner)) return 0
				}
				return depth == 0 && inner !~ /[{};]|(^|[^_[:alnum:]])unsafe([^_[:alnum:]]|$)/
			}
			/^[^ \t}\/#)\]]/ { item = $0 }
			{ code = $0; sub(/\/\/.*/, "", code) }
			# The lines of an `unsafe {` block that began outside a
			# replacement, up to its closing brace.
			pending != "" {
				block = block " " code
				opened += gsub(/\{/, "{", code)
				opened -= gsub(/\}/, "}", code)
				if (opened > 0) next
				if (!entry(block)) print pending
				pending = ""
				next
			}
			item ~ /^klp::symbols! \{/ &&
				code ~ /^[[:space:]]*(pub(\([a-z]+\))? )?unsafe mod [_[:alnum:]]+ in "[^"]+" \{[[:space:]]*$/ { next }
			code ~ /(^|[^_[:alnum:]])unsafe([^_[:alnum:]]|$)/ && item !~ /unsafe extern "C" fn/ {
				if (code ~ /(^|[^_[:alnum:]])unsafe[[:space:]]*\{/) {
					pending = file ":" FNR ": " $0
					block = substr(code, match(code, /unsafe[[:space:]]*\{/))
					code = block
					opened = gsub(/\{/, "{", code) - gsub(/\}/, "}", code)
					if (opened > 0) next
					if (!entry(block)) print pending
					pending = ""
					next
				}
				print file ":" FNR ": " $0
			}' "$file"
	done
}

# The compile tests: each file of selftests/compile says what it expects
# in a header line, "// klp-rs-compile: must-build||DESC" or
# "// klp-rs-compile: must-fail|MESSAGE|DESC". A must-fail object has to
# fail with MESSAGE, the text a user is shown.
compile_expectations() {
	for file in selftests/compile/*.rs; do
		sed -n "s|^// klp-rs-compile: |$(basename "$file" .rs).o\||p" "$file"
	done
}

# klp_relocation_modules: for each module of the line set up last whose
# source uses klp::symbols! (a file included by another is judged with it),
# what readelf does not show: a livepatch relocation section, or a
# livepatch symbol (section index SHN_LIVEPATCH, 0xff20).
klp_relocation_modules() {
	grep -rl --include='*.rs' 'symbols! {' samples selftests | grep -v '^selftests/compile/' |
		while IFS= read -r source; do
			ko=$line_build/${source%.rs}.ko
			[ -f "$ko" ] || continue
			readelf -SW "$ko" | grep -q ' \.klp\.rela\.' ||
				echo "${ko#"$KLP_TOP"/}: no .klp.rela.* section"
			readelf -sW "$ko" | grep -q 'OS \[0xff20\] \.klp\.sym\.' ||
				echo "${ko#"$KLP_TOP"/}: no SHN_LIVEPATCH .klp.sym.* symbol"
		done
}

# compile_tests LINE: builds every object of selftests/compile for the line
# set up last, side by side (make -k), then judges each from the log and
# from whether its .o exists. The messages name their file, so one log
# serves them all.
compile_tests() {
	dir=$line_build/selftests/compile
	rm -f "$dir"/*.o
	tests=$(compile_expectations)
	# shellcheck disable=SC2046 # the object names, one word each
	log=$(line_make -k -j"$(( $(nproc) + 1 ))" M="$dir" \
		$(printf '%s\n' "$tests" | cut -d'|' -f1) 2>&1)
	printf '%s\n' "$tests" | while IFS='|' read -r object kind message desc; do
		source=${object%.o}.rs
		case $kind in
		must-build)
			if [ -f "$dir/$object" ]; then
				ok "$1: $desc"
			else
				not_ok "$1: $desc" "$(printf '%s\n' "$log" | grep -A12 "$source" | head -n 30)"
			fi
			;;
		must-fail)
			if [ -f "$dir/$object" ]; then
				not_ok "$1: $desc" "$object compiled"
			elif printf '%s\n' "$log" | grep -A12 -F -- "$message" | grep -q "$source"; then
				ok "$1: $desc"
			else
				not_ok "$1: $desc" "it failed, but without the expected message ($message):" \
					"$(printf '%s\n' "$log" | grep -A12 "$source" | head -n 30)"
			fi
			;;
		esac
	done
}

# user_kdir_checks: the steps README.md gives a user with their own Debian
# 7.3 kernel, done for real inside the Debian 13 root (a Debian 13 machine
# with Debian's headers package and compilers), for the 7.3 line (set up):
# the headers package plus klp-rs's Rust metadata
# (scripts/kernel/rust-metadata.sh) build the modules with `make KDIR=...`;
# a rustc other than the kernel's is refused before building; every
# undefined symbol is exported by the kernel. As on a user's machine, the
# kernel source and the tree klp-rs prepared are hidden (KLP_ROOT_HIDE).
user_kdir_checks() {
	kit=$("$KLP_TOP/scripts/kernel/rust-metadata.sh" "$KLP_TOP/results/rust-metadata" 2>/dev/null)
	# The metadata goes into the headers package's own directory (Debian's
	# headers Makefile names that path; its scripts/ is a link to
	# linux-kbuild's, which gets target.json), and out again at the end.
	kdir=/usr/src/linux-headers-$line_release
	# The modules' build is kept for the next run as long as the metadata
	# is the same (kbuild follows the sources and the commands, not the
	# kernel crates' .rmeta files): a new kit, a build from scratch.
	kit_sum=$(sha256sum "$kit" | cut -d' ' -f1)
	if [ "$(cat "$KLP_TOP/build/kdir/.klp-rs-kit" 2>/dev/null)" != "$kit_sum" ]; then
		rm -rf "$KLP_TOP/build/kdir"
		mkdir -p "$KLP_TOP/build/kdir"
		printf '%s\n' "$kit_sum" >"$KLP_TOP/build/kdir/.klp-rs-kit"
	fi
	tar -C "$line_root$kdir" -xf "$kit"
	trap remove_kit EXIT

	# A rustc that is not the kernel's: a wrapper that says it is another one.
	fake=/tmp/klp-rs-other-rustc
	before=$KLP_TOP/build/kdir/.klp-rs-before
	: >"$before"
	# shellcheck disable=SC2016 # the wrapper's own $1 and $@
	printf '#!/bin/sh\n[ "$1" = --version ] && { echo "rustc 1.85.1 (4eb161250 2025-03-15)"; exit 0; }\nexec rustc "$@"\n' \
		>"$line_root$fake"
	chmod +x "$line_root$fake"
	what="7.3 user kdir: a rustc other than the kernel's is refused before building, with why"
	if made=$(KLP_ROOT_HIDE=/usr/src/klp-rs in_root "$line_root" env KDIR="$kdir" RUSTC="$fake" \
		make -C "$KLP_TOP" modules 2>&1); then
		not_ok "$what" "make succeeded:" "$(printf '%s\n' "$made" | tail -n 18)"
	elif printf '%s\n' "$made" | grep -q "was built by 'rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)'"; then
		ok "$what"
	else
		not_ok "$what" "$(printf '%s\n' "$made" | tail -n 20)"
	fi
	check "7.3 user kdir: and nothing was compiled" \
		"$(find "$KLP_TOP/build/kdir" -name '*.o' -newer "$before" 2>/dev/null | head -n 3)"

	what="7.3 user kdir: Debian's headers package + the Rust metadata build every module (make KDIR=...)"
	if made=$(KLP_ROOT_HIDE=/usr/src/klp-rs in_root "$line_root" env KDIR="$kdir" \
		make -C "$KLP_TOP" modules 2>&1); then
		ok "$what"
	else
		not_ok "$what" "$(printf '%s\n' "$made" | tail -n 20)"
	fi
	what="7.3 user kdir: every undefined symbol of the modules is exported by the kernel"
	if printf '%s\n' "$made" | grep -q 'every undefined symbol is exported by the kernel'; then
		ok "$what"
	else
		not_ok "$what" "$(printf '%s\n' "$made" | tail -n 20)"
	fi
	# The same Rust symbols as the modules klp-rs builds in its own prepared tree.
	what="7.3 user kdir: livepatch_sample.ko needs the same symbols as the one built in the prepared tree"
	user=$(nm -u "$KLP_TOP/build/kdir/samples/livepatch_sample/livepatch_sample.ko" 2>&1)
	ours=$(nm -u "$line_build/samples/livepatch_sample/livepatch_sample.ko" 2>&1)
	if [ "$user" = "$ours" ]; then
		ok "$what"
	else
		not_ok "$what" "from the headers package:" "$user" "from the prepared tree:" "$ours"
	fi
	rm -f "$line_root$fake"
	remove_kit
	trap - EXIT
}

# remove_kit: the root's headers package as Debian installed it.
remove_kit() {
	tar -tf "$kit" | while read -r file; do rm -f "$line_root$kdir/$file"; done
	rmdir "$line_root$kdir/rust/bindings" "$line_root$kdir/rust" "$line_root$kdir/klp-rs" \
		2>/dev/null || true
}

# layout_key: what the layout of the line's bindings depends on, as a
# digest: the kernel tree (each cached tree is built once, at a path of its
# own, and not changed), the bindgen command the kernel build recorded, the
# checker, bindgen and rustc.
layout_key() {
	{
		printf '%s\n' "$line_kdir"
		cat "$line_kdir/rust/bindings/.bindings_generated.rs.cmd" \
			scripts/kernel/check-kernel-bindings.sh scripts/kernel/layout-asserts.py
		# shellcheck disable=SC2016 # expanded where line_run runs it
		line_run sh -c '"$BINDGEN" --version; "${RUSTC:-/usr/bin/rustc}" --version' 2>&1
	} | sha256sum | cut -c1-16
}

# line_checks LINE: the checks against the kernel of LINE (set up).
line_checks() {
	what="$1: kernel::bindings lays out the C structures as C does (bindgen's layout assertions)"
	# Kept with the digest of what it depends on (layout_key), not of the
	# sources: bindgen and rustc over all of kernel::bindings take 22 s of
	# CPU on Debian's 7.3 and 10 s on 6.12, for the same answer each time.
	key=$(layout_key)
	if kept "layout-$1" "$key"; then
		ok "$what"
		kept_note "layout-$1"
	elif layout=$(line_run "$KLP_TOP/scripts/kernel/check-kernel-bindings.sh" "$line_kdir_in" 2>&1); then
		check "$what" "$layout"
		[ -n "$layout" ] || keep "layout-$1" "$key"
	else
		not_ok "$what" "could not check:" "$layout"
	fi
	check "$1: the modules build without compiler warnings (${line_build#"$KLP_TOP"/}/build.log)" \
		"$(grep -iE -A8 '^(warning|error)|warning:' "$line_build/build.log" 2>/dev/null)"
	check "$1: the modules that use klp::symbols! carry livepatch relocations (readelf: .klp.rela.* sections, SHN_LIVEPATCH .klp.sym.* symbols)" \
		"$(klp_relocation_modules)"
	# The compile tests read the sources, the line's kernel tree and its
	# compilers (30 objects, 26 s of CPU for both lines).
	key=$(source_key "$line_kdir" "$line_vars" \
		"$(line_run "$(line_var RUSTC | cut -d= -f2-)" --version 2>&1)")
	if kept "compile-$1" "$key"; then
		tail -n +2 "build/static/compile-$1" | while read -r desc; do ok "$desc"; done \
			>"$out.compile"
		kept_note "compile-$1" >>"$out.compile"
	else
		compile_tests "$1" >"$out.compile"
		grep -q '^not ok ' "$out.compile" ||
			keep "compile-$1" "$key" "$(sed -n 's/^ok [0-9]* - //p' "$out.compile")"
	fi
	cat "$out.compile"
	n=$((n + $(grep -c '^\(not \)\{0,1\}ok ' "$out.compile")))
	failed=$((failed + $(grep -c '^not ok ' "$out.compile")))
	# The README's steps are for Debian's stock kernel, not the debug one.
	[ "$1" != 7.3 ] || [ "$KLP_KERNEL_VARIANT" != base ] || user_kdir_checks 2>/dev/null
}

{
	printf 'TAP version 13\n# static checks of the klp-rs sources\n'

	shell_files="$(find scripts selftests samples bench -name '*.sh' | sort) .ci/run
		$(find scripts/vm/boot-services -type f | sort)
		$(find packaging/debian -type f \( -name 'post*' -o -name 'pre*' \) | sort)"
	tree=$(tree_key)
	key=$(source_key "$(shellcheck --version)")
	if kept shellcheck "$key"; then
		ok "shell scripts are shellcheck-clean"
		kept_note shellcheck
	else
		# shellcheck disable=SC2086 # a list of paths without spaces
		lint=$(shellcheck -x $shell_files 2>&1)
		check "shell scripts are shellcheck-clean" "$lint"
		[ -n "$lint" ] || keep shellcheck "$key"
	fi
	# shellcheck disable=SC2086
	check "shell scripts are POSIX sh (no bash shebang)" \
		"$(grep -l '^#!.*bash' $shell_files 2>/dev/null)"
	check "no static mut in src/, samples/, selftests/ (and bench/)" \
		"$(rust_files | xargs grep -n 'static mut' 2>/dev/null)"
	check "every unsafe block has a // SAFETY: comment right above it" \
		"$(unsafe_without_safety_comment)"
	check "every SAFETY comment starts its comment block (the whole argument in it)" \
		"$(safety_not_first)"
	check "sample modules use unsafe only in their replacement functions" \
		"$(unsafe_outside_replacements)"
	check "Rust sources are rustfmt-clean (the kernel's .rustfmt.toml)" \
		"$(rust_files | grep -v '^selftests/compile/' |
			xargs /usr/bin/rustfmt --config-path "$KLP_TOP/.rustfmt.toml" --edition 2021 --check -l 2>&1)"

	for line; do
		line_setup "$line"
		line_checks "$line"
	done
	printf '1..%d\n' "$n"
} >"$out.tap"
printf '%s\n' "$failed" >"$out.rc"
log "$((n - failed)) passed, $failed failed"



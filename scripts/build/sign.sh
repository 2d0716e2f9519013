#!/bin/sh
# Sign kernel modules with the kernel's own scripts/sign-file.
#
#   scripts/build/sign.sh                 sign every built module of every
#                                         line ($KLP_LINES): build/LINE/**/*.ko
#   scripts/build/sign.sh FILE.ko...      sign these files (make sign FILES=...)
#   scripts/build/sign.sh --test-key      print the test key's path (made once)
#   scripts/build/sign.sh --test-copies LINE
#                                         for the tests: copies of LINE's
#                                         modules signed with the test key in
#                                         build/LINE/signed/, with another
#                                         key the kernel does not trust in
#                                         build/LINE/signed-other/, and
#                                         without a signature in
#                                         build/LINE/unsigned/
#
# The key: KLP_SIGN_KEY=/path/key.pem (a PEM private key, or one PEM with the
# key and its certificate, as the kernel's sign-file takes them) and
# KLP_SIGN_CERT=/path/cert.pem (its X.509 certificate, PEM or DER; default:
# KLP_SIGN_KEY itself). Without KLP_SIGN_KEY, the klp-rs test key: made once
# with openssl in $KLP_CACHE/signing/ and trusted by the 6.12 test kernel
# (CONFIG_MODULE_SIG_KEY, scripts/kernel/test-kernel.sh). The tests
# (--test-copies) always use the test key.
#
# A module is signed in place; a signature it already carries is removed
# first, so signing again (another key, a rebuilt module) is safe. The hash
# is the one the line's kernel takes (CONFIG_MODULE_SIG_HASH; KLP_SIGN_HASH
# overrides it). sign-file comes from the line's kernel tree: the 6.12 test
# kernel's, or for 7.3 the prepared tree in the Debian root, run in that root.
set -eu
export KLP_LOG_TAG=sign
# shellcheck source=scripts/common.sh
. "$(dirname -- "$0")/../common.sh"

sign_dir=$KLP_CACHE/signing
test_key=$sign_dir/klp-rs-test-key.pem
other_key=$sign_dir/klp-rs-other-key.pem
# The trailer sign-file appends: the signature, struct module_signature (12
# bytes, its last 4 the signature's length, big-endian) and this marker.
marker='~Module signature appended~'

# make_key FILE CN: a self-signed RSA key and certificate in one PEM file,
# as the kernel's own certs/default_x509.genkey makes them; kept once made.
make_key() {
	[ -s "$1" ] && return 0
	command -v openssl >/dev/null || die "openssl is missing (scripts/setup/toolchain.sh installs it)"
	mkdir -p "$sign_dir"
	chmod 700 "$sign_dir"
	tmp=$(mktemp -d "$sign_dir/new.XXXXXX")
	cat >"$tmp/x509.genkey" <<EOF
[ req ]
default_bits = 4096
distinguished_name = req_distinguished_name
prompt = no
string_mask = utf8only
x509_extensions = myexts

[ req_distinguished_name ]
O = klp-rs
CN = $2

[ myexts ]
basicConstraints=critical,CA:FALSE
keyUsage=digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
	log "generating $1 ($2, RSA 4096, openssl)"
	if ! openssl req -new -nodes -utf8 -sha256 -days 36500 -batch -x509 \
		-config "$tmp/x509.genkey" -newkey rsa:4096 \
		-keyout "$tmp/key.pem" -out "$tmp/cert.pem" >"$tmp/openssl.log" 2>&1; then
		cat "$tmp/openssl.log" >&2
		rm -rf "$tmp"
		die "openssl could not make a key"
	fi
	cat "$tmp/key.pem" "$tmp/cert.pem" >"$tmp/both.pem"
	chmod 600 "$tmp/both.pem"
	mv "$tmp/both.pem" "$1"
	rm -rf "$tmp"
}

# test_keys: the test key and the other (untrusted) one, made once, under a
# lock (the kernel builds of two lines may ask at once).
test_keys() {
	mkdir -p "$sign_dir"
	(
		flock 8
		make_key "$test_key" "klp-rs test module signing key"
		make_key "$other_key" "klp-rs untrusted test key"
	) 8>"$sign_dir/lock"
}

# signature_length FILE: the length of FILE's trailing module signature
# (signature, descriptor and marker), 0 if it has none.
signature_length() {
	size=$(wc -c <"$1")
	[ "$size" -gt 40 ] || {
		echo 0
		return
	}
	if [ "$(tail -c 28 "$1" | head -c 27)" != "$marker" ]; then
		echo 0
		return
	fi
	# shellcheck disable=SC2046 # four numbers
	set -- $(tail -c 32 "$1" | head -c 4 | od -An -tu1)
	echo $(((($1 * 256 + $2) * 256 + $3) * 256 + $4 + 12 + 28))
}

# unsign FILE: removes FILE's module signatures, if any.
unsign() {
	while len=$(signature_length "$1") && [ "$len" -gt 0 ]; do
		size=$(wc -c <"$1")
		[ "$len" -lt "$size" ] || die "$1: a broken module signature ($len bytes of $size)"
		head -c $((size - len)) "$1" >"$1.unsigned"
		mv "$1.unsigned" "$1"
	done
}

# sign_line LINE KEY CERT FILE...: signs FILEs (in place, their old
# signatures removed) with sign-file of LINE's kernel tree.
sign_line() {
	line=$1 key=$2 cert=$3
	shift 3
	line_setup "$line"
	hash=${KLP_SIGN_HASH:-$(sed -n 's/^CONFIG_MODULE_SIG_HASH="\(.*\)"$/\1/p' "$line_kdir/.config")}
	if [ -z "$hash" ]; then
		hash=sha256
		log "$line: the kernel in $line_kdir does not check module signatures (no CONFIG_MODULE_SIG); signing with $hash anyway"
	fi
	[ -x "$line_kdir/scripts/sign-file" ] ||
		die "$line: $line_kdir/scripts/sign-file is missing (a kernel built without CONFIG_MODULE_SIG?)"
	for file; do
		unsign "$file"
	done
	if [ -z "$line_root" ]; then
		for file; do
			"$line_kdir/scripts/sign-file" "$hash" "$key" "$cert" "$file" ||
				die "$line: sign-file failed on $file"
		done
	else
		# In the Debian root (its sign-file links its libcrypto): the key,
		# the certificate and copies of the modules in a private directory
		# bound into it; the signed copies are copied back.
		work=$(mktemp -d)
		cp "$key" "$work/key.pem"
		cp "$cert" "$work/cert"
		n=0
		for file; do
			n=$((n + 1))
			cp "$file" "$work/$n.ko"
		done
		# shellcheck disable=SC2016 # expanded by the inner shell
		if ! KLP_ROOT_BIND=$work in_root "$line_root" sh -ec '
			sign=$1 hash=$2 work=$3 n=$4
			while [ "$n" -gt 0 ]; do
				"$sign" "$hash" "$work/key.pem" "$work/cert" "$work/$n.ko"
				n=$((n - 1))
			done' sign "$line_kdir_in/scripts/sign-file" "$hash" "$work" "$n"; then
			rm -rf "$work"
			die "$line: sign-file failed in the Debian root"
		fi
		n=0
		for file; do
			n=$((n + 1))
			cp "$work/$n.ko" "$file"
		done
		rm -rf "$work"
	fi
	log "$line: signed $# module(s) with $(basename "$key") ($hash, $line_kdir_in/scripts/sign-file)"
}

# line_of FILE: the line whose build directory holds FILE (build/LINE/...),
# or the first of $KLP_LINES.
line_of() {
	abs=$(CDPATH='' cd -- "$(dirname -- "$1")" && pwd)
	case $abs in
	"$KLP_TOP"/build/*)
		rest=${abs#"$KLP_TOP"/build/}
		printf '%s\n' "${rest%%/*}"
		;;
	*) printf '%s\n' "${KLP_LINES%% *}" ;;
	esac
}

# built_modules DIR: the built modules of a line (not the signed copies).
built_modules() {
	find "$1" \( -path "$1/signed" -o -path "$1/signed-other" -o -path "$1/unsigned" \) -prune -o \
		-name '*.ko' -print | sort
}

case ${1:-} in
--test-key)
	test_keys
	printf '%s\n' "$test_key"
	exit 0
	;;
--test-copies)
	[ $# -eq 2 ] || die "usage: $0 --test-copies LINE"
	test_keys
	build=$(line_build_dir "$2")
	rm -rf "$build/signed" "$build/signed-other" "$build/unsigned"
	line_setup "$2"
	if ! grep -q '^CONFIG_MODULE_SIG=y' "$line_kdir/.config"; then
		log "$2: the kernel does not check module signatures (no CONFIG_MODULE_SIG): no signed copies"
		exit 0
	fi
	for copies in unsigned: signed:"$test_key" signed-other:"$other_key"; do
		dest=$build/${copies%%:*}
		files=
		for ko in $(built_modules "$build"); do
			rel=${ko#"$build"/}
			mkdir -p "$dest/$(dirname "$rel")"
			cp "$ko" "$dest/$rel"
			unsign "$dest/$rel"
			files="$files $dest/$rel"
		done
		[ -n "${copies#*:}" ] || continue
		# shellcheck disable=SC2086 # paths without spaces
		sign_line "$2" "${copies#*:}" "${copies#*:}" $files
	done
	exit 0
	;;
-*) die "unknown option $1" ;;
esac

if [ -n "${KLP_SIGN_KEY:-}" ]; then
	key=$KLP_SIGN_KEY
	cert=${KLP_SIGN_CERT:-$KLP_SIGN_KEY}
	[ -r "$key" ] || die "KLP_SIGN_KEY=$key is not a readable file"
	[ -r "$cert" ] || die "KLP_SIGN_CERT=$cert is not a readable file"
else
	[ -z "${KLP_SIGN_CERT:-}" ] || die "KLP_SIGN_CERT is set but KLP_SIGN_KEY is not"
	test_keys
	key=$test_key
	cert=$test_key
	log "no KLP_SIGN_KEY: using the klp-rs test key $test_key (trusted by the 6.12 test kernel only)"
fi

if [ $# -gt 0 ]; then
	# The files given, grouped by the line whose sign-file signs them.
	for file; do
		[ -f "$file" ] || die "$file: no such file"
	done
	for line in $(for file; do line_of "$file"; done | sort -u); do
		files=
		for file; do
			[ "$(line_of "$file")" = "$line" ] && files="$files $file"
		done
		# shellcheck disable=SC2086 # paths without spaces
		sign_line "$line" "$key" "$cert" $files
	done
	exit 0
fi

for line in $KLP_LINES; do
	build=$(line_build_dir "$line")
	files=$( [ -d "$build" ] && built_modules "$build")
	[ -n "$files" ] || die "$line: no built modules in $build (run make first)"
	# shellcheck disable=SC2086 # paths without spaces
	sign_line "$line" "$key" "$cert" $files
done

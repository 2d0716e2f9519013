#!/bin/sh
# klp-rs-test: cpus=1 cost=6 order=last
# Signed live patches under module signature enforcement. Turns enforcement
# on (module.sig_enforce, enable-only: it cannot be switched off again, so
# this script runs last in its VM), then: an unsigned Rust live patch and one
# signed with a key no kernel trusts are refused, by insmod and by klpctl,
# which says why and how to fix it. Where the kernel trusts the klp-rs test
# key (the kernels klp-rs builds: CONFIG_MODULE_SIG_KEY), live patches signed
# with it load, replace each other (cumulative v1 -> v2) and unload as
# usual, without the E taint; Debian's stock kernel trusts only Debian's
# keys, and refuses them as signed with an unavailable key.
# The copies are made on the host before the VM boots (scripts/build/sign.sh
# --test-copies): $KLP_MODULES/signed (test key), $KLP_MODULES/signed-other
# (another key) and $KLP_MODULES/unsigned (any signature removed: the build
# itself may have been signed with `make sign`).
# shellcheck source=selftests/lib.sh
. "$(dirname -- "$0")/lib.sh"

KLPCTL=$KLP_TOP/tools/klpctl/target/debug/klpctl
ENFORCE=/sys/module/module/parameters/sig_enforce
TRUSTED=${KLP_SIGN_TRUSTED:-1}
SAMPLE=livepatch_sample
V1=livepatch_cumulative_v1
V2=livepatch_cumulative_v2
MARKER='~Module signature appended~'
TEST_KEY='klp-rs test module signing key'

# ko DIR NAME: a sample module under DIR (a build tree, or its signed copy).
ko() {
	case $2 in
	livepatch_cumulative_*) printf '%s/samples/livepatch_cumulative/%s.ko\n' "$1" "$2" ;;
	*) printf '%s/samples/%s/%s.ko\n' "$1" "$2" "$2" ;;
	esac
}
UNSIGNED=$KLP_MODULES/unsigned
SIGNED=$KLP_MODULES/signed
OTHER=$KLP_MODULES/signed-other

# is_signed FILE: FILE ends with sign-file's marker.
is_signed() {
	[ "$(tail -c 28 "$1" | head -c 27)" = "$MARKER" ]
}

# refused DESC FILE DMESG_REGEX: insmod FILE fails with "Key was rejected by
# service" (EKEYREJECTED), the kernel logs DMESG_REGEX, nothing is loaded and
# /proc/cmdline is unchanged; then klpctl load of the same file fails with
# exit 1 and a message matching KLPCTL_REGEX.
refused() {
	desc=$1 file=$2 kernel_re=$3 klpctl_re=$4
	name=$(basename "$file" .ko)
	dmesg_mark
	insmod_out=$(insmod "$file" 2>&1)
	insmod_rc=$?
	expect_eq "$desc: insmod fails" 1 "$((insmod_rc != 0))"
	case $insmod_out in
	*"Key was rejected by service"*) pass "$desc: insmod says 'Key was rejected by service' (EKEYREJECTED)" ;;
	*) fail "$desc: insmod says 'Key was rejected by service' (EKEYREJECTED)" "$insmod_out" ;;
	esac
	diag "insmod: $insmod_out"
	expect_dmesg "$desc: the kernel logs '$kernel_re'" "$kernel_re"
	diag "kernel: $(dmesg_since_mark | grep -E -- "$kernel_re" | head -n 1)"
	expect_eq "$desc: $name is not loaded" "" "$(grep "^$name " /proc/modules)"
	expect_eq "$desc: no live patch in sysfs" "" "$(ls "$KLP_SYSFS")"
	expect_eq "$desc: /proc/cmdline is unpatched" "$orig_cmdline" "$(cat /proc/cmdline)"
	klpctl_out=$("$KLPCTL" load --wait --timeout 60 "$file" 2>&1)
	klpctl_rc=$?
	expect_eq "$desc: klpctl load exits 1" 1 "$klpctl_rc"
	if printf '%s\n' "$klpctl_out" | grep -Eq -- "$klpctl_re" &&
		printf '%s\n' "$klpctl_out" | grep -q 'mokutil --import'; then
		pass "$desc: klpctl explains it (/$klpctl_re/) and the fix (mokutil --import)"
	else
		fail "$desc: klpctl explains it (/$klpctl_re/) and the fix (mokutil --import)" "$klpctl_out"
	fi
	diag "klpctl: $klpctl_out"
	expect_eq "$desc: still no live patch after klpctl" "" "$(ls "$KLP_SYSFS")"
}

# loads FILE PATCH CMDLINE: insmod of a signed patch; it enables, /proc/cmdline
# shows CMDLINE, and the module carries no E taint (its signature verified).
loads() {
	file=$1 patch=$2
	dmesg_mark
	expect_ok "signed $patch: insmod loads it" insmod "$file"
	expect_ok "signed $patch: the transition completes" wait_transition "$patch"
	expect_eq "signed $patch: enabled reads 1" 1 "$(sysfs_value "$KLP_SYSFS/$patch/enabled")"
	expect_eq "signed $patch: /proc/cmdline is patched" "$3" "$(cat /proc/cmdline)"
	expect_eq "signed $patch: its taint is OK, no E (/sys/module/$patch/taint)" OK \
		"$(sysfs_value "/sys/module/$patch/taint")"
	expect_no_dmesg "signed $patch: no signature complaint in the kernel log" \
		'module verification failed|is rejected|signature'
}

tap_begin "signed live patches under module signature enforcement"
cleanup_patches
orig_cmdline=$(cat /proc/cmdline)

if [ "$(kernel_config CONFIG_MODULE_SIG)" != y ]; then
	if [ "$TRUSTED" = 1 ]; then
		fail "the kernel checks module signatures (CONFIG_MODULE_SIG=y)" \
			"got '$(kernel_config CONFIG_MODULE_SIG)'; scripts/kernel/test-kernel.config sets it"
	else
		printf 'ok 1 - module signatures # SKIP this kernel has no CONFIG_MODULE_SIG\n'
		tap_count=1
	fi
	tap_end
	exit
fi
pass "the kernel checks module signatures (CONFIG_MODULE_SIG=y, hash $(kernel_config CONFIG_MODULE_SIG_HASH | tr -d '"'))"

# The modules: the signed copies carry a signature, the unsigned ones do not.
for name in $SAMPLE $V1 $V2; do
	expect_fail "$name: its copy in unsigned/ is unsigned" is_signed "$(ko "$UNSIGNED" "$name")"
	expect_ok "$name: its copy in signed/ is signed" is_signed "$(ko "$SIGNED" "$name")"
done
expect_ok "$SAMPLE: its copy in signed-other/ is signed" is_signed "$(ko "$OTHER" $SAMPLE)"

# The trusted keys: the builtin keyring holds the test key on the kernels
# klp-rs builds, and not on Debian's stock kernel.
# /proc/keys cuts the type name to 9 characters: "asymmetri".
keys=$(grep -F ' asymmetri ' /proc/keys)
diag "asymmetric keys in /proc/keys:" "$keys"
if [ "$TRUSTED" = 1 ]; then
	expect_ok "the kernel trusts the klp-rs test key (/proc/keys)" sh -c "grep -qF '$TEST_KEY' /proc/keys"
	# The key's description: its CN (which starts with its O), its key id.
	boot_line=$(dmesg | grep -F "Loaded X.509 cert '$TEST_KEY: ")
	expect_ok "the kernel loaded the test key at boot (dmesg: Loaded X.509 cert ...)" test -n "$boot_line"
	diag "$boot_line"
else
	expect_eq "the kernel does not trust the klp-rs test key (/proc/keys)" "" \
		"$(grep -F "$TEST_KEY" /proc/keys)"
	diag "This kernel (Debian's stock image) trusts only Debian's own keys: the keys" \
		"built into it and, on a Secure Boot machine, those of the UEFI db and the MOK" \
		"list. A live patch signed with the klp-rs test key is refused once" \
		"signatures are enforced; a user enrols their own key as a Machine Owner Key" \
		"(mokutil --import cert.der, reboot, confirm in MokManager) to load their" \
		"signed live patches."
fi

# Enforcement on, at run time: enable-only.
expect_eq "signatures are not enforced yet ($ENFORCE)" N "$(sysfs_value "$ENFORCE")"
expect_ok "enforcement is switched on (echo 1 > $ENFORCE)" sh -c "echo 1 >$ENFORCE"
expect_eq "$ENFORCE reads Y" Y "$(sysfs_value "$ENFORCE")"
expect_fail "enforcement cannot be switched off again (echo 0 > $ENFORCE)" sh -c "echo 0 >$ENFORCE"
expect_eq "$ENFORCE still reads Y" Y "$(sysfs_value "$ENFORCE")"

refused "unsigned $SAMPLE" "$(ko "$UNSIGNED" $SAMPLE)" \
	'Loading of unsigned module is rejected' 'the module is not signed'
refused "$SAMPLE signed with a key no kernel trusts" "$(ko "$OTHER" $SAMPLE)" \
	'Loading of module with unavailable key is rejected' 'not with a key this kernel trusts'

if [ "$TRUSTED" != 1 ]; then
	refused "$SAMPLE signed with the klp-rs test key (not trusted by this kernel: key not trusted)" \
		"$(ko "$SIGNED" $SAMPLE)" \
		'Loading of module with unavailable key is rejected' 'key not trusted'
	tap_end
	exit
fi

# The signed live patches, as usual: klpctl load and unload of the sample.
klpctl_out=$("$KLPCTL" load --wait --timeout 60 "$(ko "$SIGNED" $SAMPLE)" 2>&1)
expect_eq "signed $SAMPLE: klpctl load --wait exits 0" 0 "$?"
diag "klpctl: $klpctl_out"
expect_eq "signed $SAMPLE: enabled reads 1" 1 "$(sysfs_value "$KLP_SYSFS/$SAMPLE/enabled")"
expect_eq "signed $SAMPLE: /proc/cmdline is patched" "this has been live patched by klp-rs" \
	"$(cat /proc/cmdline)"
expect_eq "signed $SAMPLE: its taint is OK, no E (/sys/module/$SAMPLE/taint)" OK \
	"$(sysfs_value "/sys/module/$SAMPLE/taint")"
expect_ok "signed $SAMPLE: klpctl unload" "$KLPCTL" unload --timeout 60 "$SAMPLE"
expect_module_gone "$SAMPLE"
expect_eq "signed $SAMPLE: /proc/cmdline is unpatched again" "$orig_cmdline" "$(cat /proc/cmdline)"

# The cumulative series: v2 replaces v1 (atomic replace), then is disabled.
loads "$(ko "$SIGNED" $V1)" $V1 "cumulative v1: patched /proc/cmdline"
loads "$(ko "$SIGNED" $V2)" $V2 "cumulative v2: patched /proc/cmdline"
expect_ok "signed $V2 replaced $V1: $V1 left sysfs" wait_patch_gone $V1
expect_ok "signed $V2: rmmod $V1" unload $V1
expect_ok "signed $V2: disable" disable_patch $V2
expect_eq "/proc/cmdline is unpatched again" "$orig_cmdline" "$(cat /proc/cmdline)"
expect_ok "signed $V2: rmmod" unload $V2
expect_module_gone $V2
expect_eq "$ENFORCE still reads Y at the end" Y "$(sysfs_value "$ENFORCE")"
cleanup_patches
tap_end

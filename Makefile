# SPDX-License-Identifier: GPL-2.0
#
# klp-rs: Linux kernel live patching in Rust.
#
#   make            build the modules (samples/, selftests/) for every kernel
#                   line, into build/<line>/; `make SIGN=1` signs them too
#   make sign       sign the built modules of every line (or FILES="a.ko ...")
#                   with KLP_SIGN_KEY=key.pem KLP_SIGN_CERT=cert.pem, or with
#                   the klp-rs test key (scripts/build/sign.sh)
#   make demo       boot Debian's stock 7.3 kernel and show live patching at work
#   make check      run every test on every kernel line (6.12 and 7.3)
#   make check-debug  the same on debug kernels (lockdep, KASAN, kmemleak): the
#                   6.12 test kernel's debug build, and for 7.3 a test kernel
#                   built from Debian's linux-source-7.3
#   make bench      measure the Rust live patches against C ones in the test VM
#                   (Documentation/bench/; not part of make check)
#   make kernel     build (or reuse) the kernels of every line
#   make rust-metadata  pack the Rust metadata for Debian's 7.3 headers package
#   make setup      install the toolchain (Debian packages, bindgen, virtme-ng)
#   make deb        Debian packages into build/deb/: klpctl's, and a live
#                   patch's (PATCH=livepatch_sample) for each line of LINES
#                   (default 7.3: Debian's linux-image-7.3.N+deb13-amd64)
#   make lint       shellcheck the scripts
#   make clean      remove build products
#
# LINES="6.12" (or "7.3", or both) chooses the kernel lines: the 6.12 LTS test
# kernel klp-rs builds, and Debian's own 7.3 kernel (linux-image-7.3.N+deb13-
# amd64, unmodified). `make demo LINES=6.12` runs the demo on the test kernel.
# KDIR=/path/to/linux uses your own Rust-enabled kernel tree instead of the
# cached 6.12 test kernel. The kernel's own Kbuild reads the file `Kbuild` here.

SHELL := /bin/sh
export KDIR KLP_SIGN_KEY KLP_SIGN_CERT KLP_SIGN_HASH
ifneq ($(LINES),)
export KLP_LINES := $(LINES)
endif
SCRIPTS := $(wildcard scripts/*.sh scripts/*/*.sh selftests/*.sh samples/*.sh bench/*.sh) \
	$(wildcard packaging/debian/*/post* packaging/debian/*/pre*)

.PHONY: all modules sign demo check check-debug bench kernel rust-metadata setup lint clean deb

# With KDIR (your own kernel tree) the compilers are yours: nothing is installed.
all modules:
	@[ -n "$(KDIR)" ] || scripts/setup/toolchain.sh
	@for line in $(or $(LINES),$(if $(KDIR),kdir,6.12 7.3)); do \
		scripts/build/modules.sh $$line modules >/dev/null || exit 1; done
	@$(if $(filter 1 y yes,$(SIGN)),KLP_LINES="$(or $(LINES),$(if $(KDIR),kdir,6.12 7.3))" scripts/build/sign.sh,:)

# Signs the built modules of each line in place (a rebuilt module is
# unsigned again: `make SIGN=1` builds and signs).
sign:
	@KLP_LINES="$(or $(LINES),$(if $(KDIR),kdir,6.12 7.3))" scripts/build/sign.sh $(FILES)

demo:
	@KLP_LINES="$(or $(LINES),7.3)" scripts/demo.sh

check:
	@scripts/check.sh

check-debug:
	@KLP_KERNEL_VARIANT=debug scripts/check.sh
bench:
	@scripts/bench.sh

kernel:
	@scripts/setup/toolchain.sh
	@scripts/kernel/test-kernel.sh >/dev/null
	@scripts/kernel/debian-kernel.sh >/dev/null

# The Rust metadata Debian's 7.3 headers package lacks (README.md, "Your own
# Debian 7.3 kernel").
rust-metadata:
	@scripts/setup/toolchain.sh
	@scripts/kernel/rust-metadata.sh

setup:
	@scripts/setup/toolchain.sh

deb:
	@scripts/build/deb.sh klpctl
	@for line in $(or $(LINES),7.3); do \
		scripts/build/deb.sh patch $$line $(or $(PATCH),livepatch_sample) || exit 1; done

lint:
	shellcheck -x $(SCRIPTS) .ci/run

clean:
	find samples selftests bench \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.d' -o -name modules.order \) -delete
	rm -f modules.order Module.symvers .*.cmd bench/Module.symvers bench/klp_bench_k*_c.c \
		bench/klp_bench_k*_rs.rs
	rm -rf build generated results

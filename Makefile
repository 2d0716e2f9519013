# SPDX-License-Identifier: GPL-2.0
#
# klp-rs: Linux kernel live patching in Rust.
#
#   make            build the modules in samples/ (and selftests/)
#   make demo       boot the test kernel and show live patching at work
#   make check      run every test in the test VM
#   make check-debug  the same on a debug kernel (lockdep, KASAN, kmemleak)
#   make bench      measure the Rust live patches against C ones in the test VM
#                   (Documentation/bench/; not part of make check)
#   make kernel     build (or reuse) the cached test kernel
#   make setup      install the toolchain (Debian packages, bindgen, virtme-ng)
#   make lint       shellcheck the scripts
#   make clean      remove build products
#
# KDIR=/path/to/linux uses your own Rust-enabled kernel tree instead of the
# cached test kernel. The kernel's own Kbuild reads the file `Kbuild` here.

SHELL := /bin/sh
export KDIR
SCRIPTS := $(wildcard scripts/*.sh) $(wildcard selftests/*.sh) $(wildcard bench/*.sh)

.PHONY: all modules demo check check-debug bench kernel setup lint clean

all modules:
	@scripts/setup-toolchain.sh
	@scripts/build-modules.sh modules

demo:
	@scripts/demo.sh

check:
	@scripts/check.sh

check-debug:
	@KLP_KERNEL_VARIANT=debug scripts/check.sh
bench:
	@scripts/bench.sh

kernel:
	@scripts/setup-toolchain.sh
	@scripts/build-kernel.sh >/dev/null

setup:
	@scripts/setup-toolchain.sh

lint:
	shellcheck -x $(SCRIPTS) .ci/run

clean:
	find samples selftests bench \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.d' -o -name modules.order \) -delete
	rm -f modules.order Module.symvers .*.cmd bench/Module.symvers bench/klp_bench_k*_c.c \
		bench/klp_bench_k*_rs.rs
	rm -rf generated results

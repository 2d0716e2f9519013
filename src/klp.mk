# SPDX-License-Identifier: GPL-2.0
#
# The rustc flags of every module that compiles the klp-rs library in,
# included by the Kbuild files (klp-rustflags).
#
# -Zshare-generics=n: each module compiles the library into itself and no
# crate links against a module, so sharing generic instances (rustc's
# default at -Copt-level=s) only keeps every inlined helper as an exported
# symbol, each with a long mangled name in the module's symbol table (see
# Documentation/bench/footprint.md).
#
# --cfg klp_kernel_ge_7_0: the kernel line, for the stand-ins of
# src/stand_ins/ (which `kernel` crate API to use), read from the target
# kernel's version, never guessed.
klp-rustflags := -Zshare-generics=n
ifeq ($(shell test $(VERSION) -ge 7 && echo y),y)
klp-rustflags += --cfg klp_kernel_ge_7_0
endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C API that klp-rs binds to. scripts/kernel/gen-bindings.sh runs bindgen on this
 * header for the target kernel, with the same clang flags the kernel used for
 * its own `bindings` crate, and keeps only the klp_* items: every other type
 * they use comes from `kernel::bindings`.
 */
#include <linux/livepatch.h>

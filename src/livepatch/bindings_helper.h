/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C API that klp-rs binds to. scripts/kernel/gen-bindings.sh runs bindgen on this
 * header for the target kernel, with the same clang flags the kernel used for
 * its own `bindings` crate, and keeps only the items it allowlists (klp_*,
 * and the kprobe and procfs calls the selftest modules use): every other type
 * they use comes from `kernel::bindings`.
 */
#include <linux/kprobes.h>
#include <linux/livepatch.h>
#include <linux/proc_fs.h>

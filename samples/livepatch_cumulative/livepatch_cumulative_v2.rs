// SPDX-License-Identifier: GPL-2.0

//! Cumulative series, step 2: replace v1, keeping only one of its changes.
//!
//! Patches `cmdline_proc_show()` only. Loaded on top of v1, atomic replace
//! makes the core add a NOP entry for `version_proc_show()`, the function only
//! v1 touched: once the transition ends `/proc/version` is the original again,
//! v1 is removed from `/sys/kernel/livepatch` and its module can be unloaded.
//! v1's unpatch callbacks do not run; only v2's callbacks do.

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use kernel::c_str;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

pub mod common;

/// Replacement for `cmdline_proc_show()`.
unsafe extern "C" fn cmdline_proc_show(m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: called in place of `cmdline_proc_show()`, with its `seq_file`.
    let m = unsafe { klp::SeqFile::from_raw(m) };
    m.puts(c_str!("cumulative v2: patched /proc/cmdline\n"));
    0
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)`
    // in fs/proc/cmdline.c, and the replacement has that prototype as an
    // `unsafe extern "C" fn`.
    unsafe { klp::func!("cmdline_proc_show", cmdline_proc_show) },
])
.callbacks::<common::LogCallbacks>()]);

klp::livepatch_module! {
    type: CumulativeV2,
    patch: PATCH,
    name: "livepatch_cumulative_v2",
    authors: ["klp-rs developers"],
    description: "Cumulative series v2: replaces v1, patches /proc/cmdline only",
    license: "GPL",
}

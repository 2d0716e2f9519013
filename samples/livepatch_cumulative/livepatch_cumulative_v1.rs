// SPDX-License-Identifier: GPL-2.0

//! Cumulative series, step 1: patch two functions.
//!
//! Replaces `cmdline_proc_show()` and `version_proc_show()`, so both
//! `/proc/cmdline` and `/proc/version` print a "v1" text. Atomic replace is on,
//! as for every cumulative patch.

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
    m.puts(c_str!("cumulative v1: patched /proc/cmdline\n"));
    0
}

/// Replacement for `version_proc_show()`.
unsafe extern "C" fn version_proc_show(m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: called in place of `version_proc_show()`, with its `seq_file`.
    let m = unsafe { klp::SeqFile::from_raw(m) };
    m.puts(c_str!("cumulative v1: patched /proc/version\n"));
    0
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/cmdline.c, and the replacement has that prototype as an
    // `unsafe extern "C" fn`.
    unsafe { klp::func!("cmdline_proc_show", cmdline_proc_show) },
    // SAFETY: `static int version_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/version.c, and the replacement has that prototype as an
    // `unsafe extern "C" fn`.
    unsafe { klp::func!("version_proc_show", version_proc_show) },
])
.callbacks::<common::LogCallbacks>()]);

klp::livepatch_module! {
    type: CumulativeV1,
    patch: PATCH,
    name: "livepatch_cumulative_v1",
    authors: ["klp-rs developers"],
    description: "Cumulative series v1: patches /proc/cmdline and /proc/version",
    license: "GPL",
}

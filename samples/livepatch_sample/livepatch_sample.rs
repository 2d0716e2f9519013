// SPDX-License-Identifier: GPL-2.0

//! Live patch sample in Rust: the job of the kernel's
//! `samples/livepatch/livepatch-sample.c`.
//!
//! It replaces `cmdline_proc_show()` in `fs/proc/cmdline.c`, so that
//! `/proc/cmdline` prints a fixed text instead of the kernel command line:
//!
//! ```text
//! $ cat /proc/cmdline
//! <your cmdline>
//! $ insmod livepatch_sample.ko
//! $ cat /proc/cmdline
//! this has been live patched by klp-rs
//! $ echo 0 > /sys/kernel/livepatch/livepatch_sample/enabled
//! $ cat /proc/cmdline
//! <your cmdline>
//! ```

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

/// Replacement for `cmdline_proc_show()`, with its signature.
unsafe extern "C" fn livepatch_cmdline_proc_show(m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `m` is the `seq_file` procfs passes to `cmdline_proc_show()`.
    let m = unsafe { klp::SeqFile::from_raw(m) };
    m.puts(kernel::c_str!("this has been live patched by klp-rs\n"));
    0
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/cmdline.c, and `livepatch_cmdline_proc_show` has that prototype
    // as an `unsafe extern "C" fn`.
    unsafe { klp::func!("cmdline_proc_show", livepatch_cmdline_proc_show) },
])]);

klp::livepatch_module! {
    type: LivepatchSample,
    patch: PATCH,
    name: "livepatch_sample",
    authors: ["klp-rs developers"],
    description: "Rust live patch sample: /proc/cmdline",
    license: "GPL",
}

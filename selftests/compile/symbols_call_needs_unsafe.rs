// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|call to unsafe function `vmlinux_syms::version_proc_show` is unsafe|a function declared by klp::symbols! is called in unsafe only (E0133)

//! Must NOT compile: calling a function `klp::symbols!` declared without an
//! `unsafe` block. The caller has to argue that the object's relocations
//! are written and that the C function's contract holds.

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

klp::symbols! {
    // SAFETY: `static int version_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/version.c.
    unsafe mod vmlinux_syms in "vmlinux" {
        fn version_proc_show(m: *mut seq_file, v: *mut c_void) -> c_int;
    }
}

/// A replacement with `cmdline_proc_show()`'s prototype.
unsafe extern "C" fn cmdline_proc_show(m: *mut seq_file, v: *mut c_void) -> c_int {
    vmlinux_syms::version_proc_show(m, v)
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)`.
    unsafe { klp::func!("cmdline_proc_show", cmdline_proc_show) },
])]);

compile_test!("symbols_call_needs_unsafe", PATCH);

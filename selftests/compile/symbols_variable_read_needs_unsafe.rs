// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|dereference of raw pointer is unsafe|a variable declared by klp::symbols! is read in unsafe only (E0133)

//! Must NOT compile: reading a variable `klp::symbols!` declared without an
//! `unsafe` block. Its address is safe to take; reading it needs the
//! relocations written and the C code's locking rules.

use core::ffi::{c_int, c_uint, c_void};
use kernel::bindings::seq_file;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

klp::symbols! {
    // SAFETY: `static unsigned int oops_limit` in kernel/panic.c.
    unsafe mod vmlinux_syms in "vmlinux" {
        static oops_limit: c_uint;
    }
}

/// A replacement with `cmdline_proc_show()`'s prototype.
unsafe extern "C" fn cmdline_proc_show(_m: *mut seq_file, _v: *mut c_void) -> c_int {
    *vmlinux_syms::oops_limit() as c_int
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)`.
    unsafe { klp::func!("cmdline_proc_show", cmdline_proc_show) },
])]);

compile_test!("symbols_variable_read_needs_unsafe", PATCH);

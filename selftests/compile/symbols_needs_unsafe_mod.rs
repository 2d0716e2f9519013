// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|no rules expected|klp::symbols! without `unsafe` before `mod` does not build

//! Must NOT compile: `klp::symbols!` without the `unsafe` that marks the
//! promise nothing can check: the declarations are the C definitions.

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

klp::symbols! {
    mod vmlinux_syms in "vmlinux" {
        fn version_proc_show(m: *mut seq_file, v: *mut c_void) -> c_int;
    }
}

/// A replacement with `cmdline_proc_show()`'s prototype.
unsafe extern "C" fn cmdline_proc_show(_m: *mut seq_file, _v: *mut c_void) -> c_int {
    0
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)`.
    unsafe { klp::func!("cmdline_proc_show", cmdline_proc_show) },
])]);

compile_test!("symbols_needs_unsafe_mod", PATCH);

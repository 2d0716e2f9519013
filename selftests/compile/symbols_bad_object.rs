// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|an object is `vmlinux` or a module name|klp::symbols! refuses an object name the core cannot parse

//! Must NOT compile: a `.` in the object's name would end the object's part
//! of `.klp.sym.<object>.<symbol>,<sympos>` early, and the core would look
//! for another symbol in another object.

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

klp::symbols! {
    // SAFETY: a test of the object name; the function is never called.
    unsafe mod target in "my.module" {
        fn some_function() -> c_int;
    }
}

/// A replacement with `cmdline_proc_show()`'s prototype.
unsafe extern "C" fn cmdline_proc_show(_m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: never runs (the module does not build).
    unsafe { target::some_function() }
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)`.
    unsafe { klp::func!("cmdline_proc_show", cmdline_proc_show) },
])]);

compile_test!("symbols_bad_object", PATCH);

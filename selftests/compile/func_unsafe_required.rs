// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|Func::new_unchecked` is unsafe and requires unsafe block|func! without checked_against needs an unsafe block (E0133)

//! Must NOT compile: `klp::func!` without `checked_against`, outside an
//! `unsafe` block. Nothing checks that the replacement has the prototype of
//! the function it replaces, so the caller must say so, in `unsafe`.

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

/// A replacement with `cmdline_proc_show()`'s prototype.
unsafe extern "C" fn cmdline_proc_show(_m: *mut seq_file, _v: *mut c_void) -> c_int {
    0
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[klp::func!(
    "cmdline_proc_show",
    cmdline_proc_show
)])]);

compile_test!("func_unsafe_required", PATCH);

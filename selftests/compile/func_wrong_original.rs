// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|checked_against must name the function old_name names|func!(.., checked_against = ..) rejects a function other than old_name

//! Must NOT compile: `klp::func!` checked against a function other than the
//! one `old_name` names. The replacement matches `msleep()`'s signature
//! (`void msleep(unsigned int)`), but what it replaces is
//! `cmdline_proc_show()`.

use core::ffi::c_uint;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

/// A replacement with `msleep()`'s signature.
unsafe extern "C" fn cmdline_proc_show(_msecs: c_uint) {}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[klp::func!(
    "cmdline_proc_show",
    cmdline_proc_show,
    checked_against = kernel::bindings::msleep
)])]);

compile_test!("func_wrong_original", PATCH);

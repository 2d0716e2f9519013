// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|checked_against must be a path into kernel::bindings|func!(.., checked_against = ..) rejects a declaration outside kernel::bindings

//! Must NOT compile: `klp::func!` checked against a declaration of the
//! module's own rather than the kernel's bindings. Its last segment is
//! `msleep`, and the replacement matches it, but neither says anything about
//! the C function `msleep()` (`void msleep(unsigned int)`).

use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

/// A made-up `msleep()`, with the wrong parameter type.
mod fake {
    pub(crate) unsafe extern "C" fn msleep(_msecs: u64) {}
}

/// A replacement with the made-up signature.
unsafe extern "C" fn msleep(_msecs: u64) {}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[klp::func!(
    "msleep",
    msleep,
    checked_against = fake::msleep
)])]);

compile_test!("func_not_in_bindings", PATCH);

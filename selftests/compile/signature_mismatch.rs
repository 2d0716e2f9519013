// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|error[E0308]|func!(.., checked_against = ..) rejects a mismatching signature

//! Must NOT compile: a replacement whose signature differs from the original's in
//! `kernel::bindings` (`void msleep(unsigned int)`): `klp::func!` rejects it.

use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

/// A replacement taking a u64 where `msleep()` takes an unsigned int.
unsafe extern "C" fn msleep(_msecs: u64) {}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[klp::func!(
    "msleep",
    msleep,
    checked_against = kernel::bindings::msleep
)])]);

compile_test!("signature_mismatch", PATCH);

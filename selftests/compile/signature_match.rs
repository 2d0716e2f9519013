// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-build||func!(.., checked_against = ..) accepts a matching signature

//! Must compile: a replacement whose signature matches the original's in
//! `kernel::bindings` (`void msleep(unsigned int)`), checked by `klp::func!`:
//! safe without `sympos`, in `unsafe` with it.

use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;
use common::msleep;

static PATCH: Patch = Patch::new(&[
    Object::vmlinux(&[klp::func!(
        "msleep",
        msleep,
        checked_against = kernel::bindings::msleep
    )]),
    Object::module(
        kernel::c_str!("signature_match_target"),
        &[
            // SAFETY: a compile test, never loaded; the first `msleep` of
            // that module would be `void msleep(unsigned int)`.
            unsafe {
                klp::func!(
                    "msleep",
                    msleep,
                    sympos = 1,
                    checked_against = ::kernel::bindings::msleep
                )
            },
        ],
    ),
]);

compile_test!("signature_match", PATCH);

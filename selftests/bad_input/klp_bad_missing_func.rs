// SPDX-License-Identifier: GPL-2.0

//! Bad input: a patch whose target function does not exist. The core must
//! refuse it, so `insmod` fails and nothing is patched.

use core::ffi::c_int;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

/// Replacement for a function that no kernel has.
unsafe extern "C" fn no_such_function() -> c_int {
    0
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: no function of that name exists, so the core refuses the patch
    // and never calls the replacement; a function `int (void)` of that name
    // would have its prototype, as an `unsafe extern "C" fn`.
    unsafe { klp::func!("klp_rs_no_such_function", no_such_function) },
])]);

klp::livepatch_module! {
    type: BadMissingFunc,
    patch: PATCH,
    name: "klp_bad_missing_func",
    authors: ["klp-rs developers"],
    description: "bad input test: the target function does not exist",
    license: "GPL",
}

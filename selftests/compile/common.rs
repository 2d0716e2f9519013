// SPDX-License-Identifier: GPL-2.0

//! What the compile tests share (not a test itself: no `klp-rs-compile` line,
//! and the Kbuild builds only the files that have one): a replacement with
//! `msleep()`'s exact signature, and the module around a test's patch.

use core::ffi::c_uint;

/// A replacement with `msleep()`'s exact signature
/// (`void msleep(unsigned int)`, in `kernel::bindings`).
#[allow(dead_code)] // not every test uses it
pub(crate) unsafe extern "C" fn msleep(_msecs: c_uint) {}

/// The live patch module of a compile test: `compile_test!("name", PATCH)`.
macro_rules! compile_test {
    ($name:tt, $patch:path) => {
        klp::livepatch_module! {
            type: CompileTest,
            patch: $patch,
            name: $name,
            authors: ["klp-rs developers"],
            description: "klp-rs compile test",
            license: "GPL",
        }
    };
}

// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-build||patchable! takes six register arguments, KBox in and Option<KBox> out

//! Must compile: `klp::patchable!` functions whose arguments and return value
//! all travel in registers: six 8-byte arguments, and a `KBox`.

use core::ffi::c_ulong;
use kernel::prelude::*;

#[path = "../../src/lib.rs"]
pub mod klp;

klp::patchable! {
    /// Six register arguments, the most the C ABI passes in registers.
    pub extern "C" fn six(a: c_ulong, b: c_ulong, c: c_ulong, d: c_ulong, e: u32, f: &u64) -> c_ulong
        = six_body;
}

extern "C" fn six_body(a: c_ulong, b: c_ulong, c: c_ulong, d: c_ulong, e: u32, f: &u64) -> c_ulong {
    a + b + c + d + c_ulong::from(e) + *f as c_ulong
}

klp::patchable! {
    /// An owning pointer in, an optional one out.
    pub extern "C" fn pass_on(b: KBox<u64>) -> Option<KBox<u64>> = pass_on_body;
}

extern "C" fn pass_on_body(b: KBox<u64>) -> Option<KBox<u64>> {
    Some(b)
}

/// The module: calls both through their patchable entries.
struct PatchableRegisters;

impl kernel::Module for PatchableRegisters {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let x = 6;
        pr_info!("{}\n", six(1, 2, 3, 4, 5, &x));
        let _ = pass_on(KBox::new(1, GFP_KERNEL)?);
        Ok(Self)
    }
}

klp::module! {
    type: PatchableRegisters,
    name: "patchable_registers",
    authors: ["klp-rs developers"],
    description: "compile test: register arguments",
    license: "GPL",
}

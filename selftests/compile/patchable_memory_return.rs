// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|return type `Triple` of a patchable function is larger than 8 bytes|patchable! rejects a return value the C ABI passes through memory

//! Must NOT compile: a `klp::patchable!` function returning a 24-byte struct,
//! which the C ABI returns through a hidden pointer argument (and then the
//! sixth argument would be on the stack).

use kernel::prelude::*;

#[path = "../../src/lib.rs"]
pub mod klp;

/// 24 bytes, returned in memory.
#[repr(C)]
pub struct Triple {
    a: u64,
    b: u64,
    c: u64,
}

klp::patchable! {
    /// Returns `Triple` by value.
    pub extern "C" fn make(a: u64) -> Triple = make_body;
}

extern "C" fn make_body(a: u64) -> Triple {
    Triple { a, b: a, c: a }
}

/// The module.
struct PatchableMemoryReturn;

impl kernel::Module for PatchableMemoryReturn {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let t = make(1);
        pr_info!("{}\n", t.a + t.b + t.c);
        Ok(Self)
    }
}

klp::module! {
    type: PatchableMemoryReturn,
    name: "patchable_memory_return",
    authors: ["klp-rs developers"],
    description: "compile test: value returned in memory",
    license: "GPL",
}

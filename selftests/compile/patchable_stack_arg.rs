// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|argument `big: Big` of a patchable function is larger than 8 bytes|patchable! rejects an argument the C ABI passes on the stack

//! Must NOT compile: a `klp::patchable!` function taking a 32-byte struct by
//! value. The C ABI passes it on the stack, where the entry stub's own frame
//! would be in the way: the body would read the stub's return address.

use kernel::prelude::*;

#[path = "../../src/lib.rs"]
pub mod klp;

/// 32 bytes, passed in memory.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Big {
    a: [u64; 4],
}

klp::patchable! {
    /// Takes `Big` by value.
    pub extern "C" fn by_value(big: Big) -> u64 = by_value_body;
}

extern "C" fn by_value_body(big: Big) -> u64 {
    big.a[3]
}

/// The module.
struct PatchableStackArg;

impl kernel::Module for PatchableStackArg {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("{}\n", by_value(Big { a: [0; 4] }));
        Ok(Self)
    }
}

klp::module! {
    type: PatchableStackArg,
    name: "patchable_stack_arg",
    authors: ["klp-rs developers"],
    description: "compile test: argument passed on the stack",
    license: "GPL",
}

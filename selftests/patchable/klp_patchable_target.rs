// SPDX-License-Identifier: GPL-2.0

//! A target module with a `klp::patchable!` function of six register
//! arguments of every width and signedness (`u64`, `u32`, `i16`, `u8`, `i32`,
//! a reference), which its init calls once and logs. `klp_patchable_patch`
//! replaces it; loaded before this module, the patch is applied as the module
//! comes, before its init runs, so the logged value tells which function ran
//! and whether every argument arrived (selftests/test-patchable.sh).

use kernel::prelude::*;

#[path = "../../src/lib.rs"]
pub mod klp;

klp::module! {
    type: KlpPatchableTarget,
    name: "klp_patchable_target",
    authors: ["klp-rs developers"],
    description: "klp-rs test: a patchable function with six register arguments",
    license: "GPL",
}

klp::patchable! {
    /// The sum of the six arguments (the original, which the live patch replaces).
    pub extern "C" fn klp_patchable_sum(a: u64, b: u32, c: i16, d: u8, e: i32, f: &u64) -> i64
        = klp_patchable_sum_body;
}

extern "C" fn klp_patchable_sum_body(a: u64, b: u32, c: i16, d: u8, e: i32, f: &u64) -> i64 {
    a as i64 + i64::from(b) + i64::from(c) + i64::from(d) + i64::from(e) + *f as i64
}

struct KlpPatchableTarget;

impl kernel::Module for KlpPatchableTarget {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let six = 6;
        pr_info!(
            "klp_patchable_sum(1, 2, -3, 4, -5, &6) = {}\n",
            klp_patchable_sum(1, 2, -3, 4, -5, &six)
        );
        Ok(Self)
    }
}

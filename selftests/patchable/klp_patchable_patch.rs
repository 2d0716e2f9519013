// SPDX-License-Identifier: GPL-2.0

//! Live patch of `klp_patchable_sum()` of `klp_patchable_target`, a
//! `klp::patchable!` function of six register arguments: the replacement
//! logs each argument and returns them as decimal digits, weighted by
//! position, so that an argument that arrived in the wrong register, or
//! without its sign, shows in the result (selftests/test-patchable.sh).

use kernel::prelude::*;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

/// The replacement: `a*100000 + b*10000 + c*1000 + d*100 + e*10 + *f`.
extern "C" fn patched_sum(a: u64, b: u32, c: i16, d: u8, e: i32, f: &u64) -> i64 {
    pr_info!(
        "patched_sum: a={} b={} c={} d={} e={} f={}\n",
        a,
        b,
        c,
        d,
        e,
        *f
    );
    a as i64 * 100000
        + i64::from(b) * 10000
        + i64::from(c) * 1000
        + i64::from(d) * 100
        + i64::from(e) * 10
        + *f as i64
}

static PATCH: Patch = Patch::new(&[Object::module(
    kernel::c_str!("klp_patchable_target"),
    &[
        // SAFETY: `klp_patchable_sum` is klp_patchable_target's `patchable!`
        // entry `extern "C" fn(u64, u32, i16, u8, i32, &u64) -> i64`, and
        // `patched_sum` is an `extern "C" fn` of exactly that signature.
        unsafe { klp::func!("klp_patchable_sum", patched_sum) },
    ],
)]);

klp::livepatch_module! {
    type: KlpPatchablePatch,
    patch: PATCH,
    name: "klp_patchable_patch",
    authors: ["klp-rs developers"],
    description: "klp-rs test: live patch of a six-argument patchable function",
    license: "GPL",
}

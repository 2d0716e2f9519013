// SPDX-License-Identifier: GPL-2.0

//! The Rust live patch of the benchmark: patches the same functions as the C
//! control, `klp_bench_patch_c.c`, with the same code.
//!
//! It replaces two functions of the module `klp_bench_target`:
//! `klp_bench_target_fn()` (`x + 1` becomes `x + 2`) and `klp_bench_blocker()`
//! (returns at once; never called in the benchmark: it is patched so that a
//! task asleep in the original keeps the transition open).

use core::ffi::c_int;
use kernel::c_str;
use klp::{Object, Patch};

#[path = "../src/lib.rs"]
pub mod klp;

/// Replacement for `int klp_bench_target_fn(int x)`.
unsafe extern "C" fn klp_bench_target_fn(x: c_int) -> c_int {
    // The C control computes `x + 2` in a kernel built with
    // `-fno-strict-overflow`, that is, wrapping.
    x.wrapping_add(2)
}

/// Replacement for `void klp_bench_blocker(void)`.
unsafe extern "C" fn klp_bench_blocker() {}

static PATCH: Patch = Patch::new(&[Object::module(
    c_str!("klp_bench_target"),
    &[
        // SAFETY: `int klp_bench_target_fn(int x)` in bench/klp_bench.h, and
        // the replacement has that prototype as an `unsafe extern "C" fn`.
        unsafe { klp::func!("klp_bench_target_fn", klp_bench_target_fn) },
        // SAFETY: `void klp_bench_blocker(void)` in bench/klp_bench.h, and the
        // replacement has that prototype as an `unsafe extern "C" fn`.
        unsafe { klp::func!("klp_bench_blocker", klp_bench_blocker) },
    ],
)]);

klp::livepatch_module! {
    type: KlpBenchPatchRs,
    patch: PATCH,
    name: "klp_bench_patch_rs",
    authors: ["klp-rs developers"],
    description: "klp-rs benchmark: Rust live patch of klp_bench_target",
    license: "GPL",
}

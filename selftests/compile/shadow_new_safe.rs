// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|error[E0133]|Shadow::new is unsafe: its caller vouches that the global id is not shared with another type

//! Must NOT compile: `klp::Shadow::new` called without `unsafe`. Shadow ids
//! are global to the kernel, so its caller promises that no other module
//! uses the id with another type, and that this is the id's only `Shadow`.

use kernel::prelude::*;
use klp::Shadow;

#[path = "../../src/lib.rs"]
pub mod klp;

/// A shadow variable declared as if `new` were safe.
static COUNTERS: Shadow<u64, u64> = Shadow::new(0x5afe);

/// The module.
struct ShadowNewSafe;

impl kernel::Module for ShadowNewSafe {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("{}\n", COUNTERS.id());
        Ok(Self)
    }
}

klp::module! {
    type: ShadowNewSafe,
    name: "shadow_new_safe",
    authors: ["klp-rs developers"],
    description: "compile test: Shadow::new is unsafe",
    license: "GPL",
}

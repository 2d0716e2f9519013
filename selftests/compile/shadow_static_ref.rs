// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|cannot be kept under a global id|a Shadow of a static reference (u32) is refused: shadow values must be GlobalData, as they outlive the module

//! Must NOT compile: a `klp::Shadow` whose values are `&'static u32`. A
//! shadow variable outlives the module that attached it (a cumulative patch
//! takes it over, then the old module is removed), and a reference to one of
//! that module's statics would then dangle: `T` must be `klp::GlobalData`.

use kernel::prelude::*;
use klp::Shadow;

#[path = "../../src/lib.rs"]
pub mod klp;

/// References into this module's image, as shadow values.
// SAFETY: no other module uses this id, and this is its only `Shadow` here.
static REFS: Shadow<u64, &'static u32> = unsafe { Shadow::new(0x5afe) };

/// The module.
struct ShadowStaticRef;

impl kernel::Module for ShadowStaticRef {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("{}\n", REFS.id());
        Ok(Self)
    }
}

klp::module! {
    type: ShadowStaticRef,
    name: "shadow_static_ref",
    authors: ["klp-rs developers"],
    description: "compile test: shadow values must be GlobalData",
    license: "GPL",
}

// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|klp: a patch needs at least one object|livepatch_module! rejects a patch without objects

//! Must not compile: a patch without objects, which the core would refuse
//! at `insmod` (`livepatch_module!` checks the patch in a constant).

use klp::Patch;

#[path = "../../src/lib.rs"]
pub mod klp;

static PATCH: Patch = Patch::new(&[]);

klp::livepatch_module! {
    type: PatchNoObjects,
    patch: PATCH,
    name: "patch_no_objects",
    authors: ["klp-rs developers"],
    description: "compile test: a patch without objects",
    license: "GPL",
}

// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|klp: a patch needs at least one object|livepatch_module! rejects a patch without objects

//! Must not compile: a patch without objects, which the core would refuse
//! at `insmod` (`livepatch_module!` checks the patch in a constant).

use klp::Patch;

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

static PATCH: Patch = Patch::new(&[]);

compile_test!("patch_no_objects", PATCH);

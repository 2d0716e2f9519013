// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|klp: every object of a patch needs functions or callbacks|livepatch_module! rejects an object with no functions and a #[vtable] impl without callbacks

//! Must not compile: an object without functions whose `Callbacks` impl
//! implements none: it would do nothing.

use kernel::prelude::*;
use klp::{Callbacks, Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

struct Nothing;

#[vtable]
impl Callbacks for Nothing {}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[]).callbacks::<Nothing>()]);

compile_test!("patch_empty_object", PATCH);

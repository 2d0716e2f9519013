// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|USE_VTABLE_ATTR|Callbacks must be implemented in a #[vtable] impl (so that the others stay NULL)

//! Must not compile: `klp::Callbacks` implemented without `#[vtable]`, which
//! is what tells the library which callbacks exist.

use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;
use common::msleep;

struct Hooks;

impl Callbacks for Hooks {
    fn post_patch(_obj: &CallbackObject<'_>) {
        pr_info!("patched\n");
    }
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[klp::func!(
    "msleep",
    msleep,
    checked_against = kernel::bindings::msleep
)])
.callbacks::<Hooks>()]);

compile_test!("callbacks_without_vtable", PATCH);

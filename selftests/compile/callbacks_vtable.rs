// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-build||a #[vtable] impl of Callbacks builds, and says which callbacks it has (the others stay NULL)

//! Must compile: callbacks implemented in a `#[vtable]` impl, and the
//! `HAS_*` constants that choose a C function or `NULL` for each.

use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;
use common::msleep;

struct Hooks;

#[vtable]
impl Callbacks for Hooks {
    fn post_patch(obj: &CallbackObject<'_>) {
        pr_info!("patched: {}\n", obj.patched());
    }

    fn post_unpatch(obj: &CallbackObject<'_>) {
        pr_info!("module: {:?}\n", obj.module_name());
    }
}

const _: () = assert!(!<Hooks as Callbacks>::HAS_PRE_PATCH && <Hooks as Callbacks>::HAS_POST_PATCH);
const _: () =
    assert!(!<Hooks as Callbacks>::HAS_PRE_UNPATCH && <Hooks as Callbacks>::HAS_POST_UNPATCH);

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[klp::func!(
    "msleep",
    msleep,
    checked_against = kernel::bindings::msleep
)])
.callbacks::<Hooks>()]);

compile_test!("callbacks_vtable", PATCH);

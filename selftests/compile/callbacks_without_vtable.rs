// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|USE_VTABLE_ATTR|Callbacks must be implemented in a #[vtable] impl (so that the others stay NULL)

//! Must not compile: `klp::Callbacks` implemented without `#[vtable]`, which
//! is what tells the library which callbacks exist.

use core::ffi::c_uint;
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

struct Hooks;

impl Callbacks for Hooks {
    fn post_patch(_obj: &CallbackObject<'_>) {
        pr_info!("patched\n");
    }
}

/// A replacement with `msleep()`'s exact signature.
unsafe extern "C" fn msleep(_msecs: c_uint) {}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[klp::func!(
    "msleep",
    msleep,
    checked_against = kernel::bindings::msleep
)])
.callbacks::<Hooks>()]);

klp::livepatch_module! {
    type: CallbacksWithoutVtable,
    patch: PATCH,
    name: "callbacks_without_vtable",
    authors: ["klp-rs developers"],
    description: "compile test: Callbacks without #[vtable]",
    license: "GPL",
}

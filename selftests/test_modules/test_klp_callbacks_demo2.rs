// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_callbacks_demo2` selftest module: a
//! second live patch with logging callbacks on vmlinux only, whose `replace`
//! parameter (default 0) makes it atomically replace the patches before it.

use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch, Registration};

#[path = "../../src/lib.rs"]
pub mod klp;

#[path = "common/callback_info.rs"]
mod callback_info;
use callback_info::callback_info;

klp::module_param! {
    /// `replace`: non-zero to atomically replace the patches loaded before.
    static REPLACE: i32 = 0,
        name: "replace", perm: 0o644, description: "replace (default=0)";
}

/// The callbacks of the vmlinux object: log only.
struct Demo2;

#[vtable]
impl Callbacks for Demo2 {
    fn pre_patch(obj: &CallbackObject<'_>) -> Result {
        callback_info("pre_patch_callback", obj);
        Ok(())
    }

    fn post_patch(obj: &CallbackObject<'_>) {
        callback_info("post_patch_callback", obj);
    }

    fn pre_unpatch(obj: &CallbackObject<'_>) {
        callback_info("pre_unpatch_callback", obj);
    }

    fn post_unpatch(obj: &CallbackObject<'_>) {
        callback_info("post_unpatch_callback", obj);
    }
}

/// The objects, shared by both flavours of the patch.
const OBJECTS: &[Object] = &[Object::vmlinux(&[]).callbacks::<Demo2>()];

/// The patch with `replace=0`: stacks on top of the others.
static PATCH: Patch = Patch::new(OBJECTS).replace(false);

/// The patch with `replace=1`: atomically replaces the others.
static PATCH_REPLACE: Patch = Patch::new(OBJECTS);

klp::module! {
    type: TestKlpCallbacksDemo2,
    name: "test_klp_callbacks_demo2",
    authors: ["klp-rs developers (after Joe Lawrence's C module)"],
    description: "Livepatch test: livepatch demo2",
    license: "GPL",
}

klp::modinfo_livepatch!();

/// The module: holds the enabled patch until it is unloaded. (`pub`: on 7.x
/// the `#[vtable]` impl of `Callbacks` names it as its `OwnerModule`.)
pub struct TestKlpCallbacksDemo2 {
    _registration: Registration,
}

impl kernel::Module for TestKlpCallbacksDemo2 {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // The C module sets `patch.replace = replace` before enabling it.
        let patch = if REPLACE.get() != 0 {
            &PATCH_REPLACE
        } else {
            &PATCH
        };
        // SAFETY: `Registration::enable` needs to be init's last fallible
        // step, with the registration kept in the module's state until module
        // exit. It is init's only fallible step, so once it succeeds, init
        // returns `Ok`; the registration goes into `Self`, the module's
        // state, which `module!` drops only at module exit.
        let registration = unsafe { Registration::enable(patch, module) }?;
        Ok(Self {
            _registration: registration,
        })
    }
}

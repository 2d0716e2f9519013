// SPDX-License-Identifier: GPL-2.0

//! Target module of the Rust live patch callbacks demo: the job of the
//! kernel's `samples/livepatch/livepatch-callbacks-mod.c`.
//!
//! It does nothing but log its init and exit, so that the demo's callbacks
//! for the `livepatch_callbacks_mod` object can be seen running around them
//! (see `livepatch_callbacks_demo`). It is an ordinary module, not a live
//! patch.

use kernel::prelude::*;

// klp-rs, mounted whole as `klp`, as in every module: a target module uses
// only its stand-ins (and `patchable!`), not the live patch API.
#[path = "../../src/lib.rs"]
pub mod klp;

klp::module! {
    type: LivepatchCallbacksMod,
    name: "livepatch_callbacks_mod",
    authors: ["klp-rs developers"],
    description: "Target module of the Rust live patch callbacks demo",
    license: "GPL",
}

/// The module: no state, only the messages of its init and exit.
struct LivepatchCallbacksMod;

impl kernel::Module for LivepatchCallbacksMod {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("livepatch_callbacks_mod_init\n");
        Ok(Self)
    }
}

impl Drop for LivepatchCallbacksMod {
    fn drop(&mut self) {
        pr_info!("livepatch_callbacks_mod_exit\n");
    }
}

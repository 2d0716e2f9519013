// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_callbacks_mod` selftest module: an
//! idle target module whose loading and removal the callback tests watch.

use kernel::prelude::*;

// klp-rs, mounted whole as `klp`, as in every module: a target module uses
// only its stand-ins (and `patchable!`), not the live patch API.
#[path = "../../src/lib.rs"]
pub mod klp;

klp::module! {
    type: TestKlpCallbacksMod,
    name: "test_klp_callbacks_mod",
    authors: ["klp-rs developers (after Joe Lawrence's C module)"],
    description: "Livepatch test: target module",
    license: "GPL",
}

/// The module; it only logs its init and exit.
struct TestKlpCallbacksMod;

impl kernel::Module for TestKlpCallbacksMod {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("test_klp_callbacks_mod_init\n");
        Ok(Self)
    }
}

impl Drop for TestKlpCallbacksMod {
    fn drop(&mut self) {
        pr_info!("test_klp_callbacks_mod_exit\n");
    }
}

// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|this method takes 1 argument but 0 arguments were supplied|State::prev needs the CallbackObject of a callback

//! Must NOT compile: `State::prev` takes the `CallbackObject` of a callback
//! (`klp_get_prev_state()` needs `klp_mutex` and a transition), so a
//! replacement function cannot call it.

use core::sync::atomic::AtomicU64;
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch, State};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

// SAFETY: state 1 is an `AtomicU64` (which points nowhere) in every module.
static READS: State<AtomicU64> = unsafe { State::new(1, 1) };

/// A replacement function's view of the replaced patches: refused.
fn prev_version() -> u32 {
    READS.prev().map_or(0, |prev| prev.version())
}

struct Hooks;

#[vtable]
impl Callbacks for Hooks {
    fn pre_patch(_obj: &CallbackObject<'_>) -> Result {
        pr_info!("{}\n", prev_version());
        Ok(())
    }
}

static PATCH: Patch =
    Patch::new(&[Object::vmlinux(&[]).callbacks::<Hooks>()]).states(&[READS.desc()]);

compile_test!("state_prev_outside_callback", PATCH);

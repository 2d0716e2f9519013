// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|borrowed data escapes outside of closure|a reference from State::with_data cannot leave the closure

//! Must NOT compile: a reference from `State::with_data` cannot leave its
//! closure, so it cannot outlive the data (which `take_data` may drop later).

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch, State};

#[path = "../../src/lib.rs"]
pub mod klp;

// SAFETY: state 1 is an `AtomicU64` (which points nowhere) in every module.
static READS: State<AtomicU64> = unsafe { State::new(1, 1) };

fn _unused() -> Ordering {
    Ordering::Relaxed
}

struct Hooks;

#[vtable]
impl Callbacks for Hooks {
    fn post_patch(_obj: &CallbackObject<'_>) {
        let mut kept: Option<&AtomicU64> = None;
        READS.with_data(|count| kept = count);
        drop(kept);
    }

    fn pre_patch(_obj: &CallbackObject<'_>) -> Result {
        let _ = KBox::new(0u8, GFP_KERNEL)?;
        Ok(())
    }
}

static PATCH: Patch =
    Patch::new(&[Object::vmlinux(&[]).callbacks::<Hooks>()]).states(&[READS.desc()]);

klp::livepatch_module! {
    type: CompileTest,
    patch: PATCH,
    name: "state_data_escapes",
    authors: ["klp-rs developers"],
    description: "compile test: state_data_escapes",
    license: "GPL",
}

// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|borrowed data escapes outside of closure|a reference from State::with_data cannot leave the closure

//! Must NOT compile: a reference from `State::with_data` cannot leave its
//! closure, so it cannot outlive the data (which `take_data` may drop later).

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

struct Hooks;

#[vtable]
impl Callbacks for Hooks {
    fn post_patch(_obj: &CallbackObject<'_>) {
        let mut kept: Option<&AtomicU64> = None;
        READS.with_data(|count| kept = count);
        drop(kept);
    }
}

static PATCH: Patch =
    Patch::new(&[Object::vmlinux(&[]).callbacks::<Hooks>()]).states(&[READS.desc()]);

compile_test!("state_data_escapes", PATCH);

// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|error[E0308]: mismatched types|State::take_data needs the Unpatched proof

//! Must NOT compile: `State::take_data` needs the `Unpatched` proof
//! (the vmlinux `post_unpatch` only), not just any callback's object.

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
    fn pre_unpatch(obj: &CallbackObject<'_>) {
        drop(READS.take_data(obj));
    }
}

static PATCH: Patch =
    Patch::new(&[Object::vmlinux(&[]).callbacks::<Hooks>()]).states(&[READS.desc()]);

compile_test!("state_take_without_proof", PATCH);

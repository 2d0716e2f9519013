// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|is unsafe and requires unsafe|State::new is an unsafe fn (global ids, data outliving its module)

//! Must NOT compile: `State::new` is an `unsafe fn`: its caller vouches that
//! the global id goes with this type in every module, and that the type
//! points into no module image.

use core::sync::atomic::AtomicU64;
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch, State};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

static READS: State<AtomicU64> = State::new(1, 1);

struct Hooks;

#[vtable]
impl Callbacks for Hooks {}

static PATCH: Patch =
    Patch::new(&[Object::vmlinux(&[]).callbacks::<Hooks>()]).states(&[READS.desc()]);

compile_test!("state_new_unsafe", PATCH);

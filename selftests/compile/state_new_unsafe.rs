// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|is unsafe and requires unsafe|State::new is an unsafe fn (global ids, data outliving its module)

//! Must NOT compile: `State::new` is an `unsafe fn`: its caller vouches that
//! the global id goes with this type in every module, and that the type
//! points into no module image.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch, State};

#[path = "../../src/lib.rs"]
pub mod klp;

static READS: State<AtomicU64> = State::new(1, 1);

fn _unused() -> Ordering {
    Ordering::Relaxed
}

struct Hooks;

#[vtable]
impl Callbacks for Hooks {
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
    name: "state_new_unsafe",
    authors: ["klp-rs developers"],
    description: "compile test: state_new_unsafe",
    license: "GPL",
}

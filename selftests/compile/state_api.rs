// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-build||State: set_data in pre_patch, inherit in post_patch, with_data anywhere, take_data with Unpatched

//! Must compile: the `State` API as callbacks and replacement functions use it
//! (set up in `pre_patch`, inherit in `post_patch`, read anywhere, take with
//! the proof in `post_unpatch`).

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch, State};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;

// SAFETY: state 1 is an `AtomicU64` (which points nowhere) in every module.
static READS: State<AtomicU64> = unsafe { State::new(1, 1) };

/// What a replacement function does.
fn count() -> u64 {
    READS
        .with_data(|count| count.map(|count| count.fetch_add(1, Ordering::Relaxed)))
        .unwrap_or(0)
}

struct Hooks;

#[vtable]
impl Callbacks for Hooks {
    fn pre_patch(obj: &CallbackObject<'_>) -> Result {
        if READS.prev(obj).is_none() {
            READS.set_data(obj, KBox::new(AtomicU64::new(0), GFP_KERNEL)?)?;
        }
        pr_info!("{}\n", count());
        Ok(())
    }

    fn post_patch(obj: &CallbackObject<'_>) {
        let _ = READS.inherit(obj);
    }

    fn post_unpatch(obj: &CallbackObject<'_>) {
        if let Some(unpatched) = obj.unpatched() {
            drop(READS.take_data(unpatched));
        }
    }
}

static PATCH: Patch =
    Patch::new(&[Object::vmlinux(&[]).callbacks::<Hooks>()]).states(&[READS.desc()]);

compile_test!("state_api", PATCH);

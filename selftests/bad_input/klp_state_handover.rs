// SPDX-License-Identifier: GPL-2.0

//! A cumulative patch that takes state 1 (the read counter of
//! `livepatch_cumulative_v3`) over in its `post_patch`, and patches
//! `busymod_work_func()` of `test_klp_callbacks_busy`, so that a busy worker
//! (`block_transition=Y`) holds its transition and it can be reversed.
//! A reversed transition must leave v3 its counter.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::bindings::work_struct;
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch, State};

#[path = "../../src/lib.rs"]
pub mod klp;

/// v3's read counter.
// SAFETY: every module that uses state 1 uses it with `AtomicU64`, which
// points nowhere.
static READS: State<AtomicU64> = unsafe { State::new(1, 1) };

/// Replacement for `busymod_work_func()` of `test_klp_callbacks_busy`.
unsafe extern "C" fn patched_work_func(_work: *mut work_struct) {
    pr_info!("patched_work_func\n");
}

/// The counter's value now, if this patch has it.
fn reads() -> Option<u64> {
    READS.with_data(|count| count.map(|count| count.load(Ordering::Relaxed)))
}

/// Takes the counter over, and releases it.
struct Handover;

#[vtable]
impl Callbacks for Handover {
    fn post_patch(obj: &CallbackObject<'_>) {
        match READS.inherit(obj) {
            Ok(Some(version)) => pr_info!(
                "state 1: taken over from version {} at {} reads\n",
                version,
                reads().unwrap_or(0)
            ),
            Ok(None) => pr_info!("state 1: nothing to take over\n"),
            Err(err) => pr_err!("state 1: not taken over ({err:?})\n"),
        }
    }

    fn post_unpatch(obj: &CallbackObject<'_>) {
        let Some(unpatched) = obj.unpatched() else {
            return;
        };
        match READS.take_data(unpatched) {
            Ok(Some(count)) => pr_info!(
                "state 1: released after {} reads\n",
                count.load(Ordering::Relaxed)
            ),
            Ok(None) => pr_info!("state 1: no data to release\n"),
            Err(err) => pr_err!("state 1: still in use ({err:?})\n"),
        }
    }
}

static PATCH: Patch = Patch::new(&[
    Object::vmlinux(&[]).callbacks::<Handover>(),
    Object::module(
        kernel::c_str!("test_klp_callbacks_busy"),
        &[
            // SAFETY: `busymod_work_func` of test_klp_callbacks_busy is the
            // `patchable!` entry `extern "C" fn(work: *mut work_struct)` (the
            // C module's `void busymod_work_func(struct work_struct *work)`),
            // and `patched_work_func` is an `unsafe extern "C" fn` of that
            // signature.
            unsafe { klp::func!("busymod_work_func", patched_work_func) },
        ],
    ),
])
.states(&[READS.desc()]);

klp::livepatch_module! {
    type: KlpStateHandover,
    patch: PATCH,
    name: "klp_state_handover",
    authors: ["klp-rs developers"],
    description: "state test: inherits v3's counter in post_patch, held by a busy worker",
    license: "GPL",
}

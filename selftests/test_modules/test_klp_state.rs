// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_state` selftest module: a cumulative
//! live patch that changes a system state, `console_loglevel`, declared as
//! state 1 version 1. Version 1 does not support migration: it neither takes
//! the state over from an older patch nor hands it back.

use core::sync::atomic::{AtomicI32, Ordering};
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch, State};

#[path = "../../src/lib.rs"]
pub mod klp;

#[path = "common/callback_info.rs"]
mod callback_info;
use callback_info::callback_info;

#[path = "common/console_loglevel.rs"]
mod console_loglevel;

/// The state: its data is the saved `console_loglevel`.
static LOGLEVEL: State<AtomicI32> =
    // SAFETY: every module with this id (test_klp_state, test_klp_state2 and
    // test_klp_state3) uses it with `AtomicI32`, which points nowhere.
    unsafe { State::new(console_loglevel::CONSOLE_LOGLEVEL_STATE, 1) };

/// Allocates the state's data, in `pre_patch`.
fn allocate_loglevel_state(obj: &CallbackObject<'_>) -> Result {
    if LOGLEVEL.get().is_none() {
        return Err(EINVAL);
    }
    LOGLEVEL.set_data(obj, KBox::new(AtomicI32::new(0), GFP_KERNEL)?)?;
    pr_info!("allocate_loglevel_state: allocating space to store console_loglevel\n");
    Ok(())
}

/// Saves `console_loglevel` and raises it, in `post_patch`.
fn fix_console_loglevel() {
    if LOGLEVEL.get().is_none() {
        return;
    }
    pr_info!("fix_console_loglevel: fixing console_loglevel\n");
    LOGLEVEL.with_data(|saved| {
        if let Some(saved) = saved {
            saved.store(console_loglevel::get(), Ordering::Relaxed);
        }
    });
    console_loglevel::set_motormouth();
}

/// Puts the saved `console_loglevel` back, in `pre_unpatch`.
fn restore_console_loglevel() {
    if LOGLEVEL.get().is_none() {
        return;
    }
    pr_info!("restore_console_loglevel: restoring console_loglevel\n");
    LOGLEVEL.with_data(|saved| {
        if let Some(saved) = saved {
            console_loglevel::set(saved.load(Ordering::Relaxed));
        }
    });
}

/// Frees the state's data, in `post_unpatch`.
fn free_loglevel_state(obj: &CallbackObject<'_>) {
    if LOGLEVEL.get().is_none() {
        return;
    }
    pr_info!("free_loglevel_state: freeing space for the stored console_loglevel\n");
    // Called from the vmlinux `post_unpatch`, which has the proof.
    if let Some(unpatched) = obj.unpatched() {
        if let Err(err) = LOGLEVEL.take_data(unpatched) {
            pr_err!("free_loglevel_state: the data is still in use ({err:?})\n");
        }
    }
}

/// The callbacks of the vmlinux object.
struct LoglevelCallbacks;

#[vtable]
impl Callbacks for LoglevelCallbacks {
    fn pre_patch(obj: &CallbackObject<'_>) -> Result {
        callback_info("pre_patch_callback", obj);
        allocate_loglevel_state(obj)
    }

    fn post_patch(obj: &CallbackObject<'_>) {
        callback_info("post_patch_callback", obj);
        fix_console_loglevel();
    }

    fn pre_unpatch(obj: &CallbackObject<'_>) {
        callback_info("pre_unpatch_callback", obj);
        restore_console_loglevel();
    }

    fn post_unpatch(obj: &CallbackObject<'_>) {
        callback_info("post_unpatch_callback", obj);
        free_loglevel_state(obj);
    }
}

/// A cumulative patch (atomic replace) with callbacks only, and the state.
static PATCH: Patch =
    Patch::new(&[Object::vmlinux(&[]).callbacks::<LoglevelCallbacks>()]).states(&[LOGLEVEL.desc()]);

klp::livepatch_module! {
    type: TestKlpState,
    patch: PATCH,
    name: "test_klp_state",
    authors: ["klp-rs developers (after Petr Mladek's C module)"],
    description: "Livepatch test: system state modification",
    license: "GPL",
}

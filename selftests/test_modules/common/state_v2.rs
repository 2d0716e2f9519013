// SPDX-License-Identifier: GPL-2.0

//! The body of the `test_klp_state2` and `test_klp_state3` modules (the C
//! `test_klp_state3.c` includes `test_klp_state2.c`): a cumulative live patch
//! that changes `console_loglevel`, declared as state 1 version 2. Version 2
//! supports migration: it takes the state over from the patch it replaces,
//! and leaves it to that patch if its own transition is reverted.

use super::callback_info::callback_info;
use super::console_loglevel;
use crate::klp::{CallbackObject, Callbacks, Object, Patch, State};
use core::sync::atomic::{AtomicI32, Ordering};
use kernel::prelude::*;

/// The state: its data is the saved `console_loglevel`.
static LOGLEVEL: State<AtomicI32> = State::new(console_loglevel::CONSOLE_LOGLEVEL_STATE, 2);

/// Allocates the state's data unless a replaced patch has it, in `pre_patch`.
fn allocate_loglevel_state(obj: &CallbackObject<'_>) -> Result {
    if LOGLEVEL.prev().is_some() {
        pr_info!("allocate_loglevel_state: space to store console_loglevel already allocated\n");
        return Ok(());
    }
    if LOGLEVEL.get().is_none() {
        return Err(EINVAL);
    }
    LOGLEVEL.set_data(obj, KBox::new(AtomicI32::new(0), GFP_KERNEL)?);
    pr_info!("allocate_loglevel_state: allocating space to store console_loglevel\n");
    Ok(())
}

/// Takes the change over from the replaced patch, or saves
/// `console_loglevel` and raises it, in `post_patch`.
fn fix_console_loglevel(obj: &CallbackObject<'_>) {
    let Some(state) = LOGLEVEL.get() else {
        return;
    };
    if LOGLEVEL.prev().is_some() {
        pr_info!("fix_console_loglevel: taking over the console_loglevel change\n");
        LOGLEVEL.inherit(obj);
        return;
    }
    pr_info!("fix_console_loglevel: fixing console_loglevel\n");
    if let Some(saved) = state.data() {
        saved.store(console_loglevel::get(), Ordering::Relaxed);
    }
    console_loglevel::set_motormouth();
}

/// Leaves the change to the patch being returned to, or puts the saved
/// `console_loglevel` back, in `pre_unpatch`.
fn restore_console_loglevel() {
    let Some(state) = LOGLEVEL.get() else {
        return;
    };
    if LOGLEVEL.prev().is_some() {
        pr_info!(
            "restore_console_loglevel: passing the console_loglevel change back to the old livepatch\n"
        );
        return;
    }
    pr_info!("restore_console_loglevel: restoring console_loglevel\n");
    if let Some(saved) = state.data() {
        console_loglevel::set(saved.load(Ordering::Relaxed));
    }
}

/// Keeps the data for the patch being returned to, or frees it, in
/// `post_unpatch`.
fn free_loglevel_state(obj: &CallbackObject<'_>) {
    if LOGLEVEL.get().is_none() {
        return;
    }
    if LOGLEVEL.prev().is_some() {
        pr_info!("free_loglevel_state: keeping space to store console_loglevel\n");
        return;
    }
    pr_info!("free_loglevel_state: freeing space for the stored console_loglevel\n");
    drop(LOGLEVEL.take_data(obj));
}

/// The callbacks of the vmlinux object.
struct LoglevelCallbacks;

impl Callbacks for LoglevelCallbacks {
    fn pre_patch(obj: &CallbackObject<'_>) -> Result {
        callback_info("pre_patch_callback", obj);
        allocate_loglevel_state(obj)
    }

    fn post_patch(obj: &CallbackObject<'_>) {
        callback_info("post_patch_callback", obj);
        fix_console_loglevel(obj);
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
pub(crate) static PATCH: Patch =
    Patch::new(&[Object::vmlinux(&[]).callbacks::<LoglevelCallbacks>()]).states(&[LOGLEVEL.desc()]);

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
static LOGLEVEL: State<AtomicI32> =
    // SAFETY: every module with this id (test_klp_state, test_klp_state2 and
    // test_klp_state3) uses it with `AtomicI32`, which points nowhere.
    unsafe { State::new(console_loglevel::CONSOLE_LOGLEVEL_STATE, 2) };

/// Allocates the state's data unless a replaced patch has it, in `pre_patch`.
fn allocate_loglevel_state(obj: &CallbackObject<'_>) -> Result {
    if LOGLEVEL.prev(obj).is_some() {
        pr_info!("allocate_loglevel_state: space to store console_loglevel already allocated\n");
        return Ok(());
    }
    if LOGLEVEL.get().is_none() {
        return Err(EINVAL);
    }
    LOGLEVEL.set_data(obj, KBox::new(AtomicI32::new(0), GFP_KERNEL)?)?;
    pr_info!("allocate_loglevel_state: allocating space to store console_loglevel\n");
    Ok(())
}

/// Takes the change over from the replaced patch, or saves
/// `console_loglevel` and raises it, in `post_patch`: the replaced patches
/// are unpatched by then, and a reversed transition never gets here, so the
/// replaced patch keeps its data if the transition to this one is reversed.
fn fix_console_loglevel(obj: &CallbackObject<'_>) {
    if LOGLEVEL.get().is_none() {
        return;
    }
    if LOGLEVEL.prev(obj).is_some() {
        pr_info!("fix_console_loglevel: taking over the console_loglevel change\n");
        if let Err(err) = LOGLEVEL.inherit(obj) {
            pr_err!("fix_console_loglevel: could not inherit the state ({err:?})\n");
        }
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

/// Leaves the change to the patch being returned to, or puts the saved
/// `console_loglevel` back, in `pre_unpatch`.
fn restore_console_loglevel(obj: &CallbackObject<'_>) {
    if LOGLEVEL.get().is_none() {
        return;
    }
    if LOGLEVEL.prev(obj).is_some() {
        pr_info!(
            "restore_console_loglevel: passing the console_loglevel change back to the old livepatch\n"
        );
        return;
    }
    pr_info!("restore_console_loglevel: restoring console_loglevel\n");
    LOGLEVEL.with_data(|saved| {
        if let Some(saved) = saved {
            console_loglevel::set(saved.load(Ordering::Relaxed));
        }
    });
}

/// Keeps the data for the patch being returned to, or frees it, in
/// `post_unpatch`.
fn free_loglevel_state(obj: &CallbackObject<'_>) {
    if LOGLEVEL.get().is_none() {
        return;
    }
    if LOGLEVEL.prev(obj).is_some() {
        pr_info!("free_loglevel_state: keeping space to store console_loglevel\n");
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
        fix_console_loglevel(obj);
    }

    fn pre_unpatch(obj: &CallbackObject<'_>) {
        callback_info("pre_unpatch_callback", obj);
        restore_console_loglevel(obj);
    }

    fn post_unpatch(obj: &CallbackObject<'_>) {
        callback_info("post_unpatch_callback", obj);
        free_loglevel_state(obj);
    }
}

/// A cumulative patch (atomic replace) with callbacks only, and the state.
pub(crate) static PATCH: Patch =
    Patch::new(&[Object::vmlinux(&[]).callbacks::<LoglevelCallbacks>()]).states(&[LOGLEVEL.desc()]);

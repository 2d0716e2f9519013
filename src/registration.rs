// SPDX-License-Identifier: GPL-2.0

//! Enabling a [`Patch`]: building the C structures and handing them to the core.

use super::bindings;
use super::callbacks::CallbackTable;
use super::patch::Patch;
use core::pin::Pin;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::{
    code::{EBUSY, EINVAL},
    to_result,
};
use kernel::prelude::*;
use kernel::types::Opaque;
use kernel::ThisModule;

/// The patch this module registered, for the lookups that need it
/// (`klp_get_state()`). The library is compiled into each module, so each
/// module has its own; a module registers at most one patch.
static CURRENT_PATCH: AtomicPtr<bindings::klp_patch> = AtomicPtr::new(ptr::null_mut());

/// This module's registered patch, if it has one.
pub(crate) fn current_patch() -> Option<*mut bindings::klp_patch> {
    let patch = CURRENT_PATCH.load(Ordering::Acquire);
    (!patch.is_null()).then_some(patch)
}

/// A live patch that has been enabled by `klp_enable_patch()`.
///
/// It owns the `struct klp_patch` and the null-terminated `klp_object` and
/// `klp_func` arrays built from a [`Patch`]. The livepatch core links them
/// into its lists and sysfs, so they must neither move nor be freed while the
/// core uses them. The core holds a reference to the patch module from
/// `klp_enable_patch()` until the patch has been disabled and its kobjects
/// released, so a `Registration` kept in the module's state (as
/// [`livepatch_module!`](crate::livepatch_module) does) is dropped only after
/// the core is done with it.
///
/// # Invariants
///
/// - `_patch` points to `objects` and `states` (null-terminated) and each
///   object to its run of `funcs` (null-terminated); no vector is resized
///   after construction, so their heap buffers never move.
/// - `klp_enable_patch()` succeeded on `_patch`, and `CURRENT_PATCH` points to it.
pub struct Registration {
    _patch: Pin<KBox<Opaque<bindings::klp_patch>>>,
    _objects: KVec<Opaque<bindings::klp_object>>,
    _funcs: KVec<Opaque<bindings::klp_func>>,
    _states: KVec<Opaque<bindings::klp_state>>,
}

// SAFETY: a `Registration` gives no access to the structures it owns; only the
// livepatch core reads and writes them, under its own locking, from any thread.
unsafe impl Send for Registration {}

// SAFETY: see `Send`: shared references to a `Registration` allow nothing.
unsafe impl Sync for Registration {}

impl Registration {
    /// Builds the C structures for `desc` and enables the patch for `module`.
    ///
    /// Must be called from the module's init function; `module` must carry the
    /// `livepatch=Y` modinfo tag ([`modinfo_livepatch!`](crate::modinfo_livepatch)).
    /// On failure the core has already logged its reason (for example a
    /// function that could not be found, or an incompatible system state) and
    /// nothing is patched.
    pub fn enable(desc: &'static Patch, module: &'static ThisModule) -> Result<Self> {
        // An object without functions is allowed when it has callbacks: the
        // core still runs them (the kernel's callbacks demo does this for
        // vmlinux). An object with neither would do nothing.
        if desc.objects.is_empty()
            || desc
                .objects
                .iter()
                .any(|obj| obj.funcs.is_empty() && obj.callbacks.is_none())
        {
            pr_err!(
                "klp-rs: a patch needs at least one object, each with functions or callbacks\n"
            );
            return Err(EINVAL);
        }
        if desc.states.iter().any(|state| state.id == 0) {
            pr_err!("klp-rs: state id 0 is reserved (it ends the C array)\n");
            return Err(EINVAL);
        }

        // One run of functions per object, each followed by a zeroed terminator.
        let func_count = desc.objects.iter().map(|obj| obj.funcs.len() + 1).sum();
        let mut funcs = KVec::with_capacity(func_count, GFP_KERNEL)?;
        for obj in desc.objects {
            for func in obj.funcs {
                let raw = bindings::klp_func {
                    old_name: func.old_name.as_char_ptr(),
                    new_func: func.new_func.as_ptr(),
                    old_sympos: func.old_sympos,
                    ..Default::default()
                };
                funcs.push(Opaque::new(raw), GFP_KERNEL)?;
            }
            funcs.push(Opaque::new(bindings::klp_func::default()), GFP_KERNEL)?;
        }

        let mut objects = KVec::with_capacity(desc.objects.len() + 1, GFP_KERNEL)?;
        let mut first_func = 0;
        for obj in desc.objects {
            // The capacity was reserved above, so no push moved the buffer.
            let run = Opaque::raw_get(funcs.as_ptr().wrapping_add(first_func));
            first_func += obj.funcs.len() + 1;
            let raw = bindings::klp_object {
                name: obj.name.map_or(ptr::null(), |name| name.as_char_ptr()),
                funcs: run,
                callbacks: obj.callbacks.map(CallbackTable::to_raw).unwrap_or_default(),
                ..Default::default()
            };
            objects.push(Opaque::new(raw), GFP_KERNEL)?;
        }
        objects.push(Opaque::new(bindings::klp_object::default()), GFP_KERNEL)?;

        let mut states = KVec::with_capacity(desc.states.len() + 1, GFP_KERNEL)?;
        for state in desc.states {
            let raw = bindings::klp_state {
                id: state.id,
                version: state.version,
                ..Default::default()
            };
            states.push(Opaque::new(raw), GFP_KERNEL)?;
        }
        states.push(Opaque::new(bindings::klp_state::default()), GFP_KERNEL)?;

        let patch = KBox::pin(
            Opaque::new(bindings::klp_patch {
                mod_: module.as_ptr(),
                objs: Opaque::raw_get(objects.as_ptr()),
                states: Opaque::raw_get(states.as_ptr()),
                replace: desc.replace,
                ..Default::default()
            }),
            GFP_KERNEL,
        )?;

        // Callbacks run inside `klp_enable_patch()` and may look up states,
        // so the patch is made current first.
        if CURRENT_PATCH
            .compare_exchange(
                ptr::null_mut(),
                patch.get(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            pr_err!("klp-rs: a module can register only one patch\n");
            return Err(EBUSY);
        }

        // `patch` and the arrays it points to are fully initialised,
        // null-terminated and in heap memory that does not move. On success
        // the returned `Registration` owns them until the core releases them
        // (see the type's documentation); on failure the core already has.
        // A failure is not logged here: the core has logged its reason, and an
        // extra line would break tools that compare the kernel log exactly
        // (the kernel's livepatch selftests do).
        // SAFETY: the structures are complete and outlive the core's use.
        let ret = unsafe { bindings::klp_enable_patch(patch.get()) };
        if let Err(err) = to_result(ret) {
            CURRENT_PATCH.store(ptr::null_mut(), Ordering::Release);
            return Err(err);
        }

        // INVARIANT: the arrays were built above and are not resized again;
        // `klp_enable_patch()` succeeded.
        Ok(Self {
            _patch: patch,
            _objects: objects,
            _funcs: funcs,
            _states: states,
        })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // The module is going: the core released the patch before it let the
        // module's reference go (see the type's documentation).
        CURRENT_PATCH.store(ptr::null_mut(), Ordering::Release);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Enabling a [`Patch`]: building the C structures and handing them to the core.
//!
//! The structures live either in the module's own image, in a [`Storage`]
//! sized at compile time (what [`livepatch_module!`](crate::livepatch_module)
//! does, like a C live patch's static arrays), or on the heap, owned by a
//! [`Registration`] (for a hand-written module that picks its patch at run
//! time).

use super::super::stand_ins::kernel::{char_ptr, opaque_ptr};
use super::bindings;
use super::patch::Patch;
use core::pin::Pin;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
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
#[inline]
pub(crate) fn current_patch() -> Option<*mut bindings::klp_patch> {
    let patch = CURRENT_PATCH.load(Ordering::Acquire);
    (!patch.is_null()).then_some(patch)
}

/// A zeroed `T`, the state a C live patch's static structures start in.
///
/// # Safety
///
/// All-zero bytes must be a valid `T`: true of the `klp_*` structures, whose
/// fields are integers, booleans, raw pointers and `Option`s of function
/// pointers.
const unsafe fn zeroed<T>() -> Opaque<T> {
    // SAFETY: the caller guarantees that zero bytes are a valid `T`.
    Opaque::new(unsafe { core::mem::zeroed() })
}

/// Fills zeroed memory with the C structures of `desc` and enables the patch.
///
/// The layout is the one the core expects: `patch` points to `objects` and
/// `states`, each terminated by a zeroed entry, and each object to its run of
/// `funcs`, terminated by a zeroed entry. A slice too short for `desc` is
/// refused with `EINVAL` (see [`Patch::func_slots`] and friends for the sizes).
///
/// # Safety
///
/// The four are zeroed, used by nothing else, and stay in place (neither
/// moved nor freed) until the core has released the patch, which happens
/// before the module is unloaded.
unsafe fn enable_in(
    desc: &Patch,
    module: &'static ThisModule,
    patch: &Opaque<bindings::klp_patch>,
    objects: &[Opaque<bindings::klp_object>],
    funcs: &[Opaque<bindings::klp_func>],
    states: &[Opaque<bindings::klp_state>],
) -> Result {
    // What the core would refuse (`livepatch_module!` checks it at compile
    // time; a patch chosen at run time is checked here).
    if let Err(err) = desc.check() {
        pr_err!("klp-rs: {}\n", err.message());
        return Err(EINVAL);
    }

    // Until `klp_enable_patch()` below, the structures are this function's
    // alone (the caller's guarantee), so the writes through `Opaque::get()`
    // race with nothing. Only the fields a C patch sets are written; the rest
    // stays zeroed, and so does each terminator.
    let mut func_slots = funcs.iter();
    let mut object_slots = objects.iter();
    for obj in desc.objects {
        let object = object_slots.next().ok_or(EINVAL)?.get();
        let run = opaque_ptr(func_slots.as_slice().as_ptr());
        for func in obj.funcs {
            let raw = func_slots.next().ok_or(EINVAL)?.get();
            // SAFETY: `raw` is a valid `klp_func` no one else uses yet (see above).
            unsafe {
                (*raw).old_name = char_ptr(func.old_name);
                (*raw).new_func = func.new_func.as_ptr();
                (*raw).old_sympos = func.old_sympos;
            }
        }
        // The run's terminator.
        func_slots.next().ok_or(EINVAL)?;
        // SAFETY: `run` points to the object's functions, terminated just above.
        // `object` is a valid `klp_object` no one else uses yet (see above).
        unsafe {
            (*object).name = obj.name.map_or(ptr::null(), char_ptr);
            (*object).funcs = run;
            if let Some(callbacks) = obj.callbacks {
                (*object).callbacks = callbacks.to_raw();
            }
        }
    }
    object_slots.next().ok_or(EINVAL)?;
    let mut state_slots = states.iter();
    for state in desc.states {
        let raw = state_slots.next().ok_or(EINVAL)?.get();
        // SAFETY: `raw` is a valid `klp_state` no one else uses yet (see above).
        unsafe {
            (*raw).id = state.id;
            (*raw).version = state.version;
        }
    }
    state_slots.next().ok_or(EINVAL)?;

    let raw = patch.get();
    // SAFETY: The arrays it is given are complete and terminated.
    // `raw` is a valid `klp_patch` no one else uses yet (see above).
    unsafe {
        (*raw).mod_ = module.as_ptr();
        (*raw).objs = opaque_ptr(objects.as_ptr());
        (*raw).states = opaque_ptr(states.as_ptr());
        (*raw).replace = desc.replace;
    }

    // Callbacks run inside `klp_enable_patch()` and may look up states,
    // so the patch is made current first.
    if CURRENT_PATCH
        .compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        pr_err!("klp-rs: a module can register only one patch\n");
        return Err(EBUSY);
    }

    // SAFETY: The structures are complete and null-terminated. On failure the core
    // has already let go of them. A failure is not logged here: the core has
    // logged its reason, and an extra line would break tools that compare the
    // kernel log exactly (the kernel's livepatch selftests do).
    // they stay in place until the core releases them (the caller's guarantee).
    let ret = unsafe { bindings::klp_enable_patch(raw) };
    if let Err(err) = to_result(ret) {
        CURRENT_PATCH.store(ptr::null_mut(), Ordering::Release);
        return Err(err);
    }
    Ok(())
}

/// Memory for the C structures of one patch in the module's own image, the
/// way a C live patch declares its `klp_patch`, `klp_object` and `klp_func`
/// arrays as static data.
///
/// `OBJECTS`, `FUNCS` and `STATES` are the entries of each array, terminators
/// included: [`Patch::object_slots`], [`Patch::func_slots`] and
/// [`Patch::state_slots`] of the patch it is for.
/// [`livepatch_module!`](crate::livepatch_module) declares one as a `static`
/// for you. Compared with [`Registration`], nothing is allocated and no
/// vector code is compiled into the module.
///
/// # Invariants
///
/// The structures are zeroed and unused until `used` is set, which happens
/// once, by the first [`Storage::enable`].
pub struct Storage<const OBJECTS: usize, const FUNCS: usize, const STATES: usize> {
    used: AtomicBool,
    patch: Opaque<bindings::klp_patch>,
    objects: [Opaque<bindings::klp_object>; OBJECTS],
    funcs: [Opaque<bindings::klp_func>; FUNCS],
    states: [Opaque<bindings::klp_state>; STATES],
}

// SAFETY: the structures are written once, by the first `Storage::enable()`
// (any later call fails before touching them), then only by the livepatch
// core, under its own locking, from any thread. Shared references give no
// other access.
unsafe impl<const O: usize, const F: usize, const S: usize> Sync for Storage<O, F, S> {}

impl<const OBJECTS: usize, const FUNCS: usize, const STATES: usize>
    Storage<OBJECTS, FUNCS, STATES>
{
    /// Zeroed memory, for a `static`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        // INVARIANT: zeroed and not used yet.
        Self {
            used: AtomicBool::new(false),
            // SAFETY: zero bytes are a valid `klp_patch` (see `zeroed`).
            patch: unsafe { zeroed() },
            // SAFETY: zero bytes are a valid `klp_object` (see `zeroed`).
            objects: [const { unsafe { zeroed() } }; OBJECTS],
            // SAFETY: zero bytes are a valid `klp_func` (see `zeroed`).
            funcs: [const { unsafe { zeroed() } }; FUNCS],
            // SAFETY: zero bytes are a valid `klp_state` (see `zeroed`).
            states: [const { unsafe { zeroed() } }; STATES],
        }
    }

    /// Builds the C structures for `desc` in this memory and enables the
    /// patch for `module`, as [`Registration::enable`] does on the heap.
    ///
    /// Fails with `EINVAL` if the memory was sized for a smaller patch, and
    /// with `EBUSY` if it was used before (it is written only once, even if
    /// that first attempt failed) or this module already registered a patch.
    ///
    /// # Safety
    ///
    /// As for [`Registration::enable`]: called from `module`'s init, as its
    /// last fallible step (once it succeeds, init returns `Ok`), and the
    /// returned [`StaticRegistration`] is kept in the module's state until
    /// module exit. The core links this memory, part of the module's image,
    /// into its lists from here on: a module whose init fails is freed by
    /// the loader even though the core still holds it.
    #[inline]
    pub unsafe fn enable(
        &'static self,
        desc: &'static Patch,
        module: &'static ThisModule,
    ) -> Result<StaticRegistration> {
        if self.used.swap(true, Ordering::AcqRel) {
            pr_err!("klp-rs: a klp::Storage can be used only once\n");
            return Err(EBUSY);
        }
        // SAFETY: The structures are zeroed and unused (type invariant: `used` was
        // not set before), and static: in place until the module is gone.
        // zeroed, unused, and in place for as long as the core needs them.
        unsafe {
            enable_in(
                desc,
                module,
                &self.patch,
                &self.objects,
                &self.funcs,
                &self.states,
            )
        }?;
        Ok(StaticRegistration { _private: () })
    }
}

/// A live patch enabled from a [`Storage`]. Keep it in the module's state
/// ([`Storage::enable`]'s safety contract): dropping it, when the module goes,
/// forgets the module's current patch.
pub struct StaticRegistration {
    _private: (),
}

impl Drop for StaticRegistration {
    #[inline]
    fn drop(&mut self) {
        // The module is going: the core released the patch before it let the
        // module's reference go.
        CURRENT_PATCH.store(ptr::null_mut(), Ordering::Release);
    }
}

/// A live patch that has been enabled by `klp_enable_patch()`, with its C
/// structures on the heap.
///
/// For a module that implements [`kernel::Module`] by hand and picks its
/// [`Patch`] at run time; [`livepatch_module!`](crate::livepatch_module)
/// uses a [`Storage`] instead.
///
/// It owns the `struct klp_patch` and the null-terminated `klp_object` and
/// `klp_func` arrays built from a [`Patch`]. The livepatch core links them
/// into its lists and sysfs, so they must neither move nor be freed while the
/// core uses them. The core holds a reference to the patch module from
/// `klp_enable_patch()` until the patch has been disabled and its kobjects
/// released, so a `Registration` kept in the module's state is dropped only
/// after the core is done with it. Nothing else is safe: dropped earlier, it
/// frees structures the core still links to, and a module whose init fails
/// after enabling is freed by the loader even though the core holds it. So
/// [`Registration::enable`] is `unsafe`, and its caller guarantees both.
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

/// A vector of `len` zeroed `T`s.
///
/// # Safety
///
/// As for [`zeroed`]: all-zero bytes must be a valid `T`.
#[inline]
unsafe fn zeroed_vec<T>(len: usize) -> Result<KVec<Opaque<T>>> {
    let mut vec = KVec::with_capacity(len, GFP_KERNEL)?;
    for _ in 0..len {
        // SAFETY: the caller guarantees that zero bytes are a valid `T`.
        vec.push(unsafe { zeroed() }, GFP_KERNEL)?;
    }
    Ok(vec)
}

impl Registration {
    /// Builds the C structures for `desc` on the heap and enables the patch
    /// for `module`.
    ///
    /// Must be called from the module's init function; `module` must carry the
    /// `livepatch=Y` modinfo tag ([`modinfo_livepatch!`](crate::modinfo_livepatch)).
    /// On failure the core has already logged its reason (for example a
    /// function that could not be found, or an incompatible system state) and
    /// nothing is patched.
    ///
    /// `#[inline]` only so that a module that does not call it (one built with
    /// [`livepatch_module!`](crate::livepatch_module)) does not carry its code:
    /// the library is compiled into every module.
    ///
    /// # Safety
    ///
    /// Once this succeeds, the core links the structures into its lists and
    /// sysfs and holds a reference to `module`, but the reference does not
    /// keep the module's memory alive in every case, so the caller
    /// guarantees:
    ///
    /// - It is called from `module`'s init, and it is the last fallible step
    ///   of init: once it succeeds, init returns `Ok`. The module loader
    ///   frees a module whose init failed, the core's reference
    ///   notwithstanding, and with it the code of the replacement functions.
    /// - The returned `Registration` is kept in the module's state until
    ///   module exit, which runs only after the core has disabled and
    ///   released the patch (and dropped its reference). Dropped any earlier,
    ///   it frees structures the core still uses.
    #[inline]
    pub unsafe fn enable(desc: &'static Patch, module: &'static ThisModule) -> Result<Self> {
        // SAFETY: zero bytes are a valid `klp_object` (see `zeroed`).
        let objects = unsafe { zeroed_vec(desc.object_slots()) }?;
        // SAFETY: zero bytes are a valid `klp_func` (see `zeroed`).
        let funcs = unsafe { zeroed_vec(desc.func_slots()) }?;
        // SAFETY: zero bytes are a valid `klp_state` (see `zeroed`).
        let states = unsafe { zeroed_vec(desc.state_slots()) }?;
        // SAFETY: zero bytes are a valid `klp_patch` (see `zeroed`).
        let patch = KBox::pin(unsafe { zeroed() }, GFP_KERNEL)?;

        // SAFETY: The heap buffers never move (no vector is resized again) and are
        // not freed before the core releases them (see the type's documentation).
        // the structures are zeroed, new, and in place for as long as the core needs them.
        unsafe { enable_in(desc, module, &patch, &objects, &funcs, &states) }?;

        // INVARIANT: the arrays were built by `enable_in`, are not resized
        // again, and `klp_enable_patch()` succeeded.
        Ok(Self {
            _patch: patch,
            _objects: objects,
            _funcs: funcs,
            _states: states,
        })
    }
}

impl Drop for Registration {
    #[inline]
    fn drop(&mut self) {
        // The module is going: the core released the patch before it let the
        // module's reference go (see the type's documentation).
        CURRENT_PATCH.store(ptr::null_mut(), Ordering::Release);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! System states: what a patch changes in the running system beyond its
//! functions, so that a later cumulative patch can take it over.
//!
//! A patch lists the states it sets up, each an id and a version. The core
//! lets a patch replace earlier ones only if it knows every state they set up,
//! at the same or a newer version (`klp_is_patch_compatible()`), and refuses
//! to load it otherwise. A state can carry data (`klp_state.data`), which the
//! newer patch inherits from the one it replaces in its `post_patch`
//! callback.
//!
//! # Why the data cannot dangle
//!
//! The data is a `KBox<T>` that replacement functions read while callbacks
//! may set it, take it and hand it over. Three rules keep every reference
//! valid:
//!
//! - **Set once, never displaced.** [`State::set_data`] only fills an empty
//!   state (it fails with `EEXIST` otherwise), and [`State::inherit`] only
//!   moves data into an empty one. A reader sees either no data or a
//!   complete box (a release store, acquire load), and no box is dropped
//!   while it is readable: nothing replaces data in place.
//! - **References do not leave their reader.** [`State::with_data`] lends
//!   `&T` to a closure only; it cannot be stored anywhere (not even through
//!   a leaked `'static` handle) and lives only as long as the closure runs.
//!   The closure is counted: [`State::take_data`] fails with `EBUSY` rather
//!   than take data that a reader of this state is looking at (say a
//!   `with_data` in the same callback).
//! - **Dropped only once nothing can read it.** [`State::take_data`] needs a
//!   [`Unpatched`], given to `post_unpatch` only when the whole patch has
//!   been unpatched (not when one module goes away): its unpatching
//!   transition has finished, so no task runs its
//!   replacement functions any more, and callbacks run one at a time. A
//!   reader of this state still in progress elsewhere (a timer or work item
//!   of the module) is caught by the count above. [`State::inherit`] moves
//!   the data of the replaced patch only in the vmlinux `post_patch` of an
//!   atomic-replace patch: the core has unpatched the replaced patches before
//!   it calls `post_patch` (`klp_unpatch_replaced_patches()` in
//!   `klp_complete_transition()`), and the finished transition means that no
//!   task runs their replacement functions any more. (The replaced module's
//!   own count is not reachable from here: its timers and work items must
//!   not read its state once it is replaced, as they must not run after its
//!   module is gone.)
//!
//! A reversed transition is why the handover is in `post_patch`: when the
//! transition to the new patch is reversed, the core never calls its
//! `post_patch` (it runs `post_unpatch` instead), so the replaced patch
//! keeps its data, where a handover in `pre_patch` would have moved the
//! data away before the reversal and freed it in the new patch's
//! `post_unpatch`. In between, from the start of the transition until
//! `post_patch`, the new patch's replacement functions see no data
//! (`with_data` gets `None`) unless `pre_patch` set up their own.
//!
//! A forced transition (`/sys/kernel/livepatch/<patch>/force`) breaks the
//! core's consistency model, and with it these guarantees.

use super::bindings;
use super::callbacks::{CallbackKind, CallbackObject, Unpatched};
use super::registration;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use kernel::error::code::{EBUSY, EEXIST, EINVAL, ENOENT};
use kernel::prelude::*;

/// The id and version of a state, as listed in a [`Patch`](super::Patch).
#[derive(Clone, Copy)]
pub struct StateDesc {
    pub(crate) id: usize,
    pub(crate) version: u32,
}

/// A system state with data of type `T`.
///
/// Declared as a `static` with the `unsafe` [`State::new`], listed in the
/// patch with [`Patch::states`](super::Patch::states)`(&[STATE.desc()])`.
/// The data is a `KBox<T>` owned by the state, set in a callback with
/// [`State::set_data`], read anywhere with [`State::with_data`], handed over
/// to a newer cumulative patch with [`State::inherit`] and dropped after the
/// patch is unpatched with [`State::take_data`] (see the [module
/// documentation](self) for why no reference dangles).
pub struct State<T> {
    desc: StateDesc,
    /// Closures of [`State::with_data`] running now, in any context.
    readers: AtomicUsize,
    _data: PhantomData<KBox<T>>,
}

impl<T: Send + Sync> State<T> {
    /// The state `id` (non-zero) at `version`.
    ///
    /// # Safety
    ///
    /// State ids are global to the kernel, and the data goes from one patch
    /// module to the next, which reads and drops it as its own `T`:
    ///
    /// - every module that uses `id` (at any version) uses it with this `T`,
    ///   the same type with the same layout and meaning (a patch that changes
    ///   `T` must use a new id);
    /// - `T` holds nothing that points into a module image (no reference to
    ///   a `static`, no function pointer, no `dyn` vtable, no `&'static str`
    ///   literal): after a cumulative handover the data outlives the module
    ///   that made it, whose image is freed when it is unloaded.
    pub const unsafe fn new(id: usize, version: u32) -> Self {
        Self {
            desc: StateDesc { id, version },
            readers: AtomicUsize::new(0),
            _data: PhantomData,
        }
    }

    /// The id and version, for [`Patch::states`](super::Patch::states).
    pub const fn desc(&self) -> StateDesc {
        self.desc
    }

    /// The id.
    pub const fn id(&self) -> usize {
        self.desc.id
    }

    /// The version this patch sets up.
    pub const fn version(&self) -> u32 {
        self.desc.version
    }

    /// This patch's state, while its patch is registered (callbacks and
    /// replacement functions); `None` if the patch does not list it.
    pub fn get(&self) -> Option<StateRef<'_, T>> {
        let patch = registration::current_patch()?;
        // SAFETY: `klp_get_state()` only walks `patch->states`, the array this module
        // built, which stays in place while the patch is registered.
        // `patch` is this module's registered patch.
        let raw = unsafe { bindings::klp_get_state(patch, self.desc.id) };
        StateRef::new(raw)
    }

    /// The state as set up by the patches loaded before this one (the newest
    /// of them that has it), if any.
    ///
    /// Only in the callbacks of the vmlinux object (`None` elsewhere): those
    /// run in this patch's own transitions, under `klp_mutex`, which is what
    /// the core's `klp_get_prev_state()` needs (it walks the list of patches
    /// that `klp_mutex` protects, up to the transition patch, and warns when
    /// there is none). A module object's callbacks also run when that module
    /// comes or goes, outside any transition.
    pub fn prev<'a>(&'a self, obj: &'a CallbackObject<'_>) -> Option<StateRef<'a, T>> {
        if !obj.in_own_transition() {
            return None;
        }
        // SAFETY: The callback runs under `klp_mutex` with this patch as the
        // transition patch (see above); the result stays valid during the
        // callback, since the patches it belongs to cannot be removed
        // without `klp_mutex`.
        // called with `klp_mutex` held and a transition in progress.
        let raw = unsafe { bindings::klp_get_prev_state(self.desc.id) };
        StateRef::new(raw)
    }

    /// Lends this patch's state data to `f`, or `None` if the state has no
    /// data (or the patch does not list it). Anywhere: replacement functions
    /// and callbacks. The reference lives only while `f` runs.
    pub fn with_data<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        let Some(state) = self.get() else {
            return f(None);
        };
        // Counted before the load, both `SeqCst`: `take_data` swaps the data
        // out and then reads the count, so either this load sees null or
        // `take_data` sees this reader (and puts the data back).
        self.readers.fetch_add(1, Ordering::SeqCst);
        let data = state.data_atomic().load(Ordering::SeqCst);
        // SAFETY: Data is set once from a `KBox<T>` (release CAS, seen here through
        // the `SeqCst` load), never replaced in place, and not dropped while
        // `readers` counts this call (see `take_data`) or while a
        // replacement function of a patch holding it can run (see the
        // module documentation).
        // `data` is null or a live `T` for the duration of `f`.
        let result = f(unsafe { data.cast::<T>().as_ref() });
        self.readers.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Sets this patch's state data. Callbacks only. Fails with `EEXIST`
    /// (dropping `data`) if the state already has data: data is never
    /// replaced while readers may hold it (take it first, after the patch is
    /// unpatched). Fails with `ENOENT` if the patch does not list the state.
    pub fn set_data(&self, _cb: &CallbackObject<'_>, data: KBox<T>) -> Result {
        let state = self.get().ok_or(ENOENT)?;
        let new = KBox::into_raw(data);
        match state.data_atomic().compare_exchange(
            ptr::null_mut(),
            new.cast(),
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(_) => Ok(()),
            Err(_) => {
                // SAFETY: `new` came from `KBox::into_raw` just above and was not stored.
                drop(unsafe { KBox::from_raw(new) });
                Err(EEXIST)
            }
        }
    }

    /// Takes this patch's state data away, once the whole patch is
    /// unpatched (the vmlinux object's `post_unpatch`). `Ok(None)` if there
    /// is none; `EBUSY`, leaving the data in place, if a [`State::with_data`]
    /// closure is reading it now.
    pub fn take_data(&self, _unpatched: &Unpatched<'_>) -> Result<Option<KBox<T>>> {
        let Some(state) = self.get() else {
            return Ok(None);
        };
        let data = state.data_atomic().swap(ptr::null_mut(), Ordering::SeqCst);
        if data.is_null() {
            return Ok(None);
        }
        if self.readers.load(Ordering::SeqCst) != 0 {
            // A reader may have loaded `data` before the swap: put it back.
            // Nothing else writes the state meanwhile (callbacks are
            // serialised), so the slot is still empty.
            state.data_atomic().store(data, Ordering::SeqCst);
            return Err(EBUSY);
        }
        // SAFETY: Non-null data is a `KBox<T>` made raw (`StateRef` invariant). No
        // reader of this module holds it (the count was zero after the swap),
        // and no replacement function of the patch runs (`Unpatched`).
        // the box was swapped out of the state: this is its only owner.
        Ok(Some(unsafe { KBox::from_raw(data.cast::<T>()) }))
    }

    /// Moves the data of the replaced patches' state (see [`State::prev`])
    /// into this patch's state, and returns the version they had it at.
    ///
    /// Only in the vmlinux object's `post_patch` of an atomic-replace patch
    /// (`EINVAL` elsewhere), when the replaced patches have been unpatched:
    /// their replacement functions no longer run, so their data can change
    /// hands. `Ok(None)` if no replaced patch has the state. `EEXIST`, with
    /// both left as they are, if this patch's state already has data (set up
    /// in `pre_patch`): its readers may hold it, so it is not displaced.
    pub fn inherit(&self, obj: &CallbackObject<'_>) -> Result<Option<u32>> {
        if obj.kind() != CallbackKind::PostPatch || !obj.in_own_transition() || !patch_replaces() {
            return Err(EINVAL);
        }
        let Some(prev) = self.prev(obj) else {
            return Ok(None);
        };
        let mine = self.get().ok_or(ENOENT)?;
        let version = prev.version();
        // Callbacks are serialised, and no other code writes either state
        // (the replaced patch's callbacks no longer run), so the check and
        // the moves below do not race with writers.
        if !mine.data_atomic().load(Ordering::SeqCst).is_null() {
            return Err(EEXIST);
        }
        let data = prev.data_atomic().swap(ptr::null_mut(), Ordering::SeqCst);
        mine.data_atomic().store(data, Ordering::SeqCst);
        Ok(Some(version))
    }
}

/// Whether this module's patch uses atomic replace.
fn patch_replaces() -> bool {
    registration::current_patch().is_some_and(|patch| {
        // SAFETY: `replace` is set before the patch is enabled and never changes.
        // `patch` is this module's registered patch.
        unsafe { (*patch).replace }
    })
}

/// A registered patch's `struct klp_state`.
///
/// # Invariants
///
/// `raw` is a valid `klp_state` of a registered patch whose `data` is null or
/// a `KBox<T>` turned into a raw pointer, accessed only atomically.
pub struct StateRef<'a, T> {
    raw: *mut bindings::klp_state,
    _state: PhantomData<&'a State<T>>,
}

impl<T> StateRef<'_, T> {
    fn new(raw: *mut bindings::klp_state) -> Option<Self> {
        // INVARIANT: the core returns a state of a registered patch or null;
        // state data is only ever set by `State::set_data`, from a `KBox<T>`
        // (the `T` of every `State` with this id, `State::new`'s contract),
        // or moved between states by `State::inherit`.
        (!raw.is_null()).then_some(Self {
            raw,
            _state: PhantomData,
        })
    }

    /// The version of the state.
    pub fn version(&self) -> u32 {
        // SAFETY: `raw` is valid (type invariant).
        unsafe { (*self.raw).version }
    }

    /// Whether the state has data now.
    pub fn has_data(&self) -> bool {
        !self.data_atomic().load(Ordering::SeqCst).is_null()
    }

    /// The `data` field, as the atomic every access goes through.
    fn data_atomic(&self) -> &AtomicPtr<core::ffi::c_void> {
        // SAFETY: The field is aligned for a pointer and lives as long as the patch
        // (type invariant); the core never touches it, and the library
        // accesses it only through this atomic.
        // `raw` is valid (type invariant), see above.
        unsafe { AtomicPtr::from_ptr(ptr::addr_of_mut!((*self.raw).data)) }
    }
}

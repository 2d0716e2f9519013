// SPDX-License-Identifier: GPL-2.0

//! System states: what a patch changes in the running system beyond its
//! functions, so that a later cumulative patch can take it over.
//!
//! A patch lists the states it sets up, each an id and a version. The core
//! lets a patch replace earlier ones only if it knows every state they set up,
//! at the same or a newer version (`klp_is_patch_compatible()`), and refuses
//! to load it otherwise. A state can carry data (`klp_state.data`), which the
//! newer patch inherits from the one it replaces in its `pre_patch` callback.

use super::bindings;
use super::callbacks::CallbackObject;
use super::registration;
use core::marker::PhantomData;
use core::ptr;
use kernel::prelude::*;

/// The id and version of a state, as listed in a [`Patch`](super::Patch).
#[derive(Clone, Copy)]
pub struct StateDesc {
    pub(crate) id: usize,
    pub(crate) version: u32,
}

/// A system state with data of type `T`.
///
/// Declared as a `static`, listed in the patch with
/// [`Patch::states`](super::Patch::states)`(&[STATE.desc()])`. The data is a
/// `KBox<T>` owned by the state: a patch that takes a state over from the one
/// it replaces takes over its data too, so every patch that uses a given id
/// must use the same `T` for it (the core's version rules are the contract:
/// a compatible version means the same data layout).
pub struct State<T> {
    desc: StateDesc,
    _data: PhantomData<KBox<T>>,
}

impl<T: Send + Sync> State<T> {
    /// The state `id` (non-zero) at `version`.
    pub const fn new(id: usize, version: u32) -> Self {
        Self {
            desc: StateDesc { id, version },
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
        // SAFETY: `patch` is this module's registered patch.
        let raw = unsafe { bindings::klp_get_state(patch, self.desc.id) };
        StateRef::new(raw)
    }

    /// The state as set up by the patches this one replaces, if any did.
    ///
    /// Meaningful while this patch is being enabled (in `pre_patch` and
    /// `post_patch`), before the replaced patches are gone.
    pub fn prev(&self) -> Option<StateRef<'_, T>> {
        // SAFETY: plain lookup among the registered patches.
        let raw = unsafe { bindings::klp_get_prev_state(self.desc.id) };
        StateRef::new(raw)
    }

    /// Sets this patch's state data. Callbacks only (they run one at a time,
    /// so nothing reads the data while it changes). Returns the old data.
    pub fn set_data(&self, _cb: &CallbackObject<'_>, data: KBox<T>) -> Option<KBox<T>> {
        let state = self.get()?;
        let old = state.take_raw();
        // SAFETY: `state.raw` is valid (see `StateRef`); callbacks are serialised.
        unsafe { (*state.raw).data = KBox::into_raw(data).cast() };
        old
    }

    /// Takes this patch's state data away. Callbacks only.
    pub fn take_data(&self, _cb: &CallbackObject<'_>) -> Option<KBox<T>> {
        self.get()?.take_raw()
    }

    /// Moves the data of the replaced patches' state (see [`State::prev`]) into
    /// this patch's state, and returns the version it had. Callbacks only,
    /// typically `pre_patch`; `None` if no replaced patch had this state.
    pub fn inherit(&self, cb: &CallbackObject<'_>) -> Option<u32> {
        let prev = self.prev()?;
        let version = prev.version();
        if let Some(data) = prev.take_raw() {
            self.set_data(cb, data);
        }
        Some(version)
    }
}

/// A registered patch's `struct klp_state`.
///
/// # Invariants
///
/// `raw` is a valid `klp_state` of a registered patch whose `data` is null or
/// a `KBox<T>` turned into a raw pointer.
pub struct StateRef<'a, T> {
    raw: *mut bindings::klp_state,
    _state: PhantomData<&'a State<T>>,
}

impl<T> StateRef<'_, T> {
    fn new(raw: *mut bindings::klp_state) -> Option<Self> {
        // INVARIANT: the core returns a state of a registered patch or null;
        // state data is only ever set by `State::set_data`, from a `KBox<T>`.
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

    /// The state's data, if set.
    pub fn data(&self) -> Option<&T> {
        // SAFETY: `raw` is valid and `data` is null or a `T` (type invariant).
        unsafe { (*self.raw).data.cast::<T>().as_ref() }
    }

    fn take_raw(&self) -> Option<KBox<T>> {
        // Callers are callbacks, which the core serialises.
        // SAFETY: `raw` is valid (type invariant).
        let data = unsafe { ptr::replace(ptr::addr_of_mut!((*self.raw).data), ptr::null_mut()) };
        (!data.is_null()).then(|| {
            // Non-null data is a `KBox<T>` made raw (type invariant).
            // SAFETY: it was just taken out of the state: no one else owns it.
            unsafe { KBox::from_raw(data.cast::<T>()) }
        })
    }
}

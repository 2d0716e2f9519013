// SPDX-License-Identifier: GPL-2.0

//! Callbacks the livepatch core runs around patching and unpatching an object.

use super::bindings;
use core::ffi::c_int;
use core::marker::PhantomData;
use kernel::prelude::*;
use kernel::str::CStr;

/// The state of a module when a callback runs for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleState {
    /// Fully loaded (`MODULE_STATE_LIVE`).
    Live,
    /// Being loaded: its init function has not run yet (`MODULE_STATE_COMING`).
    Coming,
    /// Being removed (`MODULE_STATE_GOING`).
    Going,
    /// Not yet set up (`MODULE_STATE_UNFORMED`).
    Unformed,
}

impl ModuleState {
    /// The name of the state as the kernel's C code spells it.
    #[inline]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "MODULE_STATE_LIVE",
            Self::Coming => "MODULE_STATE_COMING",
            Self::Going => "MODULE_STATE_GOING",
            Self::Unformed => "MODULE_STATE_UNFORMED",
        }
    }
}

/// Proof that an object has been unpatched: the transition that removed the
/// patch's replacement functions has finished, so no task runs them any more.
///
/// Only [`Callbacks::post_unpatch`] gets one, through
/// [`CallbackObject::unpatched`]. It lets a patch drop what its replacement
/// functions used, such as its shadow variables
/// ([`Shadow::detach_all`](super::Shadow::detach_all)).
pub struct Unpatched<'a> {
    _lifetime: PhantomData<&'a ()>,
}

/// Proof that the whole patch has been unpatched: the transition that
/// removed all of its replacement functions, for every object, has finished
/// (or never started), so no task runs any of them any more.
///
/// Only the vmlinux object's [`Callbacks::post_unpatch`] gets one, through
/// [`CallbackObject::patch_unpatched`]: the core calls it only at the end of
/// the patch's own unpatching transition (disabling, a reversed enabling, or
/// a cancelled one). A module object's `post_unpatch` also runs when that
/// module goes away while the patch stays enabled, so it proves less
/// ([`Unpatched`]). It lets a patch drop its [`State`](super::State) data
/// ([`State::take_data`](super::State::take_data)).
///
/// A forced transition (`/sys/kernel/livepatch/<patch>/force`) voids this
/// proof as it voids the core's own consistency model.
pub struct PatchUnpatched<'a> {
    _lifetime: PhantomData<&'a ()>,
}

/// Which of the four callbacks a [`CallbackObject`] was made for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackKind {
    PrePatch,
    PostPatch,
    PreUnpatch,
    PostUnpatch,
}

/// The object a callback runs for: vmlinux or a module.
///
/// Callbacks run one at a time, under the core's `klp_mutex`.
///
/// # Invariants
///
/// `ptr` is the `klp_object` the core passed to the callback, valid for the
/// duration of the callback (`'a`), which runs under `klp_mutex`.
pub struct CallbackObject<'a> {
    ptr: *mut bindings::klp_object,
    kind: CallbackKind,
    unpatched: Option<Unpatched<'a>>,
    patch_unpatched: Option<PatchUnpatched<'a>>,
    _lifetime: PhantomData<&'a bindings::klp_object>,
}

impl CallbackObject<'_> {
    /// The proof that the object is unpatched, in `post_unpatch` only.
    #[inline]
    pub fn unpatched(&self) -> Option<&Unpatched<'_>> {
        self.unpatched.as_ref()
    }

    /// The proof that the whole patch is unpatched, in the vmlinux object's
    /// `post_unpatch` only.
    #[inline]
    pub fn patch_unpatched(&self) -> Option<&PatchUnpatched<'_>> {
        self.patch_unpatched.as_ref()
    }

    /// Which callback this is.
    #[inline]
    pub(crate) fn kind(&self) -> CallbackKind {
        self.kind
    }

    /// Whether the patch of this module is the core's transition patch while
    /// this callback runs (`klp_transition_patch`), which the core's
    /// `klp_get_prev_state()` needs. True of every vmlinux callback: the core
    /// calls them only from the patch's own transitions (enabling, disabling,
    /// reversing, cancelling), whereas a module object's callbacks also run
    /// when that module comes or goes, outside any transition.
    #[inline]
    pub(crate) fn in_own_transition(&self) -> bool {
        self.is_vmlinux()
    }

    /// The module's name, or `None` for vmlinux.
    #[inline]
    pub fn name(&self) -> Option<&CStr> {
        // `name` is null or the static NUL-terminated name from the patch description.
        // SAFETY: `ptr` is valid (type invariant).
        let name = unsafe { (*self.ptr).name };
        if name.is_null() {
            None
        } else {
            // SAFETY: `name` is non-null and NUL-terminated (see above).
            Some(unsafe { CStr::from_char_ptr(name) })
        }
    }

    /// Whether this is the kernel image rather than a module.
    #[inline]
    pub fn is_vmlinux(&self) -> bool {
        self.name().is_none()
    }

    /// The state of the module, or `None` for vmlinux (or a module that is
    /// not loaded).
    #[inline]
    pub fn module_state(&self) -> Option<ModuleState> {
        // The core sets `mod` while the module is loaded, and callbacks run
        // under `klp_mutex`, so the module cannot go away during the callback.
        // SAFETY: `ptr` is valid (type invariant).
        let module = unsafe { (*self.ptr).mod_ };
        if module.is_null() {
            return None;
        }
        // SAFETY: `module` is non-null and valid (see above).
        let state = unsafe { (*module).state };
        Some(match state {
            bindings::module_state_MODULE_STATE_LIVE => ModuleState::Live,
            bindings::module_state_MODULE_STATE_COMING => ModuleState::Coming,
            bindings::module_state_MODULE_STATE_GOING => ModuleState::Going,
            _ => ModuleState::Unformed,
        })
    }
}

/// Callbacks for one object of a patch, as a type with associated functions.
///
/// Every function has an empty default, so implement only those you need.
/// They run in process context under the core's `klp_mutex`, for vmlinux
/// when the patch is enabled or disabled, and for a module object also when
/// that module is loaded or removed while the patch is enabled. With atomic
/// replace, only the callbacks of the newest patch run: the replaced patches'
/// `pre_unpatch` and `post_unpatch` are skipped.
///
/// # Examples
///
/// ```ignore
/// struct Hooks;
///
/// impl klp::Callbacks for Hooks {
///     fn pre_patch(obj: &klp::CallbackObject<'_>) -> Result {
///         pr_info!("about to patch {:?}\n", obj.name());
///         Ok(())
///     }
/// }
///
/// static PATCH: Patch = Patch::new(&[Object::vmlinux(&FUNCS).callbacks::<Hooks>()]);
/// ```
pub trait Callbacks {
    /// Runs before the object is patched. An error stops it from being
    /// patched: enabling the patch fails, or for a module loaded later, that
    /// module fails to load.
    fn pre_patch(_obj: &CallbackObject<'_>) -> Result {
        Ok(())
    }

    /// Runs after the object is patched and the transition has finished.
    fn post_patch(_obj: &CallbackObject<'_>) {}

    /// Runs before the object is unpatched.
    fn pre_unpatch(_obj: &CallbackObject<'_>) {}

    /// Runs after the object is unpatched and the transition has finished.
    /// Also runs when a transition is reverted, and after a failed
    /// `pre_patch` of another object (only for objects whose `pre_patch`
    /// succeeded).
    fn post_unpatch(_obj: &CallbackObject<'_>) {}
}

/// The C trampolines of one [`Callbacks`] implementation, for `klp_callbacks`.
#[derive(Clone, Copy)]
pub struct CallbackTable {
    pre_patch: unsafe extern "C" fn(*mut bindings::klp_object) -> c_int,
    post_patch: unsafe extern "C" fn(*mut bindings::klp_object),
    pre_unpatch: unsafe extern "C" fn(*mut bindings::klp_object),
    post_unpatch: unsafe extern "C" fn(*mut bindings::klp_object),
}

impl CallbackTable {
    /// The trampolines that call `C`'s functions.
    pub const fn of<C: Callbacks>() -> Self {
        Self {
            pre_patch: pre_patch_trampoline::<C>,
            post_patch: post_patch_trampoline::<C>,
            pre_unpatch: pre_unpatch_trampoline::<C>,
            post_unpatch: post_unpatch_trampoline::<C>,
        }
    }

    /// The `struct klp_callbacks` for the C side.
    #[inline]
    pub(crate) fn to_raw(self) -> bindings::klp_callbacks {
        bindings::klp_callbacks {
            pre_patch: Some(self.pre_patch),
            post_patch: Some(self.post_patch),
            pre_unpatch: Some(self.pre_unpatch),
            post_unpatch: Some(self.post_unpatch),
            post_unpatch_enabled: false,
        }
    }
}

/// # Safety
///
/// `obj` must be the valid `klp_object` the core passes to the `kind`
/// callback, called by the core for it.
#[inline]
unsafe fn callback_object<'a>(
    obj: *mut bindings::klp_object,
    kind: CallbackKind,
) -> CallbackObject<'a> {
    let unpatched = kind == CallbackKind::PostUnpatch;
    // INVARIANT: the caller guarantees `obj` is valid for the callback.
    let obj = CallbackObject {
        ptr: obj,
        kind,
        unpatched: unpatched.then_some(Unpatched {
            _lifetime: PhantomData,
        }),
        patch_unpatched: None,
        _lifetime: PhantomData,
    };
    // The core calls the vmlinux object's `post_unpatch` only from
    // `klp_complete_transition()` at the end of an unpatching transition of
    // this patch (after `klp_unpatch_objects()` and a synchronisation), and
    // a vmlinux object is never unpatched on its own (only modules go away).
    CallbackObject {
        patch_unpatched: (unpatched && obj.is_vmlinux()).then_some(PatchUnpatched {
            _lifetime: PhantomData,
        }),
        ..obj
    }
}

/// # Safety
///
/// Called by the core only, with a valid `klp_object`.
unsafe extern "C" fn pre_patch_trampoline<C: Callbacks>(obj: *mut bindings::klp_object) -> c_int {
    // SAFETY: the core passes a valid object for the callback's duration.
    let obj = unsafe { callback_object(obj, CallbackKind::PrePatch) };
    match C::pre_patch(&obj) {
        Ok(()) => 0,
        Err(err) => err.to_errno(),
    }
}

/// # Safety
///
/// Called by the core only, with a valid `klp_object`.
unsafe extern "C" fn post_patch_trampoline<C: Callbacks>(obj: *mut bindings::klp_object) {
    // SAFETY: the core passes a valid object for the callback's duration.
    C::post_patch(&unsafe { callback_object(obj, CallbackKind::PostPatch) });
}

/// # Safety
///
/// Called by the core only, with a valid `klp_object`.
unsafe extern "C" fn pre_unpatch_trampoline<C: Callbacks>(obj: *mut bindings::klp_object) {
    // SAFETY: the core passes a valid object for the callback's duration.
    C::pre_unpatch(&unsafe { callback_object(obj, CallbackKind::PreUnpatch) });
}

/// # Safety
///
/// Called by the core only, with a valid `klp_object`.
unsafe extern "C" fn post_unpatch_trampoline<C: Callbacks>(obj: *mut bindings::klp_object) {
    // The core calls `post_unpatch` once the unpatching transition has finished.
    // SAFETY: the core passes a valid object for the callback's duration.
    C::post_unpatch(&unsafe { callback_object(obj, CallbackKind::PostUnpatch) });
}

// SPDX-License-Identifier: GPL-2.0

//! Callbacks the livepatch core runs around patching and unpatching an object.

use super::bindings;
use super::registration;
use core::ffi::c_int;
use core::marker::PhantomData;
use core::ptr;
use kernel::error::VTABLE_DEFAULT_ERROR;
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

/// Proof that the whole patch has been unpatched: the transition that
/// removed the patch's replacement functions, in every object, has finished,
/// so no task runs them any more (unless the transition was forced, which
/// the core never lets a patch module recover from: its module can no
/// longer be removed).
///
/// Only [`Callbacks::post_unpatch`] gets one, through
/// [`CallbackObject::unpatched`], and only when the patch is disabled (or
/// its enabling undone): not when `post_unpatch` runs for a module object
/// because that module is being removed, or failed to be patched while
/// loading, while the rest of the patch stays enabled. It lets a patch drop
/// what its replacement functions used, such as its shadow variables
/// ([`Shadow::detach_all`](super::Shadow::detach_all)) and its state data
/// ([`State::take_data`](super::State::take_data)).
pub struct Unpatched<'a> {
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
    _lifetime: PhantomData<&'a bindings::klp_object>,
}

impl CallbackObject<'_> {
    /// The proof that the patch is unpatched, in `post_unpatch` only, and
    /// only when the patch was disabled (see [`Unpatched`]).
    #[inline]
    pub fn unpatched(&self) -> Option<&Unpatched<'_>> {
        self.unpatched.as_ref()
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
        // SAFETY: `name` is null or the static NUL-terminated name from the patch description.
        // `ptr` is valid (type invariant).
        let name = unsafe { (*self.ptr).name };
        if name.is_null() {
            None
        } else {
            // SAFETY: `name` is non-null and NUL-terminated (see above).
            Some(unsafe { CStr::from_char_ptr(name) })
        }
    }

    /// Whether the core has patched this object's functions (the C
    /// `obj->patched`): true from `post_patch` until `post_unpatch`, false
    /// around them, and in `pre_patch`.
    #[inline]
    pub fn patched(&self) -> bool {
        // SAFETY: `patched` is written by the core under `klp_mutex`, which the
        // callback runs under.
        // `ptr` is valid for the callback (type invariant), and the
        // read races with no write (see above).
        unsafe { (*self.ptr).patched }
    }

    /// The name of the module as the module loader knows it (the C
    /// `obj->mod->name`), or `None` for vmlinux or a module that is not
    /// loaded. It is the object's [`name`](Self::name) while the module is
    /// there.
    #[inline]
    pub fn module_name(&self) -> Option<&CStr> {
        // SAFETY: The core sets `mod` while the module is loaded and clears it only
        // under `klp_mutex`, which the callback runs under, so the module
        // and its name stay while the callback runs.
        // `ptr` is valid for the callback (type invariant).
        let module = unsafe { (*self.ptr).mod_ };
        if module.is_null() {
            return None;
        }
        // SAFETY: `name` is an array of `MODULE_NAME_LEN` bytes in the module,
        // NUL-terminated by the loader, valid while the module is (above).
        // `module` is non-null and valid (see above), and its name
        // is a NUL-terminated string that outlives the returned reference.
        Some(unsafe { CStr::from_char_ptr((*module).name.as_ptr()) })
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
        // SAFETY: The core sets `mod` while the module is loaded, and callbacks run
        // under `klp_mutex`, so the module cannot go away during the callback.
        // `ptr` is valid (type invariant).
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
/// Implement only those you need, in an `impl` marked `#[vtable]` (from the
/// kernel's prelude): the core gets a C function for each one implemented,
/// and `NULL` for the others, as a C live patch's `struct klp_callbacks`
/// has. They run in process context under the core's `klp_mutex`, for
/// vmlinux when the patch is enabled or disabled, and for a module object
/// also when that module is loaded or removed while the patch is enabled.
/// With atomic replace, only the callbacks of the newest patch run: the
/// replaced patches' `pre_unpatch` and `post_unpatch` are skipped.
///
/// # Examples
///
/// ```ignore
/// struct Hooks;
///
/// #[vtable]
/// impl klp::Callbacks for Hooks {
///     fn pre_patch(obj: &klp::CallbackObject<'_>) -> Result {
///         pr_info!("about to patch {:?}\n", obj.name());
///         Ok(())
///     }
/// }
///
/// static PATCH: Patch = Patch::new(&[Object::vmlinux(&FUNCS).callbacks::<Hooks>()]);
/// ```
#[vtable]
pub trait Callbacks {
    /// Runs before the object is patched. An error stops it from being
    /// patched: enabling the patch fails, or for a module loaded later, that
    /// module fails to load.
    fn pre_patch(_obj: &CallbackObject<'_>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Runs after the object is patched and the transition has finished.
    fn post_patch(_obj: &CallbackObject<'_>) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Runs before the object is unpatched.
    fn pre_unpatch(_obj: &CallbackObject<'_>) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Runs after the object is unpatched and the transition has finished.
    /// Also runs when a transition is reverted, and after a failed
    /// `pre_patch` of another object (only for objects whose `pre_patch`
    /// succeeded). For a module object it also runs when that module is
    /// removed, or fails to be patched while loading, with the patch still
    /// enabled: then [`CallbackObject::unpatched`] is `None`.
    fn post_unpatch(_obj: &CallbackObject<'_>) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The C functions of one [`Callbacks`] implementation, for
/// `klp_callbacks`: a trampoline for each callback it implements, `None`
/// (`NULL`) for the others.
#[derive(Clone, Copy)]
pub struct CallbackTable {
    pre_patch: Option<unsafe extern "C" fn(*mut bindings::klp_object) -> c_int>,
    post_patch: Option<unsafe extern "C" fn(*mut bindings::klp_object)>,
    pre_unpatch: Option<unsafe extern "C" fn(*mut bindings::klp_object)>,
    post_unpatch: Option<unsafe extern "C" fn(*mut bindings::klp_object)>,
}

impl CallbackTable {
    /// The trampolines of the callbacks `C` implements.
    pub const fn of<C: Callbacks>() -> Self {
        Self {
            pre_patch: if C::HAS_PRE_PATCH {
                Some(pre_patch_trampoline::<C>)
            } else {
                None
            },
            post_patch: if C::HAS_POST_PATCH {
                Some(post_patch_trampoline::<C>)
            } else {
                None
            },
            pre_unpatch: if C::HAS_PRE_UNPATCH {
                Some(pre_unpatch_trampoline::<C>)
            } else {
                None
            },
            post_unpatch: if C::HAS_POST_UNPATCH {
                Some(post_unpatch_trampoline::<C>)
            } else {
                None
            },
        }
    }

    /// Whether it has no callback at all (an `impl` with none).
    pub(crate) const fn is_empty(&self) -> bool {
        self.pre_patch.is_none()
            && self.post_patch.is_none()
            && self.pre_unpatch.is_none()
            && self.post_unpatch.is_none()
    }

    /// The `struct klp_callbacks` for the C side.
    #[inline]
    pub(crate) fn to_raw(self) -> bindings::klp_callbacks {
        bindings::klp_callbacks {
            pre_patch: self.pre_patch,
            post_patch: self.post_patch,
            pre_unpatch: self.pre_unpatch,
            post_unpatch: self.post_unpatch,
            post_unpatch_enabled: false,
        }
    }
}

/// # Safety
///
/// `obj` must be the valid `klp_object` the core passes to the `kind`
/// callback, called by the core for it, and `unpatched` true only in
/// `post_unpatch` when [`finished_unpatching`] says so.
#[inline]
unsafe fn callback_object<'a>(
    obj: *mut bindings::klp_object,
    kind: CallbackKind,
    unpatched: bool,
) -> CallbackObject<'a> {
    // INVARIANT: the caller guarantees `obj` is valid for the callback; an
    // `Unpatched` is made only when the caller says the whole patch has been
    // unpatched (`finished_unpatching`).
    CallbackObject {
        ptr: obj,
        kind,
        unpatched: unpatched.then_some(Unpatched {
            _lifetime: PhantomData,
        }),
        _lifetime: PhantomData,
    }
}

/// # Safety
///
/// Called by the core only, with a valid `klp_object`.
unsafe extern "C" fn pre_patch_trampoline<C: Callbacks>(obj: *mut bindings::klp_object) -> c_int {
    // SAFETY: the core passes a valid object for the callback's duration.
    let obj = unsafe { callback_object(obj, CallbackKind::PrePatch, false) };
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
    C::post_patch(&unsafe { callback_object(obj, CallbackKind::PostPatch, false) });
}

/// # Safety
///
/// Called by the core only, with a valid `klp_object`.
unsafe extern "C" fn pre_unpatch_trampoline<C: Callbacks>(obj: *mut bindings::klp_object) {
    // SAFETY: the core passes a valid object for the callback's duration.
    C::pre_unpatch(&unsafe { callback_object(obj, CallbackKind::PreUnpatch, false) });
}

/// Whether `post_unpatch` of `obj` runs because the whole patch has been
/// unpatched, as [`Unpatched`] promises.
///
/// The core (`kernel/livepatch/`, as of Linux 6.12) calls
/// `post_unpatch` (through `klp_post_unpatch_callback()`, always under
/// `klp_mutex`) from three places:
///
/// 1. `klp_complete_transition()` with the target `KLP_TRANSITION_UNPATCHED`,
///    for every loaded object of the patch: the disabling transition has
///    finished, or an enabling one was reversed (`klp_reverse_transition()`
///    flips `patch->enabled` to false) or cancelled before it started
///    (`klp_cancel_transition()`, from `__klp_enable_patch()`, before
///    `patch->enabled` is set). `__klp_disable_patch()` cleared
///    `patch->enabled` when it started the transition, so `enabled` is false
///    in all three. This is the only call for a vmlinux object.
/// 2. `klp_cleanup_module_patches_limited()`, for a module object only,
///    from `klp_module_going()` (which returns early unless `mod->state` is
///    `MODULE_STATE_GOING` or `MODULE_STATE_COMING`) and from the error path
///    of `klp_module_coming()` (`MODULE_STATE_COMING`): that module's
///    functions are unpatched, but the rest of the patch may stay enabled.
/// 3. `klp_module_coming()` when `klp_patch_object()` fails, for the
///    loading module's object (`MODULE_STATE_COMING`), likewise.
///
/// In 2 and 3 the module is being removed or has not finished loading, and
/// does not become `MODULE_STATE_LIVE` while the callback runs (a removed
/// module never does; a module whose loading fails never does). So: a
/// vmlinux object can only be case 1; a module object whose module is
/// `MODULE_STATE_LIVE` is not case 2 or 3, hence case 1. Case 1 for a module
/// that is still loading or already being removed is refused too: a proof
/// missing is never unsound. `patch->enabled` being false is checked as
/// well, on the patch this module registered (`current_patch()`, set before
/// `klp_enable_patch()` and cleared only after the core let the patch go;
/// `obj` is one of its objects, since the trampolines are only installed in
/// this module's objects and a module registers one patch).
///
/// # Safety
///
/// `obj` must be the valid `klp_object` the core passes to `post_unpatch`,
/// which runs under `klp_mutex`.
unsafe fn finished_unpatching(obj: *mut bindings::klp_object) -> bool {
    let Some(patch) = registration::current_patch() else {
        return false;
    };
    // SAFETY: `patch` is this module's registered patch, alive while it is current,
    // and `enabled` is written by the core only under `klp_mutex`, which the
    // caller holds.
    // `patch` points to a valid `klp_patch`; the read races with no write.
    if unsafe { (*patch).enabled } {
        return false;
    }
    // SAFETY: the caller guarantees `obj` is valid for the callback.
    let (name, module) = unsafe { ((*obj).name, (*obj).mod_) };
    if name.is_null() {
        // vmlinux: only case 1 above.
        return true;
    }
    if module.is_null() {
        return false;
    }
    // SAFETY: The core set `mod` while the module is loaded, and clears it only
    // under `klp_mutex`, which the caller holds: the module is not freed
    // during the callback. Its state may be changed concurrently by the
    // module loader (`LIVE` to `GOING` by `delete_module()`), hence the
    // volatile read; in cases 2 and 3 it is never `LIVE`.
    // `module` is valid (see above) and the read is of one aligned `int`.
    let state = unsafe { ptr::read_volatile(ptr::addr_of!((*module).state)) };
    state == bindings::module_state_MODULE_STATE_LIVE
}

/// # Safety
///
/// Called by the core only, as `post_unpatch`, with a valid `klp_object`.
unsafe extern "C" fn post_unpatch_trampoline<C: Callbacks>(obj: *mut bindings::klp_object) {
    // SAFETY: the core calls `post_unpatch` with a valid object, under `klp_mutex`.
    let unpatched = unsafe { finished_unpatching(obj) };
    // SAFETY: `unpatched` is true only when the whole patch has been unpatched
    // (`finished_unpatching`), which is what `Unpatched` promises.
    // the core passes a valid object for the callback's duration.
    C::post_unpatch(&unsafe { callback_object(obj, CallbackKind::PostUnpatch, unpatched) });
}

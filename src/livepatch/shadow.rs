// SPDX-License-Identifier: GPL-2.0

//! Shadow variables: data a patch attaches to existing kernel objects.
//!
//! A live patch cannot add fields to a structure the kernel already has in
//! memory. Shadow variables, kept by the core in a hash table keyed by
//! `<object address, id>`, stand in for those fields. [`Shadow`] is the typed
//! view of one id: values of one Rust type `T` attached to objects of one type
//! `O`.

use super::bindings;
use super::callbacks::Unpatched;
use core::ffi::{c_int, c_void};
use core::marker::PhantomData;
use core::ptr;
use kernel::alloc::{flags, Flags};
use kernel::error::code::{EEXIST, EINVAL, ENOMEM};
use kernel::prelude::*;

/// Shadow variables of type `T` attached to objects of type `O` under one id.
///
/// Declare one as a `static` per id. The core gives shadow data the
/// alignment of `kmalloc()`, so `T` may need at most 8-byte alignment; this is
/// checked at compile time. References handed out by [`Shadow::get`] live as
/// long as the borrow of the object they belong to, so a value is shared
/// (`T: Sync`) and changed through interior mutability (atomics, locks).
///
/// A value is dropped by [`Shadow::detach`] and [`Shadow::detach_all`]
/// inside the core's destructor callback, which runs with the core's shadow
/// spinlock held and interrupts off: `T`'s `Drop` must not sleep (no
/// `msleep()`, no mutex, no `GFP_KERNEL` allocation).
///
/// # Examples
///
/// ```ignore
/// static IN_FLIGHT: Shadow<bindings::request_queue, AtomicU32> = Shadow::new(0x1001);
///
/// let count = IN_FLIGHT.get_or_attach(queue, GFP_ATOMIC, || Ok(AtomicU32::new(0)))?;
/// count.fetch_add(1, Ordering::Relaxed);
/// ```
pub struct Shadow<O, T> {
    id: usize,
    _types: PhantomData<(fn(&O), T)>,
}

// SAFETY: a `Shadow` holds only its id; the values are reached through the
// core's hash table under its lock, and `T: Send + Sync` is required to create
// or access them.
unsafe impl<O, T> Sync for Shadow<O, T> {}

/// What the constructor trampoline needs: the value's initialiser, and where
/// to leave its error.
struct Constructor<F> {
    init: Option<F>,
    error: Option<Error>,
}

impl<O, T: Send + Sync> Shadow<O, T> {
    const ALIGNMENT_FITS_KMALLOC: () = assert!(core::mem::align_of::<T>() <= 8);

    /// Shadow variables with the given id. Ids are global to the kernel: pick
    /// ones no other patch uses, unless it is a patch meant to share them (a
    /// cumulative patch taking over from an earlier one).
    pub const fn new(id: usize) -> Self {
        Self {
            id,
            _types: PhantomData,
        }
    }

    /// The id.
    pub const fn id(&self) -> usize {
        self.id
    }

    /// The value attached to `obj`, if any.
    pub fn get<'a>(&self, obj: &'a O) -> Option<&'a T> {
        // SAFETY: `klp_shadow_get` only compares the address to its keys.
        let data = unsafe { bindings::klp_shadow_get(key(obj), self.id) };
        // A non-null result is the data of a shadow variable with this id,
        // which only this type creates, as a `T`; it stays until detached,
        // which callers of `detach` promise not to do while it is in use.
        // SAFETY: the data is null or a live, initialised `T`.
        unsafe { data.cast::<T>().as_ref() }
    }

    /// Attaches a new value made by `init` to `obj`.
    ///
    /// Fails with `EEXIST` if `obj` already has one, `ENOMEM` if the memory
    /// could not be allocated, or the error of `init`. `init` runs with the
    /// core's shadow spinlock held and interrupts off: it must not sleep.
    /// The `EEXIST` check is a look-up before the core's get-or-attach:
    /// when two tasks attach to the same object at once, both may pass it,
    /// and the second then gets the first one's value rather than `EEXIST`.
    /// `flags` are for the allocation: `GFP_KERNEL`, `GFP_ATOMIC` or
    /// `GFP_NOWAIT`.
    pub fn attach<'a>(
        &self,
        obj: &'a O,
        flags: Flags,
        init: impl FnOnce() -> Result<T>,
    ) -> Result<&'a T> {
        if self.get(obj).is_some() {
            return Err(EEXIST);
        }
        self.get_or_attach(obj, flags, init)
    }

    /// The value attached to `obj`, or a new one made by `init` if there is
    /// none. See [`Shadow::attach`] for `flags` and `init`.
    pub fn get_or_attach<'a, F: FnOnce() -> Result<T>>(
        &self,
        obj: &'a O,
        flags: Flags,
        init: F,
    ) -> Result<&'a T> {
        #[allow(clippy::let_unit_value)]
        let () = Self::ALIGNMENT_FITS_KMALLOC;
        let mut ctor = Constructor {
            init: Some(init),
            error: None,
        };
        // The constructor writes a `T` into the data and finds the
        // `Constructor` through `ctor_data`, which outlives the call.
        // SAFETY: the size is `T`'s and `construct` matches `ctor_data`.
        let data = unsafe {
            bindings::klp_shadow_get_or_alloc(
                key(obj),
                self.id,
                core::mem::size_of::<T>(),
                raw_gfp(flags)?,
                Some(construct::<T, F>),
                ptr::addr_of_mut!(ctor).cast(),
            )
        };
        if let Some(err) = ctor.error {
            return Err(err);
        }
        // SAFETY: as in `get`: non-null data of this id holds an initialised `T`.
        unsafe { data.cast::<T>().as_ref() }.ok_or(ENOMEM)
    }

    /// Detaches and drops the value attached to `obj`, if any.
    ///
    /// # Safety
    ///
    /// No reference to that value (from [`Shadow::get`] and friends) may be in
    /// use, now or later: typically it is called where `obj` itself is freed.
    pub unsafe fn detach(&self, obj: &O) {
        // The destructor drops the `T` this type put there.
        // SAFETY: the caller guarantees no reference to it is in use.
        unsafe { bindings::klp_shadow_free(key(obj), self.id, Some(destruct::<T>)) };
    }

    /// Detaches and drops the values attached to every object under this id.
    ///
    /// Takes the proof that the patch has been unpatched (given to
    /// [`Callbacks::post_unpatch`](super::Callbacks::post_unpatch)): no task
    /// runs this module's replacement functions any more, so none of them
    /// holds a reference. Values a still-enabled patch shares under the same
    /// id are the concern of the patch author, as in C.
    pub fn detach_all(&self, _unpatched: &Unpatched<'_>) {
        // SAFETY: see above; no reference obtained in this module is in use.
        unsafe { self.detach_all_unchecked() };
    }

    /// Like [`Shadow::detach_all`], without the proof.
    ///
    /// # Safety
    ///
    /// No reference to any value of this id may be in use, now or later.
    pub unsafe fn detach_all_unchecked(&self) {
        // The destructor drops the `T`s this type put there.
        // SAFETY: the caller guarantees no reference to them is in use.
        unsafe { bindings::klp_shadow_free_all(self.id, Some(destruct::<T>)) };
    }
}

/// The address of `obj`, as the core's key.
fn key<O>(obj: &O) -> *mut c_void {
    ptr::from_ref(obj).cast_mut().cast()
}

/// The C flags for an allocation, for the few `Flags` values that make sense here.
#[inline]
fn raw_gfp(gfp: Flags) -> Result<bindings::gfp_t> {
    if gfp == flags::GFP_KERNEL {
        Ok(bindings::GFP_KERNEL)
    } else if gfp == flags::GFP_ATOMIC {
        Ok(bindings::GFP_ATOMIC)
    } else if gfp == flags::GFP_NOWAIT {
        Ok(bindings::GFP_NOWAIT)
    } else {
        Err(EINVAL)
    }
}

/// # Safety
///
/// Called by the core only, with `shadow_data` room for a `T` and `ctor_data`
/// the `Constructor<F>` passed to `klp_shadow_get_or_alloc`.
unsafe extern "C" fn construct<T, F: FnOnce() -> Result<T>>(
    _obj: *mut c_void,
    shadow_data: *mut c_void,
    ctor_data: *mut c_void,
) -> c_int {
    // Nothing else accesses the `Constructor<F>` during the call.
    // SAFETY: `ctor_data` is the caller's `Constructor<F>`.
    let ctor = unsafe { &mut *ctor_data.cast::<Constructor<F>>() };
    let result = match ctor.init.take() {
        Some(init) => init(),
        None => Err(EINVAL),
    };
    match result {
        Ok(value) => {
            // `ALIGNMENT_FITS_KMALLOC` checked that kmalloc alignment suffices.
            // SAFETY: `shadow_data` is fresh, zeroed room for a `T`.
            unsafe { ptr::write(shadow_data.cast::<T>(), value) };
            0
        }
        Err(err) => {
            ctor.error = Some(err);
            err.to_errno()
        }
    }
}

/// # Safety
///
/// Called by the core only, with the data of a shadow variable that
/// `construct::<T, _>` initialised, which is freed right after.
unsafe extern "C" fn destruct<T>(_obj: *mut c_void, shadow_data: *mut c_void) {
    // SAFETY: the data holds a `T` (see above) that nothing uses any more.
    unsafe { ptr::drop_in_place(shadow_data.cast::<T>()) };
}

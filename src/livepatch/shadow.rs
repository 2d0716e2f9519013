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
use super::global_data::GlobalData;
use core::ffi::{c_int, c_void};
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::alloc::{flags, Flags};
use kernel::error::code::{EBUSY, EEXIST, EINVAL, ENOENT, ENOMEM};
use kernel::prelude::*;

/// Shadow variables of type `T` attached to objects of type `O` under one id.
///
/// Declare one as a `static` per id (see [`Shadow::new`] for what the id
/// must not share). The core gives shadow data the alignment of `kmalloc()`,
/// so `T` may need at most 8-byte alignment; this is checked at compile time.
/// `T` is [`GlobalData`]: the values outlive the module that attached them.
///
/// Values are reached through a [`ShadowRef`], which [`Shadow::get`] and
/// friends return: it dereferences to the `T`, which is shared (`T: Sync`)
/// and changed through interior mutability (atomics). While any `ShadowRef`
/// of this `Shadow` is alive, [`Shadow::detach_all`] frees nothing, so safe
/// code cannot reach a freed value, however long it keeps a `ShadowRef`.
///
/// The cost of that count: every `get`, `attach` and `get_or_attach`, and
/// every drop of a `ShadowRef`, is one sequentially consistent atomic
/// read-modify-write of a counter shared by all CPUs (a `lock xadd` on x86),
/// plus a load; on a hot path that many CPUs take at once, the counter's cache line
/// moves between them. Once [`Shadow::detach_all`] has run, the `Shadow` is
/// closed for good: `get` finds nothing and `attach` fails with `ENOENT`.
///
/// A value is dropped by [`Shadow::detach`] and [`Shadow::detach_all`]
/// inside the core's destructor callback, which runs with the core's shadow
/// spinlock held and interrupts off: `T`'s `Drop` must not sleep (no
/// `msleep()`, no mutex, no `GFP_KERNEL` allocation).
///
/// # Examples
///
/// ```ignore
/// // SAFETY: no other module uses id 0x1001, with another type or at all.
/// static IN_FLIGHT: Shadow<bindings::request_queue, AtomicU32> = unsafe { Shadow::new(0x1001) };
///
/// let count = IN_FLIGHT.get_or_attach(queue, GFP_ATOMIC, || Ok(AtomicU32::new(0)))?;
/// count.fetch_add(1, Ordering::Relaxed);
/// ```
///
/// # Invariants
///
/// - Every value in the core's table under `id` was made by a `Shadow` of
///   this id and this `T` (this one, or one of another module: the contract
///   of [`Shadow::new`]), so it is an initialised `T`.
/// - `refs` counts the live [`ShadowRef`]s (and [`Counted`]s) made from this
///   `Shadow`; once `closed` is set, no new one reaches a value.
pub struct Shadow<O, T: GlobalData> {
    id: usize,
    refs: AtomicUsize,
    closed: AtomicBool,
    _types: PhantomData<(fn(&O), T)>,
}

// SAFETY: a `Shadow` holds its id and two atomics; the values are reached
// through the core's hash table under its lock, and `T: Send + Sync` is
// required to create or access them.
unsafe impl<O, T: GlobalData> Sync for Shadow<O, T> {}

/// What the constructor trampoline needs: the value's initialiser, and where
/// to leave its error.
struct Constructor<F> {
    init: Option<F>,
    error: Option<Error>,
}

/// One reference counted in a [`Shadow`]'s `refs`, given back when dropped.
struct Counted<'a> {
    refs: &'a AtomicUsize,
}

impl Drop for Counted<'_> {
    #[inline]
    fn drop(&mut self) {
        // SeqCst, so that `detach_all`'s load of the count that sees this
        // decrement also sees (synchronises with) every use of the value before it.
        self.refs.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A value attached to an object, from [`Shadow::get`], [`Shadow::attach`]
/// or [`Shadow::get_or_attach`]: dereferences to the `T`.
///
/// While it is alive, [`Shadow::detach_all`] of the `Shadow` it came from
/// frees nothing (it fails with `EBUSY`). It borrows the object, so it lasts
/// at most as long as that borrow; with a `&'static O`, it may be kept
/// anywhere (then `detach_all` keeps failing while it is kept).
///
/// # Invariants
///
/// `value` points to an initialised `T` in the core's table that is not
/// freed while `_count` is alive: it counts in the `Shadow`'s `refs`, which
/// `detach_all` reads as zero before it frees, and `detach`'s caller
/// promises not to detach this value while a reference to it is in use.
pub struct ShadowRef<'a, T> {
    value: NonNull<T>,
    _count: Counted<'a>,
    _borrow: PhantomData<&'a T>,
}

impl<T> Deref for ShadowRef<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: `value` points to an initialised `T` that stays while `self`
        // does (type invariant); it is only ever shared.
        unsafe { self.value.as_ref() }
    }
}

// SAFETY: a `ShadowRef` is a shared reference to a `T` plus a counter it
// decrements with an atomic operation: sending it is sending a `&T`, which
// is `Send` for `T: Sync`.
unsafe impl<T: Sync> Send for ShadowRef<'_, T> {}

// SAFETY: a shared `ShadowRef` gives only `&T`, which is `Sync` for `T: Sync`.
unsafe impl<T: Sync> Sync for ShadowRef<'_, T> {}

impl<O, T: GlobalData + Send + Sync> Shadow<O, T> {
    const ALIGNMENT_FITS_KMALLOC: () = assert!(core::mem::align_of::<T>() <= 8);

    /// Shadow variables with the given id.
    ///
    /// # Safety
    ///
    /// Ids are global to the kernel, and the core keys values by the id alone:
    ///
    /// - Any other module, Rust or C, that uses `id` stores values of this
    ///   same `T` (the same layout, meaning and drop) under it: it is
    ///   a patch meant to share them, such as a cumulative patch taking over
    ///   from this one or one this one takes over from. Otherwise one module
    ///   reads the other's values as the wrong type.
    /// - Such a module does not use a value while this one may free it, nor
    ///   frees one (its own `detach_all`, or C's `klp_shadow_free_all()`)
    ///   while this one may use it: the count that [`Shadow::detach_all`]
    ///   checks is this `Shadow`'s only. With atomic replace this holds when
    ///   the values are used only from replacement functions and callbacks:
    ///   the replaced patch's functions no longer run once the replacing
    ///   transition has finished, and its `post_unpatch` never runs. It does
    ///   not hold for two stacked patches that both use `id` and may be
    ///   disabled in either order.
    /// - The returned `Shadow` is the only one of `id` in this module, kept in a
    ///   `static` (not a `const`, each use of which makes a new `Shadow` with
    ///   its own count).
    ///
    /// That the values may outlive this module is `T`'s [`GlobalData`] bound.
    pub const unsafe fn new(id: usize) -> Self {
        // INVARIANT: no value has been made or reached through this `Shadow`
        // yet; the caller guarantees that the other `Shadow`s of `id` are of `T`.
        Self {
            id,
            refs: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            _types: PhantomData,
        }
    }

    /// The id.
    pub const fn id(&self) -> usize {
        self.id
    }

    /// Counts one more reference, unless the `Shadow` is closed.
    ///
    /// The increment comes before the check of `closed`, and `detach_all`
    /// sets `closed` before it reads the count, all `SeqCst`: in their
    /// single order either this check sees `closed`, or `detach_all`'s read
    /// sees this reference (Dekker's pattern).
    #[inline]
    fn enter(&self) -> Option<Counted<'_>> {
        let before = self.refs.fetch_add(1, Ordering::SeqCst);
        let count = Counted { refs: &self.refs };
        // The count must not wrap to zero (`mem::forget` of many
        // `ShadowRef`s): refuse well before.
        if before > isize::MAX as usize || self.closed.load(Ordering::SeqCst) {
            return None;
        }
        Some(count)
    }

    /// The value attached to `obj`, if any. `None` also once
    /// [`Shadow::detach_all`] has run.
    pub fn get<'a>(&'a self, obj: &'a O) -> Option<ShadowRef<'a, T>> {
        let count = self.enter()?;
        // SAFETY: `klp_shadow_get` only compares the address to its keys.
        let data = unsafe { bindings::klp_shadow_get(key(obj), self.id) };
        // INVARIANT: non-null data under this id is an initialised `T`
        // (invariant of `Shadow`), and `count` keeps `detach_all` from
        // freeing it; `detach`'s callers promise not to free it while in use.
        Some(ShadowRef {
            value: NonNull::new(data.cast::<T>())?,
            _count: count,
            _borrow: PhantomData,
        })
    }

    /// Attaches a new value made by `init` to `obj`.
    ///
    /// Fails with `EEXIST` if `obj` already has one, `ENOMEM` if the memory
    /// could not be allocated, `ENOENT` once [`Shadow::detach_all`] has run,
    /// or the error of `init`. `init` runs with the
    /// core's shadow spinlock held and interrupts off: it must not sleep.
    /// The `EEXIST` check is a look-up before the core's get-or-attach:
    /// when two tasks attach to the same object at once, both may pass it,
    /// and the second then gets the first one's value rather than `EEXIST`.
    /// `flags` are for the allocation: `GFP_KERNEL`, `GFP_ATOMIC` or
    /// `GFP_NOWAIT`.
    pub fn attach<'a>(
        &'a self,
        obj: &'a O,
        flags: Flags,
        init: impl FnOnce() -> Result<T>,
    ) -> Result<ShadowRef<'a, T>> {
        if self.get(obj).is_some() {
            return Err(EEXIST);
        }
        self.get_or_attach(obj, flags, init)
    }

    /// The value attached to `obj`, or a new one made by `init` if there is
    /// none. See [`Shadow::attach`] for `flags`, `init` and the errors.
    pub fn get_or_attach<'a, F: FnOnce() -> Result<T>>(
        &'a self,
        obj: &'a O,
        flags: Flags,
        init: F,
    ) -> Result<ShadowRef<'a, T>> {
        #[allow(clippy::let_unit_value)]
        let () = Self::ALIGNMENT_FITS_KMALLOC;
        let gfp = raw_gfp(flags)?;
        let count = self.enter().ok_or(ENOENT)?;
        let mut ctor = Constructor {
            init: Some(init),
            error: None,
        };
        // SAFETY: The constructor writes a `T` into the data and finds the
        // `Constructor` through `ctor_data`, which outlives the call.
        // the size is `T`'s and `construct` matches `ctor_data`.
        let data = unsafe {
            bindings::klp_shadow_get_or_alloc(
                key(obj),
                self.id,
                core::mem::size_of::<T>(),
                gfp,
                Some(construct::<T, F>),
                ptr::addr_of_mut!(ctor).cast(),
            )
        };
        if let Some(err) = ctor.error {
            return Err(err);
        }
        // INVARIANT: as in `get`: non-null data of this id holds an
        // initialised `T`, kept by `count`.
        Ok(ShadowRef {
            value: NonNull::new(data.cast::<T>()).ok_or(ENOMEM)?,
            _count: count,
            _borrow: PhantomData,
        })
    }

    /// Detaches and drops the value attached to `obj`, if any.
    ///
    /// # Safety
    ///
    /// No reference to that value may be in use, now or later: no
    /// [`ShadowRef`] to it is alive (from this module or another sharing the
    /// id), and none is made after, which holds where `obj` itself is freed
    /// and no one else can reach it any more.
    pub unsafe fn detach(&self, obj: &O) {
        // SAFETY: The destructor drops the `T` this type put there (type invariant).
        // the caller guarantees no reference to it is in use or will be.
        unsafe { bindings::klp_shadow_free(key(obj), self.id, Some(destruct::<T>)) };
    }

    /// Detaches and drops the values attached to every object under this id,
    /// and closes the `Shadow`: from then on `get` finds nothing and
    /// `attach` fails with `ENOENT`.
    ///
    /// Takes the proof that the patch has been unpatched (given to
    /// [`Callbacks::post_unpatch`](super::Callbacks::post_unpatch)), so
    /// that the replacement functions that used the values have stopped.
    ///
    /// If a [`ShadowRef`] of this `Shadow` is still alive (kept by code
    /// other than the replacement functions, or by a task still in one
    /// after a forced transition), it frees nothing, logs a warning and
    /// fails with `EBUSY`: the values then stay allocated (a leak, not a
    /// use after free). Calling it again once the references are gone frees
    /// them. A `get` that races with it and finds the `Shadow` closed can
    /// also make it fail with `EBUSY`.
    ///
    /// This frees the values of every module sharing the id; see the
    /// contract of [`Shadow::new`].
    pub fn detach_all(&self, _unpatched: &Unpatched<'_>) -> Result {
        self.closed.store(true, Ordering::SeqCst);
        let live = self.refs.load(Ordering::SeqCst);
        if live != 0 {
            pr_warn!(
                "klp-rs: shadow id {:#x}: {} reference(s) still in use, values not freed\n",
                self.id,
                live
            );
            return Err(EBUSY);
        }
        // SAFETY: `closed` was set before the count was read as zero, both SeqCst,
        // and `enter` increments before it checks `closed`, both SeqCst. In
        // the single order of those operations, a reference counted after
        // the read sees `closed` and gives up before reaching a value; one
        // counted before it was also given back before it (the count is
        // zero, and every decrement follows its increment), and its uses of
        // the value happen before the read, which synchronises with the
        // decrement (an RMW; every later change of the count is an RMW too,
        // so the value read is in its release sequence). Values of this id
        // shared with another module are not in use there (contract of
        // `new`).
        // no `ShadowRef` to a value of this id is alive, and none can be made.
        unsafe { bindings::klp_shadow_free_all(self.id, Some(destruct::<T>)) };
        Ok(())
    }

    /// Like [`Shadow::detach_all`], without the proof and without the count:
    /// it does not close the `Shadow` either.
    ///
    /// # Safety
    ///
    /// No reference to any value of this id may be in use, now or later: no
    /// [`ShadowRef`] of this `Shadow`, or of another module sharing the id,
    /// is alive, and none is made after the call to a value it frees.
    pub unsafe fn detach_all_unchecked(&self) {
        // SAFETY: The destructor drops the `T`s this type put there (type invariant).
        // the caller guarantees no reference to them is in use or will be.
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
    // SAFETY: Nothing else accesses the `Constructor<F>` during the call.
    // `ctor_data` is the caller's `Constructor<F>`.
    let ctor = unsafe { &mut *ctor_data.cast::<Constructor<F>>() };
    let result = match ctor.init.take() {
        Some(init) => init(),
        None => Err(EINVAL),
    };
    match result {
        Ok(value) => {
            // SAFETY: `ALIGNMENT_FITS_KMALLOC` checked that kmalloc alignment suffices.
            // `shadow_data` is fresh, zeroed room for a `T`.
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

// SPDX-License-Identifier: GPL-2.0

//! Delayed work items: C's `struct delayed_work` (`INIT_DELAYED_WORK()`,
//! `schedule_delayed_work()`, `cancel_delayed_work_sync()`), which Linux
//! 6.12's `kernel::workqueue` does not wrap.
//!
//! It follows the `kernel` crate's [`Work`](kernel::workqueue::Work) with
//! [`Arc`] pointers: a type embeds one [`DelayedWork`] field per delayed work
//! it runs (declared with [`impl_has_delayed_work!`]), implements
//! [`DelayedWorkItem`] for each, and lives in an [`Arc`]. A queued work holds a
//! reference to the value, handed back to [`DelayedWorkItem::run`] or dropped
//! by [`DelayedWork::cancel_sync`], so the value outlives its queued works.
//! A module must cancel its works before it goes away (their function is the
//! module's code).
//!
//! It uses only the `kernel` crate, so a module that is not a live patch can
//! mount it alone; the macros find it as `crate::klp::delayed_work`:
//!
//! ```ignore
//! #[path = "../../src/delayed_work.rs"]
//! pub mod delayed_work;
//!
//! mod klp {
//!     pub(crate) use super::delayed_work;
//! }
//! ```
//!
//! # Examples
//!
//! ```ignore
//! use klp::delayed_work::{DelayedWork, DelayedWorkItem};
//!
//! #[pin_data]
//! struct Ticker {
//!     #[pin]
//!     tick: DelayedWork<Ticker>,
//! }
//!
//! klp::impl_has_delayed_work! {
//!     impl HasDelayedWork<Self> for Ticker { self.tick }
//! }
//!
//! impl DelayedWorkItem for Ticker {
//!     fn run(this: Arc<Self>) {
//!         pr_info!("tick\n");
//!         // Again in a second; refused while the work is being cancelled.
//!         let _ = DelayedWork::<Self>::enqueue(this, 1000);
//!     }
//! }
//!
//! let ticker = Arc::pin_init(
//!     pin_init!(Ticker { tick <- klp::new_delayed_work!("Ticker::tick") }),
//!     GFP_KERNEL,
//! )?;
//! let _ = DelayedWork::<Ticker>::enqueue(ticker.clone(), 1000);
//! // ... and before the module goes:
//! ticker.tick.cancel_sync();
//! ```

use core::marker::PhantomData;
use core::ptr;
use kernel::bindings;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{Arc, LockClassKey};
use kernel::time::msecs_to_jiffies;
use kernel::types::Opaque;

use super::kernel::{char_ptr, opaque_ptr, system_percpu_raw, timer_init_key, StaticLockClassKey};

/// Creates a [`DelayedWork`] initialiser named `name`, with new lockdep
/// classes for its work and its timer (as C's `INIT_DELAYED_WORK()` does).
#[macro_export]
macro_rules! new_delayed_work {
    ($name:literal) => {
        $crate::klp::delayed_work::DelayedWork::new(
            ::kernel::c_str!($name),
            ::kernel::static_lock_class!(),
            ::kernel::c_str!(::core::concat!($name, ".timer")),
            ::kernel::static_lock_class!(),
        )
    };
}

/// What a delayed work does when its delay has passed.
///
/// `ID` tells apart the [`DelayedWork`] fields of one type, as in
/// [`HasDelayedWork`].
pub trait DelayedWorkItem<const ID: u64 = 0> {
    /// Runs the work, with the reference to the value that
    /// [`DelayedWork::enqueue`] gave the queue. It may queue the work again.
    fn run(this: Arc<Self>);
}

/// A C `struct delayed_work`: a work item and the timer that queues it, as a
/// field of a `T` that runs it ([`DelayedWorkItem<ID>`]).
///
/// # Invariants
///
/// `dwork` was initialised by [`DelayedWork::new`], with `run::<T, ID>` as
/// its function. Only [`DelayedWork::enqueue`] queues it, giving the queue a
/// reference (from [`Arc::into_raw`]) to the `T` whose
/// [`HasDelayedWork<T, ID>`] field it is; while the work is pending, the
/// queue owns that reference.
#[pin_data]
#[repr(transparent)]
pub struct DelayedWork<T: ?Sized, const ID: u64 = 0> {
    #[pin]
    dwork: Opaque<bindings::delayed_work>,
    _inner: PhantomData<T>,
}

// SAFETY: the workqueue functions, the only users of the `delayed_work`, may
// be called from any thread. The type does not hold a `T`; the `T`s it sends
// to the workqueue's threads are `Send + Sync` (required by `enqueue`).
unsafe impl<T: ?Sized, const ID: u64> Send for DelayedWork<T, ID> {}

// SAFETY: see `Send`; `&DelayedWork` only allows the workqueue functions,
// which synchronise themselves.
unsafe impl<T: ?Sized, const ID: u64> Sync for DelayedWork<T, ID> {}

/// `work` is the first field of a `delayed_work`, so a [`DelayedWork`] and its
/// `work_struct` have the same address.
const _: () = assert!(core::mem::offset_of!(bindings::delayed_work, work) == 0);

impl<T, const ID: u64> DelayedWork<T, ID>
where
    T: DelayedWorkItem<ID> + HasDelayedWork<T, ID> + Send + Sync,
{
    /// A delayed work, not queued. The names and keys are for lockdep; use
    /// [`new_delayed_work!`](crate::new_delayed_work), which makes them.
    pub fn new(
        work_name: &'static CStr,
        work_key: StaticLockClassKey,
        timer_name: &'static CStr,
        timer_key: StaticLockClassKey,
    ) -> impl PinInit<Self> {
        let (work_key, timer_key) = (raw_key(work_key), raw_key(timer_key));
        // INVARIANT: `dwork` is initialised below with `run::<T, ID>`.
        pin_init!(Self {
            dwork <- Opaque::ffi_init(move |slot: *mut bindings::delayed_work| {
                // SAFETY: These are the two steps of C's `INIT_DELAYED_WORK()`;
                // `run::<T, ID>` is a work function for this field (see
                // `run`), and the names and keys are static.
                // `slot` is valid for writes and pinned.
                unsafe {
                    bindings::init_work_with_key(
                        &raw mut (*slot).work,
                        Some(run::<T, ID>),
                        false,
                        char_ptr(work_name),
                        work_key,
                    );
                    timer_init_key(
                        &raw mut (*slot).timer,
                        Some(bindings::delayed_work_timer_fn),
                        bindings::TIMER_IRQSAFE,
                        char_ptr(timer_name),
                        timer_key,
                    );
                }
            }),
            _inner: PhantomData,
        })
    }

    /// Queues `this`'s work (its [`HasDelayedWork<T, ID>`] field) on the
    /// system workqueue, to run [`DelayedWorkItem::run`] in `msecs`
    /// milliseconds (C's `schedule_delayed_work()`).
    ///
    /// The queue keeps `this` until the work runs or is cancelled. If the work
    /// is already queued, or being cancelled by [`DelayedWork::cancel_sync`],
    /// nothing is queued and `this` is handed back.
    pub fn enqueue(this: Arc<T>, msecs: u32) -> Result<(), Arc<T>> {
        let ptr = Arc::into_raw(this).cast_mut();
        // SAFETY: `ptr` comes from `Arc::into_raw`, so it points to a live `T`.
        let field = unsafe { T::raw_get_work(ptr) };
        // SAFETY: both pointers are to initialised, live C objects: the
        // field is initialised (type invariant) and stays valid while queued
        // (the queue holds the reference given up above), and the per-CPU
        // system workqueue (where C's `schedule_delayed_work()` queues) is
        // set up at boot and never freed.
        let queued = unsafe {
            bindings::queue_delayed_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                system_percpu_raw(),
                Self::raw_get(field),
                msecs_to_jiffies(msecs),
            )
        };
        if queued {
            // INVARIANT: the queue owns the reference until `run` takes it
            // back or `cancel_sync` drops it.
            Ok(())
        } else {
            // SAFETY: `Arc::into_raw` gave up the reference above.
            // the queue did not take it.
            Err(unsafe { Arc::from_raw(ptr) })
        }
    }

    /// Cancels the work if it is queued, and waits until it is not running,
    /// even if it queues itself again meanwhile (C's
    /// `cancel_delayed_work_sync()`). It sleeps.
    ///
    /// Returns whether the work was queued; the reference the queue held is
    /// then dropped.
    pub fn cancel_sync(&self) -> bool {
        let field = ptr::from_ref(self).cast_mut();
        // SAFETY: `self` was initialised by `new` and is pinned.
        let was_queued = unsafe { bindings::cancel_delayed_work_sync(Self::raw_get(field)) };
        if was_queued {
            // SAFETY: Only `enqueue` queues the work, for the `T` whose
            // `HasDelayedWork<T, ID>` field `self` is (type invariant).
            // `field` points to that field of a `T`.
            let this = unsafe { T::work_container_of(field) };
            // SAFETY: The cancellation took the queued work, with the reference the
            // queue owned, back from the queue. The caller's borrow of `self`
            // comes from another reference, so the `T` stays alive.
            // `this` comes from `Arc::into_raw` in `enqueue`.
            drop(unsafe { Arc::from_raw(this) });
        }
        was_queued
    }
}

impl<T: ?Sized, const ID: u64> DelayedWork<T, ID> {
    /// The C `delayed_work` of the [`DelayedWork`] `ptr` points to.
    ///
    /// # Safety
    ///
    /// `ptr` must be aligned and not dangling (the memory need not be
    /// initialised).
    unsafe fn raw_get(ptr: *const Self) -> *mut bindings::delayed_work {
        // SAFETY: the caller promises that `ptr` is aligned and not dangling.
        unsafe { opaque_ptr(&raw const (*ptr).dwork) }
    }
}

/// The C key that `key` wraps (transparently; the `kernel` crate's
/// `LockClassKey::as_ptr()` is private to that crate).
fn raw_key(key: StaticLockClassKey) -> *mut bindings::lock_class_key {
    ptr::from_ref::<LockClassKey>(&*key).cast_mut().cast()
}

/// Declares that a type has a [`DelayedWork<T, ID>`] field.
///
/// Implement it with [`impl_has_delayed_work!`](crate::impl_has_delayed_work).
/// `ID` tells apart the fields of a type that runs several delayed works: use
/// a different value for each.
///
/// # Safety
///
/// [`HasDelayedWork::OFFSET`] must be the offset of a field of type
/// [`DelayedWork<T, ID>`] in `Self`, and the methods must behave as their
/// default definitions.
pub unsafe trait HasDelayedWork<T, const ID: u64 = 0> {
    /// The offset of the [`DelayedWork<T, ID>`] field.
    const OFFSET: usize;

    /// A pointer to the [`DelayedWork<T, ID>`] field of `*ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `Self`.
    #[inline]
    unsafe fn raw_get_work(ptr: *mut Self) -> *mut DelayedWork<T, ID>
    where
        Self: Sized,
    {
        // SAFETY: `Self` contains the field `OFFSET` bytes in.
        // the caller promises that `ptr` points to a valid `Self`.
        unsafe { ptr.cast::<u8>().add(Self::OFFSET).cast() }
    }

    /// A pointer to the `Self` whose [`DelayedWork<T, ID>`] field `ptr`
    /// points to.
    ///
    /// # Safety
    ///
    /// `ptr` must point to the [`DelayedWork<T, ID>`] field of a `Self`.
    #[inline]
    unsafe fn work_container_of(ptr: *mut DelayedWork<T, ID>) -> *mut Self
    where
        Self: Sized,
    {
        // SAFETY: The field is `OFFSET` bytes into a `Self`.
        // the caller promises that `ptr` points to the field.
        unsafe { ptr.cast::<u8>().sub(Self::OFFSET).cast() }
    }
}

/// Implements [`HasDelayedWork`] for the [`DelayedWork`] fields of a type:
///
/// ```ignore
/// klp::impl_has_delayed_work! {
///     impl HasDelayedWork<Self, 1> for Shared { self.alloc_work }
///     impl HasDelayedWork<Self, 2> for Shared { self.cleanup_work }
/// }
/// ```
#[macro_export]
macro_rules! impl_has_delayed_work {
    ($(impl HasDelayedWork<$work_type:ty $(, $id:tt)?> for $self:ty { self.$field:ident })*) => {$(
        // SAFETY: `OFFSET` is the offset of `$field`, and `raw_get_work` only
        // compiles if `$field` is a `DelayedWork<$work_type, $id>`.
        unsafe impl $crate::klp::delayed_work::HasDelayedWork<$work_type $(, $id)?> for $self {
            const OFFSET: usize = ::core::mem::offset_of!(Self, $field);

            #[inline]
            unsafe fn raw_get_work(
                ptr: *mut Self,
            ) -> *mut $crate::klp::delayed_work::DelayedWork<$work_type $(, $id)?> {
                // SAFETY: the caller promises that `ptr` points to a `Self`.
                unsafe { ::core::ptr::addr_of_mut!((*ptr).$field) }
            }
        }
    )*};
}

/// The work function of a [`DelayedWork<T, ID>`]: hands the reference the
/// queue held to [`DelayedWorkItem::run`].
///
/// # Safety
///
/// Called by the workqueue only, for a [`DelayedWork<T, ID>`] that
/// [`DelayedWork::enqueue`] queued.
unsafe extern "C" fn run<T, const ID: u64>(work: *mut bindings::work_struct)
where
    T: DelayedWorkItem<ID> + HasDelayedWork<T, ID> + Send + Sync,
{
    // The `work_struct` starts the `delayed_work`, which is all of a
    // `DelayedWork` (see the assertion next to `DelayedWork`).
    let field = work.cast::<DelayedWork<T, ID>>();
    // SAFETY: Only `enqueue` queues the work, for the `T` whose `HasDelayedWork<T, ID>`
    // field it is (type invariant of `DelayedWork`).
    // `field` points to that field of a `T`.
    let this = unsafe { T::work_container_of(field) };
    // SAFETY: Running the work hands back the reference the queue owned.
    // `this` comes from `Arc::into_raw` in `enqueue`.
    T::run(unsafe { Arc::from_raw(this) });
}

// SPDX-License-Identifier: GPL-2.0

//! Buggy target module of the Rust shadow variables demo: the job of the
//! kernel's `samples/livepatch/livepatch-shadow-mod.c`.
//!
//! Every second a delayed work allocates a dummy object with `dummy_alloc()`,
//! which also allocates a few bytes and forgets them: a memory leak. Every
//! three seconds another delayed work checks every dummy with `dummy_check()`
//! and frees the expired ones (after twelve seconds) with `dummy_free()`.
//! Dummies left at module exit are freed too.
//!
//! `livepatch_shadow_fix1` fixes the leak by keeping the forgotten memory in
//! a shadow variable of each dummy, and `livepatch_shadow_fix2` (on top of
//! it) counts the checks of each dummy in another shadow variable:
//!
//! ```text
//! insmod livepatch_shadow_mod.ko
//! insmod livepatch_shadow_fix1.ko
//! insmod livepatch_shadow_fix2.ko
//! echo 0 > /sys/kernel/livepatch/livepatch_shadow_fix2/enabled
//! echo 0 > /sys/kernel/livepatch/livepatch_shadow_fix1/enabled
//! rmmod livepatch_shadow_fix2 livepatch_shadow_fix1 livepatch_shadow_mod
//! ```
//!
//! The three functions the fixes replace are live patchable entries
//! ([`patchable!`](crate::patchable)) with C names. Unlike the C sample,
//! dummies are kept in a vector and logged by serial number rather than by
//! address. The module is an ordinary module, not a live patch.

use kernel::ffi::{c_int, c_ulong};
use core::ptr::{self, NonNull};
use kernel::bindings;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{new_mutex, LockClassKey, Mutex};
use kernel::time::msecs_to_jiffies;
use kernel::types::Opaque;

pub mod dummy;

use dummy::{time_after, Dummy, ALLOC_PERIOD_MS, CLEANUP_PERIOD_MS, EXPIRE_PERIOD_MS};

// The part of klp-rs a target module uses: live patchable functions (not
// the live patch API).
#[path = "../../src/patchable.rs"]
pub mod patchable;

module! {
    type: LivepatchShadowMod,
    name: "livepatch_shadow_mod",
    author: "klp-rs developers",
    description: "Buggy target module of the Rust shadow variables demo",
    license: "GPL",
}

/// The current time in jiffies.
fn jiffies() -> c_ulong {
    // SAFETY: `jiffies` is a kernel global that is always valid to read; the
    // volatile read is C's `READ_ONCE()`.
    unsafe { ptr::read_volatile(&raw const bindings::jiffies) }
}

crate::patchable! {
    /// Allocates dummy number `id`, which expires in `EXPIRE_PERIOD_MS`.
    /// Returns null if memory runs out.
    ///
    /// The bug: it also allocates memory that it forgets at once.
    pub extern "C" fn dummy_alloc(id: c_ulong) -> *mut Dummy = dummy_alloc_body;
}

/// The code of [`dummy_alloc()`], called only through it.
extern "C" fn dummy_alloc_body(id: c_ulong) -> *mut Dummy {
    let jiffies_expire = jiffies().wrapping_add(msecs_to_jiffies(EXPIRE_PERIOD_MS));
    let Ok(dummy) = KBox::new(Dummy { id, jiffies_expire }, GFP_KERNEL) else {
        return ptr::null_mut();
    };

    // Oops, forgot to save the leak!
    let Ok(leak) = KBox::new(0 as c_int, GFP_KERNEL) else {
        return ptr::null_mut();
    };
    let _forgotten: &mut c_int = KBox::leak(leak);

    pr_info!("dummy_alloc: dummy {}, expires @ {:x}\n", id, jiffies_expire);
    KBox::into_raw(dummy)
}

crate::patchable! {
    /// Frees a dummy.
    ///
    /// # Safety
    ///
    /// `d` must come from `dummy_alloc()` and must not be used afterwards.
    pub unsafe extern "C" fn dummy_free(d: *mut Dummy) = dummy_free_body;
}

/// The code of [`dummy_free()`], called only through it.
///
/// # Safety
///
/// As for [`dummy_free()`].
unsafe extern "C" fn dummy_free_body(d: *mut Dummy) {
    // SAFETY: `d` comes from `dummy_alloc()`, which turned a `KBox<Dummy>`
    // into it, and the caller gives it up.
    let dummy = unsafe { KBox::from_raw(d) };
    pr_info!("dummy_free: dummy {}, expired = {:x}\n", dummy.id, dummy.jiffies_expire);
}

crate::patchable! {
    /// Whether `d` has expired at time `jiffies`.
    pub extern "C" fn dummy_check(d: &Dummy, jiffies: c_ulong) -> bool = dummy_check_body;
}

/// The code of [`dummy_check()`], called only through it.
extern "C" fn dummy_check_body(d: &Dummy, jiffies: c_ulong) -> bool {
    time_after(jiffies, d.jiffies_expire)
}

/// A dummy from [`dummy_alloc()`], freed with [`dummy_free()`] when dropped.
///
/// # Invariants
///
/// The pointer comes from `dummy_alloc()` and is owned by this value.
struct OwnedDummy(NonNull<Dummy>);

// SAFETY: an `OwnedDummy` owns its dummy, plain data that any thread may use
// and free.
unsafe impl Send for OwnedDummy {}

impl OwnedDummy {
    /// Allocates dummy number `id`.
    fn alloc(id: c_ulong) -> Option<Self> {
        // INVARIANT: the pointer comes from `dummy_alloc()`.
        NonNull::new(dummy_alloc(id)).map(Self)
    }

    /// The dummy.
    fn get(&self) -> &Dummy {
        // SAFETY: the dummy is valid until `self` frees it (type invariant).
        unsafe { self.0.as_ref() }
    }
}

impl Drop for OwnedDummy {
    fn drop(&mut self) {
        // SAFETY: the dummy comes from `dummy_alloc()`, and `self` owned it
        // and is going away (type invariant).
        unsafe { dummy_free(self.0.as_ptr()) };
    }
}

/// The dummies alive.
struct Dummies {
    /// One slot per dummy; a slot is reused once its dummy is freed.
    slots: KVec<Option<OwnedDummy>>,
    /// The serial number of the next dummy.
    next_id: c_ulong,
}

impl Dummies {
    /// Keeps `dummy`; if there is no memory for that, frees it.
    fn insert(&mut self, dummy: OwnedDummy) {
        if let Some(free) = self.slots.as_mut_slice().iter_mut().find(|slot| slot.is_none()) {
            *free = Some(dummy);
        } else if self.slots.push(Some(dummy), GFP_KERNEL).is_err() {
            // `push` dropped the dummy, which freed it.
            pr_warn!("no memory to keep a dummy\n");
        }
    }

    /// Frees the dummies that have expired at `now`.
    fn free_expired(&mut self, now: c_ulong) {
        for slot in self.slots.as_mut_slice() {
            if slot.as_ref().is_some_and(|dummy| dummy_check(dummy.get(), now)) {
                // Dropping the dummy frees it.
                *slot = None;
            }
        }
    }
}

/// A C `struct delayed_work` that runs a fixed function.
///
/// C's `INIT_DELAYED_WORK()`, `schedule_delayed_work()` and
/// `cancel_delayed_work_sync()`, which have no Rust abstraction in Linux 6.12.
#[pin_data]
#[repr(transparent)]
struct DelayedWork {
    #[pin]
    raw: Opaque<bindings::delayed_work>,
}

// SAFETY: the workqueue functions, the only users of the `delayed_work`, may
// be called from any thread and synchronise themselves.
unsafe impl Send for DelayedWork {}

// SAFETY: see `Send`; `&DelayedWork` only allows those functions.
unsafe impl Sync for DelayedWork {}

/// `work` is the first field of a `delayed_work`, so [`DelayedWork`] and its
/// `work_struct` have the same address.
const _: () = assert!(core::mem::offset_of!(bindings::delayed_work, work) == 0);

impl DelayedWork {
    /// A delayed work that runs `func`, not queued yet. `name` and `key` are
    /// for lockdep.
    fn new(
        func: unsafe extern "C" fn(*mut bindings::work_struct),
        name: &'static CStr,
        key: &'static LockClassKey,
    ) -> impl PinInit<Self> {
        // `LockClassKey` is a transparent wrapper of the C key.
        let key = ptr::from_ref(key).cast_mut().cast::<bindings::lock_class_key>();
        pin_init!(Self {
            raw <- Opaque::ffi_init(move |slot: *mut bindings::delayed_work| {
                // SAFETY: `slot` is valid for writes and pinned; `name` and
                // `key` are static. These are the two steps of C's
                // `INIT_DELAYED_WORK()`.
                unsafe {
                    bindings::init_work_with_key(
                        &raw mut (*slot).work,
                        Some(func),
                        false,
                        name.as_char_ptr(),
                        key,
                    );
                    bindings::init_timer_key(
                        &raw mut (*slot).timer,
                        Some(bindings::delayed_work_timer_fn),
                        bindings::TIMER_IRQSAFE,
                        name.as_char_ptr(),
                        key,
                    );
                }
            }),
        })
    }

    /// Runs the function on the system workqueue in `msecs` milliseconds,
    /// unless it is already queued.
    fn schedule(&self, msecs: u32) {
        // SAFETY: `raw` was initialised by `new` and is pinned; `system_wq`
        // is set up at boot and never changes.
        unsafe {
            bindings::queue_delayed_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                bindings::system_wq,
                self.raw.get(),
                msecs_to_jiffies(msecs),
            )
        };
    }

    /// Cancels the work and waits until it is not running, even if it queues
    /// itself again.
    fn cancel_sync(&self) {
        // SAFETY: `raw` was initialised by `new` and is pinned.
        unsafe { bindings::cancel_delayed_work_sync(self.raw.get()) };
    }
}

/// The module's state, reached by its two delayed works.
#[pin_data(PinnedDrop)]
struct Shared {
    #[pin]
    dummies: Mutex<Dummies>,
    #[pin]
    alloc_work: DelayedWork,
    #[pin]
    cleanup_work: DelayedWork,
}

impl Shared {
    /// The state, with no dummy and the works not queued yet.
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            dummies <- new_mutex!(
                Dummies {
                    slots: KVec::new(),
                    next_id: 1,
                },
                "Shared::dummies"
            ),
            alloc_work <- DelayedWork::new(
                alloc_work_func,
                kernel::c_str!("livepatch_shadow_mod::alloc_work"),
                kernel::static_lock_class!(),
            ),
            cleanup_work <- DelayedWork::new(
                cleanup_work_func,
                kernel::c_str!("livepatch_shadow_mod::cleanup_work"),
                kernel::static_lock_class!(),
            ),
        })
    }

    /// The `Shared` whose `alloc_work` or `cleanup_work` is `work`.
    ///
    /// # Safety
    ///
    /// `work` must be the `work_struct` of `alloc_work` (if `alloc`) or
    /// `cleanup_work` (otherwise) of a `Shared` that outlives `'a`.
    unsafe fn from_work<'a>(work: *mut bindings::work_struct, alloc: bool) -> &'a Self {
        // The `work_struct` starts the `delayed_work`, which is all of a
        // `DelayedWork` (see the assertion next to `DelayedWork`).
        let dwork = work.cast::<DelayedWork>();
        // SAFETY: `dwork` points into a `Shared`, at the field named below
        // (the caller's guarantee), so the results stay in that `Shared`,
        // which outlives `'a`.
        unsafe {
            if alloc {
                &*kernel::container_of!(dwork, Shared, alloc_work)
            } else {
                &*kernel::container_of!(dwork, Shared, cleanup_work)
            }
        }
    }

    /// Allocates a dummy, and again in a second.
    fn alloc(&self) {
        let mut dummies = self.dummies.lock();
        let id = dummies.next_id;
        dummies.next_id = id.wrapping_add(1);
        if let Some(dummy) = OwnedDummy::alloc(id) {
            dummies.insert(dummy);
        }
        drop(dummies);
        self.alloc_work.schedule(ALLOC_PERIOD_MS);
    }

    /// Frees the expired dummies, and again in three seconds. It does not
    /// know about the memory `dummy_alloc()` leaked.
    fn cleanup(&self) {
        let now = jiffies();
        pr_info!("cleanup_work_func: jiffies = {:x}\n", now);
        self.dummies.lock().free_expired(now);
        self.cleanup_work.schedule(CLEANUP_PERIOD_MS);
    }
}

#[pinned_drop]
impl PinnedDrop for Shared {
    fn drop(self: Pin<&mut Self>) {
        // Wait for the works; the dummies left are freed with `dummies`.
        self.alloc_work.cancel_sync();
        self.cleanup_work.cancel_sync();
    }
}

/// The function of `Shared::alloc_work`.
///
/// # Safety
///
/// Called by the workqueue only, for the `alloc_work` of a `Shared`.
unsafe extern "C" fn alloc_work_func(work: *mut bindings::work_struct) {
    // SAFETY: this function runs only for `alloc_work` (see `Shared::new`),
    // and the `Shared` cancels its works before it goes away.
    unsafe { Shared::from_work(work, true) }.alloc();
}

/// The function of `Shared::cleanup_work`.
///
/// # Safety
///
/// Called by the workqueue only, for the `cleanup_work` of a `Shared`.
unsafe extern "C" fn cleanup_work_func(work: *mut bindings::work_struct) {
    // SAFETY: this function runs only for `cleanup_work` (see `Shared::new`),
    // and the `Shared` cancels its works before it goes away.
    unsafe { Shared::from_work(work, false) }.cleanup();
}

/// The module: the state its works use.
struct LivepatchShadowMod {
    _shared: Pin<KBox<Shared>>,
}

impl kernel::Module for LivepatchShadowMod {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let shared = KBox::pin_init(Shared::new(), GFP_KERNEL)?;
        shared.alloc_work.schedule(ALLOC_PERIOD_MS);
        shared.cleanup_work.schedule(CLEANUP_PERIOD_MS);
        Ok(Self { _shared: shared })
    }
}

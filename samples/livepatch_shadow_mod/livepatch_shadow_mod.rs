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
//! ([`patchable!`](crate::patchable)) with C names. A dummy passes between
//! them as a `KBox<Dummy>`, which owns it and is a plain pointer in the C ABI
//! (`Option<KBox<Dummy>>` is a nullable one), so neither they nor their
//! replacements handle raw pointers. Unlike the C sample, dummies are kept in
//! a vector and logged by serial number rather than by address. The module is
//! an ordinary module, not a live patch.

use kernel::ffi::{c_int, c_ulong};
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, Mutex};
use kernel::time::msecs_to_jiffies;

pub mod dummy;

use dummy::{Dummy, ALLOC_PERIOD_MS, CLEANUP_PERIOD_MS, EXPIRE_PERIOD_MS};
use klp::delayed_work::{DelayedWork, DelayedWorkItem};
use klp::sys::{jiffies, time_after};

// klp-rs, mounted whole as `klp`, as in every module: a target module uses
// only its stand-ins (and `patchable!`), not the live patch API.
#[path = "../../src/lib.rs"]
pub mod klp;

klp::module! {
    type: LivepatchShadowMod,
    name: "livepatch_shadow_mod",
    authors: ["klp-rs developers"],
    description: "Buggy target module of the Rust shadow variables demo",
    license: "GPL",
}

crate::patchable! {
    /// Allocates dummy number `id`, which expires in `EXPIRE_PERIOD_MS`.
    /// Returns `None` (null) if memory runs out.
    ///
    /// The bug: it also allocates memory that it forgets at once.
    pub extern "C" fn dummy_alloc(id: c_ulong) -> Option<KBox<Dummy>> = dummy_alloc_body;
}

/// What the memory [`dummy_alloc()`] forgets holds: the bytes `leak`. A leak
/// checker's hex dump of it (kmemleak's) then says where it comes from, even
/// once this module is gone and its addresses no longer have names.
const LEAK_MARK: c_int = c_int::from_ne_bytes(*b"leak");

/// The code of [`dummy_alloc()`], called only through it.
extern "C" fn dummy_alloc_body(id: c_ulong) -> Option<KBox<Dummy>> {
    let jiffies_expire = jiffies().wrapping_add(msecs_to_jiffies(EXPIRE_PERIOD_MS));
    let Ok(dummy) = KBox::new(Dummy { id, jiffies_expire }, GFP_KERNEL) else {
        return None;
    };

    // Oops, forgot to save the leak!
    let Ok(leak) = KBox::new(LEAK_MARK, GFP_KERNEL) else {
        return None;
    };
    let _forgotten: &mut c_int = KBox::leak(leak);

    pr_info!(
        "dummy_alloc: dummy {}, expires @ {:x}\n",
        id,
        jiffies_expire
    );
    Some(dummy)
}

crate::patchable! {
    /// Frees a dummy from [`dummy_alloc()`].
    pub extern "C" fn dummy_free(d: KBox<Dummy>) = dummy_free_body;
}

/// The code of [`dummy_free()`], called only through it.
extern "C" fn dummy_free_body(d: KBox<Dummy>) {
    pr_info!(
        "dummy_free: dummy {}, expired = {:x}\n",
        d.id,
        d.jiffies_expire
    );
    // `d` is freed on return.
}

crate::patchable! {
    /// Whether `d` has expired at time `jiffies`.
    pub extern "C" fn dummy_check(d: &Dummy, jiffies: c_ulong) -> bool = dummy_check_body;
}

/// The code of [`dummy_check()`], called only through it.
extern "C" fn dummy_check_body(d: &Dummy, jiffies: c_ulong) -> bool {
    time_after(jiffies, d.jiffies_expire)
}

/// The dummies alive, each freed with [`dummy_free()`], at the latest when
/// this is dropped.
struct Dummies {
    /// One slot per dummy; a slot is reused once its dummy is freed.
    slots: KVec<Option<KBox<Dummy>>>,
    /// The serial number of the next dummy.
    next_id: c_ulong,
}

impl Dummies {
    /// Keeps `dummy`; if there is no memory for that, frees it.
    fn insert(&mut self, dummy: KBox<Dummy>) {
        if let Some(free) = self
            .slots
            .as_mut_slice()
            .iter_mut()
            .find(|slot| slot.is_none())
        {
            *free = Some(dummy);
        } else if self.slots.reserve(1, GFP_KERNEL).is_ok() {
            // Room for one more was reserved, so this push cannot fail.
            let _ = self.slots.push(Some(dummy), GFP_KERNEL);
        } else {
            dummy_free(dummy);
            pr_warn!("no memory to keep a dummy\n");
        }
    }

    /// Frees the dummies that have expired at `now`.
    fn free_expired(&mut self, now: c_ulong) {
        for slot in self.slots.as_mut_slice() {
            if slot.as_deref().is_some_and(|dummy| dummy_check(dummy, now)) {
                if let Some(dummy) = slot.take() {
                    dummy_free(dummy);
                }
            }
        }
    }
}

impl Drop for Dummies {
    fn drop(&mut self) {
        for slot in self.slots.as_mut_slice() {
            if let Some(dummy) = slot.take() {
                dummy_free(dummy);
            }
        }
    }
}

/// Id of [`Shared`]'s delayed work that allocates dummies.
const ALLOC_WORK: u64 = 1;

/// Id of [`Shared`]'s delayed work that frees the expired dummies.
const CLEANUP_WORK: u64 = 2;

/// The module's state, reached by its two delayed works.
#[pin_data]
struct Shared {
    #[pin]
    dummies: Mutex<Dummies>,
    #[pin]
    alloc_work: DelayedWork<Shared, ALLOC_WORK>,
    #[pin]
    cleanup_work: DelayedWork<Shared, CLEANUP_WORK>,
}

crate::impl_has_delayed_work! {
    impl HasDelayedWork<Self, ALLOC_WORK> for Shared { self.alloc_work }
    impl HasDelayedWork<Self, CLEANUP_WORK> for Shared { self.cleanup_work }
}

impl Shared {
    /// The state, with no dummy and the works not queued yet.
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                dummies <- new_mutex!(
                    Dummies {
                        slots: KVec::new(),
                        next_id: 1,
                    },
                    "Shared::dummies"
                ),
                alloc_work <- crate::new_delayed_work!("livepatch_shadow_mod::alloc_work"),
                cleanup_work <- crate::new_delayed_work!("livepatch_shadow_mod::cleanup_work"),
            }),
            GFP_KERNEL,
        )
    }

    /// Runs `alloc_work` in a second, unless it is already queued (or being
    /// cancelled).
    fn schedule_alloc(this: Arc<Self>) {
        let _ = DelayedWork::<Self, ALLOC_WORK>::enqueue(this, ALLOC_PERIOD_MS);
    }

    /// Runs `cleanup_work` in three seconds, unless it is already queued (or
    /// being cancelled).
    fn schedule_cleanup(this: Arc<Self>) {
        let _ = DelayedWork::<Self, CLEANUP_WORK>::enqueue(this, CLEANUP_PERIOD_MS);
    }
}

impl DelayedWorkItem<ALLOC_WORK> for Shared {
    /// Allocates a dummy, and again in a second.
    fn run(this: Arc<Self>) {
        let mut dummies = this.dummies.lock();
        let id = dummies.next_id;
        dummies.next_id = id.wrapping_add(1);
        if let Some(dummy) = dummy_alloc(id) {
            dummies.insert(dummy);
        }
        drop(dummies);
        Self::schedule_alloc(this);
    }
}

impl DelayedWorkItem<CLEANUP_WORK> for Shared {
    /// Frees the expired dummies, and again in three seconds. It does not
    /// know about the memory `dummy_alloc()` leaked.
    fn run(this: Arc<Self>) {
        let now = jiffies();
        pr_info!("cleanup_work_func: jiffies = {:x}\n", now);
        this.dummies.lock().free_expired(now);
        Self::schedule_cleanup(this);
    }
}

/// The module: the state its works use.
struct LivepatchShadowMod {
    shared: Arc<Shared>,
}

impl kernel::Module for LivepatchShadowMod {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let shared = Shared::new()?;
        Shared::schedule_alloc(shared.clone());
        Shared::schedule_cleanup(shared.clone());
        Ok(Self { shared })
    }
}

impl Drop for LivepatchShadowMod {
    fn drop(&mut self) {
        // Wait for the works; the dummies left are freed with `shared`, whose
        // last reference goes right after this.
        self.shared.alloc_work.cancel_sync();
        self.shared.cleanup_work.cancel_sync();
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Shadow variables live patch in Rust, second fix: the job of the kernel's
//! `samples/livepatch/livepatch-shadow-fix2.c`.
//!
//! Loaded on top of `livepatch_shadow_fix1`, it adds a feature to the dummies
//! `livepatch_shadow_mod` already has in flight: a count of how many times
//! each one was checked, in a second shadow variable (id `SV_COUNTER`). The
//! replacement `dummy_check()` creates the counter on first use and
//! increments it; the replacement `dummy_free()` logs the count and detaches
//! it, and, like fix1's, frees the leaked memory kept in the `SV_LEAK` shadow
//! variable.
//!
//! When the patch is disabled, the `post_unpatch` callback frees the
//! counters still attached (the C sample does it in module exit). When
//! `livepatch_shadow_mod` is removed first, its exit frees every dummy
//! through the patched `dummy_free()`, which detaches them; `post_unpatch`
//! then runs without the proof that the patch is unpatched, and frees
//! nothing.

use core::sync::atomic::{AtomicI32, Ordering};
use kernel::ffi::{c_int, c_ulong};
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch, Shadow};

#[path = "../../src/lib.rs"]
pub mod klp;

#[path = "../livepatch_shadow_mod/dummy.rs"]
pub mod dummy;

use dummy::Dummy;
use klp::sys::time_after;

/// Shadow variable id: the memory `dummy_alloc()` leaks (set up by fix1).
const SV_LEAK: usize = 1;

/// Shadow variable id: how many times a dummy was checked.
const SV_COUNTER: usize = 2;

klp::global_data! {
    /// What the `SV_LEAK` shadow variable of a dummy holds: the layout
    /// `livepatch_shadow_fix1`, which attaches it, defines.
    ///
    /// It holds nothing pointing into this module: `klp::global_data!`
    /// checks that each field is `klp::GlobalData`, as shadow values must be.
    #[repr(C)]
    pub struct Leak {
        /// The dummy's serial number, for the log.
        dummy: c_ulong,
        /// The memory that would have leaked.
        memory: KBox<c_int>,
    }
}

impl Drop for Leak {
    fn drop(&mut self) {
        pr_info!(
            "livepatch_fix2_dummy_leak_dtor: dummy {}, prevented leak\n",
            self.dummy
        );
        // `memory` is freed right after this.
    }
}

/// The `SV_LEAK` shadow variables of the dummies, attached by fix1.
// SAFETY: `SV_LEAK` is used only here and by `livepatch_shadow_fix1`, with
// the same `Leak`. Neither reads a `Leak` through a `ShadowRef` (they only
// attach, test and detach, and the core takes each value out of its table,
// under its lock, before it is dropped once), so neither frees a value the
// other uses. `LEAKS` is this module's only
// `Shadow` of `SV_LEAK`.
static LEAKS: Shadow<Dummy, Leak> = unsafe { Shadow::new(SV_LEAK) };

/// The `SV_COUNTER` shadow variables of the dummies.
// SAFETY: `SV_COUNTER` is used by no other module, and `COUNTERS` is this
// module's only `Shadow` of it.
static COUNTERS: Shadow<Dummy, AtomicI32> = unsafe { Shadow::new(SV_COUNTER) };

/// Replacement for `dummy_check()`: the same, but counts the checks of each
/// dummy, starting a counter for the dummies in flight that have none yet.
extern "C" fn livepatch_fix2_dummy_check(d: &Dummy, jiffies: c_ulong) -> bool {
    // No sleeping allocation: the caller holds a lock.
    if let Ok(count) = COUNTERS.get_or_attach(d, GFP_NOWAIT, || Ok(AtomicI32::new(0))) {
        count.fetch_add(1, Ordering::Relaxed);
    }
    time_after(jiffies, d.jiffies_expire)
}

/// Replacement for `dummy_free()`: frees the `SV_LEAK` shadow variable like
/// fix1's, then logs and frees the `SV_COUNTER` one.
///
/// # Safety
///
/// None beyond the original's, which its signature carries: the caller gives
/// up the dummy. Only the redirected `dummy_free()` calls it.
unsafe extern "C" fn livepatch_fix2_dummy_free(dummy: KBox<Dummy>) {
    // Patch: as in fix1.
    if LEAKS.get(&dummy).is_some() {
        // SAFETY: The dummy is owned here and freed on return; the `ShadowRef` `get`
        // returned was dropped with the condition.
        // no reference to the dummy's `SV_LEAK` variable is in use.
        unsafe { LEAKS.detach(&dummy) };
    } else {
        pr_info!("livepatch_fix2_dummy_free: dummy {} leaked!\n", dummy.id);
    }

    // Patch: log the final count, and detach the counter.
    if let Some(count) = COUNTERS.get(&dummy) {
        pr_info!(
            "livepatch_fix2_dummy_free: dummy {}, check counter = {}\n",
            dummy.id,
            count.load(Ordering::Relaxed)
        );
        drop(count);
        // SAFETY: The dummy is owned here and freed on return, and `count`, the
        // only reference to its counter, was just dropped.
        // no reference to the dummy's `SV_COUNTER` variable is in use.
        unsafe { COUNTERS.detach(&dummy) };
    }
}

/// Frees the counters left when the patch goes.
struct Fix2Callbacks;

#[vtable]
impl Callbacks for Fix2Callbacks {
    fn post_unpatch(obj: &CallbackObject<'_>) {
        if let Some(unpatched) = obj.unpatched() {
            // The replacement functions keep no `ShadowRef` past their
            // return, so this does not fail with `EBUSY`; if it did, it
            // would have logged why and leaked.
            let _ = COUNTERS.detach_all(unpatched);
        }
    }
}

static PATCH: Patch = Patch::new(&[Object::module(
    kernel::c_str!("livepatch_shadow_mod"),
    &[
        // SAFETY: `dummy_check` is the `patchable!` entry
        // `extern "C" fn(d: &Dummy, jiffies: c_ulong) -> bool` of
        // livepatch_shadow_mod, and the replacement has that prototype.
        unsafe { klp::func!("dummy_check", livepatch_fix2_dummy_check) },
        // SAFETY: `dummy_free` is the `patchable!` entry
        // `extern "C" fn(d: KBox<Dummy>)` of livepatch_shadow_mod, and the
        // replacement has that prototype (as an `unsafe extern "C" fn`).
        unsafe { klp::func!("dummy_free", livepatch_fix2_dummy_free) },
    ],
)
.callbacks::<Fix2Callbacks>()])
.replace(false);

klp::livepatch_module! {
    type: LivepatchShadowFix2,
    patch: PATCH,
    name: "livepatch_shadow_fix2",
    authors: ["klp-rs developers"],
    description: "Rust live patch sample: count checks with a shadow variable",
    license: "GPL",
}

// SPDX-License-Identifier: GPL-2.0

//! Shadow variables live patch in Rust, first fix: the job of the kernel's
//! `samples/livepatch/livepatch-shadow-fix1.c`.
//!
//! `livepatch_shadow_mod`'s `dummy_alloc()` allocates memory it forgets at
//! once. A live patch cannot add a field to `struct Dummy` for it, so this one
//! "extends" each dummy with a shadow variable (id `SV_LEAK`) that holds the
//! memory: the replacement `dummy_alloc()` attaches it, and the replacement
//! `dummy_free()` detaches it, which frees the memory. Dummies allocated
//! before the patch have no such variable; freeing them logs "leaked!".
//!
//! When the patch is disabled, the `post_unpatch` callback frees the shadow
//! variables still attached (the C sample does it in module exit). When
//! `livepatch_shadow_mod` is removed first, its exit frees every dummy
//! through the patched `dummy_free()`, which detaches them; `post_unpatch`
//! then runs without the proof that the patch is unpatched (it stays
//! enabled), and frees nothing.
//!
//! Like the C sample, the patch stacks (no atomic replace), so that
//! `livepatch_shadow_fix2` can be loaded on top of it.

use kernel::ffi::{c_int, c_ulong};
use kernel::prelude::*;
use kernel::time::msecs_to_jiffies;
use klp::sys::jiffies;
use klp::{CallbackObject, Callbacks, Object, Patch, Shadow};

#[path = "../../src/lib.rs"]
pub mod klp;

#[path = "../livepatch_shadow_mod/dummy.rs"]
pub mod dummy;

use dummy::{Dummy, EXPIRE_PERIOD_MS};

/// Shadow variable id: the memory `dummy_alloc()` leaks.
const SV_LEAK: usize = 1;

klp::global_data! {
    /// What the `SV_LEAK` shadow variable of a dummy holds.
    ///
    /// `livepatch_shadow_fix2` frees these too, so it defines the same layout.
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
            "livepatch_fix1_dummy_leak_dtor: dummy {}, prevented leak\n",
            self.dummy
        );
        // `memory` is freed right after this.
    }
}

/// The `SV_LEAK` shadow variables of the dummies.
// SAFETY: `SV_LEAK` is used only here and by `livepatch_shadow_fix2`, with
// the same `Leak`. Neither reads a `Leak` through a `ShadowRef` (they only
// attach, test and detach, and the core takes each value out of its table,
// under its lock, before it is dropped once), so neither frees a value the
// other uses. `LEAKS` is this module's only
// `Shadow` of `SV_LEAK`.
static LEAKS: Shadow<Dummy, Leak> = unsafe { Shadow::new(SV_LEAK) };

/// Replacement for `dummy_alloc()`: the same, but keeps the extra memory in
/// an `SV_LEAK` shadow variable of the dummy.
extern "C" fn livepatch_fix1_dummy_alloc(id: c_ulong) -> Option<KBox<Dummy>> {
    let jiffies_expire = jiffies().wrapping_add(msecs_to_jiffies(EXPIRE_PERIOD_MS));
    let Ok(dummy) = KBox::new(Dummy { id, jiffies_expire }, GFP_KERNEL) else {
        return None;
    };
    let Ok(memory) = KBox::new(0 as c_int, GFP_KERNEL) else {
        return None;
    };

    // Patch: keep the extra memory in a shadow variable, which the patched
    // `dummy_free()` detaches and frees.
    if let Err(err) = LEAKS.attach(&dummy, GFP_KERNEL, || Ok(Leak { dummy: id, memory })) {
        pr_err!(
            "livepatch_fix1_dummy_alloc: failed to allocate shadow variable for the leaking memory: dummy {}, {:?}\n",
            id,
            err
        );
        return None;
    }

    pr_info!(
        "livepatch_fix1_dummy_alloc: dummy {}, expires @ {:x}\n",
        id,
        jiffies_expire
    );
    Some(dummy)
}

/// Replacement for `dummy_free()`: frees the `SV_LEAK` shadow variable too,
/// if the dummy has one.
///
/// # Safety
///
/// None beyond the original's, which its signature carries: the caller gives
/// up the dummy. Only the redirected `dummy_free()` calls it.
unsafe extern "C" fn livepatch_fix1_dummy_free(dummy: KBox<Dummy>) {
    // Patch: detach the shadow variable, which frees the memory. Dummies
    // allocated before the patch have none.
    if LEAKS.get(&dummy).is_some() {
        // SAFETY: The dummy is owned here and freed on return; the `ShadowRef` `get`
        // returned was dropped with the condition.
        // no reference to the dummy's shadow variable is in use.
        unsafe { LEAKS.detach(&dummy) };
    } else {
        pr_info!("livepatch_fix1_dummy_free: dummy {} leaked!\n", dummy.id);
    }
}

/// Frees the shadow variables left when the patch goes.
struct Fix1Callbacks;

#[vtable]
impl Callbacks for Fix1Callbacks {
    fn post_unpatch(obj: &CallbackObject<'_>) {
        if let Some(unpatched) = obj.unpatched() {
            // Nothing here keeps a `ShadowRef`, so this does not fail with
            // `EBUSY`; if it did, it would have logged why and leaked.
            let _ = LEAKS.detach_all(unpatched);
        }
    }
}

static PATCH: Patch = Patch::new(&[Object::module(
    kernel::c_str!("livepatch_shadow_mod"),
    &[
        // SAFETY: `dummy_alloc` is the `patchable!` entry
        // `extern "C" fn(id: c_ulong) -> Option<KBox<Dummy>>` of
        // livepatch_shadow_mod, and the replacement has that prototype.
        unsafe { klp::func!("dummy_alloc", livepatch_fix1_dummy_alloc) },
        // SAFETY: `dummy_free` is the `patchable!` entry
        // `extern "C" fn(d: KBox<Dummy>)` of livepatch_shadow_mod, and the
        // replacement has that prototype (as an `unsafe extern "C" fn`).
        unsafe { klp::func!("dummy_free", livepatch_fix1_dummy_free) },
    ],
)
.callbacks::<Fix1Callbacks>()])
.replace(false);

klp::livepatch_module! {
    type: LivepatchShadowFix1,
    patch: PATCH,
    name: "livepatch_shadow_fix1",
    authors: ["klp-rs developers"],
    description: "Rust live patch sample: fix a leak with a shadow variable",
    license: "GPL",
}

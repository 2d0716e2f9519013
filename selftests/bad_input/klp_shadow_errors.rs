// SPDX-License-Identifier: GPL-2.0

//! Error paths of the typed shadow-variable API, and when `post_unpatch` is
//! given the [`klp::Unpatched`] proof.
//!
//! A live patch that patches no function: its vmlinux object only has
//! callbacks, and so does its object for the idle module
//! `test_klp_callbacks_mod`. The vmlinux `pre_patch` (in module init)
//! exercises `klp::Shadow` and logs one `PASS: ...` or `FAIL: ...` line per
//! check, then a summary line that the selftest asserts on. The vmlinux
//! `post_unpatch` (when the patch is disabled) checks, with the proof, that
//! `detach_all` frees nothing while a `ShadowRef` is alive, then another
//! summary. The module object's `post_unpatch` logs whether it got the
//! proof: not when that module is removed under the enabled patch, yes when
//! the patch is disabled.

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, GlobalData, Object, Patch, Shadow};

#[path = "../../src/lib.rs"]
pub mod klp;

/// How many [`Tracked`] values were dropped.
static DROPS: AtomicUsize = AtomicUsize::new(0);

/// A shadow value that counts its drops.
struct Tracked(u64);

// SAFETY: a `Tracked` is a `u64`: it points nowhere.
unsafe impl GlobalData for Tracked {}

impl Drop for Tracked {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

/// The shadow variables under test, keyed by `u64` objects.
// SAFETY: no other module uses this id, and this is its only `Shadow` here.
static TRACKED: Shadow<u64, Tracked> = unsafe { Shadow::new(0x6b6c7072) };

/// Counts checks and failures while logging each.
struct Checks {
    passed: usize,
    failed: usize,
}

impl Checks {
    fn check(&mut self, what: &str, ok: bool) {
        if ok {
            self.passed += 1;
            pr_info!("PASS: {}\n", what);
        } else {
            self.failed += 1;
            pr_err!("FAIL: {}\n", what);
        }
    }
}

fn run(c: &mut Checks) -> Result {
    let a = KBox::new(1u64, GFP_KERNEL)?;
    let b = KBox::new(2u64, GFP_KERNEL)?;

    c.check(
        "get() on an object without a shadow is None",
        TRACKED.get(&a).is_none(),
    );

    let failed = TRACKED.attach(&a, GFP_KERNEL, || Err(ENOMEM));
    c.check(
        "attach() with a failing init returns its error",
        failed.err() == Some(ENOMEM),
    );
    c.check(
        "a failed attach() leaves nothing attached",
        TRACKED.get(&a).is_none(),
    );

    let value = TRACKED
        .attach(&a, GFP_KERNEL, || Ok(Tracked(41)))
        .map(|t| t.0);
    c.check("attach() stores the value", value == Ok(41));
    c.check(
        "get() returns the attached value",
        TRACKED.get(&a).map(|t| t.0) == Some(41),
    );

    let mut called = false;
    let again = TRACKED.attach(&a, GFP_KERNEL, || {
        called = true;
        Ok(Tracked(0))
    });
    c.check(
        "attach() twice fails with EEXIST",
        again.err() == Some(EEXIST),
    );
    c.check("the second attach() did not run its init", !called);

    let existing = TRACKED
        .get_or_attach(&a, GFP_ATOMIC, || Ok(Tracked(0)))
        .map(|t| t.0);
    c.check(
        "get_or_attach() returns the existing value",
        existing == Ok(41),
    );

    let odd_flags = TRACKED.attach(&b, GFP_KERNEL | __GFP_ZERO, || Ok(Tracked(7)));
    c.check(
        "unsupported allocation flags are refused with EINVAL",
        odd_flags.err() == Some(EINVAL),
    );
    c.check(
        "the refused attach() left nothing attached",
        TRACKED.get(&b).is_none(),
    );

    let created = TRACKED
        .get_or_attach(&b, GFP_ATOMIC, || Ok(Tracked(2)))
        .map(|t| t.0);
    c.check("get_or_attach() creates a missing value", created == Ok(2));

    let drops = DROPS.load(Ordering::Relaxed);
    // SAFETY: no reference to `a`'s shadow value is alive.
    unsafe { TRACKED.detach(&a) };
    c.check("detach() removes the value", TRACKED.get(&a).is_none());
    c.check(
        "detach() drops the value",
        DROPS.load(Ordering::Relaxed) == drops + 1,
    );

    // SAFETY: no reference to any value of this id is alive.
    unsafe { TRACKED.detach_all_unchecked() };
    c.check("detach_all() removes the rest", TRACKED.get(&b).is_none());
    c.check(
        "detach_all() drops the rest",
        DROPS.load(Ordering::Relaxed) == drops + 2,
    );
    Ok(())
}

/// With the proof, in the vmlinux `post_unpatch`: `detach_all` frees
/// nothing while a `ShadowRef` is alive, and everything once it is gone.
fn run_unpatched(c: &mut Checks, unpatched: &klp::Unpatched<'_>) -> Result {
    let obj = KBox::new(3u64, GFP_KERNEL)?;
    let drops = DROPS.load(Ordering::Relaxed);
    let held = TRACKED.get_or_attach(&obj, GFP_KERNEL, || Ok(Tracked(43)))?;
    c.check(
        "detach_all() with a live ShadowRef fails with EBUSY",
        TRACKED.detach_all(unpatched).err() == Some(EBUSY),
    );
    c.check(
        "the value a live ShadowRef points to is still readable",
        held.0 == 43,
    );
    c.check(
        "the refused detach_all() dropped nothing",
        DROPS.load(Ordering::Relaxed) == drops,
    );
    c.check(
        "get() finds nothing once detach_all() has run",
        TRACKED.get(&obj).is_none(),
    );
    drop(held);
    c.check(
        "detach_all() succeeds once the ShadowRef is dropped",
        TRACKED.detach_all(unpatched).is_ok(),
    );
    c.check(
        "that detach_all() dropped the value",
        DROPS.load(Ordering::Relaxed) == drops + 1,
    );
    c.check(
        "attach() fails with ENOENT once detach_all() has run",
        TRACKED.attach(&obj, GFP_KERNEL, || Ok(Tracked(0))).err() == Some(ENOENT),
    );
    Ok(())
}

/// The vmlinux object's callbacks: the checks.
struct VmlinuxChecks;

#[vtable]
impl Callbacks for VmlinuxChecks {
    fn pre_patch(_obj: &CallbackObject<'_>) -> Result {
        let mut checks = Checks {
            passed: 0,
            failed: 0,
        };
        run(&mut checks)?;
        pr_info!("{} passed, {} failed\n", checks.passed, checks.failed);
        Ok(())
    }

    fn post_unpatch(obj: &CallbackObject<'_>) {
        let Some(unpatched) = obj.unpatched() else {
            pr_err!("FAIL: post_unpatch vmlinux: no proof\n");
            return;
        };
        pr_info!("post_unpatch vmlinux: proof granted\n");
        let mut checks = Checks {
            passed: 0,
            failed: 0,
        };
        if let Err(err) = run_unpatched(&mut checks, unpatched) {
            pr_err!("FAIL: post_unpatch checks: {:?}\n", err);
        }
        pr_info!(
            "post_unpatch: {} passed, {} failed\n",
            checks.passed,
            checks.failed
        );
    }
}

/// The module object's callbacks: log whether `post_unpatch` got the proof.
struct ModuleProof;

#[vtable]
impl Callbacks for ModuleProof {
    fn post_unpatch(obj: &CallbackObject<'_>) {
        let state = obj
            .module_state()
            .map_or("not loaded", |state| state.as_str());
        let proof = if obj.unpatched().is_some() {
            "proof granted"
        } else {
            "no proof"
        };
        pr_info!(
            "post_unpatch test_klp_callbacks_mod ({}): {}\n",
            state,
            proof
        );
    }
}

static PATCH: Patch = Patch::new(&[
    Object::vmlinux(&[]).callbacks::<VmlinuxChecks>(),
    Object::module(kernel::c_str!("test_klp_callbacks_mod"), &[]).callbacks::<ModuleProof>(),
])
.replace(false);

klp::livepatch_module! {
    type: ShadowErrors,
    patch: PATCH,
    name: "klp_shadow_errors",
    authors: ["klp-rs developers"],
    description: "error paths of klp::Shadow, and the Unpatched proof",
    license: "GPL",
}

// SPDX-License-Identifier: GPL-2.0

//! Error paths of the typed shadow-variable API, checked in module init.
//!
//! Not a live patch: it exercises `klp::Shadow` directly and logs one
//! `PASS: ...` or `FAIL: ...` line per check, then a summary line that the
//! selftest asserts on.

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::prelude::*;
use klp::Shadow;

#[path = "../../src/lib.rs"]
pub mod klp;

/// How many [`Tracked`] values were dropped.
static DROPS: AtomicUsize = AtomicUsize::new(0);

/// A shadow value that counts its drops.
struct Tracked(u64);

impl Drop for Tracked {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

/// The shadow variables under test, keyed by `u64` objects.
static TRACKED: Shadow<u64, Tracked> = Shadow::new(0x6b6c7072);

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

/// The module: runs the checks at load time.
struct ShadowErrors;

impl kernel::Module for ShadowErrors {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut checks = Checks {
            passed: 0,
            failed: 0,
        };
        run(&mut checks)?;
        pr_info!("{} passed, {} failed\n", checks.passed, checks.failed);
        Ok(Self)
    }
}

klp::module! {
    type: ShadowErrors,
    name: "klp_shadow_errors",
    authors: ["klp-rs developers"],
    description: "error paths of klp::Shadow",
    license: "GPL",
}

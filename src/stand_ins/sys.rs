// SPDX-License-Identifier: GPL-2.0

//! Time: sleeping and the jiffies clock, which Linux 6.12's `kernel` crate
//! does not wrap (C's `msleep()`, `jiffies` and `time_after()`).
//!
//! It uses only the `kernel` crate, so a module that is not a live patch can
//! mount it alone:
//!
//! ```ignore
//! #[path = "../../src/sys.rs"]
//! pub mod sys;
//! ```

use core::ptr;
use kernel::bindings;
use kernel::ffi::c_long;
use kernel::time::Jiffies;

/// Sleeps for at least `msecs` milliseconds (C's `msleep()`).
///
/// It must be called from a context that may sleep; the kernel reports a call
/// from atomic context (`might_sleep()`).
pub fn msleep(msecs: u32) {
    // SAFETY: Sleeping in atomic context is a bug the kernel detects, not unsafety.
    // `msleep()` takes any duration and has no memory requirement.
    unsafe { bindings::msleep(msecs) };
}

/// The current time in jiffies (C's `jiffies`, read with `READ_ONCE()`).
pub fn jiffies() -> Jiffies {
    // SAFETY: `jiffies` is a kernel global that the timer interrupt updates; the
    // volatile read is C's `READ_ONCE()`.
    // `jiffies` is always valid to read.
    unsafe { ptr::read_volatile(&raw const bindings::jiffies) }
}

/// Whether jiffies value `a` is after `b` (C's `time_after()`, which allows
/// for the counter wrapping around).
pub fn time_after(a: Jiffies, b: Jiffies) -> bool {
    // Reinterpreting the difference as signed is the point.
    (b.wrapping_sub(a) as c_long) < 0
}

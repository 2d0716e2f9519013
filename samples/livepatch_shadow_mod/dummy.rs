// SPDX-License-Identifier: GPL-2.0

//! The dummy objects of `livepatch_shadow_mod`, as its live patches see them.
//!
//! A live patch handles the target module's objects, so it must lay them out
//! exactly as the target does. The fix modules mount this file rather than
//! repeating the definition (the C samples repeat `struct dummy`).

use kernel::ffi::c_ulong;

/// A new dummy is allocated every second.
pub const ALLOC_PERIOD_MS: u32 = 1000;

/// Expired dummies are looked for every three allocations.
pub const CLEANUP_PERIOD_MS: u32 = 3 * ALLOC_PERIOD_MS;

/// A dummy expires after four cleanup periods.
pub const EXPIRE_PERIOD_MS: u32 = 4 * CLEANUP_PERIOD_MS;

/// One dummy object, allocated by `dummy_alloc()` and freed by `dummy_free()`.
#[repr(C)]
pub struct Dummy {
    /// Serial number given by the allocating work, for the kernel log (which
    /// must not show kernel addresses).
    pub id: c_ulong,
    /// When the dummy expires, in jiffies.
    pub jiffies_expire: c_ulong,
}

// SPDX-License-Identifier: GPL-2.0

//! The system state the `test_klp_state*` modules change: the kernel's
//! `console_loglevel`.

use core::ffi::c_int;
use kernel::bindings;

/// The id of the state, as in the C modules.
pub(crate) const CONSOLE_LOGLEVEL_STATE: usize = 1;

/// `CONSOLE_LOGLEVEL_MOTORMOUTH`: print everything.
const MOTORMOUTH: c_int = bindings::CONSOLE_LOGLEVEL_MOTORMOUTH as c_int;

/// Where `console_loglevel` lives: `console_printk[0]`.
fn console_loglevel_ptr() -> *mut c_int {
    // `console_loglevel` is the first element of `console_printk`
    // (<linux/printk.h>); only the address is taken here.
    (&raw mut bindings::console_printk).cast::<c_int>()
}

/// The current `console_loglevel`.
pub(crate) fn get() -> c_int {
    // SAFETY: Like C code, a plain (racy but word-sized) read.
    // `console_printk[0]` is a valid, aligned int for the kernel's lifetime.
    unsafe { console_loglevel_ptr().read_volatile() }
}

/// Sets `console_loglevel`.
pub(crate) fn set(level: c_int) {
    // SAFETY: as in `get`; the C modules write it the same way.
    unsafe { console_loglevel_ptr().write_volatile(level) }
}

/// Sets `console_loglevel` to `CONSOLE_LOGLEVEL_MOTORMOUTH`.
pub(crate) fn set_motormouth() {
    set(MOTORMOUTH)
}

// SPDX-License-Identifier: GPL-2.0

//! Writing to a `struct seq_file`, as `/proc` and debugfs show functions do.
//!
//! Many functions worth live patching are `*_show()` functions that fill a
//! `seq_file`. [`SeqFile`] lets their replacements write text without further
//! `unsafe`.

use core::ffi::c_void;
use core::fmt;
use kernel::bindings;
use kernel::str::CStr;
use kernel::types::Opaque;

use super::super::stand_ins::kernel::char_ptr;

/// A `struct seq_file` that a show function fills.
///
/// # Invariants
///
/// It wraps a live `seq_file` that the current thread is filling.
#[repr(transparent)]
pub struct SeqFile(Opaque<bindings::seq_file>);

impl SeqFile {
    /// Wraps the `seq_file` a show function was called with.
    ///
    /// # Safety
    ///
    /// `ptr` must be the `seq_file` passed to the show function being
    /// replaced, and the returned reference must not outlive that call.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::seq_file) -> &'a Self {
        // INVARIANT: the caller passes the live `seq_file` of this call.
        // SAFETY: `SeqFile` is a transparent wrapper of `seq_file`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Appends `text`.
    #[inline]
    pub fn puts(&self, text: &CStr) {
        // SAFETY: the `seq_file` is live (type invariant) and `text` is NUL-terminated.
        unsafe { bindings::__seq_puts(self.0.get(), char_ptr(text)) };
    }

    /// Appends formatted text, as `write!` would. Use it with `format_args!`:
    /// `m.print(format_args!("read {} times\n", n))`.
    #[inline]
    pub fn print(&self, args: fmt::Arguments<'_>) {
        // SAFETY: `%pA` makes vsnprintf() format a `fmt::Arguments` through the
        // kernel crate's `rust_fmt_argument()`, as `pr_info!` does.
        // The format takes one pointer to `fmt::Arguments`, which outlives the call.
        // the `seq_file` is live (type invariant).
        unsafe {
            bindings::seq_printf(
                self.0.get(),
                char_ptr(kernel::c_str!("%pA")),
                core::ptr::from_ref(&args).cast::<c_void>(),
            )
        };
    }
}

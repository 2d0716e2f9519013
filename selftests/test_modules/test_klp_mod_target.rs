// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_mod_target` selftest module: a target
//! module whose `/proc/test_klp_mod_target` reads
//! `test_klp_mod_target: original output` until `test_klp_mod_patch`
//! replaces its show function, `test_klp_mod_target_show()`.
//!
//! The show function is declared with [`klp::patchable!`](crate::patchable),
//! which gives it the C entry (`endbr64; call __fentry__`) that the livepatch
//! core redirects, under its C name in kallsyms; procfs is given that entry
//! stub, so that reads of the file reach the live patch once it is enabled.

use core::ptr::{self, NonNull};
use kernel::bindings::seq_file;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;

use klp::bindings;
use klp::stand_ins::kernel::char_ptr;

// klp-rs, mounted whole as `klp`, as in every module: a target module uses
// only its stand-ins, bindings and `patchable!`, not the live patch API.
#[path = "../../src/lib.rs"]
pub mod klp;

klp::module! {
    type: TestKlpModTarget,
    name: "test_klp_mod_target",
    authors: ["klp-rs developers (after Pablo Hugen's C module)"],
    description: "Livepatch test: target module with proc entry",
    license: "GPL",
}

klp::patchable! {
    /// The show function of `/proc/test_klp_mod_target`, which
    /// `test_klp_mod_patch` replaces: a patchable entry that calls
    /// [`test_klp_mod_target_show_body()`].
    ///
    /// # Safety
    ///
    /// `m` must be the `seq_file` procfs passes to the show function of
    /// `/proc/test_klp_mod_target`, for the duration of the call.
    // Only procfs calls it, through the entry stub (`::entry`); Rust code
    // does not call this wrapper.
    #[allow(dead_code)]
    unsafe extern "C" fn test_klp_mod_target_show(m: *mut seq_file, v: *mut c_void) -> c_int =
        test_klp_mod_target_show_body;
}

/// The body of `test_klp_mod_target_show()`: C's
/// `seq_printf(m, "%s: %s\n", THIS_MODULE->name, "original output")`, with
/// the module's name written out.
///
/// # Safety
///
/// `m` must be the `seq_file` procfs passes to the show function of
/// `/proc/test_klp_mod_target`, for the duration of the call.
unsafe extern "C" fn test_klp_mod_target_show_body(m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `m` is this show call's `seq_file` (our contract); the reference ends with the call.
    let m = unsafe { klp::SeqFile::from_raw(m) };
    m.puts(kernel::c_str!("test_klp_mod_target: original output\n"));
    0
}

/// `/proc/test_klp_mod_target`, removed when dropped (`proc_remove()`).
///
/// Only module init creates one, and the module owns it, so it is dropped in
/// module exit, before the module's code goes: `proc_remove()` waits for the
/// reads in progress, and procfs calls the show function no more after it.
///
/// # Invariants
///
/// `0` is a proc entry this module created and has not removed yet.
struct ProcEntry(NonNull<bindings::proc_dir_entry>);

// SAFETY: the pointer is only handed to `proc_remove()`, once, on drop, which
// may be called from any thread.
unsafe impl Send for ProcEntry {}

// SAFETY: `ProcEntry` has no method taking `&self`: nothing can use the entry
// through a shared reference.
unsafe impl Sync for ProcEntry {}

impl ProcEntry {
    /// Creates `/proc/test_klp_mod_target` (C's `proc_create_single()`, a
    /// macro over `proc_create_single_data()` with no data), mode 0 (the
    /// default, 0444), shown by the patchable entry of
    /// `test_klp_mod_target_show()`.
    fn new() -> Result<Self> {
        // SAFETY: C-string name, null parent and data; `show` outlives the entry (type docs).
        let pde = unsafe {
            bindings::proc_create_single_data(
                char_ptr(kernel::c_str!("test_klp_mod_target")),
                0,
                ptr::null_mut(),
                Some(test_klp_mod_target_show::entry),
                ptr::null_mut(),
            )
        };
        // INVARIANT: a non-null result is the entry just created.
        Ok(Self(NonNull::new(pde).ok_or(ENOMEM)?))
    }
}

impl Drop for ProcEntry {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a live entry of this module (type invariant), removed only here.
        unsafe { bindings::proc_remove(self.0.as_ptr()) };
    }
}

/// The module: owns the proc entry.
struct TestKlpModTarget {
    _pde: ProcEntry,
}

impl kernel::Module for TestKlpModTarget {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("test_klp_mod_target_init\n");
        Ok(Self {
            _pde: ProcEntry::new()?,
        })
    }
}

impl Drop for TestKlpModTarget {
    fn drop(&mut self) {
        // As in C, the message comes before the entry is removed (the fields
        // are dropped after this function).
        pr_info!("test_klp_mod_target_exit\n");
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_livepatch` selftest module: a live
//! patch of `cmdline_proc_show()`, so that `/proc/cmdline` reads
//! `test_klp_livepatch: this has been live patched`.

use core::ffi::{c_int, c_void};
use kernel::bindings::{__seq_puts, seq_file};
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

klp::patchable! {
    /// Replacement for `cmdline_proc_show()`, with its signature. Like the C
    /// module's, it is a function ftrace can trace by this name
    /// (`livepatch_cmdline_proc_show` in kallsyms, with a `__fentry__` call),
    /// which the kernel's `test-ftrace.sh` does.
    ///
    /// # Safety
    ///
    /// `m` must be the `seq_file` procfs passes to `cmdline_proc_show()`.
    unsafe extern "C" fn livepatch_cmdline_proc_show(m: *mut seq_file, v: *mut c_void) -> c_int
        = show_body;
}

/// The code of [`livepatch_cmdline_proc_show()`].
///
/// # Safety
///
/// `m` must be the `seq_file` procfs passes to `cmdline_proc_show()`.
unsafe extern "C" fn show_body(m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `m` is a valid `seq_file` (the caller's contract) and the text a
    // NUL-terminated literal.
    unsafe {
        __seq_puts(
            m,
            klp::stand_ins::kernel::char_ptr(kernel::c_str!(
                "test_klp_livepatch: this has been live patched\n"
            )),
        )
    };
    0
}

/// Like the C module, a patch that does not replace others.
static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/cmdline.c, and the `patchable!` entry of
    // `livepatch_cmdline_proc_show` has that prototype as an
    // `unsafe extern "C" fn`.
    unsafe { klp::func!("cmdline_proc_show", livepatch_cmdline_proc_show::entry) },
])])
.replace(false);

klp::livepatch_module! {
    type: TestKlpLivepatch,
    patch: PATCH,
    name: "test_klp_livepatch",
    authors: ["klp-rs developers (after Seth Jennings' C module)"],
    description: "Livepatch test: livepatch module",
    license: "GPL",
}

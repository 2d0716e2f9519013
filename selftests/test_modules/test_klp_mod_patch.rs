// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_mod_patch` selftest module: a live
//! patch of the module `test_klp_mod_target` that replaces its
//! `test_klp_mod_target_show()`, so that `/proc/test_klp_mod_target` reads
//! `test_klp_mod_patch: this has been live patched`. Loaded before the
//! target, it patches the target when that is loaded.

use kernel::bindings::seq_file;
use kernel::ffi::{c_int, c_void};
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

/// Replacement for `test_klp_mod_target_show()`, with its signature: C's
/// `seq_printf(m, "%s: %s\n", THIS_MODULE->name, "this has been live
/// patched")`, with this module's name written out.
unsafe extern "C" fn livepatch_mod_target_show(m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `m` is the `seq_file` procfs passes to the replaced show; the reference ends with it.
    let m = unsafe { klp::SeqFile::from_raw(m) };
    m.puts(kernel::c_str!(
        "test_klp_mod_patch: this has been live patched\n"
    ));
    0
}

/// Like the C module, a patch that does not replace others.
static PATCH: Patch = Patch::new(&[Object::module(
    kernel::c_str!("test_klp_mod_target"),
    &[
        // SAFETY: `test_klp_mod_target_show` is the `patchable!` entry
        // `unsafe extern "C" fn(m: *mut seq_file, v: *mut c_void) -> c_int` of
        // test_klp_mod_target (a seq_file show), and the replacement has that
        // prototype as an `unsafe extern "C" fn`.
        unsafe { klp::func!("test_klp_mod_target_show", livepatch_mod_target_show) },
    ],
)])
.replace(false);

klp::livepatch_module! {
    type: TestKlpModPatch,
    patch: PATCH,
    name: "test_klp_mod_patch",
    authors: ["klp-rs developers (after Pablo Hugen's C module)"],
    description: "Livepatch test: patch for module-provided function",
    license: "GPL",
}

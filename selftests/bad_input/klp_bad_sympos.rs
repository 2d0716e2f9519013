// SPDX-License-Identifier: GPL-2.0

//! Bad input: a wrong `old_sympos`. `cmdline_proc_show` exists once, so
//! position 2 does not; the core must refuse the patch.

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

/// Replacement for the (non-existent) second `cmdline_proc_show`.
unsafe extern "C" fn cmdline_proc_show(_m: *mut seq_file, _v: *mut c_void) -> c_int {
    0
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: vmlinux has one `cmdline_proc_show`, so the core refuses the
    // second and never calls the replacement, which anyway has the prototype
    // of that one, `static int cmdline_proc_show(struct seq_file *m, void *v)`,
    // as an `unsafe extern "C" fn`.
    unsafe { klp::func!("cmdline_proc_show", cmdline_proc_show, sympos = 2) },
])]);

klp::livepatch_module! {
    type: BadSympos,
    patch: PATCH,
    name: "klp_bad_sympos",
    authors: ["klp-rs developers"],
    description: "bad input test: wrong old_sympos",
    license: "GPL",
}

// SPDX-License-Identifier: GPL-2.0

//! A live patch whose replacement calls `cmp_range`, a name two static
//! functions of vmlinux have (in 6.12 and 7.3 alike), without `sympos`: the
//! core must refuse it at `insmod` ("unresolvable ambiguity") and leave
//! nothing patched (selftests/test-relocs.sh).

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

klp::symbols! {
    // SAFETY: deliberately ambiguous: two functions have this name, so the
    // core refuses the patch before any code of it can run.
    unsafe mod ambiguous in "vmlinux" {
        fn cmp_range(a: *const c_void, b: *const c_void) -> c_int;
    }
}

unsafe extern "C" fn ambiguous_cmdline_proc_show(_m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: never runs: the core cannot tell which symbol is meant, so it
    // refuses to enable the patch.
    unsafe { ambiguous::cmp_range(core::ptr::null(), core::ptr::null()) }
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/cmdline.c, and `ambiguous_cmdline_proc_show` has that prototype as
    // an `unsafe extern "C" fn`.
    unsafe { klp::func!("cmdline_proc_show", ambiguous_cmdline_proc_show) },
])]);

klp::livepatch_module! {
    type: KlpRelocsAmbiguous,
    patch: PATCH,
    name: "klp_relocs_ambiguous",
    authors: ["klp-rs developers"],
    description: "klp-rs test: a livepatch symbol of an ambiguous name",
    license: "GPL",
}

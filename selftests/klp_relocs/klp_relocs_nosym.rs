// SPDX-License-Identifier: GPL-2.0

//! A live patch whose replacement calls a vmlinux function that does not
//! exist: the core must refuse it at `insmod` ("symbol ... not found in
//! symbol table") and leave nothing patched (selftests/test-relocs.sh).

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

klp::symbols! {
    // SAFETY: deliberately wrong: no kernel has this function, so the core
    // refuses the patch before any code of it can run.
    unsafe mod missing in "vmlinux" {
        fn klp_rs_no_such_symbol() -> c_int;
    }
}

unsafe extern "C" fn nosym_cmdline_proc_show(_m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: never runs: the core cannot resolve the symbol, so it refuses
    // to enable the patch.
    unsafe { missing::klp_rs_no_such_symbol() }
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/cmdline.c, and `nosym_cmdline_proc_show` has that prototype as
    // an `unsafe extern "C" fn`.
    unsafe { klp::func!("cmdline_proc_show", nosym_cmdline_proc_show) },
])]);

klp::livepatch_module! {
    type: KlpRelocsNosym,
    patch: PATCH,
    name: "klp_relocs_nosym",
    authors: ["klp-rs developers"],
    description: "klp-rs test: a livepatch symbol that does not exist",
    license: "GPL",
}

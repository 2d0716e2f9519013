// SPDX-License-Identifier: GPL-2.0

//! Livepatch relocations against vmlinux (selftests/test-relocs.sh):
//! `cmdline_proc_show()` replaced by Rust code that calls a static function
//! of vmlinux and reads and writes a static variable of it, through
//! `klp::symbols!` (cmdline_relocs.rs).

use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[path = "cmdline_relocs.rs"]
mod cmdline_relocs;

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/cmdline.c, and `relocs_cmdline_proc_show` has that prototype as
    // an `unsafe extern "C" fn`.
    unsafe {
        klp::func!(
            "cmdline_proc_show",
            cmdline_relocs::relocs_cmdline_proc_show
        )
    },
])]);

klp::livepatch_module! {
    type: KlpRelocsVmlinux,
    patch: PATCH,
    name: "klp_relocs_vmlinux",
    authors: ["klp-rs developers"],
    description: "klp-rs test: livepatch relocations against vmlinux",
    license: "GPL",
}

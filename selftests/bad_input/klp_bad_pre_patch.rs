// SPDX-License-Identifier: GPL-2.0

//! Bad input: a `pre_patch` callback that fails. Enabling must fail, the
//! function must stay unpatched, and `post_unpatch` must not run for an
//! object whose `pre_patch` failed.

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use kernel::c_str;
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

/// Replacement for `cmdline_proc_show()`, which must never take effect.
unsafe extern "C" fn cmdline_proc_show(m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: called in place of `cmdline_proc_show()`, with its `seq_file`.
    let m = unsafe { klp::SeqFile::from_raw(m) };
    m.puts(c_str!("klp_bad_pre_patch must never be in effect\n"));
    0
}

/// Refuses to patch.
struct FailingPrePatch;

#[vtable]
impl Callbacks for FailingPrePatch {
    fn pre_patch(_obj: &CallbackObject<'_>) -> Result {
        pr_info!("pre_patch: refusing with -ENODEV\n");
        Err(ENODEV)
    }

    fn post_unpatch(_obj: &CallbackObject<'_>) {
        pr_info!("post_unpatch: must not run\n");
    }
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)`
    // in fs/proc/cmdline.c, and the replacement has that prototype as an
    // `unsafe extern "C" fn`.
    unsafe { klp::func!("cmdline_proc_show", cmdline_proc_show) },
])
.callbacks::<FailingPrePatch>()]);

klp::livepatch_module! {
    type: BadPrePatch,
    patch: PATCH,
    name: "klp_bad_pre_patch",
    authors: ["klp-rs developers"],
    description: "bad input test: pre_patch fails",
    license: "GPL",
}

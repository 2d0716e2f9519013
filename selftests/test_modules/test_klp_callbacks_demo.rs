// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_callbacks_demo` selftest module: a
//! live patch whose objects (vmlinux, `test_klp_callbacks_mod` and
//! `test_klp_callbacks_busy`) log each callback the core runs for them. It
//! replaces `busymod_work_func()` of `test_klp_callbacks_busy`; the other
//! objects have callbacks only. `pre_patch_ret` (default 0, writable in
//! sysfs) is what the pre-patch callbacks return.

use kernel::bindings::work_struct;
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[path = "common/callback_info.rs"]
mod callback_info;
use callback_info::callback_info;

klp::module_param! {
    /// `pre_patch_ret`: returned by the pre-patch callbacks (0 or `-errno`).
    static PRE_PATCH_RET: i32 = 0,
        name: "pre_patch_ret", perm: 0o644, description: "pre_patch_ret (default=0)";
}

/// The callbacks of every object: log, and fail pre-patch on request.
struct Demo;

#[vtable]
impl Callbacks for Demo {
    fn pre_patch(obj: &CallbackObject<'_>) -> Result {
        callback_info("pre_patch_callback", obj);
        match PRE_PATCH_RET.get() {
            0 => Ok(()),
            ret => Err(Error::from_errno(ret)),
        }
    }

    fn post_patch(obj: &CallbackObject<'_>) {
        callback_info("post_patch_callback", obj);
    }

    fn pre_unpatch(obj: &CallbackObject<'_>) {
        callback_info("pre_unpatch_callback", obj);
    }

    fn post_unpatch(obj: &CallbackObject<'_>) {
        callback_info("post_unpatch_callback", obj);
    }
}

/// Replacement for `busymod_work_func()` of `test_klp_callbacks_busy`.
unsafe extern "C" fn patched_work_func(_work: *mut work_struct) {
    pr_info!("patched_work_func\n");
}

/// Like the C module, a patch that does not replace others.
static PATCH: Patch = Patch::new(&[
    Object::vmlinux(&[]).callbacks::<Demo>(),
    Object::module(kernel::c_str!("test_klp_callbacks_mod"), &[]).callbacks::<Demo>(),
    Object::module(
        kernel::c_str!("test_klp_callbacks_busy"),
        &[
            // SAFETY: `busymod_work_func` is the `patchable!` entry
            // `unsafe extern "C" fn(work: *mut work_struct)` of
            // test_klp_callbacks_busy (a work function), and `patched_work_func`
            // has that prototype as an `unsafe extern "C" fn`.
            unsafe { klp::func!("busymod_work_func", patched_work_func) },
        ],
    )
    .callbacks::<Demo>(),
])
.replace(false);

klp::livepatch_module! {
    type: TestKlpCallbacksDemo,
    patch: PATCH,
    name: "test_klp_callbacks_demo",
    authors: ["klp-rs developers (after Joe Lawrence's C module)"],
    description: "Livepatch test: livepatch demo",
    license: "GPL",
}

// SPDX-License-Identifier: GPL-2.0

//! Live patch callbacks demo in Rust: the job of the kernel's
//! `samples/livepatch/livepatch-callbacks-demo.c`.
//!
//! The patch has three objects, each with pre/post patch/unpatch
//! [`Callbacks`] that log which callback ran for which object, and in which
//! state the object's module was:
//!
//! - vmlinux, with no function to patch;
//! - `livepatch_callbacks_mod`, with no function to patch;
//! - `livepatch_callbacks_busymod`, whose `busymod_work_func()` it replaces.
//!
//! ```text
//! insmod livepatch_callbacks_mod.ko
//! insmod livepatch_callbacks_demo.ko
//! echo 0 > /sys/kernel/livepatch/livepatch_callbacks_demo/enabled
//! rmmod livepatch_callbacks_demo
//! rmmod livepatch_callbacks_mod
//! ```
//!
//! and watch `dmesg`. Load the modules in the other order to see the callbacks
//! of a module object run when that module comes (and goes) while the patch
//! is enabled.
//!
//! The `pre_patch_ret` parameter is what every `pre_patch` callback returns:
//! with `insmod livepatch_callbacks_demo.ko pre_patch_ret=-19` enabling the
//! patch fails (`insmod` reports "No such device") and nothing is patched;
//! with `echo -19 > /sys/module/livepatch_callbacks_demo/parameters/pre_patch_ret`
//! after the patch is enabled, the module loader refuses target modules
//! loaded afterwards.
//!
//! `livepatch_callbacks_busymod block_transition=Y` parks a worker in
//! `busymod_work_func()`, so the patching transition stays blocked until the
//! parameter is set back to `N`.
//!
//! Like the C sample, the patch does not replace the patches loaded before it
//! (no atomic replace), so only its own callbacks are involved.

use core::ffi::c_void;
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, ModuleState, Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

klp::module_param! {
    /// What every `pre_patch` callback returns: 0, or a negative errno that
    /// makes it fail.
    static PRE_PATCH_RET: i32 = 0,
        name: "pre_patch_ret", perm: 0o644, description: "pre_patch_ret (default=0)";
}

/// How the C sample describes a module state.
fn state_text(state: ModuleState) -> &'static str {
    match state {
        ModuleState::Live => "[MODULE_STATE_LIVE] Normal state",
        ModuleState::Coming => "[MODULE_STATE_COMING] Full formed, running module_init",
        ModuleState::Going => "[MODULE_STATE_GOING] Going away",
        ModuleState::Unformed => "[MODULE_STATE_UNFORMED] Still setting it up",
    }
}

/// Logs that `callback` ran for `obj`, with the state of its module.
fn callback_info(callback: &str, obj: &CallbackObject<'_>) {
    match (obj.name(), obj.module_state()) {
        (None, _) => pr_info!("{}: vmlinux\n", callback),
        (Some(name), Some(state)) => pr_info!("{}: {} -> {}\n", callback, name, state_text(state)),
        (Some(name), None) => pr_info!("{}: {}\n", callback, name),
    }
}

/// The callbacks of every object of the patch.
struct DemoCallbacks;

#[vtable]
impl Callbacks for DemoCallbacks {
    fn pre_patch(obj: &CallbackObject<'_>) -> Result {
        callback_info("pre_patch_callback", obj);
        match PRE_PATCH_RET.get() {
            0 => Ok(()),
            errno => Err(Error::from_errno(errno)),
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

/// Replacement for `busymod_work_func()` of `livepatch_callbacks_busymod`,
/// with its signature (a pointer to the module's work state, unused here).
extern "C" fn patched_work_func(_busy: *const c_void) {
    pr_info!("patched_work_func\n");
}

static PATCH: Patch = Patch::new(&[
    Object::vmlinux(&[]).callbacks::<DemoCallbacks>(),
    Object::module(kernel::c_str!("livepatch_callbacks_mod"), &[]).callbacks::<DemoCallbacks>(),
    Object::module(
        kernel::c_str!("livepatch_callbacks_busymod"),
        &[
            // SAFETY: `busymod_work_func` is the `patchable!` entry
            // `extern "C" fn(busy: &Busy)` of livepatch_callbacks_busymod, one
            // pointer in the C ABI, and `patched_work_func` takes that pointer
            // (as `*const c_void`), an `extern "C" fn` returning nothing.
            unsafe { klp::func!("busymod_work_func", patched_work_func) },
        ],
    )
    .callbacks::<DemoCallbacks>(),
])
.replace(false);

klp::livepatch_module! {
    type: LivepatchCallbacksDemo,
    patch: PATCH,
    name: "livepatch_callbacks_demo",
    authors: ["klp-rs developers"],
    description: "Rust live patch sample: pre/post (un)patch callbacks",
    license: "GPL",
}

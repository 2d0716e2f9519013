// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_kprobe` selftest module: a kprobe on
//! `cmdline_proc_show()`, registered while the module is loaded. With
//! `has_post_handler=y` (the default) the kprobe has a (empty) post handler,
//! which makes kprobes use an ftrace handler with `FTRACE_OPS_FL_IPMODIFY`,
//! so a live patch of the same function cannot be enabled; with
//! `has_post_handler=n` it has none, and the live patch can.

use kernel::bindings::pt_regs;
use kernel::ffi::c_ulong;
use kernel::prelude::*;
use kernel::types::Opaque;

use klp::bindings::{self, kprobe};
use klp::stand_ins::kernel::char_ptr;

// klp-rs, mounted whole as `klp`, as in every module: this one uses only its
// stand-ins and bindings, not the live patch API.
#[path = "../../src/lib.rs"]
pub mod klp;

klp::module_param! {
    /// `has_post_handler`: whether the kprobe gets a post handler.
    static HAS_POST_HANDLER: bool = true,
        name: "has_post_handler", perm: 0o444,
        description: "has_post_handler (default=true)";
}

klp::module! {
    type: TestKlpKprobe,
    name: "test_klp_kprobe",
    authors: ["klp-rs developers (after Michael Vetter's C module)"],
    description: "Livepatch test: kprobe function",
    license: "GPL",
}

/// The post handler: does nothing; having one is what matters. In
/// `.kprobes.text`, as C's `__kprobes` puts it, so that it cannot be probed
/// itself.
#[link_section = ".kprobes.text"]
extern "C" fn post_handler(_p: *mut kprobe, _regs: *mut pt_regs, _flags: c_ulong) {}

/// A `struct kprobe` whose fields are all zero (null pointers, no handlers,
/// 0 offsets and flags), as C's static initialiser leaves the fields it does
/// not name.
const fn zeroed_kprobe() -> kprobe {
    // SAFETY: all-zero is a valid `kprobe`: integers, null pointers, `None` handlers.
    unsafe { core::mem::zeroed() }
}

/// The kprobe, in static memory as in C: it stays put, and alive, for as
/// long as the module is loaded, which covers the time it is registered.
/// `Opaque`, because the kprobes core writes to it while it is registered.
struct StaticKprobe(Opaque<kprobe>);

// SAFETY: this module's code touches the kprobe only in module init, before
// registering it, and in module exit, through `unregister_kprobe()`: the
// module loader runs init and exit one after the other, never at the same
// time. In between, only the kprobes core uses it, under its own locks, and
// `symbol_name` points to a static string.
unsafe impl Sync for StaticKprobe {}

/// C's `static struct kprobe kp = { .symbol_name = "cmdline_proc_show" }`.
static KP: StaticKprobe = StaticKprobe(Opaque::new(kprobe {
    symbol_name: char_ptr(kernel::c_str!("cmdline_proc_show")),
    ..zeroed_kprobe()
}));

/// The module: the kprobe is registered while it exists.
struct TestKlpKprobe;

impl kernel::Module for TestKlpKprobe {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let kp = KP.0.get();
        if HAS_POST_HANDLER.get() {
            // SAFETY: init runs once, before registration: nothing else accesses the kprobe.
            unsafe { (*kp).post_handler = Some(post_handler) };
        }
        // SAFETY: `kp` is a valid, unregistered, static kprobe; exit unregisters it before unload.
        kernel::error::to_result(unsafe { bindings::register_kprobe(kp) })?;
        Ok(Self)
    }
}

impl Drop for TestKlpKprobe {
    fn drop(&mut self) {
        // SAFETY: init registered the static kprobe (else no module); only this unregisters it.
        unsafe { bindings::unregister_kprobe(KP.0.get()) };
    }
}

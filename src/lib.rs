// SPDX-License-Identifier: GPL-2.0

//! klp-rs: kernel live patches written in Rust.
//!
//! A live patch module declares *what* it patches as plain constant data, a
//! [`Patch`] of [`Object`]s (vmlinux or a module) of [`Func`]s (the name of
//! the function to replace and its replacement), and hands it to
//! [`livepatch_module!`](crate::livepatch_module). The library builds the
//! `struct klp_patch` / `klp_object` / `klp_func` arrays the livepatch core
//! expects (null-terminated, in memory that stays put until the core lets the
//! module go), enables the patch from module init and maps the core's errors
//! to [`kernel::error::Error`].
//!
//! Atomic replace is the default: a new [`Patch`] replaces every patch loaded
//! before it, and the core reverts, through NOP entries, each function an
//! earlier patch changed and the new one does not. Use
//! [`Patch::replace`]`(false)` for a patch meant to stack on top of others.
//!
//! Out-of-tree modules cannot link a shared Rust crate, so each module
//! compiles this library into itself. Mount it as `klp` at the crate root:
//!
//! ```ignore
//! #[path = "../../src/lib.rs"]
//! pub mod klp;
//! ```
//!
//! # Example
//!
//! ```ignore
//! use kernel::prelude::*;
//! use klp::{Object, Patch};
//!
//! #[path = "../../src/lib.rs"]
//! pub mod klp;
//!
//! /// The replacement for `cmdline_proc_show()`.
//! unsafe extern "C" fn patched_cmdline_proc_show(
//!     m: *mut kernel::bindings::seq_file,
//!     _v: *mut core::ffi::c_void,
//! ) -> core::ffi::c_int {
//!     // SAFETY: called in place of `cmdline_proc_show()`, with its `seq_file`.
//!     let m = unsafe { klp::SeqFile::from_raw(m) };
//!     m.puts(c_str!("patched\n"));
//!     0
//! }
//!
//! static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
//!     // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)`
//!     // in fs/proc/cmdline.c, and `patched_cmdline_proc_show` has that
//!     // prototype as an `unsafe extern "C" fn`.
//!     unsafe { klp::func!("cmdline_proc_show", patched_cmdline_proc_show) },
//! ])]);
//!
//! klp::livepatch_module! {
//!     type: MyPatch,
//!     patch: PATCH,
//!     name: "my_patch",
//!     authors: ["Me"],
//!     description: "Patches /proc/cmdline",
//!     license: "GPL",
//! }
//! ```

pub mod livepatch;
pub mod stand_ins;

pub use livepatch::{
    bindings, callbacks, func, global_data, module, object, patch, patchable, registration,
    seq_file, shadow, state, symbols,
};
pub use stand_ins::{delayed_work, param, sys, work};

pub use callbacks::{CallbackObject, Callbacks, ModuleState, Unpatched};
pub use func::{Func, NewFunc};
pub use global_data::GlobalData;
pub use object::Object;
pub use param::{Param, ParamArray};
pub use patch::{Patch, PatchError};
pub use registration::{Registration, StaticRegistration, Storage};
pub use seq_file::SeqFile;
pub use shadow::{Shadow, ShadowRef};
pub use state::{State, StateDesc, StateRef};

/// The macros, re-exported so they can be named through the library's path,
/// e.g. `klp::func!`.
pub use crate::{
    func, global_data, impl_has_delayed_work, livepatch_module, modinfo_livepatch, module,
    module_param, module_param_array, new_delayed_work, patchable, symbols,
};

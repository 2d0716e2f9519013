// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|Registration::enable` is unsafe and requires unsafe block|Registration::enable needs an unsafe block (E0133)

//! Must NOT compile: `Registration::enable` outside an `unsafe` block. Once
//! it succeeds the core links the patch's structures, so a module may call it
//! only as the last fallible step of its init and must keep the
//! `Registration` until module exit: the caller says so, in `unsafe`.

use core::ffi::c_uint;
use kernel::prelude::*;
use klp::{Object, Patch, Registration};

#[path = "../../src/lib.rs"]
pub mod klp;

/// A replacement with `msleep()`'s exact signature.
unsafe extern "C" fn msleep(_msecs: c_uint) {}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[klp::func!(
    "msleep",
    msleep,
    checked_against = kernel::bindings::msleep
)])]);

klp::module! {
    type: RegistrationEnableSafe,
    name: "registration_enable_safe",
    authors: ["klp-rs developers"],
    description: "compile test: Registration::enable needs unsafe",
    license: "GPL",
}

klp::modinfo_livepatch!();

/// The module: holds the patch.
struct RegistrationEnableSafe {
    _registration: Registration,
}

impl kernel::Module for RegistrationEnableSafe {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _registration: Registration::enable(&PATCH, module)?,
        })
    }
}

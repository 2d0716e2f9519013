// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|klp: a module name must be shorter than MODULE_NAME_LEN|livepatch_module! rejects a module name the core would refuse

//! Must not compile: a module object whose name is longer than the kernel's
//! module names can be (`MODULE_NAME_LEN`), which the core would refuse.

use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;
use common::msleep;

static PATCH: Patch = Patch::new(&[Object::module(
    kernel::c_str!("a_module_name_of_sixty_bytes_which_no_module_can_ever_have"),
    &[klp::func!(
        "msleep",
        msleep,
        checked_against = kernel::bindings::msleep
    )],
)]);

compile_test!("patch_long_module_name", PATCH);

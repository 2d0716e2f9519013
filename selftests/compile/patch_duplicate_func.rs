// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-fail|klp: a function (name and sympos) is listed twice in one object|livepatch_module! rejects a function listed twice (sympos 0 and 1 are one)

//! Must not compile: one function listed twice in an object (their sysfs
//! directories would clash, and the core would refuse the patch at `insmod`).

use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[macro_use]
#[path = "common.rs"]
mod common;
use common::msleep;

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    klp::func!("msleep", msleep, checked_against = kernel::bindings::msleep),
    klp::func!("msleep", msleep, checked_against = kernel::bindings::msleep).sympos(1),
])]);

compile_test!("patch_duplicate_func", PATCH);

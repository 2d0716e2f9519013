// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_state2` selftest module: state 1
//! (`console_loglevel`) at version 2, which supports migration. The body is
//! shared with `test_klp_state3`, as in C; see `common/state_v2.rs`.

#[path = "../../src/lib.rs"]
pub mod klp;

#[path = "common/callback_info.rs"]
mod callback_info;

#[path = "common/console_loglevel.rs"]
mod console_loglevel;

#[path = "common/state_v2.rs"]
mod state_v2;

klp::livepatch_module! {
    type: TestKlpState2,
    patch: state_v2::PATCH,
    name: "test_klp_state2",
    authors: ["klp-rs developers (after Petr Mladek's C module)"],
    description: "Livepatch test: system state modification",
    license: "GPL",
}

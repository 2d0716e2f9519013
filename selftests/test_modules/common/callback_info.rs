// SPDX-License-Identifier: GPL-2.0

//! The log line every callback of the kernel's callback test modules prints.

use crate::klp::{CallbackObject, ModuleState};
use kernel::prelude::*;

/// How the C test modules name a module state (their `module_state[]`).
fn describe(state: ModuleState) -> &'static str {
    match state {
        ModuleState::Live => "[MODULE_STATE_LIVE] Normal state",
        ModuleState::Coming => "[MODULE_STATE_COMING] Full formed, running module_init",
        ModuleState::Going => "[MODULE_STATE_GOING] Going away",
        ModuleState::Unformed => "[MODULE_STATE_UNFORMED] Still setting it up",
    }
}

/// Logs `<callback>: vmlinux` or `<callback>: <module> -> <state>`, as the C
/// modules' `callback_info()` does (a module object's callbacks only run
/// while that module is loaded).
pub(crate) fn callback_info(callback: &str, obj: &CallbackObject<'_>) {
    match (obj.name(), obj.module_state()) {
        (Some(name), Some(state)) => {
            pr_info!("{}: {} -> {}\n", callback, name, describe(state))
        }
        _ => pr_info!("{}: vmlinux\n", callback),
    }
}

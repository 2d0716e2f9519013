// SPDX-License-Identifier: GPL-2.0

//! What the three steps of the cumulative series share.

use kernel::prelude::*;
use kernel::str::CStr;

use crate::klp::{CallbackObject, Callbacks};

/// The name of a callback's object, as the kernel logs it.
pub fn object_name<'a>(obj: &'a CallbackObject<'_>) -> &'a CStr {
    obj.name().unwrap_or(kernel::c_str!("vmlinux"))
}

/// Logs every callback, so the kernel log shows which patch's callbacks ran.
pub struct LogCallbacks;

#[vtable]
impl Callbacks for LogCallbacks {
    fn pre_patch(obj: &CallbackObject<'_>) -> Result {
        pr_info!("pre_patch callback: {}\n", object_name(obj));
        Ok(())
    }

    fn post_patch(obj: &CallbackObject<'_>) {
        pr_info!("post_patch callback: {}\n", object_name(obj));
    }

    fn pre_unpatch(obj: &CallbackObject<'_>) {
        pr_info!("pre_unpatch callback: {}\n", object_name(obj));
    }

    fn post_unpatch(obj: &CallbackObject<'_>) {
        pr_info!("post_unpatch callback: {}\n", object_name(obj));
    }
}

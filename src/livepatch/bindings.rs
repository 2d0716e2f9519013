// SPDX-License-Identifier: GPL-2.0

//! Raw bindings to `<linux/livepatch.h>`, and to the few other C items the
//! test modules need that `kernel::bindings` lacks (kprobes, procfs).
//!
//! Generated at build time by `scripts/kernel/gen-bindings.sh` for the kernel
//! the modules are built against (neither 6.12's nor 7.3's `kernel::bindings`
//! has livepatch items). Only the allowlisted items are generated; every type
//! they refer to is the one from [`kernel::bindings`], re-exported here through
//! the glob import at the top of the generated file.

#![allow(
    dead_code,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    unreachable_pub,
    unused_imports,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]

include!("../../generated/livepatch_bindings.rs");

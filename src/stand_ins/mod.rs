// SPDX-License-Identifier: GPL-2.0

//! Stand-ins for what a kernel's `kernel` crate lacks, and the one place where
//! the differences between the `kernel` crates of the kernel lines klp-rs
//! supports are handled.
//!
//! Which kernel is the target is known at build time: the `Kbuild` file of
//! klp-rs reads the kernel's version and sets `--cfg klp_kernel_ge_7_0` for
//! Linux 7.0 and later (the line of Debian's 7.3 kernel); the kernel itself
//! passes its configuration as `--cfg CONFIG_*`. Nothing is guessed at run
//! time. klp-rs is tested on two lines, Linux 6.12 LTS and Debian's 7.3;
//! a kernel in between may not build.
//!
//! | stand-in | Linux 6.12 | Linux 7.3 |
//! | --- | --- | --- |
//! | [`param`]: `module_param!`, `module_param_array!` | no parameters in `module!` | `module!` has read-only scalar parameters; no writable ones (`perm`), no arrays, no `.modinfo` types: still needed |
//! | [`sys`]: `msleep()`, `jiffies()`, `time_after()` | none of them | `fsleep()` only: still needed |
//! | [`work`]: `flush_work()` | missing | missing |
//! | [`delayed_work`]: `DelayedWork` with `cancel_sync()` | missing | `DelayedWork` without a way to cancel it: still needed |
//! | [`kernel`]: `klp::module!` (`authors:` on both), C string, `Opaque`, lock class and sysfs attribute helpers | `author:`, `Opaque::raw_get`, `init_timer_key` | `authors:`, `Opaque::cast_into`, `timer_init_key`, `core::ffi::CStr` |

pub mod delayed_work;
pub mod kernel;
pub mod param;
pub mod sys;
pub mod work;

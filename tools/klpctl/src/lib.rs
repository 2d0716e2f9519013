//! klpctl: load, watch, diagnose and remove Linux kernel live patches.
//!
//! The library holds everything; `main.rs` only parses arguments and maps
//! errors to exit codes. Every path is resolved under a root directory
//! ([`paths::Paths`]) and modules are inserted through the
//! [`loader::ModuleLoader`] trait, so the whole tool can be tested against
//! a fake `/sys` and `/proc` tree.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod error;
pub mod generate;
pub mod loader;
pub mod modinfo;
pub mod paths;
pub mod procfs;
pub mod progress;
pub mod runstate;
pub mod signature;
pub mod store;
pub mod sysfs;
pub mod transition;
pub mod wait;

pub use error::{Error, Result};

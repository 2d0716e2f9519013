//! Integration tests of klpctl against fake /sys and /proc trees: through
//! the library API with a fake module loader, and end to end through the
//! built binary.

mod audit;
mod blockers;
mod cli;
mod fixture;
mod idempotent;
mod install;
mod list;
mod load;
mod monitor;
mod remove;
mod scan;
mod signature;
mod status;

//! The subcommands, as library functions writing to any output, so that
//! tests can run them against a fake tree with a fake module loader.

use std::time::Duration;

use crate::loader::ModuleLoader;
use crate::paths::Paths;

mod blockers;
mod ensure;
mod install;
mod list;
mod load;
mod monitor;
mod remove;
mod status;

pub use blockers::blockers;
pub use ensure::{EnsureOptions, ensure};
pub use install::{
    InstalledPatch, InstalledState, NOLOAD, install, installed_state, list_installed, load_all,
    noload, read_installed, uninstall,
};
pub use list::list;
pub use load::{DEFAULT_LOAD_TIMEOUT, LoadOptions, LoadWait, OnTimeout, load};
pub use monitor::{Format, InactiveModule, check, inactive_modules, info, prometheus};
pub use remove::{disable, unload};
pub use status::{StatusOptions, status};

/// Version of the JSON documents printed with `--json`. It changes only
/// when a field is removed or changes meaning; fields may be added.
pub const JSON_VERSION: u32 = 1;

/// Everything a subcommand works with.
pub struct Env<'a> {
    /// Where the kernel's files are.
    pub paths: Paths,
    /// How modules are inserted and removed.
    pub loader: &'a dyn ModuleLoader,
    /// Is the output a terminal (progress bars) or not (plain lines)?
    pub tty: bool,
    /// Where the audit records of the changes go.
    pub audit: &'a dyn crate::audit::AuditSink,
}

/// Writes a line to the output, turning a failed write into an error.
macro_rules! say {
    ($out:expr) => {
        writeln!($out).map_err(|e| $crate::error::Error::io("write output", e))?
    };
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).map_err(|e| $crate::error::Error::io("write output", e))?
    };
}
pub(crate) use say;

/// Writes a warning or progress line to the diagnostic stream (stderr).
/// A failed write is ignored: diagnostics going nowhere must not stop the
/// command.
macro_rules! diag {
    ($err:expr, $($arg:tt)*) => {
        let _ = writeln!($err, $($arg)*);
    };
}
pub(crate) use diag;

/// Prints `doc` as pretty JSON, one document, to `out`.
pub(crate) fn print_json(
    out: &mut dyn std::io::Write,
    doc: &impl serde::Serialize,
) -> crate::Result<()> {
    let text = serde_json::to_string_pretty(doc)
        .map_err(|e| crate::Error::Failed(format!("cannot encode JSON: {e}")))?;
    say!(out, "{text}");
    Ok(())
}

/// Formats a duration in seconds for messages: `1.5s`.
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

//! Error type of klpctl and the process exit code each error maps to.

use std::io;
use std::path::PathBuf;

/// Process exit codes of `klpctl`. They are part of the command-line
/// interface: scripts may rely on them (see `Documentation/klpctl.md`).
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Any other error: I/O errors, the kernel refused a request.
    pub const ERROR: i32 = 1;
    /// Invalid command line (clap's own code).
    pub const USAGE: i32 = 2;
    /// A wait ran out of time (`--timeout`); for `unload`: the module was
    /// not removed.
    pub const TIMEOUT: i32 = 3;
    /// Unknown patch, or the `.ko` file does not exist.
    pub const NOT_FOUND: i32 = 4;
    /// Not root / permission denied.
    pub const PERMISSION: i32 = 5;
    /// The kernel has no livepatch support (`/sys/kernel/livepatch` missing).
    pub const NO_LIVEPATCH: i32 = 6;
    /// The file is not a live patch kernel module.
    pub const NOT_LIVEPATCH: i32 = 7;
    /// Busy or conflicting state: module already loaded, another patch in
    /// transition, module in use.
    pub const BUSY: i32 = 8;
    /// `check`: an installed patch is not in effect: not loaded, or
    /// another build of it is, or its module is loaded without its patch.
    pub const MISSING: i32 = 10;
    /// `check`: an installed patch is loaded but disabled (unpatching).
    pub const DISABLED: i32 = 11;
    /// `check`: a patch is in transition.
    pub const IN_TRANSITION: i32 = 12;
    /// `check` and `load --all`: an installed patch is skipped by the crash
    /// guard (a load at boot never finished).
    pub const CRASH_GUARD: i32 = 13;
}

/// Everything that can go wrong in klpctl.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `/sys/kernel/livepatch` does not exist under the root.
    #[error(
        "{} does not exist: this kernel has no livepatch support (CONFIG_LIVEPATCH)",
        path.display()
    )]
    LivepatchUnavailable {
        /// The path that was looked for.
        path: PathBuf,
    },

    /// No live patch of that name is loaded.
    #[error(
        "unknown patch '{}': {}",
        crate::paths::escape_name(name),
        known_list(known)
    )]
    UnknownPatch {
        /// The name asked for.
        name: String,
        /// The live patches that are loaded.
        known: Vec<String>,
    },

    /// No such installed patch.
    #[error(
        "'{}' is not installed for kernel {release}: {}",
        crate::paths::escape_name(name),
        if known.is_empty() { "nothing is installed".to_string() }
        else { format!("installed: {}", known.join(", ")) }
    )]
    NotInstalled {
        /// The name asked for.
        name: String,
        /// The kernel release looked at.
        release: String,
        /// The installed patches.
        known: Vec<String>,
    },

    /// A failure with its own exit code, already worded for the user.
    #[error("{message}")]
    Exit {
        /// The exit code.
        code: i32,
        /// The message.
        message: String,
    },

    /// A file given on the command line does not exist.
    #[error("{}: no such file", path.display())]
    FileNotFound {
        /// The missing file.
        path: PathBuf,
    },

    /// The operation needs root.
    #[error("{action}: permission denied; klpctl must run as root for this")]
    NotRoot {
        /// What was being attempted.
        action: String,
    },

    /// The file is a kernel module or ELF file, but not a live patch module,
    /// or not a usable kernel module at all.
    #[error("{}: {reason}", path.display())]
    NotLivepatchModule {
        /// The file that was checked.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },

    /// A wait ran out of time.
    #[error("{0}")]
    Timeout(String),

    /// Busy or conflicting state (already loaded, another transition, in use).
    #[error("{0}")]
    Busy(String),

    /// A system call or sysfs write failed with an errno the kernel chose.
    #[error("{action}: {message} ({source})")]
    Kernel {
        /// What was being attempted.
        action: String,
        /// Explanation of the errno in this context.
        message: String,
        /// The OS error.
        source: io::Error,
    },

    /// An I/O error with context.
    #[error("{context}: {source}")]
    Io {
        /// What was being read or written.
        context: String,
        /// The OS error.
        source: io::Error,
    },

    /// Unexpected contents of a sysfs or procfs file.
    #[error("{}: unexpected contents {content:?}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What it held.
        content: String,
    },

    /// Any other failure, already worded for the user.
    #[error("{0}")]
    Failed(String),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "no live patches are loaded".to_string()
    } else {
        format!("loaded live patches: {}", known.join(", "))
    }
}

impl Error {
    /// The process exit code for this error (see [`exit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::LivepatchUnavailable { .. } => exit::NO_LIVEPATCH,
            Error::UnknownPatch { .. }
            | Error::FileNotFound { .. }
            | Error::NotInstalled { .. } => exit::NOT_FOUND,
            Error::Exit { code, .. } => *code,
            Error::NotRoot { .. } => exit::PERMISSION,
            Error::NotLivepatchModule { .. } => exit::NOT_LIVEPATCH,
            Error::Timeout(_) => exit::TIMEOUT,
            Error::Busy(_) => exit::BUSY,
            Error::Kernel { source, .. } | Error::Io { source, .. } => match source.kind() {
                io::ErrorKind::PermissionDenied => exit::PERMISSION,
                _ => exit::ERROR,
            },
            Error::Parse { .. } | Error::Failed(_) => exit::ERROR,
        }
    }

    /// Wraps an I/O error with a description of what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result type used throughout klpctl.
pub type Result<T> = std::result::Result<T, Error>;

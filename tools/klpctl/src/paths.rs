//! Where the kernel's files are: every path is resolved under a root
//! directory (`--root`, default `/`), so tests can use a fake tree.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The root under which `sys/` and `proc/` are looked up.
#[derive(Debug, Clone)]
pub struct Paths {
    root: PathBuf,
}

impl Paths {
    /// Paths under `root` (use `/` for the running system).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Paths { root: root.into() }
    }

    /// The root directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ROOT/sys/kernel/livepatch`.
    pub fn livepatch_dir(&self) -> PathBuf {
        self.root.join("sys/kernel/livepatch")
    }

    /// `ROOT/sys/kernel/livepatch/PATCH`. The name must have been checked
    /// with [`check_name`].
    pub fn patch_dir(&self, patch: &str) -> PathBuf {
        self.livepatch_dir().join(patch)
    }

    /// `ROOT/proc`.
    pub fn proc_dir(&self) -> PathBuf {
        self.root.join("proc")
    }

    /// `ROOT/sys/module/MODULE`.
    pub fn module_dir(&self, module: &str) -> PathBuf {
        self.root.join("sys/module").join(module)
    }

    /// `ROOT/proc/sys/kernel/osrelease` (the running kernel's release).
    pub fn osrelease(&self) -> PathBuf {
        self.root.join("proc/sys/kernel/osrelease")
    }

    /// Fails with [`Error::LivepatchUnavailable`] unless
    /// `ROOT/sys/kernel/livepatch` is a directory.
    pub fn require_livepatch(&self) -> Result<PathBuf> {
        let dir = self.livepatch_dir();
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(Error::LivepatchUnavailable { path: dir })
        }
    }
}

/// Is `name` usable as one path component (a patch or module name)?
/// Names with `/`, NUL, or `.`/`..` are never valid patch names.
pub fn check_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

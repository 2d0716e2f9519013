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

    /// `ROOT/proc/cmdline` (the kernel command line).
    pub fn cmdline(&self) -> PathBuf {
        self.root.join("proc/cmdline")
    }

    /// `ROOT/run/klp-rs`: what klpctl remembers until the next boot (the
    /// build it loaded for each patch, when it started a transition).
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run/klp-rs")
    }

    /// `ROOT/var/lib/klp-rs`: the installed patches, one directory per
    /// kernel release.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("var/lib/klp-rs")
    }

    /// The running kernel's release: `ROOT/proc/sys/kernel/osrelease`,
    /// else `uname(2)`'s (with root `/` both say the same).
    pub fn kernel_release(&self) -> Result<String> {
        if let Ok(release) = crate::sysfs::read_trimmed(&self.osrelease())
            && !release.is_empty()
        {
            return Ok(release);
        }
        uname_release().ok_or_else(|| {
            Error::Failed(format!(
                "cannot tell the kernel release: {} is unreadable and uname failed",
                self.osrelease().display()
            ))
        })
    }

    /// `ROOT/sys/module/module/parameters/sig_enforce`: `Y` when the kernel
    /// loads only validly signed modules (`CONFIG_MODULE_SIG`).
    pub fn sig_enforce(&self) -> PathBuf {
        self.root.join("sys/module/module/parameters/sig_enforce")
    }

    /// `ROOT/sys/kernel/security/lockdown`: the kernel lockdown modes, the
    /// active one in brackets (the lockdown LSM, securityfs mounted).
    pub fn lockdown(&self) -> PathBuf {
        self.root.join("sys/kernel/security/lockdown")
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

/// `uname -r`.
fn uname_release() -> Option<String> {
    // SAFETY: utsname is plain data; uname fills it and NUL-terminates its
    // fields.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    // SAFETY: `release` is a NUL-terminated C string inside `uts`.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) };
    release.to_str().ok().map(str::to_string)
}

/// Is `name` usable as one path component (a patch or module name)?
/// Names with `/`, NUL, or `.`/`..` are never valid patch names.
pub fn check_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// The longest module name the kernel takes (`MODULE_NAME_LEN` - 1).
pub const MODULE_NAME_MAX: usize = 55;

/// Is `name` a module (and patch) name as the kernel makes them: 1 to
/// [`MODULE_NAME_MAX`] characters of `[A-Za-z0-9_]`?
pub fn valid_module_name(name: &str) -> bool {
    (1..=MODULE_NAME_MAX).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The module name an argument stands for, as modprobe and kpatch take
/// it: the last component of a path, without a `.ko` (or compressed
/// `.ko.xz`, `.ko.zst`, `.ko.gz`) suffix, with `-` turned into `_` as the
/// kernel does. `/x/livepatch-sample.ko` → `livepatch_sample`. The result
/// still has to be checked with [`valid_module_name`].
pub fn module_name_from(arg: &str) -> String {
    let base = arg.rsplit('/').next().unwrap_or(arg);
    let base = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .find_map(|suffix| base.strip_suffix(suffix))
        .unwrap_or(base);
    base.replace('-', "_")
}

/// A name from a file or the command line, made safe to show on a
/// terminal: escape sequences, control and non-ASCII characters escaped
/// (`\u{1b}`, `\n`), and cut after 60 characters with the length told.
pub fn escape_name(name: &str) -> String {
    const SHOWN: usize = 60;
    let count = name.chars().count();
    let shown: String = name
        .chars()
        .take(SHOWN)
        .flat_map(char::escape_default)
        .collect();
    if count > SHOWN {
        format!("{shown}... ({count} characters)")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert!(valid_module_name("livepatch_sample"));
        assert!(valid_module_name(&"a".repeat(55)));
        assert!(!valid_module_name(&"a".repeat(56)));
        for bad in [
            "",
            "a-b",
            "a b",
            "a.b",
            "a/b",
            "..",
            "\u{e9}t\u{e9}",
            "a\nb",
        ] {
            assert!(!valid_module_name(bad), "{bad:?}");
        }
        assert_eq!(module_name_from("livepatch-sample"), "livepatch_sample");
        assert_eq!(
            module_name_from("/x/y/livepatch-sample.ko"),
            "livepatch_sample"
        );
        assert_eq!(module_name_from("p.ko.zst"), "p");
        assert_eq!(module_name_from("p.ko.bak"), "p.ko.bak");
        assert_eq!(escape_name("a\x1b[2Jb\n"), "a\\u{1b}[2Jb\\n");
        let long = escape_name(&"x".repeat(300));
        assert!(
            long.ends_with("x... (300 characters)") && long.len() < 90,
            "{long}"
        );
    }
}

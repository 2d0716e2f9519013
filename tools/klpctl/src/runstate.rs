//! What klpctl remembers until the next boot, under `/run/klp-rs` (a
//! tmpfs: it goes with the modules it describes):
//!
//! - `loaded/NAME`: the build klpctl loaded for patch NAME (its
//!   `srcversion` if it has one, and the SHA-256 of the file), so that a
//!   second `load` of the same file is recognised as such even for modules
//!   built without a `srcversion` (no `MODULE_VERSION`, no
//!   `CONFIG_MODULE_SRCVERSION_ALL`: the kernel then shows none).
//! - `transition/NAME`: when klpctl started a transition of NAME and in
//!   which direction, for `klp_patch_transition_seconds`.
//!
//! Failing to write them never fails a command: klpctl then knows less.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::modinfo::LivepatchModule;
use crate::paths::Paths;
use crate::sysfs;
use crate::transition::Direction;

/// Which build of a patch's module is (or will be) loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Both sides have a `srcversion` and they are equal, or klpctl loaded
    /// this very file (same SHA-256).
    Same,
    /// Another build: the two values that differ.
    Different {
        /// What is loaded (`srcversion` or `sha256:...`).
        loaded: String,
        /// What the file has.
        file: String,
    },
    /// Nothing to compare: the module has no `srcversion` and klpctl did
    /// not load it (insmod, or before a klpctl that records builds).
    Unknown,
}

fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path)
}

fn loaded_path(paths: &Paths, name: &str) -> PathBuf {
    paths.run_dir().join("loaded").join(name)
}

fn transition_path(paths: &Paths, name: &str) -> PathBuf {
    paths.run_dir().join("transition").join(name)
}

/// Records that klpctl loaded `module`; an error is returned for the
/// caller to warn about.
pub fn record_loaded(paths: &Paths, module: &LivepatchModule) -> io::Result<()> {
    let mut text = format!("sha256 {}\nfile {}\n", module.sha256, module.path.display());
    if let Some(v) = module.srcversion() {
        text.push_str(&format!("srcversion {v}\n"));
    }
    write_atomic(&loaded_path(paths, &module.name), &text)
}

/// The SHA-256 klpctl recorded when it loaded patch `name`.
pub fn loaded_sha256(paths: &Paths, name: &str) -> Option<String> {
    let text = fs::read_to_string(loaded_path(paths, name)).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("sha256 "))
        .map(str::to_string)
}

/// The `srcversion` the kernel shows for module `name`, if any.
pub fn kernel_srcversion(paths: &Paths, name: &str) -> Option<String> {
    sysfs::read_trimmed(&paths.module_dir(name).join("srcversion"))
        .ok()
        .filter(|s| !s.is_empty())
}

/// Forgets what was recorded about patch `name` (its module was removed).
pub fn forget(paths: &Paths, name: &str) {
    let _ = fs::remove_file(loaded_path(paths, name));
    let _ = fs::remove_file(transition_path(paths, name));
}

/// Compares the loaded module `module.name` with the file `module`.
pub fn identify(paths: &Paths, module: &LivepatchModule) -> Identity {
    if let (Some(file), Some(loaded)) =
        (module.srcversion(), kernel_srcversion(paths, &module.name))
    {
        return if file == loaded {
            Identity::Same
        } else {
            Identity::Different {
                loaded: format!("srcversion {loaded}"),
                file: format!("srcversion {file}"),
            }
        };
    }
    match loaded_sha256(paths, &module.name) {
        Some(sha) if sha == module.sha256 => Identity::Same,
        Some(sha) => Identity::Different {
            loaded: format!("sha256 {}", short(&sha)),
            file: format!("sha256 {}", short(&module.sha256)),
        },
        None => Identity::Unknown,
    }
}

fn short(sha: &str) -> &str {
    sha.get(..16).unwrap_or(sha)
}

/// Records that a transition of `name` in `direction` starts now.
pub fn record_transition_start(paths: &Paths, name: &str, direction: Direction) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let _ = write_atomic(
        &transition_path(paths, name),
        &format!("{now:.3} {}\n", direction.as_str()),
    );
}

/// How long the transition of `name` in `direction` has been going on, if
/// klpctl started it (and recorded when).
pub fn transition_age(paths: &Paths, name: &str, direction: Direction) -> Option<Duration> {
    let text = fs::read_to_string(transition_path(paths, name)).ok()?;
    let (start, dir) = text.trim().split_once(' ')?;
    if dir != direction.as_str() {
        return None;
    }
    let start = UNIX_EPOCH + Duration::try_from_secs_f64(start.parse().ok()?).ok()?;
    // The start is recorded rounded to the millisecond: it may lie a
    // fraction of one in the future.
    Some(SystemTime::now().duration_since(start).unwrap_or_default())
}

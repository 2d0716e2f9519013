//! Model of the live patches in `/sys/kernel/livepatch`: reading patches,
//! their objects and functions, and writing the patch attributes.
//!
//! Layout (Linux 6.12):
//!
//! ```text
//! /sys/kernel/livepatch/<patch>/{enabled,transition,force,replace}
//! /sys/kernel/livepatch/<patch>/<object>/patched
//! /sys/kernel/livepatch/<patch>/<object>/<function>,<sympos>/
//! ```
//!
//! Attributes that only some kernels have (`signal`, `stack_order`,
//! per-function `patched`) are looked up when needed.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::paths::{Paths, check_name, module_name_from, valid_module_name};

/// One loaded live patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Patch {
    /// Patch name (= module name).
    pub name: String,
    /// `enabled`: the patch is (being) applied.
    pub enabled: bool,
    /// `transition`: a transition of this patch is in progress.
    pub transition: bool,
    /// `replace`: atomic replace patch; `None` if the kernel has no such file.
    pub replace: Option<bool>,
    /// Whether the transition was forced. Linux 6.12 does not expose it
    /// (`force` is write-only), so this is `None` there.
    pub forced: Option<bool>,
    /// `stack_order` (newer kernels), `None` where missing.
    pub stack_order: Option<u64>,
    /// The module's `srcversion` (`/sys/module/NAME/srcversion`), where the
    /// kernel shows one.
    pub srcversion: Option<String>,
    /// The module's `description`: the kernel does not show it; klpctl
    /// takes it from the installed copy of the same build, if any.
    pub description: Option<String>,
    /// Patched objects (`vmlinux` or module names), sorted by name.
    pub objects: Vec<Object>,
}

/// One object (vmlinux or a module) of a patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Object {
    /// `vmlinux` or the module name.
    pub name: String,
    /// `patched`: the object is loaded and its functions are redirected.
    pub patched: bool,
    /// Patched functions, sorted by name.
    pub functions: Vec<Function>,
}

/// One patched function of an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Function {
    /// Function (symbol) name.
    pub name: String,
    /// Symbol position (`0`: the symbol is unique), from the `name,sympos`
    /// directory name.
    pub sympos: Option<u64>,
    /// Per-function `patched`, on kernels that have it; else `None`.
    pub patched: Option<bool>,
}

/// The two state flags of a patch, read together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchState {
    /// `enabled`.
    pub enabled: bool,
    /// `transition`.
    pub transition: bool,
}

/// Reads a sysfs file and trims it.
pub fn read_trimmed(path: &Path) -> io::Result<String> {
    Ok(fs::read_to_string(path)?.trim().to_string())
}

/// Reads a `0`/`1` attribute.
pub fn read_flag(path: &Path) -> Result<bool> {
    let text = read_trimmed(path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
    parse_flag(&text).ok_or_else(|| Error::Parse {
        path: path.to_path_buf(),
        content: text,
    })
}

fn parse_flag(text: &str) -> Option<bool> {
    match text {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// Reads a `0`/`1` attribute that may be missing or unreadable.
pub fn read_optional_flag(path: &Path) -> Option<bool> {
    read_trimmed(path).ok().and_then(|t| parse_flag(&t))
}

/// Names of the loaded live patches, sorted. Fails if the kernel has no
/// livepatch support.
pub fn patch_names(paths: &Paths) -> Result<Vec<String>> {
    let dir = paths.require_livepatch()?;
    let entries =
        fs::read_dir(&dir).map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
        if entry.path().is_dir()
            && let Some(name) = entry.file_name().to_str()
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// The loaded live patch that the command-line argument `arg` names: the
/// patch of that name, or else the one `arg` names as modprobe takes
/// module names (a `.ko` path, `-` for `_`: see [`module_name_from`]).
/// Fails with [`Error::UnknownPatch`] (listing the loaded ones) otherwise.
pub fn resolve_patch(paths: &Paths, arg: &str) -> Result<String> {
    let known = patch_names(paths)?;
    if check_name(arg) && known.iter().any(|k| k == arg) {
        return Ok(arg.to_string());
    }
    let name = module_name_from(arg);
    if valid_module_name(&name) && known.contains(&name) {
        Ok(name)
    } else {
        Err(Error::UnknownPatch {
            name: arg.to_string(),
            known,
        })
    }
}

/// Reads `enabled` and `transition` of a patch; `Ok(None)` if the patch
/// directory is gone (the patch was disabled and freed, or never existed).
pub fn read_state(paths: &Paths, name: &str) -> Result<Option<PatchState>> {
    let dir = paths.patch_dir(name);
    if !check_name(name) || !dir.is_dir() {
        return Ok(None);
    }
    let read = |attr: &str| -> Result<Option<bool>> {
        match read_flag(&dir.join(attr)) {
            Ok(v) => Ok(Some(v)),
            // The patch is being freed (its files go before its directory):
            // report it gone.
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(_) if !dir.is_dir() => Ok(None),
            Err(e) => Err(e),
        }
    };
    let (Some(enabled), Some(transition)) = (read("enabled")?, read("transition")?) else {
        return Ok(None);
    };
    Ok(Some(PatchState {
        enabled,
        transition,
    }))
}

/// Reads one patch with its objects and functions.
pub fn read_patch(paths: &Paths, name: &str) -> Result<Patch> {
    let Some(state) = read_state(paths, name)? else {
        return Err(Error::UnknownPatch {
            name: name.to_string(),
            known: patch_names(paths)?,
        });
    };
    let dir = paths.patch_dir(name);
    let stack_order = read_trimmed(&dir.join("stack_order"))
        .ok()
        .and_then(|t| t.parse().ok());
    let mut objects = Vec::new();
    for (obj_name, obj_dir) in subdirs(&dir)? {
        let mut functions = Vec::new();
        for (func_dir_name, func_dir) in subdirs(&obj_dir)? {
            let (fname, sympos) = match func_dir_name.rsplit_once(',') {
                Some((f, pos)) => (f.to_string(), pos.parse().ok()),
                None => (func_dir_name.clone(), None),
            };
            functions.push(Function {
                name: fname,
                sympos,
                patched: read_optional_flag(&func_dir.join("patched")),
            });
        }
        objects.push(Object {
            name: obj_name,
            patched: read_optional_flag(&obj_dir.join("patched")).unwrap_or(false),
            functions,
        });
    }
    Ok(Patch {
        name: name.to_string(),
        enabled: state.enabled,
        transition: state.transition,
        replace: read_optional_flag(&dir.join("replace")),
        forced: read_optional_flag(&dir.join("force")),
        stack_order,
        srcversion: crate::runstate::kernel_srcversion(paths, name),
        description: None,
        objects,
    })
}

/// Reads every loaded live patch. Patches that disappear while being read
/// (a finished unpatching transition) are left out, and so are those the
/// kernel is freeing: their attribute files go before their directory, so
/// a poll may find the directory without `enabled` or `transition`.
pub fn read_all(paths: &Paths) -> Result<Vec<Patch>> {
    let mut patches = Vec::new();
    for name in patch_names(paths)? {
        match read_patch(paths, &name) {
            Ok(p) => patches.push(p),
            // Gone or going away (read_state says so): not a loaded patch.
            Err(_) if matches!(read_state(paths, &name), Ok(None)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(patches)
}

/// The patch whose transition is in progress, if any (the kernel allows at
/// most one at a time).
pub fn transition_patch(paths: &Paths) -> Result<Option<String>> {
    for name in patch_names(paths)? {
        if let Some(state) = read_state(paths, &name)?
            && state.transition
        {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

/// Does the patch have the attribute file `attr` (e.g. `signal`)?
pub fn has_attr(paths: &Paths, patch: &str, attr: &str) -> bool {
    paths.patch_dir(patch).join(attr).is_file()
}

/// Writes `value` to the attribute `attr` of a patch, as `echo value >`
/// would. The file is never created. Errors are returned raw so the caller
/// can word them for its context; see [`write_error`].
pub fn write_attr(paths: &Paths, patch: &str, attr: &str, value: &str) -> io::Result<()> {
    let path = paths.patch_dir(patch).join(attr);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    file.write_all(value.as_bytes())
}

/// Turns the error of a sysfs write into an [`Error`]: permission errors
/// become [`Error::NotRoot`], `EBUSY` [`Error::Busy`], `EINVAL` a kernel
/// error explained by `einval`.
pub fn write_error(action: &str, err: io::Error, einval: &str) -> Error {
    match err.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => Error::NotRoot {
            action: action.to_string(),
        },
        Some(libc::EBUSY) => Error::Busy(format!(
            "{action}: the kernel is busy: another patch is in transition (see `klpctl status`)"
        )),
        Some(libc::EINVAL) => Error::Kernel {
            action: action.to_string(),
            message: einval.to_string(),
            source: err,
        },
        _ => Error::io(action, err),
    }
}

/// Subdirectories of `dir`, sorted by name; none if `dir` has just gone
/// (the kernel removes a patch's objects and functions while freeing it).
fn subdirs(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("read {}", dir.display()), e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
        let path = entry.path();
        if path.is_dir()
            && let Some(name) = entry.file_name().to_str()
        {
            out.push((name.to_string(), path));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit;

    #[test]
    fn write_errors_are_explained() {
        let e = write_error(
            "write 0 to enabled",
            io::Error::from_raw_os_error(libc::EACCES),
            "x",
        );
        assert_eq!(e.exit_code(), exit::PERMISSION);
        assert_eq!(
            e.to_string(),
            "write 0 to enabled: permission denied; klpctl must run as root for this"
        );
        let e = write_error("w", io::Error::from_raw_os_error(libc::EBUSY), "x");
        assert_eq!(e.exit_code(), exit::BUSY);
        let e = write_error(
            "w",
            io::Error::from_raw_os_error(libc::EINVAL),
            "already disabled",
        );
        assert!(e.to_string().starts_with("w: already disabled ("), "{e}");
    }

    #[test]
    fn flags() {
        assert_eq!(parse_flag("1"), Some(true));
        assert_eq!(parse_flag("0"), Some(false));
        assert_eq!(parse_flag("2"), None);
    }
}

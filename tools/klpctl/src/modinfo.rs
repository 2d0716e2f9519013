//! Reading a `.ko` file's `.modinfo` section, to refuse anything that is
//! not a live patch module before it reaches the kernel.
//!
//! `.modinfo` holds NUL-separated `key=value` strings; a live patch module
//! has `livepatch=Y`, and `name=` is the module (= patch) name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use object::{Object, ObjectKind, ObjectSection};

use crate::error::{Error, Result};
use crate::paths::{MODULE_NAME_MAX, escape_name, module_name_from, valid_module_name};

/// The `key=value` entries of a module's `.modinfo`, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModInfo {
    /// The entries; keys may repeat (e.g. `alias`).
    pub entries: Vec<(String, String)>,
}

impl ModInfo {
    /// Parses the raw contents of a `.modinfo` section.
    pub fn parse(section: &[u8]) -> Self {
        let entries = section
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .filter_map(|s| {
                let text = String::from_utf8_lossy(s);
                text.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        ModInfo { entries }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Does the module say `livepatch=Y`?
    pub fn is_livepatch(&self) -> bool {
        self.get("livepatch") == Some("Y")
    }
}

/// A checked live patch module file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivepatchModule {
    /// The `.ko` file.
    pub path: PathBuf,
    /// Module name (`name=` in `.modinfo`, else derived from the file name),
    /// which is also the patch name in sysfs.
    pub name: String,
    /// All `.modinfo` entries.
    pub modinfo: ModInfo,
    /// SHA-256 of the file, in hex: identifies the build when the module
    /// has no `srcversion`.
    pub sha256: String,
}

impl LivepatchModule {
    /// The module's `srcversion` (modpost adds one only for modules with
    /// `MODULE_VERSION`, or with `CONFIG_MODULE_SRCVERSION_ALL`).
    pub fn srcversion(&self) -> Option<&str> {
        self.modinfo.get("srcversion").filter(|s| !s.is_empty())
    }
}

/// The SHA-256 of `data` in lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads `path` and checks that it is a live patch module.
pub fn check_livepatch_module(path: &Path) -> Result<LivepatchModule> {
    let data = fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::FileNotFound {
            path: path.to_path_buf(),
        },
        _ => Error::io(format!("read {}", path.display()), e),
    })?;
    let modinfo = read_modinfo(path, &data)?;
    if !modinfo.is_livepatch() {
        return Err(refuse(
            path,
            "not a live patch module: its .modinfo has no livepatch=Y",
        ));
    }
    let name = match modinfo.get("name") {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => name_from_file(path),
    };
    if !valid_module_name(&name) {
        return Err(refuse(
            path,
            &format!(
                "invalid module name \"{}\": a module name is 1 to {MODULE_NAME_MAX} \
                 characters of A-Z, a-z, 0-9 and _",
                escape_name(&name)
            ),
        ));
    }
    Ok(LivepatchModule {
        path: path.to_path_buf(),
        name,
        modinfo,
        sha256: sha256_hex(&data),
    })
}

/// Finds and parses `.modinfo` in the ELF image `data` read from `path`.
pub fn read_modinfo(path: &Path, data: &[u8]) -> Result<ModInfo> {
    if let Some(kind) = compression(data) {
        return Err(refuse(
            path,
            &format!(
                "{kind}-compressed module: decompress it first; klpctl reads \
                 its .modinfo before loading it"
            ),
        ));
    }
    if !data.starts_with(b"\x7fELF") {
        return Err(refuse(path, "not a kernel module: not an ELF file"));
    }
    let file = object::File::parse(data)
        .map_err(|e| refuse(path, &format!("not a valid ELF file: {e}")))?;
    if file.kind() != ObjectKind::Relocatable {
        return Err(refuse(
            path,
            "not a kernel module: a .ko is a relocatable ELF object",
        ));
    }
    let section = file
        .section_by_name(".modinfo")
        .ok_or_else(|| refuse(path, "not a kernel module: no .modinfo section"))?;
    let bytes = section
        .data()
        .map_err(|e| refuse(path, &format!("unreadable .modinfo section: {e}")))?;
    Ok(ModInfo::parse(bytes))
}

/// What a live patch module's ELF file says about what it patches,
/// without loading it: the objects of its `.klp.rela.OBJECT..SECTION`
/// relocation sections and its `.klp.sym.OBJECT.SYMBOL,POS` symbols (made
/// by kpatch-build and klp-convert). Modules that name their functions only
/// in their `struct klp_patch` (most hand-written ones) have neither.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KlpMetadata {
    /// Objects, sorted, without duplicates.
    pub objects: Vec<String>,
    /// `OBJECT: SYMBOL,POS`, sorted.
    pub symbols: Vec<String>,
}

/// Reads [`KlpMetadata`] from an ELF image (empty if unreadable).
pub fn klp_metadata(data: &[u8]) -> KlpMetadata {
    use object::ObjectSymbol;
    let Ok(file) = object::File::parse(data) else {
        return KlpMetadata::default();
    };
    let mut objects: Vec<String> = file
        .sections()
        .filter_map(|s| s.name().ok().map(str::to_string))
        .filter_map(|n| {
            n.strip_prefix(".klp.rela.")
                .and_then(|rest| rest.split_once('.'))
                .map(|(obj, _)| obj.to_string())
        })
        .collect();
    objects.sort();
    objects.dedup();
    let mut symbols: Vec<String> = file
        .symbols()
        .filter_map(|s| s.name().ok().map(str::to_string))
        .filter_map(|n| {
            n.strip_prefix(".klp.sym.")
                .and_then(|rest| rest.split_once('.'))
                .map(|(obj, sym)| format!("{obj}: {sym}"))
        })
        .collect();
    symbols.sort();
    symbols.dedup();
    KlpMetadata { objects, symbols }
}

fn refuse(path: &Path, reason: &str) -> Error {
    Error::NotLivepatchModule {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn compression(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else if data.starts_with(&[0x1f, 0x8b]) {
        Some("gzip")
    } else {
        None
    }
}

/// `foo-bar.ko` → `foo_bar` (the kernel turns `-` into `_` in module names).
fn name_from_file(path: &Path) -> String {
    module_name_from(
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nul_separated_entries() {
        let m = ModInfo::parse(b"\0\0license=GPL\0alias=a\0alias=b\0livepatch=Y\0junk\0name=p\0");
        assert_eq!(m.get("license"), Some("GPL"));
        assert_eq!(m.get("alias"), Some("a"));
        assert_eq!(m.entries.len(), 5);
        assert!(m.is_livepatch());
        assert!(!ModInfo::parse(b"livepatch=N\0").is_livepatch());
        assert!(!ModInfo::parse(b"").is_livepatch());
    }

    #[test]
    fn module_name_from_the_file_name() {
        assert_eq!(name_from_file(Path::new("/x/my-patch.ko")), "my_patch");
        assert_eq!(name_from_file(Path::new("plain")), "plain");
    }

    #[test]
    fn recognises_compressed_modules() {
        assert_eq!(compression(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Some("zstd"));
        assert_eq!(compression(&[0x1f, 0x8b, 8]), Some("gzip"));
        assert_eq!(compression(b"\x7fELF"), None);
    }
}

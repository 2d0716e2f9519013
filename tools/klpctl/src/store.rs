//! The installed live patches: `/var/lib/klp-rs/<kernel release>/NAME.ko`,
//! loaded at boot by `klpctl load --all`, and the crash guard beside them:
//! `.loading-NAME`, written (and synced) before `load --all` loads NAME and
//! removed after. One still there at the next `load --all` means that load
//! never finished (the machine crashed or hung, or klpctl was killed):
//! the patch is skipped until `klpctl load FILE` of it succeeds or it is
//! uninstalled.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::paths::Paths;

/// The directory of one kernel release's installed patches.
#[derive(Debug, Clone)]
pub struct Store {
    /// The kernel release.
    pub release: String,
    /// `ROOT/var/lib/klp-rs/RELEASE`.
    pub dir: PathBuf,
}

/// Is `release` usable as a directory name?
fn valid_release(release: &str) -> bool {
    !release.is_empty()
        && release != "."
        && release != ".."
        && release.len() <= 64
        && release
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-~".contains(&b))
}

impl Store {
    /// The store of `release`, or of the running kernel.
    pub fn new(paths: &Paths, release: Option<&str>) -> Result<Self> {
        let release = match release {
            Some(r) => r.to_string(),
            None => paths.kernel_release()?,
        };
        if !valid_release(&release) {
            return Err(Error::Failed(format!(
                "invalid kernel release {:?}",
                crate::paths::escape_name(&release)
            )));
        }
        Ok(Store {
            dir: paths.state_dir().join(&release),
            release,
        })
    }

    /// `DIR/NAME.ko`.
    pub fn module_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.ko"))
    }

    /// `DIR/.loading-NAME`, the crash guard.
    pub fn lock_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".loading-{name}"))
    }

    /// The installed patch names, sorted (the order of `load --all`).
    pub fn names(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("read {}", self.dir.display()), e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("read {}", self.dir.display()), e))?;
            if let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".ko"))
                && crate::paths::valid_module_name(name)
            {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Patch names with a crash guard left, sorted.
    pub fn locked(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("read {}", self.dir.display()), e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix(".loading-"))
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Is there a crash guard for `name`? What it says, if so.
    pub fn lock(&self, name: &str) -> Option<String> {
        let path = self.lock_path(name);
        path.exists().then(|| {
            fs::read_to_string(&path)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        })
    }

    /// Writes the crash guard of `name` and syncs it to disk, so that it
    /// survives a crash during the load that follows.
    pub fn write_lock(&self, name: &str, what: &str) -> Result<()> {
        let path = self.lock_path(name);
        let ctx = |e| Error::io(format!("write the crash guard {}", path.display()), e);
        let mut file = File::create(&path).map_err(ctx)?;
        file.write_all(what.as_bytes()).map_err(ctx)?;
        file.sync_all().map_err(ctx)?;
        sync_dir(&self.dir).map_err(ctx)
    }

    /// Removes the crash guard of `name`; true if there was one.
    pub fn clear_lock(&self, name: &str) -> Result<bool> {
        let path = self.lock_path(name);
        match fs::remove_file(&path) {
            Ok(()) => {
                let _ = sync_dir(&self.dir);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(
                format!("remove the crash guard {}", path.display()),
                e,
            )),
        }
    }

    /// Installs `data` as `NAME.ko` (a temporary file renamed over it: a
    /// failed install leaves the old file, or none).
    pub fn write_module(&self, name: &str, data: &[u8]) -> Result<()> {
        let path = self.module_path(name);
        let tmp = self.dir.join(format!(".{name}.ko.tmp"));
        let ctx = |e| Error::io(format!("install {}", path.display()), e);
        fs::create_dir_all(&self.dir).map_err(ctx)?;
        let result = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(data)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            sync_dir(&self.dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(ctx)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

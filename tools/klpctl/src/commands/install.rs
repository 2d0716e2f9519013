//! Persistence across reboots: `klpctl install`, `uninstall`,
//! `list --installed` and `load --all` over the installed patches of a
//! kernel release (see [`crate::store`]), with the crash guard and the
//! kernel command line switch [`NOLOAD`].

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use comfy_table::{Table, presets};
use serde::Serialize;

use super::load::{LoadWait, load_module};
use super::{Env, JSON_VERSION, diag, print_json, say};
use crate::audit;
use crate::error::{Error, Result, exit};
use crate::modinfo::{self, LivepatchModule};
use crate::paths::{check_name, module_name_from, valid_module_name};
use crate::runstate::{self, Identity};
use crate::store::Store;
use crate::sysfs;

/// The kernel command line switch that makes `load --all` load nothing:
/// `klpctl.noload` (or `klpctl.noload=1`, `=y`, `=Y`).
pub const NOLOAD: &str = "klpctl.noload";

/// Does the kernel command line `cmdline` have [`NOLOAD`] set?
pub fn noload(cmdline: &str) -> bool {
    cmdline
        .split_whitespace()
        .any(|word| match word.split_once('=') {
            None => word == NOLOAD,
            Some((key, value)) => key == NOLOAD && matches!(value, "1" | "y" | "Y"),
        })
}

/// Where an installed patch stands on the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstalledState {
    /// Loaded (the same build), enabled, no transition.
    Enabled,
    /// Loaded, its patching transition still in progress.
    Transition,
    /// Not loaded.
    NotLoaded,
    /// A patch of that name is loaded from another build.
    OtherBuild,
    /// Loaded but being disabled (unpatching).
    Disabling,
    /// Its module is loaded but its patch is gone (replaced by an atomic
    /// replace patch, or disabled).
    Replaced,
    /// The installed file cannot be read or is not a live patch module.
    Invalid,
}

impl InstalledState {
    /// How `list --installed` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            InstalledState::Enabled => "enabled",
            InstalledState::Transition => "in transition",
            InstalledState::NotLoaded => "not loaded",
            InstalledState::OtherBuild => "other build loaded",
            InstalledState::Disabling => "disabling",
            InstalledState::Replaced => "replaced (module loaded, patch gone)",
            InstalledState::Invalid => "invalid file",
        }
    }
}

/// Where the installed `module` stands.
pub fn installed_state(env: &Env, module: &LivepatchModule) -> Result<InstalledState> {
    let paths = &env.paths;
    let state = sysfs::read_state(paths, &module.name)?;
    let present = state.is_some() || paths.module_dir(&module.name).is_dir();
    if !present {
        return Ok(InstalledState::NotLoaded);
    }
    if let Identity::Different { .. } = runstate::identify(paths, module) {
        return Ok(InstalledState::OtherBuild);
    }
    Ok(match state {
        None => InstalledState::Replaced,
        Some(s) if !s.enabled => InstalledState::Disabling,
        Some(s) if s.transition => InstalledState::Transition,
        Some(_) => InstalledState::Enabled,
    })
}

/// One installed patch, as `list --installed --json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InstalledPatch {
    /// Patch (module) name.
    pub name: String,
    /// The installed file.
    pub file: String,
    /// Its `srcversion`, if it has one.
    pub srcversion: Option<String>,
    /// Its `description`.
    pub description: Option<String>,
    /// Where it stands on the running kernel.
    pub state: InstalledState,
    /// The crash guard is there: `load --all` skips it.
    pub crash_guard: bool,
    /// Why the file is invalid, if it is.
    pub error: Option<String>,
}

/// Reads every installed patch of `store`.
pub fn read_installed(env: &Env, store: &Store) -> Result<Vec<InstalledPatch>> {
    let mut out = Vec::new();
    for name in store.names()? {
        let path = store.module_path(&name);
        let (module, error) = match modinfo::check_livepatch_module(&path) {
            Ok(m) if m.name == name => (Some(m), None),
            Ok(m) => (
                None,
                Some(format!("the file is patch {}, not {name}", m.name)),
            ),
            Err(e) => (None, Some(e.to_string())),
        };
        let state = match &module {
            Some(m) => installed_state(env, m)?,
            None => InstalledState::Invalid,
        };
        out.push(InstalledPatch {
            file: path.display().to_string(),
            srcversion: module
                .as_ref()
                .and_then(|m| m.srcversion().map(str::to_string)),
            description: module
                .as_ref()
                .and_then(|m| m.modinfo.get("description").map(str::to_string)),
            crash_guard: store.lock(&name).is_some(),
            name,
            state,
            error,
        });
    }
    Ok(out)
}

/// The release a module was built for (first word of its `vermagic`).
fn built_for(module: &LivepatchModule) -> Option<&str> {
    module.modinfo.get("vermagic")?.split_whitespace().next()
}

/// `klpctl install FILE [--kernel RELEASE]`.
pub fn install(
    env: &Env,
    file: &Path,
    kernel: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let module = modinfo::check_livepatch_module(file)?;
    let store = Store::new(&env.paths, kernel)?;
    let name = &module.name;
    if let Some(built) = built_for(&module)
        && built != store.release
    {
        return Err(Error::Failed(format!(
            "{}: built for kernel {built}, not {}: install it with --kernel {built} \
             (it is loaded at the boot of that kernel)",
            file.display(),
            store.release
        )));
    }
    let data = fs::read(file).map_err(|e| Error::io(format!("read {}", file.display()), e))?;
    let target = store.module_path(name);
    let old = fs::read(&target).ok();
    if old.as_deref() == Some(&data[..]) {
        say!(
            out,
            "{name}: already installed for kernel {} ({}): nothing to do",
            store.release,
            target.display()
        );
        return Ok(());
    }
    let written = store.write_module(name, &data);
    audit::log(
        env.audit,
        "install",
        name,
        &format!("{} as {}", file.display(), target.display()),
        written.as_ref().map(|_| ()),
    );
    written?;
    let verb = if old.is_some() {
        "replaced"
    } else {
        "installed"
    };
    say!(
        out,
        "{name}: {verb} for kernel {} as {}; `klpctl load --all` (run at boot by \
         klpctl.service) loads it",
        store.release,
        target.display()
    );
    // A new build deserves a try at the next boot.
    if store.clear_lock(name)? {
        diag!(
            err,
            "{name}: cleared its crash guard (a new build was installed)"
        );
    }
    Ok(())
}

/// `klpctl uninstall NAME [--kernel RELEASE]`. Leaves a loaded patch
/// loaded.
pub fn uninstall(
    env: &Env,
    patch: &str,
    kernel: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let store = Store::new(&env.paths, kernel)?;
    let name = if check_name(patch) && valid_module_name(patch) {
        patch.to_string()
    } else {
        module_name_from(patch)
    };
    let path = store.module_path(&name);
    let installed = valid_module_name(&name) && path.is_file();
    let locked = valid_module_name(&name) && store.lock(&name).is_some();
    if !installed && !locked {
        let known = store.names()?;
        return Err(Error::NotInstalled {
            name: patch.to_string(),
            release: store.release.clone(),
            known,
        });
    }
    if installed {
        let removed =
            fs::remove_file(&path).map_err(|e| Error::io(format!("remove {}", path.display()), e));
        audit::log(
            env.audit,
            "uninstall",
            &name,
            &path.display().to_string(),
            removed.as_ref().map(|_| ()),
        );
        removed?;
    }
    if store.clear_lock(&name)? {
        diag!(err, "{name}: cleared its crash guard");
    }
    say!(out, "{name}: uninstalled for kernel {}", store.release);
    if sysfs::read_state(&env.paths, &name)?.is_some() {
        say!(
            out,
            "{name}: still loaded; `klpctl unload {name}` removes it now"
        );
    }
    Ok(())
}

/// `klpctl list --installed [--kernel RELEASE] [--json]`.
pub fn list_installed(
    env: &Env,
    kernel: Option<&str>,
    json: bool,
    out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<()> {
    let store = Store::new(&env.paths, kernel)?;
    let patches = read_installed(env, &store)?;
    if json {
        #[derive(Serialize)]
        struct Doc<'a> {
            version: u32,
            kernel: &'a str,
            dir: String,
            installed: &'a [InstalledPatch],
        }
        return print_json(
            out,
            &Doc {
                version: JSON_VERSION,
                kernel: &store.release,
                dir: store.dir.display().to_string(),
                installed: &patches,
            },
        );
    }
    if patches.is_empty() {
        say!(
            out,
            "no live patches are installed for kernel {} ({})",
            store.release,
            store.dir.display()
        );
        return Ok(());
    }
    let mut table = Table::new();
    table.load_style(presets::ASCII_FULL_CONDENSED);
    table.set_header(["PATCH", "STATE", "CRASH GUARD", "SRCVERSION", "DESCRIPTION"]);
    for p in &patches {
        table.add_row([
            p.name.clone(),
            p.state.as_str().to_string(),
            if p.crash_guard { "SKIPPED" } else { "-" }.to_string(),
            p.srcversion.clone().unwrap_or_else(|| "-".into()),
            p.description
                .clone()
                .or_else(|| p.error.clone())
                .unwrap_or_default(),
        ]);
    }
    say!(
        out,
        "installed for kernel {} ({}):",
        store.release,
        store.dir.display()
    );
    say!(out, "{table}");
    Ok(())
}

/// One patch of the `load --all --json` document.
#[derive(Debug, Serialize)]
struct AllItem {
    patch: String,
    /// `loaded`, `unchanged`, `skipped` (crash guard), `failed`.
    action: &'static str,
    error: Option<String>,
}

/// `klpctl load --all`: loads the installed patches of the running kernel
/// in name order, each under the crash guard; skips those whose guard was
/// left by a load that never finished, and everything when the kernel
/// command line has [`NOLOAD`]. Goes on after a failure; the exit code is
/// that of the first failure, else [`exit::CRASH_GUARD`] if a patch was
/// skipped.
pub fn load_all(
    env: &Env,
    how: &LoadWait,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let cmdline = fs::read_to_string(env.paths.cmdline()).unwrap_or_default();
    let store = Store::new(&env.paths, None)?;
    if noload(&cmdline) {
        if json {
            return print_json(
                out,
                &serde_json::json!({
                    "version": JSON_VERSION, "kernel": store.release,
                    "skipped_by_cmdline": true, "patches": [],
                }),
            );
        }
        say!(
            out,
            "load --all: skipped: the kernel command line has {NOLOAD}; no patch was loaded"
        );
        return Ok(());
    }
    let mut sink = io::sink();
    let text: &mut dyn Write = if json { &mut sink } else { &mut *out };
    let mut items = Vec::new();
    let mut first_failure: Option<Error> = None;
    let mut skipped = Vec::new();
    for name in store.names()? {
        if let Some(lock) = store.lock(&name) {
            diag!(
                err,
                "klpctl: {name}: skipped by the crash guard: {} is left from a load that \
                 never finished ({lock}); `klpctl load {}` or `klpctl uninstall {name}` \
                 clears it",
                store.lock_path(&name).display(),
                store.module_path(&name).display()
            );
            say!(text, "{name}: skipped (crash guard)");
            audit::log::<Error>(
                env.audit,
                "load --all skip",
                &name,
                "crash guard left by a load that never finished",
                Ok(()),
            );
            skipped.push(name.clone());
            items.push(AllItem {
                patch: name,
                action: "skipped",
                error: None,
            });
            continue;
        }
        let result = (|| {
            let module = modinfo::check_livepatch_module(&store.module_path(&name))?;
            if module.name != name {
                return Err(Error::Failed(format!(
                    "{}: the file is patch {}, not {name}",
                    module.path.display(),
                    module.name
                )));
            }
            store.write_lock(
                &name,
                &format!(
                    "load --all by pid {} of {}",
                    std::process::id(),
                    store.release
                ),
            )?;
            let loaded = load_module(env, &module, how, text, err);
            store.clear_lock(&name)?;
            loaded
        })();
        match result {
            Ok(l) => items.push(AllItem {
                patch: name,
                action: if l.changed { "loaded" } else { "unchanged" },
                error: None,
            }),
            Err(e) => {
                diag!(err, "klpctl: error: {name}: {e}");
                items.push(AllItem {
                    patch: name,
                    action: "failed",
                    error: Some(e.to_string()),
                });
                first_failure.get_or_insert(e);
            }
        }
    }
    let count = |a: &str| items.iter().filter(|i| i.action == a).count();
    if json {
        print_json(
            out,
            &serde_json::json!({
                "version": JSON_VERSION, "kernel": store.release,
                "skipped_by_cmdline": false, "patches": items,
            }),
        )?;
    } else {
        say!(
            out,
            "load --all: kernel {}: {} loaded, {} unchanged, {} skipped by the crash guard, \
             {} failed",
            store.release,
            count("loaded"),
            count("unchanged"),
            count("skipped"),
            count("failed")
        );
    }
    if let Some(e) = first_failure {
        return Err(Error::Exit {
            code: e.exit_code(),
            message: format!(
                "load --all: {} of {} installed patches failed; the first: {e}",
                count("failed"),
                items.len()
            ),
        });
    }
    if !skipped.is_empty() {
        return Err(Error::Exit {
            code: exit::CRASH_GUARD,
            message: format!(
                "load --all: skipped by the crash guard: {}",
                skipped.join(", ")
            ),
        });
    }
    Ok(())
}

/// After an explicit, successful load of `name`: clears the crash guard
/// of the running kernel's installed patch of that name, if any.
pub(crate) fn clear_guard_after_load(env: &Env, name: &str, err: &mut dyn Write) {
    if let Ok(store) = Store::new(&env.paths, None)
        && let Ok(true) = store.clear_lock(name)
    {
        diag!(
            err,
            "{name}: cleared its crash guard ({}): `load --all` loads it again",
            store.lock_path(name).display()
        );
    }
}

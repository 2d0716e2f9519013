//! `klpctl ensure FILE...`: the wanted set of live patches. Loads those
//! that are missing (one after the other, each waiting for its
//! transition), leaves those that are loaded from the same build, and
//! refuses, before changing anything, when a file is not a live patch
//! module or a patch of that name is loaded from another build.

use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use super::load::{LoadWait, load_module, loaded_conflict};
use super::{Env, JSON_VERSION, diag, print_json, say};
use crate::error::{Error, Result};
use crate::modinfo::{self, LivepatchModule};
use crate::sysfs;

/// Options of `klpctl ensure`.
#[derive(Debug, Clone)]
pub struct EnsureOptions {
    /// The wanted live patch modules.
    pub modules: Vec<PathBuf>,
    /// How each load waits (always waits: the next load needs the
    /// transition to be over).
    pub wait: LoadWait,
    /// Only say what would be done.
    pub dry_run: bool,
    /// Print a JSON document instead of text.
    pub json: bool,
}

/// One patch of the `ensure --json` document.
#[derive(Debug, Serialize)]
struct EnsureItem {
    patch: String,
    file: String,
    /// `unchanged`, `loaded`, `would load`.
    action: &'static str,
}

#[derive(Debug, Serialize)]
struct EnsureJson {
    version: u32,
    changed: bool,
    dry_run: bool,
    patches: Vec<EnsureItem>,
}

/// Makes the wanted patches loaded and enabled.
pub fn ensure(
    env: &Env,
    opts: &EnsureOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let paths = &env.paths;
    // Every file is checked before anything changes.
    let mut modules: Vec<LivepatchModule> = Vec::new();
    for path in &opts.modules {
        let module = modinfo::check_livepatch_module(path)?;
        if let Some(first) = modules.iter().find(|m| m.name == module.name) {
            return Err(Error::Failed(format!(
                "{} and {} are both patch {}: name each patch once",
                first.path.display(),
                module.path.display(),
                module.name
            )));
        }
        modules.push(module);
    }
    paths.require_livepatch()?;
    let mut plan = Vec::new();
    let mut conflicts = Vec::new();
    for module in &modules {
        let state = sysfs::read_state(paths, &module.name)?;
        let present = state.is_some() || paths.module_dir(&module.name).is_dir();
        if !present {
            plan.push((module, true));
            continue;
        }
        let mut warning = None;
        match loaded_conflict(env, module, state, &mut warning) {
            Some(why) => conflicts.push(why),
            None => plan.push((module, false)),
        }
        if let Some(w) = warning {
            diag!(err, "{w}");
        }
    }
    if !conflicts.is_empty() {
        return Err(Error::Busy(format!(
            "nothing was changed: {}",
            conflicts.join("; ")
        )));
    }
    let mut sink = io::sink();
    let text: &mut dyn Write = if opts.json { &mut sink } else { &mut *out };
    let mut items = Vec::new();
    let mut changed = false;
    for (module, missing) in plan {
        let name = &module.name;
        let file = module.path.display().to_string();
        let action = match (missing, opts.dry_run) {
            (false, true) => {
                say!(
                    text,
                    "{name}: loaded and enabled (same build): nothing to do"
                );
                "unchanged"
            }
            (true, true) => {
                say!(text, "{name}: would load {file}");
                changed = true;
                "would load"
            }
            (_, false) => {
                let loaded = load_module(env, module, &opts.wait, text, err)?;
                super::install::clear_guard_after_load(env, name, err);
                changed |= loaded.changed;
                if loaded.changed {
                    "loaded"
                } else {
                    "unchanged"
                }
            }
        };
        items.push(EnsureItem {
            patch: name.clone(),
            file,
            action,
        });
    }
    if opts.json {
        return print_json(
            out,
            &EnsureJson {
                version: JSON_VERSION,
                changed,
                dry_run: opts.dry_run,
                patches: items,
            },
        );
    }
    let verb = if opts.dry_run {
        "would change"
    } else {
        "changed"
    };
    if changed {
        say!(
            out,
            "ensure: {verb} {} patch(es)",
            items.iter().filter(|i| i.action != "unchanged").count()
        );
    } else {
        say!(
            out,
            "ensure: every patch is loaded and enabled: nothing {verb}"
        );
    }
    Ok(())
}

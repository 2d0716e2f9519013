//! Monitoring: `klpctl check` (the answer is the exit code), the
//! Prometheus text format of `list` and `check` (node_exporter's textfile
//! collector), the live patch modules still loaded without their patch,
//! and `klpctl info FILE`.

use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::install::{InstalledPatch, InstalledState, read_installed};
use super::{Env, JSON_VERSION, print_json, say};
use crate::error::{Error, Result, exit};
use crate::modinfo;
use crate::paths::Paths;
use crate::runstate;
use crate::store::Store;
use crate::sysfs::{self, Patch};
use crate::transition::{self, Direction};

/// Output formats of `list` and `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A table or lines for people.
    #[default]
    Text,
    /// A JSON document.
    Json,
    /// Prometheus text exposition format (node_exporter textfile collector).
    Prometheus,
}

/// A live patch module still loaded whose patch has left
/// `/sys/kernel/livepatch`: replaced by an atomic replace patch, or
/// disabled and not unloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InactiveModule {
    /// Module name.
    pub name: String,
    /// Its `srcversion`, where the kernel shows one.
    pub srcversion: Option<String>,
}

/// The live patch modules (taint `K`) in `/sys/module` without a patch.
pub fn inactive_modules(paths: &Paths, patches: &[String]) -> Vec<InactiveModule> {
    let Ok(entries) = fs::read_dir(paths.root().join("sys/module")) else {
        return Vec::new();
    };
    let mut out: Vec<InactiveModule> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| !patches.contains(name))
        .filter(|name| {
            sysfs::read_trimmed(&paths.module_dir(name).join("taint"))
                .is_ok_and(|t| t.contains('K'))
        })
        .map(|name| InactiveModule {
            srcversion: runstate::kernel_srcversion(paths, &name),
            name,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Seconds of the transition of `patch` in progress, as klpctl measured
/// it (it started it), if it did.
fn transition_seconds(paths: &Paths, patch: &Patch) -> Option<f64> {
    if !patch.transition {
        return None;
    }
    runstate::transition_age(paths, &patch.name, Direction::from_enabled(patch.enabled))
        .map(|d| d.as_secs_f64())
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A gauge: name, help, samples of (patch label, value).
type Metric = (&'static str, &'static str, Vec<(String, String)>);

/// The metrics of the loaded patches, the installed ones (when `installed`
/// is given) and the inactive modules, in the Prometheus text format.
pub fn prometheus(
    paths: &Paths,
    patches: &[Patch],
    installed: Option<&[InstalledPatch]>,
    inactive: &[InactiveModule],
) -> Result<String> {
    // (metric, help, samples of (label value, value)).
    let mut metrics: Vec<Metric> = vec![
        (
            "klp_patch_present",
            "1 if the live patch is in /sys/kernel/livepatch.",
            vec![],
        ),
        (
            "klp_patch_enabled",
            "The patch's enabled attribute.",
            vec![],
        ),
        (
            "klp_patch_transition",
            "1 while a transition of the patch is in progress.",
            vec![],
        ),
        (
            "klp_patch_tasks_pending",
            "Tasks not yet switched by the transition in progress (0 when none).",
            vec![],
        ),
        (
            "klp_patch_transition_seconds",
            "Age of the transition in progress, as measured by klpctl (only for transitions klpctl started).",
            vec![],
        ),
    ];
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    for p in patches {
        let pending = if p.transition {
            transition::snapshot(paths, &p.name)?
                .map(|s| s.status.pending_tasks)
                .unwrap_or(0)
        } else {
            0
        };
        let n = label(&p.name);
        metrics[0].2.push((n.clone(), "1".into()));
        metrics[1].2.push((n.clone(), flag(p.enabled)));
        metrics[2].2.push((n.clone(), flag(p.transition)));
        metrics[3].2.push((n.clone(), pending.to_string()));
        if let Some(s) = transition_seconds(paths, p) {
            metrics[4].2.push((n, format!("{s:.3}")));
        }
    }
    if let Some(installed) = installed {
        for i in installed {
            if !patches.iter().any(|p| p.name == i.name) {
                let n = label(&i.name);
                metrics[0].2.push((n.clone(), "0".into()));
                metrics[1].2.push((n.clone(), "0".into()));
                metrics[2].2.push((n.clone(), "0".into()));
                metrics[3].2.push((n, "0".into()));
            }
        }
        metrics.push((
            "klp_patch_installed",
            "1 for each patch installed for the running kernel (/var/lib/klp-rs).",
            installed
                .iter()
                .map(|i| (label(&i.name), "1".into()))
                .collect(),
        ));
        metrics.push((
            "klp_patch_crash_guard",
            "1 if load --all skips the installed patch: its load at boot never finished.",
            installed
                .iter()
                .map(|i| (label(&i.name), flag(i.crash_guard)))
                .collect(),
        ));
    }
    let mut text = String::new();
    for (name, help, samples) in &metrics {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (patch, value) in samples {
            let _ = writeln!(text, "{name}{{patch=\"{patch}\"}} {value}");
        }
    }
    let _ = writeln!(
        text,
        "# HELP klp_module_inactive 1 for a live patch module still loaded whose patch is gone \
         (replaced by an atomic replace patch, or disabled).\n# TYPE klp_module_inactive gauge"
    );
    for m in inactive {
        let _ = writeln!(
            text,
            "klp_module_inactive{{module=\"{}\"}} 1",
            label(&m.name)
        );
    }
    Ok(text)
}

/// The problems `check` reports, worst first: the exit code and the word.
const SEVERITY: [(i32, &str); 4] = [
    (exit::CRASH_GUARD, "skipped by the crash guard"),
    (exit::MISSING, "not in effect"),
    (exit::DISABLED, "disabled"),
    (exit::IN_TRANSITION, "in transition"),
];

fn problem_code(p: &InstalledPatch) -> Option<i32> {
    if p.crash_guard {
        return Some(exit::CRASH_GUARD);
    }
    match p.state {
        InstalledState::Enabled => None,
        InstalledState::Transition => Some(exit::IN_TRANSITION),
        InstalledState::Disabling => Some(exit::DISABLED),
        InstalledState::NotLoaded
        | InstalledState::OtherBuild
        | InstalledState::Replaced
        | InstalledState::Invalid => Some(exit::MISSING),
    }
}

#[derive(Debug, Serialize)]
struct CheckJson<'a> {
    version: u32,
    kernel: &'a str,
    exit_code: i32,
    installed: &'a [InstalledPatch],
    /// Loaded patches in transition that are not installed.
    other_transitions: &'a [String],
}

/// `klpctl check`: 0 if every patch installed for the running kernel is
/// loaded (the same build), enabled and out of transition, and no other
/// patch is in transition; otherwise the exit code of the worst problem
/// (see [`SEVERITY`]).
pub fn check(env: &Env, format: Format, out: &mut dyn Write, _err: &mut dyn Write) -> Result<()> {
    let paths = &env.paths;
    let patches = sysfs::read_all(paths)?;
    let store = Store::new(paths, None)?;
    let installed = read_installed(env, &store)?;
    let other_transitions: Vec<String> = patches
        .iter()
        .filter(|p| p.transition && !installed.iter().any(|i| i.name == p.name))
        .map(|p| p.name.clone())
        .collect();
    let mut codes: Vec<i32> = installed.iter().filter_map(problem_code).collect();
    if !other_transitions.is_empty() {
        codes.push(exit::IN_TRANSITION);
    }
    let worst = SEVERITY.iter().find(|(c, _)| codes.contains(c));
    let code = worst.map_or(exit::OK, |(c, _)| *c);
    match format {
        Format::Prometheus => {
            let names: Vec<String> = patches.iter().map(|p| p.name.clone()).collect();
            let text = prometheus(
                paths,
                &patches,
                Some(&installed),
                &inactive_modules(paths, &names),
            )?;
            write!(out, "{text}").map_err(|e| Error::io("write output", e))?;
        }
        Format::Json => print_json(
            out,
            &CheckJson {
                version: JSON_VERSION,
                kernel: &store.release,
                exit_code: code,
                installed: &installed,
                other_transitions: &other_transitions,
            },
        )?,
        Format::Text => {
            for i in &installed {
                let guard = if i.crash_guard {
                    ", skipped by the crash guard"
                } else {
                    ""
                };
                let mark = if problem_code(i).is_some() {
                    "FAIL"
                } else {
                    "ok  "
                };
                say!(out, "{mark} {}: {}{guard}", i.name, i.state.as_str());
            }
            for name in &other_transitions {
                say!(out, "FAIL {name}: in transition (not installed)");
            }
            if installed.is_empty() && other_transitions.is_empty() {
                say!(
                    out,
                    "ok   no live patches are installed for kernel {}",
                    store.release
                );
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((code, what)) => {
            let count = codes.iter().filter(|c| *c == code).count();
            Err(Error::Exit {
                code: *code,
                message: format!("check: {count} patch(es) {what} (exit code {code})"),
            })
        }
    }
}

/// The metadata `info` shows.
#[derive(Debug, Serialize)]
struct InfoJson {
    version: u32,
    file: String,
    name: String,
    livepatch: bool,
    srcversion: Option<String>,
    sha256: String,
    vermagic: Option<String>,
    description: Option<String>,
    depends: Vec<String>,
    license: Option<String>,
    /// Objects named by `.klp.rela.OBJECT..SECTION` relocation sections.
    klp_relocation_objects: Vec<String>,
    /// `OBJECT: symbol,sympos` of the `.klp.sym.` symbols.
    klp_symbols: Vec<String>,
}

/// `klpctl info FILE`: a module's live patch metadata, read from the file.
pub fn info(file: &Path, json: bool, out: &mut dyn Write, _err: &mut dyn Write) -> Result<()> {
    let module = modinfo::check_livepatch_module(file)?;
    let data = fs::read(file).map_err(|e| Error::io(format!("read {}", file.display()), e))?;
    let klp = modinfo::klp_metadata(&data);
    let get = |k: &str| module.modinfo.get(k).map(str::to_string);
    let doc = InfoJson {
        version: JSON_VERSION,
        file: file.display().to_string(),
        name: module.name.clone(),
        livepatch: module.modinfo.is_livepatch(),
        srcversion: get("srcversion"),
        sha256: module.sha256.clone(),
        vermagic: get("vermagic"),
        description: get("description"),
        depends: get("depends")
            .map(|d| {
                d.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        license: get("license"),
        klp_relocation_objects: klp.objects,
        klp_symbols: klp.symbols,
    };
    if json {
        return print_json(out, &doc);
    }
    let none = || "-".to_string();
    say!(out, "file:        {}", doc.file);
    say!(out, "name:        {}", doc.name);
    say!(
        out,
        "livepatch:   {}",
        if doc.livepatch { "Y" } else { "N" }
    );
    say!(
        out,
        "srcversion:  {}",
        doc.srcversion.clone().unwrap_or_else(|| {
            "none (built without MODULE_VERSION or CONFIG_MODULE_SRCVERSION_ALL)".into()
        })
    );
    say!(out, "sha256:      {}", doc.sha256);
    say!(
        out,
        "vermagic:    {}",
        doc.vermagic.clone().unwrap_or_else(none)
    );
    say!(
        out,
        "description: {}",
        doc.description.clone().unwrap_or_else(none)
    );
    say!(
        out,
        "depends:     {}",
        if doc.depends.is_empty() {
            none()
        } else {
            doc.depends.join(", ")
        }
    );
    say!(
        out,
        "license:     {}",
        doc.license.clone().unwrap_or_else(none)
    );
    if doc.klp_relocation_objects.is_empty() {
        say!(
            out,
            "patches:     not readable from the file: the patched objects and functions are in \
             the module's struct klp_patch, filled in by relocations at load time; `klpctl \
             list` shows them once it is loaded"
        );
    } else {
        say!(
            out,
            "klp objects: {} (from .klp.rela sections: objects whose symbols the patch resolves)",
            doc.klp_relocation_objects.join(", ")
        );
        for s in &doc.klp_symbols {
            say!(out, "  {s}");
        }
    }
    Ok(())
}

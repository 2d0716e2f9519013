//! `klpctl list`: every loaded live patch, as a table or JSON.

use std::io::Write;

use comfy_table::{Table, presets};
use serde::Serialize;

use super::monitor::{Format, InactiveModule, inactive_modules, prometheus};
use super::{Env, JSON_VERSION, say};
use crate::error::{Error, Result};
use crate::modinfo;
use crate::runstate::{self, Identity};
use crate::store::Store;
use crate::sysfs::{self, Patch};

/// The JSON document of `klpctl list --json`.
#[derive(Debug, Serialize)]
pub struct ListJson<'a> {
    /// [`JSON_VERSION`].
    pub version: u32,
    /// The patches, sorted by name.
    pub patches: &'a [Patch],
    /// Live patch modules still loaded without their patch (replaced by
    /// an atomic replace patch, or disabled), sorted by name.
    pub inactive_modules: &'a [InactiveModule],
}

/// Fills in the descriptions the kernel does not show, from the installed
/// copies (running kernel) of the same build.
fn add_descriptions(env: &Env, patches: &mut [Patch]) {
    let Ok(store) = Store::new(&env.paths, None) else {
        return;
    };
    for p in patches {
        if let Ok(m) = modinfo::check_livepatch_module(&store.module_path(&p.name))
            && m.name == p.name
            && !matches!(
                runstate::identify(&env.paths, &m),
                Identity::Different { .. }
            )
        {
            p.description = m.modinfo.get("description").map(str::to_string);
        }
    }
}

/// Lists the live patches.
pub fn list(env: &Env, format: Format, out: &mut dyn Write, _err: &mut dyn Write) -> Result<()> {
    let mut patches = sysfs::read_all(&env.paths)?;
    add_descriptions(env, &mut patches);
    let names: Vec<String> = patches.iter().map(|p| p.name.clone()).collect();
    let inactive = inactive_modules(&env.paths, &names);
    match format {
        Format::Json => {
            let doc = ListJson {
                version: JSON_VERSION,
                patches: &patches,
                inactive_modules: &inactive,
            };
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| Error::Failed(format!("cannot encode JSON: {e}")))?;
            say!(out, "{text}");
            return Ok(());
        }
        Format::Prometheus => {
            let text = prometheus(&env.paths, &patches, None, &inactive)?;
            write!(out, "{text}").map_err(|e| Error::io("write output", e))?;
            return Ok(());
        }
        Format::Text => {}
    }
    if patches.is_empty() {
        say!(out, "no live patches are loaded");
    } else {
        say!(out, "{}", table(&patches));
    }
    if !inactive.is_empty() {
        let names: Vec<&str> = inactive.iter().map(|m| m.name.as_str()).collect();
        say!(
            out,
            "live patch modules loaded without their patch (replaced by an atomic replace \
             patch, or disabled; `klpctl unload NAME` removes them): {}",
            names.join(", ")
        );
    }
    Ok(())
}

fn yes_no(v: bool) -> &'static str {
    if v { "yes" } else { "no" }
}

fn opt(v: Option<bool>) -> &'static str {
    v.map_or("n/a", yes_no)
}

/// The table of `klpctl list`: one row per patched object. The STACK column
/// (`stack_order`: 1 for the patch applied first) is there only on kernels
/// that have the file (Linux 6.13 and later).
pub fn table(patches: &[Patch]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::ASCII_FULL_CONDENSED);
    let stack = patches.iter().any(|p| p.stack_order.is_some());
    let mut header = vec!["PATCH", "ENABLED", "TRANSITION", "REPLACE", "FORCED"];
    if stack {
        header.push("STACK");
    }
    header.extend(["OBJECT", "PATCHED", "FUNCTIONS"]);
    table.set_header(header);
    for p in patches {
        let mut head = vec![
            p.name.clone(),
            yes_no(p.enabled).to_string(),
            yes_no(p.transition).to_string(),
            opt(p.replace).to_string(),
            opt(p.forced).to_string(),
        ];
        if stack {
            head.push(p.stack_order.map_or("n/a".to_string(), |n| n.to_string()));
        }
        if p.objects.is_empty() {
            let mut row = head.clone();
            row.extend(["-".to_string(), "-".to_string(), "-".to_string()]);
            table.add_row(row);
        }
        for (i, o) in p.objects.iter().enumerate() {
            let mut row = if i == 0 {
                head.clone()
            } else {
                vec![String::new(); head.len()]
            };
            let funcs: Vec<String> = o
                .functions
                .iter()
                .map(|f| match f.sympos {
                    Some(pos) => format!("{},{pos}", f.name),
                    None => f.name.clone(),
                })
                .collect();
            row.push(o.name.clone());
            row.push(yes_no(o.patched).to_string());
            row.push(if funcs.is_empty() {
                "-".to_string()
            } else {
                funcs.join("\n")
            });
            table.add_row(row);
        }
    }
    table
}

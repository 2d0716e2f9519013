// SPDX-License-Identifier: GPL-2.0
//! `klp-post-link FILE.ko...`: turns each module's references to
//! `.klp.sym.*` symbols into livepatch relocations, in place (see the
//! library's documentation). A module without such references is left
//! untouched; so is one already converted, so the step can run twice.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

/// Turn a klp-rs live patch module's references to non-exported symbols
/// into livepatch relocations (.klp.rela.* sections, SHN_LIVEPATCH symbols).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Print what was converted.
    #[arg(short, long)]
    verbose: bool,
    /// The linked modules (.ko), rewritten in place.
    #[arg(required = true)]
    modules: Vec<PathBuf>,
}

fn post_link(path: &Path, verbose: bool) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let Some((out, report)) = klp_post_link::convert(&data).map_err(|e| e.to_string())? else {
        return Ok(());
    };
    // Written beside the module and renamed over it: never half a module.
    let tmp = path.with_extension("ko.klp-post-link");
    std::fs::write(&tmp, out)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write: {e}")
        })?;
    if verbose {
        for (section, count) in &report.sections {
            println!("{}: {section}: {count} relocation(s)", path.display());
        }
        for symbol in &report.symbols {
            println!("{}: {symbol}", path.display());
        }
        if report.call_sites_dropped > 0 {
            println!(
                "{}: .call_sites: {} entr(y/ies) of moved calls dropped",
                path.display(),
                report.call_sites_dropped
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut status = ExitCode::SUCCESS;
    for path in &args.modules {
        if let Err(e) = post_link(path, args.verbose) {
            eprintln!("klp-post-link: {}: {e}", path.display());
            status = ExitCode::FAILURE;
        }
    }
    status
}

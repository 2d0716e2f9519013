//! `klpctl generate man|completions`: the manual pages (clap_mangen) and
//! shell completions (clap_complete) made from the command-line definition
//! itself, for packaging (`make deb`). Hidden: it is parsed before the
//! main command line (see `main.rs`), so that it is neither in `--help`
//! nor in the pages and completions it generates.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{Error, Result};

/// The man section: klpctl is a system administration command (/usr/sbin).
pub const MAN_SECTION: &str = "8";

/// `klpctl generate`: packaging helpers.
#[derive(Debug, Parser)]
#[command(
    name = "generate",
    bin_name = "klpctl generate",
    disable_help_subcommand = true
)]
pub struct GenerateCli {
    /// What to generate.
    #[command(subcommand)]
    pub what: Generate,
}

/// What `klpctl generate` makes.
#[derive(Debug, Subcommand)]
pub enum Generate {
    /// The manual pages: klpctl.8 and klpctl-SUBCOMMAND.8, into DIR.
    Man {
        /// The directory to write the pages to (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// The completion script of SHELL, on stdout.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// The first argument that makes the command line a `generate` one.
pub const SUBCOMMAND: &str = "generate";

/// Writes the pages of `cmd` and of its subcommands into `dir`; returns
/// their paths.
pub fn man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |path: &Path, source| Error::Io {
        context: format!("writing {}", path.display()),
        source,
    };
    fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // build(): subcommands get their display names (klpctl-list).
    cmd.build();
    let mut written = Vec::new();
    // The NAME line is "klpctl - ABOUT": the about without its "klpctl: ".
    let about = cmd.get_about().map(ToString::to_string).unwrap_or_default();
    let top = cmd
        .clone()
        .about(about.trim_start_matches("klpctl: ").to_owned());
    let mut pages = vec![top];
    pages.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    for page in pages {
        let man = clap_mangen::Man::new(page)
            .section(MAN_SECTION)
            .manual("klp-rs")
            .source(format!("klpctl {}", env!("CARGO_PKG_VERSION")));
        let path = dir.join(man.get_filename());
        let mut text = Vec::new();
        man.render(&mut text).map_err(|e| io(&path, e))?;
        fs::write(&path, text).map_err(|e| io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// Writes the completion script of `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> Result<()> {
    let mut cmd = Cli::command();
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut cmd, "klpctl", &mut text);
    out.write_all(&text).map_err(|source| Error::Io {
        context: "writing to stdout".into(),
        source,
    })
}

/// Runs `klpctl generate ...`.
pub fn run(cli: GenerateCli, out: &mut dyn Write) -> Result<()> {
    match cli.what {
        Generate::Man { dir } => {
            for path in man_pages(&dir)? {
                writeln!(out, "{}", path.display()).map_err(|source| Error::Io {
                    context: "writing to stdout".into(),
                    source,
                })?;
            }
            Ok(())
        }
        Generate::Completions { shell } => completions(shell, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_pages_cover_every_subcommand_in_section_8() {
        let dir = tempfile::tempdir().unwrap();
        let pages = man_pages(dir.path()).unwrap();
        let names: Vec<String> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in [
            "klpctl.8",
            "klpctl-load.8",
            "klpctl-check.8",
            "klpctl-install.8",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("generate")), "{names:?}");
        let main = fs::read_to_string(dir.path().join("klpctl.8")).unwrap();
        assert!(main.starts_with(".ie"), "roff: {}", &main[..40]);
        assert!(main.contains(".TH klpctl 8"), "{main}");
        assert!(main.contains("klpctl\\-blockers"), "subcommands listed");
        assert!(
            main.contains("crash guard"),
            "exit codes (after_help) shown"
        );
    }

    #[test]
    fn completions_name_the_subcommands_but_not_generate() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut out = Vec::new();
            completions(shell, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            for sub in ["load", "unload", "ensure", "blockers", "check"] {
                assert!(text.contains(sub), "{shell}: {sub}");
            }
            assert!(!text.contains("generate"), "{shell}");
            assert!(text.contains("on-timeout"), "{shell}");
        }
    }

    #[test]
    fn generate_is_hidden_from_the_main_help() {
        let help = Cli::command().render_long_help().to_string();
        assert!(!help.contains("generate"), "{help}");
        let cli = GenerateCli::try_parse_from(["klpctl generate", "completions", "bash"]).unwrap();
        assert!(matches!(
            cli.what,
            Generate::Completions { shell: Shell::Bash }
        ));
        assert!(GenerateCli::try_parse_from(["klpctl generate", "completions", "tcsh"]).is_err());
    }
}

//! Command-line arguments (clap) and dispatch to the subcommands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands::{self, Env, LoadOptions, StatusOptions};
use crate::error::Result;
use crate::loader::ModuleLoader;
use crate::paths::Paths;
use crate::wait::WaitOptions;

/// The exit codes, as shown at the end of `--help`. Kept in step with
/// [`crate::error::exit`] (a test checks it).
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  error (I/O, the kernel refused the request)
  2  invalid command line
  3  timeout: a wait ran out (unload: the module was not removed)
  4  not found: unknown patch, or no such .ko file
  5  permission denied: run as root
  6  this kernel has no livepatch support (/sys/kernel/livepatch missing)
  7  the file is not a live patch module
  8  busy: already loaded, another patch in transition, module in use";

/// klpctl: load, watch, diagnose and remove Linux kernel live patches.
#[derive(Debug, Parser)]
#[command(name = "klpctl", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Resolve /sys and /proc under DIR instead of / (for tests and for a
    /// host's /sys and /proc mounted elsewhere). Only for list, status and
    /// blockers: load, disable and unload refuse any root but /.
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every live patch with its objects and functions.
    #[command(after_help = EXIT_CODES_HELP)]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show the progress of the transition in progress.
    #[command(after_help = EXIT_CODES_HELP)]
    Status {
        /// The patch (default: the one in transition); a .ko path or a
        /// name with - for _ also names it, as with modprobe.
        patch: Option<String>,
        /// Follow the transition with a progress bar until it finishes.
        #[arg(long)]
        watch: bool,
        /// Poll interval of --watch, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 500,
              value_parser = clap::value_parser!(u64).range(1..))]
        interval: u64,
        /// Print JSON instead of text.
        #[arg(long, conflicts_with = "watch")]
        json: bool,
    },
    /// Show the tasks that block the transition, with their kernel stacks.
    #[command(after_help = EXIT_CODES_HELP)]
    Blockers {
        /// The patch (default: the one in transition); a .ko path or a
        /// name with - for _ also names it, as with modprobe.
        patch: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check that a .ko is a live patch module (livepatch=Y) and load it.
    #[command(after_help = EXIT_CODES_HELP)]
    Load {
        /// The module file.
        #[arg(value_name = "MODULE.ko")]
        module: PathBuf,
        /// Wait for the patching transition to finish, showing progress.
        #[arg(long)]
        wait: bool,
        /// Stop waiting after S seconds (exit code 3); the patch stays
        /// loaded. Implies --wait.
        #[arg(long, value_name = "S", value_parser = parse_secs)]
        timeout: Option<Duration>,
        /// After S seconds of waiting, make the kernel signal the blocking
        /// tasks (kernels with a `signal` knob only). Implies --wait.
        #[arg(long, value_name = "S", value_parser = parse_secs)]
        signal_after: Option<Duration>,
        /// DANGEROUS: after S seconds of waiting, force the transition.
        /// Tasks may keep running the old code, and the module can never be
        /// removed. Implies --wait.
        #[arg(long, value_name = "S", value_parser = parse_secs)]
        force_after: Option<Duration>,
        /// Poll interval while waiting, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 500,
              value_parser = clap::value_parser!(u64).range(1..))]
        interval: u64,
    },
    /// Disable a patch and wait for the unpatching transition.
    #[command(after_help = EXIT_CODES_HELP)]
    Disable {
        /// The patch; a .ko path or a name with - for _ also names it.
        patch: String,
        /// Stop waiting after S seconds (exit code 3); the unpatching goes
        /// on in the kernel. Default: no limit.
        #[arg(long, value_name = "S", value_parser = parse_secs)]
        timeout: Option<Duration>,
        /// Poll interval while waiting, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 500,
              value_parser = clap::value_parser!(u64).range(1..))]
        interval: u64,
    },
    /// Disable a patch if enabled, wait for the unpatching, remove its module.
    #[command(after_help = EXIT_CODES_HELP)]
    Unload {
        /// The patch (= module name); a .ko path or a name with - for _
        /// also names it.
        patch: String,
        /// Give up after S seconds without removing the module (exit code 3).
        #[arg(long, value_name = "S", value_parser = parse_secs, default_value = "60")]
        timeout: Duration,
        /// Poll interval while waiting, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 500,
              value_parser = clap::value_parser!(u64).range(1..))]
        interval: u64,
    },
}

/// Is `root` the root directory of the running system (`/`, however
/// spelled)?
fn is_running_system(root: &Path) -> bool {
    std::fs::canonicalize(root).is_ok_and(|p| p == Path::new("/"))
}

/// Parses a number of seconds (fractions allowed, e.g. `2.5`).
pub fn parse_secs(s: &str) -> std::result::Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("{s:?} is not a valid number of seconds"))
}

impl Cli {
    /// Parses `args` (the program name first) and checks what clap cannot
    /// express; errors are usage errors (exit code 2), as clap's own.
    pub fn try_parse_checked<I, T>(args: I) -> std::result::Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Self::try_parse_from(args)?;
        cli.check()?;
        Ok(cli)
    }

    /// The checks of [`Cli::try_parse_checked`] after parsing:
    /// `--signal-after`/`--force-after` no later than `--timeout` (the wait
    /// would end before them), and write commands only on the running
    /// system.
    pub fn check(&self) -> std::result::Result<(), clap::Error> {
        let conflict =
            |msg: String| Err(Cli::command().error(clap::error::ErrorKind::ArgumentConflict, msg));
        let secs = |d: Duration| format!("{}s", d.as_secs_f64());
        if let Command::Load {
            timeout: Some(timeout),
            signal_after,
            force_after,
            ..
        } = &self.command
        {
            for (name, after) in [
                ("--signal-after", signal_after),
                ("--force-after", force_after),
            ] {
                if let Some(after) = after
                    && after > timeout
                {
                    return conflict(format!(
                        "{name} {} is later than --timeout {}: the wait would end before it; \
                         give a longer --timeout or a shorter {name}",
                        secs(*after),
                        secs(*timeout)
                    ));
                }
            }
        }
        let write = match self.command {
            Command::Load { .. } => Some("load"),
            Command::Disable { .. } => Some("disable"),
            Command::Unload { .. } => Some("unload"),
            Command::List { .. } | Command::Status { .. } | Command::Blockers { .. } => None,
        };
        if let Some(cmd) = write
            && !is_running_system(&self.root)
        {
            return conflict(format!(
                "--root {} is not the running system: `{cmd}` would read the state under \
                 it but insert or remove modules in the running kernel; load, disable and \
                 unload work only with --root / (the default)",
                self.root.display()
            ));
        }
        Ok(())
    }

    /// Runs the subcommand with `loader`, writing its data to `out` and
    /// warnings and progress to `err`; `tty` says whether `err` is a
    /// terminal (progress bars).
    pub fn run(
        self,
        loader: &dyn ModuleLoader,
        tty: bool,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<()> {
        let env = Env {
            paths: Paths::new(self.root),
            loader,
            tty,
        };
        let poll = Duration::from_millis;
        match self.command {
            Command::List { json } => commands::list(&env, json, out, err),
            Command::Status {
                patch,
                watch,
                interval,
                json,
            } => commands::status(
                &env,
                &StatusOptions {
                    patch,
                    watch,
                    interval: poll(interval),
                    json,
                },
                out,
                err,
            ),
            Command::Blockers { patch, json } => {
                commands::blockers(&env, patch.as_deref(), json, out, err)
            }
            Command::Load {
                module,
                wait,
                timeout,
                signal_after,
                force_after,
                interval,
            } => commands::load(
                &env,
                &LoadOptions {
                    module,
                    wait: wait
                        || timeout.is_some()
                        || signal_after.is_some()
                        || force_after.is_some(),
                    wait_opts: WaitOptions {
                        timeout,
                        signal_after,
                        force_after,
                        poll: poll(interval),
                    },
                },
                out,
                err,
            ),
            Command::Disable {
                patch,
                timeout,
                interval,
            } => commands::disable(
                &env,
                &patch,
                &WaitOptions {
                    timeout,
                    poll: poll(interval),
                    ..WaitOptions::default()
                },
                out,
                err,
            ),
            Command::Unload {
                patch,
                timeout,
                interval,
            } => commands::unload(
                &env,
                &patch,
                &WaitOptions {
                    timeout: Some(timeout),
                    poll: poll(interval),
                    ..WaitOptions::default()
                },
                out,
                err,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_accept_fractions_and_refuse_garbage() {
        assert_eq!(parse_secs("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_secs("0"), Ok(Duration::ZERO));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("inf").is_err());
        assert!(parse_secs("soon").is_err());
    }

    #[test]
    fn load_wait_options_parse_as_seconds() {
        let cli = Cli::try_parse_from(["klpctl", "load", "x.ko", "--force-after", "3"]);
        let Ok(Cli {
            command: Command::Load {
                wait, force_after, ..
            },
            ..
        }) = cli
        else {
            panic!("parse failed: {cli:?}");
        };
        assert!(!wait, "the flag itself is not set");
        assert_eq!(force_after, Some(Duration::from_secs(3)));
    }

    fn checked(args: &[&str]) -> std::result::Result<Cli, clap::Error> {
        Cli::try_parse_checked(std::iter::once("klpctl").chain(args.iter().copied()))
    }

    #[test]
    fn escalations_after_the_timeout_are_usage_errors() {
        for (after, args) in [
            (
                "--force-after",
                ["load", "--timeout", "1", "--force-after", "5", "x.ko"],
            ),
            (
                "--signal-after",
                ["load", "--timeout", "1", "--signal-after", "1.5", "x.ko"],
            ),
        ] {
            let err = checked(&args).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{args:?}"
            );
            assert_eq!(err.exit_code(), crate::error::exit::USAGE);
            let msg = err.to_string();
            assert!(msg.contains(&format!("{after} ")), "{msg}");
            assert!(msg.contains("later than --timeout 1s"), "{msg}");
        }
        // Before or at the timeout, or without one: fine.
        checked(&["load", "--timeout", "5", "--force-after", "5", "x.ko"]).unwrap();
        checked(&["load", "--timeout", "5", "--signal-after", "1", "x.ko"]).unwrap();
        checked(&["load", "--force-after", "50", "x.ko"]).unwrap();
    }

    #[test]
    fn write_commands_refuse_a_root_other_than_the_running_system() {
        let dir = std::env::temp_dir();
        let root = dir.to_str().unwrap();
        for args in [
            &["--root", root, "load", "x.ko"][..],
            &["--root", root, "disable", "p"],
            &["unload", "p", "--root", root],
        ] {
            let err = checked(args).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{args:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains("is not the running system"), "{msg}");
        }
        // Reading a tree elsewhere is what --root is for.
        for args in [
            &["--root", root, "list"][..],
            &["--root", root, "status", "--watch"],
            &["--root", root, "blockers"],
        ] {
            checked(args).unwrap();
        }
        // `/`, however spelled, is the running system.
        for root in ["/", "//", "/proc/.."] {
            checked(&["--root", root, "unload", "p"]).unwrap();
        }
        checked(&["disable", "p"]).unwrap();
    }

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }
}

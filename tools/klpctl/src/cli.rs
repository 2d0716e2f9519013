//! Command-line arguments (clap) and dispatch to the subcommands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};

use crate::audit::AuditSink;
use crate::commands::{
    self, DEFAULT_LOAD_TIMEOUT, EnsureOptions, Env, Format, LoadOptions, LoadWait, OnTimeout,
    StatusOptions,
};
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
  8  busy: another build loaded, another patch in transition, module in use
  10 check: an installed patch is not loaded (or another build of it is)
  11 check: an installed patch is disabled (unpatching)
  12 check: a patch is in transition
  13 check, load --all: an installed patch is skipped by the crash guard";

/// klpctl: load, watch, diagnose and remove Linux kernel live patches.
#[derive(Debug, Parser)]
#[command(name = "klpctl", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Resolve /sys, /proc, /run/klp-rs and /var/lib/klp-rs under DIR
    /// instead of / (for tests and for a host's /sys and /proc mounted
    /// elsewhere). load, ensure, disable and unload, which act on the
    /// running kernel, refuse any root but /.
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every live patch with its objects and functions; with
    /// --installed, the patches installed for a kernel release.
    #[command(after_help = EXIT_CODES_HELP)]
    List {
        /// Print JSON instead of a table (same as --format json).
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Output format: text, json, or prometheus (node_exporter textfile
        /// collector; loaded patches only, --installed aside).
        #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
        format: Format,
        /// List the installed patches (/var/lib/klp-rs/RELEASE/).
        #[arg(long)]
        installed: bool,
        /// With --installed: the kernel release (default: the running one).
        #[arg(long, value_name = "RELEASE", requires = "installed")]
        kernel: Option<String>,
    },
    /// Check that every patch installed for the running kernel is loaded,
    /// enabled and out of transition; the answer is the exit code (0: all
    /// good; 10 missing, 11 disabled, 12 in transition, 13 crash guard).
    #[command(after_help = EXIT_CODES_HELP)]
    Check {
        /// Output format: text, json, or prometheus (node_exporter textfile
        /// collector).
        #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
        format: Format,
    },
    /// Show a module file's live patch metadata (modinfo, srcversion,
    /// vermagic, what its ELF tells of the patched objects) without loading it.
    #[command(after_help = EXIT_CODES_HELP)]
    Info {
        /// The module file.
        #[arg(value_name = "MODULE.ko")]
        module: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Install a live patch module for a kernel release: copy it to
    /// /var/lib/klp-rs/RELEASE/NAME.ko, which `load --all` (klpctl.service)
    /// loads at boot. Does not load it.
    #[command(after_help = EXIT_CODES_HELP)]
    Install {
        /// The module file.
        #[arg(value_name = "MODULE.ko")]
        module: PathBuf,
        /// The kernel release (default: the running one; the module must be
        /// built for it).
        #[arg(long, value_name = "RELEASE")]
        kernel: Option<String>,
    },
    /// Remove an installed patch (and its crash guard). Does not unload it.
    #[command(after_help = EXIT_CODES_HELP)]
    Uninstall {
        /// The patch; a .ko path or a name with - for _ also names it.
        patch: String,
        /// The kernel release (default: the running one).
        #[arg(long, value_name = "RELEASE")]
        kernel: Option<String>,
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
    /// Already loaded and enabled from the same build: nothing to do, exit 0.
    #[command(after_help = EXIT_CODES_HELP)]
    Load {
        /// The module file.
        #[arg(
            value_name = "MODULE.ko",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        module: Option<PathBuf>,
        /// Load every patch installed for the running kernel, in name order,
        /// under the crash guard; nothing if the kernel command line has
        /// klpctl.noload. Run at boot by klpctl.service.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        wait: WaitArgs,
        /// Print JSON (with "changed": false when the same build was
        /// loaded already) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make the given live patches loaded and enabled: load the missing ones
    /// (waiting for each transition), leave those loaded from the same
    /// build. Changes nothing if any file is refused or conflicts.
    #[command(after_help = EXIT_CODES_HELP)]
    Ensure {
        /// The wanted live patch modules, loaded in this order.
        #[arg(value_name = "MODULE.ko", required = true)]
        modules: Vec<PathBuf>,
        /// Only print what would be done.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        wait: WaitArgs,
        /// Print JSON ("changed": true if anything was, or would be, loaded).
        #[arg(long)]
        json: bool,
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
        /// A patch that is not loaded is success (exit 0), not an error.
        #[arg(long)]
        missing_ok: bool,
        /// Give up after S seconds without removing the module (exit code 3).
        #[arg(long, value_name = "S", value_parser = parse_secs, default_value = "60")]
        timeout: Duration,
        /// Poll interval while waiting, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 500,
              value_parser = clap::value_parser!(u64).range(1..))]
        interval: u64,
    },
}

/// How `load` and `ensure` wait for a patching transition.
#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    /// Wait for the patching transition to finish, showing progress
    /// (`ensure` always waits).
    #[arg(long)]
    pub wait: bool,
    /// Stop waiting after S seconds (exit code 3); 0: no limit. Default
    /// 60 s. Implies --wait.
    #[arg(long, value_name = "S", value_parser = parse_secs)]
    pub timeout: Option<Duration>,
    /// On timeout: `keep` the patch loaded (the kernel keeps trying), or
    /// `revert`: disable it, wait for the unpatching and remove the module.
    #[arg(long, value_name = "WHAT", value_enum, default_value = "keep")]
    pub on_timeout: OnTimeout,
    /// After S seconds of waiting, make the kernel signal the blocking
    /// tasks (kernels with a `signal` knob only). Implies --wait.
    #[arg(long, value_name = "S", value_parser = parse_secs)]
    pub signal_after: Option<Duration>,
    /// DANGEROUS: after S seconds of waiting, force the transition.
    /// Tasks may keep running the old code, and the module can never be
    /// removed. Implies --wait.
    #[arg(long, value_name = "S", value_parser = parse_secs)]
    pub force_after: Option<Duration>,
    /// Poll interval while waiting, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: u64,
}

impl WaitArgs {
    /// The effective timeout: the default if none is given, none for 0.
    pub fn effective_timeout(&self) -> Option<Duration> {
        match self.timeout {
            None => Some(DEFAULT_LOAD_TIMEOUT),
            Some(t) if t.is_zero() => None,
            Some(t) => Some(t),
        }
    }

    /// The wait of a load; `always`: wait even without --wait (ensure).
    pub fn to_load_wait(&self, always: bool) -> LoadWait {
        LoadWait {
            wait: always
                || self.wait
                || self.timeout.is_some()
                || self.signal_after.is_some()
                || self.force_after.is_some()
                || self.on_timeout == OnTimeout::Revert,
            wait_opts: WaitOptions {
                timeout: self.effective_timeout(),
                signal_after: self.signal_after,
                force_after: self.force_after,
                poll: Duration::from_millis(self.interval),
            },
            on_timeout: self.on_timeout,
        }
    }

    /// `--signal-after`/`--force-after` must come before the timeout.
    fn check(&self) -> std::result::Result<(), String> {
        let Some(timeout) = self.effective_timeout() else {
            return Ok(());
        };
        let secs = |d: Duration| format!("{}s", d.as_secs_f64());
        let which = if self.timeout.is_some() {
            "--timeout"
        } else {
            "the default --timeout"
        };
        for (name, after) in [
            ("--signal-after", self.signal_after),
            ("--force-after", self.force_after),
        ] {
            if let Some(after) = after
                && after > timeout
            {
                return Err(format!(
                    "{name} {} is later than {which} {}: the wait would end before it; \
                     give a longer --timeout (0: no limit) or a shorter {name}",
                    secs(after),
                    secs(timeout)
                ));
            }
        }
        Ok(())
    }
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
        if let Command::Load { wait, .. } | Command::Ensure { wait, .. } = &self.command
            && let Err(msg) = wait.check()
        {
            return conflict(msg);
        }
        let write = match self.command {
            Command::Load { .. } => Some("load"),
            Command::Ensure { .. } => Some("ensure"),
            Command::Disable { .. } => Some("disable"),
            Command::Unload { .. } => Some("unload"),
            // Only files under the root: fine with any root.
            Command::Install { .. } | Command::Uninstall { .. } => None,
            Command::Check { .. } | Command::Info { .. } => None,
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
        audit: &dyn AuditSink,
        tty: bool,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<()> {
        let env = Env {
            paths: Paths::new(self.root),
            loader,
            tty,
            audit,
        };
        let poll = Duration::from_millis;
        match self.command {
            Command::List {
                json,
                format,
                installed: true,
                kernel,
            } => commands::list_installed(
                &env,
                kernel.as_deref(),
                json || format == Format::Json,
                out,
                err,
            ),
            Command::List { json: true, .. } => commands::list(&env, Format::Json, out, err),
            Command::List { format, .. } => commands::list(&env, format, out, err),
            Command::Check { format } => commands::check(&env, format, out, err),
            Command::Info { module, json } => commands::info(&module, json, out, err),
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
                all: true,
                wait,
                json,
                ..
            } => commands::load_all(&env, &wait.to_load_wait(true), json, out, err),
            Command::Load {
                module: Some(module),
                wait,
                json,
                ..
            } => commands::load(
                &env,
                &LoadOptions {
                    module,
                    wait: wait.to_load_wait(false),
                    json,
                },
                out,
                err,
            ),
            Command::Load { module: None, .. } => Err(crate::Error::Failed(
                "load: give a MODULE.ko or --all".into(),
            )),
            Command::Install { module, kernel } => {
                commands::install(&env, &module, kernel.as_deref(), out, err)
            }
            Command::Uninstall { patch, kernel } => {
                commands::uninstall(&env, &patch, kernel.as_deref(), out, err)
            }
            Command::Ensure {
                modules,
                dry_run,
                wait,
                json,
            } => commands::ensure(
                &env,
                &EnsureOptions {
                    modules,
                    wait: wait.to_load_wait(true),
                    dry_run,
                    json,
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
                missing_ok,
                timeout,
                interval,
            } => commands::unload(
                &env,
                &patch,
                missing_ok,
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
            command: Command::Load { wait, .. },
            ..
        }) = cli
        else {
            panic!("parse failed: {cli:?}");
        };
        assert!(!wait.wait, "the flag itself is not set");
        assert_eq!(wait.force_after, Some(Duration::from_secs(3)));
        let load = wait.to_load_wait(false);
        assert!(load.wait, "implied");
        assert_eq!(load.wait_opts.timeout, Some(DEFAULT_LOAD_TIMEOUT));
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
        // The default timeout (60 s) counts too; 0 is no limit.
        let msg = checked(&["load", "--force-after", "100", "x.ko"])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("--force-after 100s is later than the default --timeout 60s"),
            "{msg}"
        );
        checked(&["load", "--timeout", "0", "--force-after", "100", "x.ko"]).unwrap();
        let msg = checked(&["ensure", "--signal-after", "90", "x.ko"])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("the default --timeout 60s"), "{msg}");
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

//! The `klpctl` binary: parse arguments, run, map errors to exit codes.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use klpctl::audit::SystemLog;
use klpctl::cli::Cli;
use klpctl::error::{Error, exit};
use klpctl::generate::{self, GenerateCli};
use klpctl::loader::KernelLoader;

fn main() -> ExitCode {
    // `klpctl generate man|completions`: hidden, parsed on its own.
    if std::env::args_os().nth(1).as_deref() == Some(generate::SUBCOMMAND.as_ref()) {
        let cli = GenerateCli::parse_from(std::env::args_os().skip(1));
        return match generate::run(cli, &mut io::stdout()) {
            Ok(()) => ExitCode::from(exit::OK as u8),
            Err(e) => {
                eprintln!("klpctl: error: {e}");
                ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
            }
        };
    }
    let cli = Cli::try_parse_checked(std::env::args_os()).unwrap_or_else(|e| e.exit());
    // Not `stderr().lock()`: the progress bar's ticker thread writes to
    // stderr too, and would wait forever for a lock held here.
    let mut out = io::stdout();
    let mut err = io::stderr();
    let tty = err.is_terminal();
    let result = cli.run(&KernelLoader, &SystemLog, tty, &mut out, &mut err);
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::from(exit::OK as u8),
        // `klpctl list | head`: the reader went away and wants no more;
        // like other tools, stop quietly (exit 0, as ripgrep does, so that
        // `set -o pipefail` scripts do not fail on a `head`).
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::from(exit::OK as u8)
        }
        Err(e) => {
            eprintln!("klpctl: error: {e}");
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

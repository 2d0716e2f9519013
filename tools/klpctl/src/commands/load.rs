//! `klpctl load`: check and insert a live patch module, then optionally
//! wait for its transition (signalling or forcing when asked to).

use std::io::Write;
use std::path::PathBuf;

use super::{Env, diag, say, secs};
use crate::error::{Error, Result};
use crate::modinfo::{self, LivepatchModule};
use crate::progress::Reporter;
use crate::signature;
use crate::sysfs;
use crate::wait::{self, Goal, WaitOptions, WaitOutcome};

/// Options of `klpctl load`.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The `.ko` file.
    pub module: PathBuf,
    /// Wait for the patching transition to finish.
    pub wait: bool,
    /// Timeout, signal and force times, poll interval.
    pub wait_opts: WaitOptions,
}

/// A warning if the module was built for another kernel release than the
/// one running (the kernel refuses such a module itself).
fn vermagic_warning(env: &Env, module: &LivepatchModule) -> Option<String> {
    let built_for = module.modinfo.get("vermagic")?.split_whitespace().next()?;
    let running = sysfs::read_trimmed(&env.paths.osrelease()).ok()?;
    (built_for != running).then(|| {
        format!(
            "warning: {} was built for kernel {built_for}, running {running}",
            module.name
        )
    })
}

/// Loads a live patch module.
pub fn load(env: &Env, opts: &LoadOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    let paths = &env.paths;
    let module = modinfo::check_livepatch_module(&opts.module)?;
    paths.require_livepatch()?;
    let name = module.name.as_str();
    if paths.patch_dir(name).exists() {
        return Err(Error::Busy(format!(
            "patch {name} is already loaded (see `klpctl list`)"
        )));
    }
    if let Some(other) = sysfs::transition_patch(paths)? {
        return Err(Error::Busy(format!(
            "patch {other} is in transition: no patch can be loaded until it \
             finishes (see `klpctl status --watch`)"
        )));
    }
    say!(out, "{}: live patch module {name}", module.path.display());
    if let Some(warning) = vermagic_warning(env, &module) {
        diag!(err, "{warning}");
    }
    env.loader
        .insert(&module)
        .map_err(|e| signature::explain_refusal(paths, &module, e))?;
    let Some(state) = sysfs::read_state(paths, name)? else {
        return Err(Error::Failed(format!(
            "module {name} was inserted but {} did not appear; the module stays loaded",
            paths.patch_dir(name).display()
        )));
    };
    say!(out, "loaded {name}");
    if !state.transition {
        say!(out, "{name}: patching complete");
        return Ok(());
    }
    if !opts.wait {
        say!(
            out,
            "{name}: patching transition in progress; follow it with `klpctl status --watch`"
        );
        return Ok(());
    }
    let mut reporter = Reporter::new(env.tty);
    let outcome = wait::wait_for(
        paths,
        name,
        Goal::TransitionDone,
        &opts.wait_opts,
        &mut reporter,
        err,
    )?;
    reporter.finish();
    match outcome {
        WaitOutcome::Done {
            elapsed,
            state: Some(s),
        } if s.enabled => {
            say!(out, "{name}: patching complete after {}", secs(elapsed));
            Ok(())
        }
        WaitOutcome::Done { state: Some(_), .. } => Err(Error::Failed(format!(
            "the patching transition of {name} was reversed: the patch is being disabled"
        ))),
        WaitOutcome::Done { state: None, .. } => Err(Error::Failed(format!(
            "patch {name} disappeared during its transition: it was disabled meanwhile"
        ))),
        WaitOutcome::TimedOut { elapsed, snapshot } => {
            let counts = snapshot
                .map(|s| {
                    format!(
                        " ({} of {} tasks still on the old state)",
                        s.status.pending_tasks, s.status.total_tasks
                    )
                })
                .unwrap_or_default();
            Err(Error::Timeout(format!(
                "timed out after {} waiting for the patching transition of {name}{counts}; \
                 the patch stays loaded and the kernel keeps trying: see `klpctl blockers {name}`",
                secs(elapsed)
            )))
        }
    }
}

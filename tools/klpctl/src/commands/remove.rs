//! `klpctl disable` and `klpctl unload`: unpatch, wait for the unpatching
//! transition, and (unload) remove the module.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use super::{Env, say, secs};
use crate::audit;
use crate::error::{Error, Result};
use crate::paths::{check_name, module_name_from, valid_module_name};
use crate::progress::Reporter;
use crate::runstate;
use crate::sysfs;
use crate::transition::{Direction, Snapshot};
use crate::wait::{self, Goal, WaitOptions, WaitOutcome};

/// How long `unload` retries a module removal that fails because the module
/// is still in use: the kernel drops the live patch's module reference just
/// after the patch leaves sysfs.
const REMOVE_RETRY: Duration = Duration::from_secs(5);

/// Writes 0 to `enabled` if needed and says what the unpatching does.
pub(crate) fn start_disable(env: &Env, name: &str, out: &mut dyn Write) -> Result<()> {
    let paths = &env.paths;
    let Some(state) = sysfs::read_state(paths, name)? else {
        return Ok(());
    };
    let action = format!(
        "write 0 to {}",
        paths.patch_dir(name).join("enabled").display()
    );
    let write_zero = || {
        let r = sysfs::write_attr(paths, name, "enabled", "0")
            .map_err(|e| sysfs::write_error(&action, e, "the patch is already disabled"));
        audit::log(
            env.audit,
            "disable",
            name,
            "write 0 to enabled",
            r.as_ref().map(|_| ()),
        );
        r
    };
    match (state.enabled, state.transition) {
        (true, false) => {
            if let Some(other) = sysfs::transition_patch(paths)? {
                return Err(Error::Busy(format!(
                    "patch {other} is in transition: {name} cannot be disabled until it \
                     finishes (see `klpctl status --watch`)"
                )));
            }
            write_zero()?;
            runstate::record_transition_start(paths, name, Direction::Unpatching);
            say!(out, "{name}: disabling, unpatching transition started");
        }
        (true, true) => {
            write_zero()?;
            runstate::record_transition_start(paths, name, Direction::Unpatching);
            say!(out, "{name}: reversing its patching transition");
        }
        (false, true) => say!(out, "{name}: already unpatching"),
        (false, false) => say!(out, "{name}: disabled, waiting for the kernel to free it"),
    }
    Ok(())
}

fn counts(snapshot: Option<Snapshot>) -> String {
    snapshot
        .map(|s| {
            format!(
                " ({} of {} tasks still on the patched state)",
                s.status.pending_tasks, s.status.total_tasks
            )
        })
        .unwrap_or_default()
}

/// Waits until the patch has left sysfs; the time waited, or the timeout
/// error worded with `refusal` appended.
pub(crate) fn wait_gone(
    env: &Env,
    name: &str,
    opts: &WaitOptions,
    refusal: &str,
    err: &mut dyn Write,
) -> Result<Duration> {
    let mut reporter = Reporter::new(env.tty);
    let outcome = wait::wait_for(
        &env.paths,
        name,
        Goal::PatchGone,
        opts,
        &mut reporter,
        err,
        env.audit,
    )?;
    reporter.finish();
    match outcome {
        WaitOutcome::Done { elapsed, .. } => Ok(elapsed),
        WaitOutcome::TimedOut { elapsed, snapshot } => Err(Error::Timeout(format!(
            "timed out after {}: the unpatching transition of {name} has not finished{}; \
             {refusal}see `klpctl blockers {name}`",
            secs(elapsed),
            counts(snapshot)
        ))),
    }
}

/// Disables a patch and waits until the unpatching transition is over and
/// the patch has left sysfs. The module stays loaded.
pub fn disable(
    env: &Env,
    patch: &str,
    opts: &WaitOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let name = &sysfs::resolve_patch(&env.paths, patch)?;
    start_disable(env, name, out)?;
    let elapsed = wait_gone(env, name, opts, "it goes on in the kernel; ", err)?;
    say!(
        out,
        "{name}: unpatching complete after {}; its module is still loaded \
         (`klpctl unload {name}` removes it)",
        secs(elapsed)
    );
    Ok(())
}

/// Disables a patch if needed, waits for the unpatching, then removes its
/// module. Refuses to remove the module while the transition is unfinished.
/// `patch` is a patch or module name, or a `.ko` path (see
/// [`sysfs::resolve_patch`]). With `missing_ok`, a patch that is not
/// loaded at all (neither in sysfs nor as a module) is success.
pub fn unload(
    env: &Env,
    patch: &str,
    missing_ok: bool,
    opts: &WaitOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let paths = &env.paths;
    paths.require_livepatch()?;
    let unknown = || -> Result<Error> {
        Ok(Error::UnknownPatch {
            name: patch.to_string(),
            known: sysfs::patch_names(paths)?,
        })
    };
    let name = &if check_name(patch) && paths.patch_dir(patch).is_dir() {
        patch.to_string()
    } else {
        let name = module_name_from(patch);
        if !valid_module_name(&name) {
            return Err(unknown()?);
        }
        name
    };
    if paths.patch_dir(name).is_dir() {
        start_disable(env, name, out)?;
        let refusal = format!("not removing module {name}; ");
        let elapsed = wait_gone(env, name, opts, &refusal, err)?;
        say!(out, "{name}: unpatching complete after {}", secs(elapsed));
    } else {
        let module_dir = paths.module_dir(name);
        if !module_dir.is_dir() {
            if missing_ok {
                say!(out, "{name}: not loaded, nothing to do");
                return Ok(());
            }
            return Err(unknown()?);
        }
        // Live patch modules taint the kernel with K (TAINT_LIVEPATCH).
        let taint = sysfs::read_trimmed(&module_dir.join("taint")).unwrap_or_default();
        if !taint.contains('K') {
            return Err(Error::NotLivepatchModule {
                path: module_dir,
                reason: format!(
                    "module {name} is not a live patch module (no K taint): not removing it"
                ),
            });
        }
        say!(
            out,
            "{name}: no longer in {}",
            paths.livepatch_dir().display()
        );
    }
    remove_module(env, name, opts.poll)?;
    say!(out, "removed module {name}");
    Ok(())
}

/// Removes the module of a patch that has left sysfs, retrying for up to
/// [`REMOVE_RETRY`] while it is still in use, and forgets what klpctl
/// recorded about it.
pub(crate) fn remove_module(env: &Env, name: &str, poll: Duration) -> Result<()> {
    let deadline = Instant::now() + REMOVE_RETRY;
    let result = loop {
        match env.loader.remove(name) {
            Ok(()) => break Ok(()),
            Err(Error::Busy(_)) if Instant::now() < deadline => {
                thread::sleep(poll.min(Duration::from_millis(200)));
            }
            Err(e) => break Err(e),
        }
    };
    audit::log(
        env.audit,
        "unload",
        name,
        "delete_module",
        result.as_ref().map(|_| ()),
    );
    result?;
    runstate::forget(&env.paths, name);
    Ok(())
}

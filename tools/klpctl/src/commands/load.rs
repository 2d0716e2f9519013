//! `klpctl load`: check and insert a live patch module, then optionally
//! wait for its transition (signalling or forcing when asked to, reverting
//! on timeout when asked to). Loading a patch that is already loaded from
//! the same build changes nothing and succeeds.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::remove::{remove_module, start_disable, wait_gone};
use super::{Env, JSON_VERSION, diag, say, secs};
use crate::audit;
use crate::error::{Error, Result};
use crate::modinfo::{self, LivepatchModule};
use crate::progress::Reporter;
use crate::runstate::{self, Identity};
use crate::signature;
use crate::sysfs::{self, PatchState};
use crate::transition::Direction;
use crate::wait::{self, Goal, WaitOptions, WaitOutcome};

/// The default `--timeout` of a load that waits.
pub const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// What to do when the wait for a patching transition times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnTimeout {
    /// Leave the patch loaded; the kernel keeps trying.
    #[default]
    Keep,
    /// Disable the patch (reversing the transition), wait for the
    /// unpatching, and remove the module, as kpatch does.
    Revert,
}

/// How a load waits for its transition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadWait {
    /// Wait for the patching transition to finish.
    pub wait: bool,
    /// Timeout, signal and force times, poll interval.
    pub wait_opts: WaitOptions,
    /// What to do on timeout.
    pub on_timeout: OnTimeout,
}

/// Options of `klpctl load`.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The `.ko` file.
    pub module: PathBuf,
    /// Waiting.
    pub wait: LoadWait,
    /// Print a JSON document instead of text.
    pub json: bool,
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// false: the same build was loaded and enabled already.
    pub changed: bool,
    /// The patch's state at the end (`None`: not known).
    pub state: Option<PatchState>,
}

/// The JSON document of `klpctl load --json`.
#[derive(Debug, Serialize)]
struct LoadJson<'a> {
    version: u32,
    patch: &'a str,
    file: String,
    srcversion: Option<&'a str>,
    sha256: &'a str,
    changed: bool,
    enabled: Option<bool>,
    transition: Option<bool>,
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

/// Why `module`, already loaded with state `state`, cannot be taken as the
/// wanted patch; `None` if it can (the same build, or one klpctl cannot
/// tell apart), with a warning for the latter in `warning`.
pub(crate) fn loaded_conflict(
    env: &Env,
    module: &LivepatchModule,
    state: Option<PatchState>,
    warning: &mut Option<String>,
) -> Option<String> {
    let name = &module.name;
    let Some(state) = state else {
        // The module is loaded but its patch is not in sysfs.
        return Some(format!(
            "module {name} is loaded but its patch is not in {}: it was replaced by an \
             atomic replace patch, or disabled; `klpctl unload {name}` removes it",
            env.paths.livepatch_dir().display()
        ));
    };
    match runstate::identify(&env.paths, module) {
        Identity::Different { loaded, file } => {
            return Some(format!(
                "patch {name} is loaded from another build ({loaded}; {} has {file}): \
                 `klpctl unload {name}` first, or ship the new build under another name \
                 as an atomic replace patch",
                module.path.display()
            ));
        }
        Identity::Unknown => {
            *warning = Some(format!(
                "warning: {name} is loaded, but klpctl cannot tell whether it is the build \
                 in {} (the module has no srcversion and klpctl did not load it): taking it \
                 as the same",
                module.path.display()
            ));
        }
        Identity::Same => {}
    }
    if !state.enabled {
        return Some(format!(
            "patch {name} is being disabled (unpatching): wait for it to leave \
             (`klpctl status --watch {name}`), then load it again"
        ));
    }
    None
}

/// Loads the checked `module`, or finds it loaded already (same build,
/// enabled): then nothing changes, and with `wait` a patching transition
/// still in progress is waited for. Results go to `text`, warnings and
/// progress to `err`.
pub(crate) fn load_module(
    env: &Env,
    module: &LivepatchModule,
    how: &LoadWait,
    text: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Loaded> {
    let paths = &env.paths;
    paths.require_livepatch()?;
    let name = module.name.as_str();
    let state = sysfs::read_state(paths, name)?;
    if state.is_some() || paths.module_dir(name).is_dir() {
        let mut warning = None;
        if let Some(why) = loaded_conflict(env, module, state, &mut warning) {
            return Err(Error::Busy(why));
        }
        if let Some(w) = warning {
            diag!(err, "{w}");
        }
        let Some(state) = state else {
            unreachable!("loaded_conflict refuses a module without a patch");
        };
        say!(
            text,
            "{name}: already loaded and enabled (same build): nothing to do"
        );
        if state.transition && how.wait {
            wait_patching(env, name, how, text, err)?;
        } else if state.transition {
            say!(
                text,
                "{name}: its patching transition is still in progress; follow it with \
                 `klpctl status --watch`"
            );
        }
        return Ok(Loaded {
            changed: false,
            state: sysfs::read_state(paths, name)?,
        });
    }
    if let Some(other) = sysfs::transition_patch(paths)? {
        return Err(Error::Busy(format!(
            "patch {other} is in transition: no patch can be loaded until it \
             finishes (see `klpctl status --watch`)"
        )));
    }
    say!(text, "{}: live patch module {name}", module.path.display());
    if let Some(warning) = vermagic_warning(env, module) {
        diag!(err, "{warning}");
    }
    runstate::record_transition_start(paths, name, Direction::Patching);
    let inserted = env
        .loader
        .insert(module)
        .map_err(|e| signature::explain_refusal(paths, module, e));
    let build = match module.srcversion() {
        Some(v) => format!("srcversion {v}"),
        None => format!("sha256 {}", module.sha256),
    };
    audit::log(
        env.audit,
        "load",
        name,
        &format!("{}, {build}", module.path.display()),
        inserted.as_ref().map(|_| ()),
    );
    inserted?;
    if let Err(e) = runstate::record_loaded(paths, module) {
        diag!(
            err,
            "warning: cannot record the build of {name} in {}: {e}",
            paths.run_dir().display()
        );
    }
    let Some(state) = sysfs::read_state(paths, name)? else {
        return Err(Error::Failed(format!(
            "module {name} was inserted but {} did not appear; the module stays loaded",
            paths.patch_dir(name).display()
        )));
    };
    say!(text, "loaded {name}");
    if !state.transition {
        say!(text, "{name}: patching complete");
    } else if !how.wait {
        say!(
            text,
            "{name}: patching transition in progress; follow it with `klpctl status --watch`"
        );
    } else {
        wait_patching(env, name, how, text, err)?;
    }
    Ok(Loaded {
        changed: true,
        state: sysfs::read_state(paths, name)?,
    })
}

/// Waits for the patching transition of `name`; on timeout keeps or
/// reverts the patch as `how` says.
fn wait_patching(
    env: &Env,
    name: &str,
    how: &LoadWait,
    text: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let mut reporter = Reporter::new(env.tty);
    let outcome = wait::wait_for(
        &env.paths,
        name,
        Goal::TransitionDone,
        &how.wait_opts,
        &mut reporter,
        err,
        env.audit,
    )?;
    reporter.finish();
    match outcome {
        WaitOutcome::Done {
            elapsed,
            state: Some(s),
        } if s.enabled => {
            say!(text, "{name}: patching complete after {}", secs(elapsed));
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
            let timed_out = format!(
                "timed out after {} waiting for the patching transition of {name}{counts}",
                secs(elapsed)
            );
            if how.on_timeout == OnTimeout::Keep {
                return Err(Error::Timeout(format!(
                    "{timed_out}; the patch stays loaded and the kernel keeps trying: \
                     see `klpctl blockers {name}`"
                )));
            }
            diag!(
                err,
                "{timed_out}; reverting (--on-timeout revert): disabling {name} and \
                 removing its module"
            );
            revert(env, name, &how.wait_opts, err).map_err(|e| {
                Error::Timeout(format!(
                    "{timed_out}; reverting it failed too: {e}; see `klpctl status {name}`"
                ))
            })?;
            Err(Error::Timeout(format!(
                "{timed_out}; reverted: {name} was disabled and its module removed"
            )))
        }
    }
}

/// Disables `name` (reversing its patching transition), waits for the
/// unpatching, removes the module.
fn revert(env: &Env, name: &str, opts: &WaitOptions, err: &mut dyn Write) -> Result<()> {
    start_disable(env, name, err)?;
    let refusal = format!("not removing module {name}; ");
    wait_gone(env, name, opts, &refusal, err)?;
    remove_module(env, name, opts.poll)?;
    diag!(err, "{name}: reverted: unpatched and module removed");
    Ok(())
}

/// Loads a live patch module (`klpctl load`).
pub fn load(env: &Env, opts: &LoadOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    let module = modinfo::check_livepatch_module(&opts.module)?;
    let mut sink = io::sink();
    let text: &mut dyn Write = if opts.json { &mut sink } else { out };
    let loaded = load_module(env, &module, &opts.wait, text, err)?;
    super::install::clear_guard_after_load(env, &module.name, err);
    if opts.json {
        let doc = LoadJson {
            version: JSON_VERSION,
            patch: &module.name,
            file: module.path.display().to_string(),
            srcversion: module.srcversion(),
            sha256: &module.sha256,
            changed: loaded.changed,
            enabled: loaded.state.map(|s| s.enabled),
            transition: loaded.state.map(|s| s.transition),
        };
        super::print_json(out, &doc)?;
    }
    Ok(())
}

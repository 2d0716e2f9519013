//! `klpctl status`: progress of the transition in progress.

use std::io::Write;
use std::time::Duration;

use serde::Serialize;

use super::{Env, JSON_VERSION, diag, say, secs};
use crate::error::{Error, Result};
use crate::progress::Reporter;
use crate::sysfs;
use crate::transition::{self, Direction, TransitionStatus};
use crate::wait::{self, Goal, WaitOptions, WaitOutcome};

/// Options of `klpctl status`.
#[derive(Debug, Clone)]
pub struct StatusOptions {
    /// The patch; `None`: the one in transition.
    pub patch: Option<String>,
    /// Follow the transition until it finishes.
    pub watch: bool,
    /// Poll interval of `watch`.
    pub interval: Duration,
    /// Print JSON instead of text (not with `watch`).
    pub json: bool,
}

/// The JSON document of `klpctl status --json`.
#[derive(Debug, Serialize)]
pub struct StatusJson<'a> {
    /// [`JSON_VERSION`].
    pub version: u32,
    /// The transition in progress, `null` if none.
    pub transition: Option<&'a TransitionStatus>,
}

/// Percentage of tasks switched.
pub(crate) fn percent(s: &TransitionStatus) -> usize {
    (s.done_tasks() * 100)
        .checked_div(s.total_tasks)
        .unwrap_or(100)
}

/// Shows (or with `watch`, follows) the transition of a patch.
pub fn status(
    env: &Env,
    opts: &StatusOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let paths = &env.paths;
    let patch = match &opts.patch {
        Some(p) => Some(sysfs::resolve_patch(paths, p)?),
        None => sysfs::transition_patch(paths)?,
    };
    let snapshot = match &patch {
        Some(p) => transition::snapshot(paths, p)?,
        None => None,
    };
    if opts.json {
        let doc = StatusJson {
            version: JSON_VERSION,
            transition: snapshot.as_ref().map(|s| &s.status),
        };
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::Failed(format!("cannot encode JSON: {e}")))?;
        say!(out, "{text}");
        return Ok(());
    }
    let Some(snapshot) = snapshot else {
        match (&patch, opts.patch.is_some()) {
            (Some(p), true) => {
                let state = sysfs::read_state(paths, p)?;
                let what = match state {
                    Some(s) if s.enabled => "enabled",
                    Some(_) => "disabled",
                    None => "gone",
                };
                say!(out, "{p}: no transition in progress ({what})");
            }
            _ => say!(out, "no transition in progress"),
        }
        return Ok(());
    };
    let s = &snapshot.status;
    if let Some(warning) = s.unreadable_warning() {
        diag!(err, "{warning}");
    }
    if !opts.watch {
        say!(out, "patch:       {}", s.patch);
        say!(
            out,
            "transition:  {} (tasks move to patch_state {})",
            s.direction.as_str(),
            s.target_state
        );
        say!(
            out,
            "tasks:       {} of {} still on the old state ({} switched, {}%)",
            s.pending_tasks,
            s.total_tasks,
            s.done_tasks(),
            percent(s)
        );
        if s.pending_tasks > 0 {
            say!(out, "blocking tasks: klpctl blockers {}", s.patch);
        }
        return Ok(());
    }
    let wait_opts = WaitOptions {
        poll: opts.interval,
        ..WaitOptions::default()
    };
    let mut reporter = Reporter::new(env.tty);
    let outcome = wait::wait_for(
        paths,
        &s.patch,
        Goal::TransitionDone,
        &wait_opts,
        &mut reporter,
        err,
        env.audit,
    )?;
    reporter.finish();
    if let WaitOutcome::Done { elapsed, state } = outcome {
        // The direction at the end: the transition may have been reversed
        // (`enabled` written meanwhile); a patch gone was unpatched.
        let (end, result) = match state {
            Some(st) if st.enabled => (Direction::Patching, "patched"),
            Some(_) => (Direction::Unpatching, "unpatched"),
            None => (Direction::Unpatching, "unpatched, patch removed"),
        };
        if end == s.direction {
            say!(
                out,
                "{}: {} transition finished after {} ({result})",
                s.patch,
                end.as_str(),
                secs(elapsed)
            );
        } else {
            say!(
                out,
                "{}: the {} transition was reversed; {} finished after {} ({result})",
                s.patch,
                s.direction.as_str(),
                end.as_str(),
                secs(elapsed)
            );
        }
    }
    Ok(())
}

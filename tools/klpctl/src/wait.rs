//! Waiting for a transition to finish, with a timeout, and the optional
//! escalations of `load`: signalling the blocking tasks and forcing.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use crate::audit::{self, AuditSink};
use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::procfs::TaskScanner;
use crate::progress::{Reporter, stamp};
use crate::sysfs::{self, PatchState};
use crate::transition::{self, Snapshot};

/// What the wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// `transition` reads 0 (patching finished).
    TransitionDone,
    /// The patch directory is gone (unpatching finished, patch freed).
    PatchGone,
}

/// How to wait.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitOptions {
    /// Give up after this long (`None`: wait as long as it takes).
    pub timeout: Option<Duration>,
    /// After this long, ask the kernel to signal the blocking tasks
    /// (only kernels with a `signal` attribute).
    pub signal_after: Option<Duration>,
    /// After this long, force the transition (writes `force`).
    pub force_after: Option<Duration>,
    /// How often to look.
    pub poll: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: None,
            signal_after: None,
            force_after: None,
            poll: Duration::from_millis(500),
        }
    }
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitOutcome {
    /// The goal was reached after `elapsed`; `state` is the patch's state
    /// then (`None`: the patch is gone).
    Done {
        /// Time waited.
        elapsed: Duration,
        /// State of the patch at the end.
        state: Option<PatchState>,
    },
    /// The timeout ran out; `snapshot` is the transition as last seen.
    TimedOut {
        /// Time waited.
        elapsed: Duration,
        /// The transition at the end of the wait, if still in progress.
        snapshot: Option<Snapshot>,
    },
}

/// Waits until `goal` is reached for `patch`, showing progress through
/// `reporter` and notes (signal, force) on `out`.
pub fn wait_for(
    paths: &Paths,
    patch: &str,
    goal: Goal,
    opts: &WaitOptions,
    reporter: &mut Reporter,
    out: &mut dyn Write,
    audit: &dyn AuditSink,
) -> Result<WaitOutcome> {
    let start = Instant::now();
    let mut signalled = false;
    let mut forced = false;
    let mut scanner = TaskScanner::new(paths);
    let write = |e| Error::io("write output", e);
    loop {
        let elapsed = start.elapsed();
        let state = sysfs::read_state(paths, patch)?;
        let done = match goal {
            Goal::TransitionDone => state.is_none_or(|s| !s.transition),
            Goal::PatchGone => state.is_none(),
        };
        if done {
            reporter.finish();
            return Ok(WaitOutcome::Done { elapsed, state });
        }
        if goal == Goal::PatchGone
            && let Some(s) = state
            && s.enabled
            && !s.transition
        {
            reporter.finish();
            return Err(Error::Failed(format!(
                "the unpatching of {patch} was reversed: the patch is enabled again"
            )));
        }
        let snapshot = transition::snapshot_with(paths, patch, &mut scanner)?;
        if let Some(snap) = &snapshot {
            reporter.update(out, elapsed, &snap.status).map_err(write)?;
        }
        if let Some(after) = opts.signal_after
            && !signalled
            && elapsed >= after
        {
            signalled = true;
            let msg = signal(paths, patch, elapsed)?;
            reporter.note(out, &msg).map_err(write)?;
        }
        if let Some(after) = opts.force_after
            && !forced
            && elapsed >= after
        {
            forced = true;
            reporter
                .note(out, &force_warning(patch, elapsed))
                .map_err(write)?;
            let forced_result = force(paths, patch, elapsed);
            audit::log(
                audit,
                "force",
                patch,
                &format!("--force-after, after {:.1}s", elapsed.as_secs_f64()),
                forced_result.as_ref().map(|_| ()),
            );
            let msg = forced_result?;
            reporter.note(out, &msg).map_err(write)?;
            continue;
        }
        if let Some(timeout) = opts.timeout
            && elapsed >= timeout
        {
            reporter.finish();
            return Ok(WaitOutcome::TimedOut { elapsed, snapshot });
        }
        let mut pause = opts.poll;
        if let Some(timeout) = opts.timeout {
            pause = pause.min(timeout.saturating_sub(elapsed));
        }
        for after in [opts.signal_after, opts.force_after].into_iter().flatten() {
            if after > elapsed {
                pause = pause.min(after - elapsed);
            }
        }
        thread::sleep(pause.max(Duration::from_millis(1)));
    }
}

/// The warning printed before forcing a transition.
pub fn force_warning(patch: &str, elapsed: Duration) -> String {
    format!(
        "{} WARNING: forcing the transition of {patch}: the tasks still on the old \
         state are switched without the consistency check and may keep running \
         the old code; the module of a forced patch can never be removed",
        stamp(elapsed)
    )
}

/// Writes 1 to the patch's `signal` attribute if the kernel has one.
fn signal(paths: &Paths, patch: &str, elapsed: Duration) -> Result<String> {
    if !sysfs::has_attr(paths, patch, "signal") {
        return Ok(format!(
            "{} this kernel has no signal knob for {patch}: it signals the \
             stalled tasks by itself while the transition is stuck",
            stamp(elapsed)
        ));
    }
    let action = format!(
        "write 1 to {}",
        paths.patch_dir(patch).join("signal").display()
    );
    match sysfs::write_attr(paths, patch, "signal", "1") {
        Ok(()) => Ok(format!(
            "{} signalled the tasks blocking {patch} (wrote 1 to signal)",
            stamp(elapsed)
        )),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(format!(
            "{} no need to signal: the transition of {patch} has just finished",
            stamp(elapsed)
        )),
        Err(e) => Err(sysfs::write_error(&action, e, "no transition in progress")),
    }
}

/// Writes 1 to the patch's `force` attribute.
fn force(paths: &Paths, patch: &str, elapsed: Duration) -> Result<String> {
    if !sysfs::has_attr(paths, patch, "force") {
        return Ok(format!(
            "{} this kernel has no force knob for {patch}: not forced",
            stamp(elapsed)
        ));
    }
    let action = format!(
        "write 1 to {}",
        paths.patch_dir(patch).join("force").display()
    );
    match sysfs::write_attr(paths, patch, "force", "1") {
        Ok(()) => Ok(format!(
            "{} forced the transition of {patch} (wrote 1 to force)",
            stamp(elapsed)
        )),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(format!(
            "{} not forced: the transition of {patch} has just finished",
            stamp(elapsed)
        )),
        Err(e) => Err(sysfs::write_error(&action, e, "no transition in progress")),
    }
}

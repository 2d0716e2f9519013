//! Showing a transition's progress while waiting: an indicatif progress bar
//! on a terminal, plain lines otherwise (logs, pipes, tests).

use std::io::{self, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::transition::{Direction, TransitionStatus};

/// How often a plain-line reporter repeats an unchanged state.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Reports the progress of a transition.
pub struct Reporter {
    bar: Option<ProgressBar>,
    last: Option<(usize, usize)>,
    last_line: Option<Duration>,
    direction: Option<Direction>,
}

/// Formats an elapsed time as `[  1.2s]`.
pub fn stamp(elapsed: Duration) -> String {
    format!("[{:>6.1}s]", elapsed.as_secs_f64())
}

/// One line describing `status`, e.g.
/// `patching livepatch_sample: 2 of 57 tasks still on the old state`.
pub fn describe(status: &TransitionStatus) -> String {
    format!(
        "{} {}: {} of {} tasks still on the old state",
        status.direction.as_str(),
        status.patch,
        status.pending_tasks,
        status.total_tasks
    )
}

impl Reporter {
    /// A reporter drawing a progress bar on stderr if `tty` (stderr is a
    /// terminal), else writing plain lines to the output given to each
    /// call (stderr too, in klpctl: progress is not data).
    pub fn new(tty: bool) -> Self {
        let bar = tty.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} tasks switched  {msg}",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Reporter {
            bar,
            last: None,
            last_line: None,
            direction: None,
        }
    }

    /// Shows the latest state, `elapsed` after the start of the wait.
    /// Plain output prints a line when the counts change, and every few
    /// seconds otherwise. A change of direction (`enabled` written
    /// mid-transition: the kernel reverses it) is reported when seen.
    pub fn update(
        &mut self,
        out: &mut dyn Write,
        elapsed: Duration,
        status: &TransitionStatus,
    ) -> io::Result<()> {
        let counts = (status.pending_tasks, status.total_tasks);
        let reversed = self
            .direction
            .replace(status.direction)
            .is_some_and(|before| before != status.direction);
        if reversed {
            let msg = format!(
                "{} {}: the {} transition was reversed: now {} (tasks move to patch_state {})",
                stamp(elapsed),
                status.patch,
                status.direction.reversed().as_str(),
                status.direction.as_str(),
                status.target_state
            );
            self.note(out, &msg)?;
            // The counts are against the new target: show them again.
            self.last = None;
        }
        if let Some(bar) = &self.bar {
            bar.set_length(status.total_tasks as u64);
            bar.set_position(status.done_tasks() as u64);
            bar.set_message(format!(
                "{} {}: {} left",
                status.direction.as_str(),
                status.patch,
                status.pending_tasks
            ));
            return Ok(());
        }
        let due = match self.last_line {
            Some(at) => elapsed.saturating_sub(at) >= HEARTBEAT,
            None => true,
        };
        if self.last != Some(counts) || due {
            writeln!(out, "{} {}", stamp(elapsed), describe(status))?;
            self.last = Some(counts);
            self.last_line = Some(elapsed);
        }
        Ok(())
    }

    /// Prints a message line without disturbing the bar.
    pub fn note(&mut self, out: &mut dyn Write, msg: &str) -> io::Result<()> {
        match &self.bar {
            Some(bar) => {
                bar.println(msg);
                Ok(())
            }
            None => writeln!(out, "{msg}"),
        }
    }

    /// Removes the bar (if any); later output goes below it.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.finish();
    }
}

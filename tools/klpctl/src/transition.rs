//! The state of a transition: its direction, and which tasks are still on
//! the old state (the blockers).
//!
//! Linux 6.12 does not show the transition's target in sysfs; it follows
//! from `enabled`: `enabled=1, transition=1` is patching (target state 1),
//! `enabled=0, transition=1` unpatching (target state 0).

use serde::Serialize;

use crate::error::Result;
use crate::paths::Paths;
use crate::procfs::{Task, TaskScanner};
use crate::sysfs;

/// Which way a transition goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Tasks move to the patched code (`patch_state` 1).
    Patching,
    /// Tasks move back to the original code (`patch_state` 0).
    Unpatching,
}

impl Direction {
    /// The direction of a transition of a patch whose `enabled` is `enabled`.
    pub fn from_enabled(enabled: bool) -> Self {
        if enabled {
            Direction::Patching
        } else {
            Direction::Unpatching
        }
    }

    /// The `patch_state` every task reaches when the transition completes.
    pub fn target_state(self) -> i32 {
        match self {
            Direction::Patching => 1,
            Direction::Unpatching => 0,
        }
    }

    /// The other direction (that of a reversed transition).
    pub fn reversed(self) -> Self {
        match self {
            Direction::Patching => Direction::Unpatching,
            Direction::Unpatching => Direction::Patching,
        }
    }

    /// `"patching"` or `"unpatching"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Patching => "patching",
            Direction::Unpatching => "unpatching",
        }
    }
}

/// Progress of a transition in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionStatus {
    /// The patch in transition.
    pub patch: String,
    /// Its direction.
    pub direction: Direction,
    /// The `patch_state` tasks move to (1 patching, 0 unpatching).
    pub target_state: i32,
    /// Tasks taking part in the transition (`patch_state` 0 or 1).
    pub total_tasks: usize,
    /// Tasks still on the old state: these block the transition.
    pub pending_tasks: usize,
    /// Tasks whose `patch_state` could not be read (not root: the file is
    /// readable by the task's owner only). Non-zero means the counts above
    /// are incomplete.
    pub unreadable_tasks: usize,
}

impl TransitionStatus {
    /// Tasks already switched to the target state.
    pub fn done_tasks(&self) -> usize {
        self.total_tasks.saturating_sub(self.pending_tasks)
    }

    /// A warning when some tasks' `patch_state` could not be read.
    pub fn unreadable_warning(&self) -> Option<String> {
        (self.unreadable_tasks > 0).then(|| {
            format!(
                "warning: the patch_state of {} tasks could not be read (it is readable \
                 by the task's owner only: run as root); the counts are incomplete",
                self.unreadable_tasks
            )
        })
    }
}

/// A transition with the tasks that block it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Counts and direction.
    pub status: TransitionStatus,
    /// The tasks still on the old state, sorted by pid and tid.
    pub blockers: Vec<Task>,
}

/// Reads the transition of `patch`: `Ok(None)` if the patch has no
/// transition in progress (or is gone).
pub fn snapshot(paths: &Paths, patch: &str) -> Result<Option<Snapshot>> {
    snapshot_with(paths, patch, &mut TaskScanner::new(paths))
}

/// [`snapshot`] with a scanner kept from one poll to the next (see
/// [`TaskScanner`]: cheaper on a system with many tasks).
pub fn snapshot_with(
    paths: &Paths,
    patch: &str,
    scanner: &mut TaskScanner,
) -> Result<Option<Snapshot>> {
    let Some(state) = sysfs::read_state(paths, patch)? else {
        return Ok(None);
    };
    if !state.transition {
        return Ok(None);
    }
    let direction = Direction::from_enabled(state.enabled);
    let target = direction.target_state();
    let scan = scanner.scan(target)?;
    Ok(Some(Snapshot {
        status: TransitionStatus {
            patch: patch.to_string(),
            direction,
            target_state: target,
            total_tasks: scan.total,
            pending_tasks: scan.blockers.len(),
            unreadable_tasks: scan.unreadable,
        },
        blockers: scan.blockers,
    }))
}

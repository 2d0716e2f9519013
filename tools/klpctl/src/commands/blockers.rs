//! `klpctl blockers`: the tasks that hold a transition back, with their
//! kernel stacks.

use std::io::Write;

use serde::Serialize;

use super::{Env, JSON_VERSION, diag, say};
use crate::error::{Error, Result};
use crate::procfs::{self, Stack, state_name};
use crate::sysfs;
use crate::transition::{self, TransitionStatus};

/// One blocking task in `klpctl blockers --json`.
#[derive(Debug, Serialize)]
pub struct BlockerJson {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Task name.
    pub comm: String,
    /// State letter (R, S, D, ...).
    pub state: String,
    /// The task's `patch_state` (the old state).
    pub patch_state: i32,
    /// Kernel stack lines, `null` if unavailable.
    pub stack: Option<Vec<String>>,
    /// Why the stack is unavailable, `null` if it was read.
    pub stack_error: Option<String>,
}

/// The JSON document of `klpctl blockers --json`.
#[derive(Debug, Serialize)]
pub struct BlockersJson<'a> {
    /// [`JSON_VERSION`].
    pub version: u32,
    /// The transition, `null` if none is in progress.
    pub transition: Option<&'a TransitionStatus>,
    /// The tasks still on the old state.
    pub blockers: Vec<BlockerJson>,
}

/// Lists the tasks that block the transition of `patch` (default: the
/// patch in transition).
pub fn blockers(
    env: &Env,
    patch: Option<&str>,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let paths = &env.paths;
    let patch = match patch {
        Some(p) => Some(sysfs::resolve_patch(paths, p)?),
        None => sysfs::transition_patch(paths)?,
    };
    let snapshot = match &patch {
        Some(p) => transition::snapshot(paths, p)?,
        None => None,
    };
    let tasks: Vec<(procfs::Task, Stack)> = snapshot
        .iter()
        .flat_map(|s| s.blockers.iter())
        .map(|t| (t.clone(), procfs::read_stack(paths, t.pid, t.tid)))
        .collect();
    if json {
        let doc = BlockersJson {
            version: JSON_VERSION,
            transition: snapshot.as_ref().map(|s| &s.status),
            blockers: tasks
                .into_iter()
                .map(|(t, stack)| {
                    let (stack, stack_error) = match stack {
                        Stack::Lines(l) => (Some(l), None),
                        Stack::Unavailable(why) => (None, Some(why)),
                    };
                    BlockerJson {
                        pid: t.pid,
                        tid: t.tid,
                        comm: t.comm,
                        state: t.state,
                        patch_state: t.patch_state,
                        stack,
                        stack_error,
                    }
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::Failed(format!("cannot encode JSON: {e}")))?;
        say!(out, "{text}");
        return Ok(());
    }
    let Some(snapshot) = snapshot else {
        match patch {
            Some(p) => say!(out, "{p}: no transition in progress, nothing blocks"),
            None => say!(out, "no transition in progress, nothing blocks"),
        }
        return Ok(());
    };
    let s = &snapshot.status;
    say!(
        out,
        "{} is {}: {} of {} tasks still on the old state (patch_state {})",
        s.patch,
        s.direction.as_str(),
        s.pending_tasks,
        s.total_tasks,
        1 - s.target_state
    );
    if let Some(warning) = s.unreadable_warning() {
        diag!(err, "{warning}");
    }
    if tasks.is_empty() {
        say!(
            out,
            "no task blocks it any more: the kernel completes the transition at its next try"
        );
        return Ok(());
    }
    for (t, stack) in &tasks {
        say!(out);
        say!(
            out,
            "pid {}  tid {}  state {} ({})  comm {}",
            t.pid,
            t.tid,
            t.state,
            state_name(&t.state),
            t.comm
        );
        match stack {
            Stack::Lines(lines) if lines.is_empty() => {
                say!(out, "    stack: empty (the task may be running)")
            }
            Stack::Lines(lines) => {
                for line in lines {
                    say!(out, "    {line}");
                }
            }
            Stack::Unavailable(why) => say!(out, "    stack: unavailable ({why})"),
        }
    }
    Ok(())
}

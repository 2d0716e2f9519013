//! Tasks and their live patch state, from `/proc/<pid>/task/<tid>/`.
//!
//! `patch_state` is per task (thread): `-1` no transition, `0` the task
//! runs the unpatched state, `1` the patched state.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::paths::Paths;

/// One task (thread) and its live patch state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Process id (thread group id).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// `comm`, the task's name.
    pub comm: String,
    /// State letter from `stat` (R, S, D, ...), `?` if unreadable.
    pub state: String,
    /// `patch_state`: -1, 0 or 1.
    pub patch_state: i32,
}

/// A task's kernel stack, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stack {
    /// The lines of `/proc/<pid>/task/<tid>/stack`.
    Lines(Vec<String>),
    /// The stack could not be read (not root, kernel without
    /// `CONFIG_STACKTRACE`, task gone); the reason.
    Unavailable(String),
}

/// Describes a `stat` state letter for people.
pub fn state_name(state: &str) -> &'static str {
    match state {
        "R" => "running",
        "S" => "sleeping",
        "D" => "uninterruptible sleep",
        "T" => "stopped",
        "t" => "tracing stop",
        "Z" => "zombie",
        "X" => "dead",
        "I" => "idle",
        "P" => "parked",
        "W" => "waking",
        "K" => "wakekill",
        _ => "unknown",
    }
}

/// The result of scanning `/proc`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskScan {
    /// Every task with a readable `patch_state`, sorted by pid then tid.
    pub tasks: Vec<Task>,
    /// Tasks whose `patch_state` exists but could not be read. The file
    /// is readable by the task's owner only, so as non-root this counts
    /// everyone else's tasks.
    pub unreadable: usize,
}

/// Scans every task in `/proc`. Tasks that exit during the scan are
/// skipped.
pub fn scan_tasks(paths: &Paths) -> Result<TaskScan> {
    let proc_dir = paths.proc_dir();
    let entries = fs::read_dir(&proc_dir)
        .map_err(|e| Error::io(format!("read {}", proc_dir.display()), e))?;
    let mut scan = TaskScan::default();
    let mut add = |read: TaskRead| match read {
        TaskRead::Task(t) => scan.tasks.push(t),
        TaskRead::Unreadable => scan.unreadable += 1,
        TaskRead::Absent => {}
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let pid_dir = entry.path();
        let task_dir = pid_dir.join("task");
        match fs::read_dir(&task_dir) {
            Ok(threads) => {
                for thread in threads.flatten() {
                    let Some(tid) = thread.file_name().to_str().and_then(|s| s.parse().ok()) else {
                        continue;
                    };
                    add(read_task(&thread.path(), pid, tid));
                }
            }
            // No task/ directory (old kernel or a fake tree): the process
            // directory describes its main thread.
            Err(_) => add(read_task(&pid_dir, pid, pid)),
        }
    }
    scan.tasks.sort_by_key(|t| (t.pid, t.tid));
    Ok(scan)
}

enum TaskRead {
    Task(Task),
    /// `patch_state` exists but cannot be read (not our task, not root).
    Unreadable,
    /// No `patch_state` (task gone, kernel without livepatch).
    Absent,
}

fn read_task(dir: &Path, pid: u32, tid: u32) -> TaskRead {
    let patch_state = match fs::read_to_string(dir.join("patch_state")) {
        Ok(text) => match text.trim().parse() {
            Ok(v) => v,
            Err(_) => return TaskRead::Unreadable,
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => return TaskRead::Absent,
        Err(_) => return TaskRead::Unreadable,
    };
    let comm = fs::read_to_string(dir.join("comm"))
        .map(|c| c.trim_end_matches('\n').to_string())
        .unwrap_or_else(|_| "?".to_string());
    let state = fs::read_to_string(dir.join("stat"))
        .ok()
        .and_then(|s| stat_state(&s))
        .unwrap_or_else(|| "?".to_string());
    TaskRead::Task(Task {
        pid,
        tid,
        comm,
        state,
        patch_state,
    })
}

/// The state letter (field 3) of a `stat` line. The comm (field 2) may
/// contain spaces and parentheses, so the field after the last `)` is used.
pub fn stat_state(stat: &str) -> Option<String> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().next().map(str::to_string)
}

/// Directory of a task: `/proc/<pid>/task/<tid>`, or `/proc/<pid>` where
/// the former does not exist.
fn task_dir(paths: &Paths, pid: u32, tid: u32) -> PathBuf {
    let pid_dir = paths.proc_dir().join(pid.to_string());
    let dir = pid_dir.join("task").join(tid.to_string());
    if dir.is_dir() { dir } else { pid_dir }
}

/// Reads the kernel stack of a task.
pub fn read_stack(paths: &Paths, pid: u32, tid: u32) -> Stack {
    let path = task_dir(paths, pid, tid).join("stack");
    match fs::read_to_string(&path) {
        Ok(text) => Stack::Lines(text.lines().map(str::to_string).collect()),
        Err(e) => Stack::Unavailable(match e.kind() {
            io::ErrorKind::PermissionDenied => "permission denied: run as root".to_string(),
            io::ErrorKind::NotFound => "no stack file: task gone, or no CONFIG_STACKTRACE".into(),
            _ => e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_letter_after_the_comm() {
        assert_eq!(stat_state("42 (a) b) c) D 1 2 3").as_deref(), Some("D"));
        assert_eq!(stat_state("1 (init) S 0").as_deref(), Some("S"));
        assert_eq!(stat_state("garbage"), None);
        assert_eq!(state_name("D"), "uninterruptible sleep");
    }
}

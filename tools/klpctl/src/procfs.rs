//! Tasks and their live patch state, from `/proc/<pid>/task/<tid>/`.
//!
//! `patch_state` is per task (thread): `-1` no transition, `0` the task
//! runs the unpatched state, `1` the patched state.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// How klpctl reads `/proc`: the real file system ([`FsReader`]), or in
/// tests a reader that counts what is read.
pub trait ProcReader {
    /// The contents of a file.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// The names of the entries of a directory.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
}

/// Reads the real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsReader;

impl ProcReader for FsReader {
    fn read(&self, path: &Path) -> io::Result<String> {
        fs::read_to_string(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        Ok(fs::read_dir(dir)?
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    }
}

/// How often a [`TaskScanner`] lists `/proc` again to find new tasks.
/// Between listings it re-reads only the `patch_state` of the tasks it
/// knows: a task forked meanwhile inherits its parent's state, so counts
/// are at most this much behind for new tasks.
pub const RELIST_EVERY: Duration = Duration::from_secs(5);

/// The tasks taking part in a transition, from one scan of `/proc`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskScan {
    /// Tasks whose `patch_state` is 0 or 1.
    pub total: usize,
    /// Those not on the target state, with their `comm` and state letter,
    /// sorted by pid then tid.
    pub blockers: Vec<Task>,
    /// Tasks whose `patch_state` exists but could not be read. The file
    /// is readable by the task's owner only, so as non-root this counts
    /// everyone else's tasks.
    pub unreadable: usize,
}

/// Scans the tasks of `/proc` again and again (`status --watch`, waits)
/// cheaply: the task directories are listed only every `relist_every`,
/// each scan reads one `patch_state` per known task, and `comm` and `stat`
/// only of the tasks still blocking.
pub struct TaskScanner<'a> {
    proc_dir: PathBuf,
    reader: &'a dyn ProcReader,
    relist_every: Duration,
    listed: Option<Instant>,
    /// pid, tid and directory of every task seen at the last listing and
    /// not gone since.
    tasks: Vec<(u32, u32, PathBuf)>,
}

impl<'a> TaskScanner<'a> {
    /// A scanner of `ROOT/proc` on the real file system.
    pub fn new(paths: &Paths) -> TaskScanner<'static> {
        TaskScanner::with_reader(paths, &FsReader, RELIST_EVERY)
    }

    /// A scanner reading through `reader`, listing `/proc` again every
    /// `relist_every`.
    pub fn with_reader(paths: &Paths, reader: &'a dyn ProcReader, relist_every: Duration) -> Self {
        TaskScanner {
            proc_dir: paths.proc_dir(),
            reader,
            relist_every,
            listed: None,
            tasks: Vec::new(),
        }
    }

    /// Lists every task directory: `/proc/<pid>/task/<tid>`, or
    /// `/proc/<pid>` where there is no `task/` (old kernel, fake tree).
    fn relist(&mut self) -> Result<()> {
        let names = self
            .reader
            .list(&self.proc_dir)
            .map_err(|e| Error::io(format!("read {}", self.proc_dir.display()), e))?;
        self.tasks.clear();
        for pid in names.iter().filter_map(|n| n.parse::<u32>().ok()) {
            let pid_dir = self.proc_dir.join(pid.to_string());
            let task_dir = pid_dir.join("task");
            match self.reader.list(&task_dir) {
                Ok(tids) => {
                    for tid in tids.iter().filter_map(|t| t.parse::<u32>().ok()) {
                        self.tasks.push((pid, tid, task_dir.join(tid.to_string())));
                    }
                }
                Err(_) => self.tasks.push((pid, pid, pid_dir)),
            }
        }
        self.listed = Some(Instant::now());
        Ok(())
    }

    /// Scans the tasks for a transition to `target` (the `patch_state`
    /// they move to). Tasks that exit are dropped.
    pub fn scan(&mut self, target: i32) -> Result<TaskScan> {
        if self
            .listed
            .is_none_or(|at| at.elapsed() >= self.relist_every)
        {
            self.relist()?;
        }
        let reader = self.reader;
        let mut scan = TaskScan::default();
        self.tasks.retain(|(pid, tid, dir)| {
            let state = match reader.read(&dir.join("patch_state")) {
                Ok(text) => text.trim().parse::<i32>().ok(),
                // Gone (or a kernel without livepatch): forget it.
                Err(e) if e.kind() == io::ErrorKind::NotFound => return false,
                Err(_) => None,
            };
            match state {
                None => scan.unreadable += 1,
                Some(s) if s < 0 => {}
                Some(s) => {
                    scan.total += 1;
                    if s != target {
                        scan.blockers.push(read_details(reader, dir, *pid, *tid, s));
                    }
                }
            }
            true
        });
        scan.blockers.sort_by_key(|t| (t.pid, t.tid));
        Ok(scan)
    }
}

/// A blocking task's `comm` and state letter, `?` where unreadable.
fn read_details(reader: &dyn ProcReader, dir: &Path, pid: u32, tid: u32, patch_state: i32) -> Task {
    let comm = reader
        .read(&dir.join("comm"))
        .map(|c| c.trim_end_matches('\n').to_string())
        .unwrap_or_else(|_| "?".to_string());
    let state = reader
        .read(&dir.join("stat"))
        .ok()
        .and_then(|s| stat_state(&s))
        .unwrap_or_else(|| "?".to_string());
    Task {
        pid,
        tid,
        comm,
        state,
        patch_state,
    }
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

//! What a `/proc` scan reads: `status --watch` on a system with many tasks
//! must not re-read every task's `comm` and `stat` at every poll, nor list
//! `/proc` every time.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use klpctl::procfs::{FsReader, ProcReader, TaskScanner};

use crate::fixture::*;

/// Reads the file system and records every read and listing.
#[derive(Default)]
struct CountingReader {
    reads: Mutex<Vec<PathBuf>>,
    lists: Mutex<Vec<PathBuf>>,
}

impl ProcReader for CountingReader {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.reads.lock().unwrap().push(path.to_path_buf());
        FsReader.read(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.lists.lock().unwrap().push(dir.to_path_buf());
        FsReader.list(dir)
    }
}

impl CountingReader {
    /// Reads of files named `name`, as (pid, tid) directories.
    fn reads_of(&self, name: &str) -> Vec<PathBuf> {
        self.reads
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.file_name().is_some_and(|n| n == name))
            .map(|p| p.parent().unwrap().to_path_buf())
            .collect()
    }

    fn lists(&self) -> usize {
        self.lists.lock().unwrap().len()
    }
}

/// 400 processes of 2 threads, all patched but three threads.
fn many_tasks() -> FakeTree {
    let tree = FakeTree::new();
    tree.add_patch("p", true, true);
    for pid in 1000..1400 {
        for tid in [pid, pid + 100_000] {
            let blocking = matches!((pid, tid), (1007, 1007) | (1200, 101_200) | (1399, 1399));
            tree.add_task(pid, tid, "t", 'S', if blocking { 0 } else { 1 }, None);
        }
    }
    tree
}

#[test]
fn repeated_scans_read_details_of_blockers_only_and_list_proc_rarely() {
    let tree = many_tasks();
    let paths = tree.paths();
    let reader = CountingReader::default();
    let mut scanner = TaskScanner::with_reader(&paths, &reader, Duration::from_secs(3600));

    let scan = scanner.scan(1).unwrap();
    assert_eq!(
        (scan.total, scan.blockers.len(), scan.unreadable),
        (800, 3, 0)
    );
    let tids: Vec<u32> = scan.blockers.iter().map(|t| t.tid).collect();
    assert_eq!(tids, [1007, 101_200, 1399]);
    assert_eq!(
        (
            scan.blockers[0].comm.as_str(),
            scan.blockers[0].state.as_str()
        ),
        ("t", "S")
    );
    // /proc and each process's task/ listed once; one patch_state per task;
    // comm and stat of the three blockers only.
    assert_eq!(reader.lists(), 1 + 400);
    assert_eq!(reader.reads_of("patch_state").len(), 800);
    let blockers = [
        tree.task_dir(1007, 1007),
        tree.task_dir(1200, 101_200),
        tree.task_dir(1399, 1399),
    ];
    let mut comm = reader.reads_of("comm");
    assert_eq!(comm.len(), 3, "comm of the blockers only");
    comm.sort();
    assert_eq!(comm, blockers);
    assert_eq!(reader.reads_of("stat").len(), 3);

    // The next polls: no listing; patch_state again, details of the
    // blockers left.
    tree.set_patch_state(1007, 1007, 1);
    let scan = scanner.scan(1).unwrap();
    assert_eq!((scan.total, scan.blockers.len()), (800, 2));
    assert_eq!(reader.lists(), 401, "/proc is not listed at every poll");
    assert_eq!(reader.reads_of("patch_state").len(), 1600);
    assert_eq!(reader.reads_of("comm").len(), 5);
    assert_eq!(reader.reads_of("stat").len(), 5);

    // A task that exits is dropped without a listing.
    std::fs::remove_dir_all(tree.task_dir(1200, 101_200)).unwrap();
    let scan = scanner.scan(1).unwrap();
    assert_eq!((scan.total, scan.blockers.len()), (799, 1));
    assert_eq!(reader.lists(), 401);
}

#[test]
fn a_scanner_lists_proc_again_after_its_interval() {
    let tree = many_tasks();
    let paths = tree.paths();
    let reader = CountingReader::default();
    let mut scanner = TaskScanner::with_reader(&paths, &reader, Duration::ZERO);
    scanner.scan(1).unwrap();
    // A new task shows at the next listing.
    tree.add_task(5000, 5000, "new", 'R', 0, None);
    let scan = scanner.scan(1).unwrap();
    assert_eq!(reader.lists(), 2 * 401 + 1);
    assert_eq!((scan.total, scan.blockers.len()), (801, 4));
}

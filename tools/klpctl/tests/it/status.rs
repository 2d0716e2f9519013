use std::time::Duration;

use klpctl::commands::{self, StatusOptions};
use klpctl::error::{Error, exit};
use klpctl::transition::{self, Direction};
use serde_json::Value;

use crate::fixture::*;

fn opts(patch: Option<&str>) -> StatusOptions {
    StatusOptions {
        patch: patch.map(str::to_string),
        watch: false,
        interval: Duration::from_millis(20),
        json: false,
    }
}

#[test]
fn status_of_a_stalled_patching_transition() {
    let tree = FakeTree::stalled_patching();
    let loader = FakeLoader::new(&tree);
    let snap = transition::snapshot(&tree.paths(), "livepatch_sample")
        .unwrap()
        .unwrap();
    assert_eq!(snap.status.direction, Direction::Patching);
    assert_eq!(snap.status.target_state, 1);
    // pid 300 reads -1 and takes no part; 1, 100, 101, 200 do.
    assert_eq!(snap.status.total_tasks, 4);
    assert_eq!(snap.status.pending_tasks, 2);
    assert_eq!(snap.status.done_tasks(), 2);

    let (r, text) =
        capture(|out, err| commands::status(&env(&tree, &loader), &opts(None), out, err));
    r.unwrap();
    assert!(text.contains("patch:       livepatch_sample"), "{text}");
    assert!(
        text.contains("transition:  patching (tasks move to patch_state 1)"),
        "{text}"
    );
    assert!(
        text.contains("tasks:       2 of 4 still on the old state (2 switched, 50%)"),
        "{text}"
    );
    assert!(text.contains("klpctl blockers livepatch_sample"), "{text}");

    let mut o = opts(Some("livepatch_sample"));
    o.json = true;
    let (r, text) = capture(|out, err| commands::status(&env(&tree, &loader), &o, out, err));
    r.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["transition"]["patch"], "livepatch_sample");
    assert_eq!(v["transition"]["direction"], "patching");
    assert_eq!(v["transition"]["target_state"], 1);
    assert_eq!(v["transition"]["total_tasks"], 4);
    assert_eq!(v["transition"]["pending_tasks"], 2);
    assert_eq!(v["transition"]["unreadable_tasks"], 0);
}

#[test]
fn status_of_an_unpatching_transition_counts_patched_tasks() {
    let tree = FakeTree::new();
    tree.add_patch("p", false, true);
    tree.add_task(10, 10, "a", 'S', 1, None);
    tree.add_task(11, 11, "b", 'R', 0, None);
    tree.add_task(11, 12, "c", 'S', 0, None);
    let snap = transition::snapshot(&tree.paths(), "p").unwrap().unwrap();
    assert_eq!(snap.status.direction, Direction::Unpatching);
    assert_eq!(snap.status.target_state, 0);
    assert_eq!((snap.status.pending_tasks, snap.status.total_tasks), (1, 3));
    assert_eq!(snap.blockers[0].comm, "a");
}

#[test]
fn status_without_transition() {
    let tree = FakeTree::new();
    tree.add_patch("livepatch_sample", true, false);
    tree.add_task(1, 1, "init", 'S', -1, None);
    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::status(&env(&tree, &loader), &opts(None), out, err));
    r.unwrap();
    assert_eq!(text, "no transition in progress\n");
    let (r, text) = capture(|out, err| {
        commands::status(
            &env(&tree, &loader),
            &opts(Some("livepatch_sample")),
            out,
            err,
        )
    });
    r.unwrap();
    assert_eq!(
        text,
        "livepatch_sample: no transition in progress (enabled)\n"
    );
    let mut o = opts(None);
    o.json = true;
    let (r, text) = capture(|out, err| commands::status(&env(&tree, &loader), &o, out, err));
    r.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["transition"], Value::Null);
}

#[test]
fn status_of_an_unknown_patch_lists_the_known_ones() {
    let tree = FakeTree::stalled_patching();
    tree.add_patch("other", true, false);
    let loader = FakeLoader::new(&tree);
    let (r, _) =
        capture(|out, err| commands::status(&env(&tree, &loader), &opts(Some("nope")), out, err));
    let err = r.unwrap_err();
    assert!(matches!(err, Error::UnknownPatch { .. }));
    assert_eq!(err.exit_code(), exit::NOT_FOUND);
    assert_eq!(
        err.to_string(),
        "unknown patch 'nope': loaded live patches: livepatch_sample, other"
    );
    // Path tricks are unknown patches too.
    let (r, _) =
        capture(|out, err| commands::status(&env(&tree, &loader), &opts(Some("..")), out, err));
    assert!(matches!(r.unwrap_err(), Error::UnknownPatch { .. }));
}

#[test]
fn status_watch_follows_the_transition_to_its_end() {
    let tree = FakeTree::stalled_patching();
    let loader = FakeLoader::new(&tree);
    let root = tree.root().to_path_buf();
    // The "kernel": switches task 101 once the watch has shown 2 of 4 tasks
    // pending, then task 200 and ends the transition once it has shown 1.
    let progress = SharedBuf::default();
    let seen = progress.clone();
    let kernel = std::thread::spawn(move || {
        let t = FakeTree::at(&root);
        seen.wait_for("patching livepatch_sample: 2 of 4 tasks still on the old state");
        t.set_patch_state(100, 101, 1);
        seen.wait_for("patching livepatch_sample: 1 of 4 tasks still on the old state");
        t.set_patch_state(200, 200, 1);
        t.set("livepatch_sample", "transition", "0\n");
    });
    let mut o = opts(None);
    o.watch = true;
    let (r, text, diag) = capture_shared(&progress, |out, err| {
        commands::status(&env(&tree, &loader), &o, out, err)
    });
    kernel.join().unwrap();
    r.unwrap();
    assert!(
        diag.contains("] patching livepatch_sample: 2 of 4 tasks still on the old state"),
        "{diag}"
    );
    assert!(
        diag.contains("] patching livepatch_sample: 1 of 4 tasks still on the old state"),
        "{diag}"
    );
    // The result is the only data.
    assert_eq!(text.lines().count(), 1, "{text}");
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("livepatch_sample: patching transition finished after ")
            && last.ends_with("(patched)"),
        "{text}"
    );
}

#[test]
fn status_warns_when_some_patch_states_are_unreadable() {
    let tree = FakeTree::stalled_patching();
    // A patch_state that cannot be read (as for other users' tasks when
    // not root; a directory here, since root reads any file).
    let dir = tree.task_dir(500, 500);
    std::fs::create_dir_all(dir.join("patch_state")).unwrap();
    let loader = FakeLoader::new(&tree);
    let (r, text, diag) =
        capture_both(|out, err| commands::status(&env(&tree, &loader), &opts(None), out, err));
    r.unwrap();
    assert!(
        diag.starts_with("warning: the patch_state of 1 tasks could not be read"),
        "{diag}"
    );
    assert!(text.starts_with("patch:"), "{text}");
    assert!(text.contains("2 of 4 still on the old state"), "{text}");
    let snap = transition::snapshot(&tree.paths(), "livepatch_sample")
        .unwrap()
        .unwrap();
    assert_eq!(snap.status.unreadable_tasks, 1);
}

#[test]
fn status_watch_reports_a_reversal_when_it_happens() {
    let tree = FakeTree::stalled_patching();
    let loader = FakeLoader::new(&tree);
    let root = tree.root().to_path_buf();
    // The "kernel": `enabled` written 0 mid-transition (once the watch has
    // shown the patching) reverses it; the counts stay 2 of 4 (tasks 1 and
    // 100 are the ones to go back now); then, once the watch has shown the
    // unpatching, it finishes.
    let progress = SharedBuf::default();
    let seen = progress.clone();
    let kernel = std::thread::spawn(move || {
        let t = FakeTree::at(&root);
        seen.wait_for("] patching livepatch_sample: 2 of 4 tasks");
        t.set("livepatch_sample", "enabled", "0\n");
        seen.wait_for("] unpatching livepatch_sample: 2 of 4 tasks");
        t.set_patch_state(1, 1, 0);
        t.set_patch_state(100, 100, 0);
        t.set("livepatch_sample", "transition", "0\n");
    });
    let mut o = opts(None);
    o.watch = true;
    let (r, text, diag) = capture_shared(&progress, |out, err| {
        commands::status(&env(&tree, &loader), &o, out, err)
    });
    kernel.join().unwrap();
    r.unwrap();
    let reversed = diag
        .lines()
        .position(|l| {
            l.contains("livepatch_sample: the patching transition was reversed: now unpatching")
        })
        .unwrap_or_else(|| panic!("no reversal reported:\n{diag}"));
    assert!(
        diag.lines()
            .skip(reversed)
            .any(|l| l.contains("] unpatching livepatch_sample: 2 of 4 tasks")),
        "{diag}"
    );
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with(
            "livepatch_sample: the patching transition was reversed; unpatching finished after "
        ) && last.ends_with("(unpatched)"),
        "{text}"
    );
}

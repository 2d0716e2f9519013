use klpctl::commands;
use serde_json::Value;

use crate::fixture::*;

#[test]
fn blockers_names_the_blocking_tasks_with_their_stacks() {
    let tree = FakeTree::stalled_patching();
    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::blockers(&env(&tree, &loader), None, false, out, err));
    r.unwrap();
    assert!(
        text.starts_with(
            "livepatch_sample is patching: 2 of 4 tasks still on the old state (patch_state 0)"
        ),
        "{text}"
    );
    assert!(
        text.contains("pid 100  tid 101  state D (uninterruptible sleep)  comm sleepy\n    [<0>] klp_sleepy_wait+0x15/0x30 [sleepy]\n    [<0>] do_syscall_64+0x82/0x170\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "pid 200  tid 200  state S (sleeping)  comm worker\n    stack: unavailable ("
        ),
        "{text}"
    );
    // Tasks already switched or outside the transition are not blockers.
    assert!(!text.contains("systemd") && !text.contains("tid 100 ") && !text.contains("idle"));
}

#[test]
fn blockers_json() {
    let tree = FakeTree::stalled_patching();
    let loader = FakeLoader::new(&tree);
    let (r, text) = capture(|out, err| {
        commands::blockers(
            &env(&tree, &loader),
            Some("livepatch_sample"),
            true,
            out,
            err,
        )
    });
    r.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["transition"]["pending_tasks"], 2);
    let b = v["blockers"].as_array().unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(b[0]["pid"], 100);
    assert_eq!(b[0]["tid"], 101);
    assert_eq!(b[0]["comm"], "sleepy");
    assert_eq!(b[0]["state"], "D");
    assert_eq!(b[0]["patch_state"], 0);
    assert_eq!(b[0]["stack"][0], "[<0>] klp_sleepy_wait+0x15/0x30 [sleepy]");
    assert_eq!(b[0]["stack_error"], Value::Null);
    assert_eq!(b[1]["pid"], 200);
    assert_eq!(b[1]["stack"], Value::Null);
    assert!(b[1]["stack_error"].is_string());
}

#[test]
fn blockers_reads_comm_with_spaces_and_parentheses() {
    let tree = FakeTree::new();
    tree.add_patch("p", true, true);
    tree.add_task(7, 7, "odd (name) x", 'R', 0, Some("[<0>] f+0x1/0x2\n"));
    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::blockers(&env(&tree, &loader), None, false, out, err));
    r.unwrap();
    assert!(
        text.contains("state R (running)  comm odd (name) x"),
        "{text}"
    );
}

#[test]
fn blockers_without_transition() {
    let tree = FakeTree::new();
    tree.add_patch("livepatch_sample", true, false);
    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::blockers(&env(&tree, &loader), None, false, out, err));
    r.unwrap();
    assert_eq!(text, "no transition in progress, nothing blocks\n");
}

//! End-to-end runs of the built binary on fake trees. None of them reaches
//! the real module loader.

use std::process::{Command, Output};

use klpctl::error::exit;
use serde_json::Value;

use crate::fixture::*;

/// klpctl without --root, for write commands that must be refused before
/// klpctl reads or changes anything of the running system (a file that is
/// not a live patch module, a missing file).
fn klpctl_on_host_refused_early(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_klpctl"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_documents_every_exit_code() {
    let o = Command::new(env!("CARGO_BIN_EXE_klpctl"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success());
    let help = stdout(&o);
    for cmd in [
        "list",
        "status",
        "blockers",
        "load",
        "ensure",
        "disable",
        "unload",
        "install",
        "uninstall",
    ] {
        assert!(
            help.contains(&format!("  {cmd} ")),
            "{cmd} missing:\n{help}"
        );
    }
    for code in [
        exit::OK,
        exit::ERROR,
        exit::USAGE,
        exit::TIMEOUT,
        exit::NOT_FOUND,
        exit::PERMISSION,
        exit::NO_LIVEPATCH,
        exit::NOT_LIVEPATCH,
        exit::BUSY,
        exit::MISSING,
        exit::DISABLED,
        exit::IN_TRANSITION,
        exit::CRASH_GUARD,
    ] {
        assert!(
            help.contains(&format!("\n  {code:<2} ")),
            "exit code {code}:\n{help}"
        );
    }
}

#[test]
fn load_help_states_the_default_timeout() {
    for cmd in ["load", "ensure"] {
        let o = Command::new(env!("CARGO_BIN_EXE_klpctl"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        let help = stdout(&o);
        assert!(help.contains("Default 60 s"), "{cmd}: {help}");
        assert!(help.contains("--on-timeout <WHAT>"), "{cmd}: {help}");
    }
}

#[test]
fn bad_usage_exits_2() {
    let tree = FakeTree::new();
    let o = klpctl(&tree, &["load"]);
    assert_eq!(o.status.code(), Some(exit::USAGE));
    let o = klpctl(&tree, &["status", "--watch", "--json"]);
    assert_eq!(o.status.code(), Some(exit::USAGE));
    let o = klpctl(&tree, &["unload", "p", "--timeout", "soon"]);
    assert_eq!(o.status.code(), Some(exit::USAGE));
    assert!(stderr(&o).contains("\"soon\" is not a number of seconds"));
}

#[test]
fn list_json_end_to_end() {
    let tree = FakeTree::stalled_patching();
    let o = klpctl(&tree, &["list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["patches"][0]["name"], "livepatch_sample");
    assert_eq!(v["patches"][0]["transition"], true);
    let o = klpctl(&tree, &["list"]);
    assert!(
        stdout(&o).contains("| livepatch_sample | yes     | yes        |"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn status_and_blockers_end_to_end() {
    let tree = FakeTree::stalled_patching();
    let o = klpctl(&tree, &["status"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("2 of 4 still on the old state"),
        "{}",
        stdout(&o)
    );
    let o = klpctl(&tree, &["blockers", "livepatch_sample"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("pid 100  tid 101  state D"), "{text}");
    assert!(
        text.contains("[<0>] klp_sleepy_wait+0x15/0x30 [sleepy]"),
        "{text}"
    );
}

#[test]
fn errors_end_to_end() {
    let tree = FakeTree::stalled_patching();
    let o = klpctl(&tree, &["status", "nope"]);
    assert_eq!(o.status.code(), Some(exit::NOT_FOUND));
    assert_eq!(
        stderr(&o),
        "klpctl: error: unknown patch 'nope': loaded live patches: livepatch_sample\n"
    );

    // `load` works only on the running system (no --root); these files are
    // refused before klpctl looks at the system.
    let ko = tree.write_file("plain.ko", &elf(1, Some(b"license=GPL\0name=plain\0")));
    let o = klpctl_on_host_refused_early(&["load", "--wait", ko.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::NOT_LIVEPATCH));
    assert!(
        stderr(&o).contains("plain.ko: not a live patch module"),
        "{}",
        stderr(&o)
    );

    let o = klpctl_on_host_refused_early(&["load", "/nonexistent/x.ko"]);
    assert_eq!(o.status.code(), Some(exit::NOT_FOUND));

    let bare = FakeTree::without_livepatch();
    let o = klpctl(&bare, &["list"]);
    assert_eq!(o.status.code(), Some(exit::NO_LIVEPATCH));
    assert!(
        stderr(&o)
            .contains("sys/kernel/livepatch does not exist: this kernel has no livepatch support")
    );
}

#[test]
fn write_commands_refuse_a_fake_root() {
    // With --root DIR the state is read under DIR, but modules would be
    // inserted into and removed from the running kernel: refused.
    let tree = FakeTree::new();
    // Unpatching already in progress and stuck: task 5 stays patched.
    tree.add_patch("livepatch_sample", false, true);
    tree.add_patch("other", true, false);
    tree.add_module("livepatch_sample", "OK");
    tree.add_task(5, 5, "stuck", 'D', 1, Some("[<0>] msleep+0x2b/0x40\n"));
    // Already loaded: without the check, load stops there (exit 8) and
    // never reaches the kernel.
    let ko = tree.write_file("other.ko", &elf(1, Some(&livepatch_modinfo("other"))));
    let cases: [&[&str]; 3] = [
        &[
            "unload",
            "livepatch_sample",
            "--timeout",
            "0.3",
            "--interval",
            "20",
        ],
        &["disable", "other", "--timeout", "0.3", "--interval", "20"],
        &["load", ko.to_str().unwrap()],
    ];
    for args in cases {
        let o = klpctl(&tree, args);
        assert_eq!(
            o.status.code(),
            Some(exit::USAGE),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("is not the running system"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_eq!(stdout(&o), "", "{args:?}");
    }
    assert_eq!(tree.get("other", "enabled"), "1\n", "not touched");
    assert!(tree.root().join("sys/module/livepatch_sample").exists());
}

#[test]
fn load_escalation_after_the_timeout_is_a_usage_error() {
    let tree = FakeTree::new();
    tree.add_patch("other", true, false);
    let ko = tree.write_file("other.ko", &elf(1, Some(&livepatch_modinfo("other"))));
    let ko = ko.to_str().unwrap();
    for (after, secs) in [("--force-after", "5"), ("--signal-after", "2")] {
        let o = klpctl(&tree, &["load", "--timeout", "1", after, secs, ko]);
        assert_eq!(
            o.status.code(),
            Some(exit::USAGE),
            "{after}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains(&format!("{after} {secs}s is later than --timeout 1s")),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    // `klpctl list --json | head -c1`: the reader is gone before klpctl
    // writes (the read end closed here already, so every write fails with
    // EPIPE, deterministically).
    let tree = FakeTree::stalled_patching();
    for args in [&["list", "--json"][..], &["list"], &["blockers"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = Command::new(env!("CARGO_BIN_EXE_klpctl"))
            .arg("--root")
            .arg(tree.root())
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(exit::OK), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}: no message");
    }
}

#[test]
fn warnings_go_to_stderr_and_data_to_stdout() {
    let tree = FakeTree::stalled_patching();
    // A patch_state that cannot be read (a directory: root reads any file).
    std::fs::create_dir_all(tree.task_dir(500, 500).join("patch_state")).unwrap();
    for args in [&["status"][..], &["blockers"]] {
        let o = klpctl(&tree, args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stderr(&o).starts_with("warning: the patch_state of 1 tasks could not be read"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(!stdout(&o).contains("warning"), "{args:?}: {}", stdout(&o));
    }
}

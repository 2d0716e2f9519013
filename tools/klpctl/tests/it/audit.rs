//! The audit trail: each change is recorded with the user and the outcome.

use std::fs;
use std::process::Command;
use std::time::Duration;

use klpctl::audit::{AUDIT_LOG_ENV, MemoryLog};
use klpctl::commands::{self, Env, LoadOptions, LoadWait, OnTimeout};
use klpctl::wait::WaitOptions;

use crate::fixture::*;

const NAME: &str = "livepatch_sample";

fn audited<'a>(tree: &FakeTree, loader: &'a FakeLoader, log: &'a MemoryLog) -> Env<'a> {
    Env {
        audit: log,
        ..env(tree, loader)
    }
}

#[test]
fn load_force_disable_and_unload_are_recorded_with_user_and_outcome() {
    let tree = FakeTree::new();
    tree.add_tasks_for_patching();
    let loader = FakeLoader::new(&tree);
    let log = MemoryLog::default();
    let ko = write_ko(&tree, "lp.ko", NAME, Some("ABC"));
    // The kernel ends the transition once forced.
    let root = tree.root().to_path_buf();
    let force = tree.patch_dir(NAME).join("force");
    let kernel = when(
        move || fs::read_to_string(&force).is_ok_and(|f| f.trim() == "1"),
        move || FakeTree::at(&root).set(NAME, "transition", "0\n"),
    );
    let (r, _) = capture(|out, err| {
        commands::load(
            &audited(&tree, &loader, &log),
            &LoadOptions {
                module: ko.clone(),
                wait: LoadWait {
                    wait: true,
                    wait_opts: WaitOptions {
                        timeout: Some(Duration::from_secs(5)),
                        force_after: Some(Duration::from_millis(50)),
                        poll: Duration::from_millis(10),
                        ..WaitOptions::default()
                    },
                    on_timeout: OnTimeout::Keep,
                },
                json: false,
            },
            out,
            err,
        )
    });
    kernel.join().unwrap();
    r.unwrap();
    let records = log.records();
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(
        records[0].starts_with(&format!(
            "notice load livepatch_sample ({}, srcversion ABC): ok; by uid ",
            ko.display()
        )),
        "{records:?}"
    );
    assert!(
        records[1].starts_with("notice force livepatch_sample (--force-after, after "),
        "{records:?}"
    );

    // A refused write is recorded as failed.
    let (r, _) = capture(|out, err| {
        commands::unload(
            &audited(&tree, &loader, &log),
            NAME,
            false,
            &WaitOptions {
                timeout: Some(Duration::from_millis(100)),
                poll: Duration::from_millis(10),
                ..WaitOptions::default()
            },
            out,
            err,
        )
    });
    assert!(r.is_err(), "the patch never leaves in this tree");
    let records = log.records();
    assert!(
        records[2].starts_with("notice disable livepatch_sample (write 0 to enabled): ok; by uid "),
        "{records:?}"
    );
    assert_eq!(records.len(), 3, "no module removal was tried: {records:?}");

    // The patch leaves: unload removes the module, recorded.
    fs::remove_dir_all(tree.patch_dir(NAME)).unwrap();
    let (r, _) = capture(|out, err| {
        commands::unload(
            &audited(&tree, &loader, &log),
            NAME,
            false,
            &WaitOptions::default(),
            out,
            err,
        )
    });
    r.unwrap();
    let records = log.records();
    assert!(
        records[3].starts_with("notice unload livepatch_sample (delete_module): ok; by uid "),
        "{records:?}"
    );
}

#[test]
fn a_failed_load_is_recorded_as_failed() {
    let tree = FakeTree::new();
    let loader = FakeLoader::new(&tree);
    // The FakeLoader refuses to insert: a file is where the module
    // directory goes ("already loaded").
    fs::write(tree.root().join("sys/module").join(NAME), "").unwrap();
    let log = MemoryLog::default();
    let ko = write_ko(&tree, "lp.ko", NAME, None);
    let (r, _) = capture(|out, err| {
        commands::load(
            &audited(&tree, &loader, &log),
            &LoadOptions {
                module: ko,
                wait: LoadWait::default(),
                json: false,
            },
            out,
            err,
        )
    });
    assert!(r.is_err());
    let records = log.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(
        records[0].starts_with("err load livepatch_sample (")
            && records[0].contains("): failed: module livepatch_sample is already loaded; by uid"),
        "{records:?}"
    );
}

#[test]
fn install_and_uninstall_are_recorded_through_the_environment_variable() {
    let tree = FakeTree::new();
    fs::write(tree.root().join("proc/sys/kernel/osrelease"), "6.12.0\n").unwrap();
    let ko = write_ko(&tree, "lp.ko", NAME, None);
    let log = tree.root().join("audit.log");
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_klpctl"))
            .env(AUDIT_LOG_ENV, &log)
            .env("SUDO_USER", "alice")
            .arg("--root")
            .arg(tree.root())
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["install", ko.to_str().unwrap()]);
    run(&["uninstall", NAME]);
    run(&["list"]); // reads only: not recorded
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("notice install livepatch_sample ("),
        "{text}"
    );
    assert!(
        lines[1].starts_with("notice uninstall livepatch_sample ("),
        "{text}"
    );
    for l in lines {
        assert!(
            l.contains("): ok; by uid ") && l.ends_with(", sudo by alice"),
            "{l}"
        );
    }
}

#[test]
fn without_a_system_log_commands_still_succeed() {
    // The audit file cannot be written: the command goes on.
    let tree = FakeTree::new();
    fs::write(tree.root().join("proc/sys/kernel/osrelease"), "6.12.0\n").unwrap();
    let ko = write_ko(&tree, "lp.ko", NAME, None);
    let o = Command::new(env!("CARGO_BIN_EXE_klpctl"))
        .env(AUDIT_LOG_ENV, "/nonexistent/dir/audit.log")
        .arg("--root")
        .arg(tree.root())
        .args(["install", ko.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

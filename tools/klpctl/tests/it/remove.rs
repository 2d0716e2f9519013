use std::fs;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use klpctl::commands;
use klpctl::error::{Error, exit};
use klpctl::wait::WaitOptions;

use crate::fixture::*;

const NAME: &str = "livepatch_sample";

fn quick(timeout: Option<f64>) -> WaitOptions {
    WaitOptions {
        timeout: timeout.map(Duration::from_secs_f64),
        poll: Duration::from_millis(10),
        ..WaitOptions::default()
    }
}

/// An enabled patch with its module loaded, and tasks.
fn enabled_patch() -> FakeTree {
    let tree = FakeTree::new();
    tree.add_patch(NAME, true, false);
    tree.add_object(NAME, "vmlinux", true, &["cmdline_proc_show,0"]);
    tree.add_module(NAME, "OK");
    tree.add_tasks_for_patching();
    tree
}

/// How the fake unpatching ends.
enum Finish {
    /// It never ends.
    Never,
    /// It ends 200 ms after it started.
    Soon,
    /// It ends once the command has reported it (its stderr).
    AfterReport(SharedBuf),
}

/// The "kernel" side of disabling: once `enabled` reads 0 the unpatching
/// transition starts; when it ends (`finish`), the patch directory goes
/// away.
fn kernel_unpatches(tree: &FakeTree, finish: Finish) -> JoinHandle<()> {
    let root = tree.root().to_path_buf();
    let enabled = tree.patch_dir(NAME).join("enabled");
    when(
        move || fs::read_to_string(&enabled).is_ok_and(|e| e.trim() == "0"),
        move || {
            let t = FakeTree::at(&root);
            t.set(NAME, "transition", "1\n");
            match finish {
                Finish::Never => return,
                Finish::Soon => std::thread::sleep(Duration::from_millis(200)),
                Finish::AfterReport(seen) => {
                    seen.wait_for("unpatching livepatch_sample: 2 of 4 tasks")
                }
            }
            fs::remove_dir_all(t.patch_dir(NAME)).unwrap();
        },
    )
}

fn module_loaded(tree: &FakeTree) -> bool {
    Path::new(&tree.root().join("sys/module").join(NAME)).exists()
}

#[test]
fn disable_waits_for_the_unpatching_transition() {
    let tree = enabled_patch();
    let loader = FakeLoader::new(&tree);
    let progress = SharedBuf::default();
    let kernel = kernel_unpatches(&tree, Finish::AfterReport(progress.clone()));
    let (r, text, diag) = capture_shared(&progress, |out, err| {
        commands::disable(&env(&tree, &loader), NAME, &quick(Some(5.0)), out, err)
    });
    kernel.join().unwrap();
    r.unwrap();
    assert!(text.starts_with("livepatch_sample: disabling, unpatching transition started\n"));
    assert!(
        diag.contains("unpatching livepatch_sample: 2 of 4 tasks"),
        "{diag}"
    );
    assert!(
        text.contains("livepatch_sample: unpatching complete after"),
        "{text}"
    );
    assert!(!tree.patch_dir(NAME).exists());
    assert!(module_loaded(&tree), "disable keeps the module");
    assert!(loader.removed().is_empty());
}

#[test]
fn disable_times_out_on_a_stuck_transition() {
    let tree = enabled_patch();
    let loader = FakeLoader::new(&tree);
    let kernel = kernel_unpatches(&tree, Finish::Never);
    let (r, _) = capture(|out, err| {
        commands::disable(&env(&tree, &loader), NAME, &quick(Some(0.3)), out, err)
    });
    kernel.join().unwrap();
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::TIMEOUT);
    assert_eq!(
        err.to_string(),
        "timed out after 0.3s: the unpatching transition of livepatch_sample has not \
         finished (2 of 4 tasks still on the patched state); it goes on in the kernel; \
         see `klpctl blockers livepatch_sample`"
    );
    assert_eq!(tree.get(NAME, "enabled"), "0");
}

#[test]
fn disable_reverses_a_patching_transition() {
    let tree = enabled_patch();
    tree.set(NAME, "transition", "1\n");
    let loader = FakeLoader::new(&tree);
    let kernel = kernel_unpatches(&tree, Finish::Soon);
    let (r, text) = capture(|out, err| {
        commands::disable(&env(&tree, &loader), NAME, &quick(Some(5.0)), out, err)
    });
    kernel.join().unwrap();
    r.unwrap();
    assert!(
        text.starts_with("livepatch_sample: reversing its patching transition\n"),
        "{text}"
    );
}

#[test]
fn disable_refuses_while_another_patch_is_in_transition() {
    let tree = enabled_patch();
    tree.add_patch("other", true, true);
    let loader = FakeLoader::new(&tree);
    let (r, _) = capture(|out, err| {
        commands::disable(&env(&tree, &loader), NAME, &quick(Some(0.2)), out, err)
    });
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::BUSY);
    assert_eq!(tree.get(NAME, "enabled"), "1\n", "not touched");
}

#[test]
fn disable_of_an_unknown_patch() {
    let tree = enabled_patch();
    let loader = FakeLoader::new(&tree);
    let (r, _) =
        capture(|out, err| commands::disable(&env(&tree, &loader), "nope", &quick(None), out, err));
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::NOT_FOUND);
    assert_eq!(
        err.to_string(),
        "unknown patch 'nope': loaded live patches: livepatch_sample"
    );
}

#[test]
fn unload_disables_waits_and_removes_the_module() {
    let tree = enabled_patch();
    let loader = FakeLoader::new(&tree);
    let kernel = kernel_unpatches(&tree, Finish::Soon);
    let (r, text) = capture(|out, err| {
        commands::unload(
            &env(&tree, &loader),
            NAME,
            false,
            &quick(Some(5.0)),
            out,
            err,
        )
    });
    kernel.join().unwrap();
    r.unwrap();
    assert_eq!(loader.removed(), [NAME]);
    assert!(!module_loaded(&tree));
    assert!(
        text.contains("livepatch_sample: unpatching complete after"),
        "{text}"
    );
    assert!(
        text.ends_with("removed module livepatch_sample\n"),
        "{text}"
    );
}

#[test]
fn unload_refuses_to_remove_the_module_of_a_stuck_transition() {
    let tree = enabled_patch();
    let loader = FakeLoader::new(&tree);
    let kernel = kernel_unpatches(&tree, Finish::Never);
    let (r, _) = capture(|out, err| {
        commands::unload(
            &env(&tree, &loader),
            NAME,
            false,
            &quick(Some(0.3)),
            out,
            err,
        )
    });
    kernel.join().unwrap();
    let err = r.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)));
    assert_eq!(err.exit_code(), exit::TIMEOUT);
    assert!(
        err.to_string().contains("has not finished (2 of 4 tasks still on the patched state); not removing module livepatch_sample"),
        "{err}"
    );
    assert!(loader.removed().is_empty());
    assert!(module_loaded(&tree));
}

#[test]
fn unload_of_an_already_disabled_patch_removes_the_module() {
    let tree = FakeTree::new();
    tree.add_module(NAME, "OK");
    let loader = FakeLoader::new(&tree);
    let (r, text) = capture(|out, err| {
        commands::unload(
            &env(&tree, &loader),
            NAME,
            false,
            &quick(Some(1.0)),
            out,
            err,
        )
    });
    r.unwrap();
    assert_eq!(loader.removed(), [NAME]);
    assert!(
        text.ends_with("removed module livepatch_sample\n"),
        "{text}"
    );
}

#[test]
fn unload_refuses_modules_that_are_not_live_patches() {
    let tree = FakeTree::new();
    tree.add_module("e1000", "");
    let loader = FakeLoader::new(&tree);
    let (r, _) = capture(|out, err| {
        commands::unload(
            &env(&tree, &loader),
            "e1000",
            false,
            &quick(Some(1.0)),
            out,
            err,
        )
    });
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::NOT_LIVEPATCH);
    assert!(err.to_string().contains("not a live patch module"), "{err}");
    assert!(loader.removed().is_empty());
}

#[test]
fn unload_of_an_unknown_patch() {
    let tree = FakeTree::new();
    let loader = FakeLoader::new(&tree);
    let (r, _) = capture(|out, err| {
        commands::unload(
            &env(&tree, &loader),
            "nope",
            false,
            &quick(Some(1.0)),
            out,
            err,
        )
    });
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::NOT_FOUND);
    assert_eq!(
        err.to_string(),
        "unknown patch 'nope': no live patches are loaded"
    );
}

#[test]
fn patch_names_are_taken_as_modprobe_takes_module_names() {
    // A path, a .ko suffix, - for _: all name livepatch_sample.
    let tree = enabled_patch();
    tree.set(NAME, "transition", "1\n");
    let loader = FakeLoader::new(&tree);
    for arg in [
        "livepatch-sample",
        "livepatch_sample.ko",
        "/lib/modules/6.12.0/extra/livepatch-sample.ko",
        "./livepatch_sample.ko.xz",
    ] {
        let mut o = klpctl::commands::StatusOptions {
            patch: Some(arg.to_string()),
            watch: false,
            interval: Duration::from_millis(10),
            json: false,
        };
        let (r, text) = capture(|out, err| commands::status(&env(&tree, &loader), &o, out, err));
        r.unwrap_or_else(|e| panic!("status {arg}: {e}"));
        assert!(
            text.contains("patch:       livepatch_sample"),
            "{arg}: {text}"
        );
        o.json = true;
        let (r, text) = capture(|out, err| {
            commands::blockers(&env(&tree, &loader), Some(arg), false, out, err)
        });
        r.unwrap_or_else(|e| panic!("blockers {arg}: {e}"));
        assert!(
            text.starts_with("livepatch_sample is patching"),
            "{arg}: {text}"
        );
    }
    tree.set(NAME, "transition", "0\n");

    let kernel = kernel_unpatches(&tree, Finish::Soon);
    let (r, _) = capture(|out, err| {
        commands::disable(
            &env(&tree, &loader),
            "livepatch-sample.ko",
            &quick(Some(5.0)),
            out,
            err,
        )
    });
    kernel.join().unwrap();
    r.unwrap();
    assert!(!tree.patch_dir(NAME).exists());

    // The patch has gone, its module stays: unload by file name.
    let (r, text) = capture(|out, err| {
        commands::unload(
            &env(&tree, &loader),
            "./livepatch-sample.ko",
            false,
            &quick(Some(1.0)),
            out,
            err,
        )
    });
    r.unwrap();
    assert_eq!(loader.removed(), [NAME]);
    assert!(
        text.ends_with("removed module livepatch_sample\n"),
        "{text}"
    );
}

#[test]
fn unknown_patch_names_are_shown_escaped() {
    let tree = enabled_patch();
    let loader = FakeLoader::new(&tree);
    let (r, _) = capture(|out, err| {
        commands::disable(&env(&tree, &loader), "x\x1b[2Jy", &quick(None), out, err)
    });
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::NOT_FOUND);
    assert_eq!(
        err.to_string(),
        "unknown patch 'x\\u{1b}[2Jy': loaded live patches: livepatch_sample"
    );
}

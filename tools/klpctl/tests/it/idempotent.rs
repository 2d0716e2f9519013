//! Configuration management: `load` of what is loaded already, `unload
//! --missing-ok`, `ensure`, and `--on-timeout revert`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use klpctl::commands::{self, EnsureOptions, LoadOptions, LoadWait, OnTimeout};
use klpctl::error::exit;
use klpctl::wait::WaitOptions;
use serde_json::Value;

use crate::fixture::*;

const NAME: &str = "livepatch_sample";

fn quick_wait(timeout: Option<f64>, on_timeout: OnTimeout) -> LoadWait {
    LoadWait {
        wait: true,
        wait_opts: WaitOptions {
            timeout: timeout.map(Duration::from_secs_f64),
            poll: Duration::from_millis(10),
            ..WaitOptions::default()
        },
        on_timeout,
    }
}

fn load_json(
    tree: &FakeTree,
    loader: &FakeLoader,
    ko: &Path,
) -> (klpctl::Result<()>, String, String) {
    capture_both(|out, err| {
        commands::load(
            &env(tree, loader),
            &LoadOptions {
                module: ko.to_path_buf(),
                wait: quick_wait(Some(5.0), OnTimeout::Keep),
                json: true,
            },
            out,
            err,
        )
    })
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn a_second_load_of_the_same_file_changes_nothing() {
    let tree = FakeTree::new();
    let mut loader = FakeLoader::new(&tree);
    loader.start_in_transition = false;
    let ko = write_ko(&tree, "lp.ko", NAME, None);
    let (r, out, _) = load_json(&tree, &loader, &ko);
    r.unwrap();
    let v = json(&out);
    assert_eq!(v["changed"], true, "{out}");
    assert_eq!(v["patch"], NAME);
    assert_eq!(v["enabled"], true);
    assert_eq!(v["srcversion"], Value::Null, "the module has none");

    let (r, out, diag) = load_json(&tree, &loader, &ko);
    r.unwrap();
    assert_eq!(json(&out)["changed"], false, "{out}");
    assert_eq!(diag, "", "klpctl loaded it: it knows the build");
    assert_eq!(loader.inserted(), [NAME], "inserted once");

    // As text: said so, exit 0.
    let (r, text) = capture(|out, err| {
        commands::load(
            &env(&tree, &loader),
            &LoadOptions {
                module: ko.clone(),
                wait: LoadWait::default(),
                json: false,
            },
            out,
            err,
        )
    });
    r.unwrap();
    assert!(
        text.contains("livepatch_sample: already loaded and enabled (same build): nothing to do"),
        "{text}"
    );
}

#[test]
fn srcversion_tells_the_same_build_from_another() {
    let tree = FakeTree::new();
    tree.add_patch(NAME, true, false);
    tree.add_module(NAME, "K");
    fs::write(
        tree.root().join("sys/module").join(NAME).join("srcversion"),
        "ABC123\n",
    )
    .unwrap();
    let loader = FakeLoader::new(&tree);

    let same = write_ko(&tree, "same.ko", NAME, Some("ABC123"));
    let (r, out, diag) = load_json(&tree, &loader, &same);
    r.unwrap();
    assert_eq!(json(&out)["changed"], false);
    assert_eq!(json(&out)["srcversion"], "ABC123");
    assert_eq!(diag, "");

    let other = write_ko(&tree, "other.ko", NAME, Some("DEF456"));
    let (r, out, _) = load_json(&tree, &loader, &other);
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::BUSY);
    let msg = err.to_string();
    assert!(
        msg.contains("patch livepatch_sample is loaded from another build (srcversion ABC123;")
            && msg.contains("other.ko has srcversion DEF456")
            && msg.contains("`klpctl unload livepatch_sample` first"),
        "{msg}"
    );
    assert_eq!(out, "", "no JSON for a refusal");
    assert!(loader.inserted().is_empty());
}

#[test]
fn another_file_than_the_one_klpctl_loaded_is_another_build() {
    let tree = FakeTree::new();
    let mut loader = FakeLoader::new(&tree);
    loader.start_in_transition = false;
    let first = write_ko(&tree, "a.ko", NAME, None);
    load_json(&tree, &loader, &first).0.unwrap();
    // Same name, other contents (no srcversion on either side).
    let mut modinfo = livepatch_modinfo(NAME);
    modinfo.extend_from_slice(b"description=fixed\0");
    let second = tree.write_file("b.ko", &elf(1, Some(&modinfo)));
    let err = load_json(&tree, &loader, &second).0.unwrap_err();
    assert_eq!(err.exit_code(), exit::BUSY);
    assert!(
        err.to_string()
            .contains("loaded from another build (sha256 "),
        "{err}"
    );
}

#[test]
fn a_patch_klpctl_cannot_identify_is_taken_as_loaded_with_a_warning() {
    let tree = FakeTree::new();
    tree.add_patch(NAME, true, false);
    tree.add_module(NAME, "K");
    let loader = FakeLoader::new(&tree);
    let ko = write_ko(&tree, "lp.ko", NAME, None);
    let (r, out, diag) = load_json(&tree, &loader, &ko);
    r.unwrap();
    assert_eq!(json(&out)["changed"], false);
    assert!(
        diag.starts_with("warning: livepatch_sample is loaded, but klpctl cannot tell"),
        "{diag}"
    );
}

#[test]
fn load_refuses_a_replaced_or_disabling_patch() {
    let tree = FakeTree::new();
    tree.add_module(NAME, "K"); // module without its patch: replaced
    let loader = FakeLoader::new(&tree);
    let ko = write_ko(&tree, "lp.ko", NAME, None);
    let err = load_json(&tree, &loader, &ko).0.unwrap_err();
    assert_eq!(err.exit_code(), exit::BUSY);
    assert!(
        err.to_string()
            .contains("replaced by an atomic replace patch"),
        "{err}"
    );

    tree.add_patch(NAME, false, true);
    let err = load_json(&tree, &loader, &ko).0.unwrap_err();
    assert!(err.to_string().contains("is being disabled"), "{err}");
    assert!(loader.inserted().is_empty());
}

#[test]
fn unload_missing_ok() {
    let tree = FakeTree::new();
    let loader = FakeLoader::new(&tree);
    let quick = WaitOptions {
        timeout: Some(Duration::from_secs(1)),
        poll: Duration::from_millis(10),
        ..WaitOptions::default()
    };
    let (r, text) = capture(|out, err| {
        commands::unload(
            &env(&tree, &loader),
            "livepatch-sample.ko",
            true,
            &quick,
            out,
            err,
        )
    });
    r.unwrap();
    assert_eq!(text, "livepatch_sample: not loaded, nothing to do\n");
    let (r, _) =
        capture(|out, err| commands::unload(&env(&tree, &loader), NAME, false, &quick, out, err));
    assert_eq!(r.unwrap_err().exit_code(), exit::NOT_FOUND);
    // An invalid name is still an error.
    let (r, _) =
        capture(|out, err| commands::unload(&env(&tree, &loader), "a b", true, &quick, out, err));
    assert_eq!(r.unwrap_err().exit_code(), exit::NOT_FOUND);
}

fn ensure(
    tree: &FakeTree,
    loader: &FakeLoader,
    files: &[PathBuf],
    dry_run: bool,
) -> (klpctl::Result<()>, String) {
    capture(|out, err| {
        commands::ensure(
            &env(tree, loader),
            &EnsureOptions {
                modules: files.to_vec(),
                wait: quick_wait(Some(5.0), OnTimeout::Keep),
                dry_run,
                json: true,
            },
            out,
            err,
        )
    })
}

#[test]
fn ensure_loads_what_is_missing_and_a_second_run_changes_nothing() {
    let tree = FakeTree::new();
    let mut loader = FakeLoader::new(&tree);
    loader.start_in_transition = false;
    let a = write_ko(&tree, "a.ko", "patch_a", Some("AAA"));
    let b = write_ko(&tree, "b.ko", "patch_b", None);
    // patch_a is there already, from the same build.
    tree.add_patch("patch_a", true, false);
    tree.add_module("patch_a", "K");
    fs::write(tree.root().join("sys/module/patch_a/srcversion"), "AAA\n").unwrap();
    let files = [a, b];

    let (r, out) = ensure(&tree, &loader, &files, true);
    r.unwrap();
    let v = json(&out);
    assert_eq!(v["changed"], true);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["patches"][0]["action"], "unchanged");
    assert_eq!(v["patches"][1]["action"], "would load");
    assert!(loader.inserted().is_empty(), "--dry-run changes nothing");

    let (r, out) = ensure(&tree, &loader, &files, false);
    r.unwrap();
    let v = json(&out);
    assert_eq!(v["changed"], true);
    assert_eq!(v["patches"][1]["action"], "loaded", "{out}");
    assert_eq!(loader.inserted(), ["patch_b"]);

    let (r, out) = ensure(&tree, &loader, &files, false);
    r.unwrap();
    let v = json(&out);
    assert_eq!(v["changed"], false, "{out}");
    assert_eq!(v["patches"][0]["action"], "unchanged");
    assert_eq!(v["patches"][1]["action"], "unchanged");
    assert_eq!(loader.inserted(), ["patch_b"]);
}

#[test]
fn ensure_changes_nothing_when_one_patch_conflicts_or_is_refused() {
    let tree = FakeTree::new();
    let loader = FakeLoader::new(&tree);
    let a = write_ko(&tree, "a.ko", "patch_a", Some("NEW"));
    let b = write_ko(&tree, "b.ko", "patch_b", None);
    tree.add_patch("patch_a", true, false);
    tree.add_module("patch_a", "K");
    fs::write(tree.root().join("sys/module/patch_a/srcversion"), "OLD\n").unwrap();
    let (r, out) = ensure(&tree, &loader, &[b.clone(), a], false);
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::BUSY);
    assert!(
        err.to_string()
            .starts_with("nothing was changed: patch patch_a is loaded from another build"),
        "{err}"
    );
    assert_eq!(out, "");
    assert!(
        loader.inserted().is_empty(),
        "patch_b was not loaded either"
    );

    let plain = tree.write_file("plain.ko", &elf(1, Some(b"name=plain\0")));
    let (r, _) = ensure(&tree, &loader, &[b.clone(), plain], false);
    assert_eq!(r.unwrap_err().exit_code(), exit::NOT_LIVEPATCH);
    let (r, _) = ensure(&tree, &loader, &[b.clone(), b], false);
    assert!(
        r.unwrap_err()
            .to_string()
            .contains("are both patch patch_b")
    );
    assert!(loader.inserted().is_empty());
}

#[test]
fn on_timeout_revert_disables_and_removes_the_stalled_patch() {
    let tree = FakeTree::new();
    tree.add_tasks_for_patching();
    let loader = FakeLoader::new(&tree); // the transition never finishes
    let ko = write_ko(&tree, "lp.ko", NAME, None);
    // The kernel: when enabled goes to 0, the reversed transition ends and
    // the patch is freed.
    let root = tree.root().to_path_buf();
    let enabled = tree.patch_dir(NAME).join("enabled");
    let kernel = when(
        move || fs::read_to_string(&enabled).is_ok_and(|e| e.trim() == "0"),
        move || {
            std::thread::sleep(Duration::from_millis(50));
            fs::remove_dir_all(FakeTree::at(&root).patch_dir(NAME)).unwrap();
        },
    );
    let (r, _, diag) = capture_both(|out, err| {
        commands::load(
            &env(&tree, &loader),
            &LoadOptions {
                module: ko.clone(),
                // The revert waits as long as the load did (the same
                // options): long enough for the "kernel" thread above to
                // run on a host whose cores the test guests keep busy (0.3
                // s was not, beside a make check's guests).
                wait: quick_wait(Some(2.0), OnTimeout::Revert),
                json: false,
            },
            out,
            err,
        )
    });
    kernel.join().unwrap();
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::TIMEOUT);
    assert!(
        err.to_string()
            .contains("reverted: livepatch_sample was disabled and its module removed"),
        "{err}"
    );
    assert!(diag.contains("reverting (--on-timeout revert)"), "{diag}");
    assert_eq!(loader.removed(), [NAME]);
    assert!(!tree.root().join("sys/module").join(NAME).exists());
}

#[test]
fn on_timeout_keep_leaves_the_patch_loaded() {
    let tree = FakeTree::new();
    tree.add_tasks_for_patching();
    let loader = FakeLoader::new(&tree);
    let ko = write_ko(&tree, "lp.ko", NAME, None);
    let (r, _) = capture(|out, err| {
        commands::load(
            &env(&tree, &loader),
            &LoadOptions {
                module: ko,
                wait: quick_wait(Some(0.2), OnTimeout::Keep),
                json: false,
            },
            out,
            err,
        )
    });
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::TIMEOUT);
    assert!(err.to_string().contains("the patch stays loaded"), "{err}");
    assert!(loader.removed().is_empty());
    assert_eq!(tree.get(NAME, "enabled"), "1\n");
}

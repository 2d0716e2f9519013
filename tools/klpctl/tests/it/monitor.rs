//! Monitoring: check's exit codes, the Prometheus format, modules left
//! loaded without their patch, srcversion/description in list --json, info.

use std::fs;
use std::process::Command;

use klpctl::commands::{self, Format};
use klpctl::error::{Result, exit};
use klpctl::runstate;
use klpctl::transition::Direction;
use serde_json::Value;

use crate::fixture::*;

const RELEASE: &str = "6.12.0";

fn tree() -> FakeTree {
    FakeTree::with_release(RELEASE)
}

/// Installs patch `name` (srcversion `v`) into the tree's store.
fn installed(tree: &FakeTree, name: &str, v: &str) {
    let ko = write_ko(tree, &format!("{name}.ko"), name, Some(v));
    let loader = FakeLoader::new(tree);
    let (r, _) = capture(|out, err| commands::install(&env(tree, &loader), &ko, None, out, err));
    r.unwrap();
}

/// A loaded patch with its module and srcversion.
fn loaded(tree: &FakeTree, name: &str, v: &str, enabled: bool, transition: bool) {
    tree.add_patch(name, enabled, transition);
    tree.add_module(name, "K");
    fs::write(
        tree.root().join("sys/module").join(name).join("srcversion"),
        format!("{v}\n"),
    )
    .unwrap();
}

fn check(tree: &FakeTree, format: Format) -> (Result<()>, String) {
    let loader = FakeLoader::new(tree);
    capture(|out, err| commands::check(&env(tree, &loader), format, out, err))
}

fn code(r: Result<()>) -> i32 {
    r.map_or_else(|e| e.exit_code(), |()| exit::OK)
}

#[test]
fn check_answers_by_exit_code() {
    let tree = tree();
    let (r, text) = check(&tree, Format::Text);
    assert_eq!(code(r), exit::OK);
    assert_eq!(
        text,
        "ok   no live patches are installed for kernel 6.12.0\n"
    );

    installed(&tree, "patch_a", "AAA");
    installed(&tree, "patch_b", "BBB");
    loaded(&tree, "patch_a", "AAA", true, false);
    let (r, text) = check(&tree, Format::Text);
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::MISSING, "patch_b is not loaded");
    assert_eq!(
        err.to_string(),
        "check: 1 patch(es) not in effect (exit code 10)"
    );
    assert_eq!(text, "ok   patch_a: enabled\nFAIL patch_b: not loaded\n");

    loaded(&tree, "patch_b", "BBB", true, true);
    assert_eq!(code(check(&tree, Format::Text).0), exit::IN_TRANSITION);
    tree.set("patch_b", "enabled", "0\n");
    assert_eq!(code(check(&tree, Format::Text).0), exit::DISABLED);
    tree.set("patch_b", "transition", "0\n");
    tree.set("patch_b", "enabled", "1\n");
    assert_eq!(code(check(&tree, Format::Text).0), exit::OK);

    // Another build of patch_b loaded: not in effect.
    fs::write(tree.root().join("sys/module/patch_b/srcversion"), "OTHER\n").unwrap();
    let (r, text) = check(&tree, Format::Text);
    assert_eq!(code(r), exit::MISSING);
    assert!(text.contains("FAIL patch_b: other build loaded"), "{text}");
    fs::write(tree.root().join("sys/module/patch_b/srcversion"), "BBB\n").unwrap();

    // A transition of a patch that is not installed counts too.
    loaded(&tree, "adhoc", "X", true, true);
    assert_eq!(code(check(&tree, Format::Text).0), exit::IN_TRANSITION);
    fs::remove_dir_all(tree.patch_dir("adhoc")).unwrap();
    fs::remove_dir_all(tree.root().join("sys/module/adhoc")).unwrap();

    // The crash guard is the worst.
    fs::write(
        tree.root().join("var/lib/klp-rs/6.12.0/.loading-patch_a"),
        "x",
    )
    .unwrap();
    fs::remove_dir_all(tree.patch_dir("patch_b")).unwrap();
    let (r, text) = check(&tree, Format::Json);
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::CRASH_GUARD);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["exit_code"], exit::CRASH_GUARD);
    assert_eq!(v["installed"][0]["crash_guard"], true);
    assert_eq!(v["installed"][1]["state"], "replaced");
}

#[test]
fn check_end_to_end_exit_code() {
    let tree = tree();
    installed(&tree, "patch_a", "AAA");
    let o = Command::new(env!("CARGO_BIN_EXE_klpctl"))
        .arg("--root")
        .arg(tree.root())
        .args(["check"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(exit::MISSING));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "FAIL patch_a: not loaded\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "klpctl: error: check: 1 patch(es) not in effect (exit code 10)\n"
    );
}

#[test]
fn prometheus_format() {
    let tree = FakeTree::stalled_patching();
    fs::write(
        tree.root().join("proc/sys/kernel/osrelease"),
        format!("{RELEASE}\n"),
    )
    .unwrap();
    tree.add_patch("settled", true, false);
    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::list(&env(&tree, &loader), Format::Prometheus, out, err));
    r.unwrap();
    for line in [
        "# TYPE klp_patch_present gauge",
        "klp_patch_present{patch=\"livepatch_sample\"} 1",
        "klp_patch_enabled{patch=\"livepatch_sample\"} 1",
        "klp_patch_transition{patch=\"livepatch_sample\"} 1",
        "klp_patch_tasks_pending{patch=\"livepatch_sample\"} 2",
        "klp_patch_transition{patch=\"settled\"} 0",
        "klp_patch_tasks_pending{patch=\"settled\"} 0",
        "# TYPE klp_patch_transition_seconds gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    assert!(
        !text.contains("klp_patch_transition_seconds{"),
        "klpctl did not start it:\n{text}"
    );

    // A transition klpctl started: it knows since when.
    runstate::record_transition_start(&tree.paths(), "livepatch_sample", Direction::Patching);
    let (r, text) =
        capture(|out, err| commands::list(&env(&tree, &loader), Format::Prometheus, out, err));
    r.unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("klp_patch_transition_seconds{patch=\"livepatch_sample\"} "))
        .unwrap_or_else(|| panic!("{text}"));
    let secs: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((0.0..10.0).contains(&secs), "{line}");

    // check adds the installed patches, loaded or not.
    installed(&tree, "not_here", "N");
    let (r, text) = check(&tree, Format::Prometheus);
    assert_eq!(code(r), exit::MISSING);
    for line in [
        "klp_patch_present{patch=\"not_here\"} 0",
        "klp_patch_installed{patch=\"not_here\"} 1",
        "klp_patch_crash_guard{patch=\"not_here\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
}

#[test]
fn list_shows_modules_left_loaded_without_their_patch() {
    let tree = tree();
    tree.add_patch("new_cumulative", true, false);
    tree.add_module("new_cumulative", "K");
    tree.add_module("old_cumulative", "K"); // replaced by new_cumulative
    tree.add_module("e1000", ""); // not a live patch module
    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::list(&env(&tree, &loader), Format::Json, out, err));
    r.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["inactive_modules"].as_array().unwrap().len(), 1, "{text}");
    assert_eq!(v["inactive_modules"][0]["name"], "old_cumulative");
    let (r, text) =
        capture(|out, err| commands::list(&env(&tree, &loader), Format::Text, out, err));
    r.unwrap();
    assert!(
        text.ends_with("`klpctl unload NAME` removes them): old_cumulative\n"),
        "{text}"
    );
    let (r, text) =
        capture(|out, err| commands::list(&env(&tree, &loader), Format::Prometheus, out, err));
    r.unwrap();
    assert!(
        text.contains("\nklp_module_inactive{module=\"old_cumulative\"} 1\n"),
        "{text}"
    );
}

#[test]
fn list_json_has_srcversion_and_the_installed_description() {
    let tree = tree();
    installed(&tree, "patch_a", "AAA");
    loaded(&tree, "patch_a", "AAA", true, false);
    tree.add_patch("adhoc", true, false);
    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::list(&env(&tree, &loader), Format::Json, out, err));
    r.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["patches"][0]["name"], "adhoc");
    assert_eq!(v["patches"][0]["srcversion"], Value::Null);
    assert_eq!(v["patches"][0]["description"], Value::Null);
    assert_eq!(v["patches"][1]["srcversion"], "AAA");
    assert_eq!(v["patches"][1]["description"], "test patch");
}

#[test]
fn info_shows_the_metadata_of_a_module_file() {
    let tree = tree();
    let mut modinfo = livepatch_modinfo_srcversion("patch_a", "ABC");
    modinfo.extend_from_slice(b"depends=foo,bar\0");
    let ko = tree.write_file("a.ko", &elf(1, Some(&modinfo)));
    let (r, text) = capture(|out, err| commands::info(&ko, false, out, err));
    r.unwrap();
    for want in [
        "name:        patch_a\n",
        "livepatch:   Y\n",
        "srcversion:  ABC\n",
        "vermagic:    6.12.0 SMP preempt mod_unload \n",
        "description: test patch\n",
        "depends:     foo, bar\n",
        "patches:     not readable from the file",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    let (r, text) = capture(|out, err| commands::info(&ko, true, out, err));
    r.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["depends"], serde_json::json!(["foo", "bar"]));
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    let plain = tree.write_file("plain.ko", &elf(1, Some(b"name=plain\0")));
    let (r, _) = capture(|out, err| commands::info(&plain, false, out, err));
    assert_eq!(r.unwrap_err().exit_code(), exit::NOT_LIVEPATCH);
}

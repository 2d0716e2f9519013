use klpctl::commands::{self, Format};
use klpctl::error::{Error, exit};
use serde_json::Value;

use crate::fixture::*;

fn two_patches() -> FakeTree {
    let tree = FakeTree::new();
    tree.add_patch("livepatch_sample", true, false);
    tree.add_object(
        "livepatch_sample",
        "vmlinux",
        true,
        &["cmdline_proc_show,0"],
    );
    tree.add_patch("klp_ext4_fix", true, true);
    tree.add_object("klp_ext4_fix", "vmlinux", true, &["do_sys_open,0"]);
    tree.add_object(
        "klp_ext4_fix",
        "ext4",
        false,
        &["ext4_file_open,0", "ext4_sync_file,2"],
    );
    // A stray file in the livepatch directory is not a patch.
    std::fs::write(tree.root().join("sys/kernel/livepatch/README"), "x").unwrap();
    tree
}

/// `klpctl list` (the table) on `tree`, which must succeed: its output.
fn list_table(tree: &FakeTree) -> String {
    let loader = FakeLoader::new(tree);
    let (r, text) = capture(|out, err| commands::list(&env(tree, &loader), Format::Text, out, err));
    r.unwrap();
    text
}

/// The non-empty cells of a table row.
fn cells(row: &str) -> Vec<&str> {
    row.split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn list_table_shows_patches_objects_and_functions() {
    let text = list_table(&two_patches());
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().find(|l| l.contains("PATCH")).unwrap();
    for col in [
        "ENABLED",
        "TRANSITION",
        "REPLACE",
        "FORCED",
        "OBJECT",
        "PATCHED",
        "FUNCTIONS",
    ] {
        assert!(header.contains(col), "{col} missing in {header}");
    }
    let row = |needle: &str| {
        *lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no row with {needle} in\n{text}"))
    };
    assert_eq!(
        cells(row("livepatch_sample")),
        [
            "livepatch_sample",
            "yes",
            "no",
            "yes",
            "n/a",
            "vmlinux",
            "yes",
            "cmdline_proc_show,0"
        ]
    );
    let ext4 = row("ext4_file_open,0");
    assert!(ext4.contains("| ext4 ") && ext4.contains("| no "), "{ext4}");
    // The second function of an object is on its own line of the cell.
    assert!(row("ext4_sync_file,2").starts_with('|'));
    // Sorted: klp_ext4_fix before livepatch_sample; the stray file is not listed.
    assert!(text.find("klp_ext4_fix").unwrap() < text.find("livepatch_sample").unwrap());
    assert!(!text.contains("README"));
}

#[test]
fn list_json_has_stable_fields() {
    let tree = two_patches();
    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::list(&env(&tree, &loader), Format::Json, out, err));
    r.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 1);
    let patches = v["patches"].as_array().unwrap();
    assert_eq!(patches.len(), 2);
    let ext4 = &patches[0];
    assert_eq!(ext4["name"], "klp_ext4_fix");
    assert_eq!(ext4["enabled"], true);
    assert_eq!(ext4["transition"], true);
    assert_eq!(ext4["replace"], true);
    assert_eq!(ext4["forced"], Value::Null);
    assert_eq!(ext4["stack_order"], Value::Null);
    let objects = ext4["objects"].as_array().unwrap();
    assert_eq!(objects[0]["name"], "ext4");
    assert_eq!(objects[0]["patched"], false);
    assert_eq!(objects[0]["functions"][1]["name"], "ext4_sync_file");
    assert_eq!(objects[0]["functions"][1]["sympos"], 2);
    assert_eq!(objects[0]["functions"][1]["patched"], Value::Null);
    assert_eq!(objects[1]["name"], "vmlinux");
    let sample = &patches[1];
    assert_eq!(sample["name"], "livepatch_sample");
    assert_eq!(
        sample["objects"][0]["functions"][0]["name"],
        "cmdline_proc_show"
    );
    assert_eq!(sample["objects"][0]["functions"][0]["sympos"], 0);
}

#[test]
fn list_reads_optional_attributes_of_newer_kernels() {
    let tree = FakeTree::new();
    tree.add_patch("p", true, false);
    tree.set("p", "stack_order", "2\n");
    tree.add_object("p", "vmlinux", true, &["f,0"]);
    std::fs::write(tree.patch_dir("p").join("vmlinux/f,0/patched"), "1\n").unwrap();
    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::list(&env(&tree, &loader), Format::Json, out, err));
    r.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["patches"][0]["stack_order"], 2);
    assert_eq!(
        v["patches"][0]["objects"][0]["functions"][0]["patched"],
        true
    );
}

#[test]
fn list_without_patches() {
    let tree = FakeTree::new();
    assert_eq!(list_table(&tree), "no live patches are loaded\n");
    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::list(&env(&tree, &loader), Format::Json, out, err));
    r.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["patches"], serde_json::json!([]));
}

#[test]
fn list_without_livepatch_support() {
    let tree = FakeTree::without_livepatch();
    let loader = FakeLoader::new(&tree);
    let (r, _) = capture(|out, err| commands::list(&env(&tree, &loader), Format::Text, out, err));
    let err = r.unwrap_err();
    assert!(matches!(err, Error::LivepatchUnavailable { .. }));
    assert_eq!(err.exit_code(), exit::NO_LIVEPATCH);
    assert!(err.to_string().contains("no livepatch support"), "{err}");
}

#[test]
fn list_table_shows_stack_order_only_where_the_kernel_has_it() {
    let tree = two_patches();
    let text = list_table(&tree);
    assert!(
        !text.contains("STACK"),
        "no stack_order files, no column:\n{text}"
    );

    // Linux 6.13 and later: stack_order, 1 for the patch applied first.
    std::fs::write(tree.patch_dir("klp_ext4_fix").join("stack_order"), "1\n").unwrap();
    std::fs::write(
        tree.patch_dir("livepatch_sample").join("stack_order"),
        "2\n",
    )
    .unwrap();
    let text = list_table(&tree);
    let header = text.lines().find(|l| l.contains("PATCH")).unwrap();
    assert!(header.contains("STACK"), "{header}");
    let sample = text
        .lines()
        .find(|l| l.contains("livepatch_sample"))
        .unwrap();
    assert_eq!(
        cells(sample),
        [
            "livepatch_sample",
            "yes",
            "no",
            "yes",
            "n/a",
            "2",
            "vmlinux",
            "yes",
            "cmdline_proc_show,0"
        ]
    );
}

#[test]
fn list_skips_a_patch_the_kernel_is_freeing() {
    // The kernel removes a patch's attribute files before its directory:
    // a monitor polling `list` sees a directory without `enabled` and
    // `transition` (and objects going away).
    let tree = two_patches();
    tree.add_patch("going", false, false);
    tree.add_object("going", "vmlinux", false, &["f,0"]);
    for attr in ["enabled", "transition", "replace", "force"] {
        std::fs::remove_file(tree.patch_dir("going").join(attr)).unwrap();
    }
    let text = list_table(&tree);
    assert!(!text.contains("going"), "{text}");
    assert!(text.contains("livepatch_sample"), "{text}");

    let loader = FakeLoader::new(&tree);
    let (r, text) =
        capture(|out, err| commands::list(&env(&tree, &loader), Format::Json, out, err));
    r.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<&str> = v["patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["klp_ext4_fix", "livepatch_sample"]);

    // Only `transition` gone, `enabled` still there: going away too.
    std::fs::write(tree.patch_dir("going").join("enabled"), "0\n").unwrap();
    assert!(!list_table(&tree).contains("going"));
}

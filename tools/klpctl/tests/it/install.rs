//! Persistence: install, uninstall, list --installed, load --all with the
//! crash guard and the kernel command line switch, and the systemd unit.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use klpctl::commands::{self, LoadWait, OnTimeout};
use klpctl::error::{Error, Result, exit};
use klpctl::loader::ModuleLoader;
use klpctl::modinfo::LivepatchModule;
use klpctl::wait::WaitOptions;
use serde_json::Value;

use crate::fixture::*;

const RELEASE: &str = "6.12.0";

/// A tree whose kernel is 6.12.0 (the vermagic of the fixture's modules).
fn tree() -> FakeTree {
    let tree = FakeTree::with_release(RELEASE);
    fs::write(tree.root().join("proc/cmdline"), "root=/dev/vda ro quiet\n").unwrap();
    tree
}

fn store_dir(tree: &FakeTree) -> PathBuf {
    tree.root().join("var/lib/klp-rs").join(RELEASE)
}

fn wait() -> LoadWait {
    LoadWait {
        wait: true,
        wait_opts: WaitOptions {
            timeout: Some(Duration::from_secs(5)),
            poll: Duration::from_millis(10),
            ..WaitOptions::default()
        },
        on_timeout: OnTimeout::Keep,
    }
}

fn install(tree: &FakeTree, ko: &Path) -> (Result<()>, String, String) {
    let loader = FakeLoader::new(tree);
    capture_both(|out, err| commands::install(&env(tree, &loader), ko, None, out, err))
}

fn load_all(tree: &FakeTree, loader: &dyn ModuleLoader) -> (Result<()>, String, String) {
    capture_both(|out, err| commands::load_all(&env(tree, loader), &wait(), false, out, err))
}

fn quiet_loader(tree: &FakeTree) -> FakeLoader {
    let mut l = FakeLoader::new(tree);
    l.start_in_transition = false;
    l
}

#[test]
fn install_list_and_uninstall() {
    let tree = tree();
    let ko = write_ko(&tree, "livepatch-a.ko", "patch_a", Some("AAA"));
    let (r, out, _) = install(&tree, &ko);
    r.unwrap();
    assert!(
        out.starts_with("patch_a: installed for kernel 6.12.0 as "),
        "{out}"
    );
    let installed = store_dir(&tree).join("patch_a.ko");
    assert_eq!(fs::read(&installed).unwrap(), fs::read(&ko).unwrap());
    let (r, out, _) = install(&tree, &ko);
    r.unwrap();
    assert!(out.contains("already installed for kernel 6.12.0"), "{out}");

    let loader = FakeLoader::new(&tree);
    let (r, out) =
        capture(|out, err| commands::list_installed(&env(&tree, &loader), None, true, out, err));
    r.unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kernel"], RELEASE);
    assert_eq!(v["installed"][0]["name"], "patch_a");
    assert_eq!(v["installed"][0]["srcversion"], "AAA");
    assert_eq!(v["installed"][0]["description"], "test patch");
    assert_eq!(v["installed"][0]["state"], "not_loaded");
    assert_eq!(v["installed"][0]["crash_guard"], false);

    // Uninstall by file name, as modprobe takes it.
    let (r, out) = capture(|out, err| {
        commands::uninstall(&env(&tree, &loader), "livepatch-a.ko", None, out, err)
    });
    let err = r.unwrap_err();
    assert_eq!(
        err.exit_code(),
        exit::NOT_FOUND,
        "livepatch_a is not patch_a"
    );
    assert_eq!(
        err.to_string(),
        "'livepatch-a.ko' is not installed for kernel 6.12.0: installed: patch_a"
    );
    assert_eq!(out, "");
    let (r, out) =
        capture(|out, err| commands::uninstall(&env(&tree, &loader), "patch_a", None, out, err));
    r.unwrap();
    assert_eq!(out, "patch_a: uninstalled for kernel 6.12.0\n");
    assert!(!installed.exists());
}

#[test]
fn install_refuses_a_module_built_for_another_kernel_unless_told() {
    let tree = tree();
    fs::write(tree.root().join("proc/sys/kernel/osrelease"), "6.13.1\n").unwrap();
    let ko = write_ko(&tree, "a.ko", "patch_a", None);
    let (r, _, _) = install(&tree, &ko);
    let err = r.unwrap_err();
    assert!(
        err.to_string()
            .contains("built for kernel 6.12.0, not 6.13.1: install it with --kernel 6.12.0"),
        "{err}"
    );
    assert!(
        !tree.root().join("var/lib/klp-rs").exists(),
        "nothing written"
    );
    let loader = FakeLoader::new(&tree);
    let (r, _) =
        capture(|out, err| commands::install(&env(&tree, &loader), &ko, Some("6.12.0"), out, err));
    r.unwrap();
    assert!(store_dir(&tree).join("patch_a.ko").is_file());
    // Bad release names are refused.
    let (r, _) =
        capture(|out, err| commands::install(&env(&tree, &loader), &ko, Some("../x"), out, err));
    assert!(
        r.unwrap_err()
            .to_string()
            .contains("invalid kernel release")
    );
}

#[test]
fn load_all_loads_the_installed_patches_in_name_order_once() {
    let tree = tree();
    for (file, name) in [("z.ko", "patch_b"), ("y.ko", "patch_a")] {
        let ko = write_ko(&tree, file, name, None);
        install(&tree, &ko).0.unwrap();
    }
    let loader = quiet_loader(&tree);
    let (r, out, _) = load_all(&tree, &loader);
    r.unwrap();
    assert_eq!(loader.inserted(), ["patch_a", "patch_b"]);
    assert!(
        out.ends_with("load --all: kernel 6.12.0: 2 loaded, 0 unchanged, 0 skipped by the crash guard, 0 failed\n"),
        "{out}"
    );
    let (r, out, _) = load_all(&tree, &loader);
    r.unwrap();
    assert!(out.contains("0 loaded, 2 unchanged"), "{out}");
    assert_eq!(loader.inserted().len(), 2);
    assert!(fs::read_dir(store_dir(&tree)).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".loading-")
    }));
}

/// A loader that notes whether the crash guard was on disk when the
/// module was inserted, and can fail one module.
struct GuardChecker {
    inner: FakeLoader,
    dir: PathBuf,
    fail: Option<&'static str>,
    guard_seen: Mutex<Vec<(String, bool)>>,
}

impl ModuleLoader for GuardChecker {
    fn insert(&self, module: &LivepatchModule) -> Result<()> {
        let lock = self.dir.join(format!(".loading-{}", module.name));
        self.guard_seen
            .lock()
            .unwrap()
            .push((module.name.clone(), lock.exists()));
        if self.fail == Some(module.name.as_str()) {
            return Err(Error::Failed(format!(
                "load {}: the kernel said no",
                module.name
            )));
        }
        self.inner.insert(module)
    }
    fn remove(&self, name: &str) -> Result<()> {
        self.inner.remove(name)
    }
}

#[test]
fn load_all_holds_the_crash_guard_during_each_load_and_goes_on_after_a_failure() {
    let tree = tree();
    for name in ["patch_a", "patch_b", "patch_c"] {
        let ko = write_ko(&tree, &format!("{name}.ko"), name, None);
        install(&tree, &ko).0.unwrap();
    }
    let loader = GuardChecker {
        inner: quiet_loader(&tree),
        dir: store_dir(&tree),
        fail: Some("patch_b"),
        guard_seen: Mutex::new(Vec::new()),
    };
    let (r, out, diag) = load_all(&tree, &loader);
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::ERROR, "the first failure's code");
    assert!(
        err.to_string()
            .starts_with("load --all: 1 of 3 installed patches failed"),
        "{err}"
    );
    assert!(
        diag.contains("klpctl: error: patch_b: load patch_b: the kernel said no"),
        "{diag}"
    );
    assert!(
        out.contains("2 loaded, 0 unchanged, 0 skipped by the crash guard, 1 failed"),
        "{out}"
    );
    assert_eq!(
        *loader.guard_seen.lock().unwrap(),
        [
            ("patch_a".to_string(), true),
            ("patch_b".to_string(), true),
            ("patch_c".to_string(), true)
        ]
    );
    assert_eq!(loader.inner.inserted(), ["patch_a", "patch_c"]);
    assert!(
        !store_dir(&tree).join(".loading-patch_b").exists(),
        "a finished load clears it"
    );
}

#[test]
fn a_crash_guard_left_behind_skips_the_patch_until_load_or_uninstall_clears_it() {
    let tree = tree();
    let mut kos = Vec::new();
    for name in ["patch_a", "patch_b"] {
        let ko = write_ko(&tree, &format!("{name}.ko"), name, None);
        install(&tree, &ko).0.unwrap();
        kos.push(ko);
    }
    // The machine crashed while loading patch_a at the previous boot.
    fs::write(
        store_dir(&tree).join(".loading-patch_a"),
        "load --all by pid 1\n",
    )
    .unwrap();
    let loader = quiet_loader(&tree);
    let (r, out, diag) = load_all(&tree, &loader);
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::CRASH_GUARD);
    assert_eq!(
        err.to_string(),
        "load --all: skipped by the crash guard: patch_a"
    );
    assert!(
        diag.contains("klpctl: patch_a: skipped by the crash guard: ")
            && diag.contains("is left from a load that never finished (load --all by pid 1)"),
        "{diag}"
    );
    assert!(out.contains("1 loaded, 0 unchanged, 1 skipped"), "{out}");
    assert_eq!(loader.inserted(), ["patch_b"]);

    // list --installed shows it.
    let (r, out) =
        capture(|out, err| commands::list_installed(&env(&tree, &loader), None, false, out, err));
    r.unwrap();
    let row = out.lines().find(|l| l.contains("patch_a")).unwrap();
    assert!(
        row.contains("SKIPPED") && row.contains("not loaded"),
        "{out}"
    );

    // An explicit load clears it.
    let (r, _, diag) = capture_both(|out, err| {
        commands::load(
            &env(&tree, &loader),
            &commands::LoadOptions {
                module: kos[0].clone(),
                wait: wait(),
                json: false,
            },
            out,
            err,
        )
    });
    r.unwrap();
    assert!(diag.contains("patch_a: cleared its crash guard"), "{diag}");
    assert!(!store_dir(&tree).join(".loading-patch_a").exists());
    load_all(&tree, &loader).0.unwrap();

    // So does uninstall.
    fs::write(store_dir(&tree).join(".loading-patch_b"), "x").unwrap();
    let (r, _) =
        capture(|out, err| commands::uninstall(&env(&tree, &loader), "patch_b", None, out, err));
    r.unwrap();
    assert!(!store_dir(&tree).join(".loading-patch_b").exists());
}

#[test]
fn the_kernel_command_line_switch_makes_load_all_do_nothing() {
    let tree = tree();
    let ko = write_ko(&tree, "a.ko", "patch_a", None);
    install(&tree, &ko).0.unwrap();
    fs::write(
        tree.root().join("proc/cmdline"),
        "root=/dev/vda klpctl.noload quiet\n",
    )
    .unwrap();
    let loader = quiet_loader(&tree);
    let (r, out, _) = load_all(&tree, &loader);
    r.unwrap();
    assert_eq!(
        out,
        "load --all: skipped: the kernel command line has klpctl.noload; no patch was loaded\n"
    );
    assert!(loader.inserted().is_empty());

    assert!(commands::noload("a klpctl.noload=1 b"));
    assert!(commands::noload("klpctl.noload=Y"));
    assert!(!commands::noload("klpctl.noload=0"));
    assert!(!commands::noload("xklpctl.noload klpctl.noloadx"));
    assert!(!commands::noload(""));
}

#[test]
fn install_and_list_installed_end_to_end() {
    let tree = tree();
    let ko = write_ko(&tree, "a.ko", "patch_a", None);
    let o = klpctl(&tree, &["install", ko.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = klpctl(&tree, &["list", "--installed"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("| patch_a | not loaded |"), "{text}");
    // load --all acts on the running kernel: refused with a fake root.
    let o = klpctl(&tree, &["load", "--all"]);
    assert_eq!(o.status.code(), Some(exit::USAGE));
    let o = klpctl(&tree, &["uninstall", "patch_a"]);
    assert!(o.status.success());
    let o = klpctl(&tree, &["uninstall", "patch_a"]);
    assert_eq!(o.status.code(), Some(exit::NOT_FOUND));
}

#[test]
fn the_systemd_unit_runs_load_all_once_before_the_network() {
    let unit = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/klpctl.service"
    ))
    .unwrap();
    let lines: Vec<&str> = unit.lines().filter(|l| !l.starts_with('#')).collect();
    for want in [
        "Type=oneshot",
        "RemainAfterExit=yes",
        "DefaultDependencies=no",
        "Wants=network-pre.target",
        "ExecStart=/usr/sbin/klpctl load --all",
        "RequiresMountsFor=/var/lib/klp-rs",
    ] {
        assert!(lines.contains(&want), "{want} missing:\n{unit}");
    }
    let value = |key: &str| -> String {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(key))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        value("Before=")
            .split(' ')
            .any(|t| t == "network-pre.target"),
        "{unit}"
    );
    assert!(
        value("After=").split(' ').any(|t| t == "local-fs.target"),
        "{unit}"
    );
}

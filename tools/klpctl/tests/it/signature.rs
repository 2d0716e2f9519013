//! `klpctl load` when the kernel refuses a module's signature: the cause
//! (unsigned, untrusted key, malformed, lockdown) and the fix, read from
//! the fake tree's `sig_enforce` and `lockdown` files and the module file.

use std::fs;
use std::io;
use std::path::PathBuf;

use klpctl::commands::{self, LoadOptions, LoadWait, OnTimeout};
use klpctl::error::{Error, Result, exit};
use klpctl::loader::{ModuleLoader, insert_error};
use klpctl::modinfo::LivepatchModule;
use klpctl::signature::SIGNATURE_MARKER;
use klpctl::wait::WaitOptions;

use crate::fixture::*;

const NAME: &str = "livepatch_sample";

/// A loader whose `finit_module(2)` fails with `errno`, worded as the real
/// loader words it.
struct RefusingLoader {
    errno: i32,
}

impl ModuleLoader for RefusingLoader {
    fn insert(&self, module: &LivepatchModule) -> Result<()> {
        let action = format!("load {}", module.path.display());
        Err(insert_error(
            &action,
            module,
            io::Error::from_raw_os_error(self.errno),
        ))
    }

    fn remove(&self, _name: &str) -> Result<()> {
        unreachable!("nothing is removed")
    }
}

/// The sample module, with a module signature appended if `signed` (the
/// bytes sign-file appends: signature, descriptor, marker).
fn module(tree: &FakeTree, signed: bool) -> PathBuf {
    let mut data = elf(1, Some(&livepatch_modinfo(NAME)));
    if signed {
        data.extend_from_slice(&[0x30; 16]);
        data.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 16]);
        data.extend_from_slice(SIGNATURE_MARKER);
    }
    tree.write_file("livepatch_sample.ko", &data)
}

/// The kernel's signature policy in the fake tree.
fn policy(tree: &FakeTree, sig_enforce: Option<&str>, lockdown: Option<&str>) {
    if let Some(v) = sig_enforce {
        let dir = tree.root().join("sys/module/module/parameters");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("sig_enforce"), format!("{v}\n")).unwrap();
    }
    if let Some(v) = lockdown {
        let dir = tree.root().join("sys/kernel/security");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("lockdown"), format!("{v}\n")).unwrap();
    }
}

/// `klpctl load` of the module with the loader failing with `errno`.
fn load_refused(tree: &FakeTree, ko: PathBuf, errno: i32) -> Error {
    let loader = RefusingLoader { errno };
    let opts = LoadOptions {
        module: ko,
        wait: LoadWait {
            wait: true,
            wait_opts: WaitOptions::default(),
            on_timeout: OnTimeout::Keep,
        },
        json: false,
    };
    let (r, _) = capture(|out, err| commands::load(&env(tree, &loader), &opts, out, err));
    r.unwrap_err()
}

fn assert_fix(msg: &str) {
    for part in [
        "make sign",
        "KLP_SIGN_KEY",
        "scripts/sign-file",
        "mokutil --import",
        "MokManager",
    ] {
        assert!(msg.contains(part), "no {part:?} in: {msg}");
    }
}

#[test]
fn unsigned_module_under_enforcement() {
    let tree = FakeTree::new();
    policy(&tree, Some("Y"), None);
    let ko = module(&tree, false);
    let e = load_refused(&tree, ko, libc::EKEYREJECTED);
    let msg = e.to_string();
    assert!(
        msg.contains(
            "the kernel refused livepatch_sample: the module is not signed, and this kernel \
             loads only signed modules (signatures enforced: module.sig_enforce=1)"
        ),
        "{msg}"
    );
    assert!(
        msg.ends_with("(Key was rejected by service (os error 129))"),
        "{msg}"
    );
    assert_fix(&msg);
    assert_eq!(e.exit_code(), exit::ERROR);
}

#[test]
fn module_signed_with_an_untrusted_key_under_enforcement() {
    let tree = FakeTree::new();
    policy(&tree, Some("Y"), Some("[none] integrity confidentiality"));
    let ko = module(&tree, true);
    let msg = load_refused(&tree, ko, libc::EKEYREJECTED).to_string();
    assert!(
        msg.contains("it is signed, but not with a key this kernel trusts (\"key not trusted\")"),
        "{msg}"
    );
    assert!(
        msg.contains("(signatures enforced: module.sig_enforce=1, lockdown: none)"),
        "{msg}"
    );
    assert_fix(&msg);
}

#[test]
fn signature_that_does_not_verify_without_enforcement() {
    let tree = FakeTree::new();
    policy(&tree, Some("N"), None);
    let ko = module(&tree, true);
    let msg = load_refused(&tree, ko, libc::EKEYREJECTED).to_string();
    assert!(msg.contains("its signature does not verify"), "{msg}");
    assert!(msg.contains("module.sig_enforce=0"), "{msg}");
}

#[test]
fn malformed_signature() {
    let tree = FakeTree::new();
    policy(&tree, Some("N"), None);
    let ko = module(&tree, true);
    let e = load_refused(&tree, ko, libc::EBADMSG);
    let msg = e.to_string();
    assert!(msg.contains("its module signature is malformed"), "{msg}");
    assert!(msg.ends_with("(Bad message (os error 74))"), "{msg}");
    assert_fix(&msg);
    assert_eq!(e.exit_code(), exit::ERROR);
}

#[test]
fn unknown_key_errno() {
    let tree = FakeTree::new();
    let ko = module(&tree, true);
    let msg = load_refused(&tree, ko, libc::ENOKEY).to_string();
    assert!(
        msg.contains("signed with a key this kernel does not have"),
        "{msg}"
    );
    assert!(
        msg.contains("this kernel shows no signature policy in sysfs"),
        "{msg}"
    );
}

#[test]
fn unsigned_module_under_lockdown() {
    let tree = FakeTree::new();
    policy(&tree, Some("N"), Some("none [integrity] confidentiality"));
    let ko = module(&tree, false);
    let e = load_refused(&tree, ko, libc::EPERM);
    let msg = e.to_string();
    assert!(
        msg.contains("the kernel is locked down and loads only modules signed with a trusted key, and this one is not signed"),
        "{msg}"
    );
    assert!(msg.contains("lockdown: integrity"), "{msg}");
    assert_fix(&msg);
    assert_eq!(e.exit_code(), exit::PERMISSION);
}

#[test]
fn eperm_without_lockdown_is_not_blamed_on_signatures() {
    let tree = FakeTree::new();
    policy(&tree, Some("Y"), Some("[none] integrity confidentiality"));
    let ko = module(&tree, false);
    let e = load_refused(&tree, ko, libc::EPERM);
    let msg = e.to_string();
    assert!(
        msg.contains("not permitted: not root, module loading disabled"),
        "{msg}"
    );
    assert!(!msg.contains("mokutil"), "{msg}");
    assert_eq!(e.exit_code(), exit::PERMISSION);
}

#[test]
fn other_errors_are_left_alone() {
    let tree = FakeTree::new();
    policy(&tree, Some("Y"), None);
    let ko = module(&tree, false);
    let msg = load_refused(&tree, ko, libc::ENOEXEC).to_string();
    assert!(msg.contains("invalid module format"), "{msg}");
    assert!(!msg.contains("sign"), "{msg}");
}

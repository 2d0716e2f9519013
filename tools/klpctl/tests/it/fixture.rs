//! Fake /sys and /proc trees, a fake module loader, and tiny ELF files.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use klpctl::commands::Env;
use klpctl::error::{Error, Result};
use klpctl::loader::ModuleLoader;
use klpctl::modinfo::LivepatchModule;
use klpctl::paths::Paths;
use tempfile::TempDir;

/// A fake root with `sys/kernel/livepatch` and `proc`.
pub struct FakeTree {
    _dir: Option<TempDir>,
    root: PathBuf,
}

impl FakeTree {
    /// A tree with livepatch support and an empty /proc.
    pub fn new() -> Self {
        let tree = Self::without_livepatch();
        fs::create_dir_all(tree.root().join("sys/kernel/livepatch")).unwrap();
        tree
    }

    /// A tree with livepatch support whose kernel release is `release`
    /// (`proc/sys/kernel/osrelease`), as the installed patches need.
    pub fn with_release(release: &str) -> Self {
        let tree = Self::new();
        fs::write(
            tree.root().join("proc/sys/kernel/osrelease"),
            format!("{release}\n"),
        )
        .unwrap();
        tree
    }

    /// A tree of a kernel without livepatch: no sys/kernel/livepatch.
    pub fn without_livepatch() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("proc/sys/kernel")).unwrap();
        fs::create_dir_all(dir.path().join("sys/kernel")).unwrap();
        fs::create_dir_all(dir.path().join("sys/module")).unwrap();
        FakeTree {
            root: dir.path().to_path_buf(),
            _dir: Some(dir),
        }
    }

    /// A second handle on an existing tree (for "kernel" threads); it does
    /// not delete the tree when dropped.
    pub fn at(root: &Path) -> Self {
        FakeTree {
            _dir: None,
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn paths(&self) -> Paths {
        Paths::new(self.root())
    }

    pub fn patch_dir(&self, patch: &str) -> PathBuf {
        self.root().join("sys/kernel/livepatch").join(patch)
    }

    /// A patch directory as Linux 6.12 has it (no `signal`).
    pub fn add_patch(&self, name: &str, enabled: bool, transition: bool) {
        add_patch_at(self.root(), name, enabled, transition);
    }

    /// An object of a patch with functions named `func,sympos`.
    pub fn add_object(&self, patch: &str, object: &str, patched: bool, funcs: &[&str]) {
        let dir = self.patch_dir(patch).join(object);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("patched"), if patched { "1\n" } else { "0\n" }).unwrap();
        for f in funcs {
            fs::create_dir_all(dir.join(f)).unwrap();
        }
    }

    /// Replaces an attribute atomically (a reader never sees it empty,
    /// as with sysfs).
    pub fn set(&self, patch: &str, attr: &str, value: &str) {
        atomic_write(&self.patch_dir(patch).join(attr), value);
    }

    pub fn get(&self, patch: &str, attr: &str) -> String {
        fs::read_to_string(self.patch_dir(patch).join(attr)).unwrap()
    }

    /// A task `/proc/<pid>/task/<tid>/...`; `stack: None` leaves the stack
    /// file out (unreadable).
    pub fn add_task(
        &self,
        pid: u32,
        tid: u32,
        comm: &str,
        state: char,
        patch_state: i32,
        stack: Option<&str>,
    ) {
        let dir = self.task_dir(pid, tid);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
        fs::write(
            dir.join("stat"),
            format!("{tid} ({comm}) {state} 1 {pid} {pid} 0 -1 4194560 0 0\n"),
        )
        .unwrap();
        fs::write(dir.join("patch_state"), format!("{patch_state}\n")).unwrap();
        if let Some(stack) = stack {
            fs::write(dir.join("stack"), stack).unwrap();
        }
    }

    pub fn task_dir(&self, pid: u32, tid: u32) -> PathBuf {
        self.root().join(format!("proc/{pid}/task/{tid}"))
    }

    pub fn set_patch_state(&self, pid: u32, tid: u32, state: i32) {
        atomic_write(
            &self.task_dir(pid, tid).join("patch_state"),
            &format!("{state}\n"),
        );
    }

    /// A loaded module in /sys/module with the given taint letters.
    pub fn add_module(&self, name: &str, taint: &str) {
        let dir = self.root().join("sys/module").join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("taint"), format!("{taint}\n")).unwrap();
    }

    pub fn write_file(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.root().join(name);
        fs::write(&path, data).unwrap();
        path
    }

    /// The standard stalled transition: `livepatch_sample` patching,
    /// 4 tasks taking part, 2 of them (101 "sleepy" in D, 200 "worker"
    /// without a readable stack) still on the old state.
    pub fn stalled_patching() -> Self {
        let tree = FakeTree::new();
        tree.add_patch("livepatch_sample", true, true);
        tree.add_object(
            "livepatch_sample",
            "vmlinux",
            true,
            &["cmdline_proc_show,0"],
        );
        tree.add_tasks_for_patching();
        tree
    }

    pub fn add_tasks_for_patching(&self) {
        self.add_task(1, 1, "systemd", 'S', 1, Some("[<0>] ep_poll+0x2d5/0x3b0\n"));
        self.add_task(100, 100, "sleepy", 'S', 1, Some("[<0>] do_wait+0x1/0x2\n"));
        self.add_task(100, 101, "sleepy", 'D', 0, Some(SLEEPY_STACK));
        self.add_task(200, 200, "worker", 'S', 0, None);
        self.add_task(300, 300, "idle", 'I', -1, Some(""));
    }
}

/// Writes a file through a temporary file and a rename.
pub fn atomic_write(path: &Path, value: &str) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, value).unwrap();
    fs::rename(&tmp, path).unwrap();
}

pub const SLEEPY_STACK: &str = "[<0>] klp_sleepy_wait+0x15/0x30 [sleepy]\n\
[<0>] do_syscall_64+0x82/0x170\n\
[<0>] entry_SYSCALL_64_after_hwframe+0x76/0x7e\n";

pub fn add_patch_at(root: &Path, name: &str, enabled: bool, transition: bool) {
    let dir = root.join("sys/kernel/livepatch").join(name);
    fs::create_dir_all(&dir).unwrap();
    let flag = |b: bool| if b { "1\n" } else { "0\n" };
    fs::write(dir.join("enabled"), flag(enabled)).unwrap();
    fs::write(dir.join("transition"), flag(transition)).unwrap();
    fs::write(dir.join("replace"), "1\n").unwrap();
    fs::write(dir.join("force"), "").unwrap();
}

/// A loader that "inserts" a module by creating its sysfs directories, as
/// the kernel's module init + klp_enable_patch would.
pub struct FakeLoader {
    root: PathBuf,
    /// `transition` of the new patch right after insertion.
    pub start_in_transition: bool,
    /// Give the new patch a `signal` file, as kernels before 6.x had.
    pub signal_knob: bool,
    pub inserted: Mutex<Vec<String>>,
    pub removed: Mutex<Vec<String>>,
}

impl FakeLoader {
    pub fn new(tree: &FakeTree) -> Self {
        FakeLoader {
            root: tree.root().to_path_buf(),
            start_in_transition: true,
            signal_knob: false,
            inserted: Mutex::new(Vec::new()),
            removed: Mutex::new(Vec::new()),
        }
    }

    pub fn inserted(&self) -> Vec<String> {
        self.inserted.lock().unwrap().clone()
    }

    pub fn removed(&self) -> Vec<String> {
        self.removed.lock().unwrap().clone()
    }
}

impl ModuleLoader for FakeLoader {
    fn insert(&self, module: &LivepatchModule) -> Result<()> {
        let module_dir = self.root.join("sys/module").join(&module.name);
        if module_dir.exists() {
            return Err(Error::Busy(format!(
                "module {} is already loaded",
                module.name
            )));
        }
        fs::create_dir_all(&module_dir).unwrap();
        fs::write(module_dir.join("taint"), "OK\n").unwrap();
        add_patch_at(&self.root, &module.name, true, self.start_in_transition);
        if self.signal_knob {
            let signal = self
                .root
                .join("sys/kernel/livepatch")
                .join(&module.name)
                .join("signal");
            fs::write(signal, "").unwrap();
        }
        let obj = self
            .root
            .join("sys/kernel/livepatch")
            .join(&module.name)
            .join("vmlinux");
        fs::create_dir_all(obj.join("cmdline_proc_show,0")).unwrap();
        fs::write(obj.join("patched"), "1\n").unwrap();
        self.inserted.lock().unwrap().push(module.name.clone());
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<()> {
        if self.root.join("sys/kernel/livepatch").join(name).exists() {
            return Err(Error::Busy(format!("module {name} is in use")));
        }
        let _ = fs::remove_dir_all(self.root.join("sys/module").join(name));
        self.removed.lock().unwrap().push(name.to_string());
        Ok(())
    }
}

/// An environment on the tree with the given loader, plain output, audit
/// records dropped.
pub fn env<'a>(tree: &FakeTree, loader: &'a dyn ModuleLoader) -> Env<'a> {
    Env {
        paths: tree.paths(),
        loader,
        tty: false,
        audit: &klpctl::audit::NoAudit,
    }
}

/// Runs `f` with buffers for stdout and stderr; returns the result and
/// what went to stdout.
pub fn capture(f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> Result<()>) -> (Result<()>, String) {
    let (r, out, _) = capture_both(f);
    (r, out)
}

/// Runs `f` with buffers for stdout and stderr; returns the result and
/// what went to each.
pub fn capture_both(
    f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> Result<()>,
) -> (Result<()>, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let r = f(&mut out, &mut err);
    (
        r,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// The progress a command reports (its stderr), readable while it runs: the
/// "kernel" thread of a test moves its fake transition on only once the
/// command has reported the state before (`wait_for`). A handshake, not a
/// sleep: beside a `make check`'s guests a test thread can sleep through a
/// window of 200 ms and never see the state the test asserts on.
#[derive(Clone, Default)]
pub struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    /// What has been written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// Waits until what has been written contains `needle`; gives up after
    /// 10 s (the test's assertions then say what is missing).
    pub fn wait_for(&self, needle: &str) {
        let start = Instant::now();
        while !self.text().contains(needle) && start.elapsed() < Duration::from_secs(10) {
            thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a buffer for stdout and `err` for stderr; returns the
/// result and what went to each.
pub fn capture_shared(
    err: &SharedBuf,
    f: impl FnOnce(&mut Vec<u8>, &mut SharedBuf) -> Result<()>,
) -> (Result<()>, String, String) {
    let mut out = Vec::new();
    let r = f(&mut out, &mut err.clone());
    (r, String::from_utf8(out).unwrap(), err.text())
}

/// Runs `f` on another thread once `cond` holds (polling), like the kernel
/// finishing a transition in the background. Gives up after 10 s.
pub fn when(
    cond: impl Fn() -> bool + Send + 'static,
    f: impl FnOnce() + Send + 'static,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let start = Instant::now();
        while !cond() {
            if start.elapsed() > Duration::from_secs(10) {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
        f();
    })
}

/// A tiny ELF64 little-endian file of type `e_type` (1 = relocatable, as a
/// .ko) with a `.modinfo` section holding `modinfo`, if given.
pub fn elf(e_type: u16, modinfo: Option<&[u8]>) -> Vec<u8> {
    let mut shstrtab = b"\0.shstrtab\0".to_vec();
    let modinfo_name = shstrtab.len() as u32;
    shstrtab.extend_from_slice(b".modinfo\0");

    let mut data = vec![0u8; 64];
    let modinfo_off = data.len() as u64;
    if let Some(m) = modinfo {
        data.extend_from_slice(m);
    }
    let shstr_off = data.len() as u64;
    data.extend_from_slice(&shstrtab);
    while !data.len().is_multiple_of(8) {
        data.push(0);
    }
    let shoff = data.len() as u64;

    let mut sections: Vec<[u8; 64]> = vec![[0u8; 64]];
    let sh = |name: u32, typ: u32, flags: u64, off: u64, size: u64| {
        let mut s = [0u8; 64];
        s[0..4].copy_from_slice(&name.to_le_bytes());
        s[4..8].copy_from_slice(&typ.to_le_bytes());
        s[8..16].copy_from_slice(&flags.to_le_bytes());
        s[24..32].copy_from_slice(&off.to_le_bytes());
        s[32..40].copy_from_slice(&size.to_le_bytes());
        s[48..56].copy_from_slice(&1u64.to_le_bytes());
        s
    };
    if let Some(m) = modinfo {
        sections.push(sh(modinfo_name, 1, 2, modinfo_off, m.len() as u64));
    }
    let shstrndx = sections.len() as u16;
    sections.push(sh(1, 3, 0, shstr_off, shstrtab.len() as u64));
    for s in &sections {
        data.extend_from_slice(s);
    }

    let h = &mut data[0..64];
    h[0..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // 64-bit
    h[5] = 1; // little endian
    h[6] = 1; // version
    h[16..18].copy_from_slice(&e_type.to_le_bytes());
    h[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86_64
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[40..48].copy_from_slice(&shoff.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    h[60..62].copy_from_slice(&(sections.len() as u16).to_le_bytes());
    h[62..64].copy_from_slice(&shstrndx.to_le_bytes());
    data
}

/// The .modinfo of a live patch module named `name`.
pub fn livepatch_modinfo(name: &str) -> Vec<u8> {
    format!(
        "license=GPL\0livepatch=Y\0description=test patch\0name={name}\0\
         vermagic=6.12.0 SMP preempt mod_unload \0"
    )
    .into_bytes()
}

/// The .modinfo of a live patch module named `name` with a `srcversion`.
pub fn livepatch_modinfo_srcversion(name: &str, srcversion: &str) -> Vec<u8> {
    let mut m = livepatch_modinfo(name);
    m.extend_from_slice(format!("srcversion={srcversion}\0").as_bytes());
    m
}

/// Writes `DIR/NAME.ko`, a live patch module; `srcversion` if given.
pub fn write_ko(tree: &FakeTree, file: &str, name: &str, srcversion: Option<&str>) -> PathBuf {
    let modinfo = match srcversion {
        Some(v) => livepatch_modinfo_srcversion(name, v),
        None => livepatch_modinfo(name),
    };
    tree.write_file(file, &elf(1, Some(&modinfo)))
}

/// The klpctl binary run with `--root` on `tree` and `args`.
pub fn klpctl(tree: &FakeTree, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_klpctl"))
        .arg("--root")
        .arg(tree.root())
        .args(args)
        .output()
        .unwrap()
}

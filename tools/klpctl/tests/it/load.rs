use std::path::PathBuf;
use std::time::{Duration, Instant};

use klpctl::commands::{self, LoadOptions, LoadWait, OnTimeout};
use klpctl::error::{Error, exit};
use klpctl::wait::WaitOptions;

use crate::fixture::*;

const NAME: &str = "livepatch_sample";

fn sample_ko(tree: &FakeTree) -> PathBuf {
    tree.write_file(
        "livepatch_sample.ko",
        &elf(1, Some(&livepatch_modinfo(NAME))),
    )
}

fn load_opts(module: PathBuf, wait: WaitOptions) -> LoadOptions {
    LoadOptions {
        module,
        wait: LoadWait {
            wait: true,
            wait_opts: wait,
            on_timeout: OnTimeout::Keep,
        },
        json: false,
    }
}

fn quick(timeout: Option<f64>) -> WaitOptions {
    WaitOptions {
        timeout: timeout.map(Duration::from_secs_f64),
        poll: Duration::from_millis(10),
        ..WaitOptions::default()
    }
}

#[test]
fn load_refuses_files_that_are_not_livepatch_modules() {
    let tree = FakeTree::new();
    let loader = FakeLoader::new(&tree);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "plain.ko",
            elf(1, Some(b"license=GPL\0name=plain\0vermagic=6.12.0 SMP\0")),
            "not a live patch module: its .modinfo has no livepatch=Y",
        ),
        (
            "nomodinfo.ko",
            elf(1, None),
            "not a kernel module: no .modinfo section",
        ),
        (
            "exec.ko",
            elf(2, Some(&livepatch_modinfo("exec"))),
            "a .ko is a relocatable ELF object",
        ),
        ("text.ko", b"hello, world\n".to_vec(), "not an ELF file"),
        (
            "truncated.ko",
            elf(1, None)[..40].to_vec(),
            "not a valid ELF file",
        ),
        (
            "packed.ko.xz",
            vec![0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2],
            "xz-compressed module",
        ),
    ];
    for (file, data, reason) in cases {
        let path = tree.write_file(file, &data);
        let (r, _) = capture(|out, err| {
            commands::load(
                &env(&tree, &loader),
                &load_opts(path, quick(None)),
                out,
                err,
            )
        });
        let err = r.unwrap_err();
        assert!(
            matches!(err, Error::NotLivepatchModule { .. }),
            "{file}: {err:?}"
        );
        assert_eq!(err.exit_code(), exit::NOT_LIVEPATCH);
        assert!(err.to_string().contains(reason), "{file}: {err}");
    }
    assert!(loader.inserted().is_empty());
}

#[test]
fn load_of_a_missing_file() {
    let tree = FakeTree::new();
    let loader = FakeLoader::new(&tree);
    let path = tree.root().join("missing.ko");
    let (r, _) = capture(|out, err| {
        commands::load(
            &env(&tree, &loader),
            &load_opts(path, quick(None)),
            out,
            err,
        )
    });
    let err = r.unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }));
    assert_eq!(err.exit_code(), exit::NOT_FOUND);
    assert!(
        err.to_string().ends_with("missing.ko: no such file"),
        "{err}"
    );
}

#[test]
fn load_without_livepatch_support_in_the_kernel() {
    let tree = FakeTree::without_livepatch();
    let loader = FakeLoader::new(&tree);
    let ko = sample_ko(&tree);
    let (r, _) = capture(|out, err| {
        commands::load(&env(&tree, &loader), &load_opts(ko, quick(None)), out, err)
    });
    assert_eq!(r.unwrap_err().exit_code(), exit::NO_LIVEPATCH);
    assert!(loader.inserted().is_empty());
}

#[test]
fn load_without_wait_inserts_and_returns() {
    let tree = FakeTree::new();
    std::fs::write(tree.root().join("proc/sys/kernel/osrelease"), "6.12.0\n").unwrap();
    let loader = FakeLoader::new(&tree);
    let mut opts = load_opts(sample_ko(&tree), quick(None));
    opts.wait.wait = false;
    let (r, text) = capture(|out, err| commands::load(&env(&tree, &loader), &opts, out, err));
    r.unwrap();
    assert_eq!(loader.inserted(), [NAME]);
    assert!(text.contains("livepatch_sample.ko: live patch module livepatch_sample\n"));
    assert!(!text.contains("warning"), "same vermagic: {text}");
    assert!(text.contains("loaded livepatch_sample\n"));
    assert!(text.contains("patching transition in progress"), "{text}");
}

#[test]
fn load_warns_about_another_kernel_release() {
    let tree = FakeTree::new();
    std::fs::write(tree.root().join("proc/sys/kernel/osrelease"), "6.1.0\n").unwrap();
    let mut loader = FakeLoader::new(&tree);
    loader.start_in_transition = false;
    let (r, text, diag) = capture_both(|out, err| {
        commands::load(
            &env(&tree, &loader),
            &load_opts(sample_ko(&tree), quick(None)),
            out,
            err,
        )
    });
    r.unwrap();
    assert!(
        diag.contains("warning: livepatch_sample was built for kernel 6.12.0, running 6.1.0"),
        "{diag}"
    );
    assert!(!text.contains("warning"), "warnings are not data: {text}");
    assert!(
        text.ends_with("livepatch_sample: patching complete\n"),
        "{text}"
    );
}

#[test]
fn load_refuses_while_another_transition_runs() {
    let loader_tree = FakeTree::new();
    let loader = FakeLoader::new(&loader_tree);
    let tree = FakeTree::new();
    tree.add_patch("other", true, true);
    let ko = sample_ko(&tree);
    let (r, _) = capture(|out, err| {
        commands::load(&env(&tree, &loader), &load_opts(ko, quick(None)), out, err)
    });
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), exit::BUSY);
    assert!(
        err.to_string().contains("patch other is in transition"),
        "{err}"
    );
    assert!(loader.inserted().is_empty());
}

#[test]
fn load_wait_until_the_transition_finishes() {
    let tree = FakeTree::new();
    tree.add_tasks_for_patching();
    let loader = FakeLoader::new(&tree);
    let root = tree.root().to_path_buf();
    let dir = tree.patch_dir(NAME);
    // The "kernel", once the patch has appeared: switches task 101 once the
    // wait has shown 2 of 4 tasks pending, then task 200 and ends the
    // transition once it has shown 1 (the load returns only after that).
    let progress = SharedBuf::default();
    let seen = progress.clone();
    let kernel = when(
        move || dir.exists(),
        move || {
            let t = FakeTree::at(&root);
            seen.wait_for("] patching livepatch_sample: 2 of 4 tasks still on the old state");
            t.set_patch_state(100, 101, 1);
            seen.wait_for("] patching livepatch_sample: 1 of 4 tasks still on the old state");
            t.set_patch_state(200, 200, 1);
            t.set(NAME, "transition", "0\n");
        },
    );
    let (r, text, diag) = capture_shared(&progress, |out, err| {
        commands::load(
            &env(&tree, &loader),
            &load_opts(sample_ko(&tree), quick(Some(5.0))),
            out,
            err,
        )
    });
    kernel.join().unwrap();
    r.unwrap();
    assert!(diag.contains("] patching livepatch_sample: 2 of 4 tasks still on the old state"));
    assert!(diag.contains("] patching livepatch_sample: 1 of 4 tasks still on the old state"));
    assert!(
        !text.contains("tasks still"),
        "progress is not data: {text}"
    );
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("livepatch_sample: patching complete after "),
        "{text}"
    );
}

#[test]
fn load_wait_times_out_and_leaves_the_patch_loaded() {
    let tree = FakeTree::new();
    tree.add_tasks_for_patching();
    let loader = FakeLoader::new(&tree);
    let start = Instant::now();
    let (r, text) = capture(|out, err| {
        commands::load(
            &env(&tree, &loader),
            &load_opts(sample_ko(&tree), quick(Some(0.3))),
            out,
            err,
        )
    });
    let err = r.unwrap_err();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(3));
    assert!(matches!(err, Error::Timeout(_)));
    assert_eq!(err.exit_code(), exit::TIMEOUT);
    let msg = err.to_string();
    assert!(msg.starts_with("timed out after 0.3s waiting for the patching transition of livepatch_sample (2 of 4 tasks still on the old state)"), "{msg}");
    assert!(msg.contains("the patch stays loaded"), "{msg}");
    assert!(text.contains("loaded livepatch_sample"));
    assert!(tree.patch_dir(NAME).exists());
    assert_eq!(
        tree.get(NAME, "force"),
        "",
        "never forced without --force-after"
    );
}

#[test]
fn load_force_after_writes_force_with_a_warning() {
    let tree = FakeTree::new();
    tree.add_tasks_for_patching();
    let loader = FakeLoader::new(&tree);
    let root = tree.root().to_path_buf();
    let force = tree.patch_dir(NAME).join("force");
    // The "kernel" completes the transition once it is forced.
    let kernel = when(
        move || std::fs::read_to_string(&force).is_ok_and(|f| f.trim() == "1"),
        move || FakeTree::at(&root).set(NAME, "transition", "0\n"),
    );
    let mut wait = quick(Some(5.0));
    wait.force_after = Some(Duration::from_millis(100));
    let (r, text, diag) = capture_both(|out, err| {
        commands::load(
            &env(&tree, &loader),
            &load_opts(sample_ko(&tree), wait),
            out,
            err,
        )
    });
    kernel.join().unwrap();
    r.unwrap();
    assert_eq!(tree.get(NAME, "force"), "1");
    assert!(
        diag.contains("WARNING: forcing the transition of livepatch_sample"),
        "{diag}"
    );
    assert!(diag.contains("can never be removed"), "{diag}");
    assert!(diag.contains("forced the transition of livepatch_sample (wrote 1 to force)"));
    assert!(!text.contains("WARNING"), "{text}");
    assert!(
        text.contains("livepatch_sample: patching complete after"),
        "{text}"
    );
}

#[test]
fn load_signal_after_on_a_kernel_without_signal_knob() {
    let tree = FakeTree::new();
    tree.add_tasks_for_patching();
    let loader = FakeLoader::new(&tree);
    let mut wait = quick(Some(0.3));
    wait.signal_after = Some(Duration::from_millis(50));
    let (r, text, diag) = capture_both(|out, err| {
        commands::load(
            &env(&tree, &loader),
            &load_opts(sample_ko(&tree), wait),
            out,
            err,
        )
    });
    assert_eq!(r.unwrap_err().exit_code(), exit::TIMEOUT);
    assert!(
        diag.contains("this kernel has no signal knob for livepatch_sample: it signals the stalled tasks by itself"),
        "{diag}"
    );
    assert!(text.ends_with("loaded livepatch_sample\n"), "{text}");
    assert!(
        !tree.patch_dir(NAME).join("signal").exists(),
        "never created"
    );
}

#[test]
fn load_signal_after_writes_the_signal_knob_where_there_is_one() {
    let tree = FakeTree::new();
    tree.add_tasks_for_patching();
    let mut loader = FakeLoader::new(&tree);
    loader.signal_knob = true;
    let root = tree.root().to_path_buf();
    let signal = tree.patch_dir(NAME).join("signal");
    let kernel = when(
        move || std::fs::read_to_string(&signal).is_ok_and(|f| f.trim() == "1"),
        move || FakeTree::at(&root).set(NAME, "transition", "0\n"),
    );
    let mut wait = quick(Some(5.0));
    wait.signal_after = Some(Duration::from_millis(50));
    let (r, text, diag) = capture_both(|out, err| {
        commands::load(
            &env(&tree, &loader),
            &load_opts(sample_ko(&tree), wait),
            out,
            err,
        )
    });
    kernel.join().unwrap();
    r.unwrap();
    assert!(
        diag.contains("signalled the tasks blocking livepatch_sample"),
        "{diag}"
    );
    assert!(text.contains("patching complete after"), "{text}");
}

#[test]
fn load_refuses_module_names_the_kernel_would_not_have_and_shows_them_escaped() {
    let tree = FakeTree::new();
    let mut loader = FakeLoader::new(&tree);
    loader.start_in_transition = false;
    let long = "a".repeat(300);
    let cases: [(&str, &str); 6] = [
        ("\x1b[31mred", "\\u{1b}[31mred"),
        ("two\nlines", "two\\nlines"),
        ("has space", "has space"),
        ("dash-ed", "dash-ed"),
        ("dotted.name", "dotted.name"),
        (&long, "aaaaaaaa"),
    ];
    for (i, (name, shown)) in cases.into_iter().enumerate() {
        let ko = tree.write_file(&format!("m{i}.ko"), &elf(1, Some(&livepatch_modinfo(name))));
        let (r, text) = capture(|out, err| {
            commands::load(
                &env(&tree, &loader),
                &load_opts(ko, quick(Some(0.2))),
                out,
                err,
            )
        });
        let err = r.unwrap_err();
        assert_eq!(err.exit_code(), exit::NOT_LIVEPATCH, "{name:?}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("invalid module name"), "{msg}");
        assert!(msg.contains(shown), "{name:?}: {msg}");
        assert!(
            !msg.contains(['\x1b', '\n']) && !text.contains(['\x1b', '\n']) || text.is_empty(),
            "{name:?} echoed raw: {msg} / {text}"
        );
        assert!(msg.len() < 250, "a 300-character name is cut short: {msg}");
    }
    assert!(loader.inserted().is_empty());

    // Without name=, the file name gives it, with - turned into _.
    let ko = tree.write_file(
        "my-patch.ko",
        &elf(1, Some(b"livepatch=Y\0vermagic=6.12.0 SMP\0")),
    );
    let mut opts = load_opts(ko, quick(Some(0.2)));
    opts.wait.wait = false;
    let (r, _) = capture(|out, err| commands::load(&env(&tree, &loader), &opts, out, err));
    r.unwrap();
    // 55 characters is the longest name the kernel takes.
    let ko = tree.write_file("max.ko", &elf(1, Some(&livepatch_modinfo(&"b".repeat(55)))));
    let mut opts = load_opts(ko, quick(Some(0.2)));
    opts.wait.wait = false;
    let (r, _) = capture(|out, err| commands::load(&env(&tree, &loader), &opts, out, err));
    r.unwrap();
    assert_eq!(loader.inserted(), ["my_patch".to_string(), "b".repeat(55)]);
}

// SPDX-License-Identifier: GPL-2.0

//! Livepatch relocations against a module (selftests/test-relocs.sh): the
//! show function of klp_relocs_target replaced by Rust code that calls the
//! module's static functions (two of the same name, by `sympos`) and reads
//! and increments its static variable. The patch is cumulative: it also
//! carries klp_relocs_vmlinux's replacement of `cmdline_proc_show()`, with
//! relocations of its own, so that it atomically replaces that patch.
//! Loaded before the target, its relocations are written when the target
//! comes, and again each time it comes back.

use core::ffi::{c_int, c_void};
use kernel::bindings::seq_file;
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

#[path = "cmdline_relocs.rs"]
mod cmdline_relocs;

klp::symbols! {
    /// What klp_relocs_target keeps to itself.
    // SAFETY: the C definitions in selftests/klp_relocs/klp_relocs_target_*.c:
    // `static int klp_relocs_secret(int x)`, `static int klp_relocs_dup(void)`
    // twice, first in klp_relocs_target_main.c (returns 1), then in
    // klp_relocs_target_dup.c (returns 2), linked in that order, which is the
    // order of the module's kallsyms; `static int klp_relocs_counter`.
    unsafe mod target in "klp_relocs_target" {
        fn klp_relocs_secret(x: c_int) -> c_int;
        fn dup_first() -> c_int = "klp_relocs_dup", sympos = 1;
        fn dup_second() -> c_int = "klp_relocs_dup", sympos = 2;
        static klp_relocs_counter: c_int;
    }
}

/// Replacement for klp_relocs_target's `klp_relocs_target_show()`.
unsafe extern "C" fn patched_target_show(m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: a replacement function of klp_relocs_target: the core wrote
    // the module's livepatch relocations when it came. The functions take
    // and return plain integers and touch nothing else.
    let results = unsafe {
        (
            target::klp_relocs_secret(6),
            target::dup_first(),
            target::dup_second(),
        )
    };
    let (secret, first, second) = results;
    let counter = target::klp_relocs_counter();
    // SAFETY: relocations written, as above: the address of the module's
    // `int`, which only this function and the parameter's read access.
    let value = unsafe { counter.read_volatile() };
    // SAFETY: relocations written (a replacement function of
    // klp_relocs_target): the address of the module's `int`, which only this
    // function writes and the parameter's read accesses.
    unsafe { counter.write_volatile(value + 1) };
    // SAFETY: `m` is the `seq_file` procfs passes to the show function.
    let m = unsafe { klp::SeqFile::from_raw(m) };
    m.print(format_args!(
        "klp_relocs_target: patched: secret={secret} dup={first},{second} counter={value}\n"
    ));
    0
}

static PATCH: Patch = Patch::new(&[
    Object::vmlinux(&[
        // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)`
        // in fs/proc/cmdline.c, and `relocs_cmdline_proc_show` has that
        // prototype as an `unsafe extern "C" fn`.
        unsafe {
            klp::func!(
                "cmdline_proc_show",
                cmdline_relocs::relocs_cmdline_proc_show
            )
        },
    ]),
    Object::module(
        kernel::c_str!("klp_relocs_target"),
        &[
            // SAFETY: `static int klp_relocs_target_show(struct seq_file *m,
            // void *v)` in klp_relocs_target_main.c, and
            // `patched_target_show` has that prototype as an
            // `unsafe extern "C" fn`.
            unsafe { klp::func!("klp_relocs_target_show", patched_target_show) },
        ],
    ),
]);

klp::livepatch_module! {
    type: KlpRelocsMod,
    patch: PATCH,
    name: "klp_relocs_mod",
    authors: ["klp-rs developers"],
    description: "klp-rs test: livepatch relocations against a module, cumulative",
    license: "GPL",
}

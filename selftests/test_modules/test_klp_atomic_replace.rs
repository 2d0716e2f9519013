// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_atomic_replace` selftest module: a
//! live patch of `meminfo_proc_show()`, so that `/proc/meminfo` reads
//! `test_klp_atomic_replace: this has been live patched`. Its `replace`
//! parameter (default 0) chooses whether it atomically replaces the patches
//! loaded before it.

use core::ffi::{c_int, c_void};
use kernel::bindings::{__seq_puts, seq_file};
use kernel::prelude::*;
use klp::{Object, Patch, Registration};

#[path = "../../src/lib.rs"]
pub mod klp;

klp::module_param! {
    /// `replace`: non-zero to atomically replace the patches loaded before.
    static REPLACE: i32 = 0,
        name: "replace", perm: 0o644, description: "replace (default=0)";
}

/// Replacement for `meminfo_proc_show()`, with its signature.
unsafe extern "C" fn livepatch_meminfo_proc_show(m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `m` is the `seq_file` procfs passes to `meminfo_proc_show()`.
    // `m` is a valid `seq_file` and the text a NUL-terminated literal.
    unsafe {
        __seq_puts(
            m,
            klp::stand_ins::kernel::char_ptr(kernel::c_str!(
                "test_klp_atomic_replace: this has been live patched\n"
            )),
        )
    };
    0
}

/// The objects, shared by both flavours of the patch.
const OBJECTS: &[Object] = &[Object::vmlinux(&[
    // SAFETY: `static int meminfo_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/meminfo.c, and `livepatch_meminfo_proc_show` has that prototype
    // as an `unsafe extern "C" fn`.
    unsafe { klp::func!("meminfo_proc_show", livepatch_meminfo_proc_show) },
])];

/// The patch with `replace=0`: stacks on top of the others.
static PATCH: Patch = Patch::new(OBJECTS).replace(false);

/// The patch with `replace=1`: atomically replaces the others.
static PATCH_REPLACE: Patch = Patch::new(OBJECTS);

klp::module! {
    type: TestKlpAtomicReplace,
    name: "test_klp_atomic_replace",
    authors: ["klp-rs developers (after Joe Lawrence's C module)"],
    description: "Livepatch test: atomic replace",
    license: "GPL",
}

klp::modinfo_livepatch!();

/// The module: holds the enabled patch until it is unloaded.
struct TestKlpAtomicReplace {
    _registration: Registration,
}

impl kernel::Module for TestKlpAtomicReplace {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // The C module sets `patch.replace = replace` before enabling it.
        let patch = if REPLACE.get() != 0 {
            &PATCH_REPLACE
        } else {
            &PATCH
        };
        // SAFETY: `Registration::enable` needs to be init's last fallible
        // step, with the registration kept in the module's state until module
        // exit. It is init's only fallible step, so once it succeeds, init
        // returns `Ok`; the registration goes into `Self`, the module's
        // state, which `module!` drops only at module exit.
        let registration = unsafe { Registration::enable(patch, module) }?;
        Ok(Self {
            _registration: registration,
        })
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Bad input: a cumulative patch with an older version of a system state.
//! It lists state 1 at version 0, so the core must refuse it on top of
//! `livepatch_cumulative_v3` (state 1, version 1) and leave v3 in place.

use core::ffi::{c_int, c_void};
use core::sync::atomic::AtomicU64;
use kernel::bindings::seq_file;
use kernel::c_str;
use klp::{Object, Patch, State};

#[path = "../../src/lib.rs"]
pub mod klp;

/// State 1 at a version older than the one v3 set up.
// SAFETY: state 1 is v3's read counter, an `AtomicU64` (which points
// nowhere) in every module that uses it.
static OLD_READS: State<AtomicU64> = unsafe { State::new(1, 0) };

/// Replacement for `cmdline_proc_show()`, which must never take effect.
unsafe extern "C" fn cmdline_proc_show(m: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: called in place of `cmdline_proc_show()`, with its `seq_file`.
    let m = unsafe { klp::SeqFile::from_raw(m) };
    m.puts(c_str!("klp_bad_state_version must never be in effect\n"));
    0
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/cmdline.c, and the replacement has that prototype as an
    // `unsafe extern "C" fn`.
    unsafe { klp::func!("cmdline_proc_show", cmdline_proc_show) },
])])
.states(&[OLD_READS.desc()]);

klp::livepatch_module! {
    type: BadStateVersion,
    patch: PATCH,
    name: "klp_bad_state_version",
    authors: ["klp-rs developers"],
    description: "bad input test: system state version older than the loaded one",
    license: "GPL",
}

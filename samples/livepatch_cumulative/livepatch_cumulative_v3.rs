// SPDX-License-Identifier: GPL-2.0

//! Cumulative series, step 3: add a system state and callbacks that manage it.
//!
//! Patches `cmdline_proc_show()` to count its reads. The counter is the data
//! of system state [`READS`] (id 1, version 1): set up in `pre_patch` unless
//! a replaced patch has one, taken over from that patch in `post_patch`
//! (once the replaced patches are unpatched; a reversed transition never
//! gets there, so the replaced patch keeps its counter), and released in the
//! vmlinux `post_unpatch`. A later cumulative patch that lists the same state
//! at version 1 or newer inherits the counter, and the core refuses to
//! replace v3 by a patch that lacks the state (such as v2).

use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::bindings::seq_file;
use kernel::prelude::*;
use klp::{CallbackObject, Callbacks, Object, Patch, State};

#[path = "../../src/lib.rs"]
pub mod klp;

pub mod common;

/// The id of the read-counter state.
const READS_STATE_ID: usize = 1;

/// How often `/proc/cmdline` was read since the state was set up.
static READS: State<AtomicU64> =
    // SAFETY: every module that uses state 1 uses it with `AtomicU64`, which
    // points nowhere.
    unsafe { State::new(READS_STATE_ID, 1) };

/// Replacement for `cmdline_proc_show()`.
unsafe extern "C" fn cmdline_proc_show(m: *mut seq_file, _v: *mut c_void) -> c_int {
    let reads = READS
        .with_data(|count| count.map(|count| count.fetch_add(1, Ordering::Relaxed) + 1))
        .unwrap_or(0);
    // SAFETY: called in place of `cmdline_proc_show()`, with its `seq_file`.
    let m = unsafe { klp::SeqFile::from_raw(m) };
    m.print(format_args!(
        "cumulative v3: patched /proc/cmdline, read {reads} times\n"
    ));
    0
}

/// Sets up and releases the state around the logged callbacks.
struct StateCallbacks;

#[vtable]
impl Callbacks for StateCallbacks {
    fn pre_patch(obj: &CallbackObject<'_>) -> Result {
        common::LogCallbacks::pre_patch(obj)?;
        // A replaced patch's counter is taken over in `post_patch`; without
        // one, this patch sets up its own.
        if !READS.prev(obj).is_some_and(|prev| prev.has_data()) {
            READS.set_data(obj, KBox::new(AtomicU64::new(0), GFP_KERNEL)?)?;
            pr_info!(
                "state {}: set up at version {}\n",
                READS.id(),
                READS.version()
            );
        }
        Ok(())
    }

    fn post_patch(obj: &CallbackObject<'_>) {
        common::LogCallbacks::post_patch(obj);
        match READS.inherit(obj) {
            Ok(Some(version)) => pr_info!(
                "state {}: taken over from version {}\n",
                READS.id(),
                version
            ),
            Ok(None) => (),
            Err(err) => pr_err!("state {}: not taken over ({err:?})\n", READS.id()),
        }
    }

    fn pre_unpatch(obj: &CallbackObject<'_>) {
        common::LogCallbacks::pre_unpatch(obj);
    }

    fn post_unpatch(obj: &CallbackObject<'_>) {
        common::LogCallbacks::post_unpatch(obj);
        let Some(unpatched) = obj.unpatched() else {
            return;
        };
        match READS.take_data(unpatched) {
            Ok(Some(count)) => pr_info!(
                "state {}: released after {} reads\n",
                READS.id(),
                count.load(Ordering::Relaxed)
            ),
            Ok(None) => (),
            Err(err) => pr_err!("state {}: still in use ({err:?})\n", READS.id()),
        }
    }
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static int cmdline_proc_show(struct seq_file *m, void *v)`
    // in fs/proc/cmdline.c, and the replacement has that prototype as an
    // `unsafe extern "C" fn`.
    unsafe { klp::func!("cmdline_proc_show", cmdline_proc_show) },
])
.callbacks::<StateCallbacks>()])
.states(&[READS.desc()]);

klp::livepatch_module! {
    type: CumulativeV3,
    patch: PATCH,
    name: "livepatch_cumulative_v3",
    authors: ["klp-rs developers"],
    description: "Cumulative series v3: counts /proc/cmdline reads in a system state",
    license: "GPL",
}

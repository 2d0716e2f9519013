// SPDX-License-Identifier: GPL-2.0

//! Waiting for a work item of the `kernel` crate ([`Work`]) to finish: C's
//! `flush_work()`, which Linux 6.12's `kernel::workqueue` does not wrap.
//!
//! It uses only the `kernel` crate, so a module that is not a live patch can
//! mount it alone:
//!
//! ```ignore
//! #[path = "../../src/work.rs"]
//! pub mod work;
//! ```

use kernel::bindings;
use kernel::workqueue::Work;

use super::kernel::work_ptr;

/// Waits until `work` has finished running, including the return from its
/// work function, if it is queued or running (C's `flush_work()`).
///
/// Returns whether it had to wait. It sleeps, so it must be called from a
/// context that may sleep; calling it from `work`'s own function deadlocks
/// (lockdep reports it).
pub fn flush_work<T: ?Sized, const ID: u64>(work: &Work<T, ID>) -> bool {
    // SAFETY: A `Work` is made only by `Work::new`, which initialises it in place
    // (pinned), and the reference keeps it valid during the call.
    // the pointer is to an initialised `work_struct`.
    unsafe { bindings::flush_work(work_ptr(work)) }
}

// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_callbacks_busy` selftest module: a
//! target module whose work function, `busymod_work_func()`, can be kept
//! running (`block_transition=Y`) so that a live patch of it cannot finish
//! its transition until the flag is cleared.
//!
//! # A patchable Rust function
//!
//! The livepatch core redirects a function through its ftrace call site, the
//! `call __fentry__` the C compiler puts at the start of every function
//! (`-mfentry`), which Rust code does not have. `busymod_work_func` is
//! therefore declared with [`klp::patchable!`](crate::patchable): an entry
//! with the C layout, `endbr64; call __fentry__`, recorded for ftrace on
//! both clang- and GCC-built kernels, which calls the Rust body in a normal
//! frame, so that a task sleeping in the body has a reliable stack trace that
//! shows `busymod_work_func` (which keeps the transition from completing).

use kernel::bindings::{self, work_struct};
use kernel::prelude::*;
use kernel::sync::{Arc, CondVar, Mutex};
use kernel::workqueue::{HasWork, Work, WorkItem};
use kernel::{impl_has_work, new_condvar, new_mutex, new_work};

// klp-rs, mounted whole as `klp`, as in every module: a target module uses
// only its stand-ins (and `patchable!`), not the live patch API.
#[path = "../../src/lib.rs"]
pub mod klp;

crate::module_param! {
    /// `block_transition`: keeps the work function looping while set.
    static BLOCK_TRANSITION: bool = false,
        name: "block_transition", perm: 0o644, description: "block_transition (default=false)";
}

klp::module! {
    type: TestKlpCallbacksBusy,
    name: "test_klp_callbacks_busy",
    authors: ["klp-rs developers (after Joe Lawrence's C module)"],
    description: "Livepatch test: busy target module",
    license: "GPL",
}

/// The work item, and the completion its function signals when it starts.
#[pin_data]
struct BusyWork {
    #[pin]
    work: Work<BusyWork>,
    #[pin]
    started: Mutex<bool>,
    #[pin]
    started_cond: CondVar,
}

impl_has_work! {
    impl HasWork<Self> for BusyWork { self.work }
}

impl BusyWork {
    /// The `work_struct` the workqueue runs.
    fn raw_work(&self) -> *mut work_struct {
        klp::stand_ins::kernel::work_ptr(&self.work)
    }

    /// Marks the work function as started (`complete()`).
    fn complete_started(&self) {
        *self.started.lock() = true;
        self.started_cond.notify_all();
    }

    /// Waits until the work function has started (`wait_for_completion()`).
    fn wait_started(&self) {
        let mut started = self.started.lock();
        while !*started {
            self.started_cond.wait(&mut started);
        }
    }
}

impl WorkItem for BusyWork {
    type Pointer = Arc<BusyWork>;

    fn run(this: Arc<BusyWork>) {
        // SAFETY: `busymod_work_func` takes the `work_struct` of a live `BusyWork`.
        // `this` keeps the `BusyWork` alive until the call returns.
        unsafe { busymod_work_func(this.raw_work()) };
    }
}

klp::patchable! {
    /// The work function `test_klp_callbacks_demo` replaces: a patchable
    /// entry (see the module's documentation) that calls
    /// [`busymod_work_func_body()`].
    ///
    /// # Safety
    ///
    /// `work` must be the `work_struct` of a live [`BusyWork`].
    unsafe extern "C" fn busymod_work_func(work: *mut work_struct) = busymod_work_func_body;
}

/// The body of `busymod_work_func()`: logs, signals that it started, and
/// loops while `block_transition` is set.
///
/// # Safety
///
/// `work` must be the `work_struct` of a live [`BusyWork`].
unsafe extern "C" fn busymod_work_func_body(work: *mut work_struct) {
    pr_info!("busymod_work_func enter\n");
    // SAFETY: `Work<T>` is a transparent wrapper of `work_struct`.
    // the caller guarantees that `work` is inside a live `BusyWork`.
    let busy = unsafe { &*<BusyWork as HasWork<BusyWork>>::work_container_of(work.cast()) };
    busy.complete_started();

    while BLOCK_TRANSITION.get() {
        // Busy-wait until the sysfs writer has acknowledged a blocked
        // transition and clears the flag.
        //
        klp::sys::msleep(20);
    }

    pr_info!("busymod_work_func exit\n");
}

/// The module: owns the work item.
struct TestKlpCallbacksBusy {
    busy: Arc<BusyWork>,
}

impl kernel::Module for TestKlpCallbacksBusy {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("test_klp_callbacks_busy_init\n");
        let busy = Arc::pin_init(
            pin_init!(BusyWork {
                work <- new_work!("test_klp_callbacks_busy::work"),
                started <- new_mutex!(false),
                started_cond <- new_condvar!(),
            }),
            GFP_KERNEL,
        )?;
        // A new work item cannot be queued already, so this cannot fail.
        let _ = klp::stand_ins::kernel::system_percpu().enqueue(busy.clone());

        // To keep the kernel messages in order, hold init until the work
        // function's entry message has been printed.
        busy.wait_started();

        if !BLOCK_TRANSITION.get() {
            // Print all the work function's messages before init returns.
            //
            // SAFETY: the work item is initialised and stays alive (`busy`).
            unsafe { bindings::flush_work(busy.raw_work()) };
        }
        Ok(Self { busy })
    }
}

impl Drop for TestKlpCallbacksBusy {
    fn drop(&mut self) {
        BLOCK_TRANSITION.set(false);
        // SAFETY: Once this returns, no worker runs this module's code any more.
        // the work item is initialised and stays alive (`self.busy`).
        unsafe { bindings::flush_work(self.busy.raw_work()) };
        pr_info!("test_klp_callbacks_busy_exit\n");
    }
}

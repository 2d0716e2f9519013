// SPDX-License-Identifier: GPL-2.0

//! Busy target module of the Rust live patch callbacks demo: the job of the
//! kernel's `samples/livepatch/livepatch-callbacks-busymod.c` (with the
//! `block_transition` parameter of the kernel selftests' variant).
//!
//! At load time it runs a work item whose function, `busymod_work_func()`, is
//! the one `livepatch_callbacks_demo` replaces. With `block_transition=Y` the
//! work function keeps sleeping until the parameter is set back to `N`
//! (`/sys/module/livepatch_callbacks_busymod/parameters/block_transition`) or
//! the module is removed. While a task sleeps in a function a live patch
//! replaces, the livepatch core cannot switch that task to the patched code,
//! so the patching transition stays blocked (`transition` reads 1).
//!
//! `busymod_work_func()` is declared with [`patchable!`](crate::patchable):
//! Linux 6.12 compiles Rust functions without the ftrace entry a live patch
//! needs, so the macro gives it a C-like entry under its C name.
//!
//! Init returns once the work function has started (and, without
//! `block_transition`, once it has finished), so its messages come out in a
//! predictable order. It is an ordinary module, not a live patch.

use kernel::prelude::*;
use kernel::sync::{new_condvar, new_mutex, Arc, CondVar, Mutex};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

// klp-rs, mounted whole as `klp`, as in every module: a target module uses
// only its stand-ins (and `patchable!`), not the live patch API.
#[path = "../../src/lib.rs"]
pub mod klp;

klp::module! {
    type: LivepatchCallbacksBusymod,
    name: "livepatch_callbacks_busymod",
    authors: ["klp-rs developers"],
    description: "Busy target module of the Rust live patch callbacks demo",
    license: "GPL",
}

crate::module_param! {
    /// While true, `busymod_work_func()` keeps sleeping.
    static BLOCK_TRANSITION: bool = false,
        name: "block_transition", perm: 0o644, description: "block_transition (default=false)";
}

/// How far the work item got.
#[derive(Default)]
struct Progress {
    /// `busymod_work_func()` has been entered.
    started: bool,
    /// The work item has finished (patched or not).
    finished: bool,
}

/// The module's work item and what its work function reports to init.
#[pin_data]
pub struct Busy {
    #[pin]
    progress: Mutex<Progress>,
    #[pin]
    changed: CondVar,
    #[pin]
    work: Work<Busy>,
}

impl_has_work! {
    impl HasWork<Self> for Busy { self.work }
}

impl WorkItem for Busy {
    type Pointer = Arc<Busy>;

    fn run(this: Arc<Busy>) {
        busymod_work_func(&this);
        this.update(|progress| progress.finished = true);
    }
}

impl Busy {
    /// A new work item, not queued yet.
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                progress <- new_mutex!(Progress::default(), "Busy::progress"),
                changed <- new_condvar!("Busy::changed"),
                work <- new_work!("Busy::work"),
            }),
            GFP_KERNEL,
        )
    }

    /// Changes the progress and wakes up the waiters.
    fn update(&self, change: impl FnOnce(&mut Progress)) {
        change(&mut *self.progress.lock());
        self.changed.notify_all();
    }

    /// Sleeps until `done` holds.
    fn wait_until(&self, done: impl Fn(&Progress) -> bool) {
        let mut progress = self.progress.lock();
        while !done(&progress) {
            self.changed.wait(&mut progress);
        }
    }

    /// Waits until the work item has finished running, including the return
    /// from this module's code.
    fn flush(&self) {
        klp::work::flush_work(&self.work);
    }
}

crate::patchable! {
    /// The work function `livepatch_callbacks_demo` replaces.
    ///
    /// It reports that it started, then sleeps as long as `block_transition`
    /// is set.
    pub extern "C" fn busymod_work_func(busy: &Busy) = busymod_work_body;
}

/// The code of [`busymod_work_func()`], called only through it.
extern "C" fn busymod_work_body(busy: &Busy) {
    pr_info!("busymod_work_func enter\n");
    busy.update(|progress| progress.started = true);
    while BLOCK_TRANSITION.get() {
        klp::sys::msleep(20);
    }
    pr_info!("busymod_work_func exit\n");
}

/// The module: its work item, which may still be running.
struct LivepatchCallbacksBusymod {
    busy: Arc<Busy>,
}

impl kernel::Module for LivepatchCallbacksBusymod {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("livepatch_callbacks_busymod_init\n");
        let busy = Busy::new()?;
        if klp::stand_ins::kernel::system_percpu()
            .enqueue(busy.clone())
            .is_err()
        {
            // A new work item cannot already be queued.
            return Err(EBUSY);
        }
        // Return only once the work function runs (so that a live patch
        // loaded next finds a task in it), and, when it does not block,
        // after its messages.
        busy.wait_until(|progress| progress.started || progress.finished);
        if !BLOCK_TRANSITION.get() {
            busy.wait_until(|progress| progress.finished);
        }
        Ok(Self { busy })
    }
}

impl Drop for LivepatchCallbacksBusymod {
    fn drop(&mut self) {
        BLOCK_TRANSITION.set(false);
        self.busy.flush();
        pr_info!("livepatch_callbacks_busymod_exit\n");
    }
}

// SPDX-License-Identifier: GPL-2.0

//! A real upstream fix, live patched in Rust: `cgroup.kill` and processes
//! whose thread-group leader has exited (Documentation/real-fix.md).
//!
//! Writing `1` to a cgroup v2 `cgroup.kill` file sends `SIGKILL` to every
//! process of the cgroup and of its descendants. Up to the fix,
//! `__cgroup_kill()` in kernel/cgroup/cgroup.c walked each cgroup with
//! `CSS_TASK_ITER_PROCS`, which yields thread-group leaders only. When the
//! leader of a multi-threaded process has exited alone (`exit(2)` of the main
//! thread, not `exit_group(2)`), it stays a zombie until its last thread
//! exits: the iterator still yields it, `send_sig()` queues `SIGKILL` on the
//! zombie's private pending set, and the live threads never see it. The
//! process survives `cgroup.kill`, and the cgroup stays populated.
//!
//! The fix (Linux 6.12.117: "cgroup: fix cgroup.kill for exited thread group
//! leader" and "cgroup: don't kill migrated processes through their exiting
//! threads") walks every thread instead (`CSS_TASK_ITER_THREADED` alone): a
//! `SIGKILL` to any live thread takes its whole process down, and the
//! iterator skips the exiting ones.
//!
//! `__cgroup_kill()` and `cgroup_kill()` are `static` and compiled into their
//! only caller, the `cgroup.kill` write handler `cgroup_kill_write()`, so that
//! is the function this patch replaces, with the fixed code of all three. It
//! calls functions of kernel/cgroup/cgroup.c that the kernel does not export
//! (`cgroup_kn_lock_live()`, `cgroup_kn_unlock()`, the `css_task_iter_*()`
//! walk) and takes `css_set_lock`, exported only with lockdep: they are
//! declared with `klp::symbols!` and reached through livepatch relocations.
//!
//! The patch is built for the kernel of the 6.12 line only (6.12.117 with the
//! fix reverted, scripts/kernel/reverts/6.12): a distribution's live patch
//! targets the kernel builds whose layout it was compiled against.

use core::ptr::read_volatile;
use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_uint};
use klp::{Object, Patch};

#[path = "../../src/lib.rs"]
pub mod klp;

klp::symbols! {
    /// What kernel/cgroup/cgroup.c keeps to itself in the kernel this patch is
    /// built for.
    // SAFETY: the C definitions in kernel/cgroup/cgroup.c of Linux 6.12.117,
    // each the only symbol of its name in vmlinux (its kallsyms):
    // `struct cgroup *cgroup_kn_lock_live(struct kernfs_node *kn, bool
    // drain_offline)`, `void cgroup_kn_unlock(struct kernfs_node *kn)`,
    // `void css_task_iter_start(struct cgroup_subsys_state *css, unsigned int
    // flags, struct css_task_iter *it)`, `struct task_struct
    // *css_task_iter_next(struct css_task_iter *it)`, `void
    // css_task_iter_end(struct css_task_iter *it)` (global functions, declared
    // in include/linux/cgroup.h and kernel/cgroup/cgroup-internal.h, not
    // exported), and `DEFINE_SPINLOCK(css_set_lock)`, a `spinlock_t`
    // (exported only with CONFIG_PROVE_RCU or CONFIG_LOCKDEP). The types are
    // `kernel::bindings`' of the same kernel.
    unsafe mod cgroup in "vmlinux" {
        fn cgroup_kn_lock_live(
            kn: *mut bindings::kernfs_node,
            drain_offline: bool,
        ) -> *mut bindings::cgroup;
        fn cgroup_kn_unlock(kn: *mut bindings::kernfs_node);
        fn css_task_iter_start(
            css: *mut bindings::cgroup_subsys_state,
            flags: c_uint,
            it: *mut bindings::css_task_iter,
        );
        fn css_task_iter_next(it: *mut bindings::css_task_iter) -> *mut bindings::task_struct;
        fn css_task_iter_end(it: *mut bindings::css_task_iter);
        static css_set_lock: bindings::spinlock_t;
    }
}

/// The fixed `cgroup_kill_write()`: kernel/cgroup/cgroup.c's
/// `cgroup_kill_write()`, `cgroup_kill()` and `__cgroup_kill()` of Linux
/// 6.12.117, in that order, with `css_task_iter_start()` called with
/// `CSS_TASK_ITER_THREADED` alone (the fix).
///
/// `static ssize_t cgroup_kill_write(struct kernfs_open_file *of, char *buf,
/// size_t nbytes, loff_t off)`, the `.write` of the `cgroup.kill` cftype.
unsafe extern "C" fn livepatch_cgroup_kill_write(
    of: *mut bindings::kernfs_open_file,
    buf: *mut c_char,
    nbytes: usize,
    _off: bindings::loff_t,
) -> isize {
    let mut kill: c_int = 0;
    // SAFETY: kernfs calls a cftype's `.write` with `buf` its own writable,
    // NUL-terminated copy of what user space wrote (`kernfs_fop_write_iter()`),
    // as `strim()` needs (it trims in place and returns a pointer into `buf`);
    // `kstrtoint()` reads that string and writes an `int` to `&mut kill`.
    let ret = unsafe { bindings::kstrtoint(bindings::strim(buf), 0, &mut kill) };
    if ret != 0 {
        return ret as isize;
    }
    if kill != 1 {
        return -(bindings::ERANGE as isize);
    }

    // SAFETY: `of` is the open file kernfs passes to `.write`, valid for the
    // call, and `of->kn` its node, a cgroup's `cgroup.kill` file. This is a
    // replacement function of vmlinux, so the relocations of `cgroup` are
    // written. `cgroup_kn_lock_live()` is called from process context without
    // cgroup_mutex held, as the original does: on success it returns the live
    // cgroup with a reference, cgroup_mutex held and the node's active
    // protection broken, which `cgroup_kn_unlock()` below undoes.
    let cgrp = unsafe { cgroup::cgroup_kn_lock_live((*of).kn, false) };
    if cgrp.is_null() {
        return -(bindings::ENOENT as isize);
    }

    // SAFETY: `cgrp` is live and referenced, and `dom_cgrp` only changes
    // under cgroup_mutex, which we hold.
    let dom_cgrp = unsafe { (*cgrp).dom_cgrp };
    // Killing is a process directed operation: as for cgroup.procs, only in
    // non-threaded cgroups (`cgroup_is_threaded()`: `dom_cgrp != cgrp`).
    let threaded = dom_cgrp != cgrp;
    let ret = if threaded {
        -(bindings::EOPNOTSUPP as isize)
    } else {
        // SAFETY: `cgrp` is valid; only the address of its `self` is taken,
        // where `cgroup_kill()` walks every live cgroup of the subtree,
        // pre-order (`cgroup_for_each_live_descendant_pre()`).
        let root = unsafe { &raw mut (*cgrp).self_ };
        // SAFETY: `root` is a valid css, and cgroup_mutex is held, as
        // `css_next_descendant_pre()` requires (or the RCU read lock); with
        // NULL it starts the walk at `root` itself.
        let mut css = unsafe { bindings::css_next_descendant_pre(core::ptr::null_mut(), root) };
        while !css.is_null() {
            // SAFETY: `css` is a css of the walk, which cgroup_mutex keeps
            // from being freed; `css->cgroup` is its cgroup, set when the
            // css was created and never changed.
            let dsct = unsafe { (*css).cgroup };
            // SAFETY: `dsct` is the cgroup of a css of the walk, which
            // cgroup_mutex (held) keeps from being freed; its `self.flags`
            // (CSS_ONLINE: not `cgroup_is_dead()`) only change under
            // cgroup_mutex.
            let online = unsafe { (*dsct).self_.flags } & bindings::CSS_ONLINE as c_uint != 0;
            if online {
                // `__cgroup_kill(dsct)`.
                // Without PREEMPT_RT, a spinlock_t is a union whose `rlock`,
                // at offset 0, is the raw_spinlock_t that spin_lock_irq()
                // takes (`&lock->rlock`; bindgen keeps spinlock_t opaque).
                let raw = cgroup::css_set_lock().cast::<bindings::raw_spinlock_t>();
                // SAFETY: `raw` is css_set_lock's raw_spinlock_t, in vmlinux
                // (the relocations of `cgroup` are written) and never freed.
                // It is taken with interrupts off, as every user of
                // css_set_lock takes it. The original's spin_lock_irq()/
                // spin_unlock_irq() pair is inlined in vmlinux
                // (CONFIG_INLINE_SPIN_UNLOCK_IRQ: no out-of-line
                // _raw_spin_unlock_irq to call), so this uses the exported
                // irqsave/irqrestore pair: here, in process context with
                // interrupts on (a kernfs write, holding cgroup_mutex, a
                // mutex), it saves "on" and restores "on", which is what
                // spin_unlock_irq() does. No other lock is held but
                // cgroup_mutex, which nests outside css_set_lock, as in C.
                let flags = unsafe { bindings::_raw_spin_lock_irqsave(raw) };
                // SAFETY: `kill_seq` is written only under css_set_lock,
                // held (it tells cgroup_post_fork() that a kill is under
                // way, for a child forked during this walk).
                unsafe { (*dsct).kill_seq = (*dsct).kill_seq.wrapping_add(1) };
                // SAFETY: `raw` is locked by this function with `flags`.
                unsafe { bindings::_raw_spin_unlock_irqrestore(raw, flags) };

                let mut it = core::mem::MaybeUninit::<bindings::css_task_iter>::uninit();
                // SAFETY: `dsct->self` is a live css, and cgroup_mutex is
                // held; `css_task_iter_start()` initializes `it` entirely
                // (it zeroes it first) and links it into the css_sets'
                // iterator lists: `it` is not moved until
                // `css_task_iter_end()` below unlinks it. THE FIX:
                // CSS_TASK_ITER_THREADED alone, so that every thread of the
                // cgroup comes, not its thread-group leaders only
                // (CSS_TASK_ITER_PROCS), and the iterator skips dying tasks.
                unsafe {
                    cgroup::css_task_iter_start(
                        &raw mut (*dsct).self_,
                        bindings::CSS_TASK_ITER_THREADED as c_uint,
                        it.as_mut_ptr(),
                    )
                };
                loop {
                    // SAFETY: `it` was started above and not ended.
                    let task = unsafe { cgroup::css_task_iter_next(it.as_mut_ptr()) };
                    if task.is_null() {
                        break;
                    }
                    // SAFETY: the iterator holds a reference to `task` until
                    // the next call. `flags` is read once, as C reads it
                    // (a kernel thread's PF_KTHREAD never changes).
                    let task_flags = unsafe { read_volatile(&raw const (*task).flags) };
                    // Ignore kernel threads here.
                    if task_flags & bindings::PF_KTHREAD != 0 {
                        continue;
                    }
                    // SAFETY: `task` is referenced, as above; the C code
                    // reads its private pending set without the task's
                    // siglock too, a racy hint: at worst a task is sent a
                    // second SIGKILL. One word of signals on x86-64.
                    let sigs = unsafe { read_volatile(&raw const (*task).pending.signal.sig[0]) };
                    // Skip tasks that are already dying
                    // (`__fatal_signal_pending()`).
                    if sigs & (1 << (bindings::SIGKILL - 1)) != 0 {
                        continue;
                    }
                    // SAFETY: `task` is referenced, as above; `send_sig()`
                    // takes the task's siglock itself (priv = 0: as if from
                    // user space, as the original).
                    unsafe { bindings::send_sig(bindings::SIGKILL as c_int, task, 0) };
                }
                // SAFETY: `it` was started above and is ended once; it drops
                // the reference to the last task and unlinks `it`.
                unsafe { cgroup::css_task_iter_end(it.as_mut_ptr()) };
            }
            // SAFETY: `root` is a valid css and cgroup_mutex is held, as
            // `css_next_descendant_pre()` requires; `css` is the walk's
            // position, a css of `root`'s subtree that cgroup_mutex keeps
            // from being freed.
            css = unsafe { bindings::css_next_descendant_pre(css, root) };
        }
        0
    };

    // SAFETY: `cgroup_kn_lock_live((*of).kn)` succeeded above: this releases
    // what it took (cgroup_mutex, the active protection, the reference).
    unsafe { cgroup::cgroup_kn_unlock((*of).kn) };

    if ret != 0 {
        ret
    } else {
        nbytes as isize
    }
}

/// The replacement has the prototype of a cftype's `.write`, the C function
/// pointer type through which kernfs calls `cgroup_kill_write()` (checked by
/// the compiler; never called).
#[allow(dead_code)]
fn _write_handler_prototype(cft: &mut bindings::cftype) {
    cft.write = Some(livepatch_cgroup_kill_write);
}

static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `static ssize_t cgroup_kill_write(struct kernfs_open_file *of,
    // char *buf, size_t nbytes, loff_t off)` in kernel/cgroup/cgroup.c, the
    // only symbol of its name in vmlinux, and `livepatch_cgroup_kill_write`
    // has that prototype as an `unsafe extern "C" fn` (the compiler checks it
    // against `struct cftype`'s `.write`, above).
    unsafe { klp::func!("cgroup_kill_write", livepatch_cgroup_kill_write) },
])]);

klp::livepatch_module! {
    type: LivepatchCgroupKill,
    patch: PATCH,
    name: "livepatch_cgroup_kill",
    authors: ["klp-rs developers"],
    description: "Rust live patch of a real fix: cgroup.kill and exited thread-group leaders",
    license: "GPL",
}

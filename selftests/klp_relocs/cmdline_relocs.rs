// SPDX-License-Identifier: GPL-2.0

//! The replacement of `cmdline_proc_show()` that klp_relocs_vmlinux and
//! klp_relocs_mod share: it calls vmlinux's static `version_proc_show()`
//! (so `/proc/cmdline` shows what `/proc/version` shows), then reads
//! kernel/panic.c's static `oops_limit`, prints it and increments it (which
//! `/proc/sys/kernel/oops_limit` then shows).

use core::ffi::{c_int, c_uint, c_void};
use kernel::bindings::seq_file;

crate::klp::symbols! {
    /// What fs/proc/version.c and kernel/panic.c keep to themselves.
    // SAFETY: the C definitions, the same in Linux 6.12 and 7.3, each the
    // only symbol of its name in vmlinux (checked in both kernels' kallsyms):
    // `static int version_proc_show(struct seq_file *m, void *v)` in
    // fs/proc/version.c, and `static unsigned int __read_mostly oops_limit`
    // in kernel/panic.c.
    pub(crate) unsafe mod vmlinux_syms in "vmlinux" {
        fn version_proc_show(m: *mut seq_file, v: *mut c_void) -> c_int;
        static oops_limit: c_uint;
    }
}

/// Replacement for `cmdline_proc_show()`, with its signature.
pub(crate) unsafe extern "C" fn relocs_cmdline_proc_show(
    m: *mut seq_file,
    v: *mut c_void,
) -> c_int {
    // SAFETY: this is a replacement function of vmlinux, so the core has
    // written vmlinux's livepatch relocations (before enabling the patch).
    // `m` and `v` are the `seq_file` and cursor procfs passes to a
    // single_open() show function, which `version_proc_show` also is; it
    // only prints into `m`.
    unsafe { vmlinux_syms::version_proc_show(m, v) };
    let limit = vmlinux_syms::oops_limit();
    // SAFETY: relocations written, as above: `limit` is the address of the
    // `unsigned int`. The kernel reads it with READ_ONCE() and the sysctl
    // writes it without a lock, so a volatile read and write of the aligned
    // word are what C does.
    let value = unsafe { limit.read_volatile() };
    // SAFETY: relocations written (a replacement function of vmlinux): the
    // address of the `unsigned int`, which the sysctl writes without a lock
    // and the kernel reads with READ_ONCE(); a volatile write of the aligned
    // word is what C does.
    unsafe { limit.write_volatile(value.wrapping_add(1)) };
    // SAFETY: `m` is the `seq_file` procfs passes to `cmdline_proc_show()`.
    let m = unsafe { crate::klp::SeqFile::from_raw(m) };
    m.print(format_args!("klp_relocs: oops_limit={value}\n"));
    0
}

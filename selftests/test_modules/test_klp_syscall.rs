// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_syscall` selftest module: a live
//! patch of the `getpid` system call (`__x64_sys_getpid` on x86_64) that
//! counts down the tasks listed in `klp_pids` as each of them calls it
//! patched. `/sys/kernel/test_klp_syscall/npids` shows how many are left, so
//! a test can see every task go through the transition.

use core::ffi::c_long;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::bindings;
use kernel::ffi::c_char;
use kernel::prelude::*;
use klp::{Object, Patch, Registration};

use klp::stand_ins::kernel::char_ptr;

#[path = "../../src/lib.rs"]
pub mod klp;

/// At most one pid per possible CPU, as in C.
const MAX_PIDS: usize = bindings::NR_CPUS as usize;

klp::module_param_array! {
    /// `klp_pids`: the tasks to watch.
    static KLP_PIDS: [i32; MAX_PIDS],
        name: "klp_pids", perm: 0,
        description: "Array of pids to be transitioned to livepatched state.";
}

/// How many of the listed tasks have not called the patched `getpid` yet.
static NPIDS_PENDING: AtomicU32 = AtomicU32::new(0);

/// The calling task's global pid (`current->pid`), through the kernel
/// crate's `Task`, so that this test also checks that the Rust layout of
/// `task_struct` matches C's: when it did not (see
/// scripts/kernel/check-kernel-bindings.sh), this read 0 and no listed task was
/// ever crossed off.
fn current_pid() -> bindings::pid_t {
    kernel::current!().pid()
}

/// Replacement for `__x64_sys_getpid()`: crosses the calling task off the
/// list, then does what `getpid` does.
///
/// The C module serialises the list with a mutex; here every entry is an
/// atomic that only one caller can clear, which gives the same count.
unsafe extern "C" fn lp_sys_getpid(_regs: *const bindings::pt_regs) -> c_long {
    if NPIDS_PENDING.load(Ordering::Relaxed) > 0 {
        let pid = current_pid();
        for entry in KLP_PIDS.values() {
            if entry
                .compare_exchange(pid, 0, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                NPIDS_PENDING.fetch_sub(1, Ordering::Relaxed);
                break;
            }
        }
    }
    // SAFETY: `task_tgid_vnr(current)` is this call with a null namespace.
    // `get_current()` is the running task, valid for this call.
    unsafe {
        c_long::from(bindings::__task_pid_nr_ns(
            bindings::get_current(),
            bindings::pid_type_PIDTYPE_TGID,
            ptr::null_mut(),
        ))
    }
}

/// `show` of `/sys/kernel/test_klp_syscall/npids`.
unsafe extern "C" fn npids_show(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: The format takes one `unsigned int`.
    // sysfs passes a page-sized buffer, and the argument matches.
    let len = unsafe {
        bindings::sysfs_emit(
            buf,
            char_ptr(kernel::c_str!("%u\n")),
            NPIDS_PENDING.load(Ordering::Relaxed),
        )
    };
    len as isize
}

/// The `npids` attribute, read-only (`__ATTR_RO`).
struct NpidsAttr(bindings::kobj_attribute);

// SAFETY: the attribute is immutable data (a name and function pointers)
// that sysfs only reads.
unsafe impl Sync for NpidsAttr {}

static NPIDS_ATTR: NpidsAttr = NpidsAttr(klp::stand_ins::kernel::kobj_attribute_ro(
    bindings::attribute {
        name: char_ptr(kernel::c_str!("npids")),
        mode: 0o444,
        // SAFETY: With lockdep the attribute also has its lock class keys (`key`,
        // `skey`): zero, as in C's `__ATTR_RO`, for a static attribute.
        // all zeroes (null pointers, no flags) is a valid `attribute`.
        ..unsafe { core::mem::zeroed() }
    },
    npids_show,
));

/// `/sys/kernel/test_klp_syscall`, removed when dropped.
///
/// # Invariants
///
/// `0` is a kobject this module created, with one reference held.
struct SysfsDir(NonNull<bindings::kobject>);

// SAFETY: a kobject reference may be dropped from any thread.
unsafe impl Send for SysfsDir {}

// SAFETY: `SysfsDir` gives no access to the kobject through `&self`.
unsafe impl Sync for SysfsDir {}

impl SysfsDir {
    /// Creates `/sys/kernel/test_klp_syscall` with its `npids` file.
    fn new() -> Result<Self> {
        // SAFETY: The pointer to the kernel's `/sys/kernel` kobject.
        // it is set up at boot and never changes.
        let kernel_kobj = unsafe { (&raw const bindings::kernel_kobj).read() };
        // SAFETY: the name is NUL-terminated and `kernel_kobj` is valid.
        let kobj = unsafe {
            bindings::kobject_create_and_add(
                char_ptr(kernel::c_str!("test_klp_syscall")),
                kernel_kobj,
            )
        };
        // INVARIANT: a non-null result is a new kobject we hold a reference to.
        let dir = Self(NonNull::new(kobj).ok_or(ENOMEM)?);
        // SAFETY: `dir.0` is valid (type invariant); the attribute is static.
        let ret = unsafe {
            bindings::sysfs_create_file_ns(dir.0.as_ptr(), &NPIDS_ATTR.0.attr, ptr::null())
        };
        kernel::error::to_result(ret)?;
        Ok(dir)
    }
}

impl Drop for SysfsDir {
    fn drop(&mut self) {
        // SAFETY: Dropping the last reference removes the directory and its file.
        // we hold a reference (type invariant).
        unsafe { bindings::kobject_put(self.0.as_ptr()) };
    }
}

/// Not a cumulative patch, as in C.
static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
    // SAFETY: `long __x64_sys_getpid(const struct pt_regs *regs)`, the x86_64
    // syscall wrapper `SYSCALL_DEFINE0(getpid)` defines, and `lp_sys_getpid`
    // has that prototype as an `unsafe extern "C" fn`.
    unsafe { klp::func!("__x64_sys_getpid", lp_sys_getpid) },
])])
.replace(false);

klp::module! {
    type: TestKlpSyscall,
    name: "test_klp_syscall",
    authors: ["klp-rs developers (after the C module by Libor Pechacek, Nicolai Stange and Marcos Paulo de Souza)"],
    description: "Livepatch test: syscall transition",
    license: "GPL",
}

klp::modinfo_livepatch!();

/// The module: the sysfs directory and the enabled patch.
struct TestKlpSyscall {
    _registration: Registration,
    _dir: SysfsDir,
}

impl kernel::Module for TestKlpSyscall {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let dir = SysfsDir::new()?;
        // The number of listed tasks, counted down by the patched getpid.
        NPIDS_PENDING.store(KLP_PIDS.count() as u32, Ordering::Relaxed);
        // SAFETY: `Registration::enable` needs to be init's last fallible
        // step, with the registration kept in the module's state until module
        // exit. The sysfs directory and the count are set up above, so once
        // enabling succeeds, init returns `Ok`; the registration goes into
        // `Self`, the module's state, which `module!` drops only at module
        // exit.
        let registration = unsafe { Registration::enable(&PATCH, module) }?;
        Ok(Self {
            _registration: registration,
            _dir: dir,
        })
    }
}

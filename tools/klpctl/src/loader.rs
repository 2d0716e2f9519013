//! Inserting and removing kernel modules, behind the [`ModuleLoader`] trait
//! so tests can use a fake loader on a fake sysfs tree.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use crate::error::{Error, Result};
use crate::modinfo::LivepatchModule;

/// Inserts and removes kernel modules.
pub trait ModuleLoader {
    /// Inserts a module file that has been checked to be a live patch
    /// module. When this returns, the kernel has run the module's init,
    /// which enabled the patch: its sysfs directory exists.
    fn insert(&self, module: &LivepatchModule) -> Result<()>;

    /// Removes the module `name`. A module that is still in use must fail
    /// with [`Error::Busy`] (callers may retry that).
    fn remove(&self, name: &str) -> Result<()>;
}

/// The real loader: `finit_module(2)` and `delete_module(2)`. Needs root.
#[derive(Debug, Clone, Copy, Default)]
pub struct KernelLoader;

fn require_root(action: &str) -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(Error::NotRoot {
            action: action.to_string(),
        });
    }
    Ok(())
}

impl ModuleLoader for KernelLoader {
    fn insert(&self, module: &LivepatchModule) -> Result<()> {
        let action = format!("load {}", module.path.display());
        require_root(&action)?;
        let file = File::open(&module.path).map_err(|e| Error::io(&action, e))?;
        let params = c"";
        // SAFETY: the fd is open for the duration of the call, `params` is a
        // NUL-terminated string, flags 0.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_finit_module,
                file.as_raw_fd(),
                params.as_ptr(),
                0 as libc::c_int,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        Err(insert_error(&action, module, err))
    }

    fn remove(&self, name: &str) -> Result<()> {
        let action = format!("remove module {name}");
        require_root(&action)?;
        let cname = CString::new(name)
            .map_err(|_| Error::Failed(format!("{action}: invalid module name")))?;
        // SAFETY: `cname` is a NUL-terminated string that outlives the call.
        let rc =
            unsafe { libc::syscall(libc::SYS_delete_module, cname.as_ptr(), libc::O_NONBLOCK) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        Err(remove_error(&action, name, err))
    }
}

/// What `ENOSYS` from `finit_module(2)` or `delete_module(2)` means.
const NO_MODULES: &str = "this kernel has no module support (CONFIG_MODULES is not set), \
     or a seccomp filter (e.g. a container's) blocks the module system calls";

/// Words an errno of `finit_module(2)` for a live patch module.
pub fn insert_error(action: &str, module: &LivepatchModule, err: io::Error) -> Error {
    let name = &module.name;
    let kernel = |message: String| Error::Kernel {
        action: action.to_string(),
        message,
        source: io::Error::from_raw_os_error(err.raw_os_error().unwrap_or(0)),
    };
    match err.raw_os_error() {
        Some(libc::EEXIST) => Error::Busy(format!("{action}: module {name} is already loaded")),
        Some(libc::EBUSY) => Error::Busy(format!(
            "{action}: another live patch is in transition; wait for it (klpctl status)"
        )),
        Some(libc::EPERM) => kernel(
            "not permitted: not root, module loading disabled \
             (kernel.modules_disabled) or kernel lockdown"
                .into(),
        ),
        Some(libc::EKEYREJECTED)
        | Some(libc::EKEYEXPIRED)
        | Some(libc::ENOKEY)
        | Some(libc::EBADMSG)
        | Some(libc::ENOPKG) => {
            kernel("the kernel refused the module's signature (see dmesg)".into())
        }
        Some(libc::ENOEXEC) => kernel(format!(
            "invalid module format; built for another kernel? its vermagic is {:?}",
            module.modinfo.get("vermagic").unwrap_or("unknown")
        )),
        Some(libc::ENOENT) => kernel("unknown symbol or missing dependency (see dmesg)".into()),
        Some(libc::EINVAL) => kernel(
            "the kernel refused the module: the live patch failed to enable, \
             e.g. incompatible with the loaded patches (see dmesg)"
                .into(),
        ),
        Some(libc::ENODEV) => kernel("the livepatch core is not available".into()),
        Some(libc::ENOSYS) => kernel(NO_MODULES.into()),
        _ => Error::io(action, err),
    }
}

/// Words an errno of `delete_module(2)`.
pub fn remove_error(action: &str, name: &str, err: io::Error) -> Error {
    match err.raw_os_error() {
        Some(libc::ENOENT) => Error::Failed(format!("{action}: module {name} is not loaded")),
        Some(libc::EWOULDBLOCK) | Some(libc::EBUSY) => Error::Busy(format!(
            "{action}: the module is in use (a live patch module whose \
             transition was forced can never be removed)"
        )),
        Some(libc::EPERM) => Error::NotRoot {
            action: action.to_string(),
        },
        Some(libc::ENOSYS) => Error::Kernel {
            action: action.to_string(),
            message: NO_MODULES.into(),
            source: err,
        },
        _ => Error::io(action, err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit;
    use crate::modinfo::ModInfo;

    fn module() -> LivepatchModule {
        LivepatchModule {
            path: "p.ko".into(),
            name: "p".into(),
            modinfo: ModInfo::parse(b"livepatch=Y\0vermagic=6.12.9 SMP\0"),
            sha256: String::new(),
        }
    }

    fn errno(e: i32) -> io::Error {
        io::Error::from_raw_os_error(e)
    }

    #[test]
    fn insert_errors_are_explained() {
        let m = module();
        let e = insert_error("load p.ko", &m, errno(libc::EEXIST));
        assert_eq!(e.exit_code(), exit::BUSY);
        assert_eq!(e.to_string(), "load p.ko: module p is already loaded");
        let e = insert_error("load p.ko", &m, errno(libc::ENOEXEC));
        assert!(e.to_string().contains("vermagic is \"6.12.9 SMP\""), "{e}");
        let e = insert_error("load p.ko", &m, errno(libc::EPERM));
        assert_eq!(e.exit_code(), exit::PERMISSION);
        let e = insert_error("load p.ko", &m, errno(libc::EBUSY));
        assert_eq!(e.exit_code(), exit::BUSY);
    }

    #[test]
    fn enosys_means_a_kernel_without_module_support() {
        let e = insert_error("load p.ko", &module(), errno(libc::ENOSYS));
        let msg = e.to_string();
        assert!(
            msg.starts_with("load p.ko: this kernel has no module support (CONFIG_MODULES"),
            "{msg}"
        );
        assert_eq!(e.exit_code(), exit::ERROR);
        let e = remove_error("remove module p", "p", errno(libc::ENOSYS));
        assert!(e.to_string().contains("CONFIG_MODULES"), "{e}");
    }

    #[test]
    fn remove_errors_are_explained() {
        let e = remove_error("remove module p", "p", errno(libc::EWOULDBLOCK));
        assert!(matches!(e, Error::Busy(_)));
        let e = remove_error("remove module p", "p", errno(libc::ENOENT));
        assert_eq!(e.to_string(), "remove module p: module p is not loaded");
        let e = remove_error("remove module p", "p", errno(libc::EPERM));
        assert_eq!(e.exit_code(), exit::PERMISSION);
    }
}

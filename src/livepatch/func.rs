// SPDX-License-Identifier: GPL-2.0

//! A function to patch: the description behind one `struct klp_func`.

use core::ffi::c_void;
use kernel::str::CStr;

/// The address of a replacement function, without its type.
///
/// Made by [`func!`](crate::func) from a function item, so patch modules
/// never handle raw pointers themselves.
///
/// # Invariants
///
/// The pointer is the address of a function with static lifetime (a function
/// of the patch module, which stays loaded while the patch uses it).
#[derive(Clone, Copy)]
pub struct NewFunc(*const c_void);

// SAFETY: the pointer is a code address that is never written through; sharing
// it between threads is as safe as sharing a function pointer.
unsafe impl Sync for NewFunc {}

impl NewFunc {
    /// Wraps the address of a replacement function.
    ///
    /// Use [`func!`](crate::func) rather than calling this directly.
    ///
    /// # Safety
    ///
    /// `addr` must be the address of a function (not data) that lives as long
    /// as the module, with the same calling convention and signature as the
    /// function it replaces.
    pub const unsafe fn from_fn_addr(addr: *const c_void) -> Self {
        // INVARIANT: the caller guarantees `addr` is a function's address.
        Self(addr)
    }

    /// The address, for `klp_func.new_func`.
    pub(crate) const fn as_ptr(self) -> *mut c_void {
        self.0.cast_mut()
    }
}

/// One function to patch: the `old_name` (and `old_sympos`) of the function to
/// replace, and its replacement.
#[derive(Clone, Copy)]
pub struct Func {
    pub(crate) old_name: &'static CStr,
    pub(crate) new_func: NewFunc,
    pub(crate) old_sympos: usize,
}

impl Func {
    /// Describes the replacement of the function named `old_name` by `new_func`.
    ///
    /// The symbol must be unique in its object; see [`Func::sympos`] if not.
    pub const fn new(old_name: &'static CStr, new_func: NewFunc) -> Self {
        Self {
            old_name,
            new_func,
            old_sympos: 0,
        }
    }

    /// Picks the `sympos`-th symbol named `old_name` in kallsyms order (1 is
    /// the first), for names that occur more than once in the object. The
    /// default, 0, requires the name to be unique.
    pub const fn sympos(self, sympos: usize) -> Self {
        Self {
            old_sympos: sympos,
            ..self
        }
    }

    /// The name of the function this entry replaces.
    pub const fn old_name(&self) -> &'static CStr {
        self.old_name
    }
}

/// Declares a [`Func`]: `func!("old_name", replacement)`, optionally followed
/// by `, sympos = N` and/or `, checked_against = path::to::original`.
///
/// `replacement` must be an `unsafe extern "C"` function of the patch module
/// with the same signature as the function named `old_name`. When the
/// original is declared in the kernel's bindings (`kernel::bindings::...`),
/// `checked_against` makes the compiler prove that: the two function items
/// must coerce to one function pointer type, which fails to compile if the
/// parameters, the return type or the ABI differ.
///
/// # Examples
///
/// ```ignore
/// static FUNCS: [klp::Func; 2] = [
///     klp::func!("cmdline_proc_show", patched_cmdline_proc_show),
///     klp::func!("msleep", patched_msleep, checked_against = kernel::bindings::msleep),
/// ];
/// ```
#[macro_export]
macro_rules! func {
    ($old_name:literal, $new_func:path $(,)?) => {
        $crate::klp::Func::new(
            ::kernel::c_str!($old_name),
            // The patch author declares it `extern "C"` with the original's signature.
            // SAFETY: `$new_func` is a function item of this module.
            unsafe { $crate::klp::NewFunc::from_fn_addr($new_func as *const ::core::ffi::c_void) },
        )
    };
    ($old_name:literal, $new_func:path, sympos = $sympos:expr $(,)?) => {
        $crate::klp::func!($old_name, $new_func).sympos($sympos)
    };
    ($old_name:literal, $new_func:path, checked_against = $original:path $(,)?) => {{
        const _: () = {
            // Both arms must coerce to one function pointer type: the
            // signatures are identical.
            let _signatures_match = if true { $original } else { $new_func };
        };
        $crate::klp::func!($old_name, $new_func)
    }};
    ($old_name:literal, $new_func:path, sympos = $sympos:expr,
     checked_against = $original:path $(,)?) => {
        $crate::klp::func!($old_name, $new_func, checked_against = $original).sympos($sympos)
    };
}

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

    /// Describes the replacement of the function named `old_name` by the
    /// function at `new_func`, with nothing checked.
    ///
    /// What [`func!`](crate::func) expands to; use the macro, which takes the
    /// function item rather than an address.
    ///
    /// # Safety
    ///
    /// Once the patch is enabled, the core sends every call of the function
    /// named `old_name` (the `sympos`-th of that name, if set) to `new_func`,
    /// so `new_func` must be the address of a function of the patch module
    /// declared `extern "C"` (usually `unsafe extern "C"`) with exactly the C
    /// prototype of that function: the same parameters, return type and
    /// calling convention. Not data (a `static`, a `const` integer), and not
    /// a Rust-ABI `fn`.
    pub const unsafe fn new_unchecked(old_name: &'static CStr, new_func: *const c_void) -> Self {
        // SAFETY: the caller guarantees that `new_func` is a function of the
        // patch module (which stays loaded while the patch uses it) with the
        // calling convention and signature of the function it replaces.
        Self::new(old_name, unsafe { NewFunc::from_fn_addr(new_func) })
    }
}

/// Whether `path`, the text of a path (`stringify!` of it), ends in the
/// segment `name`: the text after its last `::`, spaces trimmed.
///
/// For [`func!`](crate::func)'s `checked_against`, at compile time.
#[doc(hidden)]
pub const fn path_ends_in(path: &str, name: &str) -> bool {
    let path = path.as_bytes();
    let mut start = path.len();
    while start > 0 && path[start - 1] != b':' {
        start -= 1;
    }
    let mut end = path.len();
    while start < end && path[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && path[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    let name = name.as_bytes();
    if end - start != name.len() {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        if path[start + i] != name[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `path`, the text of a path (`stringify!` of it), names an item of
/// `kernel::bindings` (bindgen's declarations of the kernel's C functions):
/// `kernel::bindings::NAME` or `::kernel::bindings::NAME`, spaces ignored.
///
/// For [`func!`](crate::func)'s `checked_against`, at compile time.
#[doc(hidden)]
pub const fn path_in_bindings(path: &str) -> bool {
    const PREFIX: &[u8] = b"kernel::bindings::";
    let path = path.as_bytes();
    // The path without its spaces is compared with `PREFIX`, after an
    // optional leading `::`; what follows must be one segment.
    let mut i = 0;
    let mut matched = 0;
    let mut colons = 0;
    while i < path.len() {
        let byte = path[i];
        i += 1;
        if byte.is_ascii_whitespace() {
            continue;
        }
        if matched == 0 && colons < 2 && byte == b':' {
            // A leading `::`.
            colons += 1;
            continue;
        }
        if colons == 1 {
            return false;
        }
        if matched < PREFIX.len() {
            if byte != PREFIX[matched] {
                return false;
            }
            matched += 1;
        } else if byte == b':' {
            return false;
        }
    }
    matched == PREFIX.len()
}

/// Declares a [`Func`]: `func!("old_name", replacement)`, optionally followed
/// by `, sympos = N` and/or `, checked_against = kernel::bindings::old_name`.
///
/// `replacement` must be an `unsafe extern "C"` function of the patch module
/// with the same C prototype as the function named `old_name`. Nothing but
/// the patch author can know that of a function the kernel's bindings do not
/// declare (a `static` function of `fs/proc/cmdline.c`, say), so the plain
/// form is `unsafe`: it expands to a call of the `unsafe`
/// [`Func::new_unchecked`], and the caller writes the `unsafe` block, with
/// the prototype in its `// SAFETY:` comment:
///
/// ```ignore
/// static PATCH: Patch = Patch::new(&[Object::vmlinux(&[
///     // SAFETY: `int cmdline_proc_show(struct seq_file *m, void *v)`, and
///     // `patched_cmdline_proc_show` has it as an `unsafe extern "C" fn`.
///     unsafe { klp::func!("cmdline_proc_show", patched_cmdline_proc_show) },
/// ])]);
/// ```
///
/// When the original is declared in the kernel's bindings,
/// `checked_against = kernel::bindings::old_name` makes the compiler prove
/// it, and the form is safe: the two function items must coerce to one
/// function pointer type, which fails to compile if the parameters, the
/// return type or the ABI differ, and the path must be the one of
/// `kernel::bindings` that `old_name` names (`kernel::bindings::msleep` for
/// `"msleep"`), or it fails with "checked_against must name the function
/// old_name names". The core then replaces the one symbol of that name in
/// the object (without `sympos` it refuses a name that is not unique), so
/// put the entry in the [`Object`](super::object::Object) that defines the
/// function:
///
/// ```ignore
/// klp::func!("msleep", patched_msleep, checked_against = kernel::bindings::msleep),
/// ```
///
/// With `sympos = N` the core picks the N-th of several symbols of that name,
/// of which at most one is the function the bindings declare (the others are
/// `static` functions of other files, with prototypes of their own), so
/// `sympos` with `checked_against` still checks the signature and the name
/// but is `unsafe` again, like the plain form.
///
/// # Safety
///
/// Without `checked_against`, and with `checked_against` and `sympos`: the
/// caller guarantees that `replacement` is an `extern "C"` function (usually
/// `unsafe extern "C"`) of the patch module with exactly the C prototype of
/// the function `old_name` (and `sympos`) picks, as [`Func::new_unchecked`]
/// requires.
#[macro_export]
macro_rules! func {
    // The compile-time checks of `checked_against` (an internal rule).
    (@check $old_name:literal, $new_func:path, $original:path) => {
        const _: () = {
            // Both arms must coerce to one function pointer type: the
            // signatures are identical.
            let _signatures_match = if true { $original } else { $new_func };
            ::core::assert!(
                $crate::klp::func::path_ends_in(::core::stringify!($original), $old_name),
                ::core::concat!(
                    "checked_against must name the function old_name names: `",
                    ::core::stringify!($original),
                    "` is not `",
                    $old_name,
                    "`"
                )
            );
            ::core::assert!(
                $crate::klp::func::path_in_bindings(::core::stringify!($original)),
                ::core::concat!(
                    "checked_against must be a path into kernel::bindings \
                     (bindgen's declarations of the C functions): `",
                    ::core::stringify!($original),
                    "` is not"
                )
            );
        };
    };
    ($old_name:literal, $new_func:path $(,)?) => {
        $crate::klp::Func::new_unchecked(
            ::kernel::c_str!($old_name),
            $new_func as *const ::core::ffi::c_void,
        )
    };
    ($old_name:literal, $new_func:path, sympos = $sympos:expr $(,)?) => {
        $crate::klp::func!($old_name, $new_func).sympos($sympos)
    };
    ($old_name:literal, $new_func:path, checked_against = $original:path $(,)?) => {{
        $crate::klp::func!(@check $old_name, $new_func, $original);
        // SAFETY: `Func::new_unchecked` needs a function of this module with
        // the C prototype of the symbol the core patches. `$original` is
        // bindgen's declaration of the C function `$old_name` (checked above:
        // a path into `kernel::bindings` whose last segment is `$old_name`),
        // and `$new_func` coerces to its function pointer type (checked
        // above), so it has the same parameters, return type and ABI. Without
        // `sympos`, the core patches the one symbol of that name in the
        // object, the function the bindings declare.
        unsafe {
            $crate::klp::Func::new_unchecked(
                ::kernel::c_str!($old_name),
                $new_func as *const ::core::ffi::c_void,
            )
        }
    }};
    ($old_name:literal, $new_func:path, sympos = $sympos:expr,
     checked_against = $original:path $(,)?) => {{
        $crate::klp::func!(@check $old_name, $new_func, $original);
        $crate::klp::func!($old_name, $new_func).sympos($sympos)
    }};
}

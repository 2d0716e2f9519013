// SPDX-License-Identifier: GPL-2.0

//! Module parameters, for live patch modules and their target modules.
//!
//! Linux 6.12's `module!` macro has no `params:` field. [`module_param!`]
//! does what C's `module_param()` does: it puts a `struct kernel_param` in the
//! module's `__param` section, where the module loader finds it, so that the
//! value can be set at load time (`insmod m.ko name=value`) and, with a write
//! permission, later through `/sys/module/<module>/parameters/<name>`. It also
//! tags `.modinfo` with the parameter's type and description (`modinfo -p`).
//! [`module_param_array!`] does the same for C's `module_param_array()`: an
//! array of at most `N` values, given as `name=v1,v2,...`, and their count.
//!
//! The kernel's own parsers (`param_ops_int`, `param_ops_bool`) write the
//! value, so the Rust side keeps it in an atomic with the C type's layout and
//! reads it with [`Param::get`] (C code reads such parameters with plain or
//! `READ_ONCE()` loads).
//!
//! This file uses nothing but the `kernel` crate, so a module that is not a
//! live patch can mount it alone, where the macro expects it, `klp::param`:
//!
//! ```ignore
//! #[path = "../../src/param.rs"]
//! pub mod param;
//!
//! mod klp {
//!     pub use super::param;
//! }
//! ```

use super::kernel::char_ptr;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use kernel::bindings;
use kernel::str::CStr;

/// A Rust type a module parameter can have, with the kernel parser for it.
///
/// # Safety
///
/// `Storage` must have the size, alignment and bit validity of the C type that
/// [`ParamType::OPS`] reads and writes through `kernel_param.arg`, and allow
/// being written by that C code while shared.
pub unsafe trait ParamType: Copy {
    /// Where the value lives: an atomic of the C type.
    type Storage: Sync;

    /// The type's name in `.modinfo` (`parmtype=<param>:<TYPE_NAME>`).
    const TYPE_NAME: &'static str;

    /// The kernel's parser and printer for the C type.
    const OPS: *const bindings::kernel_param_ops;

    /// Reads the value.
    fn load(storage: &Self::Storage) -> Self;

    /// Writes the value.
    fn store(storage: &Self::Storage, value: Self);
}

// SAFETY: `AtomicI32` has the layout of C's `int`, which `param_ops_int` uses.
unsafe impl ParamType for i32 {
    type Storage = AtomicI32;
    const TYPE_NAME: &'static str = "int";
    const OPS: *const bindings::kernel_param_ops = &raw const bindings::param_ops_int;

    fn load(storage: &AtomicI32) -> i32 {
        storage.load(Ordering::Relaxed)
    }

    fn store(storage: &AtomicI32, value: i32) {
        storage.store(value, Ordering::Relaxed);
    }
}

// SAFETY: `AtomicBool` has the layout of C's `bool` (one byte, 0 or 1), which
// `param_ops_bool` uses.
unsafe impl ParamType for bool {
    type Storage = AtomicBool;
    const TYPE_NAME: &'static str = "bool";
    const OPS: *const bindings::kernel_param_ops = &raw const bindings::param_ops_bool;

    fn load(storage: &AtomicBool) -> bool {
        storage.load(Ordering::Relaxed)
    }

    fn store(storage: &AtomicBool, value: bool) {
        storage.store(value, Ordering::Relaxed);
    }
}

/// The value of a module parameter of type `T`.
///
/// Declared by [`module_param!`], which also registers it with the module
/// loader.
pub struct Param<T: ParamType> {
    value: T::Storage,
}

impl Param<i32> {
    /// An `int` parameter with a default value.
    pub const fn new(value: i32) -> Self {
        Self {
            value: AtomicI32::new(value),
        }
    }
}

impl Param<bool> {
    /// A `bool` parameter with a default value.
    pub const fn new(value: bool) -> Self {
        Self {
            value: AtomicBool::new(value),
        }
    }
}

impl<T: ParamType> Param<T> {
    /// The current value (as set at load time or through sysfs).
    pub fn get(&self) -> T {
        T::load(&self.value)
    }

    /// Changes the value, as C code does with `WRITE_ONCE()`.
    pub fn set(&self, value: T) {
        T::store(&self.value, value);
    }

    /// The address the kernel's parser writes to.
    const fn as_arg(&'static self) -> *mut c_void {
        (&raw const self.value).cast_mut().cast()
    }
}

/// The values of an array module parameter of at most `N` elements of type
/// `T`, and how many were given.
///
/// Declared by [`module_param_array!`], which also registers it with the
/// module loader.
pub struct ParamArray<T: ParamType, const N: usize> {
    elems: [T::Storage; N],
    /// The element count, which the kernel's `param_array_set()` writes
    /// (an `unsigned int`).
    count: AtomicU32,
}

impl<const N: usize> ParamArray<i32, N> {
    /// An empty array of `int`.
    pub const fn new() -> Self {
        Self {
            elems: [const { AtomicI32::new(0) }; N],
            count: AtomicU32::new(0),
        }
    }
}

impl<const N: usize> Default for ParamArray<i32, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> ParamArray<bool, N> {
    /// An empty array of `bool`.
    pub const fn new() -> Self {
        Self {
            elems: [const { AtomicBool::new(false) }; N],
            count: AtomicU32::new(0),
        }
    }
}

impl<const N: usize> Default for ParamArray<bool, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ParamType, const N: usize> ParamArray<T, N> {
    /// How many values were given (at load time or through sysfs).
    pub fn count(&self) -> usize {
        (self.count.load(Ordering::Relaxed) as usize).min(N)
    }

    /// The values given. They are atomics, so that the module can change
    /// them later, as C code changes its array.
    pub fn values(&self) -> &[T::Storage] {
        &self.elems[..self.count()]
    }

    /// The `struct kparam_array` that describes this array to the kernel's
    /// `param_array_ops`.
    pub const fn descriptor(&'static self) -> KParamArray {
        KParamArray(bindings::kparam_array {
            max: N as _,
            elemsize: core::mem::size_of::<T::Storage>() as _,
            num: self.count.as_ptr(),
            ops: T::OPS,
            elem: (&raw const self.elems).cast_mut().cast(),
        })
    }
}

/// A `struct kparam_array`, the `kernel_param.arg` of an array parameter.
///
/// Made only by [`ParamArray::descriptor`].
#[repr(transparent)]
pub struct KParamArray(bindings::kparam_array);

// SAFETY: the structure is never changed after it is built; its pointers lead
// to the array's atomics (see `ParamType`) and to the kernel's immutable
// `kernel_param_ops`.
unsafe impl Sync for KParamArray {}

/// A `struct kernel_param`, as placed in a module's `__param` section.
///
/// Made only by [`module_param!`].
#[repr(transparent)]
pub struct KernelParam(bindings::kernel_param);

// SAFETY: the structure is never changed after the module is loaded; the
// module loader and sysfs code only read it (the value it points to is an
// atomic, see `ParamType`).
unsafe impl Sync for KernelParam {}

impl KernelParam {
    /// The entry for `param`, called `name`, of `module`, with sysfs
    /// permissions `perm` (0 for none).
    ///
    /// # Safety
    ///
    /// `module` must be this module's `__this_module`, and the result must be
    /// placed in the `__param` section of that module.
    pub const unsafe fn new<T: ParamType>(
        name: &'static CStr,
        module: *mut bindings::module,
        param: &'static Param<T>,
        perm: u16,
    ) -> Self {
        // SAFETY: The caller's guarantees are passed on.
        // `param` is static storage of the type `T::OPS` handles.
        unsafe { Self::raw(name, module, T::OPS, param.as_arg(), perm) }
    }

    /// The entry for the array parameter `array`, called `name`, of `module`,
    /// with sysfs permissions `perm` (0 for none).
    ///
    /// # Safety
    ///
    /// As for [`KernelParam::new`].
    pub const unsafe fn new_array(
        name: &'static CStr,
        module: *mut bindings::module,
        array: &'static KParamArray,
        perm: u16,
    ) -> Self {
        let arg = (&raw const array.0).cast_mut().cast();
        // SAFETY: `array` is static and built by `ParamArray::descriptor`; the
        // caller's guarantees are passed on.
        // `param_array_ops` takes a `struct kparam_array`, as `arg` is.
        unsafe {
            Self::raw(
                name,
                module,
                &raw const bindings::param_array_ops,
                arg,
                perm,
            )
        }
    }

    /// The entry for storage `arg`, handled by `ops`.
    ///
    /// # Safety
    ///
    /// As for [`KernelParam::new`], and `arg` must be static storage of the
    /// type `ops` reads and writes, shareable with that C code.
    const unsafe fn raw(
        name: &'static CStr,
        module: *mut bindings::module,
        ops: *const bindings::kernel_param_ops,
        arg: *mut c_void,
        perm: u16,
    ) -> Self {
        // The checks of C's `VERIFY_OCTAL_PERMISSIONS()`.
        assert!(perm <= 0o777, "module parameter permissions are 9 bits");
        assert!(
            perm & 0o002 == 0,
            "module parameters must not be world-writable"
        );
        assert!(
            (perm >> 6) & 4 >= (perm >> 3) & 4,
            "module parameter readable by group but not by owner"
        );
        assert!(
            (perm >> 6) & 2 >= (perm >> 3) & 2,
            "module parameter writable by group but not by owner"
        );
        Self(bindings::kernel_param {
            name: char_ptr(name),
            mod_: module,
            ops,
            perm,
            // -1: a module parameter, not an early boot one.
            level: -1,
            flags: 0,
            __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 { arg },
        })
    }
}

/// The length of the NUL-terminated concatenation of `parts`.
#[doc(hidden)]
pub const fn modinfo_len(parts: &[&str]) -> usize {
    let mut len = 1;
    let mut i = 0;
    while i < parts.len() {
        len += parts[i].len();
        i += 1;
    }
    len
}

/// The NUL-terminated concatenation of `parts`, for a `.modinfo` entry; `N`
/// must be [`modinfo_len`]`(parts)`.
#[doc(hidden)]
pub const fn modinfo<const N: usize>(parts: &[&str]) -> [u8; N] {
    assert!(N == modinfo_len(parts));
    let mut out = [0u8; N];
    let mut at = 0;
    let mut i = 0;
    while i < parts.len() {
        let bytes = parts[i].as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            assert!(bytes[j] != 0, "a .modinfo entry cannot contain NUL");
            out[at] = bytes[j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// Declares a module parameter: a `static` of type [`Param<T>`](Param) and
/// its registration with the module loader.
///
/// The type is `i32` (C `int`) or `bool`. `perm` are the permissions of
/// `/sys/module/<module>/parameters/<name>` (0 for no file; never
/// world-writable), `description` is shown by `modinfo -p`.
///
/// # Examples
///
/// ```ignore
/// klp::module_param! {
///     /// What `pre_patch` returns: 0, or a negative errno to make it fail.
///     static PRE_PATCH_RET: i32 = 0,
///         name: "pre_patch_ret", perm: 0o644, description: "pre_patch_ret (default=0)";
/// }
///
/// if PRE_PATCH_RET.get() != 0 { ... }
/// ```
#[macro_export]
macro_rules! module_param {
    (
        $(#[$meta:meta])*
        $vis:vis static $ident:ident: $ty:ty = $default:expr,
            name: $name:literal, perm: $perm:expr, description: $desc:literal $(;)?
    ) => {
        $(#[$meta])*
        $vis static $ident: $crate::klp::param::Param<$ty> =
            $crate::klp::param::Param::<$ty>::new($default);

        // The entries live in a module named after the static (modules and
        // statics have separate namespaces). They are `pub` and
        // `used(compiler)`, as the `module!` macro's `.modinfo` entries are, so
        // that rustc gives their sections the same flags and modpost, which
        // reads one `.modinfo` section per object, finds them all (with
        // `#[used]` they got sections of their own, flagged SHF_GNU_RETAIN,
        // and modpost could miss the license).
        #[doc(hidden)]
        #[allow(non_snake_case)]
        pub mod $ident {
            #[link_section = "__param"]
            #[used]
            #[doc(hidden)]
            pub static PARAM: $crate::klp::param::KernelParam =
                // SAFETY: `__this_module` is this module's `struct module`, and this
                // entry is placed in its `__param` section (`link_section`).
                // the module and the placement are as `new` requires.
                unsafe {
                    $crate::klp::param::KernelParam::new::<$ty>(
                        ::kernel::c_str!($name),
                        &raw mut ::kernel::bindings::__this_module,
                        &super::$ident,
                        $perm,
                    )
                };

            $crate::__param_modinfo!($name, ":", $ty, $desc);
        }
    };
}

/// Declares an array module parameter, like C's
/// `module_param_array(name, type, &count, perm)`: a `static` of type
/// [`ParamArray<T, N>`](ParamArray) and its registration with the module
/// loader.
///
/// The element type is `i32` (C `int`, `.modinfo` type `array of int`) or
/// `bool`; `N` is the most values the parameter takes. `perm` and
/// `description` are as for [`module_param!`].
///
/// # Examples
///
/// ```ignore
/// klp::module_param_array! {
///     /// The tasks to watch.
///     static KLP_PIDS: [i32; MAX_PIDS],
///         name: "klp_pids", perm: 0, description: "Array of pids";
/// }
///
/// for pid in KLP_PIDS.values() { ... }
/// ```
#[macro_export]
macro_rules! module_param_array {
    (
        $(#[$meta:meta])*
        $vis:vis static $ident:ident: [$ty:ty; $len:expr],
            name: $name:literal, perm: $perm:expr, description: $desc:literal $(;)?
    ) => {
        $(#[$meta])*
        $vis static $ident: $crate::klp::param::ParamArray<$ty, { $len }> =
            $crate::klp::param::ParamArray::<$ty, { $len }>::new();

        // As in `module_param!`.
        #[doc(hidden)]
        #[allow(non_snake_case)]
        pub mod $ident {
            #[doc(hidden)]
            pub static ARRAY: $crate::klp::param::KParamArray = super::$ident.descriptor();

            #[link_section = "__param"]
            #[used]
            #[doc(hidden)]
            pub static PARAM: $crate::klp::param::KernelParam =
                // SAFETY: `__this_module` is this module's `struct module`, and this
                // entry is placed in its `__param` section (`link_section`).
                // the module and the placement are as `new_array` requires.
                unsafe {
                    $crate::klp::param::KernelParam::new_array(
                        ::kernel::c_str!($name),
                        &raw mut ::kernel::bindings::__this_module,
                        &ARRAY,
                        $perm,
                    )
                };

            $crate::__param_modinfo!($name, ":array of ", $ty, $desc);
        }
    };
}

/// The two `.modinfo` entries of a module parameter, as C's
/// `__MODULE_PARM_TYPE()` and `MODULE_PARM_DESC()` write them:
/// `parmtype=NAME<sep>TYPE` and `parm=NAME:DESCRIPTION`. For
/// [`module_param!`] and [`module_param_array!`] (`sep` is `":"` or
/// `":array of "`).
#[doc(hidden)]
#[macro_export]
macro_rules! __param_modinfo {
    ($name:literal, $sep:literal, $ty:ty, $desc:literal) => {
        const TYPE: &[&str] = &[
            "parmtype=",
            $name,
            $sep,
            <$ty as $crate::klp::param::ParamType>::TYPE_NAME,
        ];
        #[link_section = ".modinfo"]
        #[used(compiler)]
        #[doc(hidden)]
        pub static PARMTYPE: [u8; $crate::klp::param::modinfo_len(TYPE)] =
            $crate::klp::param::modinfo(TYPE);

        const DESC: &[&str] = &["parm=", $name, ":", $desc];
        #[link_section = ".modinfo"]
        #[used(compiler)]
        #[doc(hidden)]
        pub static PARM: [u8; $crate::klp::param::modinfo_len(DESC)] =
            $crate::klp::param::modinfo(DESC);
    };
}

// SPDX-License-Identifier: GPL-2.0

//! Module parameters, as C's `module_param()` and `module_param_array()`
//! declare them.
//!
//! Linux 6.12's `module!` macro has no `params` field, and the kernel crate
//! has no other way to declare a module parameter. The kernel's test modules
//! take parameters (`replace=1`, `pre_patch_ret=-19`, `block_transition=Y`,
//! `klp_pids=...`) and some are written through
//! `/sys/module/<module>/parameters/`, so the Rust ports declare them here the
//! way the C macros do:
//!
//! - a `struct kernel_param` in the `__param` section, which the module
//!   loader parses the `insmod` arguments into and, for a non-zero
//!   permission, exposes in sysfs;
//! - the `parm=` and `parmtype=` `.modinfo` strings that `modinfo` shows.
//!
//! The values are kept in atomics of the C type's size. The kernel's
//! `param_set_*()` functions write them with plain stores (under the module's
//! parameter lock), the module reads them with relaxed loads: the kernel's
//! `READ_ONCE()` pattern, which is what the C test modules rely on too.
//!
//! Use [`module_param!`] for an `int` or `bool`, and [`module_param_array!`]
//! for an array of `int`.

use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use kernel::bindings;
use kernel::str::CStr;

/// The value of an `int` parameter.
#[repr(transparent)]
pub struct IntParam(AtomicI32);

impl IntParam {
    /// A parameter whose value is `value` unless given at load time.
    pub const fn new(value: i32) -> Self {
        Self(AtomicI32::new(value))
    }

    /// The current value.
    pub fn get(&self) -> i32 {
        self.0.load(Ordering::Relaxed)
    }

    /// The storage address, for `kernel_param.arg`.
    pub const fn as_arg(&'static self) -> *mut c_void {
        self.0.as_ptr().cast()
    }
}

/// The value of a `bool` parameter.
#[repr(transparent)]
pub struct BoolParam(AtomicBool);

impl BoolParam {
    /// A parameter whose value is `value` unless given at load time.
    pub const fn new(value: bool) -> Self {
        Self(AtomicBool::new(value))
    }

    /// The current value.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Changes the value, as a write to the sysfs file would.
    pub fn set(&self, value: bool) {
        self.0.store(value, Ordering::Relaxed)
    }

    /// The storage address, for `kernel_param.arg`.
    pub const fn as_arg(&'static self) -> *mut c_void {
        self.0.as_ptr().cast()
    }
}

/// The values of an array-of-`int` parameter of at most `N` elements, and
/// how many were given.
pub struct IntArrayParam<const N: usize> {
    elems: [AtomicI32; N],
    count: AtomicU32,
}

impl<const N: usize> IntArrayParam<N> {
    /// An empty array.
    pub const fn new() -> Self {
        Self {
            elems: [const { AtomicI32::new(0) }; N],
            count: AtomicU32::new(0),
        }
    }

    /// How many values were given at load time.
    pub fn count(&self) -> usize {
        (self.count.load(Ordering::Relaxed) as usize).min(N)
    }

    /// The values given at load time. They are atomics, so a module may
    /// change them later as its C original changes its array.
    pub fn values(&self) -> &[AtomicI32] {
        &self.elems[..self.count()]
    }

    /// The `struct kparam_array` that describes this array to the kernel.
    pub const fn descriptor(&'static self) -> KParamArray {
        KParamArray(bindings::kparam_array {
            max: N as _,
            elemsize: core::mem::size_of::<AtomicI32>() as _,
            num: self.count.as_ptr(),
            ops: &raw const bindings::param_ops_int,
            elem: self.elems.as_ptr().cast_mut().cast(),
        })
    }
}

impl<const N: usize> Default for IntArrayParam<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A `struct kparam_array`, built by [`IntArrayParam::descriptor`].
#[repr(transparent)]
pub struct KParamArray(bindings::kparam_array);

// SAFETY: the pointers lead to the array's atomics and the kernel's immutable
// `param_ops_int`; the kernel reads the structure under its parameter lock.
unsafe impl Sync for KParamArray {}

/// One `struct kernel_param`, as placed in the `__param` section.
#[repr(transparent)]
pub struct KernelParam(bindings::kernel_param);

// SAFETY: the structure is only read, by the module loader and the sysfs
// parameter code; the storage it points to is atomics (see the module doc).
unsafe impl Sync for KernelParam {}

impl KernelParam {
    /// Describes the parameter `name` of the module `module`, handled by
    /// `ops`, with sysfs permission `perm` (0: not in sysfs).
    ///
    /// # Safety
    ///
    /// `arg` must be storage of the type `ops` reads and writes (an `int` for
    /// `param_ops_int`, a `bool` for `param_ops_bool`, a `kparam_array` for
    /// `param_array_ops`), valid for as long as the module is loaded, and
    /// `module` must be the module's own `__this_module`.
    pub const unsafe fn new(
        name: &'static CStr,
        module: *mut bindings::module,
        ops: *const bindings::kernel_param_ops,
        perm: u16,
        arg: *mut c_void,
    ) -> Self {
        Self(bindings::kernel_param {
            name: name.as_char_ptr(),
            mod_: module,
            ops,
            perm,
            // `module_param()` uses level -1; levels only matter for built-ins.
            level: -1,
            flags: 0,
            __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 { arg },
        })
    }
}

/// Copies a `.modinfo` string (with its NUL) into an array of its length.
pub const fn modinfo<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N && i < bytes.len() {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// Emits the `struct kernel_param` and the `.modinfo` strings of one
/// parameter. Used by [`module_param!`] and [`module_param_array!`].
#[macro_export]
macro_rules! __module_param_raw {
    ($name:literal, $perm:expr, $desc:literal, $type:literal, $ops:expr, $arg:expr) => {
        const _: () = {
            // Only the module's address is taken, never its contents.
            #[allow(improper_ctypes)]
            extern "C" {
                static __this_module: ::kernel::types::Opaque<::kernel::bindings::module>;
            }

            #[link_section = "__param"]
            #[used]
            static PARAM: $crate::param::KernelParam =
                // SAFETY: `$arg` is the static storage `$ops` expects (the
                // macros pair them), and `__this_module` is this module's.
                unsafe {
                    $crate::param::KernelParam::new(
                        ::kernel::c_str!($name),
                        (&raw const __this_module).cast::<::kernel::bindings::module>().cast_mut(),
                        $ops,
                        $perm,
                        $arg,
                    )
                };

            const PARM: &str = concat!("parm=", $name, ":", $desc, "\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARM_INFO: [u8; PARM.len()] = $crate::param::modinfo(PARM);

            const PARMTYPE: &str = concat!("parmtype=", $name, ":", $type, "\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARMTYPE_INFO: [u8; PARMTYPE.len()] = $crate::param::modinfo(PARMTYPE);
        };
    };
}

/// Declares a module parameter, like C's `module_param()` and
/// `MODULE_PARM_DESC()`:
///
/// ```ignore
/// static REPLACE: IntParam = IntParam::new(0);
/// module_param!(REPLACE: int, "replace", 0o644, "replace (default=0)");
///
/// static BLOCK: BoolParam = BoolParam::new(false);
/// module_param!(BLOCK: bool, "block_transition", 0o644, "block_transition (default=false)");
/// ```
#[macro_export]
macro_rules! module_param {
    ($storage:ident: int, $name:literal, $perm:expr, $desc:literal) => {
        $crate::__module_param_raw!(
            $name,
            $perm,
            $desc,
            "int",
            &raw const ::kernel::bindings::param_ops_int,
            $crate::param::IntParam::as_arg(&$storage)
        );
    };
    ($storage:ident: bool, $name:literal, $perm:expr, $desc:literal) => {
        $crate::__module_param_raw!(
            $name,
            $perm,
            $desc,
            "bool",
            &raw const ::kernel::bindings::param_ops_bool,
            $crate::param::BoolParam::as_arg(&$storage)
        );
    };
}

/// Declares an array-of-`int` module parameter, like C's
/// `module_param_array(name, int, &count, perm)`:
///
/// ```ignore
/// static PIDS: IntArrayParam<4> = IntArrayParam::new();
/// module_param_array!(PIDS: int, "klp_pids", 0, "Array of pids");
/// ```
#[macro_export]
macro_rules! module_param_array {
    ($storage:ident: int, $name:literal, $perm:expr, $desc:literal) => {
        const _: () = {
            static ARRAY: $crate::param::KParamArray = $storage.descriptor();
            $crate::__module_param_raw!(
                $name,
                $perm,
                $desc,
                "array of int",
                &raw const ::kernel::bindings::param_array_ops,
                (&raw const ARRAY).cast_mut().cast()
            );
        };
    };
}

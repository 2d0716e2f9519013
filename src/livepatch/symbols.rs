// SPDX-License-Identifier: GPL-2.0

//! Symbols of a patched object that its kernel does not export: the
//! `static` functions and variables a real fix has to reach.
//!
//! A C live patch reaches them through *livepatch relocations* (the kernel's
//! `Documentation/livepatch/module-elf-format.rst`): relocations in
//! `.klp.rela.<object>.<section>` sections against symbols named
//! `.klp.sym.<object>.<symbol>,<sympos>`, which the livepatch core resolves
//! through kallsyms and writes when the patch is enabled, or when the
//! patched module loads later. Nothing is looked up by the module itself.
//!
//! [`symbols!`](crate::symbols) declares such symbols for Rust. Each use in
//! the code (a call, the address of a variable) compiles to an ordinary
//! relocation against the `.klp.sym.*` name, left undefined and weak so that
//! modpost does not report it; the build's post-link step
//! (`tools/klp-post-link`, run by `scripts/build/modules.sh`) then moves
//! these relocations into the livepatch relocation sections and marks the
//! symbols `SHN_LIVEPATCH`, as the kernel's own `objtool klp post-link` does
//! for `klp-build`. Calls stay direct `call` instructions, so they work on
//! kernels with indirect branch tracking, whose sealed functions have no
//! `ENDBR` to land on.
//!
//! # When the symbols are there
//!
//! The core writes an object's relocations before anything of the patch can
//! run for that object: for vmlinux when the patch is enabled, for a module
//! when the module comes (and it clears them when the module goes), each time
//! before the object's `pre_patch` callback. So a replacement function of an
//! object, or a callback of that object, may use that object's symbols. The
//! post-link step refuses a module whose symbols belong to an object its
//! patch does not list: the core would never write those relocations.
//! Module init and exit, and code of another object, must not use them.
//!
//! # Examples
//!
//! ```ignore
//! klp::symbols! {
//!     /// What fs/proc/version.c and kernel/panic.c keep to themselves.
//!     // SAFETY: the C definitions, in every kernel this module is built for:
//!     // `static int version_proc_show(struct seq_file *m, void *v)` in
//!     // fs/proc/version.c and `static unsigned int oops_limit` in
//!     // kernel/panic.c, each the only symbol of its name in vmlinux.
//!     unsafe mod vmlinux_syms in "vmlinux" {
//!         fn version_proc_show(m: *mut bindings::seq_file, v: *mut c_void) -> c_int;
//!         static oops_limit: c_uint;
//!     }
//! }
//!
//! unsafe extern "C" fn patched_show(m: *mut bindings::seq_file, v: *mut c_void) -> c_int {
//!     // SAFETY: a replacement function of vmlinux, so vmlinux's relocations
//!     // are written; `m` and `v` are what `version_proc_show` takes.
//!     unsafe { vmlinux_syms::version_proc_show(m, v) };
//!     // SAFETY: a replacement function of vmlinux, so the relocation of
//!     // `oops_limit` is written; it is an `unsigned int` the kernel reads
//!     // locklessly too (`READ_ONCE`).
//!     let limit = unsafe { vmlinux_syms::oops_limit().read_volatile() };
//!     0
//! }
//! ```

/// Checks, at compile time, what the core would refuse in a livepatch
/// symbol's name: the object is `vmlinux` or a module name of at most 55
/// letters, digits and `_`; the symbol's name has 1 to 511 bytes and no `,`.
pub const fn check_name(object: &str, symbol: &str) {
    let object = object.as_bytes();
    if object.is_empty() || object.len() >= 56 {
        panic!("klp::symbols!: an object name has 1 to 55 characters");
    }
    let mut i = 0;
    while i < object.len() {
        let b = object[i];
        if !(b.is_ascii_alphanumeric() || b == b'_') {
            panic!("klp::symbols!: an object is `vmlinux` or a module name (letters, digits, `_`)");
        }
        i += 1;
    }
    let symbol = symbol.as_bytes();
    if symbol.is_empty() || symbol.len() >= 512 {
        panic!("klp::symbols!: a symbol name has 1 to 511 characters (KSYM_NAME_LEN)");
    }
    let mut i = 0;
    while i < symbol.len() {
        if symbol[i] == b',' {
            panic!("klp::symbols!: a symbol name has no `,`");
        }
        i += 1;
    }
}

/// Declares functions and variables of a patched object (vmlinux or a
/// module) that its kernel does not export, for the object's replacement
/// functions and callbacks to use through livepatch relocations (see the
/// [module documentation](self)).
///
/// ```ignore
/// klp::symbols! {
///     // SAFETY: (why each declaration is the C definition)
///     [pub] unsafe mod NAME in "OBJECT" {
///         fn c_function(arg: Type, ...) [-> Ret] [= "c.name"] [, sympos = N];
///         static c_variable: Type [= "c.name"] [, sympos = N];
///     }
/// }
/// ```
///
/// `NAME::c_function` becomes a `pub(crate) unsafe fn` with that prototype that calls
/// the C function directly; `NAME::c_variable()` a safe `pub(crate) fn` returning the
/// variable's address as `*mut Type`. `= "c.name"` gives the symbol's name in
/// kallsyms where it is no Rust identifier (e.g. a compiler's
/// `name.isra.0`); `sympos = N` picks the N-th symbol of that name in the
/// object (kallsyms order, from 1) where the name is not unique. Without it
/// the name must be unique, or the core refuses the patch at `insmod` with
/// "unresolvable ambiguity".
///
/// # Safety
///
/// The `unsafe` before `mod` is the caller's promise, to be argued in a
/// `// SAFETY:` comment: each declaration is exactly the C definition it
/// names (the prototype with its ABI; the variable's type), in every kernel
/// the module is built for, and `sympos` picks that definition. Nothing can
/// check it: a static symbol is in no header.
///
/// Calling a function, or dereferencing a variable's address, additionally
/// needs that the object's relocations are written (a replacement function
/// or a callback of that object, see the module documentation) and the C
/// code's own rules (arguments, context, locking), stated at each call.
#[macro_export]
macro_rules! symbols {
    (
        $(#[$attr:meta])*
        $vis:vis unsafe mod $module:ident in $object:literal { $($items:tt)* }
    ) => {
        $(#[$attr])*
        $vis mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::klp::symbols!(@items $object; $($items)*);
        }
    };

    (@items $object:literal;) => {};
    (@items $object:literal;
        $(#[doc = $doc:expr])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
            $(= $c_name:literal)? $(, sympos = $sympos:literal)?;
        $($rest:tt)*
    ) => {
        $crate::klp::symbols!(@weak $object, $name $(= $c_name)? $(, $sympos)?);
        $(#[doc = $doc])*
        #[inline(always)]
        pub(crate) unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
            // Like the kernel's bindings: C structures that are empty in
            // some configurations (`lockdep_map`) are not "FFI-safe", but
            // they are only passed behind pointers.
            #[allow(improper_ctypes)]
            unsafe extern "C" {
                #[link_name = $crate::klp::symbols!(@link_name $object, $name $(= $c_name)? $(, $sympos)?)]
                fn $name($($arg: $ty),*) $(-> $ret)?;
            }
            // SAFETY: the caller of this `unsafe fn` upholds the C
            // function's contract and calls it where the object's
            // relocations are written; the declaration above is the C
            // prototype, as the caller of `symbols!` promised.
            unsafe { $name($($arg),*) }
        }
        $crate::klp::symbols!(@items $object; $($rest)*);
    };
    (@items $object:literal;
        $(#[doc = $doc:expr])*
        static $name:ident: $ty:ty $(= $c_name:literal)? $(, sympos = $sympos:literal)?;
        $($rest:tt)*
    ) => {
        $crate::klp::symbols!(@weak $object, $name $(= $c_name)? $(, $sympos)?);
        $(#[doc = $doc])*
        ///
        /// The variable's address. Reading or writing through it is
        /// `unsafe`: only where the object's relocations are written, under
        /// the C code's locking rules for the variable.
        #[inline(always)]
        pub(crate) fn $name() -> *mut $ty {
            #[allow(improper_ctypes)] // as for functions
            unsafe extern "C" {
                // In an `UnsafeCell` (of the same layout): C code changes it.
                #[link_name = $crate::klp::symbols!(@link_name $object, $name $(= $c_name)? $(, $sympos)?)]
                static VARIABLE: ::core::cell::UnsafeCell<$ty>;
            }
            ::core::cell::UnsafeCell::raw_get(&raw const VARIABLE)
        }
        $crate::klp::symbols!(@items $object; $($rest)*);
    };

    // The compile-time check of the name, and the symbol made weak, so that
    // modpost does not report it as undefined.
    (@weak $object:literal, $name:ident $(= $c_name:literal)? $(, $sympos:literal)?) => {
        $crate::klp::symbols!(@check $object, $name $(= $c_name)?);
        ::core::arch::global_asm!(::core::concat!(
            ".weak \"",
            $crate::klp::symbols!(@link_name $object, $name $(= $c_name)? $(, $sympos)?),
            "\"",
        ));
    };
    // `.klp.sym.<object>.<symbol>,<sympos>`.
    (@link_name $object:literal, $name:ident $(, $sympos:literal)?) => {
        ::core::concat!(
            ".klp.sym.", $object, ".", ::core::stringify!($name), ",",
            $crate::klp::symbols!(@sympos $($sympos)?)
        )
    };
    (@link_name $object:literal, $name:ident = $c_name:literal $(, $sympos:literal)?) => {
        ::core::concat!(
            ".klp.sym.", $object, ".", $c_name, ",",
            $crate::klp::symbols!(@sympos $($sympos)?)
        )
    };
    (@sympos) => { "0" };
    (@sympos $sympos:literal) => { ::core::stringify!($sympos) };
    (@check $object:literal, $name:ident) => {
        const _: () = $crate::klp::symbols::check_name($object, ::core::stringify!($name));
    };
    (@check $object:literal, $name:ident = $c_name:literal) => {
        const _: () = $crate::klp::symbols::check_name($object, $c_name);
    };
}

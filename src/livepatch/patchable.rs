// SPDX-License-Identifier: GPL-2.0

//! Rust functions a live patch can replace.
//!
//! The livepatch core redirects a function through ftrace, which needs a
//! `call __fentry__` as the function's first instruction (after `endbr64`),
//! recorded in the object's `__mcount_loc` section. C code gets both from the
//! compiler (`-pg -mfentry`, and `-mrecord-mcount` or objtool's `--mcount`);
//! rustc has no `-mfentry`, so an ordinary Rust function cannot be live
//! patched: enabling a patch for it fails with "failed to find location for
//! function".
//!
//! [`patchable!`] gives a Rust function the entry C functions have. It writes
//! an entry stub in assembly under the function's C name that starts like a C
//! function (`endbr64; call __fentry__`), sets up a frame and calls the Rust
//! body, and a safe Rust function of the same name that calls the stub. The
//! stub is recorded for ftrace as C code is on the same kernel:
//!
//! | kernel | who records the `__fentry__` call |
//! | --- | --- |
//! | `CONFIG_FTRACE_MCOUNT_USE_OBJTOOL` (clang-built, e.g. the 6.12 test kernel) | objtool, as for C code |
//! | `CONFIG_FTRACE_MCOUNT_USE_CC` (GCC-built, e.g. every Debian kernel) | the stub itself: it emits its `__mcount_loc` entry, as `gcc -mrecord-mcount` does |
//!
//! Other kernels (no `CONFIG_DYNAMIC_FTRACE`, or another way of recording
//! call sites) are refused at compile time. With `CONFIG_CALL_PADDING` (call
//! depth tracking) the stub has the padding before its entry that the kernel
//! patches with its call thunk, as C functions do. kallsyms lists the stub
//! under the C name, and a live patch replaces it by that name.
//!
//! The stub *calls* the body rather than jumping to it, so that while the body
//! runs, the stub's return address is on the stack: the livepatch consistency
//! model finds a task that is inside the function when it checks the task's
//! stack for the patched function's address range (a task sleeping in the
//! body blocks the transition, as it would in a C function).
//!
//! It is meant for the modules that live patches target, not for the live
//! patches themselves. It uses nothing but `core`, so a module that is not a
//! live patch can mount it alone:
//!
//! ```ignore
//! #[path = "../../src/patchable.rs"]
//! pub mod patchable;
//! ```

/// Defines a function that live patches can replace: an entry stub with the C
/// name `name` and an ftrace entry, which calls `body`, and a Rust function
/// `name` that calls the stub.
///
/// `body` must be an `extern "C"` function with exactly the same signature
/// (checked at compile time); it holds the code and is not called directly,
/// so that every call goes through the patchable entry. To pass an object's
/// ownership, take or return an owning pointer such as `KBox<T>` (a plain
/// pointer in the C ABI; `Option<KBox<T>>` a nullable one) rather than a raw
/// pointer: then neither the function nor its replacements need `unsafe`.
/// For a function taking raw pointers, declare both `unsafe`.
///
/// The stub passes the argument and return registers through untouched, so
/// every argument must travel in a register and the value come back in
/// `rax`: at most six arguments, each at most 8 bytes (an integer, a pointer,
/// a reference, `KBox<T>`), and a return value of at most 8 bytes. Each of
/// these is checked at compile time; a larger argument or return value
/// (passed on the stack or through a hidden pointer, where the stub's own
/// frame would be in the way) does not build. x86_64 only, like the rest of
/// klp-rs.
///
/// # Examples
///
/// ```ignore
/// klp::patchable! {
///     /// Tells whether `d` has expired at `now`.
///     pub extern "C" fn dummy_check(d: &Dummy, now: c_ulong) -> bool = dummy_check_body;
/// }
///
/// extern "C" fn dummy_check_body(d: &Dummy, now: c_ulong) -> bool {
///     time_after(now, d.jiffies_expire)
/// }
///
/// // Callers call `dummy_check(&d, now)`, through the patchable entry.
/// ```
#[macro_export]
macro_rules! patchable {
    (
        $(#[$meta:meta])*
        $vis:vis unsafe extern "C" fn $name:ident($($arg:ident: $argty:ty),* $(,)?)
            $(-> $ret:ty)? = $body:path;
    ) => {
        $crate::patchable!(@stub [$(#[$meta])*] [$vis] [unsafe] $name
            [$($arg: $argty),*] [$($ret)?] $body);
    };
    (
        $(#[$meta:meta])*
        $vis:vis extern "C" fn $name:ident($($arg:ident: $argty:ty),* $(,)?)
            $(-> $ret:ty)? = $body:path;
    ) => {
        $crate::patchable!(@stub [$(#[$meta])*] [$vis] [] $name
            [$($arg: $argty),*] [$($ret)?] $body);
    };
    (
        @stub [$($meta:tt)*] [$vis:vis] [$($unsafe:tt)?] $name:ident
            [$($arg:ident: $argty:ty),*] [$($ret:ty)?] $body:path
    ) => {
        // The entry stub, in the module's text: padding for the call thunk
        // where the kernel has call padding, then what a C function compiled
        // with `-mfentry` starts with, and a frame around the call of `body`.
        ::core::arch::global_asm!(
            ".pushsection .text,\"ax\",@progbits",
            ".p2align 4, 0x90",
            $crate::__klp_patchable_padding!(),
            ::core::concat!(".globl ", ::core::stringify!($name)),
            ::core::concat!(".type ", ::core::stringify!($name), ", @function"),
            ::core::concat!(::core::stringify!($name), ":"),
            "endbr64",
            "1: call __fentry__",
            $crate::__klp_patchable_mcount_loc!(),
            "push rbp",
            "mov rbp, rsp",
            "call {body}",
            "pop rbp",
            $crate::__klp_patchable_ret!(),
            "int3",
            ::core::concat!(".size ", ::core::stringify!($name), ", . - ", ::core::stringify!($name)),
            ".popsection",
            body = sym $body,
        );

        $($meta)*
        ///
        /// Live patchable: calls an entry stub with `call __fentry__`, named
        #[doc = ::core::concat!("`", ::core::stringify!($name), "` in kallsyms, which calls")]
        #[doc = ::core::concat!("`", ::core::stringify!($body), "`.")]
        // Unused where only C calls the function, through `entry`.
        #[allow(dead_code)]
        #[inline(always)]
        $vis $($unsafe)? fn $name($($arg: $argty),*) $(-> $ret)? {
            // SAFETY: `entry` is the stub written above. It keeps the
            // argument registers for `body` (ftrace's `__fentry__` and a live
            // patch's redirection preserve them), keeps the stack 16-byte
            // aligned for the call (return address + saved `rbp`) and returns
            // what `body` returns in `rax`. `body` has exactly this signature
            // in the C ABI (the `const` below does not build otherwise), and
            // every argument and the return value travel in registers (the
            // size asserts below), so `body` sees the arguments given here.
            // Calling it has `body`'s own contract: none for a safe `body`;
            // for an `unsafe` one, the caller of this `unsafe fn` keeps it.
            unsafe { $name::entry($($arg),*) }
        }

        #[doc = ::core::concat!("The entry stub of [`", ::core::stringify!($name), "()`].")]
        #[allow(dead_code)]
        pub(crate) mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(improper_ctypes)] // the stub passes pointers on; it never reads through them
            extern "C" {
                /// The entry stub itself, for C code that takes a function
                /// pointer (a `proc_ops` show function, a callback table):
                /// calls through it reach the live patch too. Calling it
                /// from Rust is `unsafe` only because it is foreign; its
                /// contract is the body's.
                #[link_name = ::core::stringify!($name)]
                pub(crate) fn entry($($arg: $argty),*) $(-> $ret)?;
            }
        }

        const _: $($unsafe)? extern "C" fn($($argty),*) $(-> $ret)? = $body;
        const _: () = ::core::assert!(
            [$(::core::stringify!($arg)),*].len() <= 6,
            "a patchable function takes at most six arguments (the rest would be on the stack)"
        );
        $(
            const _: () = ::core::assert!(
                ::core::mem::size_of::<$argty>() <= 8,
                ::core::concat!(
                    "argument `", ::core::stringify!($arg), ": ", ::core::stringify!($argty),
                    "` of a patchable function is larger than 8 bytes (it would be passed ",
                    "on the stack or in two registers): pass a reference or a `KBox` instead"
                )
            );
        )*
        $(
            const _: () = ::core::assert!(
                ::core::mem::size_of::<$ret>() <= 8,
                ::core::concat!(
                    "the return type `", ::core::stringify!($ret), "` of a patchable function ",
                    "is larger than 8 bytes (it would be returned through a hidden pointer ",
                    "argument): return a `KBox` instead"
                )
            );
        )?
    };
}

/// The return instruction of a [`patchable!`] stub: through the return thunk
/// when the kernel has return thunks (`CONFIG_MITIGATION_RETHUNK`), as
/// objtool requires.
#[cfg(CONFIG_MITIGATION_RETHUNK)]
#[doc(hidden)]
#[macro_export]
macro_rules! __klp_patchable_ret {
    () => {
        "jmp __x86_return_thunk"
    };
}

/// The return instruction of a [`patchable!`] stub: a plain `ret` when the
/// kernel has no return thunks.
#[cfg(not(CONFIG_MITIGATION_RETHUNK))]
#[doc(hidden)]
#[macro_export]
macro_rules! __klp_patchable_ret {
    () => {
        "ret"
    };
}

/// The `__mcount_loc` entry of a [`patchable!`] stub's `call __fentry__`
/// (label `1`): on a kernel whose C compiler records its call sites
/// (`-mrecord-mcount`), the stub records its own, as the compiler would.
#[cfg(all(CONFIG_DYNAMIC_FTRACE, CONFIG_FTRACE_MCOUNT_USE_CC))]
#[doc(hidden)]
#[macro_export]
macro_rules! __klp_patchable_mcount_loc {
    () => {
        ".pushsection __mcount_loc, \"a\", @progbits\n.balign 8\n.quad 1b\n.popsection"
    };
}

/// The `__mcount_loc` entry of a [`patchable!`] stub: nothing where objtool
/// records every `__fentry__` call of the object (`--mcount`), the stub's
/// included.
#[cfg(all(CONFIG_DYNAMIC_FTRACE, CONFIG_FTRACE_MCOUNT_USE_OBJTOOL))]
#[doc(hidden)]
#[macro_export]
macro_rules! __klp_patchable_mcount_loc {
    () => {
        ""
    };
}

/// On any other kernel a [`patchable!`] stub could not be found by ftrace, so
/// it is refused at compile time.
#[cfg(not(all(
    CONFIG_DYNAMIC_FTRACE,
    any(CONFIG_FTRACE_MCOUNT_USE_CC, CONFIG_FTRACE_MCOUNT_USE_OBJTOOL)
)))]
#[doc(hidden)]
#[macro_export]
macro_rules! __klp_patchable_mcount_loc {
    () => {
        ::core::compile_error!(
            "klp::patchable! needs a kernel with CONFIG_DYNAMIC_FTRACE whose __fentry__ \
             calls are recorded by the compiler (CONFIG_FTRACE_MCOUNT_USE_CC) or by objtool \
             (CONFIG_FTRACE_MCOUNT_USE_OBJTOOL)"
        )
    };
}

/// The padding before a [`patchable!`] stub's entry where the kernel has
/// `CONFIG_CALL_PADDING`: `CONFIG_FUNCTION_PADDING_BYTES` single-byte NOPs,
/// as `-fpatchable-function-entry=N,N` gives C functions. The call-depth
/// tracking code writes a call thunk there and checks that it finds NOPs.
#[cfg(all(CONFIG_CALL_PADDING, CONFIG_FUNCTION_PADDING_BYTES = "16"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __klp_patchable_padding {
    () => {
        ".rept 16\nnop\n.endr"
    };
}

/// No padding before a [`patchable!`] stub's entry: the kernel has no
/// `CONFIG_CALL_PADDING`.
#[cfg(not(CONFIG_CALL_PADDING))]
#[doc(hidden)]
#[macro_export]
macro_rules! __klp_patchable_padding {
    () => {
        ""
    };
}

/// Call padding of another size (kCFI kernels) is not supported.
#[cfg(all(CONFIG_CALL_PADDING, not(CONFIG_FUNCTION_PADDING_BYTES = "16")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __klp_patchable_padding {
    () => {
        ::core::compile_error!(
            "klp::patchable! supports CONFIG_CALL_PADDING only with 16 bytes of padding \
             (CONFIG_FUNCTION_PADDING_BYTES=16; kCFI kernels are not supported)"
        )
    };
}

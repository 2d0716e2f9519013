// SPDX-License-Identifier: GPL-2.0

//! Rust functions a live patch can replace.
//!
//! The livepatch core redirects a function through ftrace, which needs a
//! `call __fentry__` as the function's first instruction (after `endbr64`).
//! C code gets it from the compiler (`-pg -mfentry`); Linux 6.12 builds Rust
//! code without it, and rustc has no `-mfentry` equivalent, so an ordinary
//! Rust function cannot be live patched: enabling a patch for it fails with
//! "failed to find location for function".
//!
//! [`patchable!`] gives a Rust function the entry C functions have: it
//! defines an `extern "C"`, `#[no_mangle]` entry stub under the function's
//! name that starts like a C function (`endbr64; call __fentry__`), sets up a
//! frame and calls the Rust body. kallsyms lists the stub under that name,
//! objtool records its `__fentry__` call for ftrace exactly as for C code, and
//! a live patch replaces it by name, like a C function. The stub is a naked
//! function, so it is never inlined: every caller goes through it.
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

/// Defines a function that live patches can replace: an `extern "C"` entry
/// stub named `name`, with an ftrace entry, that calls `body`.
///
/// `body` must be a function with exactly the same signature (checked at
/// compile time); it holds the code and is not called directly, so that
/// every call goes through the patchable entry. To pass an object's
/// ownership, take or return an owning pointer such as `KBox<T>` (a plain
/// pointer in the C ABI; `Option<KBox<T>>` a nullable one) rather than a raw
/// pointer: then neither the function nor its replacements need `unsafe`.
/// For a function taking raw pointers, declare both `unsafe`.
///
/// The arguments must all be passed in registers: at most six, each an
/// integer, a pointer (raw or owning, like `KBox<T>`) or a reference (the
/// stub's frame would move arguments passed on the stack). x86_64 only, like
/// the rest of klp-rs.
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
        $($meta)*
        ///
        /// Live patchable: an entry with `call __fentry__`, which calls
        #[doc = ::core::concat!("`", ::core::stringify!($body), "`.")]
        #[no_mangle]
        // SAFETY: the stub keeps the argument registers for `body` (ftrace's
        // `__fentry__` preserves them), keeps the stack aligned for the call
        // (return address + saved frame pointer), and returns what `body`
        // returns in the return registers. `body` has the same signature and
        // ABI (checked below), and every argument is in a register (checked
        // below: at most six; the caller promises their types).
        #[unsafe(naked)]
        $vis $($unsafe)? extern "C" fn $name($($arg: $argty),*) $(-> $ret)? {
            ::core::arch::naked_asm!(
                "endbr64",
                "call __fentry__",
                "push rbp",
                "mov rbp, rsp",
                "call {body}",
                "pop rbp",
                $crate::__klp_patchable_ret!(),
                "int3",
                body = sym $body,
            )
        }

        const _: $($unsafe)? extern "C" fn($($argty),*) $(-> $ret)? = $body;
        const _: () = ::core::assert!(
            [$(::core::stringify!($arg)),*].len() <= 6,
            "a patchable function takes at most six (register) arguments"
        );
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

// SPDX-License-Identifier: GPL-2.0

//! Data kept under an id that is global to the kernel, which can outlive the
//! module that made it.
//!
//! The livepatch core keys shadow variables (and system states) by a number
//! alone. A value one module stores there can be found, used and freed by
//! another module using the same id (a cumulative patch taking over), and
//! stays after the module that made it is removed (`rmmod` of a replaced
//! patch). A reference into that module's image (a `&'static` to one of its
//! statics or string literals), a function pointer to its code or a trait
//! object (whose vtable is in its image) would then dangle. [`GlobalData`]
//! marks the types that hold nothing of the kind.
//!
//! Why a trait rather than one more clause in the `unsafe` contract of
//! [`Shadow::new`](super::Shadow::new): the compiler checks it at every use
//! (a `Shadow<_, &'static u32>` does not build, with a message saying why),
//! while the clause would be easy to break later by adding a field to a
//! type. Only a type the library does not know needs an `unsafe impl`, whose
//! `// SAFETY:` comment names its fields.

use core::sync::atomic::{
    AtomicBool, AtomicI16, AtomicI32, AtomicI64, AtomicI8, AtomicIsize, AtomicU16, AtomicU32,
    AtomicU64, AtomicU8, AtomicUsize,
};
use kernel::alloc::{KBox, KVec};

/// A type whose values may be kept under an id global to the kernel, and so
/// may outlive the module that made them and be used or dropped by another
/// module.
///
/// The library implements it for integers, `bool`, `char`, `()`, the
/// atomics of `core::sync::atomic`, and for arrays, tuples, `Option`, `KBox`
/// and `KVec` of such types. For a struct of your own whose fields are all
/// `GlobalData`, declare it with [`global_data!`](crate::global_data) (no
/// `unsafe`: the fields are checked); otherwise write
/// `unsafe impl klp::GlobalData for MyType {}`.
///
/// Not `GlobalData`: references (`&'static T` points into the module's
/// image when it is a `static` or a literal), function pointers, trait
/// objects, and the kernel's locks (`SpinLock`, `Mutex`: with lockdep they
/// point to a lock class key, a static of the module that created them).
///
/// # Safety
///
/// A value of the type, and everything it owns, holds no pointer into the
/// image of a module (its code, its static data, its string literals): no
/// reference, function pointer or trait object, directly or behind an owned
/// pointer. Pointers to memory the value owns on the heap are fine.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be kept under a global id: it may point into the image of the module that made it",
    label = "not `klp::GlobalData`",
    note = "shadow variables outlive the module that attached them, so a reference, fn pointer or trait object in them can dangle",
    note = "use integers, atomics, KBox, KVec, arrays or Option of those, or a struct of those declared with `klp::global_data!`"
)]
pub unsafe trait GlobalData {}

/// `unsafe impl GlobalData` for types that own no pointer at all.
macro_rules! plain_data {
    ($($t:ty),* $(,)?) => {
        $(
            // SAFETY: a value of this type is plain bits and points nowhere.
            unsafe impl GlobalData for $t {}
        )*
    };
}

plain_data!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    AtomicBool,
    AtomicU8,
    AtomicU16,
    AtomicU32,
    AtomicU64,
    AtomicUsize,
    AtomicI8,
    AtomicI16,
    AtomicI32,
    AtomicI64,
    AtomicIsize,
);

// SAFETY: an array holds its elements and nothing else; each is `GlobalData`.
unsafe impl<T: GlobalData, const N: usize> GlobalData for [T; N] {}

// SAFETY: an `Option` holds its value, if any, and nothing else.
unsafe impl<T: GlobalData> GlobalData for Option<T> {}

// SAFETY: a `KBox` points to heap memory it owns (from `kmalloc`, freed with
// `kfree` by whichever module drops it), which holds a `GlobalData` value.
unsafe impl<T: GlobalData> GlobalData for KBox<T> {}

// SAFETY: a `KVec` points to heap memory it owns (from `krealloc`, freed with
// `kfree` by whichever module drops it), which holds `GlobalData` values.
unsafe impl<T: GlobalData> GlobalData for KVec<T> {}

/// `unsafe impl GlobalData` for tuples of `GlobalData` types.
macro_rules! tuples {
    ($(($($t:ident),+)),* $(,)?) => {
        $(
            // SAFETY: a tuple holds its fields and nothing else; each is `GlobalData`.
            unsafe impl<$($t: GlobalData),+> GlobalData for ($($t,)+) {}
        )*
    };
}

tuples!((A), (A, B), (A, B, C), (A, B, C, D));

/// Declares a struct whose fields are all [`GlobalData`], and implements
/// [`GlobalData`] for it, without `unsafe`: the type of each field is
/// checked at compile time.
///
/// For structs with named fields and no generic parameters; anything else
/// needs an `unsafe impl`.
///
/// # Examples
///
/// ```ignore
/// klp::global_data! {
///     /// What a shadow variable holds.
///     pub struct Leak {
///         dummy: c_ulong,
///         memory: KBox<c_int>,
///     }
/// }
/// ```
#[macro_export]
macro_rules! global_data {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident : $field_ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $field_ty),*
        }

        const _: () = {
            /// Builds only for a `GlobalData` type.
            const fn assert_global_data<T: ?Sized + $crate::klp::GlobalData>() {}
            $(assert_global_data::<$field_ty>();)*
        };

        // SAFETY: a struct holds its fields and nothing else, and the type of
        // each is `GlobalData` (checked just above).
        unsafe impl $crate::klp::GlobalData for $name {}
    };
}

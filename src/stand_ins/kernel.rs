// SPDX-License-Identifier: GPL-2.0

//! The differences between the `kernel` crates of Linux 6.12 and 7.x that
//! klp-rs meets, each behind one name that is the same on both lines.

use kernel::ffi::c_char;
use kernel::str::CStr;
use kernel::types::Opaque;

/// The C string `s` as a pointer for C (`CStr::as_char_ptr()` of 6.12).
#[cfg(not(klp_kernel_ge_7_0))]
pub const fn char_ptr(s: &CStr) -> *const c_char {
    s.as_char_ptr()
}

/// The C string `s` as a pointer for C (7.x's `CStr` is `core`'s, whose
/// pointer is to `core::ffi::c_char`; the kernel's `c_char` is `u8`).
#[cfg(klp_kernel_ge_7_0)]
pub const fn char_ptr(s: &CStr) -> *const c_char {
    s.as_ptr().cast()
}

/// The bytes of the C string `s`, without its NUL, in a constant too
/// (6.12's `CStr::as_bytes` is not a `const fn`; 7.x's is `core`'s `to_bytes`).
#[cfg(not(klp_kernel_ge_7_0))]
pub const fn cstr_bytes(s: &CStr) -> &[u8] {
    match s.as_bytes_with_nul().split_last() {
        Some((_nul, bytes)) => bytes,
        None => &[],
    }
}

/// The bytes of the C string `s`, without its NUL, in a constant too
/// (6.12's `CStr::as_bytes` is not a `const fn`; 7.x's is `core`'s `to_bytes`).
#[cfg(klp_kernel_ge_7_0)]
pub const fn cstr_bytes(s: &CStr) -> &[u8] {
    s.to_bytes()
}

/// The pointer to the `T` inside the `Opaque<T>` at `this`, without creating
/// a reference (`Opaque::raw_get` on 6.12, `Opaque::cast_into` on 7.x). Does
/// not dereference `this`.
#[cfg(not(klp_kernel_ge_7_0))]
pub const fn opaque_ptr<T>(this: *const Opaque<T>) -> *mut T {
    Opaque::raw_get(this)
}

/// The pointer to the `T` inside the `Opaque<T>` at `this`, without creating
/// a reference (`Opaque::raw_get` on 6.12, `Opaque::cast_into` on 7.x). Does
/// not dereference `this`.
#[cfg(klp_kernel_ge_7_0)]
pub const fn opaque_ptr<T>(this: *const Opaque<T>) -> *mut T {
    Opaque::cast_into(this)
}

/// What `kernel::static_lock_class!()` gives: a reference on 6.12, a pinned
/// one on 7.x.
#[cfg(not(klp_kernel_ge_7_0))]
pub type StaticLockClassKey = &'static kernel::sync::LockClassKey;
/// What `kernel::static_lock_class!()` gives: a reference on 6.12, a pinned
/// one on 7.x.
#[cfg(klp_kernel_ge_7_0)]
pub type StaticLockClassKey = core::pin::Pin<&'static kernel::sync::LockClassKey>;

/// The `work_struct` of `work`, from a reference (`Work::raw_get` takes a
/// raw pointer).
pub fn work_ptr<T: ?Sized, const ID: u64>(
    work: &kernel::workqueue::Work<T, ID>,
) -> *mut kernel::bindings::work_struct {
    // SAFETY: `raw_get` requires a pointer to a valid `Work`, which the
    // reference is for the whole call; it only computes the field's address.
    unsafe { kernel::workqueue::Work::raw_get(work) }
}

/// The raw per-CPU system workqueue, the one C's `schedule_work()` and
/// `schedule_delayed_work()` use: `system_wq` on 6.12; `system_percpu_wq`
/// on 7.x, which warns once about each work function queued on `system_wq`
/// ("enqueued on deprecated workqueue").
#[cfg(not(klp_kernel_ge_7_0))]
pub fn system_percpu_raw() -> *mut kernel::bindings::workqueue_struct {
    // SAFETY: `system_wq` is a C global, set at boot and never changed.
    unsafe { kernel::bindings::system_wq }
}

/// The raw per-CPU system workqueue, the one C's `schedule_work()` and
/// `schedule_delayed_work()` use: `system_wq` on 6.12; `system_percpu_wq`
/// on 7.x, which warns once about each work function queued on `system_wq`
/// ("enqueued on deprecated workqueue").
#[cfg(klp_kernel_ge_7_0)]
pub fn system_percpu_raw() -> *mut kernel::bindings::workqueue_struct {
    // SAFETY: `system_percpu_wq` is a C global, set at boot and never changed.
    unsafe { kernel::bindings::system_percpu_wq }
}

/// The per-CPU system workqueue as a [`Queue`](kernel::workqueue::Queue):
/// where C's `schedule_work()` queues (see [`system_percpu_raw`]).
pub fn system_percpu() -> &'static kernel::workqueue::Queue {
    // SAFETY: the pointer is to a workqueue that lives as long as the kernel
    // (a system workqueue is never destroyed), which is what `from_raw`
    // needs for a `'static` reference.
    unsafe { kernel::workqueue::Queue::from_raw(system_percpu_raw()) }
}

/// The `show` function of a sysfs `kobj_attribute`.
pub type KobjShow = unsafe extern "C" fn(
    *mut kernel::bindings::kobject,
    *mut kernel::bindings::kobj_attribute,
    *mut c_char,
) -> isize;

/// A read-only `kobj_attribute` (C's `__ATTR_RO()`): `attr` with `show`.
/// 7.x puts `show` (and `store`) in a union with a `const` variant.
pub const fn kobj_attribute_ro(
    attr: kernel::bindings::attribute,
    show: KobjShow,
) -> kernel::bindings::kobj_attribute {
    kernel::bindings::kobj_attribute {
        attr,
        #[cfg(not(klp_kernel_ge_7_0))]
        show: Some(show),
        #[cfg(not(klp_kernel_ge_7_0))]
        store: None,
        #[cfg(klp_kernel_ge_7_0)]
        __bindgen_anon_1: kernel::bindings::kobj_attribute__bindgen_ty_1 { show: Some(show) },
        #[cfg(klp_kernel_ge_7_0)]
        __bindgen_anon_2: kernel::bindings::kobj_attribute__bindgen_ty_2 { store: None },
    }
}

/// C's `init_timer_key()`, which Linux 6.15 renamed `timer_init_key()`.
#[cfg(not(klp_kernel_ge_7_0))]
pub use kernel::bindings::init_timer_key as timer_init_key;
/// C's `timer_init_key()` (`init_timer_key()` before Linux 6.15).
#[cfg(klp_kernel_ge_7_0)]
pub use kernel::bindings::timer_init_key;

/// Declares a kernel module, as the kernel's `module!` macro, with the same
/// fields on every kernel line: `type`, `name`, `authors: [...]`,
/// `description`, `license` (6.12's `module!` has `author:`, one string;
/// 7.x's `authors:`, a list, so on 6.12 the list holds one author). The
/// fields are passed on as single tokens (the string literals), which 6.12's
/// `module!` needs: it reads plain literals, not the groups a `literal`
/// fragment would make.
///
/// # Examples
///
/// ```ignore
/// klp::module! {
///     type: MyModule,
///     name: "my_module",
///     authors: ["Me"],
///     description: "A module",
///     license: "GPL",
/// }
/// ```
#[cfg(not(klp_kernel_ge_7_0))]
#[macro_export]
macro_rules! module {
    (
        type: $type:ident,
        name: $name:tt,
        authors: [$author:tt $(,)?],
        description: $description:tt,
        license: $license:tt $(,)?
    ) => {
        ::kernel::prelude::module! {
            type: $type,
            name: $name,
            author: $author,
            description: $description,
            license: $license,
        }
    };
}

/// Declares a kernel module, as the kernel's `module!` macro, with the same
/// fields on every kernel line: `type`, `name`, `authors: [...]`,
/// `description`, `license` (6.12's `module!` has `author:`, one string;
/// 7.x's `authors:`, a list).
#[cfg(klp_kernel_ge_7_0)]
#[macro_export]
macro_rules! module {
    (
        type: $type:ident,
        name: $name:tt,
        authors: [$($author:tt),+ $(,)?],
        description: $description:tt,
        license: $license:tt $(,)?
    ) => {
        ::kernel::prelude::module! {
            type: $type,
            name: $name,
            authors: [$($author),+],
            description: $description,
            license: $license,
        }
    };
}

// SPDX-License-Identifier: GPL-2.0

//! An object to patch: vmlinux or one module, the description behind one
//! `struct klp_object`.

use super::callbacks::{CallbackTable, Callbacks};
use super::func::Func;
use kernel::str::CStr;

/// The functions to patch in one object: the kernel image (vmlinux) or a module.
///
/// A module object is patched when that module is loaded, whether before or
/// after the patch; until then its functions are simply not patched.
///
/// `funcs` may be empty if the object has [`Callbacks`]: the core then runs
/// the callbacks without patching anything in the object. An object with
/// neither is refused by [`Registration::enable`](super::Registration::enable).
#[derive(Clone, Copy)]
pub struct Object {
    pub(crate) name: Option<&'static CStr>,
    pub(crate) funcs: &'static [Func],
    pub(crate) callbacks: Option<CallbackTable>,
}

impl Object {
    /// Functions of the kernel image itself.
    ///
    /// `funcs` may be empty: the object then only runs its
    /// [`callbacks`](Object::callbacks) when the patch is enabled or disabled.
    pub const fn vmlinux(funcs: &'static [Func]) -> Self {
        Self {
            name: None,
            funcs,
            callbacks: None,
        }
    }

    /// Functions of the module called `name` (as in `/sys/module/<name>`).
    ///
    /// `funcs` may be empty: the object then only runs its
    /// [`callbacks`](Object::callbacks), when the patch is enabled or disabled
    /// and when the module comes or goes.
    pub const fn module(name: &'static CStr, funcs: &'static [Func]) -> Self {
        Self {
            name: Some(name),
            funcs,
            callbacks: None,
        }
    }

    /// Runs the [`Callbacks`] of `C` around patching and unpatching this object.
    pub const fn callbacks<C: Callbacks>(self) -> Self {
        Self {
            callbacks: Some(CallbackTable::of::<C>()),
            ..self
        }
    }

    /// The module's name, or `None` for vmlinux.
    pub const fn name(&self) -> Option<&'static CStr> {
        self.name
    }

    /// The functions this object patches.
    pub const fn funcs(&self) -> &'static [Func] {
        self.funcs
    }
}

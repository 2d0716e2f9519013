// SPDX-License-Identifier: GPL-2.0

//! A whole live patch: the description behind one `struct klp_patch`.

use super::super::stand_ins::kernel::cstr_bytes;
use super::object::Object;
use super::state::StateDesc;
use kernel::str::CStr;

/// `MODULE_NAME_LEN` (64 bytes less a `long`): the core refuses a module
/// object whose name has this many bytes or more.
const MODULE_NAME_LEN: usize = 64 - core::mem::size_of::<core::ffi::c_ulong>();

/// `KSYM_NAME_LEN`: the core refuses a function name of this many bytes or
/// more (its `BUILD_BUG_ON` holds it at 512).
const KSYM_NAME_LEN: usize = 512;

/// Why a [`Patch`] cannot be enabled, found by [`Patch::check`] before the
/// core sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchError {
    /// The patch lists no object.
    NoObjects,
    /// An object has neither functions nor callbacks: it would do nothing.
    EmptyObject,
    /// A module name of `MODULE_NAME_LEN` (56) bytes or more.
    ModuleNameTooLong,
    /// Two objects for the same module (or two for vmlinux).
    DuplicateObject,
    /// A function name of `KSYM_NAME_LEN` (512) bytes or more.
    FuncNameTooLong,
    /// The same function (name and `sympos`) twice in one object.
    DuplicateFunc,
    /// A state with id 0, which ends the C array.
    StateIdZero,
    /// Two states with the same id.
    DuplicateState,
}

impl PatchError {
    /// What is wrong, for a user.
    pub const fn message(self) -> &'static str {
        match self {
            Self::NoObjects => "a patch needs at least one object",
            Self::EmptyObject => "every object of a patch needs functions or callbacks",
            Self::ModuleNameTooLong => {
                "a module name must be shorter than MODULE_NAME_LEN (56 bytes)"
            }
            Self::DuplicateObject => "an object (a module, or vmlinux) is listed twice",
            Self::FuncNameTooLong => {
                "a function name must be shorter than KSYM_NAME_LEN (512 bytes)"
            }
            Self::DuplicateFunc => "a function (name and sympos) is listed twice in one object",
            Self::StateIdZero => "state id 0 is reserved (it ends the C array)",
            Self::DuplicateState => "a state id is listed twice",
        }
    }
}

/// `a` and `b` are the same bytes.
const fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The two objects are the same one: vmlinux (no name) or one module.
const fn same_object(a: Option<&CStr>, b: Option<&CStr>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => same_bytes(cstr_bytes(a), cstr_bytes(b)),
        _ => false,
    }
}

/// A live patch: the objects it patches and whether it atomically replaces the
/// patches loaded before it.
///
/// Declared as a `static` in the patch module and enabled by
/// [`livepatch_module!`](crate::livepatch_module) (or [`Registration::enable`]
/// for a hand-written module).
///
/// [`Registration::enable`]: super::Registration::enable
#[derive(Clone, Copy)]
pub struct Patch {
    pub(crate) objects: &'static [Object],
    pub(crate) replace: bool,
    pub(crate) states: &'static [StateDesc],
}

impl Patch {
    /// A cumulative patch of `objects` with atomic replace on.
    ///
    /// When it is enabled, every patch loaded before it is replaced: functions
    /// those patches changed and this one does not return to their original
    /// code (the core adds NOP entries for them), the replaced patches are
    /// removed from `/sys/kernel/livepatch` once the transition ends, and
    /// their modules can be unloaded.
    pub const fn new(objects: &'static [Object]) -> Self {
        Self {
            objects,
            replace: true,
            states: &[],
        }
    }

    /// Sets atomic replace. `replace(false)` makes a patch that stacks on top
    /// of the patches already loaded instead of replacing them.
    pub const fn replace(self, replace: bool) -> Self {
        Self { replace, ..self }
    }

    /// Lists the system states this patch sets up (see [`State`](super::State)).
    ///
    /// With atomic replace, the core refuses this patch if a patch it would
    /// replace has a state this one lacks, or has it at a newer version.
    pub const fn states(self, states: &'static [StateDesc]) -> Self {
        Self { states, ..self }
    }

    /// Finds what would make the livepatch core refuse this patch at
    /// `insmod` without looking at the running kernel: no objects, an object
    /// with neither functions nor callbacks, names over the core's limits,
    /// an object or a function listed twice (their sysfs directories would
    /// clash), state id 0 or a state listed twice.
    pub const fn check(&self) -> Result<(), PatchError> {
        if self.objects.is_empty() {
            return Err(PatchError::NoObjects);
        }
        let mut i = 0;
        while i < self.objects.len() {
            let obj = &self.objects[i];
            let no_callbacks = match obj.callbacks {
                Some(table) => table.is_empty(),
                None => true,
            };
            if obj.funcs.is_empty() && no_callbacks {
                return Err(PatchError::EmptyObject);
            }
            if let Some(name) = obj.name {
                if cstr_bytes(name).len() >= MODULE_NAME_LEN {
                    return Err(PatchError::ModuleNameTooLong);
                }
            }
            let mut j = 0;
            while j < i {
                if same_object(self.objects[j].name, obj.name) {
                    return Err(PatchError::DuplicateObject);
                }
                j += 1;
            }
            let mut f = 0;
            while f < obj.funcs.len() {
                let func = &obj.funcs[f];
                let name = cstr_bytes(func.old_name);
                if name.len() >= KSYM_NAME_LEN {
                    return Err(PatchError::FuncNameTooLong);
                }
                let mut g = 0;
                while g < f {
                    let other = &obj.funcs[g];
                    // sysfs names a function "name,sympos" with sympos 0 shown as 1.
                    if same_bytes(cstr_bytes(other.old_name), name)
                        && max1(other.old_sympos) == max1(func.old_sympos)
                    {
                        return Err(PatchError::DuplicateFunc);
                    }
                    g += 1;
                }
                f += 1;
            }
            i += 1;
        }
        let mut s = 0;
        while s < self.states.len() {
            if self.states[s].id == 0 {
                return Err(PatchError::StateIdZero);
            }
            let mut t = 0;
            while t < s {
                if self.states[t].id == self.states[s].id {
                    return Err(PatchError::DuplicateState);
                }
                t += 1;
            }
            s += 1;
        }
        Ok(())
    }

    /// [`Patch::check`] at compile time: panics with the reason, which in the
    /// constant [`livepatch_module!`](crate::livepatch_module) evaluates it
    /// in is a compile error, so a patch the core would refuse does not build.
    pub const fn validate(&self) {
        match self.check() {
            Ok(()) => {}
            Err(PatchError::NoObjects) => panic!("klp: a patch needs at least one object"),
            Err(PatchError::EmptyObject) => {
                panic!("klp: every object of a patch needs functions or callbacks")
            }
            Err(PatchError::ModuleNameTooLong) => {
                panic!("klp: a module name must be shorter than MODULE_NAME_LEN (56 bytes)")
            }
            Err(PatchError::DuplicateObject) => {
                panic!("klp: an object (a module, or vmlinux) is listed twice")
            }
            Err(PatchError::FuncNameTooLong) => {
                panic!("klp: a function name must be shorter than KSYM_NAME_LEN (512 bytes)")
            }
            Err(PatchError::DuplicateFunc) => {
                panic!("klp: a function (name and sympos) is listed twice in one object")
            }
            Err(PatchError::StateIdZero) => {
                panic!("klp: state id 0 is reserved (it ends the C array)")
            }
            Err(PatchError::DuplicateState) => panic!("klp: a state id is listed twice"),
        }
    }

    /// Whether this patch atomically replaces the patches before it.
    pub const fn is_replace(&self) -> bool {
        self.replace
    }

    /// The objects this patch changes.
    pub const fn objects(&self) -> &'static [Object] {
        self.objects
    }

    /// Entries of the `klp_object` array this patch needs, terminator
    /// included: the `OBJECTS` of its [`Storage`](super::Storage).
    #[inline]
    pub const fn object_slots(&self) -> usize {
        self.objects.len().saturating_add(1)
    }

    /// Entries of the `klp_func` array this patch needs: each object's
    /// functions and a terminator after them. The `FUNCS` of its
    /// [`Storage`](super::Storage).
    #[inline]
    pub const fn func_slots(&self) -> usize {
        let mut slots: usize = 0;
        let mut i = 0;
        while i < self.objects.len() {
            slots = slots
                .saturating_add(self.objects[i].funcs.len())
                .saturating_add(1);
            i += 1;
        }
        slots
    }

    /// Entries of the `klp_state` array this patch needs, terminator
    /// included: the `STATES` of its [`Storage`](super::Storage).
    #[inline]
    pub const fn state_slots(&self) -> usize {
        self.states.len().saturating_add(1)
    }

    /// The length of [`Patch::object_names`].
    pub const fn object_names_len(&self) -> usize {
        let mut len: usize = 0;
        let mut i = 0;
        while i < self.objects.len() {
            len = len
                .saturating_add(object_name(&self.objects[i]).len())
                .saturating_add(1);
            i += 1;
        }
        len
    }

    /// The names of the patch's objects (`vmlinux` for vmlinux), each
    /// followed by a NUL: what [`livepatch_module!`](crate::livepatch_module)
    /// puts in the module's `.klp_rs.objects` section, from which the
    /// build's post-link step learns for which objects the core will write
    /// livepatch relocations (see [`symbols!`](crate::symbols)).
    ///
    /// `N` must be [`Patch::object_names_len`].
    pub const fn object_names<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        let mut at = 0;
        let mut i = 0;
        while i < self.objects.len() {
            let name = object_name(&self.objects[i]);
            let mut j = 0;
            while j < name.len() {
                out[at] = name[j];
                at += 1;
                j += 1;
            }
            // The NUL is already there.
            at += 1;
            i += 1;
        }
        assert!(at == N, "object_names: N is not object_names_len()");
        out
    }
}

/// An object's name as livepatch symbols name it.
const fn object_name(obj: &Object) -> &[u8] {
    match obj.name {
        Some(name) => cstr_bytes(name),
        None => b"vmlinux",
    }
}

/// `sympos` as sysfs shows it: 0 (the only one) is shown as 1.
const fn max1(sympos: usize) -> usize {
    if sympos == 0 {
        1
    } else {
        sympos
    }
}

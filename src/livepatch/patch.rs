// SPDX-License-Identifier: GPL-2.0

//! A whole live patch: the description behind one `struct klp_patch`.

use super::object::Object;
use super::state::StateDesc;

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
}

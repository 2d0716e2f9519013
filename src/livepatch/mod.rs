// SPDX-License-Identifier: GPL-2.0

//! The livepatch API: describing a patch ([`patch`], [`object`], [`func`]),
//! enabling it and keeping its C structures alive ([`registration`],
//! [`module`]), callbacks, shadow variables and system states (and the
//! [`global_data`] they may hold), Rust functions that live patches can
//! replace ([`patchable`]), and the non-exported symbols of a patched object
//! that replacement code can use ([`symbols`]).

pub mod bindings;
pub mod callbacks;
pub mod func;
pub mod global_data;
pub mod module;
pub mod object;
pub mod patch;
pub mod patchable;
pub mod registration;
pub mod seq_file;
pub mod shadow;
pub mod state;
pub mod symbols;

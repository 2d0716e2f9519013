// SPDX-License-Identifier: GPL-2.0

//! Declaring a live patch module: the `livepatch=Y` tag and the module itself.

/// Emits the `livepatch=Y` modinfo tag.
///
/// `klp_enable_patch()` refuses a module without it, and the module loader
/// uses it to mark the module as a live patch (and taint the kernel with
/// `K`). Linux 6.12's `module!` macro has no field for it.
/// [`livepatch_module!`](crate::livepatch_module) emits it for you; use this
/// macro only in a module that implements [`kernel::Module`] by hand.
#[macro_export]
macro_rules! modinfo_livepatch {
    () => {
        // `used(compiler)`, as the `module!` macro's own strings: the same
        // section flags put every string in one `.modinfo` section of the
        // object. With `#[used]` the tag got a section of its own (flagged
        // SHF_GNU_RETAIN), and modpost, which reads one `.modinfo` section
        // per object, could miss the others (and report no license).
        #[link_section = ".modinfo"]
        #[used(compiler)]
        static __KLP_RS_MODINFO_LIVEPATCH: [u8; 12] = *b"livepatch=Y\0";
    };
}

/// Declares a live patch module that enables one [`Patch`](super::Patch)
/// when it is loaded.
///
/// Takes the `type:` of the module to define and the `patch:` static to
/// enable, followed by the fields of [`klp::module!`](crate::module)
/// (`name`, `authors`, `description`, `license`). It defines the module type,
/// tags the module `livepatch=Y`, and enables the patch in module init.
/// A patch the core would refuse ([`Patch::check`](super::Patch::check):
/// no objects, an empty object, names over the core's limits, duplicates,
/// state id 0) is a compile error.
///
/// The patch's C structures go into a [`Storage`](super::Storage) static
/// sized for it at compile time, as a C live patch declares its arrays:
/// nothing is allocated, and the module carries no vector code. The core
/// lets the module be unloaded only after the patch has been disabled and
/// released. (Sizing reads the `patch:` static in a constant, which needs
/// rustc 1.83 or newer.)
///
/// # Examples
///
/// ```ignore
/// klp::livepatch_module! {
///     type: LivepatchSample,
///     patch: PATCH,
///     name: "livepatch_sample",
///     authors: ["klp-rs developers"],
///     description: "Live patch /proc/cmdline",
///     license: "GPL",
/// }
/// ```
#[macro_export]
macro_rules! livepatch_module {
    (type: $type:ident, patch: $patch:path, $($module_fields:tt)*) => {
        $crate::klp::module! {
            type: $type,
            $($module_fields)*
        }

        $crate::klp::modinfo_livepatch!();

        // What the core would refuse at `insmod` does not build.
        const _: () = $patch.validate();

        /// The names of the patch's objects, for the build's post-link step
        /// (`tools/klp-post-link`): the core writes livepatch relocations
        /// (`klp::symbols!`) only for these objects.
        #[used]
        #[link_section = ".klp_rs.objects"]
        static __KLP_RS_OBJECTS: [u8; { $patch.object_names_len() }] = $patch.object_names();

        /// The C structures of the patch, sized for it at compile time.
        static __KLP_RS_STORAGE: $crate::klp::Storage<
            { $patch.object_slots() },
            { $patch.func_slots() },
            { $patch.state_slots() },
        > = $crate::klp::Storage::new();

        /// The live patch module: holds the enabled patch until it is unloaded.
        // `pub`: on 7.x, a `#[vtable]` impl (of `klp::Callbacks`) names the
        // module type as its `OwnerModule`, in a public trait.
        pub struct $type {
            _registration: $crate::klp::StaticRegistration,
        }

        impl ::kernel::Module for $type {
            fn init(module: &'static ::kernel::ThisModule) -> ::kernel::error::Result<Self> {
                // SAFETY: `Storage::enable` needs the module's init, with
                // enabling its last fallible step, and the registration kept
                // in the module's state until module exit. This is `module`'s
                // init, and enabling is its only fallible step: once it
                // succeeds, init returns `Ok`. The registration goes into
                // `Self`, the module's state, which `module!` owns and drops
                // only at module exit (no other code is given that value).
                let registration = unsafe { __KLP_RS_STORAGE.enable(&$patch, module) }?;
                ::core::result::Result::Ok(Self {
                    _registration: registration,
                })
            }
        }
    };
}

// SPDX-License-Identifier: GPL-2.0
// klp-rs-compile: must-build||Shadows of the GlobalData types of the library and of an unsafe impl build; a ShadowRef derefs, and is kept with a static object

//! Must compile: `klp::Shadow`s of the `klp::GlobalData` types the library
//! knows (integers, atomics, arrays, tuples, `Option`, `KBox`), of a type of
//! the module's own with an `unsafe impl`, and of a struct declared with
//! `klp::global_data!`; their `ShadowRef`s dereference to the value and can
//! be kept with a `'static` object.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::prelude::*;
use klp::{GlobalData, Shadow, ShadowRef};

#[path = "../../src/lib.rs"]
pub mod klp;

/// A type of the module's own.
pub struct Stats {
    hits: AtomicU32,
    last: Option<u64>,
}

// SAFETY: an atomic and an `Option` of an integer: nothing points into the module.
unsafe impl GlobalData for Stats {}

klp::global_data! {
    /// A struct whose fields `klp::global_data!` checks, without `unsafe`.
    pub struct Checked {
        /// A boxed array of atomics.
        counts: KBox<[AtomicU32; 2]>,
        /// A tuple.
        pair: (u8, Option<i64>),
    }
}

// SAFETY: no other module uses these ids, and each has one `Shadow` here.
static BOXED: Shadow<u64, KBox<[AtomicU32; 4]>> = unsafe { Shadow::new(0x900d1) };
// SAFETY: as above.
static PAIRS: Shadow<u64, (Option<u64>, bool)> = unsafe { Shadow::new(0x900d2) };
// SAFETY: as above.
static STATS: Shadow<u64, Stats> = unsafe { Shadow::new(0x900d3) };
// SAFETY: as above.
static CHECKED: Shadow<u64, Checked> = unsafe { Shadow::new(0x900d4) };

/// An object that lives as long as the module.
static OBJECT: u64 = 0;

/// A `ShadowRef` kept with a `'static` object.
fn keep() -> Option<ShadowRef<'static, Stats>> {
    STATS.get(&OBJECT)
}

/// The module.
struct ShadowGlobalData;

impl kernel::Module for ShadowGlobalData {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let obj = KBox::new(1u64, GFP_KERNEL)?;
        let boxed = BOXED.get_or_attach(&obj, GFP_KERNEL, || {
            Ok(KBox::new([const { AtomicU32::new(0) }; 4], GFP_KERNEL)?)
        })?;
        boxed[1].fetch_add(1, Ordering::Relaxed);
        let pair = PAIRS.attach(&obj, GFP_KERNEL, || Ok((Some(2), true)))?;
        let stats = STATS.attach(&OBJECT, GFP_KERNEL, || {
            Ok(Stats {
                hits: AtomicU32::new(0),
                last: pair.0,
            })
        })?;
        stats.hits.fetch_add(1, Ordering::Relaxed);
        let checked = CHECKED.attach(&obj, GFP_KERNEL, || {
            Ok(Checked {
                counts: KBox::new([const { AtomicU32::new(0) }; 2], GFP_KERNEL)?,
                pair: (1, None),
            })
        })?;
        checked.counts[0].fetch_add(u32::from(checked.pair.0), Ordering::Relaxed);
        pr_info!("{:?} {}\n", stats.last, keep().is_some());
        drop((boxed, pair, stats, checked));
        // SAFETY: every `ShadowRef` above was dropped, and none is made later.
        unsafe {
            BOXED.detach_all_unchecked();
            PAIRS.detach_all_unchecked();
            STATS.detach_all_unchecked();
            CHECKED.detach_all_unchecked();
        }
        Ok(Self)
    }
}

klp::module! {
    type: ShadowGlobalData,
    name: "shadow_global_data",
    authors: ["klp-rs developers"],
    description: "compile test: shadow values of GlobalData types",
    license: "GPL",
}

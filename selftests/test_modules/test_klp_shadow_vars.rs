// SPDX-License-Identifier: GPL-2.0

//! Rust port of the kernel's `test_klp_shadow_vars` selftest module: it
//! exercises the shadow variable API (`klp_shadow_get()`, `_alloc()`,
//! `_get_or_alloc()`, `_free()`, `_free_all()`) from its init function and
//! logs every call with its arguments and result.
//!
//! The log must match the C module's line for line, so this module calls
//! the raw C API (through the klp-rs bindings) rather than the typed
//! [`klp::Shadow`]: the log shows the constructor and destructor the caller
//! passes, and the exact `alloc` / `get_or_alloc` calls. Pointers are logged
//! as `PTR<n>`, numbered in the order they are first seen (`PTR0` is NULL),
//! so the output does not depend on addresses.

use core::ffi::{c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::bindings;
use kernel::ffi::{c_char, c_ulong};
use kernel::prelude::*;
use klp::bindings::{
    klp_shadow_alloc, klp_shadow_ctor_t, klp_shadow_dtor_t, klp_shadow_free, klp_shadow_free_all,
    klp_shadow_get, klp_shadow_get_or_alloc,
};

#[path = "../../src/lib.rs"]
pub mod klp;

klp::module! {
    type: TestKlpShadowVars,
    name: "test_klp_shadow_vars",
    authors: ["klp-rs developers (after Joe Lawrence's C module)"],
    description: "Livepatch test: shadow variables",
    license: "GPL",
}

/// A pointer as the shadow variables store it: each one holds a pointer to
/// the "new field" it stands for.
type Ptr = *mut c_void;

/// How many distinct pointers [`ptr_id`] can number (the test needs 18).
const MAX_PTR_IDS: usize = 32;

/// The pointers seen so far; a pointer's number is its index.
///
/// Only the module's init function uses it (the constructor and destructor
/// run inside its calls), so there is no concurrency; atomics make the
/// static safe to share all the same.
struct PtrIds {
    addrs: [AtomicUsize; MAX_PTR_IDS],
    count: AtomicUsize,
}

static PTR_IDS: PtrIds = PtrIds {
    addrs: [const { AtomicUsize::new(0) }; MAX_PTR_IDS],
    count: AtomicUsize::new(0),
};

/// The number of `ptr`, given it the first time it is seen.
/// `-ENOMEM` if there is no room left, as in C.
fn ptr_id<T>(ptr: *const T) -> c_int {
    let addr = ptr.addr();
    let count = PTR_IDS.count.load(Ordering::Relaxed);
    for (id, slot) in PTR_IDS.addrs[..count].iter().enumerate() {
        if slot.load(Ordering::Relaxed) == addr {
            return id as c_int;
        }
    }
    if count == MAX_PTR_IDS {
        return ENOMEM.to_errno();
    }
    PTR_IDS.addrs[count].store(addr, Ordering::Relaxed);
    PTR_IDS.count.store(count + 1, Ordering::Relaxed);
    count as c_int
}

/// Forgets every pointer.
fn free_ptr_list() {
    PTR_IDS.count.store(0, Ordering::Relaxed);
}

/// The address of a constructor, or NULL.
fn ctor_addr(ctor: klp_shadow_ctor_t) -> *const c_void {
    ctor.map_or(ptr::null(), |f| f as *const c_void)
}

/// The address of a destructor, or NULL.
fn dtor_addr(dtor: klp_shadow_dtor_t) -> *const c_void {
    dtor.map_or(ptr::null(), |f| f as *const c_void)
}

/// How `%pGg` prints the flags this test uses.
fn gfp_name(flags: bindings::gfp_t) -> &'static str {
    if flags == bindings::GFP_KERNEL {
        "GFP_KERNEL"
    } else if flags == bindings::GFP_ATOMIC {
        "GFP_ATOMIC"
    } else {
        "?"
    }
}

/// A key for the shadow variables: the address of `obj`.
fn key<T>(obj: &T) -> *mut c_void {
    ptr::from_ref(obj).cast_mut().cast()
}

/// `klp_shadow_get()`, logged.
fn shadow_get<T>(obj: &T, id: c_ulong) -> *mut Ptr {
    // SAFETY: the core only uses the address as a key.
    let sv = unsafe { klp_shadow_get(key(obj), id) }.cast::<Ptr>();
    pr_info!(
        "klp_shadow_get(obj=PTR{}, id=0x{:x}) = PTR{}\n",
        ptr_id(key(obj)),
        id,
        ptr_id(sv)
    );
    sv
}

/// The two allocating calls of the API.
#[derive(Clone, Copy)]
enum Alloc {
    /// `klp_shadow_alloc()`: fails if the variable exists.
    New,
    /// `klp_shadow_get_or_alloc()`: returns the existing variable if any.
    GetOrNew,
}

/// `klp_shadow_alloc()` or `klp_shadow_get_or_alloc()` of a [`Ptr`]-sized
/// variable, initialised by `ctor` from `var`, logged.
fn shadow_alloc<T>(
    how: Alloc,
    obj: &T,
    id: c_ulong,
    gfp_flags: bindings::gfp_t,
    ctor: klp_shadow_ctor_t,
    var: &Ptr,
) -> *mut Ptr {
    let size = core::mem::size_of::<Ptr>();
    let ctor_data = ptr::from_ref(var).cast_mut().cast::<c_void>();
    let (name, sv) = match how {
        Alloc::New => {
            // SAFETY: The size is that of the `Ptr` the constructor writes.
            // `ctor_data` points to the `Ptr` it reads, alive during the call.
            let sv = unsafe { klp_shadow_alloc(key(obj), id, size, gfp_flags, ctor, ctor_data) };
            ("klp_shadow_alloc", sv)
        }
        Alloc::GetOrNew => {
            let sv =
                // SAFETY: as for `klp_shadow_alloc` above.
                unsafe { klp_shadow_get_or_alloc(key(obj), id, size, gfp_flags, ctor, ctor_data) };
            ("klp_shadow_get_or_alloc", sv)
        }
    };
    let sv = sv.cast::<Ptr>();
    pr_info!(
        "{}(obj=PTR{}, id=0x{:x}, size={:x}, gfp_flags={}), ctor=PTR{}, ctor_data=PTR{} = PTR{}\n",
        name,
        ptr_id(key(obj)),
        id,
        size,
        gfp_name(gfp_flags),
        ptr_id(ctor_addr(ctor)),
        ptr_id(*var),
        ptr_id(sv)
    );
    sv
}

/// `klp_shadow_free()`, logged.
fn shadow_free<T>(obj: &T, id: c_ulong, dtor: klp_shadow_dtor_t) {
    // SAFETY: The test only holds raw pointers, and reads them before this call.
    // no reference to the variable's data is kept.
    unsafe { klp_shadow_free(key(obj), id, dtor) };
    pr_info!(
        "klp_shadow_free(obj=PTR{}, id=0x{:x}, dtor=PTR{})\n",
        ptr_id(key(obj)),
        id,
        ptr_id(dtor_addr(dtor))
    );
}

/// `klp_shadow_free_all()`, logged.
fn shadow_free_all(id: c_ulong, dtor: klp_shadow_dtor_t) {
    // SAFETY: as in `shadow_free`.
    unsafe { klp_shadow_free_all(id, dtor) };
    pr_info!(
        "klp_shadow_free_all(id=0x{:x}, dtor=PTR{})\n",
        id,
        ptr_id(dtor_addr(dtor))
    );
}

/// The constructor: copies the pointer `ctor_data` points to into the new
/// variable.
///
/// # Safety
///
/// Called by the core with `shadow_data` room for a [`Ptr`] and `ctor_data`
/// the `&Ptr` that [`shadow_alloc`] passes.
unsafe extern "C" fn shadow_ctor(
    _obj: *mut c_void,
    shadow_data: *mut c_void,
    ctor_data: *mut c_void,
) -> c_int {
    let sv = shadow_data.cast::<Ptr>();
    let var = ctor_data.cast::<Ptr>();
    if var.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: see the function's safety section.
    let value = unsafe { var.read() };
    // SAFETY: see the function's safety section.
    unsafe { sv.write(value) };
    pr_info!("shadow_ctor: PTR{} -> PTR{}\n", ptr_id(sv), ptr_id(value));
    0
}

/// The destructor: only logs (the data is a plain pointer).
unsafe extern "C" fn shadow_dtor(obj: *mut c_void, shadow_data: *mut c_void) {
    pr_info!(
        "shadow_dtor(obj=PTR{}, shadow_data=PTR{})\n",
        ptr_id(obj),
        ptr_id(shadow_data)
    );
}

/// Number of objects that get shadow variables.
const NUM_OBJS: usize = 3;

/// Shadow variable ids: two "new fields" of the objects.
const SV_ID1: c_ulong = 0x1234;
const SV_ID2: c_ulong = 0x1235;

/// An object of the test, which shadow variables add fields to.
struct TestObject {
    _payload: u64,
}

/// `*sv == expected`, for a variable returned by the API.
fn holds(sv: *mut Ptr, expected: Ptr) -> bool {
    if sv.is_null() {
        return false;
    }
    // SAFETY: `sv` is the data of a live shadow variable of this test, initialised
    // by `shadow_ctor` with a `Ptr`.
    // `sv` is non-null, valid and initialised for reads.
    let held = unsafe { sv.read() };
    held == expected
}

/// The data a live shadow variable holds.
fn value(sv: *mut Ptr) -> Ptr {
    if sv.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: as in `holds`.
    unsafe { sv.read() }
}

/// The test proper, in the C module's order.
fn exercise() -> Result {
    let objs: [TestObject; NUM_OBJS] = [const { TestObject { _payload: 0 } }; NUM_OBJS];
    let mut nfields1: [c_char; NUM_OBJS] = [0; NUM_OBJS];
    let mut nfields2: [c_int; NUM_OBJS] = [0; NUM_OBJS];
    let mut pnfields1: [Ptr; NUM_OBJS] = [ptr::null_mut(); NUM_OBJS];
    let mut pnfields2: [Ptr; NUM_OBJS] = [ptr::null_mut(); NUM_OBJS];
    let mut pndup: [Ptr; NUM_OBJS] = [ptr::null_mut(); NUM_OBJS];
    let mut sv1: [*mut Ptr; NUM_OBJS] = [ptr::null_mut(); NUM_OBJS];
    let mut sv2: [*mut Ptr; NUM_OBJS] = [ptr::null_mut(); NUM_OBJS];
    let ctor: klp_shadow_ctor_t = Some(shadow_ctor);
    let dtor: klp_shadow_dtor_t = Some(shadow_dtor);

    ptr_id(ptr::null::<c_void>());

    // With an empty shadow variable hash table, expect not to find any matches.
    if shadow_get(&objs[0], SV_ID1).is_null() {
        pr_info!("  got expected NULL result\n");
    }

    // pass 1: init & alloc a char+int pair of svars for each objs
    for i in 0..NUM_OBJS {
        pnfields1[i] = (&raw mut nfields1[i]).cast();
        ptr_id(pnfields1[i]);
        let how = if i % 2 == 1 {
            Alloc::New
        } else {
            Alloc::GetOrNew
        };
        sv1[i] = shadow_alloc(
            how,
            &objs[i],
            SV_ID1,
            bindings::GFP_KERNEL,
            ctor,
            &pnfields1[i],
        );
        if sv1[i].is_null() {
            return Err(ENOMEM);
        }

        pnfields2[i] = (&raw mut nfields2[i]).cast();
        ptr_id(pnfields2[i]);
        sv2[i] = shadow_alloc(
            Alloc::New,
            &objs[i],
            SV_ID2,
            bindings::GFP_KERNEL,
            ctor,
            &pnfields2[i],
        );
        if sv2[i].is_null() {
            return Err(ENOMEM);
        }
    }

    // pass 2: verify we find allocated svars and where they point to
    for i in 0..NUM_OBJS {
        // check the "char" svar for all objects
        let sv = shadow_get(&objs[i], SV_ID1);
        if sv.is_null() {
            return Err(EINVAL);
        }
        if sv == sv1[i] && holds(sv1[i], pnfields1[i]) {
            pr_info!(
                "  got expected PTR{} -> PTR{} result\n",
                ptr_id(sv1[i]),
                ptr_id(value(sv1[i]))
            );
        }

        // check the "int" svar for all objects
        let sv = shadow_get(&objs[i], SV_ID2);
        if sv.is_null() {
            return Err(EINVAL);
        }
        if sv == sv2[i] && holds(sv2[i], pnfields2[i]) {
            pr_info!(
                "  got expected PTR{} -> PTR{} result\n",
                ptr_id(sv2[i]),
                ptr_id(value(sv2[i]))
            );
        }
    }

    // pass 3: verify that 'get_or_alloc' returns already allocated svars
    for i in 0..NUM_OBJS {
        pndup[i] = (&raw mut nfields1[i]).cast();
        ptr_id(pndup[i]);

        let sv = shadow_alloc(
            Alloc::GetOrNew,
            &objs[i],
            SV_ID1,
            bindings::GFP_KERNEL,
            ctor,
            &pndup[i],
        );
        if sv.is_null() {
            return Err(EINVAL);
        }
        if sv == sv1[i] && holds(sv1[i], pnfields1[i]) {
            pr_info!(
                "  got expected PTR{} -> PTR{} result\n",
                ptr_id(sv1[i]),
                ptr_id(value(sv1[i]))
            );
        }
    }

    // pass 4: free <objs[*], SV_ID1> pairs of svars, verify removal
    for obj in &objs {
        shadow_free(obj, SV_ID1, dtor); // 'char' pairs
        if shadow_get(obj, SV_ID1).is_null() {
            pr_info!("  got expected NULL result\n");
        }
    }

    // pass 5: check we still find <objs[*], SV_ID2> svar pairs
    for i in 0..NUM_OBJS {
        let sv = shadow_get(&objs[i], SV_ID2); // 'int' pairs
        if sv.is_null() {
            return Err(EINVAL);
        }
        if sv == sv2[i] && holds(sv2[i], pnfields2[i]) {
            pr_info!(
                "  got expected PTR{} -> PTR{} result\n",
                ptr_id(sv2[i]),
                ptr_id(value(sv2[i]))
            );
        }
    }

    // pass 6: free all the <objs[*], SV_ID2> svar pairs too.
    shadow_free_all(SV_ID2, None); // 'int' pairs
    for obj in &objs {
        if shadow_get(obj, SV_ID2).is_null() {
            pr_info!("  got expected NULL result\n");
        }
    }

    Ok(())
}

/// The module; all the work happens in init.
struct TestKlpShadowVars;

impl kernel::Module for TestKlpShadowVars {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let result = exercise();
        if result.is_err() {
            // The test's objects lived on the stack: drop what is left.
            shadow_free_all(SV_ID1, None); // 'char' pairs
            shadow_free_all(SV_ID2, None); // 'int' pairs
        }
        free_ptr_list();
        result.map(|()| Self)
    }
}

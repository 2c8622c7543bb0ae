//! Plumbing for the simulator's server-side vtables: the `thunks!` macro, panic capture, objects.
//!
//! Every interface the simulator implements is an [`Obj`]: a `#[repr(C)]` pair of a vtable
//! pointer (what a C++ caller sees as `lpVtbl`) and a pointer to the Rust state that owns it.
//! The vtables are `static`s of the `httpserv_sys` `*_Vtbl` types, filled with functions made by
//! [`thunks!`], which gives each one the C++ calling convention of the target (`thiscall` on x86,
//! `system` elsewhere) and runs its body under [`guard`], so that a panic inside the simulator
//! never unwinds into the module: it is stored and re-raised by the driver with [`rethrow`] as
//! soon as control is back in Rust.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use windows_sys::core::HRESULT;

/// Defines server-side virtual methods: `unsafe extern "thiscall"` functions on x86 (where MSVC
/// passes `this` in ECX) and `unsafe extern "system"` ones elsewhere, whose bodies run under
/// [`guard`] (a panic returns [`Fallback::fallback`] and is re-raised later by the driver).
///
/// ```text
/// thunks! {
///     fn ctx_cancel_io(this: *mut IHttpContext) -> HRESULT { /* ... */ S_OK }
/// }
/// ```
macro_rules! thunks {
    ($(
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    )*) => {$(
        $(#[$attr])*
        #[cfg(target_arch = "x86")]
        #[allow(clippy::missing_safety_doc)]
        pub(crate) unsafe extern "thiscall" fn $name($($arg: $ty),*) $(-> $ret)? {
            $crate::thunk::guard(move || $(-> $ret)? { $body })
        }
        $(#[$attr])*
        #[cfg(not(target_arch = "x86"))]
        #[allow(clippy::missing_safety_doc)]
        pub(crate) unsafe extern "system" fn $name($($arg: $ty),*) $(-> $ret)? {
            $crate::thunk::guard(move || $(-> $ret)? { $body })
        }
    )*};
}
pub(crate) use thunks;

/// What a thunk returns when its body panicked (the panic itself is re-raised by the driver).
pub(crate) trait Fallback {
    /// The value handed back to the module instead of a result.
    fn fallback() -> Self;
}

impl Fallback for () {
    fn fallback() -> Self {}
}

impl Fallback for HRESULT {
    /// `E_UNEXPECTED` (also used for `BOOL`s, which are `i32` too: the test fails anyway).
    fn fallback() -> Self {
        windows_sys::Win32::Foundation::E_UNEXPECTED
    }
}

macro_rules! zero_fallback {
    ($($t:ty),*) => {$(
        impl Fallback for $t {
            fn fallback() -> Self {
                0
            }
        }
    )*};
}
zero_fallback!(u8, u16, u32, u64);

impl Fallback for bool {
    fn fallback() -> Self {
        false
    }
}

impl<T> Fallback for *mut T {
    fn fallback() -> Self {
        ptr::null_mut()
    }
}

impl<T> Fallback for *const T {
    fn fallback() -> Self {
        ptr::null()
    }
}

thread_local! {
    /// The first panic caught in a thunk on this thread and not yet re-raised.
    static PANIC: RefCell<Option<Box<dyn Any + Send>>> = const { RefCell::new(None) };
}

/// Runs a thunk body, catching a panic so that it never crosses the `extern` boundary.
pub(crate) fn guard<R: Fallback>(body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            PANIC.with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    slot.get_or_insert(payload);
                }
            });
            R::fallback()
        }
    }
}

/// Re-raises a panic caught by [`guard`] on this thread, if any. Called by the driver after each
/// call into the module.
pub(crate) fn rethrow() {
    if let Some(payload) = PANIC.with(|slot| slot.borrow_mut().take()) {
        resume_unwind(payload);
    }
}

/// A C++-compatible object: `lpVtbl` first, then a pointer to the Rust state behind it.
#[repr(C)]
pub(crate) struct Obj<O> {
    vtbl: *const c_void,
    owner: *const O,
}

impl<O> Obj<O> {
    /// An object with the vtable `vtbl` and no owner yet (see [`Obj::set_owner`]).
    pub(crate) const fn new<V>(vtbl: &'static V) -> Self {
        Obj {
            vtbl: vtbl as *const V as *const c_void,
            owner: ptr::null(),
        }
    }

    /// Sets the state the object's thunks work on.
    pub(crate) fn set_owner(&mut self, owner: *const O) {
        self.owner = owner;
    }

    /// The object as the C++ interface pointer `T` (what the module receives).
    pub(crate) fn as_ptr<T>(&self) -> *mut T {
        self as *const Self as *mut T
    }
}

/// The owner of the object `this` points to.
///
/// # Safety
///
/// `this` must be a pointer obtained from [`Obj::as_ptr`] on an `Obj<O>` whose owner was set and
/// is still alive (the simulator keeps every object alive as long as its owner).
pub(crate) unsafe fn owner<'a, O, T>(this: *mut T) -> &'a O {
    // SAFETY: per this function's contract, `this` points to a live `Obj<O>` whose `owner`
    // points to a live `O`; both are only read here.
    unsafe {
        let obj = this as *const Obj<O>;
        &*(*obj).owner
    }
}

/// A heap allocation with a stable address that is only freed when this handle is dropped.
///
/// Pointers into it are handed to modules (strings, raw requests, arena blocks), so it is held
/// as a raw pointer rather than a `Box` that moves around.
pub(crate) struct Pinned<T: ?Sized>(NonNull<T>);

impl<T: ?Sized> Pinned<T> {
    /// Moves `value` to a stable heap location.
    pub(crate) fn new(value: Box<T>) -> Self {
        Pinned(NonNull::from(Box::leak(value)))
    }

    /// The address of the allocation.
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T: ?Sized> Drop for Pinned<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` in `Pinned::new` and is freed only here.
        unsafe { drop(Box::from_raw(self.0.as_ptr())) }
    }
}

// SAFETY: `Pinned<T>` owns its `T` like a `Box<T>` does.
unsafe impl<T: ?Sized + Send> Send for Pinned<T> {}

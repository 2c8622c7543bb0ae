//! Module-owned per-request state in IIS's module context container (`IHttpStoredContext`).

use core::any::TypeId;

use httpserv_sys::*;

/// An `IHttpStoredContext` holding a `T`; IIS calls `CleanupStoredContext` at the end of the
/// request, which drops it.
#[repr(C)]
pub(crate) struct StoredContext<T> {
    header: Header,
    value: T,
}

/// The part every `StoredContext<T>` starts with, whatever `T` is (`repr(C)`: same offsets).
#[repr(C)]
struct Header {
    vtbl: *const IHttpStoredContext_Vtbl,
    type_id: TypeId,
}

/// What can be stored: owned, sendable values (IIS may end the request on another thread).
pub(crate) trait Storable: Send + 'static {}
impl<T: Send + 'static> Storable for T {}

struct VtableOf<T>(core::marker::PhantomData<T>);

impl<T: Send + 'static> VtableOf<T> {
    const VTABLE: IHttpStoredContext_Vtbl = IHttpStoredContext_Vtbl { CleanupStoredContext: cleanup::<T> };
}

member_fn! {
    fn cleanup<T: Storable>(this: *mut IHttpStoredContext) {
        let _ = super::panic::catch(|| {
            // SAFETY: IIS calls this once, on a StoredContext<T> it received from `new`.
            unsafe { StoredContext::<T>::free(this) }
        });
    }
}

impl<T: Send + 'static> StoredContext<T> {
    pub(crate) fn new(value: T) -> *mut IHttpStoredContext {
        let boxed = Box::new(StoredContext { header: Header { vtbl: &VtableOf::<T>::VTABLE, type_id: TypeId::of::<T>() }, value });
        Box::into_raw(boxed).cast()
    }

    /// # Safety
    /// `this` came from `new::<T>` and is not used afterwards.
    pub(crate) unsafe fn free(this: *mut IHttpStoredContext) {
        // SAFETY: the caller's contract.
        drop(unsafe { Box::from_raw(this.cast::<StoredContext<T>>()) });
    }

    /// # Safety
    /// `this` is null or a live stored context created by this crate for the calling module.
    pub(crate) unsafe fn get<'a>(this: *mut IHttpStoredContext, expected: TypeId) -> Option<&'a T> {
        // SAFETY: every context this module stores is a `StoredContext<_>`, which starts with a
        // `Header` whatever its value type; only the header is read before the type check.
        let header = unsafe { this.cast::<Header>().as_ref()? };
        if header.type_id != expected {
            return None;
        }
        // SAFETY: the type id matches, so `this` is a live `StoredContext<T>`.
        Some(unsafe { &(*this.cast::<StoredContext<T>>()).value })
    }
}

//! `CGlobalModule` for a user's `GlobalModule`.

use core::marker::PhantomData;
use std::sync::Arc;

use httpserv_sys::*;

use super::module::server_trace;
use super::panic::{catch, trace_raw};
use super::registration::{Current, Registration};
use crate::module::{global_notifications, GlobalModule};
use crate::providers::*;

/// The global mask of a global module type, derived by `#[http_module]` from its handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `#[http_module] impl GlobalModule for {Self}` block",
    label = "no `#[http_module] impl GlobalModule` for this type",
    note = "`global = {Self}` needs `#[http_module] impl GlobalModule for {Self}`: the attribute registers the global handlers the block defines"
)]
pub trait GlobalHandlers {
    /// The `GL_*` bits for `IHttpModuleRegistrationInfo::SetGlobalNotifications`.
    const GLOBAL: u32;
}

/// The object IIS sees as a `CGlobalModule`, on the heap until `Terminate`.
#[repr(C)]
pub struct GlobalObject<G> {
    vtbl: *const CGlobalModule_Vtbl,
    /// The registration that created this global module (its server, module id and state).
    registration: Arc<Registration>,
    module: G,
}

struct VtableOf<G>(PhantomData<G>);

/// # Safety
/// `this` is a live `GlobalObject<G>`.
unsafe fn dispatch<G: GlobalModule>(this: *mut CGlobalModule, handler: &str, f: impl FnOnce(&G) -> Option<crate::GlobalNotificationStatus>) -> GLOBAL_NOTIFICATION_STATUS {
    // SAFETY: the caller's contract; global modules are shared (`Sync`: IIS calls them from
    // many threads at once), so `&G` suffices.
    let object = unsafe { &*this.cast::<GlobalObject<G>>() };
    // SAFETY: the object keeps its registration alive past the guard.
    let _current = unsafe { Current::enter(&*object.registration) };
    match catch(|| f(&object.module)) {
        Ok(status) => status.unwrap_or_default().to_raw(),
        Err(message) => {
            trace_raw(server_trace(&object.registration), &format!("httpserv: {handler} panicked: {message}"));
            GL_NOTIFICATION_CONTINUE
        }
    }
}

macro_rules! global_thunks {
    ($($slot:ident, $method:ident, $raw:ident, $provider:ident, $bit:ident;)*) => {
        $(
            member_fn! {
                #[allow(non_snake_case)]
                fn $slot<G: GlobalModule>(this: *mut CGlobalModule, provider: *mut $raw) -> GLOBAL_NOTIFICATION_STATUS {
                    // SAFETY: IIS calls this slot on the GlobalObject<G> we registered, with the
                    // live provider of the notification.
                    unsafe {
                        dispatch::<G>(this, concat!("GlobalModule::", stringify!($method)), |module| {
                            Some(module.$method(&$provider::from_raw(provider)?))
                        })
                    }
                }
            }
        )*

        impl<G: GlobalModule> VtableOf<G> {
            const VTABLE: CGlobalModule_Vtbl = CGlobalModule_Vtbl {
                $($slot: $slot::<G>,)*
                OnGlobalCacheCleanup: on_global_cache_cleanup::<G>,
                OnGlobalHealthCheck: on_global_health_check::<G>,
                OnSuspendProcess: on_suspend_process::<G>,
                Terminate: terminate::<G>,
            };
        }
    };
}

global_notifications!(global_thunks);

member_fn! {
    fn on_global_cache_cleanup<G: GlobalModule>(this: *mut CGlobalModule) -> GLOBAL_NOTIFICATION_STATUS {
        // SAFETY: as for the other slots.
        unsafe { dispatch::<G>(this, "GlobalModule::on_global_cache_cleanup", |m| Some(m.on_global_cache_cleanup())) }
    }
}

member_fn! {
    fn on_global_health_check<G: GlobalModule>(this: *mut CGlobalModule) -> GLOBAL_NOTIFICATION_STATUS {
        // SAFETY: as for the other slots.
        unsafe { dispatch::<G>(this, "GlobalModule::on_global_health_check", |m| Some(m.on_global_health_check())) }
    }
}

member_fn! {
    fn on_suspend_process<G: GlobalModule>(this: *mut CGlobalModule, callback: *mut *mut IGlobalSuspendProcessCallback) -> GLOBAL_NOTIFICATION_STATUS {
        if !callback.is_null() {
            // SAFETY: IIS passes a valid out pointer; this module offers no resume callback.
            unsafe { *callback = core::ptr::null_mut() };
        }
        // SAFETY: as for the other slots.
        unsafe { dispatch::<G>(this, "GlobalModule::on_suspend_process", |m| Some(m.on_suspend_process())) }
    }
}

member_fn! {
    fn terminate<G: GlobalModule>(this: *mut CGlobalModule) {
        // SAFETY: IIS terminates the global module it was given once, at shutdown.
        let _ = catch(|| unsafe { GlobalObject::<G>::free(this) });
    }
}

impl<G: GlobalModule> GlobalObject<G> {
    pub(crate) fn new(module: G, registration: Arc<Registration>) -> *mut CGlobalModule {
        Box::into_raw(Box::new(GlobalObject { vtbl: &VtableOf::<G>::VTABLE, registration, module })).cast()
    }

    /// # Safety
    /// `this` came from `new` and is not used afterwards.
    pub(crate) unsafe fn free(this: *mut CGlobalModule) {
        // SAFETY: the caller's contract.
        drop(unsafe { Box::from_raw(this.cast::<GlobalObject<G>>()) });
    }
}

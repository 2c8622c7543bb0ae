//! The seed's CancelIo module written against the raw ABI (`httpserv-sys`) only: a
//! `CHttpModule` and an `IHttpModuleFactory` whose vtables are filled by hand, and an exported
//! `RegisterModule`, exactly as the C++ sample lays them out. This is what `#[http_module]`
//! generates for you; it exists to test the ABI without the safe layer.
#![allow(non_snake_case)]


use httpserv_sys::*;
use windows_sys::core::{BOOL, HRESULT};

const S_OK: HRESULT = 0;
const E_OUTOFMEMORY: HRESULT = 0x8007_000E_u32 as i32;

/// Defines a function C++ calls as a member: `thiscall` on x86, `system` elsewhere.
macro_rules! member {
    (fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? $body:block) => {
        #[cfg(target_arch = "x86")]
        unsafe extern "thiscall" fn $name($($arg: $ty),*) $(-> $ret)? $body
        #[cfg(not(target_arch = "x86"))]
        unsafe extern "system" fn $name($($arg: $ty),*) $(-> $ret)? $body
    };
}

/// The module object: just the vtable pointer, like the C++ class with no fields.
#[repr(C)]
struct Module {
    vtbl: *const CHttpModule_Vtbl,
}

macro_rules! continue_slots {
    ($($slot:ident: $provider:ty),*) => {
        $(member! { fn $slot(_this: *mut CHttpModule, _context: *mut IHttpContext, _provider: *mut $provider) -> REQUEST_NOTIFICATION_STATUS {
            RQ_NOTIFICATION_CONTINUE
        } })*
    };
}

continue_slots! {
    begin: IHttpEventProvider, authenticate: IAuthenticationProvider, map_handler: IMapHandlerProvider,
    map_path: IMapPathProvider, read_entity: IReadEntityProvider, custom: ICustomNotificationProvider
}

member! { fn on_send_response(_this: *mut CHttpModule, context: *mut IHttpContext, _provider: *mut ISendResponseProvider) -> REQUEST_NOTIFICATION_STATUS {
    // SAFETY: IIS passes the live context of the notification.
    unsafe { ((*(*context).lpVtbl).CancelIo)(context) };
    RQ_NOTIFICATION_CONTINUE
} }

member! { fn on_async_completion(_this: *mut CHttpModule, _context: *mut IHttpContext, _notification: u32, _post: BOOL, _provider: *mut IHttpEventProvider, _completion: *mut IHttpCompletionInfo) -> REQUEST_NOTIFICATION_STATUS {
    RQ_NOTIFICATION_CONTINUE
} }

member! { fn dispose(_this: *mut CHttpModule) {
    // The module lives in IModuleAllocator memory, which IIS frees with the request.
} }

member! { fn destructor(this: *mut CHttpModule, _flags: u32) -> *mut core::ffi::c_void {
    this.cast()
} }

static MODULE_VTABLE: CHttpModule_Vtbl = CHttpModule_Vtbl {
    OnBeginRequest: begin,
    OnPostBeginRequest: begin,
    OnAuthenticateRequest: authenticate,
    OnPostAuthenticateRequest: begin,
    OnAuthorizeRequest: begin,
    OnPostAuthorizeRequest: begin,
    OnResolveRequestCache: begin,
    OnPostResolveRequestCache: begin,
    OnMapRequestHandler: map_handler,
    OnPostMapRequestHandler: begin,
    OnAcquireRequestState: begin,
    OnPostAcquireRequestState: begin,
    OnPreExecuteRequestHandler: begin,
    OnPostPreExecuteRequestHandler: begin,
    OnExecuteRequestHandler: begin,
    OnPostExecuteRequestHandler: begin,
    OnReleaseRequestState: begin,
    OnPostReleaseRequestState: begin,
    OnUpdateRequestCache: begin,
    OnPostUpdateRequestCache: begin,
    OnLogRequest: begin,
    OnPostLogRequest: begin,
    OnEndRequest: begin,
    OnPostEndRequest: begin,
    OnSendResponse: on_send_response,
    OnMapPath: map_path,
    OnReadEntity: read_entity,
    OnCustomRequestNotification: custom,
    OnAsyncCompletion: on_async_completion,
    Dispose: dispose,
    Destructor: destructor,
};

/// The factory: a static object, since it has no state.
#[repr(C)]
struct Factory {
    vtbl: *const IHttpModuleFactory_Vtbl,
}

member! { fn get_http_module(_this: *mut IHttpModuleFactory, module: *mut *mut CHttpModule, allocator: *mut IModuleAllocator) -> HRESULT {
    // SAFETY: IIS passes a live allocator and a valid out pointer.
    unsafe {
        let memory = ((*(*allocator).lpVtbl).AllocateMemory)(allocator, core::mem::size_of::<Module>() as u32).cast::<Module>();
        if memory.is_null() {
            return E_OUTOFMEMORY;
        }
        memory.write(Module { vtbl: &MODULE_VTABLE });
        *module = memory.cast();
    }
    S_OK
} }

member! { fn terminate(_this: *mut IHttpModuleFactory) {
    // Static factory: nothing to free.
} }

static FACTORY_VTABLE: IHttpModuleFactory_Vtbl = IHttpModuleFactory_Vtbl { GetHttpModule: get_http_module, Terminate: terminate };

struct SyncFactory(core::cell::UnsafeCell<Factory>);
// SAFETY: the factory is immutable; IIS only reads its vtable pointer.
unsafe impl Sync for SyncFactory {}
static FACTORY: SyncFactory = SyncFactory(core::cell::UnsafeCell::new(Factory { vtbl: &FACTORY_VTABLE }));

/// Registers for `RQ_SEND_RESPONSE`, as the seed does.
///
/// # Safety
/// Called by IIS with its registration info and server.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn RegisterModule(_version: u32, info: *mut IHttpModuleRegistrationInfo, _server: *mut IHttpServer) -> HRESULT {
    if info.is_null() {
        return 0x8000_4003_u32 as i32; // E_POINTER
    }
    let factory = FACTORY.0.get().cast::<IHttpModuleFactory>();
    // SAFETY: live registration info; the factory is static, so it outlives IIS's use of it.
    unsafe { ((*(*info).lpVtbl).SetRequestNotifications)(info, factory, RQ_SEND_RESPONSE, 0) }
}


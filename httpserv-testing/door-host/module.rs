//! A raw module (vtables filled by hand, against `httpserv-sys` only, as a C++ compiler would) for
//! the DLL door's host test: `door-host/main.rs` serves it over the protocol, and
//! `tests/door.rs` runs it in-process too, so the same requests go through both doors.
//!
//! What it does, so that the transcripts have something to compare: a global module for
//! `GL_APPLICATION_START`, `GL_CONFIGURATION_CHANGE` and `GL_FILE_CHANGE` that reads the change
//! path; `OnBeginRequest` (priority `HIGH`) sets `X-Door: begin`; `OnPostBeginRequest` continues;
//! `OnExecuteRequestHandler` reads the entity body, answers `201 Created` with the bytes
//! `00 ff fe` then the body, and returns `FINISH_REQUEST` if the request has `X-Finish`,
//! `PENDING` (with nothing to complete it) if it has `X-Pending`; `OnSendResponse` calls
//! `CancelIo`.

use std::ffi::c_void;

use httpserv_sys::*;
use windows_sys::core::{BOOL, HRESULT, PCSTR};
use windows_sys::Win32::Networking::HttpServer::{
    HttpDataChunkFromMemory, HTTP_DATA_CHUNK, HTTP_DATA_CHUNK_0, HTTP_DATA_CHUNK_0_0,
};

/// Defines a virtual method with the ABI `httpserv-sys` declares (`thiscall` on x86), whose body
/// runs inside `catch_unwind`: a panic aborts the process rather than unwind into the caller.
macro_rules! vmethod {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block)*) => {$(
        #[cfg(target_arch = "x86")]
        unsafe extern "thiscall" fn $name($($arg: $ty),*) $(-> $ret)? {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body))
                .unwrap_or_else(|_| std::process::abort())
        }
        #[cfg(not(target_arch = "x86"))]
        unsafe extern "system" fn $name($($arg: $ty),*) $(-> $ret)? {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body))
                .unwrap_or_else(|_| std::process::abort())
        }
    )*};
}

/// Calls a virtual method: `call!(object, Method, args...)`.
macro_rules! call {
    ($obj:expr, $method:ident $(, $arg:expr)* $(,)?) => {{
        let object = $obj;
        ((*(*object).lpVtbl).$method)(object $(, $arg)*)
    }};
}

/// A C string literal as a `PCSTR`.
macro_rules! a {
    ($s:literal) => {
        concat!($s, "\0").as_ptr() as PCSTR
    };
}

#[repr(C)]
struct Module {
    base: CHttpModule,
}

#[repr(C)]
struct Factory {
    base: IHttpModuleFactory,
}

#[repr(C)]
struct Global {
    base: CGlobalModule,
}

vmethod! {
    fn on_begin(_this: *mut CHttpModule, ctx: *mut IHttpContext, _p: *mut IHttpEventProvider) -> REQUEST_NOTIFICATION_STATUS {
        // SAFETY: the simulator passes a live context; the header strings are literals.
        unsafe {
            let response = call!(ctx, GetResponse);
            call!(response, SetHeader, a!("X-Door"), a!("begin"), 5, 1);
        }
        RQ_NOTIFICATION_CONTINUE
    }
    fn on_continue(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut IHttpEventProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn on_continue_auth(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut IAuthenticationProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn on_continue_map(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut IMapHandlerProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn on_execute(_this: *mut CHttpModule, ctx: *mut IHttpContext, _p: *mut IHttpEventProvider) -> REQUEST_NOTIFICATION_STATUS {
        // SAFETY: the simulator passes a live context; every buffer handed over is ours and
        // outlives the call it is given to.
        unsafe {
            let request = call!(ctx, GetRequest);
            let response = call!(ctx, GetResponse);
            let mut body = vec![0x00u8, 0xff, 0xfe];
            let mut buffer = [0u8; 4096];
            loop {
                let mut received = 0u32;
                let mut pending: BOOL = 0;
                let hr = call!(request, ReadEntityBody, buffer.as_mut_ptr().cast(), buffer.len() as u32, 0, &mut received, &mut pending);
                if hr < 0 || received == 0 {
                    break;
                }
                body.extend_from_slice(&buffer[..received as usize]);
            }
            call!(response, SetStatus, 201, a!("Created"), 0, 0, std::ptr::null_mut(), 0);
            let mut chunk = HTTP_DATA_CHUNK {
                DataChunkType: HttpDataChunkFromMemory,
                Anonymous: HTTP_DATA_CHUNK_0 {
                    FromMemory: HTTP_DATA_CHUNK_0_0 {
                        pBuffer: body.as_mut_ptr().cast::<c_void>(),
                        BufferLength: body.len() as u32,
                    },
                },
            };
            let mut sent = 0u32;
            let mut expected: BOOL = 0;
            call!(response, WriteEntityChunks, &mut chunk, 1, 0, 0, &mut sent, &mut expected);
            let mut len = 0u16;
            if !call!(request, GetHeader, a!("X-Pending"), &mut len).is_null() {
                return RQ_NOTIFICATION_PENDING;
            }
            if !call!(request, GetHeader, a!("X-Finish"), &mut len).is_null() {
                return RQ_NOTIFICATION_FINISH_REQUEST;
            }
        }
        RQ_NOTIFICATION_CONTINUE
    }
    fn on_send_response(_this: *mut CHttpModule, ctx: *mut IHttpContext, _p: *mut ISendResponseProvider) -> REQUEST_NOTIFICATION_STATUS {
        // SAFETY: the simulator passes a live context.
        unsafe { call!(ctx, CancelIo) };
        RQ_NOTIFICATION_CONTINUE
    }
    fn on_map_path(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut IMapPathProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn on_read_entity(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut IReadEntityProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn on_custom(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut ICustomNotificationProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn on_async(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _n: u32, _post: BOOL, _p: *mut IHttpEventProvider, _c: *mut IHttpCompletionInfo) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn dispose(this: *mut CHttpModule) {
        // SAFETY: created with Box::into_raw in get_http_module; this is its last call.
        unsafe { drop(Box::from_raw(this as *mut Module)) };
    }
    fn destructor(this: *mut CHttpModule, _flags: u32) -> *mut c_void {
        this.cast()
    }
    fn get_http_module(_this: *mut IHttpModuleFactory, module: *mut *mut CHttpModule, _allocator: *mut IModuleAllocator) -> HRESULT {
        let instance = Box::new(Module { base: CHttpModule { lpVtbl: &MODULE_VTBL } });
        // SAFETY: `module` is the simulator's writable out-pointer.
        unsafe { module.write(Box::into_raw(instance).cast()) };
        0
    }
    fn terminate(this: *mut IHttpModuleFactory) {
        // SAFETY: created with Box::into_raw in register; this is its last call.
        unsafe { drop(Box::from_raw(this as *mut Factory)) };
    }
    fn gl_continue_stop(_this: *mut CGlobalModule, _p: *mut IGlobalStopListeningProvider) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_continue_none(_this: *mut CGlobalModule) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_continue_cache(_this: *mut CGlobalModule, _p: *mut ICacheProvider) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_configuration_change(_this: *mut CGlobalModule, p: *mut IGlobalConfigurationChangeProvider) -> GLOBAL_NOTIFICATION_STATUS {
        // SAFETY: the simulator passes a live provider.
        unsafe { call!(p, GetChangePath) };
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_file_change(_this: *mut CGlobalModule, p: *mut IGlobalFileChangeProvider) -> GLOBAL_NOTIFICATION_STATUS {
        // SAFETY: the simulator passes a live provider.
        unsafe { call!(p, GetFileName) };
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_continue_pre_begin(_this: *mut CGlobalModule, _p: *mut IPreBeginRequestProvider) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_application_start(_this: *mut CGlobalModule, p: *mut IHttpApplicationStartProvider) -> GLOBAL_NOTIFICATION_STATUS {
        // SAFETY: the simulator passes a live provider.
        unsafe { call!(p, GetApplication) };
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_continue_resolve(_this: *mut CGlobalModule, _p: *mut IHttpApplicationResolveModulesProvider) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_continue_app_stop(_this: *mut CGlobalModule, _p: *mut IHttpApplicationStopProvider) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_continue_rsca(_this: *mut CGlobalModule, _p: *mut IGlobalRSCAQueryProvider) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_continue_trace(_this: *mut CGlobalModule, _p: *mut IGlobalTraceEventProvider) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_continue_custom(_this: *mut CGlobalModule, _p: *mut ICustomNotificationProvider) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_terminate(this: *mut CGlobalModule) {
        // SAFETY: created with Box::into_raw in register; this is its last call.
        unsafe { drop(Box::from_raw(this as *mut Global)) };
    }
    fn gl_continue_thread(_this: *mut CGlobalModule, _p: *mut IGlobalThreadCleanupProvider) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_continue_preload(_this: *mut CGlobalModule, _p: *mut IGlobalApplicationPreloadProvider) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
    fn gl_continue_suspend(_this: *mut CGlobalModule, _p: *mut *mut IGlobalSuspendProcessCallback) -> GLOBAL_NOTIFICATION_STATUS {
        GL_NOTIFICATION_CONTINUE
    }
}

static MODULE_VTBL: CHttpModule_Vtbl = CHttpModule_Vtbl {
    OnBeginRequest: on_begin,
    OnPostBeginRequest: on_continue,
    OnAuthenticateRequest: on_continue_auth,
    OnPostAuthenticateRequest: on_continue,
    OnAuthorizeRequest: on_continue,
    OnPostAuthorizeRequest: on_continue,
    OnResolveRequestCache: on_continue,
    OnPostResolveRequestCache: on_continue,
    OnMapRequestHandler: on_continue_map,
    OnPostMapRequestHandler: on_continue,
    OnAcquireRequestState: on_continue,
    OnPostAcquireRequestState: on_continue,
    OnPreExecuteRequestHandler: on_continue,
    OnPostPreExecuteRequestHandler: on_continue,
    OnExecuteRequestHandler: on_execute,
    OnPostExecuteRequestHandler: on_continue,
    OnReleaseRequestState: on_continue,
    OnPostReleaseRequestState: on_continue,
    OnUpdateRequestCache: on_continue,
    OnPostUpdateRequestCache: on_continue,
    OnLogRequest: on_continue,
    OnPostLogRequest: on_continue,
    OnEndRequest: on_continue,
    OnPostEndRequest: on_continue,
    OnSendResponse: on_send_response,
    OnMapPath: on_map_path,
    OnReadEntity: on_read_entity,
    OnCustomRequestNotification: on_custom,
    OnAsyncCompletion: on_async,
    Dispose: dispose,
    Destructor: destructor,
};

static FACTORY_VTBL: IHttpModuleFactory_Vtbl = IHttpModuleFactory_Vtbl {
    GetHttpModule: get_http_module,
    Terminate: terminate,
};

static GLOBAL_VTBL: CGlobalModule_Vtbl = CGlobalModule_Vtbl {
    OnGlobalStopListening: gl_continue_stop,
    OnGlobalCacheCleanup: gl_continue_none,
    OnGlobalCacheOperation: gl_continue_cache,
    OnGlobalHealthCheck: gl_continue_none,
    OnGlobalConfigurationChange: gl_configuration_change,
    OnGlobalFileChange: gl_file_change,
    OnGlobalPreBeginRequest: gl_continue_pre_begin,
    OnGlobalApplicationStart: gl_application_start,
    OnGlobalApplicationResolveModules: gl_continue_resolve,
    OnGlobalApplicationStop: gl_continue_app_stop,
    OnGlobalRSCAQuery: gl_continue_rsca,
    OnGlobalTraceEvent: gl_continue_trace,
    OnGlobalCustomNotification: gl_continue_custom,
    Terminate: gl_terminate,
    OnGlobalThreadCleanup: gl_continue_thread,
    OnGlobalApplicationPreload: gl_continue_preload,
    OnSuspendProcess: gl_continue_suspend,
};

/// The module's `RegisterModule`.
///
/// # Safety
///
/// `info` must be a live registration info, as IIS passes it.
pub unsafe extern "system" fn register_module(
    _version: u32,
    info: *mut IHttpModuleRegistrationInfo,
    _server: *mut IHttpServer,
) -> HRESULT {
    let factory = Box::into_raw(Box::new(Factory { base: IHttpModuleFactory { lpVtbl: &FACTORY_VTBL } }));
    let global = Box::into_raw(Box::new(Global { base: CGlobalModule { lpVtbl: &GLOBAL_VTBL } }));
    // SAFETY: per the contract; the factory and global module stay alive until Terminate.
    unsafe {
        let hr = call!(info, SetRequestNotifications, factory.cast(), RQ_BEGIN_REQUEST | RQ_EXECUTE_REQUEST_HANDLER | RQ_SEND_RESPONSE, RQ_BEGIN_REQUEST);
        if hr < 0 {
            return hr;
        }
        let hr = call!(info, SetGlobalNotifications, global.cast(), GL_APPLICATION_START | GL_CONFIGURATION_CHANGE | GL_FILE_CHANGE);
        if hr < 0 {
            return hr;
        }
        call!(info, SetPriorityForRequestNotification, RQ_BEGIN_REQUEST, windows_sys::core::w!("HIGH"))
    }
}

/// A `RegisterModule` that registers a factory and then fails with `E_INVALIDARG`.
///
/// # Safety
///
/// As [`register_module`].
pub unsafe extern "system" fn register_failing(
    _version: u32,
    info: *mut IHttpModuleRegistrationInfo,
    _server: *mut IHttpServer,
) -> HRESULT {
    let factory = Box::into_raw(Box::new(Factory { base: IHttpModuleFactory { lpVtbl: &FACTORY_VTBL } }));
    // SAFETY: per the contract; the simulator terminates the factory when registration fails.
    unsafe { call!(info, SetRequestNotifications, factory.cast(), RQ_BEGIN_REQUEST, 0) };
    windows_sys::Win32::Foundation::E_INVALIDARG
}

//! Tests of the simulator with raw modules written against `httpserv-sys` only: vtables filled
//! by hand, as a C++ module's compiler would.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::mem::size_of;

use httpserv_sys::*;
use windows_sys::core::{w, BOOL, HRESULT, PCSTR, PCWSTR};
use windows_sys::Win32::Networking::HttpServer::*;
use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6, SOCKADDR_IN, SOCKADDR_IN6};
use windows_sys::Win32::System::Iis::{
    HTTP_TRACE_EVENT, HTTP_TRACE_EVENT_ITEM, HTTP_TRACE_TYPE_LPCWSTR, HTTP_TRACE_TYPE_ULONG,
};

use super::strings::{
    from_pcstr, from_pcstr_len, from_pcwstr, from_pcwstr_len, HR_HANDLE_EOF,
    HR_INSUFFICIENT_BUFFER, HR_INVALID_INDEX,
};
use super::thunk::thunks;
use super::*;

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

thread_local! {
    /// What test modules observed, for the test to assert on (requests run on the test thread).
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// The `IHttpServer` the module got at registration.
    static SERVER: Cell<*mut IHttpServer> = const { Cell::new(std::ptr::null_mut()) };
}

fn log(entry: impl Into<String>) {
    LOG.with(|l| l.borrow_mut().push(entry.into()));
}

fn take_log() -> Vec<String> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

// =============================================================================================
// The seed sample, IHttpContext::CancelIo, ported by hand: a module that registers
// RQ_SEND_RESPONSE and cancels pending I/O in OnSendResponse.

#[repr(C)]
struct CancelIoModule {
    base: CHttpModule,
}

#[repr(C)]
struct CancelIoFactory {
    base: IHttpModuleFactory,
}

thunks! {
    fn cancel_io_continue(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut IHttpEventProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn cancel_io_continue_auth(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut IAuthenticationProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn cancel_io_continue_map(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut IMapHandlerProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn cancel_io_on_send_response(_this: *mut CHttpModule, ctx: *mut IHttpContext, _p: *mut ISendResponseProvider) -> REQUEST_NOTIFICATION_STATUS {
        // SAFETY: the simulator passes a live IHttpContext.
        unsafe { call!(ctx, CancelIo) };
        RQ_NOTIFICATION_CONTINUE
    }
    fn cancel_io_continue_map_path(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut IMapPathProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn cancel_io_continue_read(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut IReadEntityProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn cancel_io_continue_custom(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _p: *mut ICustomNotificationProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn cancel_io_async(_this: *mut CHttpModule, _ctx: *mut IHttpContext, _n: u32, _post: BOOL, _p: *mut IHttpEventProvider, _c: *mut IHttpCompletionInfo) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }
    fn cancel_io_dispose(this: *mut CHttpModule) {
        // SAFETY: the module was created with Box::into_raw in GetHttpModule (C++: `delete this`).
        unsafe { drop(Box::from_raw(this as *mut CancelIoModule)) };
    }
    fn cancel_io_destructor(this: *mut CHttpModule, _flags: u32) -> *mut c_void {
        this.cast()
    }
    fn cancel_io_get_http_module(_this: *mut IHttpModuleFactory, module: *mut *mut CHttpModule, _allocator: *mut IModuleAllocator) -> HRESULT {
        let instance = Box::new(CancelIoModule { base: CHttpModule { lpVtbl: &CANCEL_IO_MODULE_VTBL } });
        // SAFETY: `module` is the simulator's writable out-pointer.
        unsafe { module.write(Box::into_raw(instance).cast()) };
        0
    }
    fn cancel_io_terminate(this: *mut IHttpModuleFactory) {
        // SAFETY: the factory was created with Box::into_raw in RegisterModule.
        unsafe { drop(Box::from_raw(this as *mut CancelIoFactory)) };
    }
}

static CANCEL_IO_MODULE_VTBL: CHttpModule_Vtbl = CHttpModule_Vtbl {
    OnBeginRequest: cancel_io_continue,
    OnPostBeginRequest: cancel_io_continue,
    OnAuthenticateRequest: cancel_io_continue_auth,
    OnPostAuthenticateRequest: cancel_io_continue,
    OnAuthorizeRequest: cancel_io_continue,
    OnPostAuthorizeRequest: cancel_io_continue,
    OnResolveRequestCache: cancel_io_continue,
    OnPostResolveRequestCache: cancel_io_continue,
    OnMapRequestHandler: cancel_io_continue_map,
    OnPostMapRequestHandler: cancel_io_continue,
    OnAcquireRequestState: cancel_io_continue,
    OnPostAcquireRequestState: cancel_io_continue,
    OnPreExecuteRequestHandler: cancel_io_continue,
    OnPostPreExecuteRequestHandler: cancel_io_continue,
    OnExecuteRequestHandler: cancel_io_continue,
    OnPostExecuteRequestHandler: cancel_io_continue,
    OnReleaseRequestState: cancel_io_continue,
    OnPostReleaseRequestState: cancel_io_continue,
    OnUpdateRequestCache: cancel_io_continue,
    OnPostUpdateRequestCache: cancel_io_continue,
    OnLogRequest: cancel_io_continue,
    OnPostLogRequest: cancel_io_continue,
    OnEndRequest: cancel_io_continue,
    OnPostEndRequest: cancel_io_continue,
    OnSendResponse: cancel_io_on_send_response,
    OnMapPath: cancel_io_continue_map_path,
    OnReadEntity: cancel_io_continue_read,
    OnCustomRequestNotification: cancel_io_continue_custom,
    OnAsyncCompletion: cancel_io_async,
    Dispose: cancel_io_dispose,
    Destructor: cancel_io_destructor,
};

static CANCEL_IO_FACTORY_VTBL: IHttpModuleFactory_Vtbl = IHttpModuleFactory_Vtbl {
    GetHttpModule: cancel_io_get_http_module,
    Terminate: cancel_io_terminate,
};

/// The sample's `RegisterModule`.
unsafe extern "system" fn cancel_io_register(
    _version: u32,
    info: *mut IHttpModuleRegistrationInfo,
    _server: *mut IHttpServer,
) -> HRESULT {
    let factory = Box::into_raw(Box::new(CancelIoFactory {
        base: IHttpModuleFactory {
            lpVtbl: &CANCEL_IO_FACTORY_VTBL,
        },
    }));
    // SAFETY: IIS (here the simulator) passes a live registration info.
    unsafe {
        call!(
            info,
            SetRequestNotifications,
            factory.cast(),
            RQ_SEND_RESPONSE,
            0
        )
    }
}

#[test]
fn cancel_io_sample_cancels_io_in_send_response() {
    let server = TestServer::new(cancel_io_register).expect("RegisterModule");
    assert_eq!(server.request_notifications(), RQ_SEND_RESPONSE);
    assert_eq!(server.post_request_notifications(), 0);
    assert_eq!(server.global_notifications(), 0);
    assert!(server.has_factory() && !server.has_global_module());

    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.reason, "OK");
    assert!(response.body.is_empty());
    assert_eq!(response.called("CHttpModule::OnSendResponse"), 1);
    assert_eq!(response.called("IHttpContext::CancelIo"), 1);
    assert_eq!(
        response.called_during("IHttpContext::CancelIo", Notification::SendResponse),
        1
    );
    assert_eq!(
        response.notifications(),
        vec![Handler::On(Notification::SendResponse)]
    );
    // One transcript, in the order things happened: the call made inside the handler sits
    // between the handler's entry and its return; HRESULTs by name.
    assert_eq!(
        response.transcript(),
        "IHttpModuleFactory::GetHttpModule\n\
         IHttpModuleFactory::GetHttpModule returned S_OK\n\
         [SendResponse] CHttpModule::OnSendResponse\n\
         [SendResponse] IHttpContext::CancelIo: -> S_OK\n\
         [SendResponse] CHttpModule::OnSendResponse returned RQ_NOTIFICATION_CONTINUE\n\
         CHttpModule::Dispose\n"
    );

    let second = server.send(TestRequest::post("/upload", "data"));
    assert_eq!(
        second.called_during("IHttpContext::CancelIo", Notification::SendResponse),
        1
    );

    let report = server.shutdown();
    assert_eq!(report.requests, 2);
    assert_eq!(report.modules_created, 2);
    assert_eq!(report.modules_disposed, 2);
    assert!(report.factory_terminated);
    assert!(!report.global_terminated);
    assert_eq!(report.called("IHttpModuleFactory::Terminate"), 1);
}

// =============================================================================================
// A kit for the other raw modules: one static `Spec` per module (masks and a handler for every
// notification), one shared CHttpModule vtable that dispatches to it.

/// A notification as a test module's handler sees it.
struct Event {
    /// The `RQ_*` flag (for `OnAsyncCompletion`: the notification that completed).
    flag: u32,
    post: bool,
    async_completion: bool,
    ctx: *mut IHttpContext,
    provider: *mut c_void,
}

struct Spec {
    request: u32,
    post: u32,
    global: u32,
    /// Create modules with the `IModuleAllocator` (freed with the request) instead of `Box`.
    use_allocator: bool,
    handler: fn(&Event) -> REQUEST_NOTIFICATION_STATUS,
    global_handler: fn(u32, *mut c_void) -> GLOBAL_NOTIFICATION_STATUS,
    /// Runs at the end of RegisterModule; its result is RegisterModule's.
    extra: fn(*mut IHttpModuleRegistrationInfo, *mut IHttpServer) -> HRESULT,
}

const SPEC: Spec = Spec {
    request: 0,
    post: 0,
    global: 0,
    use_allocator: false,
    handler: |_| RQ_NOTIFICATION_CONTINUE,
    global_handler: |_, _| GL_NOTIFICATION_CONTINUE,
    extra: |_, _| 0,
};

#[repr(C)]
struct KitModule {
    base: CHttpModule,
    spec: &'static Spec,
}

#[repr(C)]
struct KitFactory {
    base: IHttpModuleFactory,
    spec: &'static Spec,
}

#[repr(C)]
struct KitGlobal {
    base: CGlobalModule,
    spec: &'static Spec,
}

/// # Safety
///
/// `this` must be a `KitModule`.
unsafe fn dispatch(
    this: *mut CHttpModule,
    flag: u32,
    post: bool,
    ctx: *mut IHttpContext,
    provider: *mut c_void,
) -> REQUEST_NOTIFICATION_STATUS {
    // SAFETY: per the contract.
    let spec = unsafe { (*(this as *mut KitModule)).spec };
    (spec.handler)(&Event {
        flag,
        post,
        async_completion: false,
        ctx,
        provider,
    })
}

macro_rules! kit_handlers {
    ($($name:ident($provider:ty) => $flag:expr, $post:expr;)*) => {
        thunks! {$(
            fn $name(this: *mut CHttpModule, ctx: *mut IHttpContext, p: *mut $provider) -> REQUEST_NOTIFICATION_STATUS {
                // SAFETY: the simulator calls this on a module the kit's factory created.
                unsafe { dispatch(this, $flag, $post, ctx, p.cast()) }
            }
        )*}
    };
}

kit_handlers! {
    kit_begin(IHttpEventProvider) => RQ_BEGIN_REQUEST, false;
    kit_post_begin(IHttpEventProvider) => RQ_BEGIN_REQUEST, true;
    kit_authenticate(IAuthenticationProvider) => RQ_AUTHENTICATE_REQUEST, false;
    kit_post_authenticate(IHttpEventProvider) => RQ_AUTHENTICATE_REQUEST, true;
    kit_authorize(IHttpEventProvider) => RQ_AUTHORIZE_REQUEST, false;
    kit_post_authorize(IHttpEventProvider) => RQ_AUTHORIZE_REQUEST, true;
    kit_resolve(IHttpEventProvider) => RQ_RESOLVE_REQUEST_CACHE, false;
    kit_post_resolve(IHttpEventProvider) => RQ_RESOLVE_REQUEST_CACHE, true;
    kit_map_handler(IMapHandlerProvider) => RQ_MAP_REQUEST_HANDLER, false;
    kit_post_map_handler(IHttpEventProvider) => RQ_MAP_REQUEST_HANDLER, true;
    kit_acquire(IHttpEventProvider) => RQ_ACQUIRE_REQUEST_STATE, false;
    kit_post_acquire(IHttpEventProvider) => RQ_ACQUIRE_REQUEST_STATE, true;
    kit_pre_execute(IHttpEventProvider) => RQ_PRE_EXECUTE_REQUEST_HANDLER, false;
    kit_post_pre_execute(IHttpEventProvider) => RQ_PRE_EXECUTE_REQUEST_HANDLER, true;
    kit_execute(IHttpEventProvider) => RQ_EXECUTE_REQUEST_HANDLER, false;
    kit_post_execute(IHttpEventProvider) => RQ_EXECUTE_REQUEST_HANDLER, true;
    kit_release(IHttpEventProvider) => RQ_RELEASE_REQUEST_STATE, false;
    kit_post_release(IHttpEventProvider) => RQ_RELEASE_REQUEST_STATE, true;
    kit_update(IHttpEventProvider) => RQ_UPDATE_REQUEST_CACHE, false;
    kit_post_update(IHttpEventProvider) => RQ_UPDATE_REQUEST_CACHE, true;
    kit_log(IHttpEventProvider) => RQ_LOG_REQUEST, false;
    kit_post_log(IHttpEventProvider) => RQ_LOG_REQUEST, true;
    kit_end(IHttpEventProvider) => RQ_END_REQUEST, false;
    kit_post_end(IHttpEventProvider) => RQ_END_REQUEST, true;
    kit_send_response(ISendResponseProvider) => RQ_SEND_RESPONSE, false;
    kit_map_path(IMapPathProvider) => RQ_MAP_PATH, false;
    kit_read_entity(IReadEntityProvider) => RQ_READ_ENTITY, false;
    kit_custom(ICustomNotificationProvider) => RQ_CUSTOM_NOTIFICATION, false;
}

macro_rules! kit_global_handlers {
    ($($name:ident($($provider:ty)?) => $flag:expr;)*) => {
        thunks! {$(
            fn $name(this: *mut CGlobalModule $(, p: *mut $provider)?) -> GLOBAL_NOTIFICATION_STATUS {
                #[allow(unused_mut, unused_assignments)]
                let mut provider: *mut c_void = std::ptr::null_mut();
                $( provider = (p as *mut $provider).cast(); )?
                // SAFETY: the simulator calls this on the kit's global module.
                let spec = unsafe { (*(this as *mut KitGlobal)).spec };
                (spec.global_handler)($flag, provider)
            }
        )*}
    };
}

kit_global_handlers! {
    kit_gl_stop_listening(IGlobalStopListeningProvider) => GL_STOP_LISTENING;
    kit_gl_cache_cleanup() => GL_CACHE_CLEANUP;
    kit_gl_cache_operation(ICacheProvider) => GL_CACHE_OPERATION;
    kit_gl_health_check() => GL_HEALTH_CHECK;
    kit_gl_configuration_change(IGlobalConfigurationChangeProvider) => GL_CONFIGURATION_CHANGE;
    kit_gl_file_change(IGlobalFileChangeProvider) => GL_FILE_CHANGE;
    kit_gl_pre_begin(IPreBeginRequestProvider) => GL_PRE_BEGIN_REQUEST;
    kit_gl_application_start(IHttpApplicationStartProvider) => GL_APPLICATION_START;
    kit_gl_resolve_modules(IHttpApplicationResolveModulesProvider) => GL_APPLICATION_RESOLVE_MODULES;
    kit_gl_application_stop(IHttpApplicationStopProvider) => GL_APPLICATION_STOP;
    kit_gl_rsca_query(IGlobalRSCAQueryProvider) => GL_RSCA_QUERY;
    kit_gl_trace_event(IGlobalTraceEventProvider) => GL_TRACE_EVENT;
    kit_gl_custom(ICustomNotificationProvider) => GL_CUSTOM_NOTIFICATION;
    kit_gl_thread_cleanup(IGlobalThreadCleanupProvider) => GL_THREAD_CLEANUP;
    kit_gl_preload(IGlobalApplicationPreloadProvider) => GL_APPLICATION_PRELOAD;
    kit_gl_suspend(*mut IGlobalSuspendProcessCallback) => GL_SUSPEND_PROCESS;
}

thunks! {
    fn kit_async_completion(this: *mut CHttpModule, ctx: *mut IHttpContext, notification: u32, post: BOOL, _p: *mut IHttpEventProvider, info: *mut IHttpCompletionInfo) -> REQUEST_NOTIFICATION_STATUS {
        // SAFETY: called on a kit module.
        let spec = unsafe { (*(this as *mut KitModule)).spec };
        (spec.handler)(&Event { flag: notification, post: post != 0, async_completion: true, ctx, provider: info.cast() })
    }

    fn kit_dispose(this: *mut CHttpModule) {
        // SAFETY: called on a kit module, created by the kit's factory.
        let spec = unsafe { (*(this as *mut KitModule)).spec };
        log("Dispose");
        if !spec.use_allocator {
            // SAFETY: created with Box::into_raw (allocator modules live in request memory).
            unsafe { drop(Box::from_raw(this as *mut KitModule)) };
        }
    }

    fn kit_destructor(this: *mut CHttpModule, _flags: u32) -> *mut c_void {
        this.cast()
    }

    fn kit_get_http_module(this: *mut IHttpModuleFactory, module: *mut *mut CHttpModule, allocator: *mut IModuleAllocator) -> HRESULT {
        // SAFETY: called on a kit factory.
        let spec = unsafe { (*(this as *mut KitFactory)).spec };
        let instance = KitModule { base: CHttpModule { lpVtbl: &KIT_MODULE_VTBL }, spec };
        let created: *mut KitModule = if spec.use_allocator {
            // SAFETY: the allocator is live; its memory is 16-aligned, large enough, and lives
            // until the request ends, after Dispose.
            unsafe {
                let memory = call!(allocator, AllocateMemory, size_of::<KitModule>() as u32) as *mut KitModule;
                assert_eq!(memory as usize % 16, 0, "IModuleAllocator memory is 16-byte aligned");
                memory.write(instance);
                memory
            }
        } else {
            Box::into_raw(Box::new(instance))
        };
        // SAFETY: `module` is the simulator's out-pointer.
        unsafe { module.write(created.cast()) };
        0
    }

    fn kit_terminate(this: *mut IHttpModuleFactory) {
        log("Terminate factory");
        // SAFETY: created with Box::into_raw in kit_register.
        unsafe { drop(Box::from_raw(this as *mut KitFactory)) };
    }

    fn kit_gl_terminate(this: *mut CGlobalModule) {
        log("Terminate global");
        // SAFETY: created with Box::into_raw in kit_register.
        unsafe { drop(Box::from_raw(this as *mut KitGlobal)) };
    }
}

static KIT_MODULE_VTBL: CHttpModule_Vtbl = CHttpModule_Vtbl {
    OnBeginRequest: kit_begin,
    OnPostBeginRequest: kit_post_begin,
    OnAuthenticateRequest: kit_authenticate,
    OnPostAuthenticateRequest: kit_post_authenticate,
    OnAuthorizeRequest: kit_authorize,
    OnPostAuthorizeRequest: kit_post_authorize,
    OnResolveRequestCache: kit_resolve,
    OnPostResolveRequestCache: kit_post_resolve,
    OnMapRequestHandler: kit_map_handler,
    OnPostMapRequestHandler: kit_post_map_handler,
    OnAcquireRequestState: kit_acquire,
    OnPostAcquireRequestState: kit_post_acquire,
    OnPreExecuteRequestHandler: kit_pre_execute,
    OnPostPreExecuteRequestHandler: kit_post_pre_execute,
    OnExecuteRequestHandler: kit_execute,
    OnPostExecuteRequestHandler: kit_post_execute,
    OnReleaseRequestState: kit_release,
    OnPostReleaseRequestState: kit_post_release,
    OnUpdateRequestCache: kit_update,
    OnPostUpdateRequestCache: kit_post_update,
    OnLogRequest: kit_log,
    OnPostLogRequest: kit_post_log,
    OnEndRequest: kit_end,
    OnPostEndRequest: kit_post_end,
    OnSendResponse: kit_send_response,
    OnMapPath: kit_map_path,
    OnReadEntity: kit_read_entity,
    OnCustomRequestNotification: kit_custom,
    OnAsyncCompletion: kit_async_completion,
    Dispose: kit_dispose,
    Destructor: kit_destructor,
};

static KIT_FACTORY_VTBL: IHttpModuleFactory_Vtbl = IHttpModuleFactory_Vtbl {
    GetHttpModule: kit_get_http_module,
    Terminate: kit_terminate,
};

static KIT_GLOBAL_VTBL: CGlobalModule_Vtbl = CGlobalModule_Vtbl {
    OnGlobalStopListening: kit_gl_stop_listening,
    OnGlobalCacheCleanup: kit_gl_cache_cleanup,
    OnGlobalCacheOperation: kit_gl_cache_operation,
    OnGlobalHealthCheck: kit_gl_health_check,
    OnGlobalConfigurationChange: kit_gl_configuration_change,
    OnGlobalFileChange: kit_gl_file_change,
    OnGlobalPreBeginRequest: kit_gl_pre_begin,
    OnGlobalApplicationStart: kit_gl_application_start,
    OnGlobalApplicationResolveModules: kit_gl_resolve_modules,
    OnGlobalApplicationStop: kit_gl_application_stop,
    OnGlobalRSCAQuery: kit_gl_rsca_query,
    OnGlobalTraceEvent: kit_gl_trace_event,
    OnGlobalCustomNotification: kit_gl_custom,
    Terminate: kit_gl_terminate,
    OnGlobalThreadCleanup: kit_gl_thread_cleanup,
    OnGlobalApplicationPreload: kit_gl_preload,
    OnSuspendProcess: kit_gl_suspend,
};

/// `RegisterModule` for a kit spec.
///
/// # Safety
///
/// `info` and `server` must be live, as IIS passes them.
unsafe fn kit_register(
    spec: &'static Spec,
    info: *mut IHttpModuleRegistrationInfo,
    server: *mut IHttpServer,
) -> HRESULT {
    SERVER.with(|s| s.set(server));
    if spec.request | spec.post != 0 {
        let factory = Box::into_raw(Box::new(KitFactory {
            base: IHttpModuleFactory {
                lpVtbl: &KIT_FACTORY_VTBL,
            },
            spec,
        }));
        // SAFETY: per the contract.
        let hr = unsafe {
            call!(
                info,
                SetRequestNotifications,
                factory.cast(),
                spec.request,
                spec.post
            )
        };
        if hr < 0 {
            return hr;
        }
    }
    if spec.global != 0 {
        let global = Box::into_raw(Box::new(KitGlobal {
            base: CGlobalModule {
                lpVtbl: &KIT_GLOBAL_VTBL,
            },
            spec,
        }));
        // SAFETY: per the contract.
        let hr = unsafe { call!(info, SetGlobalNotifications, global.cast(), spec.global) };
        if hr < 0 {
            return hr;
        }
    }
    (spec.extra)(info, server)
}

/// Defines a module's `RegisterModule` from a `Spec`.
macro_rules! kit_module {
    ($register:ident, $spec:expr) => {
        unsafe extern "system" fn $register(
            _version: u32,
            info: *mut IHttpModuleRegistrationInfo,
            server: *mut IHttpServer,
        ) -> HRESULT {
            static SPEC_: Spec = $spec;
            // SAFETY: the simulator passes live objects.
            unsafe { kit_register(&SPEC_, info, server) }
        }
    };
}

// --- helpers for handlers ---------------------------------------------------------------------

/// # Safety
///
/// `ctx` must be live.
unsafe fn response(ctx: *mut IHttpContext) -> *mut IHttpResponse {
    // SAFETY: per the contract.
    unsafe { call!(ctx, GetResponse) }
}

/// # Safety
///
/// `ctx` must be live.
unsafe fn request(ctx: *mut IHttpContext) -> *mut IHttpRequest {
    // SAFETY: per the contract.
    unsafe { call!(ctx, GetRequest) }
}

/// # Safety
///
/// `ctx` must be live.
unsafe fn write(ctx: *mut IHttpContext, data: &[u8]) -> HRESULT {
    let mut chunk = HTTP_DATA_CHUNK {
        DataChunkType: HttpDataChunkFromMemory,
        Anonymous: HTTP_DATA_CHUNK_0 {
            FromMemory: HTTP_DATA_CHUNK_0_0 {
                pBuffer: data.as_ptr() as *mut c_void,
                BufferLength: data.len() as u32,
            },
        },
    };
    let mut sent = 0;
    let mut expected = 1;
    // SAFETY: per the contract; the chunk describes `data`.
    let hr = unsafe {
        call!(
            response(ctx),
            WriteEntityChunks,
            &mut chunk,
            1,
            0,
            0,
            &mut sent,
            &mut expected
        )
    };
    assert_eq!(expected, 0, "writes complete synchronously");
    hr
}

/// # Safety
///
/// `ctx` must be live.
unsafe fn set_header(ctx: *mut IHttpContext, name: PCSTR, value: &str, replace: bool) -> HRESULT {
    // SAFETY: per the contract; `value` has `value.len()` bytes.
    unsafe {
        call!(
            response(ctx),
            SetHeader,
            name,
            value.as_ptr(),
            value.len() as u16,
            replace as BOOL
        )
    }
}

/// # Safety
///
/// `ctx` must be live.
unsafe fn server_variable(ctx: *mut IHttpContext, name: PCSTR) -> (HRESULT, Option<String>, u32) {
    let mut value: PCSTR = std::ptr::null();
    let mut len = 0;
    // SAFETY: per the contract.
    let hr = unsafe { call!(ctx, GetServerVariable_2, name, &mut value, &mut len) };
    // SAFETY: the simulator returns a NUL-terminated string or NULL.
    (hr, unsafe { from_pcstr(value) }, len)
}

/// # Safety
///
/// `ctx` must be live.
unsafe fn server_variable_w(ctx: *mut IHttpContext, name: PCSTR) -> (HRESULT, Option<String>, u32) {
    let mut value: PCWSTR = std::ptr::null();
    let mut len = 0;
    // SAFETY: per the contract.
    let hr = unsafe { call!(ctx, GetServerVariable, name, &mut value, &mut len) };
    // SAFETY: the simulator returns a NUL-terminated string or NULL.
    (hr, unsafe { from_pcwstr(value) }, len)
}

// =============================================================================================
// A handler that writes a status, headers and a body.

kit_module!(
    writer_register,
    Spec {
        request: RQ_EXECUTE_REQUEST_HANDLER,
        handler: |e| {
            // SAFETY: the simulator passes a live context.
            unsafe {
                let response = response(e.ctx);
                assert_eq!(
                    call!(
                        response,
                        SetStatus,
                        201,
                        a!("Created"),
                        0,
                        0,
                        std::ptr::null_mut(),
                        0
                    ),
                    0
                );
                let text = "text/plain";
                assert_eq!(
                    call!(
                        response,
                        SetHeader_2,
                        HttpHeaderContentType,
                        text.as_ptr(),
                        text.len() as u16,
                        1
                    ),
                    0
                );
                assert_eq!(set_header(e.ctx, a!("X-Test"), "1", true), 0);
                assert_eq!(set_header(e.ctx, a!("Set-Cookie"), "a=1", true), 0);
                assert_eq!(set_header(e.ctx, a!("Set-Cookie"), "b=2", false), 0);
                assert_eq!(set_header(e.ctx, a!("X-Gone"), "x", true), 0);
                assert_eq!(call!(response, DeleteHeader, a!("x-gone")), 0);
                let mut len = 0;
                let value = call!(response, GetHeader, a!("content-type"), &mut len);
                log(format!(
                    "Content-Type={}",
                    from_pcstr_len(value, len as usize)
                ));
                let value = call!(response, GetHeader_2, HttpHeaderContentType, &mut len);
                log(format!("by id={}", from_pcstr(value).unwrap_or_default()));
                assert_eq!(write(e.ctx, b"hello, "), 0);
                assert_eq!(write(e.ctx, b"world"), 0);
                let mut status = 0;
                let mut reason: PCSTR = std::ptr::null();
                call!(
                    response,
                    GetStatus,
                    &mut status,
                    std::ptr::null_mut(),
                    &mut reason,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut()
                );
                log(format!(
                    "status={status} {}",
                    from_pcstr(reason).unwrap_or_default()
                ));
            }
            RQ_NOTIFICATION_CONTINUE
        },
        ..SPEC
    }
);

#[test]
fn writer_sets_status_headers_and_body() {
    let server = TestServer::new(writer_register).unwrap();
    let response = server.send(TestRequest::get("/greet"));
    assert_eq!(response.status, 201, "{}", response.transcript());
    assert_eq!(response.reason, "Created");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("X-TEST"), Some("1"));
    assert_eq!(response.header_values("set-cookie"), vec!["a=1", "b=2"]);
    assert_eq!(response.header("X-Gone"), None);
    assert_eq!(response.body_str(), "hello, world");
    assert_eq!(
        response.called_during(
            "IHttpResponse::WriteEntityChunks",
            Notification::ExecuteRequestHandler
        ),
        2
    );
    assert_eq!(
        take_log(),
        [
            "Content-Type=text/plain",
            "by id=text/plain",
            "status=201 Created",
            "Dispose"
        ]
    );
    // No module handles SendResponse, but the response is sent after ExecuteRequestHandler.
    assert_eq!(
        response.notifications(),
        vec![Handler::On(Notification::ExecuteRequestHandler)]
    );
}

// =============================================================================================
// A handler that reads the entity body in small pieces and echoes it.

kit_module!(
    reader_register,
    Spec {
        request: RQ_EXECUTE_REQUEST_HANDLER,
        handler: |e| {
            // SAFETY: the simulator passes a live context; the buffer is writable.
            unsafe {
                let request = request(e.ctx);
                let remaining = call!(request, GetRemainingEntityBytes);
                let mut body = Vec::new();
                let mut buffer = [0u8; 4];
                let last = loop {
                    let mut received = 0;
                    let mut pending = 1;
                    let hr = call!(
                        request,
                        ReadEntityBody,
                        buffer.as_mut_ptr().cast(),
                        buffer.len() as u32,
                        0,
                        &mut received,
                        &mut pending
                    );
                    assert_eq!(pending, 0);
                    if hr != 0 {
                        assert_eq!(received, 0);
                        break hr;
                    }
                    body.extend_from_slice(&buffer[..received as usize]);
                };
                set_header(e.ctx, a!("X-Remaining"), &remaining.to_string(), true);
                set_header(
                    e.ctx,
                    a!("X-Last-Hr"),
                    &format!("{:#010x}", last as u32),
                    true,
                );
                write(e.ctx, &body);
            }
            RQ_NOTIFICATION_CONTINUE
        },
        ..SPEC
    }
);

#[test]
fn reader_reads_the_body_until_eof() {
    let server = TestServer::new(reader_register).unwrap();
    let response = server.send(TestRequest::post("/echo", "0123456789"));
    assert_eq!(
        response.body_str(),
        "0123456789",
        "{}",
        response.transcript()
    );
    assert_eq!(response.header("X-Remaining"), Some("10"));
    assert_eq!(
        response.header("X-Last-Hr"),
        Some(format!("{:#010x}", HR_HANDLE_EOF as u32).as_str())
    );
    assert_eq!(response.called("IHttpRequest::ReadEntityBody"), 4);
    assert!(response
        .calls_to("IHttpRequest::ReadEntityBody")
        .last()
        .unwrap()
        .detail
        .contains("ERROR_HANDLE_EOF"));
    assert_eq!(
        response
            .request_headers
            .iter()
            .find(|(n, _)| n == "Content-Length")
            .map(|(_, v)| v.as_str()),
        Some("10")
    );

    let empty = server.send(TestRequest::get("/echo"));
    assert_eq!(empty.header("X-Remaining"), Some("0"));
    assert!(empty.body.is_empty());
}

// =============================================================================================
// FINISH_REQUEST in BeginRequest.

kit_module!(
    finisher_register,
    Spec {
        request: RQ_BEGIN_REQUEST
            | RQ_AUTHORIZE_REQUEST
            | RQ_EXECUTE_REQUEST_HANDLER
            | RQ_RELEASE_REQUEST_STATE
            | RQ_LOG_REQUEST
            | RQ_END_REQUEST
            | RQ_SEND_RESPONSE,
        post: RQ_BEGIN_REQUEST | RQ_LOG_REQUEST,
        handler: |e| {
            if e.flag == RQ_BEGIN_REQUEST && !e.post {
                // SAFETY: the simulator passes a live context.
                unsafe {
                    call!(
                        response(e.ctx),
                        SetStatus,
                        403,
                        a!("Forbidden"),
                        3,
                        0,
                        std::ptr::null_mut(),
                        1
                    );
                    write(e.ctx, b"denied");
                }
                return RQ_NOTIFICATION_FINISH_REQUEST;
            }
            RQ_NOTIFICATION_CONTINUE
        },
        ..SPEC
    }
);

#[test]
fn finish_request_in_begin_request_skips_to_log_and_end() {
    let server = TestServer::new(finisher_register).unwrap();
    let response = server.send(TestRequest::get("/secret"));
    assert_eq!(response.status, 403);
    assert_eq!(response.substatus, 3);
    assert_eq!(response.reason, "Forbidden");
    assert!(response.try_skip_custom_errors);
    assert_eq!(response.body_str(), "denied");
    use Notification::*;
    assert_eq!(
        response.notifications(),
        vec![
            Handler::On(BeginRequest),
            Handler::On(SendResponse),
            Handler::On(LogRequest),
            Handler::OnPost(LogRequest),
            Handler::On(EndRequest)
        ],
        "{}",
        response.transcript()
    );
    assert_eq!(response.called("CHttpModule::OnExecuteRequestHandler"), 0);
    assert_eq!(
        response.returned("CHttpModule::OnBeginRequest").collect::<Vec<_>>(),
        ["RQ_NOTIFICATION_FINISH_REQUEST"]
    );
}

// =============================================================================================
// The whole pipeline, with post-notifications.

kit_module!(
    everything_register,
    Spec {
        request: 0xFFF | RQ_SEND_RESPONSE,
        post: 0xFFF,
        ..SPEC
    }
);

#[test]
fn pipeline_runs_in_iis_order_with_post_notifications() {
    let server = TestServer::new(everything_register).unwrap();
    let response = server.send(TestRequest::get("/"));
    let mut expected = Vec::new();
    for n in Notification::PIPELINE {
        expected.push(Handler::On(n));
        expected.push(Handler::OnPost(n));
        if n == Notification::ExecuteRequestHandler {
            expected.push(Handler::On(Notification::SendResponse));
        }
    }
    assert_eq!(
        response.notifications(),
        expected,
        "{}",
        response.transcript()
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        response.calls.first().unwrap().method,
        "IHttpModuleFactory::GetHttpModule"
    );
    assert_eq!(
        response.calls.last().unwrap().method,
        "CHttpModule::Dispose"
    );
    assert_eq!(
        Notification::BeginRequest.post_handler(),
        "CHttpModule::OnPostBeginRequest"
    );
    assert_eq!(Notification::SendResponse.flag(), RQ_SEND_RESPONSE);
}

// =============================================================================================
// Server variables and the raw request.

kit_module!(
    variables_register,
    Spec {
        request: RQ_BEGIN_REQUEST,
        handler: |e| {
            // SAFETY: the simulator passes a live context; the raw request and addresses it returns
            // are valid for the request.
            unsafe {
                for name in [
                    a!("REQUEST_METHOD"),
                    a!("URL"),
                    a!("QUERY_STRING"),
                    a!("REMOTE_ADDR"),
                    a!("REMOTE_PORT"),
                    a!("LOCAL_ADDR"),
                    a!("SERVER_PORT"),
                    a!("SERVER_PROTOCOL"),
                    a!("HTTPS"),
                    a!("APP_POOL_ID"),
                    a!("HTTP_USER_AGENT"),
                    a!("HTTP_X_CUSTOM_HEADER"),
                    a!("SERVER_NAME"),
                    a!("CONTENT_LENGTH"),
                ] {
                    let (hr, value, len) = server_variable(e.ctx, name);
                    assert_eq!(hr, 0);
                    let value = value.unwrap();
                    assert_eq!(len as usize, value.len());
                    log(format!("{}={value}", from_pcstr(name).unwrap()));
                }
                let (hr, value, len) = server_variable_w(e.ctx, a!("url"));
                assert_eq!((hr, value.as_deref(), len), (0, Some("/über/a.txt"), 11));
                let (hr, value, _) = server_variable(e.ctx, a!("NO_SUCH_VARIABLE"));
                assert_eq!((hr, value), (HR_INVALID_INDEX, None));
                let all_raw = server_variable(e.ctx, a!("ALL_RAW")).1.unwrap();
                assert!(all_raw.contains("User-Agent: test-agent\r\n"), "{all_raw}");

                assert_eq!(call!(e.ctx, SetServerVariable, a!("MY_VAR"), w!("42")), 0);
                assert_eq!(
                    server_variable(e.ctx, a!("my_var")).1.as_deref(),
                    Some("42")
                );

                let request = request(e.ctx);
                let raw = &*call!(request, GetRawHttpRequest);
                let base = &raw.Base;
                assert_eq!(base.Verb, HttpVerbGET);
                assert_eq!(
                    (base.Version.MajorVersion, base.Version.MinorVersion),
                    (1, 1)
                );
                assert_eq!(
                    from_pcstr_len(base.pRawUrl, base.RawUrlLength as usize),
                    "/über/a.txt?x=1&y=2"
                );
                let cooked = &base.CookedUrl;
                assert_eq!(
                    from_pcwstr_len(cooked.pFullUrl, cooked.FullUrlLength as usize / 2),
                    "http://example.test:8080/über/a.txt?x=1&y=2"
                );
                assert_eq!(
                    from_pcwstr_len(cooked.pHost, cooked.HostLength as usize / 2),
                    "example.test:8080"
                );
                assert_eq!(
                    from_pcwstr_len(cooked.pAbsPath, cooked.AbsPathLength as usize / 2),
                    "/über/a.txt"
                );
                assert_eq!(
                    from_pcwstr_len(cooked.pQueryString, cooked.QueryStringLength as usize / 2),
                    "?x=1&y=2"
                );
                let ua = base.Headers.KnownHeaders[HttpHeaderUserAgent as usize];
                assert_eq!(
                    from_pcstr_len(ua.pRawValue, ua.RawValueLength as usize),
                    "test-agent"
                );
                assert_eq!(base.Headers.UnknownHeaderCount, 1);
                let unknown = &*base.Headers.pUnknownHeaders;
                assert_eq!(
                    from_pcstr_len(unknown.pName, unknown.NameLength as usize),
                    "X-Custom-Header"
                );
                assert_eq!(
                    from_pcstr_len(unknown.pRawValue, unknown.RawValueLength as usize),
                    "custom"
                );
                let remote = &*(base.Address.pRemoteAddress as *const SOCKADDR_IN);
                assert_eq!(remote.sin_family, AF_INET);
                assert_eq!(u16::from_be(remote.sin_port), 51234);
                assert_eq!(remote.sin_addr.S_un.S_addr.to_ne_bytes(), [10, 1, 2, 3]);
                assert_eq!(
                    base.Address.pRemoteAddress,
                    call!(request, GetRemoteAddress)
                );
                let local = &*(call!(request, GetLocalAddress) as *const SOCKADDR_IN6);
                assert_eq!(local.sin6_family, AF_INET6);
                assert_eq!(u16::from_be(local.sin6_port), 8080);

                let mut len = 0;
                let agent = call!(request, GetHeader_2, HttpHeaderUserAgent, &mut len);
                assert_eq!(from_pcstr_len(agent, len as usize), "test-agent");
                let method = call!(request, GetHttpMethod);
                assert_eq!(from_pcstr(method).as_deref(), Some("GET"));
                let (mut major, mut minor) = (0, 0);
                call!(request, GetHttpVersion, &mut major, &mut minor);
                assert_eq!((major, minor), (1, 1));
            }
            RQ_NOTIFICATION_CONTINUE
        },
        ..SPEC
    }
);

#[test]
fn server_variables_and_raw_request_describe_the_request() {
    let server = TestServer::new(variables_register).unwrap();
    let response = server.send(
        TestRequest::get("http://example.test:8080/über/a.txt?x=1&y=2")
            .header("User-Agent", "test-agent")
            .header("X-Custom-Header", "custom")
            .remote_addr("10.1.2.3:51234".parse().unwrap())
            .local_addr("[::1]:8080".parse().unwrap()),
    );
    assert_eq!(response.status, 200, "{}", response.transcript());
    let log = take_log();
    assert_eq!(
        log[..14],
        [
            "REQUEST_METHOD=GET",
            "URL=/über/a.txt",
            "QUERY_STRING=x=1&y=2",
            "REMOTE_ADDR=10.1.2.3",
            "REMOTE_PORT=51234",
            "LOCAL_ADDR=::1",
            "SERVER_PORT=8080",
            "SERVER_PROTOCOL=HTTP/1.1",
            "HTTPS=off",
            "APP_POOL_ID=DefaultAppPool",
            "HTTP_USER_AGENT=test-agent",
            "HTTP_X_CUSTOM_HEADER=custom",
            "SERVER_NAME=example.test",
            "CONTENT_LENGTH=0",
        ]
    );
    assert_eq!(
        response.server_variables_set,
        vec![("MY_VAR".to_owned(), "42".to_owned())]
    );
}

// =============================================================================================
// MapPath with the buffer-size protocol, and RQ_MAP_PATH.

kit_module!(
    map_path_register,
    Spec {
        request: RQ_EXECUTE_REQUEST_HANDLER | RQ_MAP_PATH,
        handler: |e| {
            // SAFETY: the simulator passes a live context and, for RQ_MAP_PATH, a map-path provider.
            unsafe {
                if e.flag == RQ_MAP_PATH {
                    let provider = e.provider as *mut IMapPathProvider;
                    let url = from_pcwstr(call!(provider, GetUrl)).unwrap();
                    let physical = from_pcwstr(call!(provider, GetPhysicalPath)).unwrap();
                    log(format!("OnMapPath {url} {physical}"));
                    if url.starts_with("/virtual/") {
                        let target = "D:\\data\\file.bin";
                        let units: Vec<u16> = target.encode_utf16().collect();
                        call!(
                            provider,
                            SetPhysicalPath,
                            units.as_ptr(),
                            units.len() as u32
                        );
                    }
                    return RQ_NOTIFICATION_CONTINUE;
                }
                for url in [w!("/a/b.txt"), w!("/virtual/x")] {
                    let mut size = 0u32;
                    let hr = call!(e.ctx, MapPath, url, std::ptr::null_mut(), &mut size);
                    assert_eq!(hr, HR_INSUFFICIENT_BUFFER);
                    let mut buffer = vec![0u16; size as usize / 2];
                    let hr = call!(e.ctx, MapPath, url, buffer.as_mut_ptr(), &mut size);
                    assert_eq!(hr, 0);
                    log(format!("mapped {}", from_pcwstr(buffer.as_ptr()).unwrap()));
                }
                let mut len = 0;
                let physical = call!(e.ctx, GetPhysicalPath, &mut len);
                log(format!("physical {} {len}", from_pcwstr(physical).unwrap()));
                let script = call!(e.ctx, GetScriptName, std::ptr::null_mut());
                log(format!("script {}", from_pcwstr(script).unwrap()));
            }
            RQ_NOTIFICATION_CONTINUE
        },
        ..SPEC
    }
);

#[test]
fn map_path_follows_the_buffer_protocol_and_fires_rq_map_path() {
    let server = TestServer::new(map_path_register).unwrap();
    let response = server.send(TestRequest::get("/dir/page.htm?q"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(
        take_log(),
        [
            "OnMapPath /a/b.txt C:\\inetpub\\wwwroot\\a\\b.txt",
            "OnMapPath /a/b.txt C:\\inetpub\\wwwroot\\a\\b.txt",
            "mapped C:\\inetpub\\wwwroot\\a\\b.txt",
            "OnMapPath /virtual/x C:\\inetpub\\wwwroot\\virtual\\x",
            "OnMapPath /virtual/x C:\\inetpub\\wwwroot\\virtual\\x",
            "mapped D:\\data\\file.bin",
            "physical C:\\inetpub\\wwwroot\\dir\\page.htm 31",
            "script /dir/page.htm",
            "Dispose",
        ]
    );
    assert_eq!(
        response.called_during("CHttpModule::OnMapPath", Notification::MapPath),
        4
    );
    assert_eq!(
        response.called_during("IHttpContext::MapPath", Notification::ExecuteRequestHandler),
        4
    );
}

// =============================================================================================
// Stored contexts: request, connection, named, application; module memory from the allocator.

#[repr(C)]
struct StoredContext {
    base: IHttpConnectionStoredContext,
    name: &'static str,
}

thunks! {
    fn stored_cleanup(this: *mut IHttpStoredContext) {
        // SAFETY: created with Box::into_raw by the test module.
        let context = unsafe { Box::from_raw(this as *mut StoredContext) };
        log(format!("cleanup {}", context.name));
    }

    fn stored_notify_disconnect(this: *mut IHttpConnectionStoredContext) {
        // SAFETY: a StoredContext.
        log(format!("disconnect {}", unsafe { (*(this as *mut StoredContext)).name }));
    }
}

static STORED_VTBL: IHttpConnectionStoredContext_Vtbl = IHttpConnectionStoredContext_Vtbl {
    base__: IHttpStoredContext_Vtbl {
        CleanupStoredContext: stored_cleanup,
    },
    NotifyDisconnect: stored_notify_disconnect,
};

fn stored(name: &'static str) -> *mut StoredContext {
    Box::into_raw(Box::new(StoredContext {
        base: IHttpConnectionStoredContext {
            lpVtbl: &STORED_VTBL,
        },
        name,
    }))
}

thread_local! {
    static MODULE_ID: Cell<HTTP_MODULE_ID> = const { Cell::new(std::ptr::null_mut()) };
}

kit_module!(
    stored_register,
    Spec {
        request: RQ_BEGIN_REQUEST | RQ_END_REQUEST,
        use_allocator: true,
        handler: |e| {
            let id = MODULE_ID.with(Cell::get);
            // SAFETY: the simulator passes a live context; the containers are live.
            unsafe {
                if e.flag == RQ_BEGIN_REQUEST {
                    let container = call!(e.ctx, GetModuleContextContainer);
                    assert!(call!(container, GetModuleContext, id).is_null());
                    assert_eq!(
                        call!(container, SetModuleContext, stored("request").cast(), id),
                        0
                    );
                    let again = stored("again");
                    assert_eq!(
                        call!(container, SetModuleContext, again.cast(), id),
                        super::strings::HR_ALREADY_ASSIGNED
                    );
                    drop(Box::from_raw(again));

                    let connection = call!(call!(e.ctx, GetConnection), GetModuleContextContainer);
                    assert_eq!(
                        call!(
                            connection,
                            SetConnectionModuleContext,
                            stored("connection").cast(),
                            id
                        ),
                        0
                    );

                    let named = call!(e.ctx as *mut IHttpContext3, GetNamedContextContainer);
                    assert_eq!(
                        call!(
                            named,
                            SetNamedContext,
                            stored("named").cast(),
                            w!("my-name")
                        ),
                        0
                    );

                    let app = call!(call!(e.ctx, GetApplication), GetModuleContextContainer);
                    if call!(app, GetModuleContext, id).is_null() {
                        assert_eq!(
                            call!(app, SetModuleContext, stored("application").cast(), id),
                            0
                        );
                    }
                    let memory = call!(e.ctx, AllocateRequestMemory, 100);
                    assert!(!memory.is_null() && memory as usize % 16 == 0);
                    memory.cast::<u8>().write_bytes(0xAB, 100);
                } else {
                    let container = call!(e.ctx, GetModuleContextContainer);
                    let found = call!(container, GetModuleContext, id) as *mut StoredContext;
                    log(format!("found {}", (*found).name));
                    let named = call!(e.ctx as *mut IHttpContext3, GetNamedContextContainer);
                    assert!(!call!(named, GetNamedContext, w!("my-name")).is_null());
                }
            }
            RQ_NOTIFICATION_CONTINUE
        },
        extra: |info, _| {
            // SAFETY: the simulator passes a live registration info.
            MODULE_ID.with(|m| m.set(unsafe { call!(info, GetId) }));
            0
        },
        ..SPEC
    }
);

#[test]
fn stored_contexts_are_cleaned_up_and_request_memory_is_counted() {
    let server = TestServer::new(stored_register).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(
        response.stored_contexts_cleaned,
        3,
        "{}",
        response.transcript()
    );
    assert_eq!(response.request_memory_bytes, size_of::<KitModule>() + 100);
    assert_eq!(
        take_log(),
        [
            "found request",
            "cleanup request",
            "cleanup named",
            "disconnect connection",
            "cleanup connection",
            "Dispose"
        ]
    );
    let second = server.send(TestRequest::get("/"));
    assert_eq!(second.stored_contexts_cleaned, 3);
    take_log();
    let report = server.shutdown();
    assert_eq!(
        report.stored_contexts_cleaned, 7,
        "3 per request and the application's"
    );
    assert_eq!(
        report.request_memory_bytes,
        2 * (size_of::<KitModule>() + 100)
    );
    assert_eq!(take_log(), ["cleanup application", "Terminate factory"]);
}

// =============================================================================================
// RegisterModule failing.

kit_module!(
    failing_register,
    Spec {
        request: RQ_BEGIN_REQUEST,
        extra: |_, _| windows_sys::Win32::Foundation::E_FAIL,
        ..SPEC
    }
);

#[test]
fn failing_registration_reports_the_hresult() {
    let error = TestServer::new(failing_register).unwrap_err();
    assert_eq!(error.hresult, windows_sys::Win32::Foundation::E_FAIL);
    let methods: Vec<&str> = error.calls.iter().filter(|c| c.is_entry()).map(|c| c.method).collect();
    assert_eq!(
        methods,
        [
            "RegisterModule",
            "IHttpModuleRegistrationInfo::SetRequestNotifications",
            "IHttpModuleFactory::Terminate"
        ]
    );
    assert_eq!(
        error.to_string(),
        "RegisterModule failed with HRESULT E_FAIL, 0x80004005"
    );
    assert_eq!(take_log(), ["Terminate factory"]);
}

// =============================================================================================
// Registration details, IHttpServer, and GetExtendedInterface.

kit_module!(
    extended_register,
    Spec {
        request: RQ_EXECUTE_REQUEST_HANDLER,
        post: RQ_EXECUTE_REQUEST_HANDLER,
        handler: |e| {
            if e.post {
                return RQ_NOTIFICATION_CONTINUE;
            }
            let server = SERVER.with(Cell::get);
            // SAFETY: the server lives as long as the TestServer; the context is live.
            unsafe {
                let mut v2: *mut c_void = std::ptr::null_mut();
                assert_eq!(
                    call!(
                        server,
                        GetExtendedInterface,
                        HTTP_SERVER_INTERFACE_V2,
                        &mut v2
                    ),
                    0
                );
                let server2 = v2 as *mut IHttpServer2;
                let mut out: *mut c_void = std::ptr::null_mut();
                assert_eq!(
                    call!(
                        server2,
                        GetExtendedInterface,
                        &IHttpContext::IID,
                        e.ctx.cast(),
                        &IHttpContext4::IID,
                        &mut out
                    ),
                    0
                );
                assert_eq!(out, e.ctx.cast());
                let context4 = out as *mut IHttpContext4;
                log(format!(
                    "elapsed {}",
                    call!(context4, GetRequestElapsedTime) < 60_000
                ));
                let request = request(e.ctx);
                assert_eq!(
                    call!(
                        server2,
                        GetExtendedInterface,
                        &IHttpRequest::IID,
                        request.cast(),
                        &IHttpRequest3::IID,
                        &mut out
                    ),
                    0
                );
                assert_eq!(out, request.cast());
                let response = response(e.ctx);
                assert_eq!(
                    call!(
                        server2,
                        GetExtendedInterface,
                        &IHttpResponse2::IID,
                        response.cast(),
                        &IHttpResponse4::IID,
                        &mut out
                    ),
                    0
                );
                assert_eq!(out, response.cast());
                assert_eq!(
                    call!(
                        server2,
                        GetExtendedInterface,
                        &IHttpContext::IID,
                        e.ctx.cast(),
                        &IHttpRequest4::IID,
                        &mut out
                    ),
                    super::strings::E_NOINTERFACE
                );
                assert!(out.is_null());
                let mut bad: *mut c_void = std::ptr::null_mut();
                assert_eq!(
                    call!(server, GetExtendedInterface, 7, &mut bad),
                    super::strings::E_NOINTERFACE
                );

                log(format!(
                    "pool {}",
                    from_pcwstr(call!(server, GetAppPoolName)).unwrap()
                ));
                log(format!("cmdline {}", call!(server, IsCommandLineLaunch)));
                call!(
                    server,
                    ReportUnhealthy,
                    w!("disk full"),
                    windows_sys::Win32::Foundation::E_FAIL
                );
                call!(server, RecycleApplication, w!("/LM/W3SVC/1/ROOT"));
                let site = call!(e.ctx, GetSite);
                log(format!(
                    "site {} {}",
                    call!(site, GetSiteId),
                    from_pcwstr(call!(site, GetSiteName)).unwrap()
                ));
                let app = call!(e.ctx, GetApplication);
                log(format!(
                    "app {} {}",
                    from_pcwstr(call!(app, GetApplicationId)).unwrap(),
                    from_pcwstr(call!(app, GetApplicationPhysicalPath)).unwrap()
                ));
                assert!(call!(e.ctx, GetUser).is_null());
                assert_eq!(call!(e.ctx, GetRootContext), e.ctx);
                assert!(call!(e.ctx, GetParentContext).is_null());
                assert_eq!(
                    call!(e.ctx, CloneContext, 0, std::ptr::null_mut()),
                    windows_sys::Win32::Foundation::E_INVALIDARG
                );
            }
            RQ_NOTIFICATION_CONTINUE
        },
        extra: |info, _| {
            // SAFETY: the simulator passes a live registration info (also an
            // IHttpModuleRegistrationInfo2).
            unsafe {
                log(format!(
                    "name {}",
                    from_pcwstr(call!(info, GetName)).unwrap()
                ));
                assert_eq!(
                    call!(
                        info,
                        SetPriorityForRequestNotification,
                        RQ_EXECUTE_REQUEST_HANDLER,
                        PRIORITY_ALIAS_HIGH
                    ),
                    0
                );
                let info2 = info as *mut IHttpModuleRegistrationInfo2;
                assert_eq!(
                    call!(
                        info2,
                        SetPriorityForPostRequestNotification,
                        RQ_EXECUTE_REQUEST_HANDLER,
                        PRIORITY_ALIAS_LOW
                    ),
                    0
                );
            }
            0
        },
        ..SPEC
    }
);

#[test]
fn server_registration_info_and_extended_interfaces() {
    let server = TestServer::with_name("MyModule", extended_register).unwrap();
    assert_eq!(server.module_name(), "MyModule");
    assert_eq!(
        server.priorities().request,
        vec![(RQ_EXECUTE_REQUEST_HANDLER, "HIGH".to_owned())]
    );
    assert_eq!(
        server.priorities().post_request,
        vec![(RQ_EXECUTE_REQUEST_HANDLER, "LOW".to_owned())]
    );
    assert!(server.priorities().global.is_empty());
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(
        take_log(),
        [
            "name MyModule",
            "elapsed true",
            "pool DefaultAppPool",
            "cmdline 0",
            "site 1 Default Web Site",
            "app /LM/W3SVC/1/ROOT C:\\inetpub\\wwwroot\\",
            "Dispose"
        ]
    );
    assert_eq!(server.server_called("IHttpServer::ReportUnhealthy"), 1);
    assert_eq!(
        server.server_called("IHttpServer2::GetExtendedInterface"),
        4
    );
    let unhealthy = server
        .server_calls()
        .into_iter()
        .find(|c| c.method == "IHttpServer::ReportUnhealthy")
        .unwrap();
    assert_eq!(unhealthy.detail, "\"disk full\", E_FAIL");
    assert!(unhealthy.during(Notification::ExecuteRequestHandler));
    // Server calls made during a request are in its transcript too.
    assert_eq!(
        response.called_during(
            "IHttpServer::RecycleApplication",
            Notification::ExecuteRequestHandler
        ),
        1
    );
}

// =============================================================================================
// Flush sends the headers (and fires RQ_SEND_RESPONSE) in the middle of a handler.

kit_module!(
    flusher_register,
    Spec {
        request: RQ_EXECUTE_REQUEST_HANDLER | RQ_SEND_RESPONSE,
        handler: |e| {
            // SAFETY: the simulator passes a live context and providers.
            unsafe {
                if e.flag == RQ_SEND_RESPONSE {
                    let provider = e.provider as *mut ISendResponseProvider;
                    log(format!(
                        "headers being sent {}",
                        call!(provider, GetHeadersBeingSent)
                    ));
                    set_header(e.ctx, a!("X-From-Send-Response"), "yes", true);
                    return RQ_NOTIFICATION_CONTINUE;
                }
                write(e.ctx, b"first ");
                let (mut sent, mut expected) = (0, 1);
                assert_eq!(
                    call!(response(e.ctx), Flush, 0, 1, &mut sent, &mut expected),
                    0
                );
                log(format!(
                    "flushed {sent} {expected} {}",
                    call!(e.ctx, GetResponseHeadersSent)
                ));
                set_header(e.ctx, a!("X-Too-Late"), "1", true);
                write(e.ctx, b"second");
            }
            RQ_NOTIFICATION_CONTINUE
        },
        ..SPEC
    }
);

#[test]
fn flush_fires_send_response_once_and_sends_the_headers() {
    let server = TestServer::new(flusher_register).unwrap();
    let response = server.send(TestRequest::get("/stream"));
    assert_eq!(response.body_str(), "first second");
    assert_eq!(
        take_log(),
        ["headers being sent 1", "flushed 6 0 1", "Dispose"]
    );
    assert_eq!(response.header("X-From-Send-Response"), Some("yes"));
    assert_eq!(
        response.header("X-Too-Late"),
        None,
        "headers set after they were sent are not sent"
    );
    assert_eq!(response.called("CHttpModule::OnSendResponse"), 1);
    let send = response
        .calls_to("CHttpModule::OnSendResponse")
        .next()
        .unwrap();
    assert_eq!(send.notification, Some(Notification::SendResponse));
    assert_eq!(
        response.called_during("IHttpResponse::Flush", Notification::ExecuteRequestHandler),
        1
    );
    assert!(response
        .calls_to("IHttpResponse::SetHeader")
        .last()
        .unwrap()
        .detail
        .contains("headers already sent"));
}

// =============================================================================================
// A global module: application start, pre-begin-request, custom notifications, stop.

kit_module!(
    global_register,
    Spec {
        request: RQ_BEGIN_REQUEST,
        global: GL_APPLICATION_START
            | GL_PRE_BEGIN_REQUEST
            | GL_STOP_LISTENING
            | GL_APPLICATION_STOP
            | GL_CONFIGURATION_CHANGE,
        handler: |e| {
            let server = SERVER.with(Cell::get);
            // SAFETY: the server lives as long as the TestServer.
            unsafe {
                call!(
                    server,
                    NotifyConfigurationChange,
                    w!("MACHINE/WEBROOT/APPHOST")
                )
            };
            let _ = e;
            RQ_NOTIFICATION_CONTINUE
        },
        global_handler: |flag, provider| {
            // SAFETY: the simulator passes the provider of each notification.
            unsafe {
                match flag {
                    GL_PRE_BEGIN_REQUEST => {
                        let context =
                            call!(provider as *mut IPreBeginRequestProvider, GetHttpContext);
                        let url = server_variable(context, a!("URL")).1.unwrap();
                        log(format!("pre-begin {url}"));
                    }
                    GL_APPLICATION_START => {
                        let app = call!(provider as *mut IHttpApplicationProvider, GetApplication);
                        log(format!(
                            "start {}",
                            from_pcwstr(call!(app, GetApplicationId)).unwrap()
                        ));
                    }
                    GL_CONFIGURATION_CHANGE => {
                        let path = call!(
                            provider as *mut IGlobalConfigurationChangeProvider,
                            GetChangePath
                        );
                        log(format!("config {}", from_pcwstr(path).unwrap()));
                    }
                    GL_STOP_LISTENING => {
                        log(format!(
                            "stop listening {}",
                            call!(
                                provider as *mut IGlobalStopListeningProvider,
                                DrainRequestsGracefully
                            )
                        ));
                        call!(SERVER.with(Cell::get), RecycleProcess, w!("bye"));
                    }
                    GL_APPLICATION_STOP => log("application stop"),
                    _ => log(format!("unexpected {flag:#x}")),
                }
            }
            GL_NOTIFICATION_CONTINUE
        },
        ..SPEC
    }
);

#[test]
fn global_module_gets_start_pre_begin_and_stop_notifications() {
    let server = TestServer::new(global_register).unwrap();
    assert!(server.has_global_module());
    assert_eq!(
        server.server_called("CGlobalModule::OnGlobalApplicationStart"),
        1
    );
    let response = server.send(TestRequest::get("/x"));
    use Notification::*;
    assert_eq!(
        response.notifications(),
        vec![
            Handler::On(GlobalPreBeginRequest),
            Handler::On(BeginRequest),
            Handler::On(GlobalConfigurationChange)
        ]
    );
    let report = server.shutdown();
    assert!(report.factory_terminated && report.global_terminated);
    assert_eq!(
        take_log(),
        [
            "start /LM/W3SVC/1/ROOT",
            "pre-begin /x",
            "config MACHINE/WEBROOT/APPHOST",
            "Dispose",
            "stop listening 1",
            "application stop",
            "Terminate factory",
            "Terminate global"
        ]
    );
    let methods: Vec<&str> = report.calls.iter().filter(|c| c.is_entry()).map(|c| c.method).collect();
    assert_eq!(
        methods,
        [
            "CGlobalModule::OnGlobalStopListening",
            "IGlobalStopListeningProvider::DrainRequestsGracefully",
            "IHttpServer::RecycleProcess",
            "CGlobalModule::OnGlobalApplicationStop",
            "IHttpModuleFactory::Terminate",
            "CGlobalModule::Terminate"
        ]
    );
    assert!(report.calls[2].notification == Some(GlobalStopListening));
}

// =============================================================================================
// Tracing, redirects, disconnects, URL and request header rewriting, users.

kit_module!(
    misc_register,
    Spec {
        request: RQ_BEGIN_REQUEST | RQ_AUTHENTICATE_REQUEST | RQ_EXECUTE_REQUEST_HANDLER,
        handler: |e| {
            // SAFETY: the simulator passes a live context.
            unsafe {
                match e.flag {
                    RQ_BEGIN_REQUEST => {
                        let trace = call!(e.ctx, GetTraceContext);
                        call!(trace, QuickTrace, w!("begin"), w!("more"), 0, 4);
                        let mut items = [
                            HTTP_TRACE_EVENT_ITEM {
                                pszName: w!("Url"),
                                dwDataType: HTTP_TRACE_TYPE_LPCWSTR,
                                pbData: w!("/here") as *mut u8,
                                cbData: 12,
                                pszDataDescription: std::ptr::null(),
                            },
                            HTTP_TRACE_EVENT_ITEM {
                                pszName: w!("Count"),
                                dwDataType: HTTP_TRACE_TYPE_ULONG,
                                pbData: (&7u32 as *const u32) as *mut u8,
                                cbData: 4,
                                pszDataDescription: std::ptr::null(),
                            },
                        ];
                        let mut event: HTTP_TRACE_EVENT = std::mem::zeroed();
                        event.pszEventName = w!("MY_EVENT");
                        event.cEventItems = 2;
                        event.pEventItems = items.as_mut_ptr();
                        assert_eq!(call!(trace, RaiseTraceEvent, &mut event), 0);

                        let request = request(e.ctx);
                        let url = "/rewritten?y=2";
                        assert_eq!(
                            call!(request, SetUrl_2, url.as_ptr(), url.len() as u32, 1),
                            0
                        );
                        log(format!("changed {}", call!(request, GetUrlChanged)));
                        let value = "added";
                        assert_eq!(
                            call!(request, SetHeader, a!("X-Added"), value.as_ptr(), 5, 1),
                            0
                        );
                        assert_eq!(
                            call!(request, SetHeader, a!("X-Added"), value.as_ptr(), 5, 0),
                            0
                        );
                        assert_eq!(call!(request, DeleteHeader_2, HttpHeaderUserAgent), 0);
                        assert_eq!(call!(request, SetHttpMethod, a!("PUT")), 0);
                    }
                    RQ_AUTHENTICATE_REQUEST => {
                        let user = call!(e.ctx, GetUser);
                        if !user.is_null() {
                            log(format!(
                                "user {} {}",
                                from_pcwstr(call!(user, GetUserName)).unwrap(),
                                from_pcwstr(call!(user, GetAuthenticationType)).unwrap()
                            ));
                        } else {
                            log("anonymous");
                        }
                    }
                    _ => {
                        let response = response(e.ctx);
                        assert_eq!(call!(response, Redirect, a!("/new"), 1, 1), 0);
                        call!(response, SetNeedDisconnect);
                        call!(response, DisableKernelCache, 9);
                        let mut bad = HTTP_DATA_CHUNK {
                            DataChunkType: HttpDataChunkFromFileHandle,
                            ..std::mem::zeroed()
                        };
                        assert_eq!(
                            call!(
                                response,
                                WriteEntityChunks,
                                &mut bad,
                                1,
                                0,
                                0,
                                std::ptr::null_mut(),
                                std::ptr::null_mut()
                            ),
                            super::strings::E_INVALIDARG
                        );
                    }
                }
            }
            RQ_NOTIFICATION_CONTINUE
        },
        ..SPEC
    }
);

#[test]
fn tracing_redirects_rewrites_and_users() {
    let server = TestServer::new(misc_register).unwrap();
    let response = server.send(
        TestRequest::get("/original?x=1")
            .header("User-Agent", "ua")
            .user("alice"),
    );
    assert_eq!(response.status, 302, "{}", response.transcript());
    assert_eq!(response.reason, "Redirect");
    assert_eq!(response.header("Location"), Some("/new?y=2"));
    assert_eq!(response.disconnected, Disconnect::AfterResponse);
    assert_eq!(response.kernel_cache_disabled, vec![9]);
    assert_eq!(response.url, "/rewritten?y=2");
    assert_eq!(response.method, "PUT");
    assert_eq!(
        response.request_headers,
        vec![
            ("Host".to_owned(), "localhost".to_owned()),
            ("X-Added".to_owned(), "added, added".to_owned())
        ]
    );
    let quick = response
        .calls_to("IHttpTraceContext::QuickTrace")
        .next()
        .unwrap();
    assert_eq!(quick.detail, "begin | more | S_OK | level 4");
    assert!(quick.during(Notification::BeginRequest));
    let event = response
        .calls_to("IHttpTraceContext::RaiseTraceEvent")
        .next()
        .unwrap();
    assert_eq!(event.detail, "MY_EVENT: Url=\"/here\", Count=7");
    assert_eq!(take_log(), ["changed 1", "user alice Basic", "Dispose"]);

    let anonymous = server.send(TestRequest::get("/"));
    assert_eq!(anonymous.status, 302);
    assert_eq!(anonymous.header("Location"), Some("/new?y=2"));
    assert_eq!(take_log(), ["changed 1", "anonymous", "Dispose"]);
}

// =============================================================================================
// RQ_NOTIFICATION_PENDING: completion posted, or indicated.

kit_module!(
    pending_register,
    Spec {
        request: RQ_BEGIN_REQUEST | RQ_EXECUTE_REQUEST_HANDLER | RQ_END_REQUEST,
        handler: |e| {
            // SAFETY: the simulator passes a live context (and completion info for completions).
            unsafe {
                if e.async_completion {
                    let info = e.provider as *mut IHttpCompletionInfo;
                    log(format!(
                        "completion {:#x} {} {}",
                        e.flag,
                        e.post,
                        call!(info, GetCompletionBytes)
                    ));
                    return RQ_NOTIFICATION_CONTINUE;
                }
                match e.flag {
                    RQ_BEGIN_REQUEST => {
                        assert_eq!(call!(e.ctx, PostCompletion, 5), 0);
                        RQ_NOTIFICATION_PENDING
                    }
                    RQ_EXECUTE_REQUEST_HANDLER => {
                        call!(
                            response(e.ctx),
                            SetStatus,
                            202,
                            std::ptr::null(),
                            0,
                            0,
                            std::ptr::null_mut(),
                            0
                        );
                        call!(e.ctx, IndicateCompletion, RQ_NOTIFICATION_FINISH_REQUEST);
                        RQ_NOTIFICATION_PENDING
                    }
                    _ => {
                        log("end");
                        RQ_NOTIFICATION_CONTINUE
                    }
                }
            }
        },
        ..SPEC
    }
);

#[test]
fn pending_is_resolved_by_async_completion_or_indicate_completion() {
    let server = TestServer::new(pending_register).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 202, "{}", response.transcript());
    assert_eq!(response.reason, "Accepted");
    assert_eq!(take_log(), ["completion 0x1 false 5", "end", "Dispose"]);
    assert_eq!(
        response.returned("CHttpModule::OnBeginRequest").collect::<Vec<_>>(),
        ["RQ_NOTIFICATION_PENDING"]
    );
    let completion = response.calls_to("CHttpModule::OnAsyncCompletion").next().unwrap();
    assert_eq!(completion.detail, "OnBeginRequest, 5 bytes");
    assert_eq!(
        response.returned("CHttpModule::OnAsyncCompletion").collect::<Vec<_>>(),
        ["RQ_NOTIFICATION_CONTINUE"]
    );
    // OnAsyncCompletion runs after the handler returned PENDING, and before the next stage.
    let order: Vec<String> = response
        .calls
        .iter()
        .filter(|c| c.method.starts_with("CHttpModule::On"))
        .take(4)
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        order,
        [
            "[BeginRequest] CHttpModule::OnBeginRequest",
            "[BeginRequest] CHttpModule::OnBeginRequest returned RQ_NOTIFICATION_PENDING",
            "[AsyncCompletion] CHttpModule::OnAsyncCompletion: OnBeginRequest, 5 bytes",
            "[AsyncCompletion] CHttpModule::OnAsyncCompletion returned RQ_NOTIFICATION_CONTINUE",
        ],
        "{}",
        response.transcript()
    );
    assert_eq!(
        response.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(),
        ["RQ_NOTIFICATION_PENDING, IndicateCompletion(RQ_NOTIFICATION_FINISH_REQUEST)"]
    );
    assert_eq!(
        response.called_during(
            "IHttpCompletionInfo::GetCompletionBytes",
            Notification::AsyncCompletion
        ),
        1
    );
}

// =============================================================================================
// A panic in module code (here an assertion) fails the test instead of aborting.

kit_module!(
    panicking_register,
    Spec {
        request: RQ_BEGIN_REQUEST,
        handler: |_| panic!("boom in the module"),
        ..SPEC
    }
);

#[test]
#[should_panic(expected = "boom in the module")]
fn panics_inside_vtable_calls_are_re_raised_by_send() {
    let server = TestServer::new(panicking_register).unwrap();
    server.send(TestRequest::get("/"));
}

// =============================================================================================
// Without a factory: a global-only module; default responses; HEAD.

kit_module!(
    global_only_register,
    Spec {
        global: GL_STOP_LISTENING,
        ..SPEC
    }
);

#[test]
fn requests_nobody_handles_get_an_empty_200() {
    let server = TestServer::new(global_only_register).unwrap();
    assert!(!server.has_factory());
    let response = server.send(TestRequest::new("HEAD", "/nothing"));
    assert_eq!((response.status, response.reason.as_str()), (200, "OK"));
    assert!(response.headers.is_empty() && response.body.is_empty() && response.calls.is_empty());
    let report = server.shutdown();
    assert_eq!(report.modules_created, 0);
    assert!(!report.factory_terminated && report.global_terminated);
    assert_eq!(take_log(), ["Terminate global"]);
}

#[test]
fn dropping_the_server_shuts_it_down() {
    {
        let server = TestServer::new(cancel_io_register).unwrap();
        server.send(TestRequest::get("/"));
    }
    let server = TestServer::new(writer_register).unwrap();
    server.send(TestRequest::get("/"));
    take_log();
    drop(server);
    assert_eq!(take_log(), ["Terminate factory"]);
}

#[test]
fn constants_match_the_wide_strings_handed_out() {
    // SAFETY: `w!` gives NUL-terminated static strings.
    unsafe {
        assert_eq!(from_pcwstr(w!("DefaultAppPool")).unwrap(), APP_POOL_NAME);
        assert_eq!(from_pcwstr(w!("Default Web Site")).unwrap(), SITE_NAME);
        assert_eq!(from_pcwstr(w!("/LM/W3SVC/1/ROOT")).unwrap(), APPLICATION_ID);
        assert_eq!(
            from_pcwstr(w!("C:\\inetpub\\wwwroot\\")).unwrap(),
            APPLICATION_PHYSICAL_PATH
        );
    }
}

// =============================================================================================
// RQ_NOTIFICATION_PENDING with nothing to complete it: a failure, never resolved on its own.

/// Runs `send` and returns its panic message (the test fails if it does not panic).
fn send_panic_message(server: &TestServer, request: TestRequest) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.send(request)))
        .expect_err("send did not panic");
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(|| "<not a string>".to_owned(), |s| (*s).to_owned()),
    }
}

kit_module!(
    left_pending_register,
    Spec {
        request: RQ_BEGIN_REQUEST | RQ_END_REQUEST,
        handler: |e| match e.flag {
            RQ_BEGIN_REQUEST => RQ_NOTIFICATION_PENDING,
            _ => {
                log("end");
                RQ_NOTIFICATION_CONTINUE
            }
        },
        ..SPEC
    }
);

#[test]
fn pending_with_nothing_to_complete_it_fails_the_request() {
    let server = TestServer::new(left_pending_register).unwrap();
    server.set_pending_timeout(std::time::Duration::from_millis(50));
    let message = send_panic_message(&server, TestRequest::get("/"));
    assert!(
        message.starts_with(
            "request left pending: CHttpModule::OnBeginRequest returned RQ_NOTIFICATION_PENDING \
             and nothing called IndicateCompletion or PostCompletion"
        ),
        "{message}"
    );
    assert!(message.contains("RQ_NOTIFICATION_PENDING, left pending (request failed)"), "{message}");
    // No further notification reached the module (OnEndRequest did not run), and the request
    // was still cleaned up: the module was disposed.
    assert_eq!(take_log(), ["Dispose"]);
    // The server is still usable, and shuts down cleanly.
    let again = send_panic_message(&server, TestRequest::get("/again"));
    assert!(again.starts_with("request left pending: CHttpModule::OnBeginRequest"), "{again}");
    take_log();
    let report = server.shutdown();
    assert_eq!(report.requests, 2);
    assert_eq!(report.modules_created, report.modules_disposed);
}

kit_module!(
    async_left_pending_register,
    Spec {
        request: RQ_AUTHORIZE_REQUEST,
        post: RQ_AUTHORIZE_REQUEST,
        handler: |e| {
            if e.async_completion || !e.post {
                return if e.async_completion { RQ_NOTIFICATION_PENDING } else { RQ_NOTIFICATION_CONTINUE };
            }
            // SAFETY: the simulator passes a live context.
            assert_eq!(unsafe { call!(e.ctx, PostCompletion, 3) }, 0);
            RQ_NOTIFICATION_PENDING
        },
        ..SPEC
    }
);

#[test]
fn pending_again_from_on_async_completion_with_nothing_to_complete_it_fails() {
    let server = TestServer::new(async_left_pending_register).unwrap();
    server.set_pending_timeout(std::time::Duration::from_millis(50));
    let message = send_panic_message(&server, TestRequest::get("/"));
    assert!(
        message.starts_with(
            "request left pending: CHttpModule::OnAsyncCompletion (completing \
             CHttpModule::OnPostAuthorizeRequest) returned RQ_NOTIFICATION_PENDING and nothing \
             called IndicateCompletion or PostCompletion"
        ),
        "{message}"
    );
    take_log();
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}

kit_module!(
    indicate_pending_register,
    Spec {
        request: RQ_SEND_RESPONSE,
        handler: |e| {
            // SAFETY: the simulator passes a live context.
            unsafe { call!(e.ctx, IndicateCompletion, RQ_NOTIFICATION_PENDING) };
            RQ_NOTIFICATION_PENDING
        },
        ..SPEC
    }
);

#[test]
fn indicate_completion_with_pending_does_not_complete_the_request() {
    let server = TestServer::new(indicate_pending_register).unwrap();
    let message = send_panic_message(&server, TestRequest::get("/"));
    assert!(
        message.starts_with(
            "request left pending: CHttpModule::OnSendResponse returned RQ_NOTIFICATION_PENDING \
             and IndicateCompletion was given RQ_NOTIFICATION_PENDING"
        ),
        "{message}"
    );
    take_log();
    server.shutdown();
}

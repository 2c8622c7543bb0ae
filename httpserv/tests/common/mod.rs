//! Shared harness of the integration tests: a scripted module and helpers to run it in the
//! in-process test server.
//!
//! [`Scripted`] is an ordinary module written with `#[http_module]` and safe code only. Each of
//! its handlers runs the hook a test installed for that [`Stage`] with [`on`] (or continues when
//! there is none), so one module covers every test of a file. Hooks live in a thread-local:
//! `TestServer::send` runs the request on the calling thread.
//!
//! The hooks are per thread, but a hook that panics or is left installed would leak into the next
//! test on a reused test thread, so every test of a binary holds [`serial`] while it has a
//! server ([`Sim`] takes it and clears the hooks).
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};

use httpserv::prelude::*;
use httpserv_testing::{Call, ShutdownReport, TestRequest, TestResponse, TestServer};
use httpserv::{E_INVALIDARG, MapHandlerProvider};

/// The notifications [`Scripted`] handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    BeginRequest,
    PostBeginRequest,
    AuthenticateRequest,
    PostAuthenticateRequest,
    AuthorizeRequest,
    PostAuthorizeRequest,
    ResolveRequestCache,
    PostResolveRequestCache,
    MapRequestHandler,
    PostMapRequestHandler,
    AcquireRequestState,
    PostAcquireRequestState,
    PreExecuteRequestHandler,
    PostPreExecuteRequestHandler,
    ExecuteRequestHandler,
    PostExecuteRequestHandler,
    ReleaseRequestState,
    PostReleaseRequestState,
    UpdateRequestCache,
    PostUpdateRequestCache,
    LogRequest,
    PostLogRequest,
    EndRequest,
    PostEndRequest,
    SendResponse,
    MapPath,
    ReadEntity,
}

/// The provider a hook gets, by notification.
pub enum Provider<'p> {
    Event(&'p EventProvider<'p>),
    Authentication(&'p AuthenticationProvider<'p>),
    MapHandler(&'p MapHandlerProvider<'p>),
    SendResponse(&'p SendResponseProvider<'p>),
    MapPath(&'p MapPathProvider<'p>),
    ReadEntity(&'p ReadEntityProvider<'p>),
}

impl<'p> Provider<'p> {
    pub fn event(&self) -> &'p EventProvider<'p> {
        match self {
            Provider::Event(p) => p,
            _ => panic!("not an IHttpEventProvider notification"),
        }
    }

    pub fn authentication(&self) -> &'p AuthenticationProvider<'p> {
        match self {
            Provider::Authentication(p) => p,
            _ => panic!("not RQ_AUTHENTICATE_REQUEST"),
        }
    }

    pub fn send_response(&self) -> &'p SendResponseProvider<'p> {
        match self {
            Provider::SendResponse(p) => p,
            _ => panic!("not RQ_SEND_RESPONSE"),
        }
    }

    pub fn map_path(&self) -> &'p MapPathProvider<'p> {
        match self {
            Provider::MapPath(p) => p,
            _ => panic!("not RQ_MAP_PATH"),
        }
    }

    pub fn read_entity(&self) -> &'p ReadEntityProvider<'p> {
        match self {
            Provider::ReadEntity(p) => p,
            _ => panic!("not RQ_READ_ENTITY"),
        }
    }
}

type Hook = Box<dyn FnMut(&HttpContext<'_>, &Provider<'_>) -> NotificationStatus>;

thread_local! {
    static HOOKS: RefCell<Vec<(Stage, Option<Hook>)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `hook` whenever [`Scripted`] gets `stage` (replacing any earlier hook for it).
pub fn on(stage: Stage, hook: impl FnMut(&HttpContext<'_>, &Provider<'_>) -> NotificationStatus + 'static) {
    HOOKS.with(|hooks| {
        let mut hooks = hooks.borrow_mut();
        hooks.retain(|(s, _)| *s != stage);
        hooks.push((stage, Some(Box::new(hook))));
    });
}

/// Removes every hook of this thread.
pub fn clear_hooks() {
    HOOKS.with(|hooks| hooks.borrow_mut().clear());
}

/// Runs the hook of `stage`. The hook is taken out while it runs, so it may trigger nested
/// notifications (`MapPath` raises `RQ_MAP_PATH`, `Flush` raises `RQ_SEND_RESPONSE`, ...).
fn run(stage: Stage, context: &HttpContext<'_>, provider: Provider<'_>) -> NotificationStatus {
    let hook = HOOKS.with(|hooks| hooks.borrow_mut().iter_mut().find(|(s, _)| *s == stage).and_then(|(_, h)| h.take()));
    let Some(mut hook) = hook else {
        return NotificationStatus::Continue;
    };
    let status = hook(context, &provider);
    HOOKS.with(|hooks| {
        if let Some((_, slot)) = hooks.borrow_mut().iter_mut().find(|(s, _)| *s == stage) {
            if slot.is_none() {
                *slot = Some(hook);
            }
        }
    });
    status
}

/// The module under test: every handler runs the hook of its stage.
#[http_module(name = "Scripted")]
#[derive(Default)]
pub struct Scripted;

macro_rules! scripted {
    ($($method:ident: $provider:ident => $variant:ident, $stage:ident;)*) => {
        #[http_module]
        impl HttpModule for Scripted {
            $(
                fn $method(&mut self, context: &HttpContext<'_>, provider: &$provider<'_>) -> NotificationStatus {
                    run(Stage::$stage, context, Provider::$variant(provider))
                }
            )*
        }
    };
}

scripted! {
    on_begin_request: EventProvider => Event, BeginRequest;
    on_post_begin_request: EventProvider => Event, PostBeginRequest;
    on_authenticate_request: AuthenticationProvider => Authentication, AuthenticateRequest;
    on_post_authenticate_request: EventProvider => Event, PostAuthenticateRequest;
    on_authorize_request: EventProvider => Event, AuthorizeRequest;
    on_post_authorize_request: EventProvider => Event, PostAuthorizeRequest;
    on_resolve_request_cache: EventProvider => Event, ResolveRequestCache;
    on_post_resolve_request_cache: EventProvider => Event, PostResolveRequestCache;
    on_map_request_handler: MapHandlerProvider => MapHandler, MapRequestHandler;
    on_post_map_request_handler: EventProvider => Event, PostMapRequestHandler;
    on_acquire_request_state: EventProvider => Event, AcquireRequestState;
    on_post_acquire_request_state: EventProvider => Event, PostAcquireRequestState;
    on_pre_execute_request_handler: EventProvider => Event, PreExecuteRequestHandler;
    on_post_pre_execute_request_handler: EventProvider => Event, PostPreExecuteRequestHandler;
    on_execute_request_handler: EventProvider => Event, ExecuteRequestHandler;
    on_post_execute_request_handler: EventProvider => Event, PostExecuteRequestHandler;
    on_release_request_state: EventProvider => Event, ReleaseRequestState;
    on_post_release_request_state: EventProvider => Event, PostReleaseRequestState;
    on_update_request_cache: EventProvider => Event, UpdateRequestCache;
    on_post_update_request_cache: EventProvider => Event, PostUpdateRequestCache;
    on_log_request: EventProvider => Event, LogRequest;
    on_post_log_request: EventProvider => Event, PostLogRequest;
    on_end_request: EventProvider => Event, EndRequest;
    on_post_end_request: EventProvider => Event, PostEndRequest;
    on_send_response: SendResponseProvider => SendResponse, SendResponse;
    on_map_path: MapPathProvider => MapPath, MapPath;
    on_read_entity: ReadEntityProvider => ReadEntity, ReadEntity;
}

/// Serializes the tests of a binary (see the module documentation).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A test server running `RegisterModule` (by default [`Scripted`]'s), holding [`serial`].
pub struct Sim {
    // Dropped before the lock.
    pub server: TestServer,
    _serial: MutexGuard<'static, ()>,
}

impl Sim {
    /// A server for [`Scripted`], with no hooks installed.
    pub fn new() -> Sim {
        Sim::with(RegisterModule)
    }

    /// A server for another module.
    pub fn with(register: httpserv_testing::RegisterModuleFn) -> Sim {
        let serial = serial();
        clear_hooks();
        let server = TestServer::new(register).expect("RegisterModule failed");
        Sim { server, _serial: serial }
    }

    pub fn send(&mut self, request: TestRequest) -> TestResponse {
        self.server.send(request)
    }

    /// The message `send(request)` panics with; fails the test if it does not panic.
    #[track_caller]
    pub fn send_panic(&mut self, request: TestRequest) -> String {
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.server.send(request))).expect_err("send did not panic");
        match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => payload.downcast_ref::<&str>().map_or_else(|| "<not a string>".to_owned(), |s| (*s).to_owned()),
        }
    }

    /// Shuts down and checks that every module created was disposed.
    pub fn shutdown(self) -> ShutdownReport {
        let report = self.server.shutdown();
        assert_eq!(report.modules_created, report.modules_disposed, "{:#?}", report.calls);
        report
    }
}

impl Default for Sim {
    fn default() -> Self {
        Sim::new()
    }
}

/// What [`in_handler`] returns.
pub struct Ran<R> {
    pub value: R,
    pub response: TestResponse,
    /// The server-level calls made during the request.
    pub server_calls: Vec<Call>,
    pub report: ShutdownReport,
}

/// Sends `request` to [`Scripted`] and runs `f` in its `RQ_EXECUTE_REQUEST_HANDLER` handler
/// (which then continues); returns what `f` returned, the response and the shutdown report.
pub fn in_handler_with<R: 'static>(request: TestRequest, f: impl FnOnce(&HttpContext<'_>) -> R + 'static) -> Ran<R> {
    let mut sim = Sim::new();
    let out: Rc<RefCell<Option<R>>> = Rc::default();
    let slot = out.clone();
    let mut f = Some(f);
    on(Stage::ExecuteRequestHandler, move |context, _| {
        let f = f.take().expect("RQ_EXECUTE_REQUEST_HANDLER ran twice");
        *slot.borrow_mut() = Some(f(context));
        NotificationStatus::Continue
    });
    let response = sim.send(request);
    let server_calls = sim.server.server_calls().to_vec();
    let report = sim.shutdown();
    let value = out.borrow_mut().take().unwrap_or_else(|| panic!("the handler did not run:\n{}", response.transcript()));
    Ran { value, response, server_calls, report }
}

/// [`in_handler_with`] for `GET /`.
pub fn in_handler<R: 'static>(f: impl FnOnce(&HttpContext<'_>) -> R + 'static) -> Ran<R> {
    in_handler_with(TestRequest::get("/"), f)
}

/// Asserts that `result` is the refusal of bad input: `E_INVALIDARG`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: httpserv::Result<T>) {
    match result {
        Err(error) => assert_eq!(error.code(), E_INVALIDARG, "{error:?}"),
        Ok(value) => panic!("bad input was accepted: Ok({value:?})"),
    }
}

/// The message of `result`'s refusal: `E_INVALIDARG`, and the message the crate gave it (read
/// back with `last_refusal`, since `windows_result::Error` keeps messages only on Windows).
/// Call it right after the refused call, on the thread that made it.
#[track_caller]
pub fn refusal<T: std::fmt::Debug>(result: httpserv::Result<T>) -> String {
    assert_invalid(result);
    httpserv::__private::last_refusal()
}

/// Registers `M` by hand: for the modules of a test binary other than [`Scripted`] (a binary
/// exports one `#[http_module]` struct's `RegisterModule`).
///
/// # Safety
/// Called as IIS calls `RegisterModule`.
pub unsafe extern "system" fn register<M: HttpModule + httpserv::__private::Handlers + Default>(
    version: u32,
    info: *mut httpserv::__private::IHttpModuleRegistrationInfo,
    server: *mut httpserv::__private::IHttpServer,
) -> httpserv::__private::HRESULT {
    // SAFETY: the arguments are the test server's, passed through.
    unsafe { httpserv::__private::register_module(version, info, server, || None, |r| r.request_module::<M>()) }
}

/// Registers the request module `M` and the global module `G` by hand.
///
/// # Safety
/// Called as IIS calls `RegisterModule`.
pub unsafe extern "system" fn register_with_global<
    M: HttpModule + httpserv::__private::Handlers + Default,
    G: GlobalModule + httpserv::__private::GlobalHandlers + Default,
>(
    version: u32,
    info: *mut httpserv::__private::IHttpModuleRegistrationInfo,
    server: *mut httpserv::__private::IHttpServer,
) -> httpserv::__private::HRESULT {
    // SAFETY: the arguments are the test server's, passed through.
    unsafe {
        httpserv::__private::register_module(version, info, server, || None, |r| {
            r.request_module::<M>()?;
            r.global_module(G::default())
        })
    }
}

/// The text of the calls to `method`, one per call.
pub fn details(response: &TestResponse, method: &str) -> Vec<String> {
    response.calls_to(method).map(|c| c.detail.clone()).collect()
}

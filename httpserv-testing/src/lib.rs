//! An in-process IIS simulator for `cargo test`, on any OS (a dev-dependency of module crates).
//!
//! [`TestServer`] plays the server side of `httpserv.h`: it calls a module's `RegisterModule`
//! with its own `IHttpModuleRegistrationInfo` and `IHttpServer`, then runs each [`TestRequest`]
//! through the IIS request pipeline, calling the module's `CHttpModule` handlers in IIS's order
//! with real `IHttpContext`, `IHttpRequest`, `IHttpResponse`, ... objects whose vtables are
//! implemented in Rust. Every call the module makes on them is recorded as a [`Call`], so a test
//! can assert both the HTTP result and the transcript:
//!
//! ```
//! # mod my_module {
//! #     use httpserv::prelude::*;
//! #     #[http_module]
//! #     #[derive(Default)]
//! #     pub struct Hello;
//! #     #[http_module]
//! #     impl HttpModule for Hello {
//! #         fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
//! #             let response = context.response();
//! #             response.set_header("Content-Type", "text/plain").unwrap();
//! #             response.write(b"hello, iis").unwrap();
//! #             NotificationStatus::FinishRequest
//! #         }
//! #         fn on_send_response(&mut self, context: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> NotificationStatus {
//! #             let _ = context.cancel_io();
//! #             NotificationStatus::Continue
//! #         }
//! #     }
//! # }
//! # fn main() {
//! use httpserv_testing::{Notification, TestRequest, TestServer};
//!
//! let server = TestServer::new(my_module::RegisterModule).expect("RegisterModule failed");
//! let response = server.send(TestRequest::get("/hello?name=iis").header("User-Agent", "test"));
//! assert_eq!(response.status, 200);
//! assert_eq!(response.header("content-type"), Some("text/plain"));
//! assert_eq!(response.body_str(), "hello, iis");
//! assert_eq!(response.called_during("IHttpContext::CancelIo", Notification::SendResponse), 1);
//! let report = server.shutdown();
//! assert_eq!(report.modules_created, report.modules_disposed);
//! # }
//! ```
//!
//! # The IIS rules this simulator follows
//!
//! Every rule of IIS behaviour the simulator implements, with the Microsoft page it follows
//! (`[NCAR]` is the IIS native-code API reference,
//! <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/>).
//! Where the simulator deliberately differs from IIS, the rule says **Differs**. Both doors
//! ([`TestServer::new`] and [`TestServer::dll`]) run these same rules: they are written once, here.
//!
//! 1. **Registration.** `RegisterModule` is called once with [`SERVER_VERSION`], an
//!    `IHttpModuleRegistrationInfo2` (name [`DEFAULT_MODULE_NAME`] or the one given to
//!    [`TestServer::with_name`]) and an `IHttpServer` that is also `IHttpServer2`/`3` through
//!    `GetExtendedInterface`; the masks, priorities, factory and global module it registers are
//!    recorded. If it fails, the factory and global module it registered get `Terminate` and the
//!    module is not loaded ([`RegisterModule`], [`SetRequestNotifications`]). **Differs**: the
//!    page gives `dwServerVersion` as IIS's major version (7 for IIS 7.0); the simulator passes
//!    [`SERVER_VERSION`] (IIS 10 as major and minor words), as the project's former C++ simulator did.
//! 2. **One module object per request.** `IHttpModuleFactory::GetHttpModule` is called once per
//!    request, before its first notification. A factory that fails or gives no module fails the
//!    request with `500` and the factory's `HRESULT` (`E_POINTER` for no module)
//!    ([`GetHttpModule`]).
//! 3. **Stage order.** The deterministic notifications run in this order, each only if registered
//!    and not disabled with `IHttpContext::DisableNotifications`: `BeginRequest`,
//!    `AuthenticateRequest`, `AuthorizeRequest`, `ResolveRequestCache`, `MapRequestHandler`,
//!    `AcquireRequestState`, `PreExecuteRequestHandler`, `ExecuteRequestHandler`,
//!    `ReleaseRequestState`, `UpdateRequestCache`, `LogRequest`, `EndRequest`
//!    ([request-processing constants], [IIS architecture], [integrated pipeline order]).
//! 4. **Post-notifications.** Each stage's post-notification (`OnPostBeginRequest`, ...) runs right
//!    after the stage's notification, if registered in the post mask ([`OnPostBeginRequest`]).
//! 5. **`RQ_NOTIFICATION_CONTINUE`** goes on to the next handler and stage. That includes a handler
//!    that set an error status (`SetStatus(500, ...)`) and returned `CONTINUE`: the status stays and
//!    the pipeline goes on; only `FINISH_REQUEST` ends request processing
//!    ([`REQUEST_NOTIFICATION_STATUS`]). **Differs**: IIS's custom-error module may then replace the
//!    body of a 4xx/5xx response; the simulator has no custom errors (`fTrySkipCustomErrors` is only
//!    recorded).
//! 6. **`RQ_NOTIFICATION_FINISH_REQUEST`** sends the response and skips the remaining stages,
//!    including the post-notification of the finishing stage, except `LogRequest` and `EndRequest`
//!    (and their post-notifications), which still run ([`REQUEST_NOTIFICATION_STATUS`]: "IIS has
//!    finished processing request-level notifications"). **Differs**: the page does not say that
//!    `LogRequest` and `EndRequest` still run; the simulator follows IIS's observed behaviour (the
//!    request is still logged and ended).
//! 7. **When `RQ_SEND_RESPONSE` fires.** `OnSendResponse` runs when the response headers are sent:
//!    at the first `IHttpResponse::Flush` (or write with buffering disabled), when a handler returns
//!    `FINISH_REQUEST`, or else right after the `ExecuteRequestHandler` stage (before
//!    `ReleaseRequestState`). The status and headers sent are those in effect when it returned; a
//!    `Flush` after that sends body only ([`OnSendResponse`], [`Flush`],
//!    [`GetResponseHeadersSent`]). **Differs**: IIS raises it each time it sends the response
//!    buffer; the simulator raises it once per request, when the headers go.
//! 8. **`RQ_NOTIFICATION_PENDING`** is resolved by what the handler did before returning it:
//!    `CHttpModule::OnAsyncCompletion` if it called `IHttpContext::PostCompletion`, else the status it
//!    gave `IHttpContext::IndicateCompletion` ([`REQUEST_NOTIFICATION_STATUS`],
//!    [`IndicateCompletion`], [`PostCompletion`], [`OnAsyncCompletion`]). With neither, IIS leaves
//!    the request hanging forever; **Differs**: the simulator fails it instead: no further
//!    notification, the request is cleaned up (rule 10), and [`TestServer::send`] panics with
//!    `request left pending: CHttpModule::OnX returned RQ_NOTIFICATION_PENDING and nothing called
//!    IndicateCompletion or PostCompletion`. **Differs** too: `OnAsyncCompletion` runs on the
//!    request's thread right after the handler returned, not later on an IIS thread.
//! 9. **Non-deterministic notifications** are raised from inside the call that causes them:
//!    `RQ_MAP_PATH` from `IHttpContext::MapPath`, `RQ_READ_ENTITY` from
//!    `IHttpRequest::ReadEntityBody`, `RQ_CUSTOM_NOTIFICATION` from
//!    `IHttpContext::NotifyCustomNotification` ([request-processing constants]).
//! 10. **End of a request, stored-context cleanup order.** After `EndRequest`:
//!     `IHttpStoredContext::CleanupStoredContext` on every stored context of the request's
//!     container, then of its named containers, then `NotifyDisconnect` and `CleanupStoredContext`
//!     for its connection's; then `CHttpModule::Dispose`; then the request memory
//!     (`AllocateRequestMemory`, `IModuleAllocator`, where the module object may live) is freed
//!     ([`CleanupStoredContext`], [`Dispose`], [`AllocateRequestMemory`]). **Differs**: in IIS a
//!     connection outlives its requests (keep-alive); here each request has its own connection.
//! 11. **Global notification order.** `GL_APPLICATION_START` right after registration;
//!     `GL_PRE_BEGIN_REQUEST` before each request (before `GetHttpModule`);
//!     `GL_CONFIGURATION_CHANGE`, `GL_FILE_CHANGE` and `GL_CUSTOM_NOTIFICATION` when the module calls
//!     the matching `IHttpServer` method, or the test calls
//!     [`TestServer::notify_configuration_change`] / [`TestServer::notify_file_change`];
//!     at [`TestServer::shutdown`], `GL_STOP_LISTENING` then `GL_APPLICATION_STOP`
//!     ([`OnGlobalPreBeginRequest`], [`OnGlobalApplicationStart`], [`OnGlobalStopListening`]).
//!     **Differs**: IIS starts an application at its first request, after the worker process
//!     registered the module; the simulator has one application, started at once.
//! 12. **Shutdown order.** `GL_STOP_LISTENING`, `GL_APPLICATION_STOP`, cleanup of the site,
//!     application and dispensed containers' stored contexts, `IHttpModuleFactory::Terminate`,
//!     `CGlobalModule::Terminate` ([`IHttpModuleFactory::Terminate`], [`CGlobalModule::Terminate`]).
//! 13. **Defaults.** A request nobody answers gets `200 OK` with an empty body; requests get a `Host`
//!     header (`localhost`, or the host of an absolute URL) and a `Content-Length` for a body,
//!     unless the test set them. **Differs**: IIS's static file handler would answer `404`, and IIS
//!     adds `Server`, `Date` and `Content-Length` response headers; the simulator adds none.
//! 14. **Site and application.** [`SITE_NAME`] (id [`SITE_ID`]), application [`APPLICATION_ID`] at
//!     [`APPLICATION_PHYSICAL_PATH`], application pool [`APP_POOL_NAME`]; `IHttpContext::MapPath`
//!     maps `/a/b.txt` to `C:\inetpub\wwwroot\a\b.txt`.
//! 15. **I/O is synchronous.** Asynchronous reads, writes and flushes complete at once and report
//!     `*pfCompletionPending = FALSE`, which IIS also does when it can, so completion callbacks are
//!     never called. Strings and structures returned to the module stay valid until the request
//!     ends. Methods the simulator does not implement return `E_NOTIMPL` (or `NULL`, `FALSE`, `0`)
//!     and are recorded like the others. **Differs**: IIS completes I/O asynchronously when it must.
//! 16. **A user set with `SetUser`** is the request's user from then on: `GetUser` returns it,
//!     `AUTH_USER`/`LOGON_USER` are its `GetUserName`, `REMOTE_USER` its `GetRemoteUserName`,
//!     `AUTH_TYPE` its `GetAuthenticationType` (the simulator calls the module's object), and the log
//!     entry names it. IIS owns the reference the module handed over and calls `DereferenceUser` once
//!     when it no longer needs the user: when a second `SetUser` replaces it, else after the stored
//!     contexts at the end of the request ([`SetUser`]). `GetOriginalUser` keeps the request's own.
//! 17. **Log data.** `ISendResponseProvider::GetReadyToLogData` is TRUE during the send that
//!     completes the response (not during a `Flush` or unbuffered write before the handler is done);
//!     `GetLogData` then returns an `HTTP_LOG_FIELDS_DATA` (user, URI stem and query, method,
//!     addresses, status), but only to a module that registered `RQ_SEND_RESPONSE` at
//!     `PRIORITY_ALIAS_FIRST` or `PRIORITY_ALIAS_HIGH`, else NULL ([`GetLogData`]); `SetLogData`
//!     copies the module's entry. [`TestResponse::log`] is what the log says at the end.
//! 18. **Fragments, request properties, child requests.** `HttpDataChunkFromFragmentCache` chunks
//!     are read from the fragment cache (`AddFragmentToCache`). `IHttpServer3::QueryRequestProperty`
//!     answers `HttpRequestPropertySni` for the running request (no SNI: plain HTTP) and
//!     `ERROR_INVALID_PARAMETER` for an id that is not running. A synchronous `ExecuteRequest` is
//!     `ERROR_NOT_SUPPORTED` ([`ExecuteRequest`]); child requests are not simulated otherwise.
//! 19. **Configuration and metadata.** A [`Config`] (`applicationHost.config` with `<location>`, `web.config` by
//!     URL, schema files) is served through `IHttpServer::GetAdminManager` (the module's
//!     `GetAdminSection` calls are in [`TestServer::server_calls`]), merged per configuration path
//!     as IIS merges it (see `config.rs` for the rules and their pages). `IHttpContext::GetMetadata`
//!     gives one metadata object per path (`MACHINE/WEBROOT/APPHOST/Default Web Site/<url path>`)
//!     whose module context container lives until shutdown or until a configuration change under
//!     its path retires it. **Differs**: the objects are read-only (writes are `E_NOTIMPL`), and a
//!     configuration error is an `HRESULT` without an `IAppHostConfigException`.
//!
//! [`SetUser`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/iauthenticationprovider-setuser-method
//! [`GetLogData`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/isendresponseprovider-getlogdata-method
//! [`ExecuteRequest`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-executerequest-method
//! [NCAR]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/
//! [`RegisterModule`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/pfn-registermodule-function
//! [`SetRequestNotifications`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpmoduleregistrationinfo-setrequestnotifications-method
//! [`GetHttpModule`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpmodulefactory-gethttpmodule-method
//! [request-processing constants]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/request-processing-constants
//! [IIS architecture]: https://learn.microsoft.com/en-us/iis/get-started/introduction-to-iis/introduction-to-iis-architecture
//! [integrated pipeline order]: https://learn.microsoft.com/en-us/previous-versions/aspnet/bb470252(v=vs.100)
//! [`OnPostBeginRequest`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/chttpmodule-onpostbeginrequest-method
//! [`REQUEST_NOTIFICATION_STATUS`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/request-notification-status-enumeration
//! [`OnSendResponse`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/chttpmodule-onsendresponse-method
//! [`Flush`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpresponse-flush-method
//! [`GetResponseHeadersSent`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-getresponseheaderssent-method
//! [`IndicateCompletion`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-indicatecompletion-method
//! [`PostCompletion`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-postcompletion-method
//! [`OnAsyncCompletion`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/chttpmodule-onasynccompletion-method
//! [`CleanupStoredContext`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpstoredcontext-cleanupstoredcontext-method
//! [`Dispose`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/chttpmodule-dispose-method
//! [`AllocateRequestMemory`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-allocaterequestmemory-method
//! [`OnGlobalPreBeginRequest`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/cglobalmodule-onglobalprebeginrequest-method
//! [`OnGlobalApplicationStart`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/cglobalmodule-onglobalapplicationstart-method
//! [`OnGlobalStopListening`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/cglobalmodule-onglobalstoplistening-method
//! [`IHttpModuleFactory::Terminate`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpmodulefactory-terminate-method
//! [`CGlobalModule::Terminate`]: https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/cglobalmodule-terminate-method
//!
//! # Transcripts
//!
//! [`TestResponse::calls`] lists, in order, what happened during the request: the simulator's
//! calls into the module (`"IHttpModuleFactory::GetHttpModule"`, `"CHttpModule::OnBeginRequest"`,
//! `"IHttpStoredContext::CleanupStoredContext"`, `"CHttpModule::Dispose"`) and the module's calls
//! into the simulator (`"IHttpResponse::SetHeader"`, ...), each tagged with the [`Notification`] it
//! happened in. A call into the module that returns a status appears twice: its entry, then the
//! calls made inside it, then its return ([`CallKind::Return`]), so [`TestResponse::transcript`]
//! reads in the order things happened:
//!
//! ```text
//! [SendResponse] CHttpModule::OnSendResponse
//! [SendResponse] IHttpContext::CancelIo: -> S_OK
//! [SendResponse] CHttpModule::OnSendResponse returned RQ_NOTIFICATION_CONTINUE
//! ```
//!
//! `HRESULT`s are shown by name (`S_OK`, `E_INVALIDARG`, `HRESULT_FROM_WIN32(ERROR_HANDLE_EOF)`),
//! in hex when they have no common name. [`TestResponse::called`] and [`TestResponse::calls_to`]
//! count and list entries; [`TestResponse::returned`] gives what calls into the module returned.
//! Calls on server-level objects are also kept in [`TestServer::server_calls`].
//!
//! # The DLL door: running a built module DLL
//!
//! [`TestServer::dll`] loads a module DLL (built with `cargo build --target x86_64-pc-windows-gnu`,
//! say) in `httpserv-simulator.exe`, a Windows executable that runs this same simulator and speaks
//! the [`door`] protocol with the test over its standard input and output. The test API is the
//! same: change how the server is created, keep the test.
//!
//! - The executable is found from the environment variable **`HTTPSERV_SIMULATOR`** (its path), or
//!   [`DllServerBuilder::simulator`].
//! - On Windows it runs directly; elsewhere as `wine <exe> <dll>` (`wine` on the `PATH`, or
//!   [`DllServerBuilder::wine`]). `WINEPREFIX` is used as the environment gives it; `WINEDEBUG=-all`
//!   and `WINEDLLOVERRIDES=mscoree,mshtml=` are set unless the environment sets them.
//! - What cannot cross is refused, not dropped: [`TestRequest::other_module`] runs code of the test
//!   process, so [`TestServer::send`] panics with a message saying so.
//! - A missing executable, DLL or Wine, a DLL that does not load, a child that dies or writes
//!   something that is not a reply: each is a [`RegistrationError`] (at start) or a panic (later)
//!   whose message says what happened and what to do.
//!
//! ## Choosing the door from the environment
//!
//! [`TestServer::for_module`] lets one test run through either door without code changes:
//!
//! ```no_run
//! # use httpserv_testing::{TestRequest, TestServer};
//! # unsafe extern "system" fn RegisterModule(_: u32, _: *mut httpserv_sys::IHttpModuleRegistrationInfo, _: *mut httpserv_sys::IHttpServer) -> i32 { 0 }
//! // In-process by default; with HTTPSERV_DOOR=dll, $HTTPSERV_DLL_DIR/cancel_io.dll in
//! // $HTTPSERV_SIMULATOR.
//! let server = TestServer::for_module(RegisterModule, "cancel_io").unwrap();
//! let response = server.send(TestRequest::get("/index.html"));
//! ```
//!
//! | `HTTPSERV_DOOR` | the server |
//! | --- | --- |
//! | unset, empty or `in-process` | [`TestServer::new`]`(register)` |
//! | `dll` | [`TestServer::dll`]`("$HTTPSERV_DLL_DIR/<dll_name>.dll")`, the executable from `HTTPSERV_SIMULATOR` |
//!
//! Any other value, or `dll` without `HTTPSERV_DLL_DIR`, is a [`RegistrationError`] saying so.
//! `scripts/test.sh` runs the examples' tests both ways. A test that needs what only the
//! in-process door has ([`TestRequest::other_module`], or the module's Rust state seen from the
//! test) creates its server with [`TestServer::new`] and stays in-process.
//!
//! # Calling convention
//!
//! The simulator's vtables hold `extern "thiscall"` functions on x86 (MSVC passes `this` in ECX)
//! and `extern "system"` ones elsewhere, exactly the types `httpserv_sys` declares, so the same
//! tests run for 32- and 64-bit targets.
//!
//! # Threads, lifetimes and panics
//!
//! [`TestServer`] is `Send + Sync` and [`TestServer::send`] takes `&self`: threads sharing a
//! server run requests concurrently, as IIS's worker threads do, so a module's factory, global
//! module and shared state are exercised from several threads at once. The server's own state is
//! behind locks that are never held while the module runs. Several servers in one process are
//! independent (registration, stored contexts, recorded calls, counters).
//!
//! A request runs on the thread that calls [`TestServer::send`], and its objects must be used on
//! that thread; they (and every string or structure the request handed out) are freed when
//! `send` returns. The server-level objects (`IHttpServer`, the site and application containers)
//! may be called from any thread. A panic inside the simulator never unwinds into the module:
//! it is caught at the vtable boundary and re-raised by `send` (or `new`, `shutdown`) when the
//! module returns (after ending the request: stored contexts cleaned up, `Dispose`). A
//! [`TestServer`] dropped without [`TestServer::shutdown`] shuts down in `Drop` (when the thread
//! is already panicking, a panic during that shutdown is dropped rather than aborting).
//!

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use windows_sys::core::HRESULT;

mod child;
mod client;
mod config;
mod containers;
mod context;
pub mod door;
mod pipeline;
mod providers;
mod request;
mod response;
mod server;
mod sockaddr;
mod strings;
mod thunk;
mod websocket;

#[cfg(test)]
mod tests;

pub use client::{DllServerBuilder, SIMULATOR_ENV};
pub use websocket::{ClientStep, ServerFragment, ServerMessage, WebSocketClient, WebSocketTranscript};
pub use config::{Config, APPHOST_PATH};

/// The environment variable [`TestServer::for_module`] reads to choose the door: `dll`, or
/// `in-process` (the default).
pub const DOOR_ENV: &str = "HTTPSERV_DOOR";

/// The environment variable naming the directory of the module DLLs for `HTTPSERV_DOOR=dll`.
pub const DLL_DIR_ENV: &str = "HTTPSERV_DLL_DIR";
use server::ServerShared;
use thunk::Pinned;

/// The signature of a module's exported `RegisterModule` function.
pub type RegisterModuleFn = unsafe extern "system" fn(
    u32,
    *mut httpserv_sys::IHttpModuleRegistrationInfo,
    *mut httpserv_sys::IHttpServer,
) -> HRESULT;

/// The `dwServerVersion` passed to `RegisterModule`: IIS 10 as major version in the high word
/// and minor in the low word (Microsoft's `PFN_REGISTERMODULE` page gives the major version alone,
/// 7 for IIS 7.0; this value is the convention the project's former C++ simulator set).
pub const SERVER_VERSION: u32 = 0x000A_0000;
/// The module name reported by `IHttpModuleRegistrationInfo::GetName` unless
/// [`TestServer::with_name`] gives another.
pub const DEFAULT_MODULE_NAME: &str = "TestModule";
/// `IHttpServer::GetAppPoolName` and the `APP_POOL_ID` server variable.
pub const APP_POOL_NAME: &str = "DefaultAppPool";
/// `IHttpSite::GetSiteName`.
pub const SITE_NAME: &str = "Default Web Site";
/// `IHttpSite::GetSiteId` and `IHttpRequest::GetSiteId`.
pub const SITE_ID: u32 = 1;
/// `IHttpApplication::GetApplicationId` and the `APPL_MD_PATH` server variable.
pub const APPLICATION_ID: &str = "/LM/W3SVC/1/ROOT";
/// `IHttpApplication::GetApplicationPhysicalPath`; the root of `IHttpContext::MapPath`.
pub const APPLICATION_PHYSICAL_PATH: &str = "C:\\inetpub\\wwwroot\\";

/// A notification (event) of the IIS pipeline, the context of a [`Call`].
///
/// Post-notifications are not separate variants: a [`Call`] made during `OnPostBeginRequest`
/// has `notification: Some(Notification::BeginRequest)` and `post: true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Notification {
    /// `RQ_BEGIN_REQUEST`.
    BeginRequest,
    /// `RQ_AUTHENTICATE_REQUEST`.
    AuthenticateRequest,
    /// `RQ_AUTHORIZE_REQUEST`.
    AuthorizeRequest,
    /// `RQ_RESOLVE_REQUEST_CACHE`.
    ResolveRequestCache,
    /// `RQ_MAP_REQUEST_HANDLER`.
    MapRequestHandler,
    /// `RQ_ACQUIRE_REQUEST_STATE`.
    AcquireRequestState,
    /// `RQ_PRE_EXECUTE_REQUEST_HANDLER`.
    PreExecuteRequestHandler,
    /// `RQ_EXECUTE_REQUEST_HANDLER`.
    ExecuteRequestHandler,
    /// `RQ_RELEASE_REQUEST_STATE`.
    ReleaseRequestState,
    /// `RQ_UPDATE_REQUEST_CACHE`.
    UpdateRequestCache,
    /// `RQ_LOG_REQUEST`.
    LogRequest,
    /// `RQ_END_REQUEST`.
    EndRequest,
    /// `RQ_SEND_RESPONSE`.
    SendResponse,
    /// `RQ_MAP_PATH`.
    MapPath,
    /// `RQ_READ_ENTITY`.
    ReadEntity,
    /// `RQ_CUSTOM_NOTIFICATION`.
    CustomRequestNotification,
    /// `CHttpModule::OnAsyncCompletion` (after `IHttpContext::PostCompletion`).
    AsyncCompletion,
    /// `GL_PRE_BEGIN_REQUEST`.
    GlobalPreBeginRequest,
    /// `GL_APPLICATION_START`.
    GlobalApplicationStart,
    /// `GL_APPLICATION_STOP`.
    GlobalApplicationStop,
    /// `GL_STOP_LISTENING`.
    GlobalStopListening,
    /// `GL_CONFIGURATION_CHANGE`.
    GlobalConfigurationChange,
    /// `GL_FILE_CHANGE`.
    GlobalFileChange,
    /// `GL_CUSTOM_NOTIFICATION`.
    GlobalCustomNotification,
}

impl Notification {
    /// The deterministic request notifications, in pipeline order.
    pub const PIPELINE: [Notification; 12] = [
        Notification::BeginRequest,
        Notification::AuthenticateRequest,
        Notification::AuthorizeRequest,
        Notification::ResolveRequestCache,
        Notification::MapRequestHandler,
        Notification::AcquireRequestState,
        Notification::PreExecuteRequestHandler,
        Notification::ExecuteRequestHandler,
        Notification::ReleaseRequestState,
        Notification::UpdateRequestCache,
        Notification::LogRequest,
        Notification::EndRequest,
    ];

    /// The `RQ_*` or `GL_*` flag of the notification (`0` for [`Notification::AsyncCompletion`]).
    pub fn flag(self) -> u32 {
        use httpserv_sys::*;
        use Notification::*;
        match self {
            BeginRequest => RQ_BEGIN_REQUEST,
            AuthenticateRequest => RQ_AUTHENTICATE_REQUEST,
            AuthorizeRequest => RQ_AUTHORIZE_REQUEST,
            ResolveRequestCache => RQ_RESOLVE_REQUEST_CACHE,
            MapRequestHandler => RQ_MAP_REQUEST_HANDLER,
            AcquireRequestState => RQ_ACQUIRE_REQUEST_STATE,
            PreExecuteRequestHandler => RQ_PRE_EXECUTE_REQUEST_HANDLER,
            ExecuteRequestHandler => RQ_EXECUTE_REQUEST_HANDLER,
            ReleaseRequestState => RQ_RELEASE_REQUEST_STATE,
            UpdateRequestCache => RQ_UPDATE_REQUEST_CACHE,
            LogRequest => RQ_LOG_REQUEST,
            EndRequest => RQ_END_REQUEST,
            SendResponse => RQ_SEND_RESPONSE,
            MapPath => RQ_MAP_PATH,
            ReadEntity => RQ_READ_ENTITY,
            CustomRequestNotification => RQ_CUSTOM_NOTIFICATION,
            AsyncCompletion => 0,
            GlobalPreBeginRequest => GL_PRE_BEGIN_REQUEST,
            GlobalApplicationStart => GL_APPLICATION_START,
            GlobalApplicationStop => GL_APPLICATION_STOP,
            GlobalStopListening => GL_STOP_LISTENING,
            GlobalConfigurationChange => GL_CONFIGURATION_CHANGE,
            GlobalFileChange => GL_FILE_CHANGE,
            GlobalCustomNotification => GL_CUSTOM_NOTIFICATION,
        }
    }

    /// Whether this is a global (`GL_*`) notification, delivered to the `CGlobalModule`.
    pub fn is_global(self) -> bool {
        use Notification::*;
        matches!(
            self,
            GlobalPreBeginRequest
                | GlobalApplicationStart
                | GlobalApplicationStop
                | GlobalStopListening
                | GlobalConfigurationChange
                | GlobalFileChange
                | GlobalCustomNotification
        )
    }

    /// The name of the module method that handles it, as recorded in the transcript:
    /// `"CHttpModule::OnBeginRequest"`, `"CGlobalModule::OnGlobalStopListening"`, ...
    pub fn handler(self) -> &'static str {
        self.method(false)
    }

    /// The name of the module method that handles its post-notification:
    /// `"CHttpModule::OnPostBeginRequest"` (the notification's own handler for a notification
    /// without a post-notification, such as `RQ_SEND_RESPONSE` or the global ones).
    pub fn post_handler(self) -> &'static str {
        self.method(true)
    }

    pub(crate) fn method(self, post: bool) -> &'static str {
        use Notification::*;
        match (self, post) {
            (BeginRequest, false) => "CHttpModule::OnBeginRequest",
            (BeginRequest, true) => "CHttpModule::OnPostBeginRequest",
            (AuthenticateRequest, false) => "CHttpModule::OnAuthenticateRequest",
            (AuthenticateRequest, true) => "CHttpModule::OnPostAuthenticateRequest",
            (AuthorizeRequest, false) => "CHttpModule::OnAuthorizeRequest",
            (AuthorizeRequest, true) => "CHttpModule::OnPostAuthorizeRequest",
            (ResolveRequestCache, false) => "CHttpModule::OnResolveRequestCache",
            (ResolveRequestCache, true) => "CHttpModule::OnPostResolveRequestCache",
            (MapRequestHandler, false) => "CHttpModule::OnMapRequestHandler",
            (MapRequestHandler, true) => "CHttpModule::OnPostMapRequestHandler",
            (AcquireRequestState, false) => "CHttpModule::OnAcquireRequestState",
            (AcquireRequestState, true) => "CHttpModule::OnPostAcquireRequestState",
            (PreExecuteRequestHandler, false) => "CHttpModule::OnPreExecuteRequestHandler",
            (PreExecuteRequestHandler, true) => "CHttpModule::OnPostPreExecuteRequestHandler",
            (ExecuteRequestHandler, false) => "CHttpModule::OnExecuteRequestHandler",
            (ExecuteRequestHandler, true) => "CHttpModule::OnPostExecuteRequestHandler",
            (ReleaseRequestState, false) => "CHttpModule::OnReleaseRequestState",
            (ReleaseRequestState, true) => "CHttpModule::OnPostReleaseRequestState",
            (UpdateRequestCache, false) => "CHttpModule::OnUpdateRequestCache",
            (UpdateRequestCache, true) => "CHttpModule::OnPostUpdateRequestCache",
            (LogRequest, false) => "CHttpModule::OnLogRequest",
            (LogRequest, true) => "CHttpModule::OnPostLogRequest",
            (EndRequest, false) => "CHttpModule::OnEndRequest",
            (EndRequest, true) => "CHttpModule::OnPostEndRequest",
            (SendResponse, _) => "CHttpModule::OnSendResponse",
            (MapPath, _) => "CHttpModule::OnMapPath",
            (ReadEntity, _) => "CHttpModule::OnReadEntity",
            (CustomRequestNotification, _) => "CHttpModule::OnCustomRequestNotification",
            (AsyncCompletion, _) => "CHttpModule::OnAsyncCompletion",
            (GlobalPreBeginRequest, _) => "CGlobalModule::OnGlobalPreBeginRequest",
            (GlobalApplicationStart, _) => "CGlobalModule::OnGlobalApplicationStart",
            (GlobalApplicationStop, _) => "CGlobalModule::OnGlobalApplicationStop",
            (GlobalStopListening, _) => "CGlobalModule::OnGlobalStopListening",
            (GlobalConfigurationChange, _) => "CGlobalModule::OnGlobalConfigurationChange",
            (GlobalFileChange, _) => "CGlobalModule::OnGlobalFileChange",
            (GlobalCustomNotification, _) => "CGlobalModule::OnGlobalCustomNotification",
        }
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One recorded call: a method the module called on a simulator object (`"IHttpContext::CancelIo"`),
/// or a method the simulator called on the module (`"CHttpModule::OnSendResponse"`,
/// `"IHttpModuleFactory::GetHttpModule"`, `"IHttpStoredContext::CleanupStoredContext"`, ...).
///
/// A call the simulator makes into the module that can itself make calls (`RegisterModule`,
/// `GetHttpModule`, a `CHttpModule` or `CGlobalModule` handler, `OnAsyncCompletion`) is recorded
/// twice: its entry ([`CallKind::Call`], arguments as detail) before the calls made inside it,
/// and its return ([`CallKind::Return`], the returned status as detail) after them. Counting
/// helpers ([`TestResponse::called`], ...) count entries only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Call {
    /// `Interface::Method`, with the C++ names (overloads share a name).
    pub method: &'static str,
    /// The entry of a call, or the return of a call into the module.
    pub kind: CallKind,
    /// The notification being processed when the call was made, if any.
    pub notification: Option<Notification>,
    /// Whether that was the post-notification (`OnPost...`).
    pub post: bool,
    /// Arguments and result, in a readable form (e.g. `"X-Test: 1 (replace) -> S_OK"`); for a
    /// [`CallKind::Return`], what the module returned (`"RQ_NOTIFICATION_CONTINUE"`).
    pub detail: String,
}

/// Whether a [`Call`] is the entry of a call or the return of a call into the module.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallKind {
    /// A call (made by the module, or by the simulator into the module), with its arguments.
    #[default]
    Call,
    /// The return of a call into the module, after the calls made inside it.
    Return,
}

/// A module handler the pipeline called: [`TestResponse::notifications`] lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Handler {
    /// The notification's handler: `CHttpModule::OnBeginRequest`,
    /// `CGlobalModule::OnGlobalPreBeginRequest`, ...
    On(Notification),
    /// The post-notification's handler: `CHttpModule::OnPostBeginRequest`, ...
    OnPost(Notification),
}

impl Handler {
    pub(crate) fn new(notification: Notification, post: bool) -> Handler {
        if post {
            Handler::OnPost(notification)
        } else {
            Handler::On(notification)
        }
    }

    /// The notification it handles.
    pub fn notification(self) -> Notification {
        match self {
            Handler::On(n) | Handler::OnPost(n) => n,
        }
    }

    /// Whether it is a post-notification handler.
    pub fn is_post(self) -> bool {
        matches!(self, Handler::OnPost(_))
    }

    /// Its name in the transcript: `"CHttpModule::OnPostBeginRequest"`.
    pub fn method(self) -> &'static str {
        self.notification().method(self.is_post())
    }
}

impl Call {
    /// Whether this is the entry of a call (not the return of a call into the module).
    pub fn is_entry(&self) -> bool {
        self.kind == CallKind::Call
    }

    /// Whether this call was made during `notification` (the notification itself, not its post).
    pub fn during(&self, notification: Notification) -> bool {
        self.notification == Some(notification) && !self.post
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.notification {
            Some(n) if self.post => write!(f, "[Post{n}] ")?,
            Some(n) => write!(f, "[{n}] ")?,
            None => {}
        }
        f.write_str(self.method)?;
        match self.kind {
            CallKind::Return => write!(f, " returned {}", self.detail),
            CallKind::Call if !self.detail.is_empty() => write!(f, ": {}", self.detail),
            CallKind::Call => Ok(()),
        }
    }
}

/// What happened to the client connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Disconnect {
    /// The connection stays open (keep-alive).
    #[default]
    None,
    /// `IHttpResponse::SetNeedDisconnect`: closed after the response.
    AfterResponse,
    /// `IHttpResponse::ResetConnection`: reset (RST) at once.
    Reset,
    /// `IHttpResponse::CloseConnection`: closed.
    Closed,
}

/// A request to run through [`TestServer::send`], built like
/// `TestRequest::get("/path?q=1").header("Accept", "text/html")`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestRequest {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) remote: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) version: (u16, u16),
    pub(crate) user: Option<(String, String)>,
    /// Code of the test process: refused by the DLL door rather than dropped (serializing a
    /// request that has some fails).
    #[serde(
        skip_deserializing,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "door::refuse_other_modules"
    )]
    pub(crate) other_modules: Vec<OtherModule>,
    /// [`TestRequest::body_pieces`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pieces: Option<(usize, std::time::Duration)>,
    /// [`TestRequest::disconnect_after`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) disconnect_after: Option<std::time::Duration>,
    /// [`TestRequest::odd_request_memory`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) odd_request_memory: bool,
    /// [`TestRequest::websocket`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) websocket: Option<WebSocketClient>,
    /// [`TestRequest::on_wire`]: code of the test process, refused by the DLL door like
    /// `other_modules`.
    #[serde(
        skip_deserializing,
        skip_serializing_if = "Option::is_none",
        serialize_with = "door::refuse_on_wire"
    )]
    pub(crate) on_wire: Option<WireObserver>,
}

/// What reaches the client while a request runs, in order ([`TestRequest::on_wire`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wire<'a> {
    /// The status line and headers, once: when IIS first sends (a flush, an unbuffered write,
    /// or the end of the request).
    Head {
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: &'a str,
        /// The headers, in order (empty if suppressed).
        headers: &'a [(String, String)],
        /// Sent before the end of the request (a flush or an unbuffered write): more body may
        /// follow. `false`: this is the whole response, sent as the request ends.
        more: bool,
    },
    /// Entity-body bytes, as IIS sends them.
    Body(&'a [u8]),
}

/// A [`TestRequest::on_wire`] callback.
#[derive(Clone)]
pub(crate) struct WireObserver(pub(crate) std::sync::Arc<dyn Fn(Wire<'_>) + Send + Sync>);

impl fmt::Debug for WireObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WireObserver")
    }
}

/// Code of another module of the pipeline, run by the simulator just before the module under
/// test gets a notification (see [`TestRequest::other_module`]).
#[derive(Clone)]
pub(crate) struct OtherModule {
    pub(crate) stage: Notification,
    pub(crate) run: std::sync::Arc<dyn Fn(*mut httpserv_sys::IHttpContext) + Send + Sync>,
}

impl fmt::Debug for OtherModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtherModule({:?})", self.stage)
    }
}

impl TestRequest {
    /// A request with any method (`"PROPFIND"`, ...) for `url`: a path with an optional query
    /// (`"/a/b?x=1"`), or an absolute `http://host[:port]/...` URL whose host becomes the `Host`
    /// header.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        TestRequest {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            remote: SocketAddr::from(([127, 0, 0, 1], 50000)),
            local: SocketAddr::from(([127, 0, 0, 1], 80)),
            version: (1, 1),
            user: None,
            other_modules: Vec::new(),
            pieces: None,
            disconnect_after: None,
            odd_request_memory: false,
            on_wire: None,
            websocket: None,
        }
    }

    /// The client goes away `after` the request starts (from another thread): the request's
    /// connection stored contexts get `NotifyDisconnect` (while a notification is pending),
    /// `IHttpConnection::IsConnected` turns FALSE and reads and writes fail with
    /// `HRESULT_FROM_WIN32(ERROR_CONNECTION_ABORTED)`.
    pub fn disconnect_after(mut self, after: std::time::Duration) -> Self {
        self.disconnect_after = Some(after);
        self
    }

    /// `AllocateRequestMemory` (and `IModuleAllocator::AllocateMemory`) return addresses one
    /// byte past a 16-byte boundary. Microsoft documents no alignment for request memory
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-allocaterequestmemory-method>
    /// says only "a pointer to VOID"), so a module must not assume one: this shows one that does.
    pub fn odd_request_memory(mut self) -> Self {
        self.odd_request_memory = true;
        self
    }

    /// Calls `observe` with what reaches the client as IIS sends it: the head, then each piece
    /// of body (a flush, an unbuffered write, the buffered rest at the end), on the thread that
    /// sends it, while the request runs. A local HTTP server streams a response with it
    /// (`cargo httpserv run`). In-process only: the DLL door refuses it, as
    /// [`TestRequest::other_module`].
    pub fn on_wire(mut self, observe: impl Fn(Wire<'_>) + Send + Sync + 'static) -> Self {
        self.on_wire = Some(WireObserver(std::sync::Arc::new(observe)));
        self
    }

    /// Feeds the body slowly, as a slow client would: each `ReadEntityBody` returns at most
    /// `size` bytes (at least 1), and an asynchronous one (`fAsync = TRUE`) completes `delay`
    /// later, from another thread, through `OnAsyncCompletion`.
    pub fn body_pieces(mut self, size: usize, delay: std::time::Duration) -> Self {
        self.pieces = Some((size.max(1), delay));
        self
    }

    /// Plays another module of the pipeline, ahead of the module under test: `run` gets the
    /// request's `IHttpContext` at `stage` (before the module's own handler for it, whether or
    /// not the module registered for it). A test uses it to raise the notifications IIS raises
    /// when *another* module calls `MapPath`, `ReadEntityBody`, `Flush`, ...: the module's own
    /// calls do not reach its own handlers, because a busy module is not re-entered.
    ///
    /// ```
    /// use httpserv_testing::{Notification, TestRequest};
    /// let _request = TestRequest::get("/a").other_module(Notification::ExecuteRequestHandler, |context| {
    ///     // SAFETY: the simulator's live context of this request.
    ///     let context = unsafe { httpserv::HttpContext::from_raw(context) }.unwrap();
    ///     let _ = context.map_path("/a"); // raises RQ_MAP_PATH to the module under test
    /// });
    /// ```
    pub fn other_module(mut self, stage: Notification, run: impl Fn(*mut httpserv_sys::IHttpContext) + Send + Sync + 'static) -> Self {
        self.other_modules.push(OtherModule { stage, run: std::sync::Arc::new(run) });
        self
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request with an entity body.
    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self::new("POST", url).body(body)
    }

    /// Adds a request header (repeat a name to send it twice).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the entity body, which the module reads with `IHttpRequest::ReadEntityBody`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The client's address (default `127.0.0.1:50000`).
    pub fn remote_addr(mut self, addr: SocketAddr) -> Self {
        self.remote = addr;
        self
    }

    /// The server's address the request came in on (default `127.0.0.1:80`).
    pub fn local_addr(mut self, addr: SocketAddr) -> Self {
        self.local = addr;
        self
    }

    /// The HTTP version (default 1.1).
    pub fn http_version(mut self, major: u16, minor: u16) -> Self {
        self.version = (major, minor);
        self
    }

    /// Makes the request authenticated as `name` (authentication type `Basic`): then
    /// `IHttpContext::GetUser` returns an `IHttpUser`, which it does not by default.
    pub fn user(self, name: impl Into<String>) -> Self {
        self.user_with_auth_type(name, "Basic")
    }

    /// Like [`TestRequest::user`] with another authentication type (`"Negotiate"`, ...).
    pub fn user_with_auth_type(
        mut self,
        name: impl Into<String>,
        auth_type: impl Into<String>,
    ) -> Self {
        self.user = Some((name.into(), auth_type.into()));
        self
    }
}

/// The result of [`TestServer::send`]: what the client received, and the transcript.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TestResponse {
    /// The status code sent (default 200).
    pub status: u16,
    /// The IIS substatus (`SetStatus`'s `uSubStatus`), not sent on the wire.
    pub substatus: u16,
    /// The reason phrase sent.
    pub reason: String,
    /// The response headers sent, in order; a header set twice without replacing appears twice.
    /// Empty if the module called `IHttpResponse::SuppressHeaders`.
    pub headers: Vec<(String, String)>,
    /// Trailers set with `IHttpResponse4::SetTrailer`.
    pub trailers: Vec<(String, String)>,
    /// The entity body sent.
    pub body: Vec<u8>,
    /// Every call made during the request, in order.
    pub calls: Vec<Call>,
    /// What happened to the connection.
    pub disconnected: Disconnect,
    /// The server variables the module set with `SetServerVariable`, with their final values.
    pub server_variables_set: Vec<(String, String)>,
    /// `hrErrorToReport` of the last `SetStatus` (0 if none).
    pub error: HRESULT,
    /// `fTrySkipCustomErrors` of the last `SetStatus`.
    pub try_skip_custom_errors: bool,
    /// The description given to `IHttpResponse::SetErrorDescription`.
    pub error_description: Option<String>,
    /// Whether `IHttpResponse::SuppressHeaders` was called.
    pub headers_suppressed: bool,
    /// Whether `IHttpResponse::DisableBuffering` was called.
    pub buffering_disabled: bool,
    /// The reasons given to `IHttpResponse::DisableKernelCache`, in order.
    pub kernel_cache_disabled: Vec<u32>,
    /// Whether `IHttpContext::SetRequestHandled` was called.
    pub request_handled: bool,
    /// The method at the end of the request (after any `SetHttpMethod`).
    pub method: String,
    /// The URL (path and query) at the end of the request (after any `SetUrl`).
    pub url: String,
    /// The request headers at the end of the request (after any `SetHeader`/`DeleteHeader`).
    pub request_headers: Vec<(String, String)>,
    /// Bytes of request memory (`AllocateRequestMemory`, `IModuleAllocator`) handed out.
    pub request_memory_bytes: usize,
    /// Stored contexts cleaned up at the end of the request (request, connection and named
    /// containers).
    pub stored_contexts_cleaned: usize,
    /// The WebSocket conversation, when the request was upgraded
    /// ([`TestServer::enable_websocket_module`], [`TestRequest::websocket`]).
    #[serde(default)]
    pub websocket: Option<WebSocketTranscript>,
    /// The entry IIS writes to its log for the request (`HTTP_LOG_FIELDS_DATA`, as
    /// `ISendResponseProvider::GetLogData` shows it and `SetLogData` changes it).
    #[serde(default)]
    pub log: LogRecord,
}

/// The fields of a request's log entry a test checks ([`TestResponse::log`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// `cs-username` (`UserName`): `AUTH_USER`, or what a module set.
    pub user_name: String,
    /// `cs-uri-stem` (`UriStem`).
    pub uri_stem: String,
    /// `sc-status` (`ProtocolStatus`).
    pub status: u16,
}

impl TestResponse {
    /// The value of a response header (case-insensitive). For a header set several times, the
    /// first one; see [`TestResponse::header_values`] for all.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a response header (case-insensitive), one per header line.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text (invalid UTF-8 replaced by U+FFFD).
    pub fn body_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// How many times `method` (`"IHttpContext::CancelIo"`) was called.
    pub fn called(&self, method: &str) -> usize {
        count_calls(&self.calls, method)
    }

    /// How many times `method` was called during `notification` (not its post-notification).
    pub fn called_during(&self, method: &str, notification: Notification) -> usize {
        self.calls_to(method)
            .filter(|c| c.during(notification))
            .count()
    }

    /// How many times `method` was called during the post-notification of `notification`.
    pub fn called_during_post(&self, method: &str, notification: Notification) -> usize {
        self.calls_to(method)
            .filter(|c| c.notification == Some(notification) && c.post)
            .count()
    }

    /// The calls to `method` (their entries), in order.
    pub fn calls_to<'a>(&'a self, method: &'a str) -> impl Iterator<Item = &'a Call> + 'a {
        self.calls
            .iter()
            .filter(move |c| c.method == method && c.kind == CallKind::Call)
    }

    /// What the calls into the module named `method` returned, in order:
    /// `returned("CHttpModule::OnExecuteRequestHandler")` gives
    /// `["RQ_NOTIFICATION_FINISH_REQUEST"]`.
    pub fn returned<'a>(&'a self, method: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.calls
            .iter()
            .filter(move |c| c.method == method && c.kind == CallKind::Return)
            .map(|c| c.detail.as_str())
    }

    /// The module handlers the pipeline called, in order: `Handler::On(BeginRequest)`,
    /// `Handler::OnPost(BeginRequest)`, ...
    pub fn notifications(&self) -> Vec<Handler> {
        self.calls
            .iter()
            .filter(|c| c.kind == CallKind::Call)
            .filter(|c| {
                c.method.starts_with("CHttpModule::On") || c.method.starts_with("CGlobalModule::On")
            })
            .filter_map(|c| c.notification.map(|n| Handler::new(n, c.post)))
            .collect()
    }

    /// The transcript, one call per line (handy in assertion messages).
    pub fn transcript(&self) -> String {
        self.calls.iter().map(|c| format!("{c}\n")).collect()
    }
}

/// `RegisterModule` failed, or (through the DLL door) the module could not be reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegistrationError {
    /// What `RegisterModule` returned (or an `HRESULT` for the `cause`).
    pub hresult: HRESULT,
    /// The calls it made before failing.
    pub calls: Vec<Call>,
    /// Why the module was not registered when `RegisterModule` did not run or did not answer:
    /// the DLL did not load, it exports no `RegisterModule`, the simulator executable or Wine
    /// was not found, the child process died. `None` when `RegisterModule` returned `hresult`.
    pub cause: Option<String>,
}

impl RegistrationError {
    /// A failure before or around `RegisterModule` (the DLL did not load, ...): `cause` says
    /// what happened and what to do; `hresult` is the error behind it
    /// (`HRESULT_FROM_WIN32(GetLastError())` after `LoadLibrary`, for example).
    pub fn new(hresult: HRESULT, cause: impl Into<String>) -> RegistrationError {
        RegistrationError {
            hresult,
            calls: Vec::new(),
            cause: Some(cause.into()),
        }
    }
}

impl fmt::Display for RegistrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = strings::hr_str(self.hresult);
        let hex = format!("{:#010x}", self.hresult as u32);
        let hresult = if name == hex { hex } else { format!("{name}, {hex}") };
        match &self.cause {
            Some(cause) => write!(f, "{cause} ({hresult})"),
            None => write!(f, "RegisterModule failed with HRESULT {hresult}"),
        }
    }
}

impl std::error::Error for RegistrationError {}

/// The priorities a module asked for during registration, as `(notification flag, alias)` with
/// aliases like `"FIRST"`, `"HIGH"`, `"MEDIUM"`, `"LOW"`, `"LAST"` (`PRIORITY_ALIAS_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Priorities {
    /// `SetPriorityForRequestNotification`.
    pub request: Vec<(u32, String)>,
    /// `IHttpModuleRegistrationInfo2::SetPriorityForPostRequestNotification`.
    pub post_request: Vec<(u32, String)>,
    /// `SetPriorityForGlobalNotification`.
    pub global: Vec<(u32, String)>,
}

/// What [`TestServer::shutdown`] observed, for leak checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Requests run.
    pub requests: usize,
    /// `CHttpModule`s the factory created.
    pub modules_created: usize,
    /// `CHttpModule::Dispose` calls.
    pub modules_disposed: usize,
    /// Whether `IHttpModuleFactory::Terminate` was called.
    pub factory_terminated: bool,
    /// Whether `CGlobalModule::Terminate` was called.
    pub global_terminated: bool,
    /// `CleanupStoredContext` calls over the server's life: requests, connections, site,
    /// application and dispensed containers.
    pub stored_contexts_cleaned: usize,
    /// Bytes of request memory handed out over all requests.
    pub request_memory_bytes: usize,
    /// The calls made during shutdown (global notifications, cleanups, `Terminate`).
    pub calls: Vec<Call>,
}

impl ShutdownReport {
    /// How many times `method` was called during shutdown.
    pub fn called(&self, method: &str) -> usize {
        count_calls(&self.calls, method)
    }
}

/// An IIS that runs one module: see the [module documentation](self).
///
/// It has two doors, with the same methods and the same result types: in-process
/// ([`TestServer::new`], [`TestServer::with_registration`]: the module is Rust code linked into
/// the test) and the DLL door ([`TestServer::dll`]: a built module DLL loaded by
/// `httpserv-simulator.exe`, which runs this same simulator in a child process, under Wine
/// outside Windows; see [`door`]).
///
/// `TestServer` is `Send + Sync`: [`TestServer::send`] takes `&self`, so threads sharing one
/// server (for example through [`std::thread::scope`] or an `Arc`) run requests concurrently,
/// each on its calling thread, as IIS runs requests on its worker threads. The module's factory
/// and global module are then called from several threads at once, which IIS requires modules
/// to support. Servers in one process are independent: each has its own registration, stored
/// contexts, recorded calls and counters. (Through the DLL door, requests from several threads
/// take turns on the child's pipes.)
pub struct TestServer {
    door: Door,
}

/// Where the simulator runs.
enum Door {
    InProcess(InProcess),
    Dll(client::DllServer),
}

/// The simulator in this process.
struct InProcess {
    shared: Pinned<ServerShared>,
    registration: server::Registration,
    shut_down: bool,
}

// SAFETY: the server's mutable state (recorded calls, counters, containers, fragments, change
// paths) is behind mutexes in `ServerShared`, and a request's own state lives on the thread that
// runs it (`pipeline::run`, with a thread-local `Active`). `registration` is only read after
// `RegisterModule`. The raw pointers it holds (factory, global module) are the module's, which
// IIS calls from any of its threads concurrently: a module must allow that (IIS's contract,
// which this simulator reproduces on purpose).
unsafe impl Send for InProcess {}
// SAFETY: as for `Send`: every method on `&InProcess` either reads immutable data or goes
// through `ServerShared`'s locks, which are never held while calling into the module.
unsafe impl Sync for InProcess {}

impl TestServer {
    /// Loads a module: calls `register` (its `RegisterModule`) with the simulator's
    /// registration info and server, under the name [`DEFAULT_MODULE_NAME`].
    ///
    /// Fails with the `HRESULT` if `RegisterModule` fails (after calling `Terminate` on a
    /// factory or global module it registered before failing).
    pub fn new(register: RegisterModuleFn) -> Result<TestServer, RegistrationError> {
        Self::with_name(DEFAULT_MODULE_NAME, register)
    }

    /// Like [`TestServer::new`], with the name `IHttpModuleRegistrationInfo::GetName` returns.
    pub fn with_name(
        name: &str,
        register: RegisterModuleFn,
    ) -> Result<TestServer, RegistrationError> {
        Self::with_registration(name, |version, info, server| {
            // SAFETY: `RegisterModule` is called as IIS calls it: with a live registration info
            // and server, which stay valid for the whole life of the module.
            unsafe { register(version, info, server) }
        })
    }

    /// Loads a module through `register`, which the simulator calls once, as IIS calls
    /// `RegisterModule`: with [`SERVER_VERSION`], its `IHttpModuleRegistrationInfo` (reporting
    /// `name`) and its `IHttpServer`, both valid for the life of the server. `register` calls the
    /// module's `RegisterModule` however it is reached: a Rust function, or one found in a DLL
    /// with `GetProcAddress` (what `httpserv-simulator.exe` does).
    ///
    /// Fails with the `HRESULT` `register` returns if it is a failure (after calling `Terminate`
    /// on a factory or global module registered before failing).
    pub fn with_registration(
        name: &str,
        register: impl FnOnce(
            u32,
            *mut httpserv_sys::IHttpModuleRegistrationInfo,
            *mut httpserv_sys::IHttpServer,
        ) -> HRESULT,
    ) -> Result<TestServer, RegistrationError> {
        Self::with_registration_config(name, None, register)
    }

    /// Like [`TestServer::new`], with a configuration served through
    /// `IHttpServer::GetAdminManager` from the start (so a global module can read it in
    /// `RegisterModule`): see [`Config`].
    pub fn with_config(register: RegisterModuleFn, config: &Config) -> Result<TestServer, RegistrationError> {
        Self::with_registration_config(DEFAULT_MODULE_NAME, Some(config), |version, info, server| {
            // SAFETY: as in `with_name`.
            unsafe { register(version, info, server) }
        })
    }

    /// [`TestServer::for_module`] with a configuration: in-process, or through the DLL door
    /// (the configuration crosses in the door protocol).
    pub fn for_module_with_config(register: RegisterModuleFn, dll_name: &str, config: &Config) -> Result<TestServer, RegistrationError> {
        if std::env::var(DOOR_ENV).as_deref() == Ok("dll") {
            let dir = std::env::var_os(DLL_DIR_ENV).filter(|d| !d.is_empty()).ok_or_else(|| {
                RegistrationError::new(strings::E_INVALIDARG, format!("{DOOR_ENV}=dll needs {DLL_DIR_ENV}, the directory of the module DLLs ({dll_name}.dll)"))
            })?;
            return DllServerBuilder::new(Path::new(&dir).join(format!("{dll_name}.dll"))).config(config.clone()).start();
        }
        Self::with_config(register, config)
    }

    /// Replaces the configuration the server serves (for a test of a configuration change:
    /// follow it with [`TestServer::notify_configuration_change`]).
    pub fn set_config(&self, config: &Config) {
        match &self.door {
            Door::InProcess(s) => s.state().set_config(Some(config.parse().expect("a Config is parsed when built"))),
            Door::Dll(d) => d.notify(door::Command::SetConfig { config: config.clone() }),
        }
    }

    /// [`TestServer::with_registration`] with an optional configuration (what
    /// `httpserv-simulator.exe --config` uses).
    pub fn with_registration_config(
        name: &str,
        config: Option<&Config>,
        register: impl FnOnce(
            u32,
            *mut httpserv_sys::IHttpModuleRegistrationInfo,
            *mut httpserv_sys::IHttpServer,
        ) -> HRESULT,
    ) -> Result<TestServer, RegistrationError> {
        let shared = ServerShared::create(name);
        if let Some(config) = config {
            let doc = config.parse().map_err(|e| RegistrationError::new(strings::E_INVALIDARG, e))?;
            // SAFETY: `shared` was just created; nothing else refers to it yet.
            unsafe { &*shared.as_ptr() }.set_config(Some(doc));
        }
        // SAFETY: `shared` was just created and lives as long as the returned server.
        let state = unsafe { &*shared.as_ptr() };
        match state.register(register) {
            Ok(registration) => {
                let server = InProcess {
                    shared,
                    registration,
                    shut_down: false,
                };
                server.state().application_start();
                Ok(TestServer {
                    door: Door::InProcess(server),
                })
            }
            Err(hresult) => {
                let calls = state.drain_calls();
                // Nothing was registered that still needs the simulator; free it.
                drop(shared);
                Err(RegistrationError {
                    hresult,
                    calls,
                    cause: None,
                })
            }
        }
    }

    /// Loads the module DLL at `dll` in `httpserv-simulator.exe` (the DLL door), under the name
    /// [`DEFAULT_MODULE_NAME`]: see [`DllServerBuilder`] for where the executable is found and
    /// how it runs (directly on Windows, under Wine elsewhere).
    ///
    /// The server has the same methods as an in-process one and gives the same
    /// [`TestResponse`], transcript and [`ShutdownReport`]; a [`TestRequest`] built with
    /// [`TestRequest::other_module`] cannot cross (its closure is code of the test process) and
    /// makes [`TestServer::send`] panic.
    ///
    /// Fails with a [`RegistrationError`] when `RegisterModule` fails, and also when the module
    /// never got that far: then [`RegistrationError::cause`] says why (the executable or Wine
    /// not found, the DLL failed to load, the child process died or spoke garbage) and what to do.
    pub fn dll(dll: impl AsRef<Path>) -> Result<TestServer, RegistrationError> {
        DllServerBuilder::new(dll).start()
    }

    /// Like [`TestServer::dll`], with the name `IHttpModuleRegistrationInfo::GetName` returns.
    pub fn dll_with_name(
        dll: impl AsRef<Path>,
        name: &str,
    ) -> Result<TestServer, RegistrationError> {
        DllServerBuilder::new(dll).name(name).start()
    }

    /// The server for a module whose tests run through either door, chosen by the environment
    /// (see [the table](self#choosing-the-door-from-the-environment)): in-process with
    /// `register` (the module's `RegisterModule`, from its rlib), or, when `HTTPSERV_DOOR=dll`,
    /// the DLL `$HTTPSERV_DLL_DIR/<dll_name>.dll` (`dll_name` without extension, e.g.
    /// `"cancel_io"`) through [`TestServer::dll`]. The module name is [`DEFAULT_MODULE_NAME`]
    /// either way.
    pub fn for_module(register: RegisterModuleFn, dll_name: &str) -> Result<TestServer, RegistrationError> {
        let door = std::env::var(DOOR_ENV).unwrap_or_default();
        match door.as_str() {
            "" | "in-process" => TestServer::new(register),
            "dll" => match std::env::var_os(DLL_DIR_ENV) {
                Some(dir) if !dir.is_empty() => {
                    TestServer::dll(Path::new(&dir).join(format!("{dll_name}.dll")))
                }
                _ => Err(RegistrationError::new(
                    strings::E_INVALIDARG,
                    format!(
                        "{DOOR_ENV}=dll needs {DLL_DIR_ENV}, the directory of the module DLLs \
                         ({dll_name}.dll); scripts/build-windows.sh builds them into target/e2e"
                    ),
                )),
            },
            other => Err(RegistrationError::new(
                strings::E_INVALIDARG,
                format!("{DOOR_ENV}={other:?}: expected \"dll\" or \"in-process\" (or unset)"),
            )),
        }
    }

    /// Whether this server runs the module through the DLL door ([`TestServer::dll`],
    /// or [`TestServer::for_module`] with `HTTPSERV_DOOR=dll`).
    pub fn is_dll(&self) -> bool {
        matches!(self.door, Door::Dll(_))
    }

    /// A builder for a DLL-door server, to choose the simulator executable, Wine, the name.
    pub fn dll_builder(dll: impl AsRef<Path>) -> DllServerBuilder {
        DllServerBuilder::new(dll)
    }

    pub(crate) fn from_dll(server: client::DllServer) -> TestServer {
        TestServer {
            door: Door::Dll(server),
        }
    }

    /// The module's name, as given to [`TestServer::with_name`].
    pub fn module_name(&self) -> &str {
        match &self.door {
            Door::InProcess(s) => &s.state().name,
            Door::Dll(d) => &d.registered.module_name,
        }
    }

    /// The `dwRequestNotifications` the module registered (`RQ_*` flags).
    pub fn request_notifications(&self) -> u32 {
        match &self.door {
            Door::InProcess(s) => s.registration.request_mask,
            Door::Dll(d) => d.registered.request_notifications,
        }
    }

    /// The `dwPostRequestNotifications` the module registered.
    pub fn post_request_notifications(&self) -> u32 {
        match &self.door {
            Door::InProcess(s) => s.registration.post_mask,
            Door::Dll(d) => d.registered.post_request_notifications,
        }
    }

    /// The `dwGlobalNotifications` the module registered (`GL_*` flags).
    pub fn global_notifications(&self) -> u32 {
        match &self.door {
            Door::InProcess(s) => s.registration.global_mask,
            Door::Dll(d) => d.registered.global_notifications,
        }
    }

    /// The priorities the module set.
    pub fn priorities(&self) -> &Priorities {
        match &self.door {
            Door::InProcess(s) => &s.registration.priorities,
            Door::Dll(d) => &d.registered.priorities,
        }
    }

    /// Whether the module registered an `IHttpModuleFactory`.
    pub fn has_factory(&self) -> bool {
        match &self.door {
            Door::InProcess(s) => !s.registration.factory.is_null(),
            Door::Dll(d) => d.registered.has_factory,
        }
    }

    /// Whether the module registered a `CGlobalModule`.
    pub fn has_global_module(&self) -> bool {
        match &self.door {
            Door::InProcess(s) => !s.registration.global.is_null(),
            Door::Dll(d) => d.registered.has_global_module,
        }
    }

    /// Runs one request through the pipeline, on the calling thread, and returns what the
    /// client would receive. Several threads may call it at once on one server.
    ///
    /// # Panics
    ///
    /// If the module panicked inside the simulator's code, or left the request pending: a
    /// handler returned `RQ_NOTIFICATION_PENDING` and nothing completed it (see the
    /// [module documentation](self#the-iis-rules-this-simulator-follows)). In that case the
    /// request is still cleaned up (stored contexts, `Dispose`) before the panic, and the server
    /// stays usable. Through the DLL door, also if the request uses
    /// [`TestRequest::other_module`], or the child process fails.
    pub fn send(&self, request: TestRequest) -> TestResponse {
        match &self.door {
            Door::InProcess(s) => {
                assert!(!s.shut_down, "TestServer::send after shutdown");
                pipeline::run(s.state(), &s.registration, request)
            }
            Door::Dll(d) => d.send(request),
        }
    }

    /// How long a notification that returned `RQ_NOTIFICATION_PENDING` may wait for another
    /// thread's `PostCompletion` / `IndicateCompletion` before the request fails as left
    /// pending (default 5 s, or `$HTTPSERV_PENDING_TIMEOUT_MS`). In-process only: the DLL door's
    /// simulator takes `$HTTPSERV_PENDING_TIMEOUT_MS` from the environment it is started with.
    ///
    /// # Panics
    /// On the DLL door.
    pub fn set_pending_timeout(&self, timeout: std::time::Duration) {
        match &self.door {
            Door::InProcess(s) => s.state().pending_timeout_ms.store(timeout.as_millis().clamp(1, u64::MAX as u128) as u64, std::sync::atomic::Ordering::Relaxed),
            Door::Dll(_) => panic!("TestServer::set_pending_timeout: the DLL door takes $HTTPSERV_PENDING_TIMEOUT_MS when it starts"),
        }
    }

    /// A snapshot of the calls made on the server-level objects so far (`IHttpServer`,
    /// `IHttpModuleRegistrationInfo`, global notifications, site and application containers),
    /// including those made during requests (which also appear in their transcripts), in the
    /// order they were recorded (interleaved when requests run on several threads).
    pub fn server_calls(&self) -> Vec<Call> {
        match &self.door {
            Door::InProcess(s) => s.state().calls_since(0),
            Door::Dll(d) => d.server_calls(),
        }
    }

    /// How many times `method` was called on the server-level objects.
    pub fn server_called(&self, method: &str) -> usize {
        match &self.door {
            Door::InProcess(s) => s.state().count_calls(method),
            Door::Dll(_) => count_calls(&self.server_calls(), method),
        }
    }

    /// Raises `GL_CONFIGURATION_CHANGE` for `path` (a configuration path such as
    /// `"MACHINE/WEBROOT/APPHOST/Default Web Site"`), as IIS does when configuration changes
    /// and as `IHttpServer::NotifyConfigurationChange` does: the global module gets it if it
    /// registered it. The calls appear in [`TestServer::server_calls`].
    pub fn notify_configuration_change(&self, path: &str) {
        match &self.door {
            Door::InProcess(s) => {
                assert!(!s.shut_down, "TestServer::notify_configuration_change after shutdown");
                s.state().notify_configuration_change(path);
            }
            Door::Dll(d) => d.notify(door::Command::NotifyConfigurationChange {
                path: path.to_owned(),
            }),
        }
    }

    /// Raises `GL_FILE_CHANGE` for the file `path`, as `IHttpServer::NotifyFileChange` does.
    pub fn notify_file_change(&self, path: &str) {
        match &self.door {
            Door::InProcess(s) => {
                assert!(!s.shut_down, "TestServer::notify_file_change after shutdown");
                s.state().notify_file_change(path);
            }
            Door::Dll(d) => d.notify(door::Command::NotifyFileChange {
                path: path.to_owned(),
            }),
        }
    }

    /// Stops the server: `GL_STOP_LISTENING` then `GL_APPLICATION_STOP` to the global module (if
    /// it registered them), cleanup of the site, application and dispensed containers,
    /// `IHttpModuleFactory::Terminate`, `CGlobalModule::Terminate`.
    pub fn shutdown(self) -> ShutdownReport {
        match self.door {
            Door::InProcess(mut s) => s.shutdown_now(),
            Door::Dll(d) => d.shutdown(),
        }
    }
}

fn count_calls(calls: &[Call], method: &str) -> usize {
    calls
        .iter()
        .filter(|c| c.method == method && c.kind == CallKind::Call)
        .count()
}

impl InProcess {
    fn state(&self) -> &ServerShared {
        // SAFETY: the shared state lives as long as `self`.
        unsafe { &*self.shared.as_ptr() }
    }

    fn shutdown_now(&mut self) -> ShutdownReport {
        self.shut_down = true;
        let start = self.state().calls_len();
        let mut report = self.state().shutdown(&self.registration);
        report.calls = self.state().calls_since(start);
        report
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if self.shut_down {
            return;
        }
        if std::thread::panicking() {
            // A test failed with the server alive: still terminate the module so that it does
            // not leak (valgrind), but a panic from the shutdown itself must not abort the
            // process while this thread unwinds; it is dropped.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.shutdown_now()));
        } else {
            self.shutdown_now();
        }
    }
}

/// `TestServer` can be shared between the threads that send requests.
#[allow(dead_code)]
const fn assert_send_sync<T: Send + Sync>() {}
const _: () = assert_send_sync::<TestServer>();
const _: () = assert_send_sync::<TestResponse>();

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field(
                "door",
                &match self.door {
                    Door::InProcess(_) => "in-process",
                    Door::Dll(_) => "dll",
                },
            )
            .field("module", &self.module_name())
            .field(
                "request_notifications",
                &strings::request_mask_names(self.request_notifications()),
            )
            .field(
                "post_request_notifications",
                &strings::request_mask_names(self.post_request_notifications()),
            )
            .field(
                "global_notifications",
                &strings::global_mask_names(self.global_notifications()),
            )
            .finish_non_exhaustive()
    }
}

//! Write IIS native modules in safe Rust.
//!
//! A module is a Rust type implementing [`HttpModule`] (request notifications) and optionally
//! a [`GlobalModule`]; `#[http_module]` turns it into a DLL IIS loads:
//!
//! ```
//! use httpserv::prelude::*;
//!
//! #[http_module]
//! #[derive(Default)]
//! struct CancelIo;
//!
//! #[http_module]
//! impl HttpModule for CancelIo {
//!     fn on_send_response(&mut self, context: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> NotificationStatus {
//!         let _ = context.cancel_io();
//!         NotificationStatus::Continue
//!     }
//! }
//!
//! # fn main() {
//! // With `httpserv-testing` (a dev-dependency), the module runs in the in-process IIS simulator:
//! use httpserv_testing::{Notification, TestRequest, TestServer};
//! let server = TestServer::new(RegisterModule).unwrap();
//! let response = server.send(TestRequest::get("/"));
//! assert_eq!(response.called_during("IHttpContext::CancelIo", Notification::SendResponse), 1);
//! # }
//! ```
//!
//! Handlers may return [`HandlerResult`] and use `?`: an `Err` becomes a 500 whose
//! `hrErrorToReport` is the error's `HRESULT`, written to the request's trace (see
//! [`HandlerError`]). With the default `http` feature, `Request` and `Response` also speak the
//! [`http`] crate's types (`StatusCode`, `Method`, `HeaderName`, `HeaderValue`, `Uri`).
//!
//! How a notification travels from the C++ vtable to the method above: `bridge` (start with
//! `bridge/mod.rs`). The handles ([`HttpContext`], [`Request`], [`Response`], [`Server`], ...)
//! borrow IIS objects for one notification. The `httpserv-testing` crate runs modules in an
//! in-process IIS simulator, on any OS.
//!
//! # Soundness rules
//!
//! - A module object is never re-entered: a notification IIS raises for it from inside one of
//!   its own handlers (`map_path` → `RQ_MAP_PATH`, `read_body` → `RQ_READ_ENTITY`, `flush` →
//!   `RQ_SEND_RESPONSE`) is not delivered, so `&mut self` is never aliased (see `bridge`).
//! - Handles borrow what they point to: the notification (`HttpContext<'a>`, ...) or the
//!   registration (`Server<'a>`); the server, module id and state belong to one `RegisterModule`
//!   call, never to the process.
//! - A panic never unwinds into IIS; bad input is refused with `E_INVALIDARG` before it reaches
//!   IIS.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod bridge;
pub mod config;
mod child;
mod context;
mod descriptors;
mod error;
pub mod extensions;
mod handle;
mod headers;
mod interop;
mod io;
#[cfg(feature = "tokio")]
pub mod tokio;
mod module;
mod outcome;
mod providers;
mod request;
mod response;
mod response4;
mod server;
mod sockaddr;
mod strings;
mod websocket;


pub use bridge::register::Priority;
pub use context::HttpContext;
pub use child::{ClonedContext, CloneOptions, Execute, ExecuteOptions};
pub use descriptors::{Application, Connection, Site, TraceContext, TraceLevel, User};
pub use error::{Error, Result, E_INVALIDARG, HRESULT};
pub use httpserv_macros::http_module;
pub use outcome::{HandlerError, HandlerResult, IntoNotificationStatus, E_FAIL};
pub use module::{request_masks, global_masks, GlobalModule, GlobalNotificationStatus, HttpModule, NotificationStatus};
pub use providers::*;
pub use request::{Request, KNOWN_REQUEST_HEADERS};
pub use response::{CurrentStatus, RedirectOptions, Response, Status};
pub use response4::Response4;
pub use server::{Extension, Server};
pub use strings::WideStr;
pub use bridge::user::AuthenticatedUser;
pub use descriptors::{BorrowedToken, TraceConfiguration, TraceEvent, TraceItem, TraceValue};
pub use response::{Chunk, RawResponse, RawChunk};
pub use io::{Disconnected, FlushBody, ReadBody, WriteBody};
pub use websocket::{Fragment, Message, NamedContexts, ReadFragment, WebSocket, WriteFragment, IIS_WEBSOCKET, IIS_WEBSOCKET_SERVER_VARIABLE};

/// The `http` crate, whose types the `http` feature's methods take and return.
#[cfg(feature = "http")]
pub use http;
pub use bridge::task::{yield_now, YieldNow};

/// The raw bindings, for calls the safe API does not cover.
pub use httpserv_sys as sys;

/// What a module file needs.
pub mod prelude {
    pub use crate::{
        http_module, AuthenticationProvider, CustomNotificationProvider, EventProvider, GlobalModule, GlobalNotificationStatus, HandlerError,
        HandlerResult, HttpContext, HttpModule, MapPathProvider, NotificationStatus, ReadEntityProvider, Request, Response, SendResponseProvider, Server,
    };
}

/// Used by the code `#[http_module]` generates; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bridge::global::GlobalHandlers;
    pub use crate::bridge::module::Handlers;
    pub use crate::module::{global_handler_names, request_handler_names, Implements};
    pub use crate::bridge::outcome::finish;
    pub use crate::bridge::register::{register_module, Registrar};
    pub use crate::bridge::registration::{current_state, make_state, state_of, ModuleState};
    pub use crate::bridge::task::{start as start_async, AsyncHandler};
    pub use crate::error::last_refusal;
    pub use httpserv_sys::{IHttpModuleRegistrationInfo, IHttpServer};
    pub use windows_sys::core::HRESULT;

    /// `Response::write` with chunks of at most `max_len` bytes: lets a test see a large write
    /// split as IIS requires without allocating gigabytes (the real limit is 4 GiB per chunk).
    pub fn write_split(response: &crate::Response<'_>, body: &[u8], max_len: usize) -> crate::Result<()> {
        response.write_split(body, max_len)
    }

    /// `Response::write_async` with chunks of at most `max_len` bytes, as [`write_split`].
    pub fn write_async_split<'a>(response: &crate::Response<'a>, data: Vec<u8>, max_len: usize) -> crate::WriteBody<'a> {
        response.write_async_split(data, max_len)
    }
}

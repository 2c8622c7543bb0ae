//! Host a `tower::Service` (an axum `Router`, a hyper service, ...) as an IIS native module.
//!
//! ```ignore
//! httpserv_tower::declare_module! {
//!     /// The module IIS loads.
//!     pub struct AxumApp(axum::Router) = app();
//! }
//! ```
//!
//! emits the DLL's `RegisterModule`: the service is built once per registration (in the module
//! state, with a tokio runtime when the `tokio` feature is on), cloned per request, and called
//! from an `async fn on_execute_request_handler` ([`serve`]):
//!
//! - the request: method, URI (IIS's decoded path and query, re-encoded), version, headers, and
//!   a [`Body`] that streams from `read_body_async` as the service polls it (one buffer of
//!   [`Options::read_chunk`] bytes at most, nothing read ahead);
//! - extensions: [`IisRequest`] (owned copies: raw URL, user, addresses, site, the server
//!   variables named in [`Options::server_variables`]). The `HttpContext` itself is not put
//!   there: extensions must be `'static + Send + Sync + Clone`, and a context is valid only
//!   for this request, on IIS's calls into this module; a service could keep it (in a spawned
//!   task or its state) past the request. [`with_context`] lends it instead, inside the
//!   adapter's poll of the service, on that thread only;
//! - the response: status, headers, then each data frame with `write_async`; a body without an
//!   exact size (a stream, server-sent events) is sent unbuffered, each frame flushed;
//!   trailers are not sent yet (traced and dropped: httpserv has no `IHttpResponse4` call);
//! - a panicking service or body, or an error from either, gives a 500 (traced); after the
//!   headers are sent, the connection is closed instead. A client disconnect drops the service
//!   future and the body;
//! - a 404 from the service can fall through to the next handler ([`Options::fall_through_on_404`]).

mod body;

use core::future::{poll_fn, Future};
use core::pin::{pin, Pin};
use core::task::{Context, Poll};
use std::any::Any;
use std::cell::Cell;
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{Buf, Bytes};
use http_body::Body as HttpBody;
use httpserv::{HttpContext, NotificationStatus, ReadBody, TraceLevel};

pub use body::{Body, BodyError};
use body::{lock, Pipe, Slot};

/// Errors a service or body may give.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// How the adapter behaves; [`Options::default`] for the defaults.
#[derive(Clone, Debug)]
pub struct Options {
    /// A 404 from the service is not written: the handler returns `RQ_NOTIFICATION_CONTINUE`
    /// and IIS's next handler (static files, another module) answers. Default `false`.
    pub fall_through_on_404: bool,
    /// The largest read (`ReadEntityBody`) and so the most request-body bytes the adapter holds
    /// at once. Default 64 KiB.
    pub read_chunk: usize,
    /// Server variables copied into [`IisRequest::server_variables`] for every request.
    /// Default none (each costs a copy per request).
    pub server_variables: &'static [&'static str],
    /// Worker threads of the module's tokio runtime (feature `tokio`). Default 1.
    pub tokio_worker_threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { fall_through_on_404: false, read_chunk: 64 * 1024, server_variables: &[], tokio_worker_threads: 1 }
    }
}

/// IIS's view of the request, owned, in the request's extensions.
#[derive(Clone, Debug, Default)]
pub struct IisRequest {
    /// The URL as the client sent it (`HTTP_REQUEST::pRawUrl`), before IIS decoded or rewrote it.
    pub raw_url: String,
    /// The authenticated user's name (`IHttpUser::GetUserName`), if IIS authenticated one.
    pub user: Option<String>,
    /// The authentication scheme (`Negotiate`, `Basic`, ...).
    pub authentication_type: Option<String>,
    /// The client's address.
    pub remote_addr: Option<SocketAddr>,
    /// The server's address the request came in on.
    pub local_addr: Option<SocketAddr>,
    /// The IIS site's id.
    pub site_id: Option<u32>,
    /// The server variables named in [`Options::server_variables`] that IIS knows.
    pub server_variables: Vec<(&'static str, String)>,
}

/// A registration's service and what drives it: the module state [`declare_module!`] makes.
pub struct Tower<S> {
    service: S,
    options: Options,
    #[cfg(feature = "tokio")]
    runtime: tokio::runtime::Runtime,
}

impl<S> Tower<S> {
    /// `service` with `options` (and, with feature `tokio`, a runtime of
    /// [`Options::tokio_worker_threads`] threads).
    pub fn new(service: S, options: Options) -> Self {
        #[cfg(feature = "tokio")]
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.tokio_worker_threads.max(1))
            .thread_name("httpserv-tower")
            .enable_time()
            .build()
            .expect("httpserv-tower: a tokio runtime for the module");
        Tower {
            service,
            options,
            #[cfg(feature = "tokio")]
            runtime,
        }
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The module's tokio runtime.
    #[cfg(feature = "tokio")]
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }
}

/// Declares an IIS module serving a tower service. The type's `RegisterModule` builds the
/// service with the expression once per registration; the crate needs `httpserv` and
/// `httpserv-tower` as dependencies and `crate-type = ["cdylib", "rlib"]`.
///
/// ```ignore
/// httpserv_tower::declare_module! {
///     pub struct AxumApp(axum::Router) = app();
///     options = httpserv_tower::Options { fall_through_on_404: true, ..Default::default() };
/// }
/// ```
#[macro_export]
macro_rules! declare_module {
    ($(#[$meta:meta])* $vis:vis struct $name:ident($service:ty) = $make:expr; $(options = $options:expr;)?) => {
        #[doc(hidden)]
        pub struct __HttpservTowerState($crate::Tower<$service>);

        impl ::core::default::Default for __HttpservTowerState {
            fn default() -> Self {
                #[allow(unused_mut, unused_assignments)]
                let mut options = $crate::Options::default();
                $(options = $options;)?
                __HttpservTowerState($crate::Tower::new($make, options))
            }
        }

        $(#[$meta])*
        #[::httpserv::http_module(state = __HttpservTowerState)]
        #[derive(Default)]
        $vis struct $name;

        #[::httpserv::http_module]
        impl ::httpserv::HttpModule for $name {
            async fn on_execute_request_handler(&mut self, context: &::httpserv::HttpContext<'_>) -> ::httpserv::NotificationStatus {
                let state = Self::state();
                $crate::serve(&state.0, context).await
            }
        }
    };
}

thread_local! {
    /// The context of the request whose service the adapter is polling on this thread.
    static CURRENT: Cell<*mut httpserv::sys::IHttpContext> = const { Cell::new(core::ptr::null_mut()) };
}

/// Runs `f` with the IIS context of the request being served, when called from the service's
/// future while the adapter polls it (on IIS's thread); `None` elsewhere (another thread, a
/// spawned task, after the request). The context cannot escape `f`.
pub fn with_context<R>(f: impl for<'x> FnOnce(&HttpContext<'x>) -> R) -> Option<R> {
    let raw = CURRENT.with(Cell::get);
    // SAFETY: `CURRENT` is set only while `serve` polls the service or body on this thread,
    // from inside the notification (or completion) of the live request `raw` belongs to.
    let context = unsafe { HttpContext::from_raw(raw) }?;
    Some(f(&context))
}

/// Sets `CURRENT` for a poll.
struct Lend(*mut httpserv::sys::IHttpContext);

impl Lend {
    fn new(context: &HttpContext<'_>) -> Self {
        Lend(CURRENT.with(|c| c.replace(context.as_raw())))
    }
}

impl Drop for Lend {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// The request-body side of the handler: reads from IIS when the body asks.
struct Pump<'a> {
    pipe: Option<Pipe>,
    read: Option<ReadBody<'a>>,
    chunk: usize,
    remaining: Option<u64>,
}

impl<'a> Pump<'a> {
    /// Progress on the body's demand; `true` if something changed (a piece was delivered).
    /// Starts a read only when `io_free` (IIS allows one operation per request).
    fn poll(&mut self, context: &HttpContext<'a>, cx: &mut Context<'_>, io_free: bool) -> bool {
        let Some(pipe) = &self.pipe else { return false };
        if self.read.is_none() {
            let mut slot = lock(pipe);
            if !slot.demand || !io_free {
                if !slot.pump_waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    slot.pump_waker = Some(cx.waker().clone());
                }
                return false;
            }
            slot.demand = false;
            drop(slot);
            let size = self.remaining.map_or(self.chunk, |r| (r as usize).clamp(1, self.chunk));
            self.read = Some(context.request().read_body_async(vec![0; size]));
        }
        let read = self.read.as_mut().expect("started above");
        let Poll::Ready((result, mut buffer)) = Pin::new(read).poll(cx) else { return false };
        self.read = None;
        let mut slot = lock(pipe);
        match result {
            Ok(0) => slot.eof = true,
            Ok(n) => {
                buffer.truncate(n);
                if let Some(r) = &mut self.remaining {
                    *r = r.saturating_sub(n as u64);
                }
                slot.ready = Some(Ok(Bytes::from(buffer)));
            }
            Err(e) => {
                slot.ready = Some(Err(BodyError(e)));
                slot.eof = true;
            }
        }
        let body = slot.body_waker.take();
        drop(slot);
        if let Some(body) = body {
            if !body.will_wake(cx.waker()) {
                body.wake();
            }
        }
        true
    }

    fn busy(&self) -> bool {
        self.read.is_some()
    }
}

/// Builds the `http::Request` of the IIS request in `context`.
fn build_request<'a>(context: &HttpContext<'a>, options: &Options) -> Result<(http::Request<Body>, Pump<'a>), String> {
    let request = context.request();
    let method = http::Method::from_bytes(request.method()).map_err(|e| format!("method: {e}"))?;
    let mut target = String::new();
    if let Some(path) = request.path() {
        encode_into(&mut target, &path.to_string_lossy(), false);
    }
    if target.is_empty() {
        target.push('/');
    }
    if let Some(query) = request.query() {
        encode_into(&mut target, &query.to_string_lossy(), true);
    }
    let uri = http::Uri::try_from(target).map_err(|e| format!("URI: {e}"))?;
    let version = match request.http_version() {
        (0, 9) => http::Version::HTTP_09,
        (1, 0) => http::Version::HTTP_10,
        (2, _) => http::Version::HTTP_2,
        (3, _) => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    };
    let mut headers = http::HeaderMap::new();
    let (mut length, mut chunked) = (None, false);
    for (name, value) in request.headers() {
        let (Ok(name), Ok(value)) = (http::HeaderName::from_bytes(name), http::HeaderValue::from_bytes(value)) else { continue };
        if name == http::header::CONTENT_LENGTH {
            length = value.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok());
        } else if name == http::header::TRANSFER_ENCODING {
            chunked = true;
        }
        headers.append(name, value);
    }
    let has_body = chunked || length.is_some_and(|n| n > 0) || (length.is_none() && request.remaining_body_bytes() > 0);
    let (body, pipe) = if has_body {
        let pipe = Pipe::new(std::sync::Mutex::new(Slot::default()));
        (Body::streaming(pipe.clone(), length), Some(pipe))
    } else {
        (Body::empty(), None)
    };
    let mut built = http::Request::new(body);
    *built.method_mut() = method;
    *built.uri_mut() = uri;
    *built.version_mut() = version;
    *built.headers_mut() = headers;
    built.extensions_mut().insert(iis_request(context, options));
    Ok((built, Pump { pipe, read: None, chunk: options.read_chunk.max(1), remaining: if chunked { None } else { length } }))
}

fn iis_request(context: &HttpContext<'_>, options: &Options) -> IisRequest {
    let request = context.request();
    let user = context.user();
    IisRequest {
        raw_url: request.raw_url().map(|u| String::from_utf8_lossy(u).into_owned()).unwrap_or_default(),
        user: user.and_then(|u| u.name()).map(|n| n.to_string_lossy()).filter(|n| !n.is_empty()),
        authentication_type: user.and_then(|u| u.authentication_type()).map(|n| n.to_string_lossy()).filter(|n| !n.is_empty()),
        remote_addr: request.remote_addr(),
        local_addr: request.local_addr(),
        site_id: context.site().map(|s| s.id()),
        server_variables: options
            .server_variables
            .iter()
            .filter_map(|&name| Some((name, String::from_utf8_lossy(context.server_variable(name).ok()??).into_owned())))
            .collect(),
    }
}

/// Appends `text` percent-encoding what a URI path (or query, which keeps `?`, `=`, `&`) may
/// not hold: IIS gives the decoded path, `http::Uri` wants it encoded.
fn encode_into(out: &mut String, text: &str, query: bool) {
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&byte) || (query && byte == b'?');
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let text = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    text.unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}

fn trace(context: &HttpContext<'_>, message: &str) {
    if let Some(trace) = context.trace() {
        let _ = trace.quick_trace(message, None, httpserv::HRESULT(0x8000_FFFF_u32 as i32), TraceLevel::Error);
    }
}

/// Answers 500 (or closes the connection if the headers are out) and traces `message`.
fn fail(context: &HttpContext<'_>, message: &str) -> NotificationStatus {
    trace(context, &format!("httpserv-tower: {message}"));
    let response = context.response();
    if context.response_headers_sent() {
        response.set_need_disconnect();
    } else {
        response.clear();
        let _ = response.set_status(500, "Internal Server Error");
    }
    NotificationStatus::FinishRequest
}

/// Serves the request in `context` with a clone of `tower`'s service: the body of the handler
/// [`declare_module!`] writes. Call it from your own `async fn on_execute_request_handler` to
/// do more around it.
pub async fn serve<S, B>(tower: &Tower<S>, context: &HttpContext<'_>) -> NotificationStatus
where
    S: tower_service::Service<http::Request<Body>, Response = http::Response<B>> + Clone,
    S::Error: Into<BoxError>,
    B: HttpBody,
    B::Data: Buf,
    B::Error: Into<BoxError>,
{
    #[cfg(feature = "tokio")]
    {
        httpserv::tokio::in_runtime(tower.runtime.handle(), serve_inner(tower, context)).await
    }
    #[cfg(not(feature = "tokio"))]
    {
        serve_inner(tower, context).await
    }
}

async fn serve_inner<S, B>(tower: &Tower<S>, context: &HttpContext<'_>) -> NotificationStatus
where
    S: tower_service::Service<http::Request<Body>, Response = http::Response<B>> + Clone,
    S::Error: Into<BoxError>,
    B: HttpBody,
    B::Data: Buf,
    B::Error: Into<BoxError>,
{
    let options = &tower.options;
    let (request, mut pump) = match build_request(context, options) {
        Ok(built) => built,
        Err(e) => {
            trace(context, &format!("httpserv-tower: the request cannot be an http::Request: {e}"));
            let _ = context.response().set_status(400, "Bad Request");
            return NotificationStatus::FinishRequest;
        }
    };
    let mut gone = context.disconnected();
    let mut service = tower.service.clone();

    // 1. The service: ready, called, its future polled (with the body pump beside it).
    let ready = poll_fn(|cx| {
        let _lend = Lend::new(context);
        match catch_unwind(AssertUnwindSafe(|| service.poll_ready(cx))) {
            Ok(Poll::Ready(r)) => Poll::Ready(Ok(r.map_err(Into::into))),
            Ok(Poll::Pending) => Poll::Pending,
            Err(p) => Poll::Ready(Err(panic_message(p))),
        }
    });
    match ready.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return fail(context, &format!("the service is not ready: {e}")),
        Err(p) => return fail(context, &format!("the service panicked: {}", p)),
    }
    let call = {
        let _lend = Lend::new(context);
        catch_unwind(AssertUnwindSafe(|| service.call(request)))
    };
    let future = match call {
        Ok(f) => f,
        Err(p) => return fail(context, &format!("the service panicked: {}", panic_message(p))),
    };
    let mut future = pin!(future);
    let called = poll_fn(|cx| loop {
        if Pin::new(&mut gone).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        let polled = {
            let _lend = Lend::new(context);
            catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)))
        };
        match polled {
            Ok(Poll::Ready(r)) => return Poll::Ready(Some(r.map_err(|e| e.into().to_string()))),
            Err(p) => return Poll::Ready(Some(Err(format!("the service panicked: {}", panic_message(p))))),
            Ok(Poll::Pending) => {}
        }
        if !pump.poll(context, cx, true) {
            return Poll::Pending;
        }
    });
    let response = match called.await {
        // The client went away: the service future is dropped here.
        None => return NotificationStatus::FinishRequest,
        Some(Ok(response)) => response,
        Some(Err(e)) => return fail(context, &format!("the service failed: {e}")),
    };
    drop(future);

    // 2. Status and headers.
    let (parts, body) = response.into_parts();
    if parts.status == http::StatusCode::NOT_FOUND && options.fall_through_on_404 {
        return NotificationStatus::Continue;
    }
    let iis = context.response();
    let status = parts.status;
    if iis.set_status(status.as_u16(), status.canonical_reason().unwrap_or("")).is_err() {
        return fail(context, &format!("IIS refused the status {status}"));
    }
    let mut previous: Option<&http::HeaderName> = None;
    for (name, value) in &parts.headers {
        let Ok(value) = value.to_str() else {
            trace(context, &format!("httpserv-tower: header {name} dropped: its value is not visible ASCII"));
            continue;
        };
        let set = if previous == Some(name) { iis.append_header(name.as_str(), value) } else { iis.set_header(name.as_str(), value) };
        if let Err(e) = set {
            return fail(context, &format!("IIS refused the header {name}: {e}"));
        }
        previous = Some(name);
    }
    let streaming = body.size_hint().exact().is_none()
        || parts.headers.get(http::header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    if streaming {
        iis.disable_buffering();
    }

    // 3. The body, frame by frame; the request body pump keeps serving it meanwhile.
    enum Write<'a> {
        Idle,
        Writing(httpserv::WriteBody<'a>),
        Flushing(httpserv::FlushBody<'a>),
    }
    let mut body = pin!(body);
    let mut write = Write::Idle;
    let mut ended = false;
    let sent = poll_fn(|cx| loop {
        if Pin::new(&mut gone).poll(cx).is_ready() {
            return Poll::Ready(Ok(()));
        }
        let mut progress = false;
        match &mut write {
            Write::Idle => {}
            Write::Writing(w) => match Pin::new(w).poll(cx) {
                Poll::Pending => {}
                Poll::Ready((Err(e), _)) => return Poll::Ready(Err(format!("writing the response failed: {e}"))),
                Poll::Ready((Ok(()), _)) => {
                    write = if streaming { Write::Flushing(iis.flush_async()) } else { Write::Idle };
                    progress = true;
                }
            },
            Write::Flushing(f) => match Pin::new(f).poll(cx) {
                Poll::Pending => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(format!("flushing the response failed: {e}"))),
                Poll::Ready(Ok(())) => {
                    write = Write::Idle;
                    progress = true;
                }
            },
        }
        if matches!(write, Write::Idle) && !pump.busy() {
            if ended {
                return Poll::Ready(Ok(()));
            }
            let polled = {
                let _lend = Lend::new(context);
                catch_unwind(AssertUnwindSafe(|| body.as_mut().poll_frame(cx)))
            };
            match polled {
                Err(p) => return Poll::Ready(Err(format!("the response body panicked: {}", panic_message(p)))),
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(None)) => {
                    ended = true;
                    progress = true;
                }
                Ok(Poll::Ready(Some(Err(e)))) => return Poll::Ready(Err(format!("the response body failed: {}", e.into()))),
                Ok(Poll::Ready(Some(Ok(frame)))) => {
                    progress = true;
                    match frame.into_data() {
                        Ok(mut data) => {
                            let len = data.remaining();
                            if len > 0 {
                                write = Write::Writing(iis.write_async(Vec::from(data.copy_to_bytes(len))));
                            }
                        }
                        Err(frame) => {
                            if frame.is_trailers() {
                                trace(context, "httpserv-tower: response trailers dropped (not supported yet)");
                            }
                        }
                    }
                }
            }
        }
        if pump.poll(context, cx, matches!(write, Write::Idle)) {
            progress = true;
        }
        if !progress {
            return Poll::Pending;
        }
    });
    match sent.await {
        Ok(()) => NotificationStatus::FinishRequest,
        Err(e) => fail(context, &e),
    }
}


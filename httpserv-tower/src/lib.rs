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
//! - the response: status, headers, then each data frame: a small body of known size
//!   synchronously into IIS's buffer ([`Options::sync_write_limit`]), others with
//!   `write_async`; a body without an exact size (a stream, server-sent events) is sent
//!   unbuffered, each frame flushed; trailers through `IHttpResponse4::SetTrailer` on HTTP/2
//!   (IIS sends none on HTTP/1: traced and dropped there);
//! - a panicking service or body, or an error from either, gives a 500 (traced); after the
//!   headers are sent, the HTTP/2 stream is reset or the HTTP/1 connection closed instead. A
//!   client disconnect drops the service future and the body;
//! - the stage it runs in is chosen in [`declare_module!`] (`stage = ...;`), and a 404 from the
//!   service can fall through to the rest of the pipeline ([`Options::fall_through_on_404`]).

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
use windows_sys::Win32::Networking::HttpServer::HTTP_KNOWN_HEADER;
use windows_sys::Win32::Networking::WinSock::SOCKADDR;

pub use body::{Body, BodyError};
use body::{lock, Pipe, Slot};

/// Errors a service or body may give.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// How the adapter behaves; [`Options::default`] for the defaults. (The IIS stage it runs in is
/// chosen in [`declare_module!`], `stage = ...;`: the handler is code, the mask follows it.)
#[derive(Clone, Debug)]
pub struct Options {
    /// A 404 from the service is not written: the handler returns `RQ_NOTIFICATION_CONTINUE`
    /// having set neither status, headers nor body, so the rest of IIS's pipeline (a later
    /// stage's module, the static-file handler, another module at the same stage) answers.
    /// The service may have read some of the request body by then. Default `false`.
    pub fall_through_on_404: bool,
    /// The largest read (`ReadEntityBody`) and so the most request-body bytes the adapter holds
    /// at once. Default 64 KiB.
    pub read_chunk: usize,
    /// A response body of known size up to this many bytes (and not an event stream) is written
    /// synchronously into IIS's response buffer (`WriteEntityChunks` with `fAsync = FALSE`;
    /// buffering is on, so it returns once copied): no owned copy of the data and no completion
    /// round trip. Larger or unsized bodies go out asynchronously, frame by frame, so a slow
    /// client slows the body. Default 64 KiB; 0 writes everything asynchronously.
    pub sync_write_limit: usize,
    /// Put an [`IisRequest`] in each request's extensions. Default `true`; `false` saves its
    /// copies (user name, server variables) and the extension map's allocations.
    pub iis_request: bool,
    /// Server variables copied into [`IisRequest::server_variables`] for every request.
    /// Default none (each costs a copy per request).
    pub server_variables: &'static [&'static str],
    /// Worker threads of the module's tokio runtime (feature `tokio`). Default 1.
    pub tokio_worker_threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fall_through_on_404: false,
            read_chunk: 64 * 1024,
            sync_write_limit: 64 * 1024,
            iis_request: true,
            server_variables: &[],
            tokio_worker_threads: 1,
        }
    }
}

/// IIS's view of the request, owned, in the request's extensions.
#[derive(Clone, Debug, Default)]
pub struct IisRequest {
    /// The URL as the client sent it (`HTTP_REQUEST::pRawUrl`), before IIS decoded or rewrote it:
    /// bytes, as the client may send any (a slice of the buffer the header values share).
    pub raw_url: Bytes,
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
///     stage = BeginRequest;   // optional; default ExecuteRequestHandler
///     options = httpserv_tower::Options { fall_through_on_404: true, ..Default::default() };
/// }
/// ```
///
/// `stage` is the IIS request notification the service runs in: `BeginRequest`,
/// `AuthenticateRequest`, `AuthorizeRequest`, `ResolveRequestCache`, `MapRequestHandler`,
/// `AcquireRequestState`, `PreExecuteRequestHandler` or `ExecuteRequestHandler` (the default,
/// where IIS's handlers run; earlier stages answer before authentication, caching or the
/// handler mapping, so e.g. at `BeginRequest` [`IisRequest::user`] is not set yet). The module
/// registers for that notification only. A request the service answers ends there
/// (`RQ_NOTIFICATION_FINISH_REQUEST`); one it falls through on
/// ([`Options::fall_through_on_404`]) goes on through the pipeline.
#[macro_export]
macro_rules! declare_module {
    ($(#[$meta:meta])* $vis:vis struct $name:ident($service:ty) = $make:expr; $(stage = $stage:ident;)? $(options = $options:expr;)?) => {
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

        $crate::__stage!($name, $($stage)?);
    };
}

/// The handler of [`declare_module!`]'s stage.
#[doc(hidden)]
#[macro_export]
macro_rules! __stage {
    ($name:ident,) => { $crate::__stage!(@ $name on_execute_request_handler); };
    ($name:ident, BeginRequest) => { $crate::__stage!(@ $name on_begin_request); };
    ($name:ident, AuthenticateRequest) => { $crate::__stage!(@ $name on_authenticate_request); };
    ($name:ident, AuthorizeRequest) => { $crate::__stage!(@ $name on_authorize_request); };
    ($name:ident, ResolveRequestCache) => { $crate::__stage!(@ $name on_resolve_request_cache); };
    ($name:ident, MapRequestHandler) => { $crate::__stage!(@ $name on_map_request_handler); };
    ($name:ident, AcquireRequestState) => { $crate::__stage!(@ $name on_acquire_request_state); };
    ($name:ident, PreExecuteRequestHandler) => { $crate::__stage!(@ $name on_pre_execute_request_handler); };
    ($name:ident, ExecuteRequestHandler) => { $crate::__stage!(@ $name on_execute_request_handler); };
    ($name:ident, $other:ident) => {
        ::core::compile_error!(::core::concat!(
            "httpserv-tower: unknown stage `", ::core::stringify!($other), "`; one of BeginRequest, AuthenticateRequest, ",
            "AuthorizeRequest, ResolveRequestCache, MapRequestHandler, AcquireRequestState, PreExecuteRequestHandler, ExecuteRequestHandler"
        ));
    };
    (@ $name:ident $handler:ident) => {
        #[::httpserv::http_module]
        impl ::httpserv::HttpModule for $name {
            async fn $handler(&mut self, context: &::httpserv::HttpContext<'_>) -> ::httpserv::NotificationStatus {
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

/// Builds the `http::Request` of the IIS request in `context`. Everything comes from one
/// `GetRawHttpRequest` (the HTTP Server API's structure, read before any other call into IIS
/// could release its strings): the path and query, percent-encoded into one `String` (the
/// URI's only allocation), and the headers, whose values are copied into one shared buffer
/// that every `HeaderValue` slices (two allocations for all of them, not one per header).
fn build_request<'a>(context: &HttpContext<'a>, options: &Options) -> Result<(http::Request<Body>, Pump<'a>), String> {
    let request = context.request();
    let raw = request.raw_request().ok_or("IIS gave no HTTP_REQUEST")?;
    let base = &raw.Base;
    let version = (base.Version.MajorVersion, base.Version.MinorVersion);
    let (values, target, url_at, headers, remote_addr, local_addr);
    let (mut length, mut chunked) = (None, false);
    // SAFETY: the HTTP Server API gives pointers with byte lengths (or null), readable while
    // the request lives, and nothing in this block calls into IIS, so no `SetUrl` or
    // `SetHeader` can release them while they are read (twice: to copy, then to index).
    unsafe {
        let path = wide(base.CookedUrl.pAbsPath, base.CookedUrl.AbsPathLength as usize / 2);
        let query = wide(base.CookedUrl.pQueryString, base.CookedUrl.QueryStringLength as usize / 2);
        let raw_url = bytes(base.pRawUrl, base.RawUrlLength as usize);
        let known = || base.Headers.KnownHeaders.iter().enumerate().filter(|(_, h)| !h.pRawValue.is_null());
        let unknown = slice(base.Headers.pUnknownHeaders, base.Headers.UnknownHeaderCount as usize);
        let value = |h: &HTTP_KNOWN_HEADER| bytes(h.pRawValue.cast(), h.RawValueLength as usize);

        // One buffer: the encoded path and query (the URI), the header values, the raw URL.
        let (mut path_len, mut query_len) = (0, 0);
        encode(path, false, &mut |_| path_len += 1);
        encode(query, true, &mut |_| query_len += 1);
        // An empty path is "/".
        let encoded = path_len.max(1) + query_len;
        let count = known().count() + unknown.len();
        let total = encoded
            + known().map(|(_, h)| h.RawValueLength as usize).sum::<usize>()
            + unknown.iter().map(|h| h.RawValueLength as usize).sum::<usize>()
            + raw_url.len();
        let mut buffer = Vec::with_capacity(total);
        encode(path, false, &mut |b| buffer.push(b));
        if buffer.is_empty() {
            buffer.push(b'/');
        }
        encode(query, true, &mut |b| buffer.push(b));
        for (_, h) in known() {
            buffer.extend_from_slice(value(h));
        }
        for h in unknown {
            buffer.extend_from_slice(bytes(h.pRawValue.cast(), h.RawValueLength as usize));
        }
        url_at = buffer.len();
        buffer.extend_from_slice(raw_url);
        values = Bytes::from(buffer);
        target = values.slice(..encoded);

        // The headers, each value a slice of the buffer (in the order copied above).
        let mut map = http::HeaderMap::with_capacity(count);
        let mut at = encoded;
        let mut add = |name: &[u8], len: usize| {
            let range = at..at + len;
            at += len;
            // A name or value that is not valid HTTP cannot be in an http::HeaderMap: left out.
            let (Ok(name), Ok(value)) = (http::HeaderName::from_bytes(name), http::HeaderValue::from_maybe_shared(values.slice(range))) else { return };
            if name == http::header::CONTENT_LENGTH {
                length = value.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok());
            } else if name == http::header::TRANSFER_ENCODING {
                chunked = true;
            }
            map.append(name, value);
        };
        for (id, h) in known() {
            add(httpserv::KNOWN_REQUEST_HEADERS[id].as_bytes(), h.RawValueLength as usize);
        }
        for h in unknown {
            add(bytes(h.pName.cast(), h.NameLength as usize), h.RawValueLength as usize);
        }
        headers = map;
        // The addresses are SOCKADDR_IN or SOCKADDR_IN6 as their family says (or null).
        remote_addr = socket_addr(base.Address.pRemoteAddress);
        local_addr = socket_addr(base.Address.pLocalAddress);
    }

    let method = http::Method::from_bytes(request.method()).map_err(|e| format!("method: {e}"))?;
    let uri = http::Uri::from_maybe_shared(target).map_err(|e| format!("URI: {e}"))?;
    let version = match version {
        (0, 9) => http::Version::HTTP_09,
        (1, 0) => http::Version::HTTP_10,
        (2, _) => http::Version::HTTP_2,
        (3, _) => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    };
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
    if options.iis_request {
        let mut iis = iis_request(context, options, values.slice(url_at..));
        (iis.remote_addr, iis.local_addr) = (remote_addr, local_addr);
        built.extensions_mut().insert(iis);
    }
    Ok((built, Pump { pipe, read: None, chunk: options.read_chunk.max(1), remaining: if chunked { None } else { length } }))
}

/// The `SOCKADDR` of an `HTTP_TRANSPORT_ADDRESS` as a `SocketAddr` (`None` for null or another
/// family).
///
/// # Safety
/// `addr` is null or points to a `SOCKADDR_IN` or `SOCKADDR_IN6` as its family says.
unsafe fn socket_addr(addr: *const SOCKADDR) -> Option<SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6, SOCKADDR_IN, SOCKADDR_IN6};
    // SAFETY: per the contract; both layouts start with the family.
    let family = unsafe { addr.as_ref()? }.sa_family;
    if family == AF_INET {
        // SAFETY: the family says SOCKADDR_IN; its address union is 4 plain bytes.
        let (ip, port) = unsafe {
            let v4 = &*addr.cast::<SOCKADDR_IN>();
            (v4.sin_addr.S_un.S_addr.to_ne_bytes(), v4.sin_port)
        };
        Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), u16::from_be(port))))
    } else if family == AF_INET6 {
        // SAFETY: the family says SOCKADDR_IN6; its unions are plain bytes and a plain u32.
        let (ip, port, flow, scope) = unsafe {
            let v6 = &*addr.cast::<SOCKADDR_IN6>();
            (v6.sin6_addr.u.Byte, v6.sin6_port, v6.sin6_flowinfo, v6.Anonymous.sin6_scope_id)
        };
        // Port and flow label in network byte order (RFC 2553 section 3.3), scope in host order.
        Some(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), u16::from_be(port), u32::from_be(flow), scope)))
    } else {
        None
    }
}

/// `len` bytes at `ptr`, or none for null.
///
/// # Safety
/// `ptr` is null or points to `len` bytes readable for `'x`.
unsafe fn bytes<'x>(ptr: *const u8, len: usize) -> &'x [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: per the contract.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// `len` UTF-16 units at `ptr`, or none for null.
///
/// # Safety
/// As [`bytes`], for `len` aligned units.
unsafe fn wide<'x>(ptr: *const u16, len: usize) -> &'x [u16] {
    // SAFETY: as `slice`.
    unsafe { slice(ptr, len) }
}

/// # Safety
/// As [`bytes`], for `len` aligned `T`s.
unsafe fn slice<'x, T>(ptr: *const T, len: usize) -> &'x [T] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: per the contract.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// The [`IisRequest`] but its addresses (read from the raw request by the caller).
fn iis_request(context: &HttpContext<'_>, options: &Options, raw_url: Bytes) -> IisRequest {
    let user = context.user();
    IisRequest {
        raw_url,
        user: user.as_ref().and_then(|u| u.name()).map(|n| n.to_string_lossy()).filter(|n| !n.is_empty()),
        authentication_type: user.as_ref().and_then(|u| u.authentication_type()).map(|n| n.to_string_lossy()).filter(|n| !n.is_empty()),
        remote_addr: None,
        local_addr: None,
        site_id: context.site().map(|s| s.id()),
        server_variables: options
            .server_variables
            .iter()
            .filter_map(|&name| Some((name, String::from_utf8_lossy(context.server_variable(name).ok()??).into_owned())))
            .collect(),
    }
}

/// Emits the UTF-16 `text` as UTF-8, percent-encoding what a URI path may not hold: IIS gives
/// the decoded path, `http::Uri` wants it encoded. The query (which keeps `?`, `=`, `&`, and
/// `%`: HTTP.sys does not decode it) gets only what a URI can never hold encoded (space,
/// controls, non-ASCII). Unpaired surrogates become U+FFFD. (Run twice: to count, to write.)
fn encode(text: &[u16], query: bool, emit: &mut impl FnMut(u8)) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut utf8 = [0u8; 4];
    for c in char::decode_utf16(text.iter().copied()) {
        let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
        for &byte in c.encode_utf8(&mut utf8).as_bytes() {
            let keep = byte.is_ascii_alphanumeric()
                || b"-._~!$&'()*+,;=:@/".contains(&byte)
                || (query && (byte == b'?' || byte == b'%'));
            if keep {
                emit(byte);
            } else {
                emit(b'%');
                emit(HEX[(byte >> 4) as usize]);
                emit(HEX[(byte & 15) as usize]);
            }
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

/// Answers 500 and traces `message`. Once the headers are out the response cannot change: an
/// HTTP/2 stream is reset (`IHttpResponse4::ResetStream`, `INTERNAL_ERROR`: the client sees
/// the response aborted, the connection's other streams go on), an HTTP/1 connection closed.
fn fail(context: &HttpContext<'_>, message: &str) -> NotificationStatus {
    trace(context, &format!("httpserv-tower: {message}"));
    let response = context.response();
    if context.response_headers_sent() {
        match context.response4() {
            // RFC 9113 section 7: INTERNAL_ERROR (0x2).
            Ok(r4) if r4.supports_trailers() => r4.reset_stream(2),
            _ => response.set_need_disconnect(),
        }
    } else {
        response.clear();
        let _ = response.set_status(500, "Internal Server Error");
    }
    NotificationStatus::FinishRequest
}

/// The status and headers of `parts`, to IIS.
fn send_head(context: &HttpContext<'_>, parts: &http::response::Parts) -> Result<(), String> {
    let iis = context.response();
    let status = parts.status;
    iis.set_status(status.as_u16(), status.canonical_reason().unwrap_or("")).map_err(|_| format!("IIS refused the status {status}"))?;
    let mut previous: Option<&http::HeaderName> = None;
    for (name, value) in &parts.headers {
        let Ok(value) = value.to_str() else {
            trace(context, &format!("httpserv-tower: header {name} dropped: its value is not visible ASCII"));
            continue;
        };
        let set = if previous == Some(name) { iis.append_header(name.as_str(), value) } else { iis.set_header(name.as_str(), value) };
        set.map_err(|e| format!("IIS refused the header {name}: {e}"))?;
        previous = Some(name);
    }
    Ok(())
}

/// The body's trailers, through `IHttpResponse4::SetTrailer` when they can reach the client
/// (HTTP/2: "for IIS and HTTP.sys, only HTTP/2 response trailers are supported",
/// <https://learn.microsoft.com/en-us/aspnet/core/host-and-deploy/iis/protocols>); otherwise,
/// and for a trailer IIS refuses, traced and dropped: the body is already out.
fn send_trailers(context: &HttpContext<'_>, trailers: &http::HeaderMap) {
    let r4 = match context.response4() {
        Ok(r4) if r4.supports_trailers() => r4,
        Ok(_) => return trace(context, &format!("httpserv-tower: {} response trailer(s) dropped: IIS sends trailers on HTTP/2 only", trailers.len())),
        Err(e) => return trace(context, &format!("httpserv-tower: response trailers dropped: no IHttpResponse4 ({e})")),
    };
    let mut previous: Option<&http::HeaderName> = None;
    for (name, value) in trailers {
        let set = match value.to_str() {
            Ok(value) if previous == Some(name) => r4.append_trailer(name.as_str(), value),
            Ok(value) => r4.set_trailer(name.as_str(), value),
            Err(_) => Err(httpserv::Error::new(httpserv::E_INVALIDARG, "not visible ASCII")),
        };
        if let Err(e) = set {
            trace(context, &format!("httpserv-tower: trailer {name} dropped: {e}"));
        }
        previous = Some(name);
    }
}

/// Why sending the body stopped.
enum Failed {
    /// IIS refused a write or flush.
    Io(String),
    /// The body failed or panicked.
    Body(String),
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
    // The disconnect is checked only when the service is about to wait (each check is two IIS
    // calls): a service that answers at once never pays for it, and one that waits is
    // cancelled as soon as the client goes away (the watcher wakes this task).
    let called = poll_fn(|cx| loop {
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
            if Pin::new(&mut gone).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
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
    if let Err(e) = send_head(context, &parts) {
        return fail(context, &e);
    }
    let exact = body.size_hint().exact();
    let event_stream = parts.headers.get(http::header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    let streaming = exact.is_none() || event_stream;
    if streaming {
        iis.disable_buffering();
    }
    // Small bodies of known size are copied into IIS's buffer synchronously.
    let sync_writes = !streaming && exact.is_some_and(|n| n <= options.sync_write_limit as u64);

    // 3. The body, frame by frame; the request body pump keeps serving it meanwhile.
    enum Write<'a> {
        Idle,
        Writing(httpserv::WriteBody<'a>),
        Flushing(httpserv::FlushBody<'a>),
    }
    let mut body = pin!(body);
    let mut write = Write::Idle;
    let mut ended = false;
    // As above, the disconnect is checked before waiting, and when a write fails (after a
    // disconnect, IIS fails them with ERROR_CONNECTION_ABORTED: the client left, nothing failed).
    let sent = poll_fn(|cx| loop {
        let mut progress = false;
        match &mut write {
            Write::Idle => {}
            Write::Writing(w) => match Pin::new(w).poll(cx) {
                Poll::Pending => {}
                Poll::Ready((Err(e), _)) => return Poll::Ready(Err(Failed::Io(format!("writing the response failed: {e}")))),
                Poll::Ready((Ok(()), _)) => {
                    write = if streaming { Write::Flushing(iis.flush_async()) } else { Write::Idle };
                    progress = true;
                }
            },
            Write::Flushing(f) => match Pin::new(f).poll(cx) {
                Poll::Pending => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(Failed::Io(format!("flushing the response failed: {e}")))),
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
                Err(p) => return Poll::Ready(Err(Failed::Body(format!("the response body panicked: {}", panic_message(p))))),
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(None)) => {
                    ended = true;
                    progress = true;
                }
                Ok(Poll::Ready(Some(Err(e)))) => return Poll::Ready(Err(Failed::Body(format!("the response body failed: {}", e.into())))),
                Ok(Poll::Ready(Some(Ok(frame)))) => {
                    progress = true;
                    match frame.into_data() {
                        Ok(mut data) if sync_writes => {
                            while data.has_remaining() {
                                let chunk = data.chunk();
                                if let Err(e) = iis.write(chunk) {
                                    return Poll::Ready(Err(Failed::Io(format!("writing the response failed: {e}"))));
                                }
                                let n = chunk.len();
                                data.advance(n);
                            }
                        }
                        Ok(mut data) => {
                            let len = data.remaining();
                            if len > 0 {
                                write = Write::Writing(iis.write_async(Vec::from(data.copy_to_bytes(len))));
                            }
                        }
                        Err(frame) => {
                            if let Ok(trailers) = frame.into_trailers() {
                                send_trailers(context, &trailers);
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
            if Pin::new(&mut gone).poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            return Poll::Pending;
        }
    });
    match sent.await {
        Ok(()) => NotificationStatus::FinishRequest,
        // The client left: nothing to answer, nothing failed.
        Err(Failed::Io(_)) if context.connection().is_some_and(|c| !c.is_connected()) => NotificationStatus::FinishRequest,
        Err(Failed::Io(e) | Failed::Body(e)) => fail(context, &e),
    }
}


#[cfg(test)]
mod tests {
    fn encoded(text: &str, query: bool) -> String {
        let units: Vec<u16> = text.encode_utf16().collect();
        let mut out = Vec::new();
        super::encode(&units, query, &mut |b| out.push(b));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_decoded_path_is_percent_encoded_again() {
        assert_eq!(encoded("/a b/ü/x%y?z#", false), "/a%20b/%C3%BC/x%25y%3Fz%23");
        // The query keeps its separators and escapes; only what a URI cannot hold is encoded.
        assert_eq!(encoded("?q=a%20b&r=ü s", true), "?q=a%20b&r=%C3%BC%20s");
        // An unpaired surrogate is U+FFFD, not an error.
        let mut out = Vec::new();
        super::encode(&[b'/' as u16, 0xD800], false, &mut |b| out.push(b));
        assert_eq!(out, b"/%EF%BF%BD");
    }
}

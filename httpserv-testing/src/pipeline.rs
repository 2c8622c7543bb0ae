//! The request pipeline: per-request state and objects, and the driver that calls the module's
//! handlers in IIS order, sends the response, disposes the module and cleans up.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::net::SocketAddr;
use std::time::Instant;

use httpserv_sys::*;
use windows_sys::core::HRESULT;

use super::containers::{ContextStore, Kind, Scope};
use super::server::{with_active, Active, Registration, ServerShared};
use super::sockaddr::SockAddr;
use super::strings::{hr_str, reason_phrase, split_query, status_name, too_long, Arena, Headers, Keep};
use super::thunk::{owner, rethrow, Obj, Pinned};
use super::{context, providers, request, response};
use super::{Call, CallKind, Disconnect, Handler, Notification, TestRequest, TestResponse};

/// What went on the wire when the headers were sent.
#[derive(Clone)]
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) substatus: u16,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, String)>,
}

/// The response being built.
pub(crate) struct ResponseState {
    pub(crate) status: u16,
    pub(crate) substatus: u16,
    pub(crate) reason: String,
    pub(crate) error: HRESULT,
    pub(crate) try_skip_custom_errors: bool,
    /// The notification flag during which the module last set the status (`None`: it did not).
    pub(crate) status_notification: Option<u32>,
    pub(crate) headers: Headers,
    pub(crate) trailers: Headers,
    /// Buffered entity chunks, not yet sent.
    pub(crate) chunks: Vec<Vec<u8>>,
    /// The entity sent so far.
    pub(crate) sent: Vec<u8>,
    /// Set when the headers are sent.
    pub(crate) head: Option<Head>,
    pub(crate) suppressed: bool,
    pub(crate) buffering_disabled: bool,
    pub(crate) kernel_cache_disabled: Vec<u32>,
    pub(crate) disconnect: Disconnect,
    pub(crate) error_description: Option<String>,
}

impl Default for ResponseState {
    fn default() -> Self {
        ResponseState {
            status: 200,
            substatus: 0,
            reason: "OK".to_owned(),
            error: 0,
            try_skip_custom_errors: false,
            status_notification: None,
            headers: Headers::default(),
            trailers: Headers::default(),
            chunks: Vec::new(),
            sent: Vec::new(),
            head: None,
            suppressed: false,
            buffering_disabled: false,
            kernel_cache_disabled: Vec::new(),
            disconnect: Disconnect::None,
            error_description: None,
        }
    }
}

impl ResponseState {
    /// `IHttpResponse::Clear`: status, headers and buffered body back to their defaults.
    pub(crate) fn clear(&mut self) {
        self.status = 200;
        self.substatus = 0;
        self.reason = "OK".to_owned();
        self.error = 0;
        self.status_notification = None;
        self.headers = Headers::default();
        self.chunks.clear();
    }

    /// Sets the status; a missing reason gets the standard phrase.
    pub(crate) fn set_status(&mut self, status: u16, reason: Option<String>) {
        self.status = status;
        self.reason = reason.unwrap_or_else(|| reason_phrase(status).to_owned());
    }
}

/// Everything about a request that changes while it runs.
pub(crate) struct RequestState {
    pub(crate) method: String,
    pub(crate) original_method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    /// The URL as received (path and query).
    pub(crate) raw_url: String,
    pub(crate) url_changed: bool,
    pub(crate) version: (u16, u16),
    pub(crate) headers: Headers,
    /// The entity body not read yet (`InsertEntityBody` puts bytes in front).
    pub(crate) entity: VecDeque<u8>,
    pub(crate) entity_total: usize,
    /// `(name, authentication type)` of the request's user.
    pub(crate) user: Option<(String, String)>,
    /// A user set by the module with `IAuthenticationProvider::SetUser`.
    pub(crate) auth_user: *mut IHttpUser,
    /// Server variables set by the module.
    pub(crate) server_vars: Headers,
    /// Set by `IMapHandlerProvider::SetScriptName`.
    pub(crate) script_name: Option<String>,
    pub(crate) response: ResponseState,
    /// The notification running, and whether it is the post-notification.
    pub(crate) current: Option<(Notification, bool)>,
    /// `IHttpContext::DisableNotifications`: (request, post) masks.
    pub(crate) disabled: (u32, u32),
    pub(crate) indicated: Option<REQUEST_NOTIFICATION_STATUS>,
    pub(crate) posted: Option<u32>,
    /// Set when a handler left the request pending with nothing to complete it: the failure
    /// `send` reports once the request is cleaned up.
    pub(crate) left_pending: Option<String>,
    pub(crate) completion_bytes: u32,
    /// What `IHttpCompletionInfo::GetCompletionStatus` returns in `OnAsyncCompletion`.
    pub(crate) completion_status: HRESULT,
    /// [`TestRequest::body_pieces`]: the most one read returns, and how long an asynchronous
    /// read takes to complete.
    pub(crate) pieces: Option<(usize, std::time::Duration)>,
    /// The client went away during the request: `IsConnected` is FALSE and I/O fails.
    pub(crate) client_gone: bool,
    pub(crate) handled: bool,
    pub(crate) calls: Vec<Call>,
    /// Inside `send_response` (a `Flush` from `OnSendResponse` must not send again).
    pub(crate) sending: bool,
    pub(crate) headers_being_sent: bool,
    pub(crate) send_flags: u32,
    /// `IMapPathProvider`: (URL, physical path).
    pub(crate) map_path: (String, String),
    /// `IReadEntityProvider`: (buffer, bytes of data, buffer size).
    pub(crate) read_entity: (*mut c_void, u32, u32),
    pub(crate) full_duplex: bool,
    /// Inside a send that does not complete the response (`Flush`, an unbuffered write): the
    /// log entry is not ready then.
    pub(crate) partial_send: bool,
    /// The log entry `ISendResponseProvider::GetLogData` hands out (and `SetLogData` replaces),
    /// with the strings it points to; built on first use during the final send.
    pub(crate) log: Option<Box<crate::providers::LogEntry>>,
    /// What the log says once the request ended.
    pub(crate) logged: crate::LogRecord,
}

/// A request: its objects (what the module sees), its state, and its memory.
pub(crate) struct RequestCtx {
    server: *const ServerShared,
    pub(crate) id: u64,
    pub(crate) context: Obj<RequestCtx>,
    pub(crate) request: Obj<RequestCtx>,
    pub(crate) response: Obj<RequestCtx>,
    pub(crate) connection: Obj<RequestCtx>,
    pub(crate) user: Obj<RequestCtx>,
    pub(crate) trace: Obj<RequestCtx>,
    pub(crate) allocator: Obj<RequestCtx>,
    pub(crate) completion: Obj<RequestCtx>,
    pub(crate) event_provider: Obj<RequestCtx>,
    pub(crate) auth_provider: Obj<RequestCtx>,
    pub(crate) map_handler_provider: Obj<RequestCtx>,
    pub(crate) send_provider: Obj<RequestCtx>,
    pub(crate) map_path_provider: Obj<RequestCtx>,
    pub(crate) read_entity_provider: Obj<RequestCtx>,
    pub(crate) store: ContextStore,
    pub(crate) connection_store: ContextStore,
    pub(crate) named_store: ContextStore,
    /// IIS's WebSocket module for this request (`websocket.rs`): its state and its
    /// `IWebSocketContext`.
    pub(crate) websocket: RefCell<super::websocket::WebSocketState>,
    pub(crate) websocket_obj: Obj<RequestCtx>,
    pub(crate) remote_addr: SocketAddr,
    /// What other modules of the pipeline do, by stage ([`TestRequest::other_module`]).
    other_modules: Vec<super::OtherModule>,
    /// [`TestRequest::disconnect_after`].
    disconnect_after: Option<std::time::Duration>,
    /// [`TestRequest::on_wire`].
    on_wire: Option<super::WireObserver>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) remote: SockAddr,
    pub(crate) local: SockAddr,
    /// Strings and structures handed to the module.
    pub(crate) keep: Keep,
    /// Request memory.
    pub(crate) arena: Arena,
    pub(crate) factory: *mut IHttpModuleFactory,
    pub(crate) request_mask: u32,
    pub(crate) post_mask: u32,
    global: *mut CGlobalModule,
    global_mask: u32,
    module: Cell<*mut CHttpModule>,
    /// Stored contexts cleaned up at the end of the request.
    cleaned: Cell<usize>,
    pub(crate) st: RefCell<RequestState>,
    pub(crate) started: Instant,
    /// The request this one is a clone of (`CloneContext`, `child.rs`), or null.
    pub(crate) parent: Cell<*const RequestCtx>,
    /// This request's clones not released yet, and those released (freed with this request).
    pub(crate) children: RefCell<Vec<super::child::Child>>,
    pub(crate) released: RefCell<Vec<super::child::Child>>,
    /// This request is a clone its parent released (`ReleaseClonedContext`).
    pub(crate) clone_released: Cell<bool>,
    /// Completions posted from other threads, for the request's own thread.
    pub(crate) completions: std::sync::Arc<Completions>,
    /// The thread running the request (`TestServer::send`'s caller).
    pub(crate) thread: std::thread::ThreadId,
}

/// `PostCompletion` / `IndicateCompletion` calls made on threads other than the request's:
/// queued under a lock (the request's other state is single-threaded), taken by the request's
/// thread when a notification is pending. IIS lets any thread post a completion
/// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-postcompletion-method>).
#[derive(Default)]
pub(crate) struct Completions {
    queue: std::sync::Mutex<std::collections::VecDeque<Completion>>,
    arrived: std::sync::Condvar,
}

/// What another thread did to complete a pending notification.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Completion {
    Posted(u32),
    Indicated(REQUEST_NOTIFICATION_STATUS),
    /// An asynchronous read, write or flush finished (`bytes`, `hr`).
    Io { op: &'static str, bytes: u32, hr: HRESULT },
    /// The client went away ([`crate::TestRequest::disconnect_after`]).
    Disconnect,
    /// A WebSocket read or write completes (`websocket::READ`, `websocket::WRITE`).
    WebSocket(u8),
    /// `CloseTcpConnection` / `CancelOutstandingIO`: outstanding WebSocket operations fail.
    WebSocketAbort(HRESULT),
    /// `ExecuteRequest` queued the child request at this address (`child.rs`).
    Child(usize),
}

impl Completions {
    pub(crate) fn push(&self, completion: Completion) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push_back(completion);
        self.arrived.notify_all();
    }

    /// The next completion, waiting up to `timeout` for one.
    fn wait(&self, timeout: std::time::Duration) -> Option<Completion> {
        let deadline = Instant::now() + timeout;
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(completion) = queue.pop_front() {
                return Some(completion);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            queue = self.arrived.wait_timeout(queue, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

/// How long a pending notification may wait for a completion from another thread before the
/// request counts as left pending: [`crate::TestServer::set_pending_timeout`], else
/// `$HTTPSERV_PENDING_TIMEOUT_MS` (which also reaches the DLL door's simulator), else 5 s.
pub(crate) fn pending_timeout(server: &ServerShared) -> std::time::Duration {
    let set = server.pending_timeout_ms.load(std::sync::atomic::Ordering::Relaxed);
    let ms = if set > 0 { set } else { std::env::var("HTTPSERV_PENDING_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000) };
    std::time::Duration::from_millis(ms)
}

/// The request behind a request-level object pointer.
///
/// # Safety
///
/// `this` must be a request-level object handed out for a request that is still running.
pub(crate) unsafe fn req<'a, T>(this: *mut T) -> &'a RequestCtx {
    // SAFETY: per the contract.
    unsafe { owner::<RequestCtx, T>(this) }
}

/// Splits a test URL into (host, path and query).
fn parse_url(url: &str) -> (Option<String>, String) {
    let (host, rest) = match url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    {
        Some(rest) => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            (Some(rest[..end].to_owned()), &rest[end..])
        }
        None => (None, url),
    };
    let rest = if rest.starts_with('/') {
        rest.to_owned()
    } else {
        format!("/{rest}")
    };
    (host, rest)
}

impl RequestCtx {
    /// A new request for `server` at a fixed address.
    pub(crate) fn create(
        server: &ServerShared,
        registration: &Registration,
        request: TestRequest,
    ) -> Pinned<RequestCtx> {
        let (host, raw_url) = parse_url(&request.url);
        let (path, query) = split_query(&raw_url);
        let mut headers = Headers(request.headers);
        if headers.get("Host").is_none() {
            headers.0.insert(
                0,
                (
                    "Host".to_owned(),
                    host.unwrap_or_else(|| "localhost".to_owned()),
                ),
            );
        }
        let has_body =
            !request.body.is_empty() || matches!(request.method.as_str(), "POST" | "PUT" | "PATCH");
        if has_body
            && headers.get("Content-Length").is_none()
            && headers.get("Transfer-Encoding").is_none()
        {
            headers
                .0
                .push(("Content-Length".to_owned(), request.body.len().to_string()));
        }
        // Refused before anything of the request exists, so that the panic cuts nothing short
        // (a panic later, once the module object exists, would skip its Dispose).
        if let Some((what, len)) = super::request::too_long_part(&request.method, &raw_url, &headers, request.local.port()) {
            panic!("{}", too_long(what, len));
        }
        let state = RequestState {
            method: request.method.clone(),
            original_method: request.method,
            path: path.to_owned(),
            query: query.to_owned(),
            raw_url: raw_url.clone(),
            url_changed: false,
            version: request.version,
            headers,
            entity_total: request.body.len(),
            entity: request.body.into(),
            user: request.user,
            auth_user: std::ptr::null_mut(),
            server_vars: Headers::default(),
            script_name: None,
            response: ResponseState::default(),
            current: None,
            disabled: (0, 0),
            indicated: None,
            posted: None,
            left_pending: None,
            completion_bytes: 0,
            completion_status: 0,
            pieces: request.pieces,
            client_gone: false,
            handled: false,
            calls: Vec::new(),
            sending: false,
            headers_being_sent: false,
            send_flags: 0,
            map_path: (String::new(), String::new()),
            read_entity: (std::ptr::null_mut(), 0, 0),
            full_duplex: false,
            partial_send: false,
            log: None,
            logged: Default::default(),
        };
        let ctx = Pinned::new(Box::new(RequestCtx {
            server,
            id: server.next_request_id(),
            context: Obj::new(&context::CONTEXT_VTBL),
            request: Obj::new(&request::REQUEST_VTBL),
            response: Obj::new(&response::RESPONSE_VTBL),
            connection: Obj::new(&context::CONNECTION_VTBL),
            user: Obj::new(&context::USER_VTBL),
            trace: Obj::new(&context::TRACE_VTBL),
            allocator: Obj::new(&context::ALLOCATOR_VTBL),
            completion: Obj::new(&providers::COMPLETION_VTBL),
            event_provider: Obj::new(&providers::EVENT_VTBL),
            auth_provider: Obj::new(&providers::AUTHENTICATION_VTBL),
            map_handler_provider: Obj::new(&providers::MAP_HANDLER_VTBL),
            send_provider: Obj::new(&providers::SEND_RESPONSE_VTBL),
            map_path_provider: Obj::new(&providers::MAP_PATH_VTBL),
            read_entity_provider: Obj::new(&providers::READ_ENTITY_VTBL),
            store: ContextStore::new(Kind::Module, "request"),
            connection_store: ContextStore::new(Kind::Connection, "connection"),
            named_store: ContextStore::new(Kind::Named, "named"),
            websocket: super::websocket::WebSocketState::new(request.websocket),
            websocket_obj: Obj::new(&super::websocket::WEBSOCKET_VTBL),
            remote_addr: request.remote,
            completions: Default::default(),
            thread: std::thread::current().id(),
            other_modules: request.other_modules.clone(),
            disconnect_after: request.disconnect_after,
            on_wire: request.on_wire.clone(),
            local_addr: request.local,
            remote: SockAddr::new(request.remote),
            local: SockAddr::new(request.local),
            keep: Keep::default(),
            arena: Arena::new(request.odd_request_memory),
            factory: registration.factory,
            request_mask: registration.request_mask,
            post_mask: registration.post_mask,
            global: registration.global,
            global_mask: registration.global_mask,
            module: Cell::new(std::ptr::null_mut()),
            cleaned: Cell::new(0),
            st: RefCell::new(state),
            started: Instant::now(),
            parent: Cell::new(std::ptr::null()),
            children: RefCell::new(Vec::new()),
            released: RefCell::new(Vec::new()),
            clone_released: Cell::new(false),
        }));
        let raw = ctx.as_ptr();
        // SAFETY: `raw` is the only handle to the new request; the mutable borrow ends before
        // any object is handed out.
        let me = unsafe { &mut *raw };
        for obj in [
            &mut me.context,
            &mut me.request,
            &mut me.response,
            &mut me.connection,
            &mut me.user,
            &mut me.trace,
            &mut me.allocator,
            &mut me.completion,
            &mut me.event_provider,
            &mut me.auth_provider,
            &mut me.map_handler_provider,
            &mut me.send_provider,
            &mut me.map_path_provider,
            &mut me.read_entity_provider,
            &mut me.websocket_obj,
        ] {
            obj.set_owner(raw);
        }
        for store in [&mut me.store, &mut me.connection_store, &mut me.named_store] {
            store.init(Scope::Request(raw));
        }
        ctx
    }

    /// The server this request runs on.
    pub(crate) fn server(&self) -> &ServerShared {
        // SAFETY: the server outlives its requests.
        unsafe { &*self.server }
    }

    /// The `IHttpContext` handed to the module.
    pub(crate) fn context_ptr(&self) -> *mut IHttpContext {
        self.context.as_ptr()
    }

    /// The notification running.
    pub(crate) fn current(&self) -> (Option<Notification>, bool) {
        match self.st.borrow().current {
            Some((n, post)) => (Some(n), post),
            None => (None, false),
        }
    }

    /// Appends a call to the transcript; returns its index.
    pub(crate) fn push_call(&self, call: Call) -> usize {
        let mut st = self.st.borrow_mut();
        st.calls.push(call);
        st.calls.len() - 1
    }

    /// Replaces the detail of the call at `index`.
    pub(crate) fn patch_call(&self, index: usize, detail: String) {
        if let Some(call) = self.st.borrow_mut().calls.get_mut(index) {
            call.detail = detail;
        }
    }

    /// Records a call made during the current notification.
    pub(crate) fn record(&self, method: &'static str, detail: String) -> usize {
        let (notification, post) = self.current();
        self.push_call(Call {
            method,
            kind: CallKind::Call,
            notification,
            post,
            detail,
        })
    }

    /// The module's name, for `GetStatus` and `GetCurrentExecutionStats`.
    pub(crate) fn module_name_w(&self) -> windows_sys::core::PCWSTR {
        self.server().name_w()
    }

    /// The client went away: from now on `IsConnected` is FALSE and I/O fails with
    /// `ERROR_CONNECTION_ABORTED`; connection stored contexts get `NotifyDisconnect` (IIS:
    /// <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpconnectionstoredcontext-notifydisconnect-method>).
    pub(crate) fn client_disconnected(&self) {
        if std::mem::replace(&mut self.st.borrow_mut().client_gone, true) {
            return;
        }
        self.record("(client)", "disconnected".to_owned());
        self.connection_store.notify_disconnect();
    }

    /// Queues the completion of an asynchronous operation: at once (delivered when the
    /// notification returns `RQ_NOTIFICATION_PENDING`), or from another thread `delay` later.
    pub(crate) fn complete_later(&self, completion: Completion, delay: Option<std::time::Duration>) {
        match delay {
            None => self.completions.push(completion),
            Some(delay) => {
                let completions = self.completions.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    completions.push(completion);
                });
            }
        }
    }

    /// Whether the module gets `n` (registered, not disabled, and a module exists).
    pub(crate) fn wants(&self, n: Notification, post: bool) -> bool {
        if self.module.get().is_null() {
            return false;
        }
        let flag = n.flag();
        let st = self.st.borrow();
        let (mask, disabled) = if post {
            (self.post_mask, st.disabled.1)
        } else {
            (self.request_mask, st.disabled.0)
        };
        mask & flag != 0 && disabled & flag == 0
    }

    /// Calls the module's handler for `n` with `provider`, resolving `RQ_NOTIFICATION_PENDING`.
    pub(crate) fn notify(
        &self,
        n: Notification,
        post: bool,
        provider: *mut c_void,
    ) -> REQUEST_NOTIFICATION_STATUS {
        let module = self.module.get();
        if module.is_null() {
            return RQ_NOTIFICATION_CONTINUE;
        }
        if self.left_pending() {
            // The request hangs in IIS: no further notification reaches the module.
            return RQ_NOTIFICATION_FINISH_REQUEST;
        }
        let previous = {
            let mut st = self.st.borrow_mut();
            let previous = st.current.replace((n, post));
            st.indicated = None;
            st.posted = None;
            st.calls.push(Call {
                method: n.method(post),
                kind: CallKind::Call,
                notification: Some(n),
                post,
                detail: String::new(),
            });
            previous
        };
        // SAFETY: `module` came from the factory and lives until `Dispose`; the context and
        // provider are objects of this live request.
        let status = unsafe { invoke(module, n, post, self.context_ptr(), provider) };
        rethrow();
        let returned = self.push_call(Call {
            method: n.method(post),
            kind: CallKind::Return,
            notification: Some(n),
            post,
            detail: status_name(status),
        });
        let status = self.resolve_pending(n, post, status, returned);
        self.st.borrow_mut().current = previous;
        status
    }

    /// Whether a handler left the request pending (see [`RequestCtx::resolve_pending`]).
    pub(crate) fn left_pending(&self) -> bool {
        self.st.borrow().left_pending.is_some()
    }

    /// Appends `note` to the detail of the call at `index` (a return entry).
    fn annotate(&self, index: usize, note: &str) {
        if let Some(call) = self.st.borrow_mut().calls.get_mut(index) {
            call.detail.push_str(note);
        }
    }

    /// Turns `RQ_NOTIFICATION_PENDING` into a final status, as IIS does once the pending
    /// operation completes: by `OnAsyncCompletion` after `IHttpContext::PostCompletion`, or with
    /// the status given to `IHttpContext::IndicateCompletion`, either called during the handler
    /// (all I/O here is synchronous, so nothing can complete the request later). `returned` is
    /// the transcript index of the handler's return entry, which gets the resolution as a note.
    ///
    /// A handler that returns `RQ_NOTIFICATION_PENDING` tells IIS that the module will resume
    /// the request itself ("RQ_NOTIFICATION_PENDING: Indicates that an asynchronous operation is
    /// pending", <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/request-notification-status-enumeration>),
    /// which it does with `IndicateCompletion` ("Indicates that the current request has
    /// completed asynchronous processing", <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-indicatecompletion-method>).
    /// IIS never resolves it on its own: with nothing to complete it, the request hangs. So
    /// does this simulator, as a failure: the request gets no further notification, is cleaned
    /// up, and `send` panics (`left_pending`); the returned status stops the pipeline.
    fn resolve_pending(
        &self,
        n: Notification,
        post: bool,
        first: REQUEST_NOTIFICATION_STATUS,
        returned: usize,
    ) -> REQUEST_NOTIFICATION_STATUS {
        let mut status = first;
        // Who returned the status being resolved (the handler, then `OnAsyncCompletion`), and
        // where its return entry is.
        let mut returned_by = n.method(post).to_owned();
        let mut returned_at = returned;
        let mut rounds = 0;
        let mut waited = None;
        while status == RQ_NOTIFICATION_PENDING {
            rounds += 1;
            let (mut posted, mut indicated) = {
                let mut st = self.st.borrow_mut();
                (st.posted.take(), st.indicated.take())
            };
            // What IHttpCompletionInfo reports: S_OK for PostCompletion, the I/O's result.
            let mut io_status = 0;
            if posted.is_none() && indicated.is_none() {
                // Nothing completed it on this thread: wait for an asynchronous operation or
                // another thread to.
                let timeout = pending_timeout(self.server());
                let mut next = self.completions.wait(timeout);
                while let Some(Completion::Disconnect | Completion::WebSocket(_) | Completion::WebSocketAbort(_)) = next {
                    // The module's NotifyDisconnect (or WebSocket completion callback) may
                    // complete the notification on this thread (PostCompletion), or leave it to
                    // another.
                    match next {
                        Some(Completion::WebSocket(which)) => super::websocket::deliver(self, which),
                        Some(Completion::WebSocketAbort(hr)) => super::websocket::deliver_abort(self, hr),
                        _ => self.client_disconnected(),
                    }
                    let mut st = self.st.borrow_mut();
                    (posted, indicated) = (st.posted.take(), st.indicated.take());
                    drop(st);
                    next = if posted.is_some() || indicated.is_some() { None } else { self.completions.wait(timeout) };
                }
                match next {
                    None if posted.is_some() || indicated.is_some() => {}
                    Some(Completion::Disconnect | Completion::WebSocket(_) | Completion::WebSocketAbort(_)) => unreachable!("handled above"),
                    Some(Completion::Io { op, bytes, hr }) => {
                        io_status = hr;
                        self.record("IHttpCompletionInfo::Completed", format!("{op}: {bytes} bytes, {}", crate::strings::hr_str(hr)));
                        posted = Some(bytes);
                        // Completed I/O is progress (a long body takes many reads), not a
                        // PostCompletion loop: only posts in a row count towards the limit.
                        rounds = 0;
                    }
                    Some(Completion::Child(address)) => {
                        io_status = self.run_child(address);
                        posted = Some(0);
                        rounds = 0;
                    }
                    Some(Completion::Posted(bytes)) => {
                        self.record("IHttpContext::PostCompletion", format!("{bytes} bytes, from another thread"));
                        posted = Some(bytes);
                    }
                    Some(Completion::Indicated(s)) => {
                        self.record("IHttpContext::IndicateCompletion", format!("{}, from another thread", status_name(s)));
                        indicated = Some(s);
                    }
                    None => waited = Some(timeout),
                }
            }
            match (posted, indicated) {
                (Some(bytes), _) if rounds < 64 => {
                    (status, returned_at) = self.async_completion(n, post, bytes, io_status);
                    returned_by = format!(
                        "{} (completing {})",
                        Notification::AsyncCompletion.handler(),
                        n.method(post)
                    );
                }
                (None, Some(s)) if s != RQ_NOTIFICATION_PENDING => {
                    self.annotate(returned_at, &format!(", IndicateCompletion({})", status_name(s)));
                    status = s;
                }
                _ => {
                    let why = if rounds >= 64 {
                        "PostCompletion was called 64 times in a row".to_owned()
                    } else if indicated == Some(RQ_NOTIFICATION_PENDING) {
                        "IndicateCompletion was given RQ_NOTIFICATION_PENDING".to_owned()
                    } else if let Some(waited) = waited {
                        format!("nothing called IndicateCompletion or PostCompletion (waited {} ms for another thread; HTTPSERV_PENDING_TIMEOUT_MS sets how long)", waited.as_millis())
                    } else {
                        "nothing called IndicateCompletion or PostCompletion".to_owned()
                    };
                    self.annotate(returned_at, ", left pending (request failed)");
                    let mut st = self.st.borrow_mut();
                    if st.left_pending.is_none() {
                        st.left_pending = Some(format!(
                            "request left pending: {returned_by} returned \
                             RQ_NOTIFICATION_PENDING and {why} (IIS would never finish this \
                             request)"
                        ));
                    }
                    status = RQ_NOTIFICATION_FINISH_REQUEST;
                }
            }
        }
        status
    }

    /// `CHttpModule::OnAsyncCompletion` for a completion posted during `n`: its status and the
    /// transcript index of its return entry.
    fn async_completion(
        &self,
        n: Notification,
        post: bool,
        bytes: u32,
        status_hr: HRESULT,
    ) -> (REQUEST_NOTIFICATION_STATUS, usize) {
        let module = self.module.get();
        let completing = Handler::new(n, post).method().trim_start_matches("CHttpModule::");
        {
            let mut st = self.st.borrow_mut();
            st.completion_bytes = bytes;
            st.completion_status = status_hr;
            st.indicated = None;
            st.posted = None;
            st.current = Some((Notification::AsyncCompletion, false));
            st.calls.push(Call {
                method: Notification::AsyncCompletion.handler(),
                kind: CallKind::Call,
                notification: Some(Notification::AsyncCompletion),
                post: false,
                detail: format!("{completing}, {bytes} bytes"),
            });
        }
        // SAFETY: `module` is alive until `Dispose`; the context, provider and completion info
        // are objects of this live request.
        let status = unsafe {
            ((*(*module).lpVtbl).OnAsyncCompletion)(
                module,
                self.context_ptr(),
                n.flag(),
                post as i32,
                self.event_provider.as_ptr(),
                self.completion.as_ptr(),
            )
        };
        rethrow();
        let returned = self.push_call(Call {
            method: Notification::AsyncCompletion.handler(),
            kind: CallKind::Return,
            notification: Some(Notification::AsyncCompletion),
            post: false,
            detail: status_name(status),
        });
        self.st.borrow_mut().current = Some((n, post));
        (status, returned)
    }

    /// Sends what is buffered; the first time, fires `RQ_SEND_RESPONSE` and sends the headers.
    /// Returns the status of `OnSendResponse` (or `RQ_NOTIFICATION_CONTINUE`).
    pub(crate) fn send_response(&self) -> REQUEST_NOTIFICATION_STATUS {
        let first = {
            let st = self.st.borrow();
            if st.sending {
                return RQ_NOTIFICATION_CONTINUE;
            }
            st.response.head.is_none()
        };
        let mut status = RQ_NOTIFICATION_CONTINUE;
        if first {
            {
                let mut st = self.st.borrow_mut();
                st.sending = true;
                st.headers_being_sent = true;
            }
            if self.wants(Notification::SendResponse, false) {
                status = self.notify(
                    Notification::SendResponse,
                    false,
                    self.send_provider.as_ptr(),
                );
            }
            super::websocket::headers_sent(self);
            let mut st = self.st.borrow_mut();
            st.sending = false;
            st.headers_being_sent = false;
            let r = &mut st.response;
            r.head = Some(Head {
                status: r.status,
                substatus: r.substatus,
                reason: r.reason.clone(),
                headers: if r.suppressed {
                    Vec::new()
                } else {
                    r.headers.0.clone()
                },
            });
        }
        let mut st = self.st.borrow_mut();
        let chunks = std::mem::take(&mut st.response.chunks);
        for chunk in &chunks {
            st.response.sent.extend_from_slice(chunk);
        }
        // The observer is the test's code: called with no borrow of the request held.
        if let Some(observe) = &self.on_wire {
            let head = if first { st.response.head.clone() } else { None };
            // A HEAD response sends no body (see `finish`).
            let head_method = st.original_method.eq_ignore_ascii_case("HEAD");
            // A flush or an unbuffered write (`send_partial`): more may follow.
            let more = st.partial_send;
            drop(st);
            if let Some(head) = head {
                (observe.0)(super::Wire::Head { status: head.status, reason: &head.reason, headers: &head.headers, more });
            }
            for chunk in chunks.iter().filter(|c| !c.is_empty() && !head_method) {
                (observe.0)(super::Wire::Body(chunk));
            }
        }
        status
    }

    /// A send before the response is complete (`Flush`, unbuffered writes).
    pub(crate) fn send_partial(&self) -> REQUEST_NOTIFICATION_STATUS {
        let outer = std::mem::replace(&mut self.st.borrow_mut().partial_send, true);
        let status = self.send_response();
        self.st.borrow_mut().partial_send = outer;
        status
    }

    /// `IHttpResponse::Flush`: sends what is buffered; returns the bytes sent.
    pub(crate) fn flush(&self) -> u32 {
        let before = self.st.borrow().response.sent.len();
        self.send_partial();
        (self.st.borrow().response.sent.len() - before) as u32
    }

    /// The provider handed to the handler of `n`.
    fn provider_for(&self, n: Notification, post: bool) -> *mut c_void {
        match (n, post) {
            (Notification::AuthenticateRequest, false) => self.auth_provider.as_ptr(),
            (Notification::MapRequestHandler, false) => self.map_handler_provider.as_ptr(),
            _ => self.event_provider.as_ptr(),
        }
    }

    /// The deterministic notifications, the response, and `FINISH_REQUEST` handling.
    fn pipeline(&self) {
        let mut finishing = false;
        for n in Notification::PIPELINE {
            let tail = matches!(n, Notification::LogRequest | Notification::EndRequest);
            if finishing && !tail {
                continue;
            }
            for other in self.other_modules.iter().filter(|o| o.stage == n) {
                (other.run)(self.context_ptr());
                rethrow();
            }
            for post in [false, true] {
                if !self.wants(n, post) {
                    continue;
                }
                let status = self.notify(n, post, self.provider_for(n, post));
                if self.left_pending() {
                    return;
                }
                if status == RQ_NOTIFICATION_FINISH_REQUEST {
                    if !finishing {
                        finishing = true;
                        self.send_response();
                    }
                    break;
                }
            }
            if n == Notification::ExecuteRequestHandler
                && !finishing
                && self.send_response() == RQ_NOTIFICATION_FINISH_REQUEST
            {
                finishing = true;
            }
            if self.left_pending() {
                return;
            }
        }
        self.send_response();
    }

    /// Runs the whole request.
    pub(crate) fn run(&self) {
        let server = self.server();
        server.lock().counts.requests += 1;
        if let Some(after) = self.disconnect_after {
            self.complete_later(Completion::Disconnect, Some(after));
        }

        if !self.global.is_null() && self.global_mask & GL_PRE_BEGIN_REQUEST != 0 {
            self.st.borrow_mut().current = Some((Notification::GlobalPreBeginRequest, false));
            let provider = server.pre_begin.as_ptr::<IPreBeginRequestProvider>();
            server.notify_global(Notification::GlobalPreBeginRequest, String::new(), |g| {
                // SAFETY: `g` is the module's live global module and `provider` a live provider.
                unsafe { ((*(*g).lpVtbl).OnGlobalPreBeginRequest)(g, provider) }
            });
            self.st.borrow_mut().current = None;
        }

        let factory = self.factory;
        let mut failed = false;
        if !factory.is_null() {
            let mut module: *mut CHttpModule = std::ptr::null_mut();
            self.record("IHttpModuleFactory::GetHttpModule", String::new());
            // SAFETY: the factory the module registered lives until `Terminate`; `module` is a
            // writable out-pointer and the allocator an object of this live request.
            let hr = unsafe {
                ((*(*factory).lpVtbl).GetHttpModule)(factory, &mut module, self.allocator.as_ptr())
            };
            rethrow();
            let (notification, post) = self.current();
            self.push_call(Call {
                method: "IHttpModuleFactory::GetHttpModule",
                kind: CallKind::Return,
                notification,
                post,
                detail: hr_str(hr),
            });
            if hr < 0 || module.is_null() {
                // IIS fails the request with a 500 when the factory gives no module.
                failed = true;
                let mut st = self.st.borrow_mut();
                st.response.set_status(500, None);
                st.response.error = if hr < 0 {
                    hr
                } else {
                    windows_sys::Win32::Foundation::E_POINTER
                };
            } else {
                server.lock().counts.modules_created += 1;
                self.module.set(module);
            }
        }

        if failed {
            self.send_response();
        } else {
            self.pipeline();
        }
        self.end();
    }

    /// Ends the request: cleans up its stored contexts and disposes of the module (once; also
    /// after a panic cut the request short, so that the module does not leak).
    pub(crate) fn end(&self) {
        let server = self.server();
        self.finish_children();
        // As in IIS: the request's stored contexts go first, then the module object, then the
        // request memory (which the module object may live in) when the request is dropped.
        let cleaned =
            self.store.cleanup() + self.named_store.cleanup() + self.connection_store.cleanup();
        self.cleaned.set(cleaned);
        // The user a module set: IIS needs it no longer once the request is done, and gives
        // back the reference SetUser handed over (IAuthenticationProvider::SetUser,
        // https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/iauthenticationprovider-setuser-method).
        // The log entry is written now, while the module's user still answers for AUTH_USER.
        // A panic building it (a module's user name longer than the log's USHORT length) is
        // raised once the module object is disposed of, so that it does not leak.
        let logged = catch_unwind(AssertUnwindSafe(|| {
            let entry = self.log_entry();
            crate::LogRecord { user_name: entry.user_name(), uri_stem: entry.uri_stem(), status: entry.status() }
        }));
        let user = std::mem::replace(&mut self.st.borrow_mut().auth_user, std::ptr::null_mut());
        self.release_module_user(user, "end of request");
        let module = self.module.replace(std::ptr::null_mut());
        if !module.is_null() {
            self.record("CHttpModule::Dispose", String::new());
            // SAFETY: `module` came from the factory and this is its last call.
            unsafe { ((*(*module).lpVtbl).Dispose)(module) };
            rethrow();
            server.lock().counts.modules_disposed += 1;
        }
        match logged {
            Ok(logged) => self.st.borrow_mut().logged = logged,
            Err(panic) => resume_unwind(panic),
        }
    }

    /// Builds the response (after [`RequestCtx::run`]).
    fn finish(&self) -> TestResponse {
        let cleaned = self.cleaned.get();
        {
            let mut state = self.server().lock();
            state.counts.stored_contexts_cleaned += cleaned;
            state.counts.request_memory_bytes += self.arena.bytes();
        }
        let mut st = self.st.borrow_mut();
        let head = st.response.head.clone().unwrap_or_else(|| Head {
            status: st.response.status,
            substatus: st.response.substatus,
            reason: st.response.reason.clone(),
            headers: st.response.headers.0.clone(),
        });
        let mut body = std::mem::take(&mut st.response.sent);
        if st.original_method.eq_ignore_ascii_case("HEAD") {
            body.clear();
        }
        let url = if st.query.is_empty() {
            st.path.clone()
        } else {
            format!("{}?{}", st.path, st.query)
        };
        TestResponse {
            status: head.status,
            substatus: head.substatus,
            reason: head.reason,
            headers: head.headers,
            trailers: st.response.trailers.0.clone(),
            body,
            calls: std::mem::take(&mut st.calls),
            disconnected: st.response.disconnect,
            server_variables_set: st.server_vars.0.clone(),
            error: st.response.error,
            try_skip_custom_errors: st.response.try_skip_custom_errors,
            error_description: st.response.error_description.clone(),
            headers_suppressed: st.response.suppressed,
            buffering_disabled: st.response.buffering_disabled,
            kernel_cache_disabled: st.response.kernel_cache_disabled.clone(),
            request_handled: st.handled,
            method: st.method.clone(),
            url,
            request_headers: st.headers.0.clone(),
            request_memory_bytes: self.arena.bytes(),
            stored_contexts_cleaned: cleaned,
            websocket: self.websocket.borrow().transcript(),
            log: std::mem::take(&mut st.logged),
        }
    }
}

/// Calls the module's handler for `(n, post)`.
///
/// # Safety
///
/// `module` must be a live `CHttpModule`, `context` a live `IHttpContext`, and `provider` a live
/// provider of the type the handler takes.
unsafe fn invoke(
    module: *mut CHttpModule,
    n: Notification,
    post: bool,
    context: *mut IHttpContext,
    provider: *mut c_void,
) -> REQUEST_NOTIFICATION_STATUS {
    use Notification::*;
    // SAFETY: per the contract, `module` is live and its vtable valid.
    let v = unsafe { &*(*module).lpVtbl };
    let p = provider;
    // SAFETY: per the contract; each handler gets the provider type it declares.
    unsafe {
        match (n, post) {
            (BeginRequest, false) => (v.OnBeginRequest)(module, context, p.cast()),
            (BeginRequest, true) => (v.OnPostBeginRequest)(module, context, p.cast()),
            (AuthenticateRequest, false) => (v.OnAuthenticateRequest)(module, context, p.cast()),
            (AuthenticateRequest, true) => (v.OnPostAuthenticateRequest)(module, context, p.cast()),
            (AuthorizeRequest, false) => (v.OnAuthorizeRequest)(module, context, p.cast()),
            (AuthorizeRequest, true) => (v.OnPostAuthorizeRequest)(module, context, p.cast()),
            (ResolveRequestCache, false) => (v.OnResolveRequestCache)(module, context, p.cast()),
            (ResolveRequestCache, true) => (v.OnPostResolveRequestCache)(module, context, p.cast()),
            (MapRequestHandler, false) => (v.OnMapRequestHandler)(module, context, p.cast()),
            (MapRequestHandler, true) => (v.OnPostMapRequestHandler)(module, context, p.cast()),
            (AcquireRequestState, false) => (v.OnAcquireRequestState)(module, context, p.cast()),
            (AcquireRequestState, true) => (v.OnPostAcquireRequestState)(module, context, p.cast()),
            (PreExecuteRequestHandler, false) => {
                (v.OnPreExecuteRequestHandler)(module, context, p.cast())
            }
            (PreExecuteRequestHandler, true) => {
                (v.OnPostPreExecuteRequestHandler)(module, context, p.cast())
            }
            (ExecuteRequestHandler, false) => {
                (v.OnExecuteRequestHandler)(module, context, p.cast())
            }
            (ExecuteRequestHandler, true) => {
                (v.OnPostExecuteRequestHandler)(module, context, p.cast())
            }
            (ReleaseRequestState, false) => (v.OnReleaseRequestState)(module, context, p.cast()),
            (ReleaseRequestState, true) => (v.OnPostReleaseRequestState)(module, context, p.cast()),
            (UpdateRequestCache, false) => (v.OnUpdateRequestCache)(module, context, p.cast()),
            (UpdateRequestCache, true) => (v.OnPostUpdateRequestCache)(module, context, p.cast()),
            (LogRequest, false) => (v.OnLogRequest)(module, context, p.cast()),
            (LogRequest, true) => (v.OnPostLogRequest)(module, context, p.cast()),
            (EndRequest, false) => (v.OnEndRequest)(module, context, p.cast()),
            (EndRequest, true) => (v.OnPostEndRequest)(module, context, p.cast()),
            (SendResponse, _) => (v.OnSendResponse)(module, context, p.cast()),
            (MapPath, _) => (v.OnMapPath)(module, context, p.cast()),
            (ReadEntity, _) => (v.OnReadEntity)(module, context, p.cast()),
            (CustomRequestNotification, _) => {
                (v.OnCustomRequestNotification)(module, context, p.cast())
            }
            _ => RQ_NOTIFICATION_CONTINUE,
        }
    }
}

/// Runs `request` on `server` and returns the response.
pub(crate) fn run(
    server: &ServerShared,
    registration: &Registration,
    request: TestRequest,
) -> TestResponse {
    let ctx = RequestCtx::create(server, registration, request);
    // SAFETY: `ctx` lives until the end of this function, after the module is done with it.
    let req = unsafe { &*ctx.as_ptr() };
    let active = Active {
        server,
        request: req,
        global: None,
    };
    let response = with_active(active, || {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| req.run())) {
            // A panic re-raised from the simulator's side cut the request short: still end it
            // (a second panic there is dropped: the first one is what the test reports).
            let _ = catch_unwind(AssertUnwindSafe(|| req.end()));
            resume_unwind(panic);
        }
        req.finish()
    });
    if let Some(failure) = req.st.borrow_mut().left_pending.take() {
        panic!("{failure}\ntranscript:\n{}", response.transcript());
    }
    let unreleased = req.unreleased_clones();
    if !unreleased.is_empty() {
        // IIS's rule: a clone is released with ReleaseClonedContext once its execution completed
        // (child.rs).
        panic!("cloned context(s) never released with ReleaseClonedContext: {}\ntranscript:\n{}", unreleased.join(", "), response.transcript());
    }
    response
}

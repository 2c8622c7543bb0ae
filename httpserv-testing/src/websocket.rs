//! IIS's WebSocket module, simulated: the server variables it sets, the `IWebSocketContext` it
//! puts in the named context container (`"websockets"`) once a 101 response has been flushed,
//! and a scripted client on the other end ([`WebSocketClient`]).
//!
//! Rules followed (iiswebsocket.h and its users, since Microsoft documents little beyond the
//! signatures, <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/iwebsocketcontext-interface>):
//! - With the module enabled ([`crate::TestServer::enable_websocket_module`]) every request sees
//!   `WEBSOCKET_VERSION = 13` (ASP.NET's `IsWebSocketModuleActive`), and a valid upgrade request
//!   (`GET`, HTTP/1.1, `Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Version: 13`,
//!   a `Sec-WebSocket-Key`) sees `IIS_WEBSOCK = websockets` (ASP.NET's `IsWebSocketRequest`).
//! - When such a request's headers go out with status 101 (ANCM: "trigger a flush, so that IIS's
//!   websocket module can get a chance to initialize and complete the handshake") the context
//!   is stored under `"websockets"`; the 101 carries `Upgrade: websocket`,
//!   `Connection: Upgrade` and the `Sec-WebSocket-Accept` computed from the client's key.
//! - Asynchronous reads, writes and the close complete through the module's
//!   `PFN_WEBSOCKET_COMPLETION`, later, on the request's thread while its notification is
//!   pending (as on an IIS thread), with `*pfCompletionExpected = TRUE`; with
//!   [`WebSocketClient::complete_synchronously`] they finish inside the call instead
//!   (`*pfCompletionExpected = FALSE`, results in the out parameters, no callback), the other
//!   path ASP.NET's `WebSocketPipe` handles. A read with nothing left in the script stays
//!   outstanding (the request then fails as left pending after the timeout).
//! - A read returns at most the buffer's size; the rest of a client fragment comes with the next
//!   read, and only the read that ends a final fragment says `fFinalFragment`. The client's close
//!   completes a read with 0 bytes and `fClose`; `GetCloseStatus` then gives its status and
//!   reason, or `E_NOT_SET` (`HRESULT_FROM_WIN32(ERROR_NOT_FOUND)`) when it sent none.
//! - A client disconnect fails the outstanding read with `ERROR_CONNECTION_ABORTED` and calls
//!   the connection's `NotifyDisconnect`; `CloseTcpConnection` and `CancelOutstandingIO` fail
//!   outstanding operations (`ERROR_CONNECTION_ABORTED`, `ERROR_OPERATION_ABORTED`); so does the
//!   end of the request (`CleanupStoredContext`), so no callback is lost.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::c_void;

use httpserv_sys::*;
use serde::{Deserialize, Serialize};
use windows_sys::core::{BOOL, HRESULT, PCWSTR};

use super::pipeline::{req, Completion, RequestCtx};
use super::strings::{hr_str, hresult_from_win32, Side, S_OK};
use super::thunk::thunks;
use super::{TestRequest, TestServer};

const HR_CONNECTION_ABORTED: HRESULT = hresult_from_win32(1236);
const HR_OPERATION_ABORTED: HRESULT = hresult_from_win32(995);
const HR_BUSY: HRESULT = hresult_from_win32(170);
/// `E_NOT_SET`: `HRESULT_FROM_WIN32(ERROR_NOT_FOUND)`.
const E_NOT_SET: HRESULT = hresult_from_win32(1168);

/// What the client does, in order ([`TestRequest::websocket`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientStep {
    /// A data frame: part of a text message if `utf8`, ending its message if `is_final`.
    #[allow(missing_docs)]
    Fragment { data: Vec<u8>, utf8: bool, is_final: bool },
    /// The client's close frame, with a status code and reason or none.
    #[allow(missing_docs)]
    Close { status: Option<u16>, reason: String },
    /// The client goes away.
    Disconnect,
}

/// The client side of a WebSocket conversation: what it sends, read by the module's
/// `ReadFragment` calls in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebSocketClient {
    pub(crate) steps: Vec<ClientStep>,
    pub(crate) synchronous: bool,
}

impl WebSocketClient {
    /// A client that sends nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends a text message in one frame.
    pub fn text(self, text: &str) -> Self {
        self.fragment(text.as_bytes(), true, true)
    }

    /// Sends a binary message in one frame.
    pub fn binary(self, data: &[u8]) -> Self {
        self.fragment(data, false, true)
    }

    /// Sends one frame of a message (continuation frames keep the message's `utf8`).
    pub fn fragment(mut self, data: &[u8], utf8: bool, is_final: bool) -> Self {
        self.steps.push(ClientStep::Fragment { data: data.to_vec(), utf8, is_final });
        self
    }

    /// Sends the close frame with `status` and `reason`.
    pub fn close(mut self, status: u16, reason: &str) -> Self {
        self.steps.push(ClientStep::Close { status: Some(status), reason: reason.to_owned() });
        self
    }

    /// Sends a close frame without a status code.
    pub fn close_without_status(mut self) -> Self {
        self.steps.push(ClientStep::Close { status: None, reason: String::new() });
        self
    }

    /// Goes away (the TCP connection drops).
    pub fn disconnect(mut self) -> Self {
        self.steps.push(ClientStep::Disconnect);
        self
    }

    /// Every operation the script can serve finishes inside its call
    /// (`*pfCompletionExpected = FALSE`) instead of through the completion callback.
    pub fn complete_synchronously(mut self) -> Self {
        self.synchronous = true;
        self
    }
}

impl TestRequest {
    /// A WebSocket upgrade request for `url` (`GET`, `Upgrade: websocket`, `Connection: Upgrade`,
    /// `Sec-WebSocket-Version: 13`, a `Sec-WebSocket-Key`) whose client then plays `client`.
    /// Upgraded only on a server with [`TestServer::enable_websocket_module`].
    pub fn websocket(url: impl Into<String>, client: WebSocketClient) -> Self {
        let mut request = TestRequest::get(url)
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        request.websocket = Some(client);
        request
    }
}

impl TestServer {
    /// Installs IIS's WebSocket module (`<webSocket enabled="true" />`) for the requests sent
    /// from now on: see the crate's WebSocket docs (`TestRequest::websocket`) for what it does.
    /// Through the DLL door too (the door's `enable_web_socket_module` command).
    pub fn enable_websocket_module(&self) {
        match &self.door {
            super::Door::InProcess(s) => s.state().websocket_module.store(true, std::sync::atomic::Ordering::Relaxed),
            super::Door::Dll(d) => d.notify(super::door::Command::EnableWebSocketModule),
        }
    }
}

/// A fragment the module wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerFragment {
    /// Its payload.
    pub data: Vec<u8>,
    /// `fUTF8Encoded`: part of a text message.
    pub utf8: bool,
    /// `fFinalFragment`: the last fragment of its message.
    pub is_final: bool,
}

/// A whole message the module sent (its fragments joined).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerMessage {
    /// A text message (lossy UTF-8).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// What happened on the WebSocket ([`crate::TestResponse::websocket`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebSocketTranscript {
    /// Whether the module got the `IWebSocketContext` (the upgrade happened).
    pub upgraded: bool,
    /// The fragments the module wrote, in order.
    pub fragments: Vec<ServerFragment>,
    /// The module's close frame: status and reason.
    pub close_sent: Option<(u16, String)>,
    /// Whether the module read the client's close frame.
    pub close_read: bool,
    /// Whether the module called `CloseTcpConnection`.
    pub tcp_closed: bool,
    /// Client steps the module never read.
    pub unread: usize,
}

impl WebSocketTranscript {
    /// The messages the module sent, fragments joined; a message left unfinished is not listed.
    pub fn messages(&self) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        let mut current: Option<(bool, Vec<u8>)> = None;
        for fragment in &self.fragments {
            let (utf8, data) = current.get_or_insert_with(|| (fragment.utf8, Vec::new()));
            data.extend_from_slice(&fragment.data);
            if fragment.is_final {
                let (utf8, data) = (*utf8, std::mem::take(data));
                current = None;
                out.push(if utf8 { ServerMessage::Text(String::from_utf8_lossy(&data).into_owned()) } else { ServerMessage::Binary(data) });
            }
        }
        out
    }
}

/// An operation the module started, waiting for its completion.
struct Pending {
    callback: PFN_WEBSOCKET_COMPLETION,
    context: *mut c_void,
    /// For a read: the module's buffer and its size.
    buffer: *mut u8,
    len: u32,
    /// For a write or close: what its callback reports.
    bytes: u32,
    utf8: bool,
    is_final: bool,
}

/// A request's WebSocket state.
#[derive(Default)]
pub(crate) struct WebSocketState {
    script: VecDeque<ClientStep>,
    synchronous: bool,
    read: Option<Pending>,
    write: Option<Pending>,
    /// The client's close, once read: (status, reason).
    close: Option<(Option<u16>, String)>,
    gone: bool,
    transcript: WebSocketTranscript,
}

impl WebSocketState {
    pub(crate) fn new(client: Option<WebSocketClient>) -> RefCell<Self> {
        let client = client.unwrap_or_default();
        RefCell::new(WebSocketState { script: client.steps.into(), synchronous: client.synchronous, ..Default::default() })
    }

    /// The transcript for the response, if the request was upgraded.
    pub(crate) fn transcript(&self) -> Option<WebSocketTranscript> {
        self.transcript.upgraded.then(|| WebSocketTranscript { unread: self.script.len(), ..self.transcript.clone() })
    }
}

/// Which operation a queued completion is for.
pub(crate) const READ: u8 = 0;
pub(crate) const WRITE: u8 = 1;

/// `WEBSOCKET_VERSION` and `IIS_WEBSOCK`, when the module is enabled.
pub(crate) fn server_variable(req: &RequestCtx, upper: &str) -> Option<String> {
    if !req.server().websocket_module.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    match upper {
        "WEBSOCKET_VERSION" => Some("13".to_owned()),
        "IIS_WEBSOCK" => is_upgrade_request(req).then(|| "websockets".to_owned()),
        _ => None,
    }
}

fn is_upgrade_request(req: &RequestCtx) -> bool {
    let st = req.st.borrow();
    let has = |name: &str, token: &str| st.headers.get(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)));
    st.original_method == "GET"
        && st.version == (1, 1)
        && has("Upgrade", "websocket")
        && has("Connection", "upgrade")
        && st.headers.get("Sec-WebSocket-Version").as_deref() == Some("13")
        && st.headers.get("Sec-WebSocket-Key").is_some_and(|k| !k.trim().is_empty())
}

static NAME: [u16; 11] = {
    let bytes = *b"websockets\0";
    let mut wide = [0u16; 11];
    let mut i = 0;
    while i < 11 {
        wide[i] = bytes[i] as u16;
        i += 1;
    }
    wide
};

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key` (RFC 6455 section 4.2.2: the
/// base64 SHA-1 of the key and the protocol's GUID).
pub(crate) fn accept_key(key: &str) -> String {
    use base64::Engine;
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.digest().bytes())
}

/// Called when the response headers go out: a 101 to an upgrade request gets the context.
pub(crate) fn headers_sent(req: &RequestCtx) {
    let upgrade = req.st.borrow().response.status == 101 && server_variable(req, "IIS_WEBSOCK").is_some();
    if !upgrade || std::mem::replace(&mut req.websocket.borrow_mut().transcript.upgraded, true) {
        return;
    }
    {
        let mut st = req.st.borrow_mut();
        let key = st.headers.get("Sec-WebSocket-Key").unwrap_or_default();
        let handshake = ["Upgrade", "Connection", "Sec-WebSocket-Accept"];
        st.response.headers.0.retain(|(n, _)| !handshake.iter().any(|h| n.eq_ignore_ascii_case(h)));
        st.response.headers.0.push(("Upgrade".to_owned(), "websocket".to_owned()));
        st.response.headers.0.push(("Connection".to_owned(), "Upgrade".to_owned()));
        st.response.headers.0.push(("Sec-WebSocket-Accept".to_owned(), accept_key(key.trim())));
    }
    let named: *mut INamedContextContainer = req.named_store.as_ptr();
    // SAFETY: the request's live named container; IIS's WebSocket module stores its context so.
    unsafe { ((*(*named).lpVtbl).SetNamedContext)(named, req.websocket_obj.as_ptr(), NAME.as_ptr()) };
}

/// Delivers a queued completion (`READ` or `WRITE`) on the request's thread.
pub(crate) fn deliver(req: &RequestCtx, which: u8) {
    if which == READ {
        complete_read(req);
    } else {
        let pending = req.websocket.borrow_mut().write.take();
        if let Some(p) = pending {
            let result = (p.bytes, p.utf8, p.is_final, false);
            call(req, "write", p, S_OK, result);
        }
    }
}

/// Calls the module's completion (no borrow of the state held).
fn call(req: &RequestCtx, what: &str, p: Pending, hr: HRESULT, (bytes, utf8, is_final, close): (u32, bool, bool, bool)) {
    req.record("IWebSocketContext::(completion)", format!("{what}: {bytes} bytes{}{}{}, {}", if utf8 { ", utf8" } else { "" }, if is_final { ", final" } else { "" }, if close { ", close" } else { "" }, hr_str(hr)));
    if let Some(callback) = p.callback {
        // SAFETY: the module's completion for the operation it started, called once.
        unsafe { callback(hr, p.context, bytes, utf8 as BOOL, is_final as BOOL, close as BOOL) };
    }
}

/// What the next read gets from the script, copying data into `buffer`: (hr, bytes, utf8,
/// final, close), or `None` when the script has nothing yet.
fn next_read(req: &RequestCtx, buffer: *mut u8, len: u32) -> Option<(HRESULT, u32, bool, bool, bool)> {
    let mut ws = req.websocket.borrow_mut();
    if ws.gone {
        return Some((HR_CONNECTION_ABORTED, 0, false, false, false));
    }
    match ws.script.pop_front()? {
        ClientStep::Fragment { data, utf8, is_final } => {
            let n = data.len().min(len as usize);
            // SAFETY: the module's buffer of `len` bytes, live until this read completes.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buffer, n) };
            let whole = n == data.len();
            if !whole {
                ws.script.push_front(ClientStep::Fragment { data: data[n..].to_vec(), utf8, is_final });
            }
            Some((S_OK, n as u32, utf8, is_final && whole, false))
        }
        ClientStep::Close { status, reason } => {
            ws.close = Some((status, reason));
            ws.transcript.close_read = true;
            Some((S_OK, 0, false, true, true))
        }
        ClientStep::Disconnect => {
            ws.gone = true;
            drop(ws);
            req.client_disconnected();
            Some((HR_CONNECTION_ABORTED, 0, false, false, false))
        }
    }
}

fn complete_read(req: &RequestCtx) {
    let pending = req.websocket.borrow_mut().read.take();
    let Some(p) = pending else { return };
    match next_read(req, p.buffer, p.len) {
        Some((hr, bytes, utf8, is_final, close)) => call(req, "read", p, hr, (bytes, utf8, is_final, close)),
        // Nothing to read: stays outstanding.
        None => req.websocket.borrow_mut().read = Some(p),
    }
}

/// Fails both outstanding operations with `hr` (cancel, TCP close, end of request).
fn abort_all(req: &RequestCtx, hr: HRESULT) {
    let (read, write) = {
        let mut ws = req.websocket.borrow_mut();
        (ws.read.take(), ws.write.take())
    };
    if let Some(p) = read {
        call(req, "read", p, hr, (0, false, false, false));
    }
    if let Some(p) = write {
        call(req, "write", p, hr, (0, false, false, false));
    }
}

/// # Safety
/// `out` is null or writable.
unsafe fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: per the contract.
        unsafe { out.write(value) };
    }
}

thunks! {
    fn ws_cleanup(this: *mut IHttpStoredContext) {
        // SAFETY: the request's WebSocket object, cleaned up by its named container.
        let req = unsafe { req(this) };
        req.record("IWebSocketContext::CleanupStoredContext", String::new());
        abort_all(req, HR_OPERATION_ABORTED);
    }

    fn ws_write_fragment(this: *mut IWebSocketContext, data: *mut c_void, sent: *mut u32, asynchronous: BOOL, utf8: BOOL, is_final: BOOL, callback: PFN_WEBSOCKET_COMPLETION, context: *mut c_void, expected: *mut BOOL) -> HRESULT {
        // SAFETY: the module calls this on the context it got; out pointers are null or writable.
        let req = unsafe { req(this) };
        unsafe { put(expected, 0) };
        let len = if sent.is_null() { 0 } else { unsafe { *sent } };
        let (utf8, is_final) = (utf8 != 0, is_final != 0);
        let mut ws = req.websocket.borrow_mut();
        let hr = if ws.gone || ws.transcript.tcp_closed {
            HR_CONNECTION_ABORTED
        } else if ws.write.is_some() {
            HR_BUSY
        } else if data.is_null() && len > 0 {
            super::strings::E_INVALIDARG
        } else {
            // SAFETY: the module's `len` bytes at `data`.
            let bytes = if len == 0 { Vec::new() } else { unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len as usize) }.to_vec() };
            ws.transcript.fragments.push(super::websocket::ServerFragment { data: bytes, utf8, is_final });
            S_OK
        };
        let queue = hr == S_OK && asynchronous != 0 && !ws.synchronous;
        if queue {
            ws.write = Some(Pending { callback, context, buffer: std::ptr::null_mut(), len: 0, bytes: len, utf8, is_final });
        }
        drop(ws);
        req.record("IWebSocketContext::WriteFragment", format!("{len} bytes{}{}{} -> {}", if utf8 { ", utf8" } else { "" }, if is_final { ", final" } else { "" }, if queue { ", completes later" } else { "" }, hr_str(hr)));
        if queue {
            // SAFETY: as above.
            unsafe { put(expected, 1) };
            req.complete_later(Completion::WebSocket(WRITE), None);
        }
        hr
    }

    fn ws_read_fragment(this: *mut IWebSocketContext, data: *mut c_void, len: *mut u32, asynchronous: BOOL, utf8: *mut BOOL, is_final: *mut BOOL, close: *mut BOOL, callback: PFN_WEBSOCKET_COMPLETION, context: *mut c_void, expected: *mut BOOL) -> HRESULT {
        // SAFETY: the module calls this on the context it got; out pointers are null or writable.
        let req = unsafe { req(this) };
        unsafe { put(expected, 0) };
        let size = if len.is_null() { 0 } else { unsafe { *len } };
        let (busy, synchronous) = {
            let ws = req.websocket.borrow();
            (ws.read.is_some(), ws.synchronous || asynchronous == 0)
        };
        if busy || data.is_null() || size == 0 {
            let hr = if busy { HR_BUSY } else { super::strings::E_INVALIDARG };
            req.record("IWebSocketContext::ReadFragment", format!("{size} bytes -> {}", hr_str(hr)));
            return hr;
        }
        if synchronous {
            if let Some((hr, bytes, u, f, c)) = next_read(req, data.cast(), size) {
                // SAFETY: as above.
                unsafe {
                    put(len, bytes);
                    put(utf8, u as BOOL);
                    put(is_final, f as BOOL);
                    put(close, c as BOOL);
                }
                req.record("IWebSocketContext::ReadFragment", format!("{size} bytes, completed in the call: {bytes} bytes{}{}{} -> {}", if u { ", utf8" } else { "" }, if f { ", final" } else { "" }, if c { ", close" } else { "" }, hr_str(hr)));
                return hr;
            }
        }
        let ready = !req.websocket.borrow().script.is_empty() || req.websocket.borrow().gone;
        req.websocket.borrow_mut().read = Some(Pending { callback, context, buffer: data.cast(), len: size, bytes: 0, utf8: false, is_final: false });
        req.record("IWebSocketContext::ReadFragment", format!("{size} bytes, completes later{} -> S_OK", if ready { "" } else { " (the client has sent nothing more)" }));
        // SAFETY: as above.
        unsafe { put(expected, 1) };
        if ready {
            req.complete_later(Completion::WebSocket(READ), None);
        }
        S_OK
    }

    fn ws_send_connection_close(this: *mut IWebSocketContext, asynchronous: BOOL, status: u16, reason: PCWSTR, callback: PFN_WEBSOCKET_COMPLETION, context: *mut c_void, expected: *mut BOOL) -> HRESULT {
        // SAFETY: the module calls this on the context it got; `reason` is null or NUL-terminated.
        let req = unsafe { req(this) };
        unsafe { put(expected, 0) };
        let reason = unsafe { super::strings::from_pcwstr(reason) }.unwrap_or_default();
        let mut ws = req.websocket.borrow_mut();
        let hr = if ws.gone || ws.transcript.tcp_closed {
            HR_CONNECTION_ABORTED
        } else if ws.write.is_some() {
            HR_BUSY
        } else {
            ws.transcript.close_sent = Some((status, reason.clone()));
            S_OK
        };
        let queue = hr == S_OK && asynchronous != 0 && !ws.synchronous;
        if queue {
            ws.write = Some(Pending { callback, context, buffer: std::ptr::null_mut(), len: 0, bytes: 0, utf8: false, is_final: true });
        }
        drop(ws);
        req.record("IWebSocketContext::SendConnectionClose", format!("{status} {reason:?}{} -> {}", if queue { ", completes later" } else { "" }, hr_str(hr)));
        if queue {
            // SAFETY: as above.
            unsafe { put(expected, 1) };
            req.complete_later(Completion::WebSocket(WRITE), None);
        }
        hr
    }

    fn ws_get_close_status(this: *mut IWebSocketContext, status: *mut u16, reason: *mut PCWSTR, reason_len: *mut u16) -> HRESULT {
        // SAFETY: the module calls this on the context it got; out pointers are null or writable.
        let req = unsafe { req(this) };
        let close = req.websocket.borrow().close.clone();
        let hr = match &close {
            Some((Some(code), text)) => {
                let (p, n) = req.keep.volatile_wstr(Side::Request, text);
                // SAFETY: as above.
                unsafe {
                    put(status, *code);
                    put(reason, p);
                    put(reason_len, n.min(u16::MAX as u32) as u16);
                }
                S_OK
            }
            _ => E_NOT_SET,
        };
        req.record("IWebSocketContext::GetCloseStatus", format!("{close:?} -> {}", hr_str(hr)));
        hr
    }

    fn ws_close_tcp_connection(this: *mut IWebSocketContext) {
        // SAFETY: the module calls this on the context it got.
        let req = unsafe { req(this) };
        req.record("IWebSocketContext::CloseTcpConnection", String::new());
        req.websocket.borrow_mut().transcript.tcp_closed = true;
        let has = { let ws = req.websocket.borrow(); ws.read.is_some() || ws.write.is_some() };
        if has {
            req.complete_later(Completion::WebSocketAbort(HR_CONNECTION_ABORTED), None);
        }
    }

    fn ws_cancel_outstanding_io(this: *mut IWebSocketContext) {
        // SAFETY: the module calls this on the context it got.
        let req = unsafe { req(this) };
        req.record("IWebSocketContext::CancelOutstandingIO", String::new());
        req.complete_later(Completion::WebSocketAbort(HR_OPERATION_ABORTED), None);
    }
}

/// Delivers a queued abort (`CloseTcpConnection`, `CancelOutstandingIO`).
pub(crate) fn deliver_abort(req: &RequestCtx, hr: HRESULT) {
    abort_all(req, hr);
}

pub(crate) static WEBSOCKET_VTBL: IWebSocketContext_Vtbl = IWebSocketContext_Vtbl {
    base__: IHttpStoredContext_Vtbl { CleanupStoredContext: ws_cleanup },
    WriteFragment: ws_write_fragment,
    ReadFragment: ws_read_fragment,
    SendConnectionClose: ws_send_connection_close,
    GetCloseStatus: ws_get_close_status,
    CloseTcpConnection: ws_close_tcp_connection,
    CancelOutstandingIO: ws_cancel_outstanding_io,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_is_rfc_6455s() {
        // RFC 6455 section 1.3's example.
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_ne!(accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), accept_key("dGhlIHNhbXBsZSBub25jZQ=="));
    }

    #[test]
    fn messages_join_fragments_and_skip_an_unfinished_one() {
        let f = |data: &[u8], utf8, is_final| ServerFragment { data: data.to_vec(), utf8, is_final };
        let transcript = WebSocketTranscript {
            fragments: vec![f(b"he", true, false), f(b"llo", true, true), f(&[1, 2], false, true), f(b"cut", true, false)],
            ..Default::default()
        };
        assert_eq!(transcript.messages(), [ServerMessage::Text("hello".into()), ServerMessage::Binary(vec![1, 2])]);
    }

    #[test]
    fn the_door_carries_the_client_and_the_command() {
        let line = crate::door::command_line(&crate::door::Command::EnableWebSocketModule).unwrap();
        assert_eq!(line.trim_end(), r#"{"command":"enable_web_socket_module"}"#);
        let request = TestRequest::websocket("/ws", WebSocketClient::new().text("a").close(1000, "b").complete_synchronously());
        let text = serde_json::to_string(&request).unwrap();
        let back: TestRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(back.websocket, request.websocket);
        assert!(back.headers.iter().any(|(n, v)| n == "Upgrade" && v == "websocket"));
    }
}

//! WebSockets through IIS's WebSocket module (`IWebSocketContext`, iiswebsocket.h), for `async fn`
//! handlers; and the `IHttpContext3` calls it builds on (`GetNamedContextContainer`,
//! `EnableFullDuplex`).
//!
//! The upgrade, as the ASP.NET Core Module does it (its forwarding handler and
//! `WEBSOCKET_HANDLER::ProcessRequest`): the handler answers `101`, flushes, and then finds the
//! connection's `IWebSocketContext` under the name `"websockets"` in
//! `IHttpContext3::GetNamedContextContainer()`. IIS's WebSocket module marks a request it can
//! upgrade with the server variable `IIS_WEBSOCK = "websockets"` (what ASP.NET's
//! `IsWebSocketRequest` checks) and its presence with `WEBSOCKET_VERSION`.
//!
//! Fragment I/O does not complete through `OnAsyncCompletion`: IIS calls the
//! `PFN_WEBSOCKET_COMPLETION` given to the call, on one of its threads, unless the call returns
//! `*pfCompletionExpected = FALSE` (then it finished inside the call and the callback is never
//! called; ASP.NET's `WebSocketPipe` relies on the same rule). So each operation's memory (the
//! buffer IIS fills or reads, the out parameters, the close reason) lives in a heap state shared
//! by the socket and the callback: the callback's context pointer holds one strong count of it,
//! released by the callback (or by us when no callback comes). A future dropped while IIS still
//! runs its operation, or a request that ends with one outstanding, therefore never leaves IIS a
//! freed pointer; the callback then only wakes a task that may be gone (its waker does nothing
//! once the request ended, see `bridge/task.rs`).
//!
//! One read and one write (a data fragment or the close) may be outstanding at once, as ANCM
//! uses the interface (full duplex); a second of the same kind is refused with
//! `HRESULT_FROM_WIN32(ERROR_BUSY)`.

use core::cell::UnsafeCell;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};
use std::sync::{Arc, Mutex};

use httpserv_sys::*;
use windows_sys::core::BOOL;

use crate::error::{check, invalid, Error, Result, HRESULT};
use crate::HttpContext;

/// `IIS_WEBSOCKET` (iiswebsocket.h): the name of the WebSocket context in the named context
/// container.
pub const IIS_WEBSOCKET: &str = "websockets";
/// `IIS_WEBSOCKET_SERVER_VARIABLE` (iiswebsocket.h): set to [`IIS_WEBSOCKET`] by IIS's
/// WebSocket module on a request it can upgrade.
pub const IIS_WEBSOCKET_SERVER_VARIABLE: &str = "IIS_WEBSOCK";

const ERROR_BUSY_HRESULT: i32 = 0x8007_00AA_u32 as i32;
const ERROR_FILE_NOT_FOUND_HRESULT: i32 = 0x8007_0002_u32 as i32;
/// `E_NOT_SET` (`HRESULT_FROM_WIN32(ERROR_NOT_FOUND)`): `GetCloseStatus` when the peer's close
/// carried no status code (ASP.NET's `WebSocketPipe.GetCloseStatus` special-cases it).
const E_NOT_SET: i32 = 0x8007_0490_u32 as i32;

fn hresult(hr: i32) -> Error {
    Error::from_hresult(HRESULT(hr))
}

/// The named context container of a request (`IHttpContext3::GetNamedContextContainer`):
/// stored contexts shared by all modules under a name, such as IIS's `"websockets"`.
#[derive(Clone, Copy, Debug)]
pub struct NamedContexts<'a> {
    raw: NonNull<INamedContextContainer>,
    _request: PhantomData<&'a IHttpContext>,
}

impl<'a> NamedContexts<'a> {
    /// The raw container.
    pub fn as_raw(&self) -> *mut INamedContextContainer {
        self.raw.as_ptr()
    }

    /// The stored context under `name`, as IIS keeps it. Any module may have put it there, so
    /// only its owner knows its real type: the pointer is for `unsafe` code that does.
    pub fn get_raw(&self, name: &str) -> Result<Option<NonNull<IHttpStoredContext>>> {
        crate::strings::with_wide_str("a named context's name", name, |wide, _| {
            // SAFETY: live container for 'a; `wide` is NUL-terminated for the call.
            let found = unsafe { ((*(*self.as_raw()).lpVtbl).GetNamedContext)(self.as_raw(), wide) };
            NonNull::new(found)
        })
    }

    /// Whether a context is stored under `name`.
    pub fn contains(&self, name: &str) -> Result<bool> {
        Ok(self.get_raw(name)?.is_some())
    }

    /// Stores `value` under `name`; IIS drops it (`CleanupStoredContext`) when the request ends.
    /// A name already taken is refused with IIS's error.
    pub fn set<T: Send + 'static>(&self, name: &str, value: T) -> Result<()> {
        let stored = crate::bridge::stored::StoredContext::new(value);
        let hr = crate::strings::with_wide_str("a named context's name", name, |wide, _| {
            // SAFETY: live container; on success IIS owns `stored` and calls its cleanup once.
            unsafe { ((*(*self.as_raw()).lpVtbl).SetNamedContext)(self.as_raw(), stored, wide) }
        });
        let hr = match hr {
            Ok(hr) => hr,
            Err(e) => {
                // SAFETY: never handed to IIS.
                unsafe { crate::bridge::stored::StoredContext::<T>::free(stored) };
                return Err(e);
            }
        };
        if hr < 0 {
            // SAFETY: IIS refused it, so it is still ours.
            unsafe { crate::bridge::stored::StoredContext::<T>::free(stored) };
        }
        check(hr)
    }
}

impl<'a> HttpContext<'a> {
    fn context3(&self) -> Result<*mut IHttpContext3> {
        let server = self.server().ok_or_else(|| invalid("the context belongs to no module: no IHttpContext3"))?;
        self.extended::<IHttpContext3>(&server).map(|context3| context3.as_raw())
    }

    /// The request's named context container (`IHttpContext3::GetNamedContextContainer`).
    pub fn named_contexts(&self) -> Result<NamedContexts<'a>> {
        let context3 = self.context3()?;
        // SAFETY: IIS's live IHttpContext3 of this request.
        let raw = unsafe { ((*(*context3).lpVtbl).GetNamedContextContainer)(context3) };
        NonNull::new(raw).map(|raw| NamedContexts { raw, _request: PhantomData }).ok_or_else(|| invalid("IIS returned no named context container"))
    }

    /// Lets the request read its body and write its response at the same time
    /// (`IHttpContext3::EnableFullDuplex`), as the ASP.NET Core Module does before an opaque
    /// upgrade it frames itself.
    pub fn enable_full_duplex(&self) -> Result<()> {
        let context3 = self.context3()?;
        // SAFETY: IIS's live IHttpContext3 of this request.
        unsafe { ((*(*context3).lpVtbl).EnableFullDuplex)(context3) };
        Ok(())
    }

    /// Whether IIS's WebSocket module will upgrade this request: it sets the server variable
    /// `IIS_WEBSOCK` to `"websockets"` on a valid `Upgrade: websocket` request when it is
    /// installed and enabled (`<webSocket enabled="true" />`).
    pub fn is_websocket_request(&self) -> bool {
        matches!(self.server_variable(IIS_WEBSOCKET_SERVER_VARIABLE), Ok(Some(value)) if value == IIS_WEBSOCKET.as_bytes())
    }

    /// Accepts the WebSocket upgrade: status `101 Switching Protocols`, an asynchronous flush
    /// (IIS's WebSocket module completes the handshake when the 101 goes out), then the
    /// connection's `IWebSocketContext` from the named context container. Only inside an
    /// `async fn` handler (the flush completes through `OnAsyncCompletion`).
    ///
    /// Fails with `E_INVALIDARG` when [`is_websocket_request`](Self::is_websocket_request) is
    /// false, and with `HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)` when IIS has no WebSocket
    /// context after the 101 (as ANCM reports it).
    pub async fn accept_websocket(&self) -> Result<WebSocket<'a>> {
        if !self.is_websocket_request() {
            return Err(invalid("not a WebSocket upgrade IIS accepts (IIS_WEBSOCK is not \"websockets\": no valid Upgrade: websocket request, or IIS's WebSocket module is not enabled)"));
        }
        let named = self.named_contexts()?;
        let response = self.response();
        response.set_status(101, "Switching Protocols")?;
        response.flush_async().await?;
        let raw = named.get_raw(IIS_WEBSOCKET)?.ok_or_else(|| hresult(ERROR_FILE_NOT_FOUND_HRESULT))?;
        Ok(WebSocket { raw: raw.cast(), shared: Arc::new(Shared::default()), _request: PhantomData })
    }
}

/// What a read got: [`WebSocket::read_fragment`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Bytes written at the start of the buffer.
    pub len: usize,
    /// Part of a text message (UTF-8), else binary.
    pub utf8: bool,
    /// The last fragment of its message.
    pub is_final: bool,
    /// The peer sent its close frame (`len` is 0): see [`WebSocket::close_status`], and answer
    /// with [`WebSocket::close`].
    pub close: bool,
}

/// A whole message: [`WebSocket::read_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// The peer's close: its status code and reason, if it sent one.
    Close(Option<(u16, String)>),
}

/// The connection after the upgrade: IIS's `IWebSocketContext`, borrowed for the request.
/// Reads and writes are asynchronous and may run at the same time (one of each).
pub struct WebSocket<'a> {
    raw: NonNull<IWebSocketContext>,
    shared: Arc<Shared>,
    _request: PhantomData<&'a IHttpContext>,
}

impl core::fmt::Debug for WebSocket<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocket").field("raw", &self.raw).finish()
    }
}

/// The state the socket shares with IIS's completion callbacks: one slot for the read, one for
/// the write or close.
#[derive(Default)]
struct Shared {
    read: Slot,
    write: Slot,
}

#[derive(Default)]
struct Slot {
    state: Mutex<State>,
    /// IIS's memory for the operation: written or read by IIS only between the call and its
    /// completion (state `InFlight`), by this crate only outside it (`Idle` or `Done`, under the
    /// lock).
    io: UnsafeCell<IoMemory>,
}

// SAFETY: `io` is touched by one side at a time, as its doc says, the state under the mutex
// ordering the hand-over; everything else is Sync already.
unsafe impl Sync for Slot {}
// SAFETY: the memory is plain bytes and integers, owned by the slot.
unsafe impl Send for Slot {}

#[derive(Default)]
struct IoMemory {
    buffer: Vec<u8>,
    reason: Vec<u16>,
    bytes: u32,
    utf8: BOOL,
    is_final: BOOL,
    close: BOOL,
    expected: BOOL,
}

#[derive(Default)]
enum State {
    #[default]
    Idle,
    /// Issued; `waker` is the task to wake on completion. `abandoned`: its future was dropped,
    /// so the completion is only for IIS's sake.
    InFlight { waker: Option<Waker>, abandoned: bool },
    Done(Completed),
}

#[derive(Clone, Copy)]
struct Completed {
    hr: i32,
    bytes: u32,
    utf8: bool,
    is_final: bool,
    close: bool,
}

impl Slot {
    fn complete(&self, done: Completed) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let waker = match core::mem::replace(&mut *state, State::Done(done)) {
            State::InFlight { abandoned: true, .. } => {
                *state = State::Idle;
                None
            }
            State::InFlight { waker, .. } => waker,
            _ => None,
        };
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// `PFN_WEBSOCKET_COMPLETION` of reads: `context` is a strong count of the socket's `Shared`.
unsafe extern "system" fn read_done(hr: i32, context: *mut core::ffi::c_void, bytes: u32, utf8: BOOL, is_final: BOOL, close: BOOL) {
    let _ = crate::bridge::panic::catch(|| {
        // SAFETY: IIS passes back the context given to ReadFragment: `Arc::into_raw` of a
        // `Shared`, whose count this callback owns.
        let shared = unsafe { Arc::from_raw(context.cast_const().cast::<Shared>()) };
        shared.read.complete(Completed { hr, bytes, utf8: utf8 != 0, is_final: is_final != 0, close: close != 0 });
    });
}

/// `PFN_WEBSOCKET_COMPLETION` of writes and the close: as [`read_done`].
unsafe extern "system" fn write_done(hr: i32, context: *mut core::ffi::c_void, bytes: u32, utf8: BOOL, is_final: BOOL, close: BOOL) {
    let _ = crate::bridge::panic::catch(|| {
        // SAFETY: as in `read_done`, for WriteFragment and SendConnectionClose.
        let shared = unsafe { Arc::from_raw(context.cast_const().cast::<Shared>()) };
        shared.write.complete(Completed { hr, bytes, utf8: utf8 != 0, is_final: is_final != 0, close: close != 0 });
    });
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Read,
    Write,
}

/// One operation's future: issues on the first poll, then waits for its slot's completion.
struct Op<'s> {
    socket: &'s WebSocket<'s>,
    which: Which,
    issued: bool,
    /// Gave its result: a later poll must not issue the operation again.
    finished: bool,
}

impl<'s> Op<'s> {
    fn slot(&self) -> &'s Slot {
        match self.which {
            Which::Read => &self.socket.shared.read,
            Which::Write => &self.socket.shared.write,
        }
    }

    /// `prepare` fills IIS's memory; `call` makes the IIS call with it and the callback context,
    /// returning its HRESULT. Gives the completion and the memory (to read results from).
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        prepare: impl FnOnce(&mut IoMemory),
        call: impl FnOnce(*mut IWebSocketContext, &mut IoMemory, *mut core::ffi::c_void) -> i32,
        finish: impl FnOnce(Completed, &IoMemory) -> Result<Fragment>,
    ) -> Poll<Result<Fragment>> {
        if self.finished {
            return Poll::Ready(Err(invalid("a WebSocket operation's future was polled after it completed")));
        }
        let result = self.poll_issue(cx, prepare, call, finish);
        self.finished = result.is_ready();
        result
    }

    fn poll_issue(
        &mut self,
        cx: &mut Context<'_>,
        prepare: impl FnOnce(&mut IoMemory),
        call: impl FnOnce(*mut IWebSocketContext, &mut IoMemory, *mut core::ffi::c_void) -> i32,
        finish: impl FnOnce(Completed, &IoMemory) -> Result<Fragment>,
    ) -> Poll<Result<Fragment>> {
        let slot = self.slot();
        if !self.issued {
            {
                let mut state = slot.state.lock().unwrap_or_else(|p| p.into_inner());
                if !matches!(*state, State::Idle) {
                    return Poll::Ready(Err(hresult(ERROR_BUSY_HRESULT)));
                }
                // Marked before the call: IIS may complete it on another thread at once.
                *state = State::InFlight { waker: Some(cx.waker().clone()), abandoned: false };
            }
            // SAFETY: the slot is InFlight and this future is its only issuer, so no one else
            // touches the memory until IIS has it; IIS does not yet.
            let io = unsafe { &mut *slot.io.get() };
            prepare(io);
            io.expected = 0;
            let context = Arc::into_raw(self.socket.shared.clone()).cast_mut().cast::<core::ffi::c_void>();
            let hr = call(self.socket.raw.as_ptr(), io, context);
            // SAFETY: read right after the call; IIS wrote it during the call only.
            let expected = unsafe { core::ptr::addr_of!((*slot.io.get()).expected).read() } != 0;
            self.issued = true;
            if expected {
                return Poll::Pending;
            }
            // Finished inside the call (or refused): no callback comes, the count is ours again.
            // SAFETY: from the `into_raw` above, not handed to a callback.
            drop(unsafe { Arc::from_raw(context.cast_const().cast::<Shared>()) });
            // SAFETY: IIS is done with the memory (no completion pending).
            let io = unsafe { &*slot.io.get() };
            let done = Completed { hr, bytes: io.bytes, utf8: io.utf8 != 0, is_final: io.is_final != 0, close: io.close != 0 };
            let result = finish(done, io);
            *slot.state.lock().unwrap_or_else(|p| p.into_inner()) = State::Idle;
            self.issued = false;
            return Poll::Ready(result);
        }
        let mut state = slot.state.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *state {
            State::Done(done) => {
                let done = *done;
                // SAFETY: the completion was delivered: IIS is done with the memory, and the
                // lock keeps the next issuer out while we read it.
                let io = unsafe { &*slot.io.get() };
                let result = finish(done, io);
                *state = State::Idle;
                self.issued = false;
                Poll::Ready(result)
            }
            State::InFlight { waker, .. } => {
                if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            State::Idle => {
                self.issued = false;
                Poll::Ready(Err(invalid("the WebSocket operation was abandoned")))
            }
        }
    }
}

impl Drop for Op<'_> {
    fn drop(&mut self) {
        if !self.issued {
            return;
        }
        let mut state = self.slot().state.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *state {
            // IIS still owns the memory: the slot keeps it until the callback frees the slot.
            State::InFlight { abandoned, waker } => {
                *abandoned = true;
                *waker = None;
            }
            State::Done(_) => *state = State::Idle,
            State::Idle => {}
        }
    }
}

/// [`WebSocket::read_fragment`].
pub struct ReadFragment<'s> {
    op: Op<'s>,
    buffer: &'s mut [u8],
}

impl Future for ReadFragment<'_> {
    type Output = Result<Fragment>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Fragment>> {
        let this = self.get_mut();
        if this.buffer.is_empty() && !this.op.issued {
            return Poll::Ready(Err(invalid("read_fragment buffer is empty")));
        }
        let want = this.buffer.len().min(u32::MAX as usize);
        let buffer = &mut *this.buffer;
        this.op.poll(
            cx,
            |io| {
                io.buffer.clear();
                io.buffer.resize(want, 0);
                io.bytes = want as u32;
                (io.utf8, io.is_final, io.close) = (0, 0, 0);
            },
            |raw, io, context| {
                // SAFETY: live IWebSocketContext for the request; every pointer is into the
                // slot's memory, which stays allocated until the completion (see `Slot`).
                unsafe {
                    ((*(*raw).lpVtbl).ReadFragment)(raw, io.buffer.as_mut_ptr().cast(), &mut io.bytes, 1, &mut io.utf8, &mut io.is_final, &mut io.close, Some(read_done), context, &mut io.expected)
                }
            },
            |done, io| {
                check(done.hr)?;
                let len = (done.bytes as usize).min(io.buffer.len()).min(buffer.len());
                buffer[..len].copy_from_slice(&io.buffer[..len]);
                Ok(Fragment { len, utf8: done.utf8, is_final: done.is_final, close: done.close })
            },
        )
    }
}

/// [`WebSocket::write_fragment`] and [`WebSocket::close`].
pub struct WriteFragment<'s> {
    op: Op<'s>,
    kind: WriteKind<'s>,
}

enum WriteKind<'s> {
    Data { data: &'s [u8], utf8: bool, is_final: bool },
    Close { status: u16, reason: Vec<u16> },
    /// Bad input, refused before IIS sees it.
    Refused(&'static str),
}

impl Future for WriteFragment<'_> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        let result = match &mut this.kind {
            WriteKind::Refused(why) => return Poll::Ready(Err(invalid(why))),
            WriteKind::Data { data, utf8, is_final } => {
                let (data, utf8, is_final) = (*data, *utf8, *is_final);
                if u32::try_from(data.len()).is_err() {
                    return Poll::Ready(Err(invalid("a WebSocket fragment is at most 4 GiB: split it")));
                }
                this.op.poll(
                    cx,
                    |io| {
                        io.buffer.clear();
                        io.buffer.extend_from_slice(data);
                        io.bytes = data.len() as u32;
                    },
                    |raw, io, context| {
                        // SAFETY: live IWebSocketContext; the data is a copy in the slot's memory,
                        // kept until the completion.
                        unsafe { ((*(*raw).lpVtbl).WriteFragment)(raw, io.buffer.as_mut_ptr().cast(), &mut io.bytes, 1, utf8 as BOOL, is_final as BOOL, Some(write_done), context, &mut io.expected) }
                    },
                    |done, _| check(done.hr).map(|()| Fragment { len: data.len(), utf8, is_final, close: false }),
                )
            }
            WriteKind::Close { status, reason } => {
                let (status, reason) = (*status, core::mem::take(reason));
                this.op.poll(
                    cx,
                    |io| {
                        io.reason = reason;
                        io.bytes = 0;
                    },
                    |raw, io, context| {
                        let text = if io.reason.len() > 1 { io.reason.as_ptr() } else { core::ptr::null() };
                        // SAFETY: live IWebSocketContext; the reason is NUL-terminated in the
                        // slot's memory, kept until the completion.
                        unsafe { ((*(*raw).lpVtbl).SendConnectionClose)(raw, 1, status, text, Some(write_done), context, &mut io.expected) }
                    },
                    |done, _| check(done.hr).map(|()| Fragment { len: 0, utf8: false, is_final: true, close: true }),
                )
            }
        };
        result.map(|r| r.map(|_| ()))
    }
}

impl<'a> WebSocket<'a> {
    /// The raw `IWebSocketContext`.
    pub fn as_raw(&self) -> *mut IWebSocketContext {
        self.raw.as_ptr()
    }

    /// Reads the next fragment, or the rest of one, into `buffer` (`IWebSocketContext::ReadFragment`,
    /// asynchronous). A fragment longer than the buffer arrives in several reads, the last one
    /// `is_final` if the message ends there.
    pub fn read_fragment<'s>(&'s self, buffer: &'s mut [u8]) -> ReadFragment<'s> {
        ReadFragment { op: Op { socket: self.reborrow(), which: Which::Read, issued: false, finished: false }, buffer }
    }

    /// Sends `data` as a fragment (`IWebSocketContext::WriteFragment`, asynchronous): of a text
    /// message if `utf8`, ending it if `is_final`. The data is copied, so the future may be
    /// dropped at any time.
    pub fn write_fragment<'s>(&'s self, data: &'s [u8], utf8: bool, is_final: bool) -> WriteFragment<'s> {
        WriteFragment { op: Op { socket: self.reborrow(), which: Which::Write, issued: false, finished: false }, kind: WriteKind::Data { data, utf8, is_final } }
    }

    /// Sends a whole text message.
    pub fn send_text<'s>(&'s self, text: &'s str) -> WriteFragment<'s> {
        self.write_fragment(text.as_bytes(), true, true)
    }

    /// Sends a whole binary message.
    pub fn send_binary<'s>(&'s self, data: &'s [u8]) -> WriteFragment<'s> {
        self.write_fragment(data, false, true)
    }

    /// Sends the close frame (`IWebSocketContext::SendConnectionClose`, asynchronous): `status`
    /// (1000 is a normal closure, RFC 6455 section 7.4) and a reason (at most 123 bytes of
    /// UTF-8, without NUL, as a close frame's payload is at most 125 bytes).
    pub fn close<'s>(&'s self, status: u16, reason: &str) -> WriteFragment<'s> {
        let op = Op { socket: self.reborrow(), which: Which::Write, issued: false, finished: false };
        if reason.len() > 123 {
            return WriteFragment { op, kind: WriteKind::Refused("a WebSocket close reason is at most 123 bytes") };
        }
        if reason.contains('\0') {
            return WriteFragment { op, kind: WriteKind::Refused("a WebSocket close reason contains NUL") };
        }
        let mut wide: Vec<u16> = reason.encode_utf16().collect();
        wide.push(0);
        WriteFragment { op, kind: WriteKind::Close { status, reason: wide } }
    }

    /// The peer's close status and reason (`IWebSocketContext::GetCloseStatus`), `None` when
    /// its close frame carried no status code (or none arrived).
    pub fn close_status(&self) -> Result<Option<(u16, String)>> {
        let (mut status, mut reason, mut len) = (0u16, core::ptr::null(), 0u16);
        // SAFETY: live IWebSocketContext; the out pointers are ours; IIS's reason stays valid
        // until the next call on the socket, and is copied at once.
        let hr = unsafe { ((*(*self.as_raw()).lpVtbl).GetCloseStatus)(self.as_raw(), &mut status, &mut reason, &mut len) };
        if hr == E_NOT_SET {
            return Ok(None);
        }
        check(hr)?;
        let text = if reason.is_null() {
            String::new()
        } else {
            // SAFETY: IIS gives `len` UTF-16 units at `reason`.
            String::from_utf16_lossy(unsafe { core::slice::from_raw_parts(reason, len as usize) })
        };
        Ok(Some((status, text)))
    }

    /// Reads a whole message of at most `limit` bytes (a longer one fails with `E_INVALIDARG`
    /// after reading what fits, and the socket should then be closed with 1009).
    pub async fn read_message(&self, limit: usize) -> Result<Message> {
        let mut message = Vec::new();
        let mut chunk = vec![0u8; limit.clamp(1, 64 * 1024)];
        loop {
            let fragment = self.read_fragment(&mut chunk).await?;
            if fragment.close {
                return Ok(Message::Close(self.close_status()?));
            }
            if message.len() + fragment.len > limit {
                return Err(invalid("WebSocket message larger than the limit"));
            }
            message.extend_from_slice(&chunk[..fragment.len]);
            if fragment.is_final {
                return if fragment.utf8 {
                    String::from_utf8(message).map(Message::Text).map_err(|_| invalid("WebSocket text message is not UTF-8"))
                } else {
                    Ok(Message::Binary(message))
                };
            }
        }
    }

    /// Closes the TCP connection at once (`IWebSocketContext::CloseTcpConnection`).
    pub fn close_tcp_connection(&self) {
        // SAFETY: live IWebSocketContext.
        unsafe { ((*(*self.as_raw()).lpVtbl).CloseTcpConnection)(self.as_raw()) }
    }

    /// Cancels the outstanding read and write (`IWebSocketContext::CancelOutstandingIO`): they
    /// complete with an error.
    pub fn cancel_outstanding_io(&self) {
        // SAFETY: live IWebSocketContext.
        unsafe { ((*(*self.as_raw()).lpVtbl).CancelOutstandingIO)(self.as_raw()) }
    }

    /// The same handle for a shorter borrow (`WebSocket` is covariant in its lifetime).
    fn reborrow<'s>(&'s self) -> &'s WebSocket<'s> {
        self
    }
}

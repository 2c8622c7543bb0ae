//! Asynchronous body I/O for `async fn` handlers: `ReadEntityBody`, `WriteEntityChunks` and
//! `Flush` with `fAsync = TRUE`, completing through `OnAsyncCompletion` (see `bridge/task.rs`).
//!
//! The buffers are owned (`Vec<u8>`) and handed back with the result, as IIS reads or writes
//! them after the call returns: if the future is dropped while the operation is in flight, the
//! buffer is kept until IIS completes it. IIS lets a request have one asynchronous operation
//! outstanding; starting a second one while the first's future is waiting for it is refused with
//! `HRESULT_FROM_WIN32(ERROR_BUSY)`, and one started while an abandoned one (its future dropped)
//! is still in flight waits for that one's completion. A handler whose future finishes with an
//! abandoned operation in flight keeps its notification pending until IIS completes it
//! (`Task::held` in `bridge/task.rs`), so the next notification's I/O cannot be issued beside it
//! or take its completion. Outside an async handler these futures complete at once with
//! an error.
//!
//! Large writes are split as IIS requires: an `HTTP_DATA_CHUNK`'s `FromMemory.BufferLength` is a
//! ULONG, so a body over 4 GiB goes as several memory chunks of one `WriteEntityChunks` call; a
//! response takes at most 65,535 chunks (more is `ERROR_ARITHMETIC_OVERFLOW`,
//! <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpresponse-writeentitychunks-method>),
//! so a write needing more is refused with a clear error before anything is sent. With
//! `fAsync = TRUE` and buffering off, "the memory for the pDataChunks parameter must be preserved
//! until the asynchronous call completes" (same page): the chunk array of an async write lives in
//! the task's waker state ([`ChunkSlot`]), not on the stack.

use core::cell::UnsafeCell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Arc;

use windows_sys::Win32::Networking::HttpServer::{HTTP_DATA_CHUNK, HTTP_DATA_CHUNK_0, HTTP_DATA_CHUNK_0_0, HttpDataChunkFromMemory};

use crate::bridge::task::{polled, Io, WakeState};
use crate::error::{check, invalid, Error, Result, HRESULT};
use crate::{Request, Response};

const ERROR_HANDLE_EOF_HRESULT: i32 = 0x8007_0026_u32 as i32;
const ERROR_CONNECTION_ABORTED_HRESULT: i32 = 0x8007_04D4_u32 as i32;

/// The most bytes one memory chunk holds (`HTTP_DATA_CHUNK::FromMemory.BufferLength`, a ULONG).
pub(crate) const MAX_CHUNK_LEN: usize = u32::MAX as usize;
/// The most chunks a response takes (`WriteEntityChunks`: "A maximum of 65535 chunks (64 KB
/// minus 1) can be written to a request", see the module docs).
pub(crate) const MAX_CHUNKS: usize = 65_535;

/// One `HttpDataChunkFromMemory` chunk over `len` bytes at `data`.
pub(crate) fn memory_chunk(data: *const u8, len: u32) -> HTTP_DATA_CHUNK {
    HTTP_DATA_CHUNK {
        DataChunkType: HttpDataChunkFromMemory,
        Anonymous: HTTP_DATA_CHUNK_0 { FromMemory: HTTP_DATA_CHUNK_0_0 { pBuffer: data as *mut _, BufferLength: len } },
    }
}

/// Fills `chunks` (cleared first) with memory chunks over `data`, each at most `max_len` bytes
/// (at least 1; the last may be shorter; one empty chunk for empty data). Refuses data that needs
/// more than [`MAX_CHUNKS`] chunks.
pub(crate) fn memory_chunks(data: &[u8], max_len: usize, chunks: &mut Vec<HTTP_DATA_CHUNK>) -> Result<()> {
    let max_len = max_len.clamp(1, MAX_CHUNK_LEN);
    let count = data.len().div_ceil(max_len).max(1);
    if count > MAX_CHUNKS {
        return Err(invalid("write larger than IIS takes in one response: more than 65,535 chunks of 4 GiB"));
    }
    chunks.clear();
    chunks.reserve(count);
    if data.is_empty() {
        chunks.push(memory_chunk(data.as_ptr(), 0));
    }
    // Each piece is at most max_len <= u32::MAX bytes.
    chunks.extend(data.chunks(max_len).map(|piece| memory_chunk(piece.as_ptr(), piece.len() as u32)));
    Ok(())
}

/// The chunk array of the task's asynchronous write, which IIS may read until the write
/// completes. Written only by the future that issues a write, between moving the task's I/O slot
/// from `Idle` to `Waiting` and the `WriteEntityChunks` call (IIS allows one operation in flight,
/// and a second is refused while the slot is not `Idle`); read only by IIS after that. It lives
/// in the waker state, which outlives the operation (`Task::inflight`). Its capacity is reused
/// from write to write.
pub(crate) struct ChunkSlot(UnsafeCell<Vec<HTTP_DATA_CHUNK>>);

// SAFETY: the chunks point into the operation's own buffer (kept alive with it) and are only
// accessed as described on the type: one writer at a time, ordered by the I/O slot's lock.
unsafe impl Send for ChunkSlot {}
// SAFETY: as above.
unsafe impl Sync for ChunkSlot {}

impl ChunkSlot {
    pub(crate) const fn new() -> Self {
        Self(UnsafeCell::new(Vec::new()))
    }

    /// Forgets the chunks (exclusive access: no operation in flight), keeping the capacity.
    pub(crate) fn clear(&mut self) {
        self.0.get_mut().clear();
    }
}

/// How an operation started.
enum Start {
    /// IIS finished it during the call (bytes, HRESULT).
    Done(u32, i32),
    /// IIS will complete it in `OnAsyncCompletion`.
    Pending,
}

/// The state every I/O future shares: the buffer it owns, and its task once issued.
struct Op {
    buffer: Option<Vec<u8>>,
    issued: Option<Arc<WakeState>>,
}

impl Op {
    fn new(buffer: Vec<u8>) -> Self {
        Self { buffer: Some(buffer), issued: None }
    }

    /// Issues the operation on the first poll (`start` gets the buffer), then waits for its
    /// completion; gives back (bytes, HRESULT).
    fn poll(&mut self, start: impl FnOnce(&mut Vec<u8>, &WakeState) -> (i32, Start)) -> Poll<core::result::Result<(u32, i32), Error>> {
        let Some(state) = &self.issued else {
            let Some(state) = polled() else {
                return Poll::Ready(Err(invalid("asynchronous body I/O runs only inside an async fn handler")));
            };
            state.watch_disconnect();
            if state.disconnected.load(core::sync::atomic::Ordering::Acquire) {
                return Poll::Ready(Err(Error::from_hresult(HRESULT(ERROR_CONNECTION_ABORTED_HRESULT))));
            }
            // The task's one operation: waits for an abandoned one, refuses a second.
            if let Err(busy) = core::task::ready!(state.claim_io()) {
                return Poll::Ready(Err(busy));
            }
            let buffer = self.buffer.as_mut().expect("the buffer is ours until issued");
            let (hr, started) = start(buffer, &state);
            return match started {
                Start::Pending if hr >= 0 => {
                    self.issued = Some(state);
                    Poll::Pending
                }
                Start::Done(bytes, done_hr) => {
                    state.set_io(&mut state.io.lock().unwrap_or_else(|p| p.into_inner()), Io::Idle);
                    Poll::Ready(Ok((bytes, if hr < 0 { hr } else { done_hr })))
                }
                Start::Pending => {
                    state.set_io(&mut state.io.lock().unwrap_or_else(|p| p.into_inner()), Io::Idle);
                    Poll::Ready(Ok((0, hr)))
                }
            };
        };
        let mut io = state.io.lock().unwrap_or_else(|p| p.into_inner());
        match *io {
            Io::Done(bytes, hr) => {
                state.set_io(&mut io, Io::Idle);
                drop(io);
                self.issued = None;
                Poll::Ready(Ok((bytes, hr)))
            }
            // Not complete yet (another wake polled the task): keep waiting.
            Io::Waiting { .. } => Poll::Pending,
            Io::Idle => {
                drop(io);
                self.issued = None;
                Poll::Ready(Err(invalid("the asynchronous operation was abandoned (the request ended)")))
            }
        }
    }

    fn take_buffer(&mut self) -> Vec<u8> {
        self.buffer.take().unwrap_or_default()
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        // Dropped in flight: IIS still owns the buffer's memory until the completion.
        if let (Some(state), Some(buffer)) = (&self.issued, self.buffer.take()) {
            let mut io = state.io.lock().unwrap_or_else(|p| p.into_inner());
            match &mut *io {
                Io::Waiting { orphan } => *orphan = Some(crate::bridge::task::Orphan::Buffer(buffer)),
                // Completed but not taken (a race dropped it on the poll its completion came
                // in): IIS is done with the buffer, and the slot is free for the next operation.
                Io::Done(..) => state.set_io(&mut io, Io::Idle),
                Io::Idle => {}
            }
        }
    }
}

/// [`Request::read_body_async`]: the number of bytes read into the buffer (`0` at the end of
/// the body), and the buffer.
pub struct ReadBody<'a> {
    request: Request<'a>,
    op: Op,
}

impl Future for ReadBody<'_> {
    type Output = (Result<usize>, Vec<u8>);

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let request = this.request;
        if this.op.issued.is_none() && this.op.buffer.as_ref().is_some_and(Vec::is_empty) {
            return Poll::Ready((Err(invalid("read_body_async buffer is empty; Ok(0) would mean the end of the body")), this.op.take_buffer()));
        }
        let done = this.op.poll(|buffer, _| {
            let len = u32::try_from(buffer.len()).unwrap_or(u32::MAX);
            let (mut received, mut pending) = (0u32, 0);
            // SAFETY: live request; the buffer is owned by this operation until IIS completes
            // it (kept past a drop, see `Op`), and IIS writes at most `len` bytes into it.
            let hr = unsafe { (request.vtbl_raw().ReadEntityBody)(request.as_raw(), buffer.as_mut_ptr().cast(), len, 1, &mut received, &mut pending) };
            if hr >= 0 && pending != 0 { (hr, Start::Pending) } else { (hr, Start::Done(received, hr)) }
        });
        match done {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => {
                let result = result.and_then(|(bytes, hr)| if hr == ERROR_HANDLE_EOF_HRESULT { Ok(0) } else { check(hr).map(|()| bytes as usize) });
                Poll::Ready((result, this.op.take_buffer()))
            }
        }
    }
}

/// [`Response::write_async`]: written (or the error), and the buffer.
pub struct WriteBody<'a> {
    response: Response<'a>,
    op: Op,
    /// The most bytes per chunk ([`MAX_CHUNK_LEN`]; a test hook lowers it).
    max_len: usize,
}

impl Future for WriteBody<'_> {
    type Output = (Result<()>, Vec<u8>);

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (response, max_len) = (this.response, this.max_len);
        if this.op.issued.is_none() && this.op.buffer.as_ref().is_some_and(|b| b.len().div_ceil(max_len.clamp(1, MAX_CHUNK_LEN)) > MAX_CHUNKS) {
            return Poll::Ready((Err(invalid("write_async data larger than IIS takes in one response: more than 65,535 chunks of 4 GiB")), this.op.take_buffer()));
        }
        let done = this.op.poll(|data, state| {
            // SAFETY: this future just moved the I/O slot from Idle to Waiting, so it is the
            // chunk slot's only writer, and IIS reads it only from the call below on (see
            // `ChunkSlot`).
            let chunks = unsafe { &mut *state.chunks.0.get() };
            if let Err(error) = memory_chunks(data, max_len, chunks) {
                return (error.code().0, Start::Done(0, error.code().0));
            }
            let (mut sent, mut pending) = (0u32, 0);
            // SAFETY: live response; memory chunks over the buffer owned by this operation until
            // IIS completes it (kept past a drop, see `Op`), in the chunk slot, which outlives
            // the operation; at most MAX_CHUNKS of them.
            let hr = unsafe { (response.vtbl_raw().WriteEntityChunks)(response.as_raw(), chunks.as_mut_ptr(), chunks.len() as u32, 1, 1, &mut sent, &mut pending) };
            if hr >= 0 && pending != 0 { (hr, Start::Pending) } else { (hr, Start::Done(sent, hr)) }
        });
        match done {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => Poll::Ready((result.and_then(|(_, hr)| check(hr)), this.op.take_buffer())),
        }
    }
}

/// [`Response::flush_async`].
pub struct FlushBody<'a> {
    response: Response<'a>,
    op: Op,
}

impl Future for FlushBody<'_> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let response = this.response;
        let done = this.op.poll(|_, _| {
            let (mut sent, mut pending) = (0u32, 0);
            // SAFETY: live response; out pointers are ours.
            let hr = unsafe { (response.vtbl_raw().Flush)(response.as_raw(), 1, 1, &mut sent, &mut pending) };
            if hr >= 0 && pending != 0 { (hr, Start::Pending) } else { (hr, Start::Done(sent, hr)) }
        });
        done.map(|result| result.and_then(|(_, hr)| check(hr)))
    }
}

impl<'a> Request<'a> {
    /// Reads body bytes into `buffer` (its whole length; it must not be empty) without holding
    /// an IIS thread: `ReadEntityBody` with `fAsync = TRUE`, completed in `OnAsyncCompletion`.
    /// Gives `Ok(0)` at the end of the body, and the buffer back in every case.
    ///
    /// ```
    /// # async fn handler(context: &httpserv::HttpContext<'_>) -> httpserv::Result<usize> {
    /// let (read, _buffer) = context.request().read_body_async(vec![0; 65536]).await;
    /// # read }
    /// ```
    pub fn read_body_async(&self, buffer: Vec<u8>) -> ReadBody<'a> {
        ReadBody { request: *self, op: Op::new(buffer) }
    }
}

impl<'a> Response<'a> {
    /// Sends `data` as the next part of the body without holding an IIS thread:
    /// `WriteEntityChunks` with `fAsync = TRUE` (more data to follow), completed in
    /// `OnAsyncCompletion`. Gives the buffer back in every case. Data over 4 GiB (IIS's
    /// `HTTP_DATA_CHUNK` length) goes as several chunks of the one call.
    pub fn write_async(&self, data: Vec<u8>) -> WriteBody<'a> {
        self.write_async_split(data, MAX_CHUNK_LEN)
    }

    /// [`write_async`](Self::write_async) with chunks of at most `max_len` bytes (a test hook).
    pub(crate) fn write_async_split(&self, data: Vec<u8>, max_len: usize) -> WriteBody<'a> {
        WriteBody { response: *self, op: Op::new(data), max_len }
    }

    /// Sends what is buffered so far without holding an IIS thread (`Flush` with
    /// `fAsync = TRUE`).
    pub fn flush_async(&self) -> FlushBody<'a> {
        FlushBody { response: *self, op: Op::new(Vec::new()) }
    }
}

/// [`HttpContext::disconnected`]: ready once IIS reports the client gone.
pub struct Disconnected<'a> {
    context: crate::HttpContext<'a>,
}

impl Future for Disconnected<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let gone = polled().is_some_and(|state| {
            state.watch_disconnect();
            state.disconnected.load(core::sync::atomic::Ordering::Acquire)
        });
        // Before the watcher has heard anything, the connection itself may already be closed.
        if gone || self.context.connection().is_some_and(|c| !c.is_connected()) {
            Poll::Ready(())
        } else {
            // The watcher's NotifyDisconnect wakes the task.
            Poll::Pending
        }
    }
}

impl<'a> crate::HttpContext<'a> {
    /// Ready when the client disconnects (`IHttpConnectionStoredContext::NotifyDisconnect`, or
    /// `IHttpConnection::IsConnected` already false): an async handler can race its work
    /// against it to stop early. Body I/O started after the disconnect fails with
    /// `HRESULT_FROM_WIN32(ERROR_CONNECTION_ABORTED)`. Never ready outside an async handler
    /// unless the connection is already closed.
    pub fn disconnected(&self) -> Disconnected<'a> {
        Disconnected { context: *self }
    }
}

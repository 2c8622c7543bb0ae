//! The request body a service sees: a `'static + Send` handle that asks the handler for the
//! next piece. The handler (which alone may touch the IIS request) reads it with
//! `read_body_async` only when the body is polled, so at most one read buffer is held: a slow
//! service slows the reads, and nothing is read ahead.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::pin::Pin;

use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// Why the request body stopped (the IIS read failed, or the client went away).
#[derive(Debug, Clone)]
pub struct BodyError(pub httpserv::Error);

impl core::fmt::Display for BodyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "reading the request body from IIS failed: {}", self.0)
    }
}

impl std::error::Error for BodyError {}

/// What the body and the handler share.
#[derive(Default)]
pub(crate) struct Slot {
    /// The body was polled and holds nothing: the handler should read.
    pub(crate) demand: bool,
    /// A piece read and not yet taken by the body (at most one).
    pub(crate) ready: Option<Result<Bytes, BodyError>>,
    /// The end of the body was read.
    pub(crate) eof: bool,
    /// The body's task, woken when a piece arrives (the body may be polled by another task,
    /// e.g. a `tokio::spawn`ed one).
    pub(crate) body_waker: Option<Waker>,
    /// The handler's task, woken when the body asks for more.
    pub(crate) pump_waker: Option<Waker>,
}

pub(crate) type Pipe = Arc<Mutex<Slot>>;

pub(crate) fn lock(pipe: &Pipe) -> std::sync::MutexGuard<'_, Slot> {
    pipe.lock().unwrap_or_else(|p| p.into_inner())
}

/// The request body: streams from IIS's `ReadEntityBody` as it is polled.
pub struct Body {
    pipe: Option<Pipe>,
    length: Option<u64>,
}

impl Body {
    /// A body with nothing in it (a request without an entity body).
    pub fn empty() -> Self {
        Body { pipe: None, length: Some(0) }
    }

    pub(crate) fn streaming(pipe: Pipe, length: Option<u64>) -> Self {
        Body { pipe: Some(pipe), length }
    }
}

impl core::fmt::Debug for Body {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Body").field("streaming", &self.pipe.is_some()).field("length", &self.length).finish()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(pipe) = &self.pipe else { return Poll::Ready(None) };
        let mut slot = lock(pipe);
        if let Some(piece) = slot.ready.take() {
            return Poll::Ready(Some(piece.map(Frame::data)));
        }
        if slot.eof {
            return Poll::Ready(None);
        }
        slot.demand = true;
        if !slot.body_waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            slot.body_waker = Some(cx.waker().clone());
        }
        let pump = slot.pump_waker.take();
        // Woken outside the lock: the wake may poll the handler on this thread at once.
        drop(slot);
        if let Some(pump) = pump {
            if !pump.will_wake(cx.waker()) {
                pump.wake();
            }
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        match &self.pipe {
            None => true,
            Some(pipe) => {
                let slot = lock(pipe);
                slot.eof && slot.ready.is_none()
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.length {
            Some(n) if self.pipe.is_none() => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}

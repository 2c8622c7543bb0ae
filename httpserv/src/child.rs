//! Child requests: [`HttpContext::clone_context`] (`IHttpContext::CloneContext`), executed with
//! [`ClonedContext::execute`] (`IHttpContext::ExecuteRequest`, asynchronous), released with
//! `IHttpContext::ReleaseClonedContext` exactly once when the clone is dropped.
//!
//! IIS's rules (Microsoft's reference):
//! - `ExecuteRequest` is asynchronous only: "Attempting to execute a synchronous child request
//!   will return ERROR_NOT_SUPPORTED", and the child's completion arrives at the parent module's
//!   `OnAsyncCompletion`
//!   (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-executerequest-method>).
//!   So [`ClonedContext::execute`] is a future for `async fn` handlers: it occupies the task's one
//!   asynchronous operation (as body I/O does, `io.rs`) and completes when IIS completes it.
//! - The clone is released with `ReleaseClonedContext`
//!   (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-releaseclonedcontext-method>),
//!   once, and never while IIS still runs it. The execute future owns the clone: dropped while
//!   the child runs, it leaves the clone in the task's I/O slot, released when the completion
//!   arrives (a handler that finishes meanwhile keeps its notification pending until then:
//!   `Task::held`); a child started meanwhile waits for it. Otherwise the clone goes back to
//!   the caller, released when it is dropped.

use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};
use std::sync::Arc;

use httpserv_sys::*;

use crate::bridge::task::{polled, Io, Orphan, WakeState};
use crate::error::{check, invalid, Result};
use crate::{HttpContext, Request, Response};


/// What [`HttpContext::clone_context`] copies into the clone (`CLONE_FLAG_*`,
/// <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-clonecontext-method>).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CloneOptions(u32);

impl CloneOptions {
    /// Nothing copied (set the URL with the clone's [`Request::set_url`]).
    pub const fn none() -> Self {
        Self(0)
    }
    /// The URL, query string and method (`CLONE_FLAG_BASICS`).
    pub const fn basics() -> Self {
        Self(CLONE_FLAG_BASICS)
    }
    /// Also the request headers (`CLONE_FLAG_HEADERS`).
    pub const fn headers(self) -> Self {
        Self(self.0 | CLONE_FLAG_HEADERS)
    }
    /// Also the entity body (`CLONE_FLAG_ENTITY`).
    pub const fn entity(self) -> Self {
        Self(self.0 | CLONE_FLAG_ENTITY)
    }
    /// Leave out the range and `If-` headers (`CLONE_FLAG_NO_PRECONDITION`).
    pub const fn no_precondition(self) -> Self {
        Self(self.0 | CLONE_FLAG_NO_PRECONDITION)
    }
    /// Leave out the WebDAV headers (`CLONE_FLAG_NO_DAV`).
    pub const fn no_dav(self) -> Self {
        Self(self.0 | CLONE_FLAG_NO_DAV)
    }
    /// The `CLONE_FLAG_*` bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

/// How [`ClonedContext::execute`] runs the child (`EXECUTE_FLAG_*`, see the `ExecuteRequest`
/// page in the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecuteOptions(u32);

impl ExecuteOptions {
    /// Keep the child's response in the clone instead of sending it
    /// (`EXECUTE_FLAG_BUFFER_RESPONSE`): read it with the clone's [`Response::raw_response`].
    pub const fn buffer_response(self) -> Self {
        Self(self.0 | EXECUTE_FLAG_BUFFER_RESPONSE)
    }
    /// Suppress the child's response headers (`EXECUTE_FLAG_NO_HEADERS`).
    pub const fn no_headers(self) -> Self {
        Self(self.0 | EXECUTE_FLAG_NO_HEADERS)
    }
    /// Skip the current handler for the child (`EXECUTE_FLAG_IGNORE_CURRENT_INTERCEPTOR`).
    pub const fn ignore_current_interceptor(self) -> Self {
        Self(self.0 | EXECUTE_FLAG_IGNORE_CURRENT_INTERCEPTOR)
    }
    /// No custom error pages for the child (`EXECUTE_FLAG_DISABLE_CUSTOM_ERROR`).
    pub const fn disable_custom_error(self) -> Self {
        Self(self.0 | EXECUTE_FLAG_DISABLE_CUSTOM_ERROR)
    }
    /// The child is for the parent's own URL (`EXECUTE_FLAG_SAME_URL`).
    pub const fn same_url(self) -> Self {
        Self(self.0 | EXECUTE_FLAG_SAME_URL)
    }
    /// The `EXECUTE_FLAG_*` bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

/// The owned clone: `ReleaseClonedContext` when dropped, exactly once.
pub(crate) struct OwnedClone(NonNull<IHttpContext>);

// SAFETY: the handle only makes IIS calls on the clone, which IIS allows from any thread (the
// completion it is released in may run on any of IIS's threads); nothing is shared through it.
unsafe impl Send for OwnedClone {}

impl Drop for OwnedClone {
    fn drop(&mut self) {
        let raw = self.0.as_ptr();
        // SAFETY: the clone is live until this call, made once (the handle is never copied),
        // and never while IIS runs it: the execute future keeps it until the completion (see
        // the module docs).
        let _ = unsafe { ((*(*raw).lpVtbl).ReleaseClonedContext)(raw) };
    }
}

/// A clone of the request's context (`CloneContext`), for a child request; released
/// (`ReleaseClonedContext`) when dropped. Bound to the parent request's lifetime.
pub struct ClonedContext<'a> {
    owned: OwnedClone,
    parent: HttpContext<'a>,
    /// Neither `Send` nor `Sync`: used on the request's handler, as the parent context is.
    _not_sync: PhantomData<*mut ()>,
}

impl core::fmt::Debug for ClonedContext<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("ClonedContext").field(&self.owned.0).finish()
    }
}

impl<'a> HttpContext<'a> {
    /// A clone of this context for a child request (`IHttpContext::CloneContext`), copying
    /// what `options` says; run it with [`ClonedContext::execute`] inside an `async fn` handler.
    pub fn clone_context(&self, options: CloneOptions) -> Result<ClonedContext<'a>> {
        let mut clone = core::ptr::null_mut();
        // SAFETY: the context is live for 'a; `clone` is a writable out-pointer.
        check(unsafe { ((*(*self.as_raw()).lpVtbl).CloneContext)(self.as_raw(), options.bits(), &mut clone) })?;
        let Some(clone) = NonNull::new(clone) else {
            return Err(invalid("CloneContext returned no context"));
        };
        Ok(ClonedContext { owned: OwnedClone(clone), parent: *self, _not_sync: PhantomData })
    }
}

impl<'a> ClonedContext<'a> {
    /// The raw cloned `IHttpContext`.
    pub fn as_raw(&self) -> *mut IHttpContext {
        self.owned.0.as_ptr()
    }

    /// The clone's request (change its URL with [`Request::set_url`] before executing).
    pub fn request(&self) -> Request<'_> {
        // SAFETY: the clone is live while `self` is; IIS returns its request object.
        let raw = unsafe { ((*(*self.as_raw()).lpVtbl).GetRequest)(self.as_raw()) };
        // SAFETY: as above; the request lives as long as the clone, which the borrow bounds.
        unsafe { Request::from_raw(raw, self.as_raw()) }.expect("IIS returned no request for the clone")
    }

    /// The clone's response: after a buffered execution, the child's response.
    pub fn response(&self) -> Response<'_> {
        // SAFETY: as in `request`.
        let raw = unsafe { ((*(*self.as_raw()).lpVtbl).GetResponse)(self.as_raw()) };
        // SAFETY: as in `request`.
        unsafe { Response::from_raw(raw, self.as_raw()) }.expect("IIS returned no response for the clone")
    }

    /// Runs the child request (`ExecuteRequest` with `fAsync = TRUE`); gives the clone back once
    /// it completed, to read its response. Only inside an `async fn` handler; it is the task's one
    /// asynchronous operation (a second one meanwhile is refused with `ERROR_BUSY`).
    pub fn execute(self, options: ExecuteOptions) -> Execute<'a> {
        Execute { clone: Some(self), flags: options.bits(), issued: None }
    }
}

/// [`ClonedContext::execute`]: the clone after its child request completed.
pub struct Execute<'a> {
    clone: Option<ClonedContext<'a>>,
    flags: u32,
    issued: Option<Arc<WakeState>>,
}

impl<'a> Future for Execute<'a> {
    type Output = Result<ClonedContext<'a>>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(state) = &this.issued else {
            let Some(clone) = &this.clone else {
                return Poll::Ready(Err(invalid("the child request's future was polled after it completed")));
            };
            let Some(state) = polled() else {
                return Poll::Ready(Err(invalid("a child request runs only inside an async fn handler (ExecuteRequest is asynchronous only)")));
            };
            // The task's one operation: waits for an abandoned one, refuses a second.
            if let Err(busy) = core::task::ready!(state.claim_io()) {
                return Poll::Ready(Err(busy));
            }
            let parent = clone.parent.as_raw();
            let mut pending = 0;
            // SAFETY: the parent context is live for 'a and the clone while owned here; the
            // clone stays owned by this future (or the I/O slot) until IIS completes it.
            let hr = unsafe { ((*(*parent).lpVtbl).ExecuteRequest)(parent, 1, clone.as_raw(), this.flags, core::ptr::null_mut(), &mut pending) };
            if hr >= 0 && pending != 0 {
                this.issued = Some(state);
                return Poll::Pending;
            }
            state.set_io(&mut state.io.lock().unwrap_or_else(|p| p.into_inner()), Io::Idle);
            return Poll::Ready(check(hr).and_then(|()| this.clone.take().ok_or_else(|| invalid("no clone"))));
        };
        let mut io = state.io.lock().unwrap_or_else(|p| p.into_inner());
        match *io {
            Io::Done(_, hr) => {
                state.set_io(&mut io, Io::Idle);
                drop(io);
                this.issued = None;
                Poll::Ready(check(hr).and_then(|()| this.clone.take().ok_or_else(|| invalid("no clone"))))
            }
            Io::Waiting { .. } => Poll::Pending,
            Io::Idle => {
                drop(io);
                this.issued = None;
                Poll::Ready(Err(invalid("the child request was abandoned (the request ended)")))
            }
        }
    }
}

impl Drop for Execute<'_> {
    fn drop(&mut self) {
        // Dropped while the child runs: IIS still uses the clone until the completion, which
        // releases it (the I/O slot drops the orphan then).
        if let (Some(state), Some(clone)) = (&self.issued, self.clone.take()) {
            let mut io = state.io.lock().unwrap_or_else(|p| p.into_inner());
            match &mut *io {
                Io::Waiting { orphan } => *orphan = Some(Orphan::Clone(clone.owned)),
                // Completed but not taken: the clone is released below, the slot freed.
                Io::Done(..) => state.set_io(&mut io, Io::Idle),
                Io::Idle => {}
            }
        }
    }
}

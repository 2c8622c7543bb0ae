//! Child requests: `IHttpContext::CloneContext`, `ExecuteRequest` and `ReleaseClonedContext`.
//!
//! The rules simulated, from Microsoft's reference:
//! - `CloneContext` "creates a clone of the current request context"; the flags choose what is
//!   copied: `CLONE_FLAG_BASICS` the URL, query string and method, `CLONE_FLAG_HEADERS` the
//!   request headers, `CLONE_FLAG_ENTITY` the entity body, `CLONE_FLAG_NO_PRECONDITION` leaves
//!   out the range and `If-` headers, `CLONE_FLAG_NO_DAV` the DAV headers
//!   (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-clonecontext-method>).
//!   Without `CLONE_FLAG_BASICS` the clone is a `GET /` (the module sets the URL with the clone's
//!   `IHttpRequest::SetUrl`); without `CLONE_FLAG_HEADERS` it has only the `Host` header.
//! - `ExecuteRequest` must be asynchronous: "Attempting to execute a synchronous child request
//!   will return ERROR_NOT_SUPPORTED", as does executing "a child request that was not cloned
//!   by the parent request"; "Each child context can be executed only once" (a second
//!   `ExecuteRequest` gets `ERROR_INVALID_OPERATION` here: the page names no code); "The limit
//!   for recursive child requests is 10", beyond it `ERROR_STACK_OVERFLOW` (here: executing a
//!   child nested 11 deep); the child's completion reaches the parent module's
//!   `OnAsyncCompletion`
//!   (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-executerequest-method>).
//!   Here `ExecuteRequest` sets `*pfCompletionPending` and queues the child; once the parent's
//!   handler returned `RQ_NOTIFICATION_PENDING`, the child runs through the whole pipeline on
//!   the request's thread, with the module under test registered for its notifications too (as
//!   IIS runs every module on a child request; a module tells them apart by URL, or by
//!   `GetParentContext`), and then the parent's `OnAsyncCompletion` is called (S_OK, 0 bytes).
//!   With `EXECUTE_FLAG_BUFFER_RESPONSE` the child's response stays in the clone
//!   (`GetRawHttpResponse` of the clone shows its status, headers and body); without it the
//!   child's body is added to the parent's response. `pHttpUser` is not simulated (recorded,
//!   ignored). A child counts as a request in the server's counts.
//! - `ReleaseClonedContext` "releases a cloned IHttpContext instance"; releasing "a child
//!   request after releasing its parent context will return ERROR_INVALID_PARAMETER" (nested
//!   clones are released in reverse order of their creation)
//!   (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-releaseclonedcontext-method>).
//!   Called on the clone once, after its execution completed; releasing a clone that is still
//!   executing is refused (`ERROR_BUSY`: the simulator's rule, the page is silent), and a clone not released when the parent request ends
//!   makes `send` fail, as a request left pending does. A child still executing when the
//!   parent request ends (its notification did not wait) is run then, before the module is
//!   disposed, with no completion delivered (`finish_children`). A released clone's memory is freed with
//!   the parent's (the module must not use it after the release, as in IIS).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use httpserv_sys::*;
use windows_sys::core::HRESULT;
use windows_sys::Win32::Foundation::{E_INVALIDARG, S_OK};

use super::pipeline::RequestCtx;
use super::server::{with_active, Active, Registration};
use super::strings::hresult_from_win32;
use super::thunk::Pinned;
use super::TestRequest;

const ERROR_NOT_SUPPORTED: u32 = 50;
const ERROR_BUSY: u32 = 170;
const ERROR_STACK_OVERFLOW: u32 = 1001;
const ERROR_INVALID_OPERATION: u32 = 4317;
/// How deep child requests nest: "The limit for recursive child requests is 10" (the
/// ExecuteRequest page).
const MAX_CHILD_DEPTH: usize = 10;

/// A clone made by `CloneContext`, owned by its parent until `ReleaseClonedContext`.
pub(crate) struct Child {
    pub(crate) ctx: Pinned<RequestCtx>,
    /// `ExecuteRequest` was called and the child has not completed yet: its flags.
    executing: Option<u32>,
    executed: bool,
}

/// Names of the clone flags set in `flags`.
fn clone_flag_names(flags: u32) -> String {
    let names = [
        (CLONE_FLAG_BASICS, "BASICS"),
        (CLONE_FLAG_HEADERS, "HEADERS"),
        (CLONE_FLAG_ENTITY, "ENTITY"),
        (CLONE_FLAG_NO_PRECONDITION, "NO_PRECONDITION"),
        (CLONE_FLAG_NO_DAV, "NO_DAV"),
        (CLONE_FLAG_USER_CACHE_VARY_BY, "USER_CACHE_VARY_BY"),
        (CLONE_FLAG_SERVER_VARIABLE, "SERVER_VARIABLE"),
    ];
    let set: Vec<_> = names.iter().filter(|(f, _)| flags & f != 0).map(|(_, n)| *n).collect();
    if set.is_empty() { "none".to_owned() } else { set.join("|") }
}

/// A precondition header (left out with `CLONE_FLAG_NO_PRECONDITION`).
fn is_precondition(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("if-") || lower == "range" || lower == "unless-modified-since"
}

/// A WebDAV header (left out with `CLONE_FLAG_NO_DAV`).
fn is_dav(name: &str) -> bool {
    matches!(name.to_ascii_lowercase().as_str(), "depth" | "destination" | "overwrite" | "if" | "lock-token" | "timeout" | "translate")
}

impl RequestCtx {
    /// `CloneContext`: a new child request owned by this one; its `IHttpContext`.
    pub(crate) fn clone_child(&self, flags: u32) -> *mut IHttpContext {
        let request = {
            let st = self.st.borrow();
            let (method, url) = if flags & CLONE_FLAG_BASICS != 0 { (st.method.clone(), self.current_url()) } else { ("GET".to_owned(), "/".to_owned()) };
            let mut request = TestRequest::new(method, url);
            request.remote = self.remote_addr;
            request.local = self.local_addr;
            request.version = st.version;
            request.user = st.user.clone();
            request.headers = if flags & CLONE_FLAG_HEADERS != 0 {
                let dropped = |name: &str| (flags & CLONE_FLAG_NO_PRECONDITION != 0 && is_precondition(name)) || (flags & CLONE_FLAG_NO_DAV != 0 && is_dav(name));
                st.headers.0.iter().filter(|(name, _)| !dropped(name)).cloned().collect()
            } else {
                st.headers.get("Host").map(|host| vec![("Host".to_owned(), host)]).unwrap_or_default()
            };
            if flags & CLONE_FLAG_ENTITY != 0 {
                request.body = st.entity.iter().copied().collect();
            } else {
                // Only the entity's headers would be left: drop them with it.
                request.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("Content-Length") && !name.eq_ignore_ascii_case("Transfer-Encoding"));
            }
            request
        };
        let summary = format!("{} {}", request.method, request.url);
        let registration = Registration { factory: self.factory, request_mask: self.request_mask, post_mask: self.post_mask, ..Registration::default() };
        let child = RequestCtx::create(self.server(), &registration, request);
        // SAFETY: `child` is live (owned here, then by `children`).
        unsafe { &*child.as_ptr() }.parent.set(self);
        // SAFETY: as above.
        let context = unsafe { &*child.as_ptr() }.context_ptr();
        self.children.borrow_mut().push(Child { ctx: child, executing: None, executed: false });
        self.record("IHttpContext::CloneContext", format!("flags {flags:#x} ({}) -> S_OK, clone for {summary}", clone_flag_names(flags)));
        context
    }

    /// `ExecuteRequest(fAsync = TRUE)` of `clone` (checked to be one of this request's clones).
    pub(crate) fn execute_child(&self, clone: *mut IHttpContext, flags: u32, user: bool) -> (HRESULT, bool) {
        let mut children = self.children.borrow_mut();
        let Some(child) = children.iter_mut().find(|c| c.ctx_ptr_context() == clone) else {
            drop(children);
            self.record("IHttpContext::ExecuteRequest", format!("flags {flags:#x}, asynchronous -> HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED) (not cloned by this request)"));
            return (hresult_from_win32(ERROR_NOT_SUPPORTED), false);
        };
        if self.depth() + 1 > MAX_CHILD_DEPTH {
            drop(children);
            self.record("IHttpContext::ExecuteRequest", format!("flags {flags:#x}, asynchronous -> HRESULT_FROM_WIN32(ERROR_STACK_OVERFLOW) (a child {} deep; the limit is {MAX_CHILD_DEPTH})", self.depth() + 1));
            return (hresult_from_win32(ERROR_STACK_OVERFLOW), false);
        }
        if child.executing.is_some() || child.executed {
            drop(children);
            self.record("IHttpContext::ExecuteRequest", format!("flags {flags:#x}, asynchronous -> HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION) (this clone was executed already)"));
            return (hresult_from_win32(ERROR_INVALID_OPERATION), false);
        }
        child.executing = Some(flags);
        let address = child.ctx.as_ptr() as usize;
        drop(children);
        self.record(
            "IHttpContext::ExecuteRequest",
            format!("flags {flags:#x}, asynchronous{} -> S_OK, completion pending", if user { ", pHttpUser ignored (not simulated)" } else { "" }),
        );
        self.completions.push(super::pipeline::Completion::Child(address));
        (S_OK, true)
    }

    /// Runs the queued child at `address` through the pipeline (the parent's notification is
    /// pending); returns the completion status for the parent's `OnAsyncCompletion`.
    pub(crate) fn run_child(&self, address: usize) -> HRESULT {
        let found = self.children.borrow().iter().find(|c| c.ctx.as_ptr() as usize == address).map(|c| (c.ctx.as_ptr(), c.executing));
        let Some((child, Some(flags))) = found else {
            return E_INVALIDARG;
        };
        // SAFETY: the child is owned by `children` until `ReleaseClonedContext`, which refuses
        // a clone whose execution has not completed (`executing` is set until below).
        let child = unsafe { &*child };
        let url = child.current_url();
        let active = Active { server: self.server(), request: child, global: None };
        with_active(active, || {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| child.run())) {
                let _ = catch_unwind(AssertUnwindSafe(|| child.end()));
                resume_unwind(panic);
            }
        });
        let buffered = flags & EXECUTE_FLAG_BUFFER_RESPONSE != 0;
        let (status, body_len, failure) = {
            let mut st = child.st.borrow_mut();
            let failure = st.left_pending.take();
            let status = st.response.head.as_ref().map_or(st.response.status, |h| h.status);
            let body = std::mem::take(&mut st.response.sent);
            let len = body.len();
            if buffered {
                // Kept in the clone: its GetRawHttpResponse shows it.
                st.response.chunks = vec![body];
            } else {
                drop(st);
                self.st.borrow_mut().response.chunks.push(body);
            }
            (status, len, failure)
        };
        if let Some(failure) = failure {
            let mut st = self.st.borrow_mut();
            if st.left_pending.is_none() {
                st.left_pending = Some(format!("child request {url}: {failure}"));
            }
        }
        if let Some(c) = self.children.borrow_mut().iter_mut().find(|c| c.ctx.as_ptr() as usize == address) {
            c.executing = None;
            c.executed = true;
        }
        self.record(
            "IHttpContext::ExecuteRequest",
            format!("child {url} completed: status {status}, {body_len} body bytes{}", if buffered { ", buffered in the clone" } else { ", added to this response" }),
        );
        S_OK
    }

    /// `ReleaseClonedContext`, called on a clone.
    pub(crate) fn release_clone(&self) -> HRESULT {
        let parent = self.parent.get();
        if parent.is_null() {
            self.record("IHttpContext::ReleaseClonedContext", "-> E_INVALIDARG (not a cloned context)".to_owned());
            return E_INVALIDARG;
        }
        let me = self as *const RequestCtx;
        // SAFETY: a clone's parent outlives it (it owns it, or its own parent keeps it once
        // released).
        let parent = unsafe { &*parent };
        if parent.clone_released.get() {
            parent.record("IHttpContext::ReleaseClonedContext", "-> E_INVALIDARG (ERROR_INVALID_PARAMETER: the clone this one was cloned from was released first)".to_owned());
            return E_INVALIDARG;
        }
        let mut children = parent.children.borrow_mut();
        let Some(index) = children.iter().position(|c| std::ptr::eq(c.ctx.as_ptr(), me)) else {
            drop(children);
            parent.record("IHttpContext::ReleaseClonedContext", "-> E_INVALIDARG (already released)".to_owned());
            return E_INVALIDARG;
        };
        if children[index].executing.is_some() {
            drop(children);
            parent.record("IHttpContext::ReleaseClonedContext", "-> HRESULT_FROM_WIN32(ERROR_BUSY) (the clone is still executing)".to_owned());
            return hresult_from_win32(ERROR_BUSY);
        }
        let child = children.remove(index);
        drop(children);
        self.clone_released.set(true);
        let executed = child.executed;
        // Its memory is freed with the parent's (this call still runs on the clone's objects).
        parent.released.borrow_mut().push(child);
        parent.record("IHttpContext::ReleaseClonedContext", format!("-> S_OK{}", if executed { "" } else { " (never executed)" }));
        S_OK
    }

    /// The end of the request: a child still executing means the parent's notification did not
    /// wait for it (the ExecuteRequest page: the module returns `RQ_NOTIFICATION_PENDING` and
    /// gets the completion in `OnAsyncCompletion`). IIS runs the child regardless; here it runs
    /// now, with no pending notification to deliver its completion to, so that the clone can be
    /// released.
    pub(crate) fn finish_children(&self) {
        let executing: Vec<usize> = self.children.borrow().iter().filter(|c| c.executing.is_some()).map(|c| c.ctx.as_ptr() as usize).collect();
        for address in executing {
            self.record("IHttpContext::ExecuteRequest", "the parent's notification did not wait for this child (it returned without RQ_NOTIFICATION_PENDING): the child runs at the end of the request, its completion not delivered".to_owned());
            self.run_child(address);
        }
    }

    /// How many parents this request has (0 for a client's request).
    fn depth(&self) -> usize {
        let mut depth = 0;
        let mut parent = self.parent.get();
        while !parent.is_null() {
            depth += 1;
            // SAFETY: a clone's parent outlives it.
            parent = unsafe { &*parent }.parent.get();
        }
        depth
    }

    /// The clones not released (for the end of the request): their URLs.
    pub(crate) fn unreleased_clones(&self) -> Vec<String> {
        // SAFETY: each clone is live while in `children`.
        self.children.borrow().iter().map(|c| unsafe { &*c.ctx.as_ptr() }.current_url()).collect()
    }
}

impl Child {
    fn ctx_ptr_context(&self) -> *mut IHttpContext {
        // SAFETY: the clone is live while owned here.
        unsafe { &*self.ctx.as_ptr() }.context_ptr()
    }
}

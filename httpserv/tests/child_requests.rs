//! Child requests through the test server: `HttpContext::clone_context`, `ClonedContext::execute`
//! (`ExecuteRequest`, asynchronous, completing in the parent's `OnAsyncCompletion`), the clone
//! released exactly once (`ReleaseClonedContext` counted in the transcript), a dropped execute
//! future, and the refusals (outside an async handler; synchronous `ExecuteRequest`; a clone
//! never released).

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use common::register;
use httpserv::prelude::*;
use httpserv::{CloneOptions, ExecuteOptions, RawChunk};
use httpserv_testing::{TestRequest, TestServer};

/// The child's body from a buffered execution (its raw response's memory chunks).
fn child_body(child: &httpserv::ClonedContext<'_>) -> (u16, Vec<u8>) {
    let response = child.response();
    let raw = response.raw_response().expect("the clone has a response");
    let mut body = Vec::new();
    for chunk in &raw.chunks {
        if let RawChunk::Memory(bytes) = chunk {
            body.extend_from_slice(bytes);
        }
    }
    (raw.status, body)
}

/// Polls the inner future once, then drops it; gives whether it was still pending.
struct PollOnceThenDrop<F>(Option<F>);

impl<F: Future + Unpin> Future for PollOnceThenDrop<F> {
    type Output = bool;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let mut inner = self.0.take().expect("polled once");
        let pending = Pin::new(&mut inner).poll(cx).is_pending();
        drop(inner);
        Poll::Ready(pending)
    }
}

#[derive(Default)]
struct Includer;

#[http_module]
impl HttpModule for Includer {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult {
        let path = context.request().path_str().unwrap_or_default().to_owned();
        let response = context.response();
        match path.as_str() {
            // The child: the module under test gets the child's notifications too.
            "/fragment" => {
                let who = context.request().header_str("X-Who").unwrap_or("nobody").to_owned();
                let precondition = context.request().header_str("If-None-Match").is_some();
                let root = context.as_raw() != unsafe_free_root(context);
                response.set_header("X-Child", "yes")?;
                response.write(format!("fragment for {who}, precondition {precondition}, child {root}").as_bytes())?;
            }
            "/page" | "/bare" | "/noprecondition" => {
                let options = match path.as_str() {
                    "/page" => CloneOptions::basics().headers(),
                    "/noprecondition" => CloneOptions::basics().headers().no_precondition(),
                    _ => CloneOptions::basics(),
                };
                let child = context.clone_context(options)?;
                child.request().set_url("/fragment")?;
                let child = child.execute(ExecuteOptions::default().buffer_response()).await?;
                let (status, body) = child_body(&child);
                let header = child.response().raw_response().and_then(|r| r.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(b"X-Child")).map(|(_, v)| v.to_vec()));
                drop(child);
                response.write(format!("page [{status} {} {:?}]", String::from_utf8_lossy(&body), header.map(String::from_utf8)).as_bytes())?;
            }
            "/unbuffered" => {
                let child = context.clone_context(CloneOptions::basics().headers())?;
                child.request().set_url("/fragment")?;
                let child = child.execute(ExecuteOptions::default()).await?;
                let (_, kept) = child_body(&child);
                response.write(format!(" | after, kept {} bytes", kept.len()).as_bytes())?;
            }
            "/twice" => {
                let child = context.clone_context(CloneOptions::basics())?;
                child.request().set_url("/fragment")?;
                let first = child.execute(ExecuteOptions::default().buffer_response()).await?;
                let again = first.execute(ExecuteOptions::default().buffer_response()).await;
                response.write(format!("again: {}", again.map(|_| ()).map_err(|e| e.code().0 as u32).err().map_or("ok".to_owned(), |c| format!("{c:#x}"))).as_bytes())?;
            }
            "/drop" => {
                let child = context.clone_context(CloneOptions::basics())?;
                child.request().set_url("/fragment")?;
                let pending = PollOnceThenDrop(Some(child.execute(ExecuteOptions::default().buffer_response()))).await;
                // The dropped child still occupies the task's one asynchronous operation: the
                // second waits for it to complete, then runs.
                let second = context.clone_context(CloneOptions::basics())?;
                second.request().set_url("/fragment")?;
                let busy = second.execute(ExecuteOptions::default().buffer_response()).await.err().map(|e| e.code().0 as u32);
                response.write(format!("dropped while pending {pending}, second {busy:#x?}").as_bytes())?;
            }
            // The child of /dav: what it got of the parent's headers and body.
            "/echo" => {
                let mut body = vec![0; 64];
                let n = context.request().read_body(&mut body)?;
                let depth = context.request().header_str("Depth").is_some();
                response.write(format!("{} {:?} depth {depth}", String::from_utf8_lossy(context.request().method()), String::from_utf8_lossy(&body[..n])).as_bytes())?;
            }
            "/dav" => {
                let child = context.clone_context(CloneOptions::basics().headers().entity().no_dav())?;
                child.request().set_url("/echo")?;
                let child = child.execute(ExecuteOptions::default().buffer_response()).await?;
                let (_, body) = child_body(&child);
                response.write(&body)?;
            }
            _ => response.write(b"plain")?,
        }
        Ok(NotificationStatus::FinishRequest)
    }
}

/// `GetRootContext`, through the raw vtable only where the safe API has no accessor.
fn unsafe_free_root(context: &HttpContext<'_>) -> *mut httpserv_sys::IHttpContext {
    let raw = context.as_raw();
    // SAFETY: the context is live during the handler; GetRootContext takes no arguments.
    unsafe { ((*(*raw).lpVtbl).GetRootContext)(raw) }
}

#[test]
fn a_buffered_child_request_answers_the_parent() {
    let server = TestServer::new(register::<Includer>).unwrap();
    let response = server.send(TestRequest::get("/page").header("X-Who", "alice").header("If-None-Match", "\"x\""));
    let t = response.transcript();
    assert_eq!(response.status, 200, "{t}");
    assert_eq!(response.body_str(), "page [200 fragment for alice, precondition true, child true Some(Ok(\"yes\"))]", "{t}");
    assert_eq!(response.called("IHttpContext::CloneContext"), 1, "{t}");
    assert_eq!(response.called("IHttpContext::ReleaseClonedContext"), 1, "{t}");
    // The child completed through the parent's OnAsyncCompletion.
    assert!(response.called("CHttpModule::OnAsyncCompletion") >= 1, "{t}");
    assert!(t.contains("child /fragment completed: status 200"), "{t}");
    // The child's response was buffered, not sent: no X-Child on the parent's response.
    assert!(response.header("X-Child").is_none());
    server.shutdown();
}

#[test]
fn clone_flags_choose_what_the_child_gets() {
    let server = TestServer::new(register::<Includer>).unwrap();
    let bare = server.send(TestRequest::get("/bare").header("X-Who", "alice"));
    assert_eq!(bare.body_str(), "page [200 fragment for nobody, precondition false, child true Some(Ok(\"yes\"))]", "{}", bare.transcript());
    let no_pre = server.send(TestRequest::get("/noprecondition").header("X-Who", "bob").header("If-None-Match", "\"x\""));
    assert_eq!(no_pre.body_str(), "page [200 fragment for bob, precondition false, child true Some(Ok(\"yes\"))]", "{}", no_pre.transcript());
    assert!(no_pre.transcript().contains("flags 0xb (BASICS|HEADERS|NO_PRECONDITION)"), "{}", no_pre.transcript());
    server.shutdown();
}

#[test]
fn the_entity_is_cloned_and_dav_headers_left_out() {
    let server = TestServer::new(register::<Includer>).unwrap();
    let response = server.send(TestRequest::new("POST", "/dav").header("Depth", "1").body("payload"));
    assert_eq!(response.body_str(), "POST \"payload\" depth false", "{}", response.transcript());
    server.shutdown();
}

#[test]
fn an_unbuffered_child_writes_into_the_parents_response() {
    let server = TestServer::new(register::<Includer>).unwrap();
    let response = server.send(TestRequest::get("/unbuffered").header("X-Who", "carol"));
    assert_eq!(response.body_str(), "fragment for carol, precondition false, child true | after, kept 0 bytes", "{}", response.transcript());
    assert_eq!(response.called("IHttpContext::ReleaseClonedContext"), 1);
    server.shutdown();
}

#[test]
fn a_clone_executes_once() {
    let server = TestServer::new(register::<Includer>).unwrap();
    let response = server.send(TestRequest::get("/twice"));
    // HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION)
    assert_eq!(response.body_str(), "again: 0x800710dd", "{}", response.transcript());
    assert_eq!(response.called("IHttpContext::ExecuteRequest"), 3, "{}", response.transcript());
    assert_eq!(response.called("IHttpContext::ReleaseClonedContext"), 1);
    server.shutdown();
}

#[test]
fn a_dropped_execute_future_keeps_the_clone_until_the_child_completed() {
    let server = TestServer::new(register::<Includer>).unwrap();
    let response = server.send(TestRequest::get("/drop"));
    let t = response.transcript();
    // The second child waited for the dropped first one (IIS allows one asynchronous operation
    // in flight), then ran.
    assert_eq!(response.body_str(), "dropped while pending true, second None", "{t}");
    assert_eq!(response.called("IHttpContext::CloneContext"), 2, "{t}");
    assert_eq!(response.calls_to("IHttpContext::ExecuteRequest").filter(|c| c.detail.contains("asynchronous")).count(), 2, "{t}");
    assert_eq!(response.called("IHttpContext::ReleaseClonedContext"), 2, "{t}");
    // The in-flight clone is released only once IIS is done with it (its completion), before
    // the second child is executed; never refused as busy.
    let completed = t.find("child /fragment completed").expect("first child completed");
    let first_release = t.find("IHttpContext::ReleaseClonedContext").unwrap();
    let second_execute = t.rfind("IHttpContext::ExecuteRequest: flags").unwrap();
    assert!(completed < first_release && first_release < second_execute, "{t}");
    assert!(!t.contains("ERROR_BUSY) (the clone is still executing)"), "{t}");
    server.shutdown();
}

#[derive(Default)]
struct SyncCaller;

#[http_module]
impl HttpModule for SyncCaller {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        let child = context.clone_context(CloneOptions::basics())?;
        // Polled outside an async handler: refused before ExecuteRequest, the clone released.
        let outside = poll_now(child.execute(ExecuteOptions::default()));
        // ExecuteRequest with fAsync = FALSE, raw: IIS refuses it.
        let other = context.clone_context(CloneOptions::basics())?;
        let raw = context.as_raw();
        let mut pending = 1;
        // SAFETY: live parent context and clone; `pending` is writable.
        let hr = unsafe { ((*(*raw).lpVtbl).ExecuteRequest)(raw, 0, other.as_raw(), 0, std::ptr::null_mut(), &mut pending) };
        drop(other);
        context.response().write(format!("{outside}; sync {:#x} pending {pending}", hr as u32).as_bytes())?;
        Ok(NotificationStatus::FinishRequest)
    }
}

/// Polls `future` once with a no-op waker.
fn poll_now<'a, F: Future<Output = httpserv::Result<httpserv::ClonedContext<'a>>> + Unpin>(future: F) -> String {
    let mut future = future;
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match Pin::new(&mut future).poll(&mut cx) {
        Poll::Ready(Err(e)) => format!("refused: {e}"),
        Poll::Ready(Ok(_)) => "ran".to_owned(),
        Poll::Pending => "pending".to_owned(),
    }
}

#[test]
fn execution_is_asynchronous_only() {
    let server = TestServer::new(register::<SyncCaller>).unwrap();
    let response = server.send(TestRequest::get("/"));
    let t = response.transcript();
    // E_INVALIDARG, before any ExecuteRequest call.
    assert!(response.body_str().starts_with("refused: 0x80070057"), "{t}");
    // HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED)
    assert!(response.body_str().ends_with("sync 0x80070032 pending 0"), "{t}");
    assert_eq!(response.called("IHttpContext::ExecuteRequest"), 1, "{t}");
    assert_eq!(response.called("IHttpContext::ReleaseClonedContext"), 2, "{t}");
    server.shutdown();
}

#[derive(Default)]
struct Leaker;

#[http_module]
impl HttpModule for Leaker {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        std::mem::forget(context.clone_context(CloneOptions::basics())?);
        Ok(NotificationStatus::Continue)
    }
}

#[test]
fn a_clone_never_released_fails_the_request() {
    let server = TestServer::new(register::<Leaker>).unwrap();
    let failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.send(TestRequest::get("/leak")))).expect_err("send reports it");
    let message = failure.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("never released with ReleaseClonedContext: /leak"), "{message}");
    server.shutdown();
}

/// Includes itself: `/nest/N` executes `/nest/N+1` as a buffered child and answers
/// `N>` followed by the child's body, or by the refusal once the nesting is too deep.
#[derive(Default)]
struct Nester;

#[http_module]
impl HttpModule for Nester {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult {
        let depth: u32 = context.request().path_str().and_then(|p| p.strip_prefix("/nest/")).and_then(|n| n.parse().ok()).unwrap_or(0);
        let child = context.clone_context(CloneOptions::basics())?;
        child.request().set_url(&format!("/nest/{}", depth + 1))?;
        let inner = match child.execute(ExecuteOptions::default().buffer_response()).await {
            Ok(child) => String::from_utf8_lossy(&child_body(&child).1).into_owned(),
            Err(error) => format!("refused {:#x}", error.code().0 as u32),
        };
        context.response().write(format!("{depth}>{inner}").as_bytes())?;
        Ok(NotificationStatus::FinishRequest)
    }
}

#[test]
fn child_requests_nest_ten_deep_and_no_deeper() {
    let server = TestServer::new(register::<Nester>).unwrap();
    let response = server.send(TestRequest::get("/nest/0"));
    // The request at depth 10 may not execute an eleventh: HRESULT_FROM_WIN32(ERROR_STACK_OVERFLOW).
    assert_eq!(response.body_str(), "0>1>2>3>4>5>6>7>8>9>10>refused 0x800703e9", "{}", response.transcript());
    let report = server.shutdown();
    // Every level's module object (the client's request and ten children) was disposed of.
    assert_eq!((report.modules_created, report.modules_disposed), (11, 11));
}

#[derive(Default)]
struct RawRules;

#[http_module]
impl HttpModule for RawRules {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        let raw = context.as_raw();
        let mut pending = 1;
        let (mut clone, mut nested) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: the live context; the out-pointers are writable; each clone is released once
        // (the nested one's refused release leaves it to the request's end, as in IIS).
        let (not_cloned, first, second) = unsafe {
            let vtbl = &*(*raw).lpVtbl;
            let not_cloned = (vtbl.ExecuteRequest)(raw, 1, raw, 0, std::ptr::null_mut(), &mut pending);
            assert_eq!((vtbl.CloneContext)(raw, httpserv_sys::CLONE_FLAG_BASICS, &mut clone), 0);
            assert_eq!(((*(*clone).lpVtbl).CloneContext)(clone, httpserv_sys::CLONE_FLAG_BASICS, &mut nested), 0);
            // Out of order: the clone before the clone made from it.
            let first = ((*(*clone).lpVtbl).ReleaseClonedContext)(clone);
            let second = ((*(*nested).lpVtbl).ReleaseClonedContext)(nested);
            (not_cloned, first, second)
        };
        context.response().write(format!("not cloned {:#x} pending {pending}; release {:#x} then nested {:#x}", not_cloned as u32, first as u32, second as u32).as_bytes())?;
        Ok(NotificationStatus::FinishRequest)
    }
}

#[test]
fn execute_takes_only_this_requests_clones_and_nested_clones_are_released_first() {
    let server = TestServer::new(register::<RawRules>).unwrap();
    let response = server.send(TestRequest::get("/"));
    // ERROR_NOT_SUPPORTED for a context this request did not clone; ERROR_INVALID_PARAMETER
    // (E_INVALIDARG) for a clone whose parent clone was released before it.
    assert_eq!(response.body_str(), "not cloned 0x80070032 pending 0; release 0x0 then nested 0x80070057", "{}", response.transcript());
    server.shutdown();
}

//! Soundness of the asynchronous parts (bridge/task.rs, io.rs): sequences of safe calls that
//! once let IIS's completion of one operation be taken for another's, so that a buffer went back
//! to safe code (or was freed) while IIS still wrote into it. In the simulator the bytes of an
//! asynchronous read are copied during the call and the completion carries their count, so a
//! completion taken for the wrong operation shows as the wrong count: the wrong content.

mod common;

use std::future::Future;
use std::task::Poll;

use common::register;
use httpserv::prelude::*;
use httpserv_testing::{Notification, TestRequest, TestServer};

/// Polls a body read once (IIS now owns its buffer and will complete it), then drops it.
async fn start_and_drop_a_read(context: &HttpContext<'_>, len: usize) {
    let mut read = Box::pin(context.request().read_body_async(vec![0; len]));
    std::future::poll_fn(|cx| {
        let _ = read.as_mut().poll(cx);
        Poll::Ready(())
    })
    .await;
}

/// Reads the rest of the body with `read_body_async` and answers with it.
async fn echo_the_rest(context: &HttpContext<'_>) -> NotificationStatus {
    let mut body = Vec::new();
    let mut buffer = vec![0; 64];
    loop {
        let (read, back) = context.request().read_body_async(buffer).await;
        buffer = back;
        match read {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&buffer[..n]),
            Err(e) => {
                body.extend_from_slice(format!("[error {:?}]", e.code()).as_bytes());
                break;
            }
        }
    }
    context.response().write(&body).unwrap();
    NotificationStatus::FinishRequest
}

/// An earlier handler's future finishes while its read is still in flight; a later handler of
/// the same module object (same request) reads the body.
#[derive(Default)]
struct OrphanAcrossHandlers;

#[http_module]
impl HttpModule for OrphanAcrossHandlers {
    async fn on_begin_request(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        start_and_drop_a_read(context, 3).await;
        NotificationStatus::Continue
    }

    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        echo_the_rest(context).await
    }
}

/// Before the fix the later handler's task had a fresh I/O slot: its read was issued while the
/// first was still in flight (IIS allows one), and the first read's completion was taken for
/// it: the read came back with 3 bytes ("lo ") while IIS had more to write into its buffer;
/// in IIS, where the write is asynchronous, the buffer went back to safe code (or was freed)
/// with IIS still writing into it. Now the request's abandoned operation stays the one in
/// flight until IIS completes it, and the next read waits for that.
#[test]
fn an_abandoned_read_of_a_finished_handler_is_not_taken_for_the_next_handlers_read() {
    let server = TestServer::new(register::<OrphanAcrossHandlers>).unwrap();
    let response = server.send(TestRequest::post("/", "hello world"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "lo world", "{}", response.transcript());
    server.shutdown();
}

/// A read dropped in flight inside one handler: once IIS completes it, the handler's next read
/// goes ahead (before, the completed orphan stayed in the slot as `Done`, and every later
/// operation of the request failed with ERROR_BUSY).
#[derive(Default)]
struct OrphanThenRead;

#[http_module]
impl HttpModule for OrphanThenRead {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        start_and_drop_a_read(context, 3).await;
        echo_the_rest(context).await
    }
}

#[test]
fn a_read_after_an_abandoned_one_waits_for_it_and_then_reads() {
    let server = TestServer::new(register::<OrphanThenRead>).unwrap();
    let response = server.send(TestRequest::post("/", "hello world"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "lo world", "{}", response.transcript());
    server.shutdown();
}

/// Three handlers of one request each abandon a read: the second's must not replace the
/// first's (whose buffer IIS still owns) in the task slot.
#[derive(Default)]
struct OrphanEveryHandler;

#[http_module]
impl HttpModule for OrphanEveryHandler {
    async fn on_begin_request(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        start_and_drop_a_read(context, 2).await;
        NotificationStatus::Continue
    }

    async fn on_authenticate_request(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        start_and_drop_a_read(context, 2).await;
        NotificationStatus::Continue
    }

    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        echo_the_rest(context).await
    }
}

#[test]
fn abandoned_reads_of_several_handlers_stay_in_order() {
    let server = TestServer::new(register::<OrphanEveryHandler>).unwrap();
    let response = server.send(TestRequest::post("/", "hello world"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    // Each handler's notification stayed pending until IIS completed its abandoned read: the
    // first took "he", the second "ll", and the third reads the rest. (Before: "o " — the
    // first completion was taken for the third handler's read.)
    assert_eq!(response.body_str(), "o world", "{}", response.transcript());
    for n in [Notification::BeginRequest, Notification::AuthenticateRequest, Notification::ExecuteRequestHandler] {
        assert_eq!(response.called_during("IHttpCompletionInfo::Completed", n), 1, "{n:?}: {}", response.transcript());
    }
    server.shutdown();
}

std::thread_local! {
    static READ_LATER: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// A handler abandons a read and then panics (its task is dropped with the read in flight); a
/// later notification of the request reads the body.
#[derive(Default)]
struct OrphanThenPanic;

#[http_module]
impl HttpModule for OrphanThenPanic {
    async fn on_begin_request(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        start_and_drop_a_read(context, 3).await;
        panic!("after abandoning a read");
    }

    async fn on_end_request(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let mut body = Vec::new();
        let mut buffer = vec![0; 64];
        loop {
            let (read, back) = context.request().read_body_async(buffer).await;
            buffer = back;
            match read {
                Ok(0) => break,
                Ok(n) => body.extend_from_slice(&buffer[..n]),
                Err(e) => {
                    body.extend_from_slice(format!("[error {:?}]", e.code()).as_bytes());
                    break;
                }
            }
        }
        READ_LATER.with(|r| *r.borrow_mut() = Some(String::from_utf8_lossy(&body).into_owned()));
        NotificationStatus::Continue
    }
}

/// Before the fix the later handler's fresh task issued a second read while the panicked
/// task's was in flight and took that one's completion (3 bytes) for its own: "lo ".
#[test]
fn an_abandoned_read_of_a_panicked_handler_is_not_taken_for_a_later_read() {
    let server = TestServer::new(register::<OrphanThenPanic>).unwrap();
    let response = server.send(TestRequest::post("/", "hello world"));
    assert_eq!(response.status, 500, "{}", response.transcript());
    assert_eq!(READ_LATER.with(|r| r.borrow_mut().take()).as_deref(), Some("lo world"), "{}", response.transcript());
    server.shutdown();
}

/// Ready on its second poll (without waking anyone: the read's completion polls again).
struct SecondPoll(bool);

impl Future for SecondPoll {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        Poll::Pending
    }
}

/// A read whose completion arrived but whose future a race dropped before it looked (the
/// other branch, polled first, was ready on the same poll): the request's next read goes ahead.
#[derive(Default)]
struct CompletedButDropped;

#[http_module]
impl HttpModule for CompletedButDropped {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        {
            let mut first = Box::pin(SecondPoll(false));
            let mut read = Box::pin(context.request().read_body_async(vec![0; 3]));
            std::future::poll_fn(|cx| {
                if first.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                read.as_mut().poll(cx).map(|_| ())
            })
            .await;
        }
        echo_the_rest(context).await
    }
}

/// Before the fix the completed result stayed in the task's I/O slot, and every later
/// operation of the request was refused with ERROR_BUSY.
#[test]
fn a_completed_read_dropped_before_it_was_taken_frees_the_slot() {
    let server = TestServer::new(register::<CompletedButDropped>).unwrap();
    let response = server.send(TestRequest::post("/", "hello world"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "lo world", "{}", response.transcript());
    server.shutdown();
}

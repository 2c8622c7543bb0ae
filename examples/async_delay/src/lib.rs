//! An `async fn` handler: in `RQ_EXECUTE_REQUEST_HANDLER` it waits `?ms=N` milliseconds
//! (default 10, at most 10,000; anything else is a `400`) on a timer that fires on another
//! thread, then answers `200` with `Content-Type: text/plain` and `waited N ms`.
//!
//! While it waits, no IIS thread is held: the handler returns `RQ_NOTIFICATION_PENDING`; the
//! timer thread's wake calls `IHttpContext::PostCompletion`; IIS calls `OnAsyncCompletion` on one
//! of its threads, which polls the future again (see `httpserv::bridge::task`). No runtime is
//! needed: [`Timer`] is a plain thread and a waker.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use httpserv::prelude::*;

/// The longest wait a request may ask for.
pub const MAX_MS: u64 = 10_000;
/// The wait when the request names none.
pub const DEFAULT_MS: u64 = 10;

#[http_module(name = "AsyncDelay")]
#[derive(Default)]
pub struct AsyncDelay;

#[http_module]
impl HttpModule for AsyncDelay {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult {
        // The HTTP Server API's query string keeps its leading `?`.
        let query = context.request().query().map(|q| q.to_string_lossy()).unwrap_or_default();
        match parse_ms(query.trim_start_matches('?')) {
            Ok(ms) => {
                Timer::after(Duration::from_millis(ms)).await;
                answer(context, 200, "OK", &format!("waited {ms} ms"))?;
            }
            Err(why) => answer(context, 400, "Bad Request", &why)?,
        }
        Ok(NotificationStatus::FinishRequest)
    }
}

/// `ms=N` from the query string: `DEFAULT_MS` when absent; an error text otherwise.
pub fn parse_ms(query: &str) -> Result<u64, String> {
    let mut ms = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("ms", value)) if ms.is_none() => ms = Some(value),
            Some(("ms", _)) => return Err("ms given twice".to_owned()),
            _ => {}
        }
    }
    let Some(value) = ms else { return Ok(DEFAULT_MS) };
    match value.parse::<u64>() {
        Ok(n) if n <= MAX_MS => Ok(n),
        Ok(n) => Err(format!("ms={n} is over {MAX_MS}")),
        Err(_) => Err(format!("ms={value:?} is not a number of milliseconds")),
    }
}

fn answer(context: &HttpContext<'_>, code: u16, reason: &str, body: &str) -> httpserv::Result<()> {
    let response = context.response();
    response.set_status(code, reason)?;
    response.set_header("Content-Type", "text/plain")?;
    response.write(body.as_bytes())
}

/// A one-shot timer: a thread that sleeps, then wakes the future's waker.
pub struct Timer {
    after: Duration,
    shared: Option<Arc<Mutex<Shared>>>,
}

#[derive(Default)]
struct Shared {
    fired: bool,
    waker: Option<Waker>,
}

impl Timer {
    /// Ready `after` from its first poll.
    pub fn after(after: Duration) -> Self {
        Timer { after, shared: None }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(shared) = &self.shared {
            let mut shared = shared.lock().unwrap_or_else(|p| p.into_inner());
            if shared.fired {
                return Poll::Ready(());
            }
            shared.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let shared = Arc::new(Mutex::new(Shared { fired: false, waker: Some(cx.waker().clone()) }));
        self.shared = Some(shared.clone());
        let after = self.after;
        std::thread::spawn(move || {
            std::thread::sleep(after);
            let waker = {
                let mut shared = shared.lock().unwrap_or_else(|p| p.into_inner());
                shared.fired = true;
                shared.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        Poll::Pending
    }
}

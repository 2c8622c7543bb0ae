//! An `async fn` module whose handler suspends the request once and resumes it: the suspended
//! round trip (handler → `RQ_NOTIFICATION_PENDING` → `PostCompletion` → `OnAsyncCompletion` →
//! `RQ_NOTIFICATION_CONTINUE`) with nothing else in it, for the benchmark against the same round
//! trip written by hand in C++ (simulator/modules/async_yield_cpp.cpp; `scripts/bench.sh
//! sim-async`).
//!
//! `httpserv::yield_now().await` gives the IIS thread back: the notification returns PENDING
//! after posting a completion, and IIS polls the handler again in `OnAsyncCompletion` on one of
//! its threads. A handler doing long work in pieces can yield between them so other requests get
//! the thread; here it only yields.

use httpserv::prelude::*;

/// The module: one per request, no state.
#[http_module(name = "AsyncYield")]
#[derive(Default)]
pub struct AsyncYield;

#[http_module]
impl HttpModule for AsyncYield {
    async fn on_execute_request_handler(&mut self, _context: &HttpContext<'_>) -> NotificationStatus {
        httpserv::yield_now().await;
        NotificationStatus::Continue
    }
}

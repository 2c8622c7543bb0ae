//! tokio inside an async handler (feature `tokio`).
//!
//! An async handler runs with IIS as its executor; tokio's timers, I/O and `tokio::spawn` need a
//! tokio runtime's context instead. The module owns a runtime (typically in its `state`), and
//! [`in_runtime`] polls a future with that runtime entered, so `tokio::time::sleep`,
//! `tokio::sync` channels and `tokio::spawn` work inside it, while the handler itself still
//! suspends and resumes through IIS (the runtime's threads wake it, which posts the completion).
//!
//! ```ignore
//! async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
//!     let state = Self::state();
//!     httpserv::tokio::in_runtime(state.runtime.handle(), async {
//!         tokio::time::sleep(Duration::from_millis(5)).await;
//!     })
//!     .await;
//!     NotificationStatus::Continue
//! }
//! ```

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// [`in_runtime`]'s future.
pub struct InRuntime<'h, F> {
    handle: &'h tokio::runtime::Handle,
    future: F,
}

/// Polls `future` with the runtime of `handle` entered (`Handle::enter`) on every poll.
pub fn in_runtime<F: Future>(handle: &tokio::runtime::Handle, future: F) -> InRuntime<'_, F> {
    InRuntime { handle, future }
}

impl<F: Future> Future for InRuntime<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `InRuntime` has no Drop of its own.
        let this = unsafe { self.get_unchecked_mut() };
        let _entered = this.handle.enter();
        // SAFETY: as above.
        unsafe { Pin::new_unchecked(&mut this.future) }.poll(cx)
    }
}

//! An async handler that uses tokio: the module's state owns a tokio runtime (one worker
//! thread, created by `RegisterModule`); `RQ_EXECUTE_REQUEST_HANDLER` spawns a task on it that
//! sleeps on tokio's timer and answers through a oneshot channel, and the handler awaits the
//! answer inside `httpserv::tokio::in_runtime`. The request is suspended meanwhile
//! (`RQ_NOTIFICATION_PENDING`); the runtime's thread wakes it.

use std::time::Duration;

use httpserv::prelude::*;

/// The module's state: its tokio runtime.
pub struct Runtime {
    runtime: tokio::runtime::Runtime,
}

impl Default for Runtime {
    fn default() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tokio-timer-module")
            .enable_time()
            .build()
            .expect("a tokio runtime for the module");
        Runtime { runtime }
    }
}

#[http_module(name = "TokioTimer", state = Runtime)]
#[derive(Default)]
pub struct TokioTimer;

#[http_module]
impl HttpModule for TokioTimer {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult {
        let state = Self::state();
        let answer = httpserv::tokio::in_runtime(state.runtime.handle(), async {
            let (tx, rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(15)).await;
                let _ = tx.send(std::thread::current().name().unwrap_or("?").to_owned());
            });
            rx.await.unwrap_or_else(|_| "the task was dropped".to_owned())
        })
        .await;
        let response = context.response();
        response.set_header("Content-Type", "text/plain")?;
        response.write(format!("answered by {answer}").as_bytes())?;
        Ok(NotificationStatus::FinishRequest)
    }
}

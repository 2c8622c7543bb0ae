//! Streams the request body back: in `RQ_EXECUTE_REQUEST_HANDLER`, an `async fn` reads the body
//! with asynchronous `ReadEntityBody` calls into one 64 KiB buffer and writes each piece back with
//! an asynchronous `WriteEntityChunks`, so at most [`CHUNK`] bytes of the body are held at a time
//! and no IIS thread waits on a slow client. The response is unbuffered, so each piece reaches
//! the client as soon as it is read.

use httpserv::prelude::*;

/// The most bytes held (and read or written per call).
pub const CHUNK: usize = 64 * 1024;

#[http_module(name = "AsyncEcho")]
#[derive(Default)]
pub struct AsyncEcho;

#[http_module]
impl HttpModule for AsyncEcho {
    // An `Err` is a 500 with its HRESULT (unless the headers already went out) and a trace entry.
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult {
        echo(context).await?;
        Ok(NotificationStatus::FinishRequest)
    }
}

async fn echo(context: &HttpContext<'_>) -> httpserv::Result<u64> {
    let (request, response) = (context.request(), context.response());
    response.set_header("Content-Type", "application/octet-stream")?;
    response.disable_buffering();
    let mut buffer = vec![0; CHUNK];
    let mut total = 0;
    loop {
        let (read, mut full) = request.read_body_async(buffer).await;
        let n = read?;
        if n == 0 {
            return Ok(total);
        }
        full.truncate(n);
        let (written, mut back) = response.write_async(full).await;
        written?;
        total += n as u64;
        back.resize(CHUNK, 0);
        buffer = back;
    }
}

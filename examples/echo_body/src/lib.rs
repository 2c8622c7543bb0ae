//! Sends the request's entity body back as the response body, with the request's
//! `Content-Type`. The body is read synchronously with [`Request::read_body`] through a fixed
//! buffer on the stack and appended to the (buffered) response chunk by chunk, so the module
//! never holds the whole body itself. Bodies over [`MAX_BODY`] get `413 Payload Too Large`.

use httpserv::prelude::*;

/// The largest body echoed: 1 MiB.
pub const MAX_BODY: usize = 1024 * 1024;

/// The size of the stack buffer the body is read through.
const CHUNK: usize = 16 * 1024;

#[http_module(name = "EchoBody")]
#[derive(Default)]
pub struct EchoBody;

#[http_module]
impl HttpModule for EchoBody {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        echo(context)?;
        Ok(NotificationStatus::FinishRequest)
    }
}

fn echo(context: &HttpContext<'_>) -> httpserv::Result<()> {
    let request = context.request();
    let response = context.response();
    response.clear();

    // Refuse early when the client announced a body too large (Content-Length), before reading.
    if request.remaining_body_bytes() as usize > MAX_BODY {
        return too_large(context);
    }

    let content_type = request
        .header("Content-Type")
        .and_then(|value| core::str::from_utf8(value).ok())
        .filter(|value| !value.is_empty())
        .unwrap_or("application/octet-stream");
    response.set_status(200, "OK")?;
    response.set_header("Content-Type", content_type)?;

    let mut buffer = [0u8; CHUNK];
    let mut total = 0usize;
    loop {
        let read = request.read_body(&mut buffer)?;
        if read == 0 {
            break;
        }
        total += read;
        // A chunked body announces no length: count as it comes.
        if total > MAX_BODY {
            return too_large(context);
        }
        response.write(&buffer[..read])?;
    }
    Ok(())
}

fn too_large(context: &HttpContext<'_>) -> httpserv::Result<()> {
    let response = context.response();
    // Drop whatever was echoed already (the response is still buffered).
    response.clear();
    response.set_status(413, "Payload Too Large")?;
    response.set_header("Content-Type", "text/plain")?;
    response.write(format!("request body larger than {MAX_BODY} bytes\n").as_bytes())?;
    // The rest of the body is not read: do not keep the connection for the next request.
    response.set_need_disconnect();
    Ok(())
}

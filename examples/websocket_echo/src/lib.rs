//! A WebSocket echo server: in `RQ_EXECUTE_REQUEST_HANDLER`, an `async fn` accepts the upgrade
//! (status 101, flushed, then IIS's `IWebSocketContext` from the named context container, as the
//! ASP.NET Core Module does it), then sends every text or binary message back as it came, until
//! the client closes (its close status is echoed, 1000 when it gave none) or goes away. A request
//! that is not a WebSocket upgrade IIS accepts gets `400`.
//!
//! Needs IIS's WebSocket Protocol feature (`<webSocket enabled="true" />`), IIS 8 or later.

use httpserv::prelude::*;
use httpserv::Message;

/// The largest message echoed; a larger one closes the socket with 1009 (message too big).
pub const MAX_MESSAGE: usize = 1 << 20;

#[http_module(name = "WebSocketEcho")]
#[derive(Default)]
pub struct WebSocketEcho;

#[http_module]
impl HttpModule for WebSocketEcho {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        if !context.is_websocket_request() {
            let response = context.response();
            response.clear();
            let _ = response.set_status(400, "Bad Request");
            let _ = response.set_header("Content-Type", "text/plain");
            let _ = response.write(b"expected a WebSocket upgrade (Upgrade: websocket)");
            return NotificationStatus::FinishRequest;
        }
        let _ = echo(context).await;
        NotificationStatus::FinishRequest
    }
}

async fn echo(context: &HttpContext<'_>) -> httpserv::Result<()> {
    let socket = context.accept_websocket().await?;
    loop {
        let message = match socket.read_message(MAX_MESSAGE).await {
            Ok(message) => message,
            Err(error) if error.code() == httpserv::E_INVALIDARG => {
                socket.close(1009, "message too big").await?;
                return Err(error);
            }
            // The client went away (or the read was cancelled): nothing more to send.
            Err(error) => return Err(error),
        };
        match message {
            Message::Text(text) => socket.send_text(&text).await?,
            Message::Binary(data) => socket.send_binary(&data).await?,
            Message::Close(status) => {
                let (code, reason) = status.unwrap_or((1000, String::new()));
                return socket.close(code, &reason).await;
            }
        }
    }
}

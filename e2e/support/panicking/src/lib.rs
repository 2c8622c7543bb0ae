//! A test module that panics on purpose (tests/e2e_panics.rs): `/panic` panics with a message in
//! `RQ_EXECUTE_REQUEST_HANDLER` after buffering part of a response, `/panic-any` with a
//! non-string payload, `/send-panic` in `RQ_SEND_RESPONSE`, `/error` returns an `Err` (a std
//! error through `?`); anything else gets `200 ok`. Through the DLL door this proves the panic is
//! caught inside the DLL (on i686: DWARF unwinding, whose tables `rsbegin.o` registers) and
//! becomes a 500, that a handler's `Err` becomes a 500 with its HRESULT there too, and that the
//! process goes on.

use httpserv::prelude::*;

#[http_module(name = "Panicking")]
#[derive(Default)]
pub struct Panicking;

#[http_module]
impl HttpModule for Panicking {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        let path = context.request().path().map(|p| p.to_string_lossy()).unwrap_or_default();
        let response = context.response();
        let _ = response.set_header("X-Partial", "1");
        let _ = response.write(b"half a page");
        match path.as_str() {
            "/panic" => panic!("boom in {path}"),
            "/panic-any" => std::panic::panic_any(42_u32),
            "/error" => {
                let _: u32 = "12x".parse()?;
            }
            _ => {
                response.clear();
                response.set_status(200, "OK")?;
                response.write(b"ok")?;
            }
        }
        Ok(NotificationStatus::FinishRequest)
    }

    fn on_send_response(&mut self, context: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> NotificationStatus {
        let path = context.request().path().map(|p| p.to_string_lossy()).unwrap_or_default();
        if path == "/send-panic" {
            panic!("boom in OnSendResponse");
        }
        NotificationStatus::Continue
    }
}

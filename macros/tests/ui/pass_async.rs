use httpserv::prelude::*;

#[http_module(name = "Async")]
#[derive(Default)]
struct Async {
    seen: usize,
}

#[http_module]
impl HttpModule for Async {
    /// Docs stay on the trait method.
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        self.seen += 1;
        let _ = context.response().write(b"later");
        NotificationStatus::FinishRequest
    }

    fn on_send_response(&mut self, _: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {
    use httpserv::__private::Handlers;
    use httpserv::sys::*;
    assert_eq!(<Async as Handlers>::REQUEST, RQ_EXECUTE_REQUEST_HANDLER | RQ_SEND_RESPONSE);
}

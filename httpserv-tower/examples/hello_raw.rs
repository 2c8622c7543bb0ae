//! Hello world written by hand: the same response as hello_axum.rs from a plain
//! `#[http_module]` handler (see common.rs).

mod common;

use httpserv::prelude::*;

#[global_allocator]
static ALLOC: common::Counting = common::Counting;

#[http_module]
#[derive(Default)]
pub struct HelloRaw;

#[http_module]
impl HttpModule for HelloRaw {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let response = context.response();
        let _ = response.set_status(200, "OK");
        let _ = response.set_header("content-type", "text/plain; charset=utf-8");
        let _ = response.write(b"Hello, world!");
        NotificationStatus::FinishRequest
    }
}

fn main() {
    common::run("hand-written #[http_module]", RegisterModule);
}

use httpserv::prelude::*;

#[derive(Default)]
struct Module;

#[http_module]
impl HttpModule for Module {
    async fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {}

use httpserv::prelude::*;

#[http_module(priority(on_post_begin_request = High))]
#[derive(Default)]
pub struct Module;

#[http_module]
impl HttpModule for Module {
    fn on_post_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {}

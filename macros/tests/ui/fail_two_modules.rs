use httpserv::prelude::*;

#[http_module(name = "First")]
#[derive(Default)]
pub struct First;

#[http_module]
impl HttpModule for First {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

#[http_module(name = "Second")]
#[derive(Default)]
pub struct Second;

#[http_module]
impl HttpModule for Second {
    fn on_end_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {}

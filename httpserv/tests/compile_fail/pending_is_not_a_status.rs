use httpserv::prelude::*;

#[derive(Default)]
struct Hangs;

impl HttpModule for Hangs {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Pending
    }
}

fn main() {}

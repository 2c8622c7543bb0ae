use httpserv::prelude::*;

#[http_module]
pub struct Module {
    count: u32,
}

#[http_module]
impl HttpModule for Module {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        self.count += 1;
        NotificationStatus::Continue
    }
}

fn main() {}

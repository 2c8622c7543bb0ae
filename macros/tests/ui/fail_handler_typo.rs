use httpserv::prelude::*;

#[http_module]
#[derive(Default)]
pub struct Module;

#[http_module]
impl HttpModule for Module {
    fn on_begin_reqest(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {}

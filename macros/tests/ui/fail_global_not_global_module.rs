use httpserv::prelude::*;

#[derive(Default)]
pub struct NotAGlobalModule;

#[http_module(global = NotAGlobalModule)]
#[derive(Default)]
pub struct Module;

#[http_module]
impl HttpModule for Module {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {}

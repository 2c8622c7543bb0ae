use httpserv::prelude::*;
use httpserv::ApplicationProvider;

#[derive(Default)]
pub struct Global;

#[http_module]
impl GlobalModule for Global {
    fn on_global_application_start(&self, _: &ApplicationProvider<'_>) -> GlobalNotificationStatus {
        GlobalNotificationStatus::Continue
    }
}

#[http_module(global = Global, global_priority(on_global_application_stop = High))]
#[derive(Default)]
pub struct Module;

#[http_module]
impl HttpModule for Module {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {}

use httpserv::prelude::*;
use httpserv::ApplicationProvider;

#[http_module(global = Global)]
#[derive(Default)]
pub struct Module;

#[http_module]
impl HttpModule for Module {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

#[derive(Default)]
pub struct Global;

#[http_module]
impl GlobalModule for Global {
    fn on_application_start(&self, _: &ApplicationProvider<'_>) -> GlobalNotificationStatus {
        GlobalNotificationStatus::Continue
    }
}

fn main() {}

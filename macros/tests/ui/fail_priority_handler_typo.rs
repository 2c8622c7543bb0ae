use httpserv::prelude::*;

#[http_module(priority(on_send_respnse = Low))]
#[derive(Default)]
pub struct Module;

#[http_module]
impl HttpModule for Module {
    fn on_send_response(&mut self, _: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {}

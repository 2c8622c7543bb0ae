use httpserv::prelude::*;

#[http_module(name = "Module")]
#[derive(Default)]
pub struct Module;

// Forgot `#[http_module]` here: the masks are never derived.
impl HttpModule for Module {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {}

use std::rc::Rc;

use httpserv::prelude::*;

#[http_module]
#[derive(Default)]
pub struct Module {
    shared: Rc<()>,
}

#[http_module]
impl HttpModule for Module {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let _ = &self.shared;
        NotificationStatus::Continue
    }
}

fn main() {}

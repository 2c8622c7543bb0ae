use httpserv::prelude::*;

#[http_module]
#[derive(Default)]
pub struct Module;

#[http_module]
impl HttpModule for Module {
    fn on_begin_request(&mut self) -> HandlerResult {
        Ok(NotificationStatus::Continue)
    }
}

fn main() {}

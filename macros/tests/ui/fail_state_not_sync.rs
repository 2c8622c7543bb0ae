use std::cell::Cell;

use httpserv::prelude::*;

#[derive(Default)]
pub struct Counters {
    seen: Cell<u64>,
}

#[http_module(state = Counters)]
#[derive(Default)]
pub struct Module;

#[http_module]
impl HttpModule for Module {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let seen = &Module::state().seen;
        seen.set(seen.get() + 1);
        NotificationStatus::Continue
    }
}

fn main() {}

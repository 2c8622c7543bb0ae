use std::sync::OnceLock;

use httpserv::prelude::*;

static KEPT: OnceLock<Server<'static>> = OnceLock::new();

#[derive(Default)]
struct Keeper;

impl HttpModule for Keeper {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let _ = KEPT.set(context.server().unwrap());
        NotificationStatus::Continue
    }
}

fn main() {}

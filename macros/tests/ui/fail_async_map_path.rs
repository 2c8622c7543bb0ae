use httpserv::prelude::*;

#[derive(Default)]
struct Module;

#[http_module]
impl HttpModule for Module {
    async fn on_map_path(&mut self, _: &HttpContext<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {}

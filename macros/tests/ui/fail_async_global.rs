use httpserv::prelude::*;

#[derive(Default)]
struct Global;

#[http_module]
impl GlobalModule for Global {
    async fn on_global_pre_begin_request(&self, _: &httpserv::PreBeginRequestProvider<'_>) -> GlobalNotificationStatus {
        GlobalNotificationStatus::Continue
    }
}

fn main() {}

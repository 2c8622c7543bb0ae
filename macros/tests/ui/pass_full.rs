use std::sync::atomic::{AtomicU64, Ordering};

use httpserv::prelude::*;
use httpserv::{ApplicationProvider, PreBeginRequestProvider};

#[derive(Default)]
pub struct Counters {
    requests: AtomicU64,
}

#[http_module(name = "Full Module-1.0_x", priority = First, global = Global, global_priority = Last, state = Counters)]
#[derive(Default)]
pub struct Full {
    seen: u32,
}

#[http_module]
impl HttpModule for Full {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        self.seen += 1;
        Full::state().requests.fetch_add(1, Ordering::Relaxed);
        NotificationStatus::Continue
    }

    fn on_post_end_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }

    fn on_send_response(&mut self, _: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }

    // Not a notification of its own: contributes nothing to the masks.
    fn on_async_completion(
        &mut self,
        _: &HttpContext<'_>,
        _: u32,
        _: bool,
        _: &EventProvider<'_>,
        _: &httpserv::CompletionInfo<'_>,
    ) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

#[derive(Default)]
pub struct Global {
    started: AtomicU64,
}

#[http_module]
impl GlobalModule for Global {
    fn on_global_application_start(&self, _: &ApplicationProvider<'_>) -> GlobalNotificationStatus {
        self.started.fetch_add(1, Ordering::Relaxed);
        GlobalNotificationStatus::Continue
    }

    fn on_global_pre_begin_request(&self, _: &PreBeginRequestProvider<'_>) -> GlobalNotificationStatus {
        GlobalNotificationStatus::Continue
    }

    fn on_global_health_check(&self) -> GlobalNotificationStatus {
        GlobalNotificationStatus::Continue
    }
}

fn main() {
    use httpserv::__private::{GlobalHandlers, Handlers};
    use httpserv::sys::*;
    assert_eq!(Full::MODULE_NAME, "Full Module-1.0_x");
    assert_eq!(<Full as Handlers>::REQUEST, RQ_BEGIN_REQUEST | RQ_SEND_RESPONSE);
    assert_eq!(<Full as Handlers>::POST_REQUEST, RQ_END_REQUEST);
    assert_eq!(<Global as GlobalHandlers>::GLOBAL, GL_APPLICATION_START | GL_PRE_BEGIN_REQUEST | GL_HEALTH_CHECK);
    // The state belongs to a registration: outside a handler there is none.
    assert!(Full::try_state().is_none());
}

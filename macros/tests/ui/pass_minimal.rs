use httpserv::prelude::*;

#[http_module]
#[derive(Default)]
pub struct Minimal;

#[http_module]
impl HttpModule for Minimal {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

fn main() {
    assert_eq!(Minimal::MODULE_NAME, "Minimal");
    assert_eq!(<Minimal as httpserv::__private::Handlers>::REQUEST, httpserv::sys::RQ_BEGIN_REQUEST);
    assert_eq!(<Minimal as httpserv::__private::Handlers>::POST_REQUEST, 0);
    let _: unsafe extern "system" fn(u32, *mut _, *mut _) -> _ = RegisterModule;
}

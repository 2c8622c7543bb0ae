use httpserv::prelude::*;

#[http_module]
#[derive(Default)]
pub struct Module<T> {
    value: T,
}

#[http_module]
impl<T: Send + 'static> HttpModule for Module<T> {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let _ = &self.value;
        NotificationStatus::Continue
    }
}

fn main() {}

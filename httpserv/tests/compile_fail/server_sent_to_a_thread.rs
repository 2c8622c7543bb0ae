use httpserv::prelude::*;

#[derive(Default)]
struct Sender;

impl HttpModule for Sender {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let server = context.server().unwrap();
        std::thread::spawn(move || server.is_command_line_launch());
        NotificationStatus::Continue
    }
}

fn main() {}

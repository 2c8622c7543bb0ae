use httpserv::prelude::*;

#[http_module]
#[derive(Default)]
pub struct Module;

#[http_module]
impl HttpModule for Module {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> u32 {
        200
    }
}

fn main() {}

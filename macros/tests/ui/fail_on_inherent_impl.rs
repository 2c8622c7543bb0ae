use httpserv::http_module;

#[derive(Default)]
pub struct Module;

#[http_module]
impl Module {
    fn on_begin_request(&mut self) {}
}

fn main() {}

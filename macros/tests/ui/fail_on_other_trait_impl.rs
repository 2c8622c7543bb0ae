use httpserv::http_module;

pub struct Module;

#[http_module]
impl Default for Module {
    fn default() -> Self {
        Module
    }
}

fn main() {}

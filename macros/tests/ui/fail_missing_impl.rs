use httpserv::http_module;

#[http_module(name = "Module")]
#[derive(Default)]
pub struct Module;

fn main() {}

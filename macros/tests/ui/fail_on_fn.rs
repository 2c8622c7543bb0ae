use httpserv::http_module;

#[http_module]
fn handler() {}

fn main() {}

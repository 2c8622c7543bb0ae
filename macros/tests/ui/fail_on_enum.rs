use httpserv::http_module;

#[http_module]
#[derive(Default)]
pub enum Module {
    #[default]
    A,
}

fn main() {}

use httpserv::__private::Registrar;
use httpserv::Server;

fn escape(registrar: &Registrar) -> Server<'static> {
    registrar.server()
}

fn main() {}

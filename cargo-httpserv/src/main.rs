//! The `cargo-httpserv` executable; cargo runs it for `cargo httpserv ...`.

fn main() {
    std::process::exit(cargo_httpserv::cli::main());
}

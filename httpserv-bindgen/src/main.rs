//! `cargo run -p httpserv-bindgen [HEADER] [OUT]`: regenerates httpserv-sys/src/bindings.rs.
//! Without arguments the header is found as `httpserv_bindgen::find_header` says.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let sys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../httpserv-sys");
    let mut args = std::env::args_os().skip(1);
    let header = args.next().map(PathBuf::from).unwrap_or_else(|| httpserv_bindgen::find_header(&sys.join("include/httpserv.h")));
    let out = args.next().map(PathBuf::from).unwrap_or_else(|| sys.join("src/bindings.rs"));
    match httpserv_bindgen::generate(&header) {
        Ok(text) => {
            if let Err(e) = std::fs::write(&out, text) {
                eprintln!("error: {}: {e}", out.display());
                return ExitCode::FAILURE;
            }
            eprintln!("{} -> {}", header.display(), out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

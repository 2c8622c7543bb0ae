//! `cargo run -p httpserv-bindgen [HEADER [BINDINGS_OUT [SHIMS_OUT]]]`: regenerates
//! httpserv-sys/src/bindings.rs and simulator/shims/shims.generated.cpp (the C++ front door).
//! Without arguments the header is found as `httpserv_bindgen::find_header` says.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sys = root.join("httpserv-sys");
    let mut args = std::env::args_os().skip(1);
    let header = args.next().map(PathBuf::from).unwrap_or_else(|| httpserv_bindgen::find_header(&sys.join("include/httpserv.h")));
    let bindings_out = args.next().map(PathBuf::from).unwrap_or_else(|| sys.join("src/bindings.rs"));
    let shims_out = args.next().map(PathBuf::from).unwrap_or_else(|| root.join("simulator/shims/shims.generated.cpp"));
    match httpserv_bindgen::generate_all(&header) {
        Ok((bindings, shims)) => {
            for (out, text) in [(&bindings_out, bindings), (&shims_out, shims)] {
                if let Err(e) = std::fs::write(out, text) {
                    eprintln!("error: {}: {e}", out.display());
                    return ExitCode::FAILURE;
                }
                eprintln!("{} -> {}", header.display(), out.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

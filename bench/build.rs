//! Makes a linkable copy of examples/cancel_io_raw/src/lib.rs: the raw-ABI baseline module.
//!
//! cancel-io and cancel-io-raw both export `#[no_mangle] RegisterModule`, so their rlibs cannot
//! be linked into one test binary. The allocation test needs both in one process, so this copies
//! the raw module's source unchanged except for what `include!` cannot take or what would clash:
//! the `#[unsafe(no_mangle)]` attribute (its `RegisterModule` becomes an ordinary Rust function),
//! the crate-level `//!` docs and `#![...]` attributes (re-applied on the `mod` in lib.rs).
use std::path::Path;

fn main() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cancel_io_raw/src/lib.rs");
    println!("cargo:rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(&source).expect("read examples/cancel_io_raw/src/lib.rs");
    let mut out = String::new();
    let mut stripped_no_mangle = 0;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//!") || trimmed.starts_with("#![") {
            continue;
        }
        if trimmed == "#[unsafe(no_mangle)]" || trimmed == "#[no_mangle]" {
            stripped_no_mangle += 1;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert_eq!(stripped_no_mangle, 1, "expected exactly one #[no_mangle] (RegisterModule) in cancel_io_raw");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("cancel_io_raw.rs");
    std::fs::write(dest, out).expect("write the copy");
}

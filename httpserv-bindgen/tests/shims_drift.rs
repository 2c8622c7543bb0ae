//! The committed `simulator/shims/shims.generated.cpp` is exactly what the generator makes from
//! the bundled header (its own test binary: libclang is opened once per process).

use std::path::Path;

#[test]
fn committed_shims_are_generated_from_the_bundled_header() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let header = root.join("httpserv-sys/include/httpserv.h");
    let committed_path = root.join("simulator/shims/shims.generated.cpp");
    let generated = httpserv_bindgen::generate_shims(&header).unwrap_or_else(|e| panic!("generating from {}: {e}", header.display()));
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_else(|e| panic!("{}: {e}", committed_path.display()));
    if generated == committed {
        return;
    }
    let line = generated.lines().zip(committed.lines()).position(|(g, c)| g != c).unwrap_or(generated.lines().count().min(committed.lines().count()));
    panic!(
        "{} is out of date with {} (first difference at line {}: committed {:?}, generated {:?}). \
         Run `cargo run -p httpserv-bindgen` and commit the result.",
        committed_path.display(),
        header.display(),
        line + 1,
        committed.lines().nth(line).unwrap_or("<end of file>"),
        generated.lines().nth(line).unwrap_or("<end of file>"),
    );
}

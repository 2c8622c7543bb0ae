//! The committed `httpserv-sys/src/bindings.rs` is exactly what the generator makes from the
//! bundled header. One test only: libclang (`clang::Clang::new`) can be opened once per process.

use std::path::Path;

#[test]
fn committed_bindings_are_generated_from_the_bundled_header() {
    let sys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../httpserv-sys");
    let sys = sys.canonicalize().unwrap_or(sys);
    // The bundled header itself, not `find_header` ($HTTPSERV_H or an installed Windows SDK).
    let header = sys.join("include/httpserv.h");
    let committed_path = sys.join("src/bindings.rs");
    let generated = httpserv_bindgen::generate(&header).unwrap_or_else(|e| panic!("generating from {}: {e}", header.display()));
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_else(|e| panic!("{}: {e}", committed_path.display()));
    if generated == committed {
        return;
    }
    let (generated_lines, committed_lines): (Vec<&str>, Vec<&str>) = (generated.lines().collect(), committed.lines().collect());
    let first = generated_lines.iter().zip(&committed_lines).position(|(g, c)| g != c).unwrap_or(generated_lines.len().min(committed_lines.len()));
    let mut report = String::new();
    for line in first..(first + 8) {
        let (c, g) = (committed_lines.get(line), generated_lines.get(line));
        if c.is_none() && g.is_none() {
            break;
        }
        if c != g {
            report.push_str(&format!("line {}:\n  committed: {}\n  generated: {}\n", line + 1, c.unwrap_or(&"<end of file>"), g.unwrap_or(&"<end of file>")));
        }
    }
    if report.is_empty() {
        report = "the files differ only in line endings or a trailing newline\n".into();
    }
    panic!(
        "{} is out of date with {} ({} committed lines, {} generated). First differences:\n{report}\
         Run `cargo run -p httpserv-bindgen` and commit the result.",
        committed_path.display(),
        header.display(),
        committed_lines.len(),
        generated_lines.len()
    );
}

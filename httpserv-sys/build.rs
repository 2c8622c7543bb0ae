//! With the `regenerate` feature, generates the bindings into OUT_DIR from a header found by
//! `httpserv_bindgen::find_header`; otherwise the committed src/bindings.rs is used as is.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(httpserv_regenerated)");
    println!("cargo:include={}/include", env!("CARGO_MANIFEST_DIR"));
    #[cfg(feature = "regenerate")]
    regenerate();
}

#[cfg(feature = "regenerate")]
fn regenerate() {
    use std::path::PathBuf;
    println!("cargo:rerun-if-env-changed={}", httpserv_bindgen::HEADER_ENV);
    println!("cargo:rerun-if-env-changed=HTTPSERV_SYSROOT_INCLUDE");
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include/httpserv.h");
    let header = httpserv_bindgen::find_header(&bundled);
    println!("cargo:rerun-if-changed={}", header.display());
    let text = httpserv_bindgen::generate(&header).unwrap_or_else(|e| panic!("regenerating bindings: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("bindings.rs");
    std::fs::write(&out, text).unwrap();
    println!("cargo:rustc-cfg=httpserv_regenerated");
}

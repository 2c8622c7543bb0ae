//! Builds the IIS simulator (simulator/src/*.cpp) into the `iis-simulator` binary when the
//! target is Windows. The C++ must have the MSVC C++ ABI, as IIS does: on Windows with MSVC
//! that is `cl.exe` (cc's default); when cross-building from Linux for *-windows-gnu it is
//! clang with an `*-pc-windows-msvc` target against mingw-w64's headers. Host builds compile
//! nothing: the simulator only runs on Windows (or Wine).

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=simulator/src");
    println!("cargo:rerun-if-changed=httpserv-sys/include/httpserv.h");
    println!("cargo:rustc-check-cfg=cfg(iis_simulator)");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let mut build = cc::Build::new();
    build.cpp(true).include("httpserv-sys/include");
    for entry in std::fs::read_dir("simulator/src").expect("simulator/src") {
        let path = entry.unwrap().path();
        // exe_main.cpp is the entry point of the standalone build; here Rust's main is.
        if path.extension().is_some_and(|e| e == "cpp") && path.file_name() != Some("exe_main.cpp".as_ref()) {
            build.file(path);
        }
    }
    let target = std::env::var("TARGET").unwrap();
    if target.ends_with("-windows-gnu") {
        let arch = target.split('-').next().unwrap();
        let include = std::env::var("HTTPSERV_SYSROOT_INCLUDE").unwrap_or_else(|_| "/usr/share/mingw-w64/include".into());
        build
            .compiler("clang++")
            .no_default_flags(true)
            .flag(format!("--target={arch}-pc-windows-msvc"))
            .flag("-fgnuc-version=4.2.1")
            .flag("-fno-exceptions")
            .flag("-fno-rtti")
            .flag("-O2")
            .flag("-std=c++17")
            .flag("-Wno-unused-parameter")
            .flag("-Wno-overloaded-virtual")
            .flag(format!("-isystem{include}"));
        if arch == "i686" {
            build.define("_X86_", None);
        }
        // cc would pass the archive to the mingw linker; the objects are plain COFF.
        assert!(Path::new(&include).join("windows.h").exists(), "mingw-w64 headers not found at {include}: run scripts/install-toolchain.sh");
    }
    // Linked by src/bin/iis-simulator.rs's #[link] (cc's default would bundle the archive into
    // the library crate, which the binary does not use).
    build.cargo_metadata(false).compile("iis_simulator");
    println!("cargo:rustc-link-search=native={}", std::env::var("OUT_DIR").unwrap());
    println!("cargo:rustc-link-lib=shell32");
    println!("cargo:rustc-cfg=iis_simulator");
}

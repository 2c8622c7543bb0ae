//! Compiles the generated C++ shims (shims/shims.generated.cpp) and their runtime into the
//! `httpserv-simulator` binary when the target is Windows. The C++ must have the MSVC C++ ABI,
//! as IIS does: `cl.exe` on Windows with MSVC (cc's default), or clang with an
//! `*-pc-windows-msvc` target against mingw-w64's headers when cross-building for
//! `*-windows-gnu` from Linux. Host builds compile nothing: the binary is then a stub.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=shims");
    println!("cargo:rerun-if-changed=../httpserv-sys/include/httpserv.h");
    println!("cargo:rustc-check-cfg=cfg(httpserv_shims)");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let mut build = cc::Build::new();
    build.cpp(true).include("../httpserv-sys/include").include("shims").file("shims/shims.generated.cpp").file("shims/shim_runtime.cpp");
    let target = std::env::var("TARGET").unwrap();
    if target.ends_with("-windows-gnu") {
        let arch = target.split('-').next().unwrap();
        let include = std::env::var("HTTPSERV_SYSROOT_INCLUDE").unwrap_or_else(|_| "/usr/share/mingw-w64/include".into());
        assert!(Path::new(&include).join("windows.h").exists(), "mingw-w64 headers not found at {include}: run scripts/install-toolchain.sh");
        build
            .compiler("clang++")
            .no_default_flags(true)
            .flag(format!("--target={arch}-pc-windows-msvc"))
            .flag("-fgnuc-version=4.2.1")
            .flag("-fno-exceptions")
            .flag("-fno-rtti")
            .flag("-O2")
            .flag("-std=c++17")
            .flag("-Wno-overloaded-virtual")
            .flag(format!("-isystem{include}"));
        if arch == "i686" {
            build.define("_X86_", None);
        }
    }
    build.cargo_metadata(false).compile("httpserv_shims");
    println!("cargo:rustc-link-search=native={}", std::env::var("OUT_DIR").unwrap());
    println!("cargo:rustc-cfg=httpserv_shims");
}

//! The generated shims and their runtime compile with clang for both MSVC targets against
//! mingw-w64's headers, as build.rs compiles them (x86: every member function `__thiscall`).
//! The x86_64 object is linked and run by tests/dll.rs; the i686 one is only compiled here until
//! 32-bit Wine runs.

use std::path::Path;
use std::process::Command;

fn compile(target: &str, source: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("httpserv-shims-{}-{target}-{}.obj", std::process::id(), source.replace('/', "_")));
    let include = std::env::var("HTTPSERV_SYSROOT_INCLUDE").unwrap_or_else(|_| "/usr/share/mingw-w64/include".into());
    let mut command = Command::new("clang++");
    command
        .arg(format!("--target={target}"))
        .args(["-fgnuc-version=4.2.1", "-fno-exceptions", "-fno-rtti", "-O1", "-std=c++17", "-Wall", "-Werror", "-Wno-overloaded-virtual"])
        .arg(format!("-isystem{include}"))
        .arg("-I")
        .arg(dir.join("../httpserv-sys/include"))
        .arg("-I")
        .arg(dir.join("shims"))
        .arg("-c")
        .arg(dir.join(source))
        .arg("-o")
        .arg(&out);
    if target.starts_with("i686") {
        command.arg("-D_X86_");
    }
    let output = command.output().expect("clang++: run scripts/install-toolchain.sh");
    let _ = std::fs::remove_file(&out);
    assert!(output.status.success(), "clang++ --target={target} {source} failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn shims_compile_for_i686_msvc() {
    compile("i686-pc-windows-msvc", "shims/shims.generated.cpp");
    compile("i686-pc-windows-msvc", "shims/shim_runtime.cpp");
}

#[test]
fn shims_compile_for_x86_64_msvc() {
    compile("x86_64-pc-windows-msvc", "shims/shims.generated.cpp");
    compile("x86_64-pc-windows-msvc", "shims/shim_runtime.cpp");
}

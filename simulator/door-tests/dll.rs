//! Module DLLs (the Rust seed `cancel_io` and the C++ `cancel_io_cpp`) through the DLL front
//! door under Wine: the exe runs the Rust core, and every call between the DLL and the core goes
//! through the generated C++ shims. `scripts/build-windows.sh` builds the exe and the DLLs into
//! target/e2e once per test run.
//!
//! The output format is that of door/standin.rs (the stand-in `serve`); the assertions look only
//! for method names, which the real JSON-lines `serve` of branch `door` carries too.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// Builds the exe and the DLLs once; every test needs them.
fn e2e_dir() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let output = Command::new(root().join("scripts/build-windows.sh"))
            .env_remove("RUSTC")
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .map_err(|e| format!("scripts/build-windows.sh: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "scripts/build-windows.sh failed:\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(root().join("target/e2e"))
    });
    built.clone().unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `httpserv-simulator.exe <dll>` under Wine with `input` on stdin: (exit code, stdout).
fn door(dll: &str, input: &str) -> (i32, String) {
    let dir = e2e_dir();
    let mut child = Command::new("wine")
        .current_dir(&dir)
        .env("WINEPREFIX", root().join("target/wineprefix"))
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .arg("httpserv-simulator.exe")
        .arg(dll)
        .args(["--name", "CancelIoModule"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wine: run scripts/install-toolchain.sh");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).replace('\r', "");
    println!("{text}{}", String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

/// Asserts that lines containing each of `steps` appear in this order.
fn assert_sequence(text: &str, steps: &[&str]) {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    for step in steps {
        match lines[from..].iter().position(|l| l.contains(step)) {
            Some(at) => from += at + 1,
            None => panic!("output lacks `{step}` after line {from}:\n{text}"),
        }
    }
}

fn cancels_io_through_the_shims(dll: &str) {
    let (code, text) = door(dll, "GET /index.html\n");
    assert_eq!(code, 0, "{text}");
    assert_sequence(
        &text,
        &[
            "status 200",
            "IHttpModuleFactory::GetHttpModule",
            "[SendResponse] CHttpModule::OnSendResponse",
            "[SendResponse] IHttpContext::CancelIo: -> S_OK",
            "CHttpModule::Dispose",
            "shutdown",
            "IHttpModuleFactory::Terminate",
            "modules created 1 disposed 1",
        ],
    );
}

#[test]
fn rust_module_dll_cancels_io() {
    cancels_io_through_the_shims("cancel_io.dll");
}

#[test]
fn cpp_module_dll_cancels_io() {
    cancels_io_through_the_shims("cancel_io_cpp.dll");
}

/// Shims of per-request core objects are found again by (core pointer, type), and the module's
/// per-request objects' proxies end with Dispose: the live count does not grow with requests.
#[test]
fn shims_stay_bounded_across_requests() {
    let input: String = (0..100).map(|i| format!("GET /r{i}\n")).collect();
    let (code, text) = door("cancel_io.dll", &input);
    assert_eq!(code, 0, "{text}");
    let counts: Vec<usize> = text.lines().filter_map(|l| l.strip_prefix("shims ")).map(|n| n.parse().unwrap()).collect();
    assert_eq!(counts.len(), 101, "{text}");
    assert!(counts[..100].iter().all(|&n| n == counts[0]), "live shims after each request: {counts:?}");
    assert!(counts[100] < counts[0], "the factory's proxy ends with Terminate: {counts:?}");
}

#[test]
fn missing_dll_is_named_with_its_error() {
    let dir = e2e_dir();
    let output = Command::new("wine")
        .current_dir(&dir)
        .env("WINEPREFIX", root().join("target/wineprefix"))
        .env("WINEDEBUG", "-all")
        .arg("httpserv-simulator.exe")
        .arg("no_such_module.dll")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot load no_such_module.dll") && stderr.contains("error 126") && stderr.contains("bcryptprimitives.dll"), "{stderr}");
}

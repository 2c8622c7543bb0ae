//! Module DLLs (the Rust seed `cancel_io` and the C++ `cancel_io_cpp`) through the DLL front
//! door under Wine, with `TestServer::dll`: the exe runs the Rust core, and every call between
//! the DLL and the core goes through the generated C++ shims. `scripts/build-windows.sh` builds
//! the exe and the DLLs into target/e2e once per test run. (The comparison with the in-process
//! door, for every example, is the root package's tests/e2e_*.rs.)

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use httpserv_testing::{door, Notification, TestRequest, TestServer};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// Builds the exe and the DLLs once; every test needs them. Also points Wine at the repo's
/// prefix (scripts/env.sh's) unless the environment chose one.
fn e2e_dir() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let output = Command::new(root().join("scripts/build-windows.sh"))
            .arg("x64")
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
        if std::env::var_os("WINEPREFIX").is_none() {
            std::env::set_var("WINEPREFIX", root().join("target/wineprefix"));
        }
        Ok(root().join("target/e2e"))
    });
    built.clone().unwrap_or_else(|e| panic!("{e}"))
}

fn dll_server(dll: &Path) -> Result<TestServer, httpserv_testing::RegistrationError> {
    TestServer::dll_builder(dll).name("CancelIoModule").simulator(e2e_dir().join("httpserv-simulator.exe")).start()
}

fn cancels_io_through_the_shims(dll: &str) {
    let server = dll_server(&e2e_dir().join(dll)).unwrap();
    assert_eq!(server.module_name(), "CancelIoModule");
    assert_eq!(server.request_notifications(), httpserv_sys::RQ_SEND_RESPONSE);
    let response = server.send(TestRequest::get("/index.html"));
    assert_eq!(response.status, 200);
    assert_eq!(response.called_during("IHttpContext::CancelIo", Notification::SendResponse), 1, "{}", response.transcript());
    assert_eq!(response.called("IHttpModuleFactory::GetHttpModule"), 1);
    assert_eq!(response.called("CHttpModule::Dispose"), 1);
    let report = server.shutdown();
    assert_eq!((report.modules_created, report.modules_disposed), (1, 1));
    assert!(report.factory_terminated);
    assert_eq!(report.called("IHttpModuleFactory::Terminate"), 1);
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
/// per-request objects' proxies end with Dispose: the live count settles and does not grow with
/// requests.
#[test]
fn shims_stay_bounded_across_requests() {
    let dir = e2e_dir();
    let mut child = Command::new("wine")
        .arg(dir.join("httpserv-simulator.exe"))
        .arg(dir.join("cancel_io.dll"))
        .arg("--report-shims")
        .env("WINEDEBUG", "-all")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wine: run scripts/install-toolchain.sh");
    // Read the replies while writing the commands: the pipes are small.
    let stdout = child.stdout.take().unwrap();
    let replies = std::thread::spawn(move || {
        BufReader::new(stdout).lines().map(|l| serde_json::from_str::<door::Reply>(&l.unwrap()).unwrap()).collect::<Vec<_>>()
    });
    let stderr = child.stderr.take().unwrap();
    let counts = std::thread::spawn(move || {
        BufReader::new(stderr).lines().map_while(Result::ok).filter_map(|l| l.trim().strip_prefix("shims ").map(|n| n.parse::<usize>().unwrap())).collect::<Vec<_>>()
    });
    let mut input = child.stdin.take().unwrap();
    for i in 0..100 {
        let command = door::Command::Send { request: TestRequest::get(format!("/r{i}")) };
        writeln!(input, "{}", serde_json::to_string(&command).unwrap()).unwrap();
    }
    writeln!(input, "{}", serde_json::to_string(&door::Command::Shutdown).unwrap()).unwrap();
    drop(input);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let replies = replies.join().unwrap();
    let counts = counts.join().unwrap();
    assert_eq!(replies.len(), 102, "registered, 100 responses, shut down");
    assert!(matches!(replies[101], door::Reply::ShutDown { .. }), "{:?}", replies[101]);
    // One count per reply line: after registering, after each request, after the shutdown.
    assert_eq!(counts.len(), 102, "{counts:?}");
    // The shims of per-request core objects are kept by the objects' addresses and reused
    // when a later request's objects get the same ones, so the count depends on how many
    // address sets the core's allocator cycles through (it changes with the request, e.g. when
    // the URL gets a character longer at /r10): it must stay within a few requests' worth, and
    // stay put over the second half, where nothing about the requests changes.
    let steady = counts[50];
    assert!(counts[1..101].iter().all(|&n| n <= 4 * counts[1]), "live shims after each request: {counts:?}");
    assert!(counts[50..101].iter().all(|&n| n == steady), "live shims after each request: {counts:?}");
    assert!(counts[101] < steady, "the factory's proxy ends with Terminate: {counts:?}");
}

/// A DLL that does not load (here: missing) is reported by the exe as the door's first reply,
/// RegistrationFailed with the HRESULT and a cause that names the error and, for error 126, the
/// bcryptprimitives.dll stand-in. (TestServer::dll itself refuses a missing file before starting
/// the exe, so this speaks to the exe directly.)
#[test]
fn a_dll_that_does_not_load_is_named_with_its_error() {
    let dir = e2e_dir();
    let output = Command::new("wine")
        .current_dir(&dir)
        .env("WINEDEBUG", "-all")
        .arg("httpserv-simulator.exe")
        .arg("no_such_module.dll")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let first = String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().to_owned();
    let door::Reply::RegistrationFailed { error } = serde_json::from_str(&first).unwrap() else {
        panic!("not RegistrationFailed: {first}");
    };
    assert_eq!(error.hresult as u32, 0x8007_007E, "HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND): {error}");
    let cause = error.cause.unwrap_or_default();
    assert!(cause.contains("cannot load no_such_module.dll") && cause.contains("error 126") && cause.contains("bcryptprimitives.dll"), "{cause}");
}

#[test]
fn a_dll_without_register_module_is_refused() {
    let error = dll_server(&e2e_dir().join("bcryptprimitives.dll")).unwrap_err();
    assert_eq!(error.hresult as u32, 0x8007_007F, "HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND): {error}");
    assert!(error.cause.as_deref().unwrap_or_default().contains("does not export RegisterModule"), "{error}");
}

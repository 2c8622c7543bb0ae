//! Shared by the root package's end-to-end tests (tests/e2e_*.rs), one test target per example:
//! every example's `RegisterModule` is the same `#[no_mangle]` symbol, so two example rlibs
//! linked into one test binary would both resolve to one of them.
//!
//! Each test runs the same requests in-process (the example's rlib) and as its Windows DLL
//! through the DLL door (`TestServer::dll`: httpserv-simulator.exe under Wine, every call
//! crossing the generated MSVC-ABI C++ shims) and asserts that the registrations, transcripts
//! (`response.calls`), responses, server calls and shutdown reports are equal.
//! `scripts/build-windows.sh` builds the exe and the DLLs into target/e2e once per test binary
//! (target/e2e-x86 with `HTTPSERV_E2E_ARCH=x86`: the same tests through 32-bit DLLs).

#![allow(dead_code)] // each test target uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use httpserv_testing::{Call, Notification, RegisterModuleFn, ShutdownReport, TestRequest, TestResponse, TestServer};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The environment variable choosing the architecture of the DLL door: `x64` (default,
/// target/e2e) or `x86` (target/e2e-x86: a 32-bit simulator and 32-bit DLLs, so every call
/// between them is a real MSVC `thiscall`, under 32-bit Wine).
pub const ARCH_ENV: &str = "HTTPSERV_E2E_ARCH";

/// `x64` or `x86`, from `$HTTPSERV_E2E_ARCH`.
pub fn arch() -> &'static str {
    match std::env::var(ARCH_ENV).as_deref() {
        Err(_) | Ok("") | Ok("x64") => "x64",
        Ok("x86") => "x86",
        Ok(other) => panic!("{ARCH_ENV}={other}: x64 or x86"),
    }
}

/// Builds the exe and the DLLs of [`arch`] once; every test needs them. Also points Wine at the
/// repo's prefix (scripts/env.sh's) unless the environment chose one.
pub fn e2e_dir() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let output = Command::new(root().join("scripts/build-windows.sh"))
            .arg(arch())
            .env_remove("RUSTC")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
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
        Ok(root().join(if arch() == "x86" { "target/e2e-x86" } else { "target/e2e" }))
    });
    match built {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    }
}

/// The module DLL `<name>.dll` of [`e2e_dir`] through the DLL door.
pub fn dll(name: &str) -> TestServer {
    dll_with(name, None)
}

/// [`dll`], with a configuration served through `GetAdminManager`.
pub fn dll_with(name: &str, config: Option<&httpserv_testing::Config>) -> TestServer {
    let dir = e2e_dir();
    let mut builder = TestServer::dll_builder(dir.join(format!("{name}.dll"))).simulator(dir.join("httpserv-simulator.exe"));
    if let Some(config) = config {
        builder = builder.config(config.clone());
    }
    builder.start().unwrap_or_else(|e| panic!("{name}.dll: {e}"))
}

/// What one server gave for a run of requests: everything a test can observe.
#[derive(Debug, PartialEq)]
pub struct Run {
    pub registered: String,
    pub responses: Vec<TestResponse>,
    pub server_calls: Vec<String>,
    pub report: ShutdownReport,
}

/// Sends `requests` (and the global notifications between them) to `server`, then shuts it down.
pub fn run(server: TestServer, requests: &[Step]) -> Run {
    let registered = format!(
        "name={} request={:#x} post={:#x} global={:#x} priorities={:?} factory={} global_module={}",
        server.module_name(),
        server.request_notifications(),
        server.post_request_notifications(),
        server.global_notifications(),
        server.priorities(),
        server.has_factory(),
        server.has_global_module()
    );
    let mut responses = Vec::new();
    for step in requests {
        match step {
            Step::Request(request) => responses.push(normalised(server.send(request.clone()))),
            Step::ConfigurationChange(path) => server.notify_configuration_change(path),
        }
    }
    let server_calls = server.server_calls().iter().map(|c| normalised_call(c.clone()).to_string()).collect();
    let mut report = server.shutdown();
    report.calls = report.calls.into_iter().map(normalised_call).collect();
    if arch() == "x86" {
        report.request_memory_bytes = 0; // pointer-sized module objects, see `normalised`
    }
    Run { registered, responses, server_calls, report }
}

/// What must differ between the doors, made equal.
pub fn normalised(mut response: TestResponse) -> TestResponse {
    response.calls = response.calls.into_iter().map(normalised_call).collect();
    if arch() == "x86" {
        // `SendResponseProvider::set_log_data` hands IIS an HTTP_LOG_FIELDS_DATA in request
        // memory: a structure of pointers, so its size is the bitness's too.
        for i in 1..response.calls.len() {
            if response.calls[i].method == "ISendResponseProvider::SetLogData" && response.calls[i - 1].method == "IHttpContext::AllocateRequestMemory" {
                response.calls[i - 1].detail = "(HTTP_LOG_FIELDS_DATA of the bitness) bytes".to_owned();
            }
        }
        // An async handler's future is placed in request memory as the notification starts
        // (the call right after the notification's own line); futures hold pointers too.
        for i in 1..response.calls.len() {
            let previous = &response.calls[i - 1];
            if response.calls[i].method == "IHttpContext::AllocateRequestMemory" && previous.method.starts_with("CHttpModule::On") && previous.detail.is_empty() {
                response.calls[i].detail = "(future of the bitness) bytes".to_owned();
            }
        }
        // The in-process door is a 64-bit test; module objects hold pointers, so their
        // IModuleAllocator sizes (and the request memory they add up to) are the bitness's.
        response.request_memory_bytes = 0;
    }
    response
}

fn normalised_call(mut call: Call) -> Call {
    // The module id is the address of the simulator's registration object: a pointer of the
    // process it runs in (the test, or httpserv-simulator.exe).
    if call.method == "IHttpModuleRegistrationInfo::GetId" && call.detail.starts_with("-> 0x") {
        call.detail = "-> (module id)".to_owned();
    }
    // Containers name the module id they are keyed by: the same pointer of each process.
    if let Some(at) = call.detail.find("module 0x") {
        let start = at + "module ".len();
        let end = call.detail[start + 2..].find(|c: char| !c.is_ascii_hexdigit()).map_or(call.detail.len(), |e| start + 2 + e);
        call.detail.replace_range(start..end, "(module id)");
    }
    if arch() == "x86" && call.method == "IModuleAllocator::AllocateMemory" && call.detail.ends_with(" bytes") {
        call.detail = "(size of the bitness) bytes".to_owned();
    }
    call
}

/// For comparing a C++ module with its Rust equivalent, two choices that are the module's own
/// are left out: how the module object is allocated (`#[http_module]` places it in
/// `IModuleAllocator` memory, as IIS recommends; the seed's C++ sample uses `operator new`), so
/// the allocator calls and the request memory bytes they count; and the bridge asking for its
/// module id at registration (`IHttpModuleRegistrationInfo::GetId`, which the C++ sample has no
/// use for).
pub fn without_module_bookkeeping(mut run: Run) -> Run {
    for response in &mut run.responses {
        response.calls.retain(|c| c.method != "IModuleAllocator::AllocateMemory");
        response.request_memory_bytes = 0;
    }
    run.server_calls.retain(|c| !c.starts_with("IHttpModuleRegistrationInfo::GetId"));
    run.report.request_memory_bytes = 0;
    run
}

#[derive(Clone)]
pub enum Step {
    Request(TestRequest),
    ConfigurationChange(&'static str),
}

pub fn requests(requests: impl IntoIterator<Item = TestRequest>) -> Vec<Step> {
    requests.into_iter().map(Step::Request).collect()
}

/// Runs `steps` in-process with `register` and through the DLL door with `target/e2e/<dll_name>.dll`,
/// asserts the two runs are equal, and returns the DLL door's.
pub fn same_through_both_doors(register: RegisterModuleFn, dll_name: &str, steps: &[Step]) -> Run {
    let in_process = run(TestServer::new(register).unwrap(), steps);
    let through_dll = run(dll(dll_name), steps);
    assert_runs_equal(&in_process, &through_dll, &format!("in-process vs {dll_name}.dll"));
    through_dll
}

/// [`same_through_both_doors`] with a configuration (`TestServer::with_config` and the DLL
/// door's `--config`).
#[allow(dead_code)]
pub fn same_through_both_doors_with_config(register: RegisterModuleFn, dll_name: &str, config: &httpserv_testing::Config, steps: &[Step]) -> Run {
    let in_process = run(TestServer::with_config(register, config).unwrap(), steps);
    let through_dll = run(dll_with(dll_name, Some(config)), steps);
    assert_runs_equal(&in_process, &through_dll, &format!("in-process vs {dll_name}.dll, configured"));
    through_dll
}

/// Equal runs, or a failure that shows the first difference as transcripts.
pub fn assert_runs_equal(a: &Run, b: &Run, what: &str) {
    assert_eq!(a.registered, b.registered, "{what}: registration");
    assert_eq!(a.responses.len(), b.responses.len());
    for (i, (x, y)) in a.responses.iter().zip(&b.responses).enumerate() {
        assert_eq!(x.transcript(), y.transcript(), "{what}: transcript of request {i}");
        assert_eq!(x, y, "{what}: response {i}");
    }
    assert_eq!(a.server_calls, b.server_calls, "{what}: server calls");
    assert_eq!(a.report, b.report, "{what}: shutdown report");
}

pub fn exports(dll: &str) -> String {
    let objdump = if arch() == "x86" { "i686-w64-mingw32-objdump" } else { "x86_64-w64-mingw32-objdump" };
    let output = Command::new(objdump).arg("-p").arg(e2e_dir().join(dll)).output().expect("objdump");
    String::from_utf8_lossy(&output.stdout).into_owned()
}


/// The seed scenario's checks on one run of `GET /index.html`.
pub fn assert_cancels_io(run: &Run) {
    let response = &run.responses[0];
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.called_during("IHttpContext::CancelIo", Notification::SendResponse), 1, "{}", response.transcript());
    assert_eq!(response.returned("CHttpModule::OnSendResponse").collect::<Vec<_>>(), ["RQ_NOTIFICATION_CONTINUE"]);
    assert_eq!(response.notifications().len(), 1, "only OnSendResponse is registered:\n{}", response.transcript());
    assert_eq!((run.report.modules_created, run.report.modules_disposed), (1, 1));
    assert!(run.report.factory_terminated);
}

pub fn seed_request() -> Vec<Step> {
    requests([TestRequest::get("/index.html").header("User-Agent", "httpserv-rs-simulator")])
}

//! End to end on the real ABI: module DLLs cross-built for x86_64 Windows, loaded by the
//! MSVC-ABI C++ IIS simulator (built by build.rs through cc) under Wine, with their transcripts
//! asserted. `scripts/build-windows.sh` builds everything into target/e2e once per test run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the simulator and the DLLs once; every test needs them.
fn e2e_dir() -> &'static Path {
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
    match built {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    }
}

struct Run {
    code: i32,
    lines: Vec<String>,
}

impl Run {
    fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Asserts that lines starting with each of `steps` appear in this order.
    fn assert_sequence(&self, steps: &[&str]) {
        let mut from = 0;
        for step in steps {
            match self.lines[from..].iter().position(|l| l.starts_with(step)) {
                Some(at) => from += at + 1,
                None => panic!("transcript lacks `{step}` after line {from}:\n{}", self.text()),
            }
        }
    }

    fn count(&self, prefix: &str) -> usize {
        self.lines.iter().filter(|l| l.starts_with(prefix)).count()
    }

    fn assert_no_leaks(&self, modules: usize) {
        let summary = self.lines.iter().find(|l| l.starts_with("summary:")).unwrap_or_else(|| panic!("no summary:\n{}", self.text()));
        assert!(summary.contains(&format!("modules created={modules} disposed={modules} factories terminated=1")), "{summary}");
        assert!(summary.contains("after-dispose=0"), "{summary}");
        assert_eq!(self.lines.last().map(String::as_str), Some("result: ok"), "{}", self.text());
        assert_eq!(self.code, 0, "simulator exit code\n{}", self.text());
    }
}

/// Runs `iis-simulator.exe <dll> tests/e2e/<script>` under Wine.
fn simulate(dll: &str, script: &str) -> Run {
    let dir = e2e_dir();
    let output = Command::new("wine")
        .current_dir(dir)
        .env("WINEPREFIX", root().join("target/wineprefix"))
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .arg("iis-simulator.exe")
        .arg(dir.join(dll))
        .arg(root().join("tests/e2e").join(script))
        .output()
        .expect("wine: run scripts/install-toolchain.sh");
    let text = String::from_utf8_lossy(&output.stdout).replace('\r', "");
    println!("{text}");
    Run { code: output.status.code().unwrap_or(-1), lines: text.lines().map(str::to_string).collect() }
}

fn exports(dll: &str) -> String {
    let output = Command::new("x86_64-w64-mingw32-objdump").arg("-p").arg(e2e_dir().join(dll)).output().expect("objdump");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The seed scenario, asserted step by step for one module DLL.
fn assert_cancel_io(dll: &str) {
    assert!(exports(dll).contains("] RegisterModule\n"), "{dll} does not export RegisterModule undecorated");
    let run = simulate(dll, "cancel_io.txt");
    run.assert_sequence(&[
        "enter RegisterModule(",
        "call IHttpModuleRegistrationInfo::SetRequestNotifications(request=RQ_SEND_RESPONSE, post=0) -> S_OK",
        "call RegisterModule(version=0x000A0000) -> S_OK",
        "request 1: GET /index.html",
        "call IHttpModuleFactory::GetHttpModule -> S_OK",
        "enter OnSendResponse",
        "call IHttpContext::CancelIo -> S_OK",
        "notify OnSendResponse -> RQ_NOTIFICATION_CONTINUE",
        "response 1: 200 OK",
        "call CHttpModule::Dispose",
        "call IHttpModuleFactory::Terminate",
    ]);
    assert_eq!(run.count("call IHttpContext::CancelIo"), 1, "{}", run.text());
    assert_eq!(run.count("enter On"), 1, "only OnSendResponse is registered:\n{}", run.text());
    run.assert_no_leaks(1);
}

#[test]
fn cancel_io_macro_module() {
    assert_cancel_io("cancel_io.dll");
}

#[test]
fn cancel_io_raw_module() {
    assert_cancel_io("cancel_io_raw.dll");
}

#[test]
fn cancel_io_cpp_module_baseline() {
    assert_cancel_io("cancel_io_cpp.dll");
}

#[test]
fn hello_world_answers_the_request() {
    let run = simulate("hello_world.dll", "hello_world.txt");
    run.assert_sequence(&[
        "call IHttpModuleRegistrationInfo::SetRequestNotifications(request=RQ_EXECUTE_REQUEST_HANDLER, post=0)",
        "enter OnExecuteRequestHandler",
        "call IHttpResponse::SetStatus(200",
        "notify OnExecuteRequestHandler -> RQ_NOTIFICATION_FINISH_REQUEST",
        "response 1: 200 OK",
        "response-header: Content-Type: text/plain",
        "body: Hello from Rust on IIS!\\nYou asked for /hello\\n",
    ]);
    run.assert_no_leaks(1);
}

#[test]
fn security_headers_are_added_on_send_response() {
    let run = simulate("security_headers.dll", "security_headers.txt");
    run.assert_sequence(&["enter OnSendResponse", "notify OnSendResponse -> RQ_NOTIFICATION_CONTINUE", "response 1: 200 OK"]);
    for header in ["X-Content-Type-Options: nosniff", "X-Frame-Options: DENY", "Referrer-Policy: no-referrer", "Strict-Transport-Security: max-age=31536000"] {
        assert_eq!(run.count(&format!("response-header: {header}")), 1, "{header}\n{}", run.text());
    }
    run.assert_no_leaks(1);
}

#[test]
fn echo_body_returns_the_request_body() {
    let run = simulate("echo_body.dll", "echo_body.txt");
    run.assert_sequence(&[
        "request 1: POST /echo",
        "call IHttpRequest::ReadEntityBody(",
        "call IHttpResponse::WriteEntityChunks(1 chunk, \"ping from the client\"",
        "response 1: 200 OK",
        "response-header: Content-Type: text/plain",
        "body: ping from the client",
    ]);
    run.assert_no_leaks(1);
}

#[test]
fn lifecycle_global_module_sees_start_pre_begin_and_stop() {
    let run = simulate("lifecycle.dll", "lifecycle.txt");
    run.assert_sequence(&[
        "call IHttpModuleRegistrationInfo::SetGlobalNotifications(global=GL_PRE_BEGIN_REQUEST|GL_APPLICATION_START|GL_APPLICATION_STOP) -> S_OK",
        "notify OnGlobalApplicationStart -> GL_NOTIFICATION_CONTINUE",
        "request 1: GET /one",
        "notify OnGlobalPreBeginRequest",
        "response-header: X-Requests-Seen: 1",
        "request 2: GET /two",
        "notify OnGlobalPreBeginRequest",
        "response-header: X-Requests-Seen: 2",
        "notify OnGlobalApplicationStop -> GL_NOTIFICATION_CONTINUE",
        "call IHttpModuleFactory::Terminate",
        "call CGlobalModule::Terminate",
    ]);
    run.assert_no_leaks(2);
}

#[test]
fn remap_module_is_not_reentered_by_its_own_map_path() {
    // The same rule as in the in-process test server (examples/remap/tests): the bridge, not
    // the host, decides, so the C++ simulator's nested RQ_MAP_PATH is refused the same way.
    let run = simulate("remap.dll", "remap.txt");
    run.assert_sequence(&[
        "request 1: GET /where/legacy/a.txt",
        "enter OnExecuteRequestHandler",
        "enter OnMapPath",
        "call IHttpTraceContext::QuickTrace(data1=\"httpserv: HttpModule::on_map_path not delivered: the module's own handler is still running",
        "notify OnMapPath -> RQ_NOTIFICATION_CONTINUE",
        "call IHttpContext::MapPath",
        "notify OnExecuteRequestHandler -> RQ_NOTIFICATION_FINISH_REQUEST",
        "response 1: 200 OK",
        "body: /legacy/a.txt -> C:\\\\inetpub\\\\wwwroot\\\\legacy\\\\a.txt (remapped 0)\\n",
    ]);
    assert_eq!(run.count("call IMapPathProvider::SetPhysicalPath"), 0, "{}", run.text());
    run.assert_no_leaks(1);
}

/// The simulator's own tests (C++ modules, failure cases, exit codes), built standalone.
#[test]
fn simulator_self_tests() {
    let output = Command::new(root().join("simulator/tests/run.sh"))
        .env("WINEPREFIX", root().join("target/wineprefix"))
        .output()
        .expect("simulator/tests/run.sh");
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}");
    assert!(output.status.success(), "simulator/tests/run.sh failed:\n{text}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(!text.contains("FAIL"), "{text}");
}

//! The subcommand as a user runs it: `new` in a temporary directory, then `cargo test` in the
//! new crate, and `run --port 0` answering a real HTTP request on loopback. No Wine needed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A fresh directory for one test, and one target directory shared by the generated crates so
/// that httpserv and the run host's dependencies are compiled once.
fn scratch(name: &str) -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cargo-httpserv-tests");
    let dir = root.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    (dir, root.join("shared-target"))
}

fn cargo_httpserv(dir: &Path, target: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-httpserv"));
    command.arg("httpserv").current_dir(dir).env("CARGO_TARGET_DIR", target);
    command
}

fn new_crate(name: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let (dir, target) = scratch(name);
    let status = cargo_httpserv(&dir, &target).arg("new").arg(name).args(extra).arg("--httpserv-path").arg(repo()).status().unwrap();
    assert!(status.success(), "cargo httpserv new {name} failed");
    (dir.join(name), target)
}

#[test]
fn new_makes_a_crate_whose_tests_pass() {
    let (krate, target) = new_crate("demo", &[]);
    for file in ["Cargo.toml", "src/lib.rs", "tests/module.rs", "README.md"] {
        assert!(krate.join(file).is_file(), "{file} missing");
    }
    assert!(std::fs::read_to_string(krate.join("README.md")).unwrap().contains("appcmd.exe install module /name:Demo"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo).arg("test").current_dir(&krate).env("CARGO_TARGET_DIR", &target).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "cargo test failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("test answers_with_the_greeting ... ok"), "{stdout}");
}

#[test]
fn new_global_async_crate_tests_pass_through_cargo_httpserv_test() {
    let (krate, target) = new_crate("demo-global", &["--global", "--async"]);
    assert!(std::fs::read_to_string(krate.join("src/lib.rs")).unwrap().contains("async fn on_execute_request_handler"));
    let output = cargo_httpserv(&krate, &target).arg("test").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "cargo httpserv test failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("test the_global_module_counts_application_starts ... ok"), "{stdout}");
}

/// Kills the server when the test ends, passed or not.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn run_serves_real_http_through_the_module() {
    let (krate, target) = new_crate("run-demo", &[]);
    let mut child = cargo_httpserv(&krate, &target).args(["run", "--port", "0"]).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    // The first run compiles the run host (hyper, tokio, httpserv): minutes on 2 cores.
    let first = lines.recv_timeout(Duration::from_secs(900)).expect("run printed nothing");
    let port: u16 = first
        .strip_prefix("listening on http://127.0.0.1:")
        .and_then(|rest| rest.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {first}"));

    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(b"GET /it/works?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: cli-test\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.to_ascii_lowercase().contains("content-type: text/plain"), "{response}");
    assert!(response.ends_with("Hello from run-demo!\nYou asked for /it/works\n"), "{response}");

    // The request's log: the handler the module ran and the calls it made.
    let log: Vec<String> = std::iter::from_fn(|| lines.recv_timeout(Duration::from_secs(10)).ok()).take_while(|l| !l.contains("CHttpModule::Dispose")).collect();
    let log = log.join("\n");
    assert!(log.contains("GET /it/works?x=1 -> 200 OK, 45 bytes"), "{log}");
    assert!(log.contains("handled: OnExecuteRequestHandler"), "{log}");
    assert!(log.contains("[ExecuteRequestHandler] IHttpResponse::SetHeader: Content-Type: \"text/plain\""), "{log}");
}

/// `cargo httpserv run` on examples/axum_app (axum through httpserv-tower), requested by a real
/// client over loopback: JSON from a path parameter, and the server-sent events arriving in
/// pieces, as produced (10 ms apart), not with the end of the response. Shares the run host's
/// target with the test above, so only axum and the example are compiled on top.
#[test]
fn run_streams_the_axum_example_to_a_real_client() {
    let (_, target) = scratch("run-axum");
    let example = repo().join("examples").join("axum_app");
    let mut child = cargo_httpserv(&example, &target).args(["run", "--port", "0"]).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let first = lines.recv_timeout(Duration::from_secs(900)).expect("run printed nothing");
    let port: u16 = first
        .strip_prefix("listening on http://127.0.0.1:")
        .and_then(|rest| rest.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {first}"));

    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(b"GET /users/7 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(lower.contains("content-type: application/json"), "{response}");
    // The Content-Length axum set frames the response.
    assert!(lower.contains("content-length: 24\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\n{\"id\":7,\"name\":\"user 7\"}"), "{response}");

    // The event stream: each read timed; the events must come in separate pieces, spread out.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let started = std::time::Instant::now();
    let (mut received, mut arrivals) = (Vec::new(), Vec::new());
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..n]);
        arrivals.push((started.elapsed(), String::from_utf8_lossy(&received).into_owned()));
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("content-type: text/event-stream"), "{text}");
    assert!(lower.contains("transfer-encoding: chunked"), "{text}");
    let seen = |event: &str| arrivals.iter().find(|(_, so_far)| so_far.contains(event)).map(|(at, _)| *at).unwrap_or_else(|| panic!("{event} never came: {text}"));
    let (first_event, last_event) = (seen("data: event 0"), seen("data: event 2"));
    assert!(last_event >= first_event + Duration::from_millis(15), "events 0 and 2 arrived {first_event:?} and {last_event:?}: not streamed\n{text}");
    // (Events 1 and 2 may share a read on a loaded machine; 0 and 2 cannot.)
    assert!(arrivals.len() >= 2, "{} reads", arrivals.len());

    let log: Vec<String> = std::iter::from_fn(|| lines.recv_timeout(Duration::from_secs(10)).ok()).take_while(|l| !l.contains("GET /events ->")).collect();
    assert!(log.iter().any(|l| l.contains("GET /users/7 -> 200")), "{log:?}");
}

/// The cross route and Wine (needs the Debian toolchain and Wine, which `scripts/install-toolchain.sh`
/// installs before the tests run; a missing one fails the test): `build` prints a checked DLL,
/// `test --dll` runs it in the simulator, and a second project's `build` does not rebuild std.
#[test]
fn build_and_test_dll_under_wine_with_one_cached_std() {
    if cfg!(windows) {
        return;
    }
    let needed = ["/usr/bin/rustc", "/usr/bin/cargo", "/usr/lib/rustlib/src/rust/library/std/Cargo.toml", "/usr/bin/x86_64-w64-mingw32-gcc", "/usr/lib/wine/wine64"];
    if let Some(missing) = needed.iter().find(|p| !Path::new(p).exists()) {
        panic!("{missing} is not installed: run scripts/install-toolchain.sh");
    }
    let (krate, target) = new_crate("wine-demo", &[]);
    let output = cargo_httpserv(&krate, &target).arg("build").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "build failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let dll = PathBuf::from(stdout.lines().last().unwrap_or_default());
    assert!(dll.ends_with("x86_64-pc-windows-gnu/debug/wine_demo.dll") && dll.is_file(), "{stdout}");

    let output = cargo_httpserv(&krate, &target).args(["test", "--dll"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "test --dll failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("Hello from wine-demo!"), "{stdout}");

    // std is cached by now: another project (own target dir) builds without rebuilding it.
    let (second, _) = new_crate("wine-demo-second", &[]);
    let own_target = second.join("target");
    let output = cargo_httpserv(&second, &own_target).arg("build").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "second build failed:\n{stderr}");
    assert!(!stderr.contains("Cached std for"), "the second project rebuilt std:\n{stderr}");
}

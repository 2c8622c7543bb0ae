//! The DLL door end to end, without Windows or Wine: `httpserv-testing-door-host` (a host build
//! of the executable's side, `door::serve` over the raw module of `door-host/module.rs`) plays
//! `httpserv-simulator.exe`, and the same requests run through it and in-process. Equal
//! registrations, transcripts, responses and reports show that the protocol carries everything.

#[path = "../door-host/module.rs"]
mod module;

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use httpserv_testing::door::{self, Reply};
use httpserv_testing::{
    CallKind, Handler, Notification, TestRequest, TestResponse, TestServer, DEFAULT_MODULE_NAME,
};

const HOST: &str = env!("CARGO_BIN_EXE_httpserv-testing-door-host");

/// A file standing for a module DLL (the host simulator picks its module by the name).
fn dll(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, b"not a real DLL: the host simulator links its module in").unwrap();
    path
}

/// Short, so the left-pending test does not wait 5 s per door.
const PENDING_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(50);

fn through_the_door(name: &str, module_name: &str) -> TestServer {
    TestServer::dll_builder(dll(name))
        .simulator(HOST)
        .without_wine()
        .name(module_name)
        .pending_timeout(PENDING_TIMEOUT)
        .start()
        .expect("the host simulator registers the module")
}

fn requests() -> Vec<TestRequest> {
    vec![
        TestRequest::get("/"),
        TestRequest::post("/upload?x=1", vec![0u8, 1, 2, 0xff, 0xfe, b'\n', 0x80])
            .header("Content-Type", "application/octet-stream"),
        TestRequest::get("/finish").header("X-Finish", "1"),
        TestRequest::new("HEAD", "http://example.test:8080/head")
            .user("alice")
            .remote_addr(SocketAddr::from(([10, 0, 0, 7], 40123)))
            .http_version(1, 0),
        TestRequest::post("/text", "héllo, wörld"),
    ]
}

fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

#[test]
fn both_doors_give_the_same_registration_transcripts_and_report() {
    let local = TestServer::with_name("DoorModule", module::register_module).unwrap();
    let remote = through_the_door("door-module.dll", "DoorModule");

    assert_eq!(remote.module_name(), "DoorModule");
    assert_eq!(remote.module_name(), local.module_name());
    assert_eq!(remote.request_notifications(), local.request_notifications());
    assert_eq!(remote.post_request_notifications(), local.post_request_notifications());
    assert_eq!(remote.global_notifications(), local.global_notifications());
    assert_eq!(remote.priorities(), local.priorities());
    assert_eq!(remote.priorities().request, [(httpserv_sys::RQ_BEGIN_REQUEST, "HIGH".to_owned())]);
    assert_eq!(remote.has_factory(), local.has_factory());
    assert_eq!(remote.has_global_module(), local.has_global_module());
    assert_eq!(remote.server_calls(), local.server_calls());
    assert_eq!(remote.server_called("CGlobalModule::OnGlobalApplicationStart"), 1);

    for request in requests() {
        let expected: TestResponse = local.send(request.clone());
        let got = remote.send(request);
        assert_eq!(got.transcript(), expected.transcript());
        assert_eq!(got, expected);
    }

    // The binary body came back byte for byte, after the module's own three bytes.
    let echoed = remote.send(TestRequest::post("/", vec![0xffu8, 0x00, 0xc3]));
    assert_eq!(echoed.status, 201);
    assert_eq!(echoed.body, [0x00, 0xff, 0xfe, 0xff, 0x00, 0xc3]);
    assert_eq!(echoed.header("X-Door"), Some("begin"));
    assert_eq!(
        echoed.notifications(),
        [
            Handler::On(Notification::BeginRequest),
            Handler::OnPost(Notification::BeginRequest),
            Handler::On(Notification::ExecuteRequestHandler),
            Handler::On(Notification::SendResponse),
        ]
    );
    local.send(TestRequest::post("/", vec![0xffu8, 0x00, 0xc3]));

    for server in [&local, &remote] {
        server.notify_configuration_change("MACHINE/WEBROOT/APPHOST/Default Web Site");
        server.notify_file_change("C:\\inetpub\\wwwroot\\web.config");
    }
    let calls = remote.server_calls();
    assert_eq!(calls, local.server_calls());
    let change: Vec<String> = calls
        .iter()
        .filter(|c| c.notification == Some(Notification::GlobalConfigurationChange))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        change,
        [
            "[GlobalConfigurationChange] CGlobalModule::OnGlobalConfigurationChange: \"MACHINE/WEBROOT/APPHOST/Default Web Site\"",
            "[GlobalConfigurationChange] IGlobalConfigurationChangeProvider::GetChangePath",
            "[GlobalConfigurationChange] CGlobalModule::OnGlobalConfigurationChange returned GL_NOTIFICATION_CONTINUE",
        ]
    );
    assert!(calls.iter().any(|c| c.method == "IGlobalFileChangeProvider::GetFileName"));

    let expected = local.shutdown();
    let report = remote.shutdown();
    assert_eq!(report, expected);
    assert_eq!(report.requests, requests().len() + 1);
    assert_eq!(report.modules_created, report.modules_disposed);
    assert!(report.factory_terminated && report.global_terminated);
}

#[test]
fn a_request_left_pending_panics_with_the_same_message_through_both_doors() {
    let local = TestServer::new(module::register_module).unwrap();
    local.set_pending_timeout(PENDING_TIMEOUT);
    let remote = through_the_door("door-module.dll", DEFAULT_MODULE_NAME);
    let pending = || TestRequest::get("/wait").header("X-Pending", "1");
    let expected = panic_text(catch_unwind(AssertUnwindSafe(|| local.send(pending()))).unwrap_err());
    let got = panic_text(catch_unwind(AssertUnwindSafe(|| remote.send(pending()))).unwrap_err());
    assert!(got.starts_with("request left pending: CHttpModule::OnExecuteRequestHandler returned RQ_NOTIFICATION_PENDING"), "{got}");
    assert_eq!(got, expected);
    // Both servers go on serving.
    assert_eq!(remote.send(TestRequest::get("/")), local.send(TestRequest::get("/")));
    assert_eq!(remote.shutdown(), local.shutdown());
}

#[test]
fn a_failing_register_module_crosses_the_door() {
    let expected = TestServer::new(module::register_failing).unwrap_err();
    let got = TestServer::dll_builder(dll("failing.dll"))
        .simulator(HOST)
        .without_wine()
        .start()
        .unwrap_err();
    assert_eq!(got, expected);
    assert_eq!(got.hresult, windows_sys::Win32::Foundation::E_INVALIDARG);
    assert_eq!(got.cause, None);
    assert_eq!(got.to_string(), "RegisterModule failed with HRESULT E_INVALIDARG, 0x80070057");
    let returned: Vec<&str> = got
        .calls
        .iter()
        .filter(|c| c.kind == CallKind::Return)
        .map(|c| c.detail.as_str())
        .collect();
    assert_eq!(returned, ["E_INVALIDARG"]);
}

#[test]
fn a_dll_that_does_not_load_is_a_registration_error_with_its_cause() {
    let error = TestServer::dll_builder(dll("missing.dll"))
        .simulator(HOST)
        .without_wine()
        .start()
        .unwrap_err();
    let cause = error.cause.as_deref().unwrap();
    assert!(cause.contains("did not load"), "{cause}");
}

#[test]
fn the_dll_door_is_send_and_sync_and_serves_threads_in_turn() {
    let local = TestServer::new(module::register_module).unwrap();
    let remote = through_the_door("door-module.dll", DEFAULT_MODULE_NAME);
    let expected = local.send(TestRequest::post("/t", "threads"));
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..5 {
                    assert_eq!(remote.send(TestRequest::post("/t", "threads")), expected);
                }
            });
        }
    });
    assert_eq!(remote.shutdown().requests, 20);
    local.shutdown();
}

#[test]
#[should_panic(expected = "TestRequest::other_module cannot cross the DLL door")]
fn other_module_is_refused_at_the_dll_door() {
    let remote = through_the_door("door-module.dll", DEFAULT_MODULE_NAME);
    remote.send(TestRequest::get("/").other_module(Notification::BeginRequest, |_| {}));
}

#[test]
fn missing_simulator_dll_and_wine_are_clear_errors() {
    let error = TestServer::dll_builder(dll("door-module.dll"))
        .simulator("/nonexistent/httpserv-simulator.exe")
        .start()
        .unwrap_err();
    let cause = error.cause.unwrap();
    assert!(cause.contains("/nonexistent/httpserv-simulator.exe does not exist") && cause.contains("HTTPSERV_SIMULATOR"), "{cause}");

    let error = TestServer::dll_builder("/nonexistent/module.dll").simulator(HOST).start().unwrap_err();
    let cause = error.cause.unwrap();
    assert!(cause.contains("module DLL /nonexistent/module.dll does not exist"), "{cause}");

    let error = TestServer::dll_builder(dll("door-module.dll"))
        .simulator(HOST)
        .wine("/nonexistent/wine")
        .start()
        .unwrap_err();
    let cause = error.cause.unwrap();
    assert!(cause.contains("/nonexistent/wine not found") && cause.contains("needs Wine"), "{cause}");
}

#[cfg(unix)]
#[test]
fn a_simulator_that_dies_or_speaks_garbage_is_a_clear_error() {
    // `true` exits at once without a word.
    if std::path::Path::new("/bin/true").exists() {
        let error = TestServer::dll_builder(dll("door-module.dll"))
            .simulator("/bin/true")
            .without_wine()
            .start()
            .unwrap_err();
        let cause = error.cause.unwrap();
        assert!(cause.contains("ended while registering the module"), "{cause}");
    }
    // `echo` answers with its arguments, which are not a reply.
    if std::path::Path::new("/bin/echo").exists() {
        let error = TestServer::dll_builder(dll("door-module.dll"))
            .simulator("/bin/echo")
            .without_wine()
            .start()
            .unwrap_err();
        let cause = error.cause.unwrap();
        assert!(cause.contains("protocol error") && cause.contains("not a reply"), "{cause}");
    }
}

/// The replies `serve` writes for `input`, one per line.
fn serve_lines(server: Result<TestServer, httpserv_testing::RegistrationError>, input: &str) -> Vec<Reply> {
    let mut output = Vec::new();
    door::serve(server, input.as_bytes(), &mut output).unwrap();
    String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[test]
fn serve_answers_every_line_and_survives_garbage() {
    let server = TestServer::new(module::register_module);
    let replies = serve_lines(
        server,
        "this is not json\n\n{\"command\":\"server_calls\"}\n{\"command\":\"send\",\"request\":{\"method\":\"GET\"}}\n{\"command\":\"shutdown\"}\n{\"command\":\"server_calls\"}\n",
    );
    assert!(matches!(&replies[0], Reply::Registered(r) if r.has_factory && r.has_global_module), "{replies:?}");
    assert!(matches!(&replies[1], Reply::Error { message } if message.starts_with("not a command")), "{replies:?}");
    assert!(matches!(&replies[2], Reply::ServerCalls { calls } if !calls.is_empty()), "{replies:?}");
    assert!(matches!(&replies[3], Reply::Error { message } if message.contains("missing field")), "{replies:?}");
    assert!(matches!(&replies[4], Reply::ShutDown { report } if report.factory_terminated), "{replies:?}");
    // Nothing is read after shutdown.
    assert_eq!(replies.len(), 5, "{replies:?}");
}

#[test]
fn serve_reports_a_failed_registration_and_a_panicking_command() {
    let replies = serve_lines(TestServer::new(module::register_failing), "{\"command\":\"shutdown\"}\n");
    assert!(matches!(&replies[..], [Reply::RegistrationFailed { error }] if error.hresult < 0), "{replies:?}");

    let pending = serde_json::to_string(&door::Command::Send {
        request: TestRequest::get("/").header("X-Pending", "1"),
    })
    .unwrap();
    let server = TestServer::new(module::register_module).unwrap();
    server.set_pending_timeout(PENDING_TIMEOUT);
    let replies = serve_lines(Ok(server), &format!("{pending}\n"));
    assert!(matches!(&replies[1], Reply::Panicked { message } if message.starts_with("request left pending")), "{replies:?}");
    // End of input without shutdown: the server shut down as a dropped TestServer does.
    assert_eq!(replies.len(), 2);
}

#[test]
fn a_request_round_trips_through_json() {
    let request = TestRequest::post("/bytes", vec![0u8, 0xff, 0x7f, 0x80])
        .header("X-A", "1")
        .header("X-A", "2")
        .user_with_auth_type("bob", "Negotiate")
        .local_addr(SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], 443)));
    let json = serde_json::to_string(&request).unwrap();
    let back: TestRequest = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert!(serde_json::to_string(&TestRequest::get("/").other_module(Notification::BeginRequest, |_| {}))
        .unwrap_err()
        .to_string()
        .contains("cannot cross the DLL door"));
    // A wire observer is code of the test process too: refused, never dropped.
    assert!(serde_json::to_string(&TestRequest::get("/").on_wire(|_| {}))
        .unwrap_err()
        .to_string()
        .contains("TestRequest::on_wire cannot cross the DLL door"));
}

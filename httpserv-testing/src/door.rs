//! The DLL door: the protocol between [`TestServer::dll`] (the client, in the test process) and
//! `httpserv-simulator.exe` (the server, a Windows executable that loads a module DLL and runs
//! this same simulator on it), and [`serve`], the executable's side.
//!
//! The executable's `main` loads the DLL, finds `RegisterModule`, and calls
//! `serve(TestServer::with_registration(name, |v, info, server| RegisterModule(v, info, server)),
//! stdin, stdout)` (or `serve(Err(RegistrationError::new(hr, "...")), ...)` when the DLL does
//! not load). Everything after that is this module's.
//!
//! # The protocol
//!
//! JSON lines: one JSON object per line, UTF-8, `\n`-terminated, on the executable's standard
//! input (commands) and standard output (replies). Its standard error is free text (panic
//! messages, Wine's noise) that the client shows when something goes wrong.
//!
//! 1. On start, before reading anything, the server writes one line: [`Reply::Registered`]
//!    (masks, priorities, whether a factory and a global module were registered, the module
//!    name) or [`Reply::RegistrationFailed`] (a [`RegistrationError`]), after which it exits.
//! 2. Then, for each [`Command`] line, exactly one reply line:
//!
//! | command | reply |
//! | --- | --- |
//! | `{"command":"send","request":{...TestRequest...}}` | `{"reply":"response","response":{...TestResponse...}}` |
//! | `{"command":"server_calls"}` | `{"reply":"server_calls","calls":[...Call...]}` |
//! | `{"command":"notify_configuration_change","path":"..."}` | `{"reply":"notified"}` |
//! | `{"command":"notify_file_change","path":"..."}` | `{"reply":"notified"}` |
//! | `{"command":"enable_web_socket_module"}` | `{"reply":"notified"}` |
//! | `{"command":"shutdown"}` | `{"reply":"shut_down","report":{...ShutdownReport...}}`, then the server exits |
//!
//! Any command may instead get `{"reply":"panicked","message":"..."}` (the simulator panicked,
//! as `TestServer::send` panics in-process, for example for a request left pending; the server
//! stays usable) or `{"reply":"error","message":"..."}` (the line was not a command). End of
//! input without `shutdown` shuts the server down as dropping a `TestServer` does.
//!
//! The types are those of the test API, serialized with serde: field names as in Rust, enums by
//! variant name (`"BeginRequest"`, `"Return"`), bodies as arrays of byte values (so any bytes
//! round-trip exactly), `HRESULT`s as signed 32-bit integers, addresses as `"127.0.0.1:80"`.
//! A [`TestRequest`] built with [`TestRequest::other_module`] does not serialize: its closure is
//! code of the test process.

use std::collections::HashSet;
use std::io::{self, BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize, Serializer};

use super::{
    Call, OtherModule, Priorities, RegistrationError, ShutdownReport, TestRequest, TestResponse,
    TestServer,
};

/// A line from the client to `httpserv-simulator.exe`.
// One command per line, parsed, carried out and dropped: the size of `Send` costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// [`TestServer::send`]: run a request; reply [`Reply::Response`].
    Send {
        /// The request.
        request: TestRequest,
    },
    /// [`TestServer::server_calls`]; reply [`Reply::ServerCalls`].
    ServerCalls,
    /// [`TestServer::notify_configuration_change`]; reply [`Reply::Notified`].
    NotifyConfigurationChange {
        /// The configuration path.
        path: String,
    },
    /// [`TestServer::notify_file_change`]; reply [`Reply::Notified`].
    NotifyFileChange {
        /// The file's path.
        path: String,
    },
    /// [`TestServer::set_config`]; reply [`Reply::Notified`].
    SetConfig {
        /// The new configuration.
        config: crate::Config,
    },
    /// [`TestServer::shutdown`]; reply [`Reply::ShutDown`], then the server exits.
    Shutdown,
    /// [`TestServer::enable_websocket_module`]; reply [`Reply::Notified`].
    EnableWebSocketModule,
}

/// A line from `httpserv-simulator.exe` to the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reply {
    /// The first line when `RegisterModule` succeeded.
    Registered(Registered),
    /// The first (and only) line when it failed, or the DLL could not be loaded.
    RegistrationFailed {
        /// What failed.
        error: RegistrationError,
    },
    /// The response to [`Command::Send`].
    Response {
        /// What the client received, and the transcript.
        response: TestResponse,
    },
    /// The reply to [`Command::ServerCalls`].
    ServerCalls {
        /// The server-level calls so far.
        calls: Vec<Call>,
    },
    /// A global notification was delivered (or not registered by the module).
    Notified,
    /// The reply to [`Command::Shutdown`].
    ShutDown {
        /// What the shutdown observed.
        report: ShutdownReport,
    },
    /// The simulator panicked while carrying out the command (what `TestServer::send` does
    /// in-process): the client panics with the same message.
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The command line could not be understood.
    Error {
        /// What was wrong.
        message: String,
    },
}

/// What the module registered: what [`TestServer`]'s accessors return.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Registered {
    /// [`TestServer::module_name`].
    pub module_name: String,
    /// [`TestServer::request_notifications`].
    pub request_notifications: u32,
    /// [`TestServer::post_request_notifications`].
    pub post_request_notifications: u32,
    /// [`TestServer::global_notifications`].
    pub global_notifications: u32,
    /// [`TestServer::priorities`].
    pub priorities: Priorities,
    /// [`TestServer::has_factory`].
    pub has_factory: bool,
    /// [`TestServer::has_global_module`].
    pub has_global_module: bool,
}

impl Registered {
    /// What `server` registered.
    pub fn of(server: &TestServer) -> Registered {
        Registered {
            module_name: server.module_name().to_owned(),
            request_notifications: server.request_notifications(),
            post_request_notifications: server.post_request_notifications(),
            global_notifications: server.global_notifications(),
            priorities: server.priorities().clone(),
            has_factory: server.has_factory(),
            has_global_module: server.has_global_module(),
        }
    }
}

/// Runs the server side of the protocol over `input` and `output` until [`Command::Shutdown`]
/// or the end of `input`: what `httpserv-simulator.exe`'s `main` calls with its standard input
/// and output, and `server` what [`TestServer::with_registration`] returned (or the
/// [`RegistrationError`] of a DLL that did not load).
///
/// A panic never escapes: a panic while carrying out a command is replied as
/// [`Reply::Panicked`] and the server goes on; one anywhere else (shutting down at the end of
/// input, say) is written as a last [`Reply::Panicked`] line, and `serve` returns. It returns an
/// error only when `input` or `output` fails.
pub fn serve(
    server: Result<TestServer, RegistrationError>,
    input: impl BufRead,
    mut output: impl Write,
) -> io::Result<()> {
    let result = catch_unwind(AssertUnwindSafe(|| serve_lines(server, input, &mut output)));
    match result {
        Ok(result) => result,
        Err(panic) => {
            let message = format!(
                "httpserv-simulator: the simulator panicked outside a command: {}",
                panic_message(panic.as_ref())
            );
            // The payload may itself panic when dropped; never let that escape either.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(panic)));
            write_reply(&mut output, &Reply::Panicked { message })
        }
    }
}

fn serve_lines(
    server: Result<TestServer, RegistrationError>,
    mut input: impl BufRead,
    output: &mut impl Write,
) -> io::Result<()> {
    let server = match server {
        Ok(server) => server,
        Err(error) => return write_reply(output, &Reply::RegistrationFailed { error }),
    };
    write_reply(output, &Reply::Registered(Registered::of(&server)))?;
    let mut server = Some(server);
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            // End of input: shut down as a dropped TestServer does.
            drop(server.take());
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        let command: Command = match serde_json::from_str(&line) {
            Ok(command) => command,
            Err(e) => {
                let message = format!("not a command ({e}): {}", line.trim_end());
                write_reply(output, &Reply::Error { message })?;
                continue;
            }
        };
        let shutting_down = matches!(command, Command::Shutdown);
        let reply = catch_unwind(AssertUnwindSafe(|| carry_out(&mut server, command)))
            .unwrap_or_else(|panic| {
                let message = panic_message(panic.as_ref());
                let _ = catch_unwind(AssertUnwindSafe(move || drop(panic)));
                Reply::Panicked { message }
            });
        write_reply(output, &reply)?;
        if shutting_down {
            return Ok(());
        }
    }
}

/// Carries out one command on the server (which is `None` only after a shutdown).
fn carry_out(server: &mut Option<TestServer>, command: Command) -> Reply {
    let Some(live) = server.as_ref() else {
        return Reply::Error {
            message: "the server is shut down".to_owned(),
        };
    };
    match command {
        Command::Send { request } => Reply::Response {
            response: live.send(request),
        },
        Command::ServerCalls => Reply::ServerCalls {
            calls: live.server_calls(),
        },
        Command::NotifyConfigurationChange { path } => {
            live.notify_configuration_change(&path);
            Reply::Notified
        }
        Command::NotifyFileChange { path } => {
            live.notify_file_change(&path);
            Reply::Notified
        }
        Command::EnableWebSocketModule => {
            live.enable_websocket_module();
            Reply::Notified
        }
        Command::SetConfig { config } => {
            live.set_config(&config);
            Reply::Notified
        }
        Command::Shutdown => {
            let server = server.take().expect("checked above");
            Reply::ShutDown {
                report: server.shutdown(),
            }
        }
    }
}

/// Writes one reply line and flushes it.
fn write_reply(output: &mut impl Write, reply: &Reply) -> io::Result<()> {
    let line = serde_json::to_string(reply).unwrap_or_else(|e| {
        serde_json::to_string(&Reply::Error {
            message: format!("the reply could not be serialized: {e}"),
        })
        .unwrap_or_default()
    });
    output.write_all(line.as_bytes())?;
    output.write_all(b"\n")?;
    output.flush()
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

/// Reads a line (the client's side), as a [`Reply`].
pub(crate) fn parse_reply(line: &str) -> Result<Reply, String> {
    serde_json::from_str(line).map_err(|e| format!("{e}"))
}

/// A command as a line (without the `\n`).
pub(crate) fn command_line(command: &Command) -> Result<String, String> {
    serde_json::to_string(command).map_err(|e| format!("{e}"))
}

/// What refuses a [`TestRequest::other_module`] at the DLL door.
pub(crate) const OTHER_MODULE_REFUSED: &str =
    "TestRequest::other_module cannot cross the DLL door: its closure is code of the test \
     process, and the module runs in httpserv-simulator.exe. Test other-module behaviour with an \
     in-process TestServer (TestServer::new), or build the other module into a DLL of its own";

/// `serialize_with` for [`TestRequest`]'s other modules: refused, never dropped.
pub(crate) fn refuse_other_modules<S: Serializer>(
    _: &[OtherModule],
    _: S,
) -> Result<S::Ok, S::Error> {
    Err(serde::ser::Error::custom(OTHER_MODULE_REFUSED))
}

/// What refuses a [`TestRequest::on_wire`] at the DLL door.
pub(crate) const ON_WIRE_REFUSED: &str =
    "TestRequest::on_wire cannot cross the DLL door: its callback is code of the test process, \
     and the response is sent in httpserv-simulator.exe; read TestResponse::body instead, or use \
     an in-process TestServer";

/// `serialize_with` for [`TestRequest`]'s wire observer: refused, never dropped.
pub(crate) fn refuse_on_wire<S: Serializer>(
    _: &Option<super::WireObserver>,
    _: S,
) -> Result<S::Ok, S::Error> {
    Err(serde::ser::Error::custom(ON_WIRE_REFUSED))
}

/// A [`Call`] as it is read: [`Call::method`] is a `&'static str`, and method names are a
/// small, fixed set, so they are interned once per process (the strings live as long as the
/// process, as the simulator's own do).
#[derive(Deserialize)]
struct WireCall {
    method: String,
    kind: super::CallKind,
    notification: Option<super::Notification>,
    post: bool,
    detail: String,
}

impl<'de> Deserialize<'de> for Call {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Call, D::Error> {
        let call = WireCall::deserialize(deserializer)?;
        Ok(Call {
            method: intern(call.method),
            kind: call.kind,
            notification: call.notification,
            post: call.post,
            detail: call.detail,
        })
    }
}

fn intern(name: String) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

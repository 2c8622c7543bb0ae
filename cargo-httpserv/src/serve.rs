//! The local HTTP server of `cargo httpserv run`: hyper on 127.0.0.1, each request run through a
//! [`TestServer`] (the in-process simulation core, or a module DLL through the simulator), each
//! exchange logged with the notifications the module handled and the calls it made.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use httpserv_testing::{CallKind, Disconnect, RegisterModuleFn, TestRequest, TestResponse, TestServer};

/// Registers the module in a new in-process [`TestServer`] and serves it on
/// `127.0.0.1:port` (`0`: a free port) until the process is stopped. The first line on
/// standard output is `listening on http://127.0.0.1:PORT/`.
pub fn serve(register: RegisterModuleFn, port: u16) -> anyhow::Result<()> {
    let server = TestServer::new(register).map_err(|e| anyhow::anyhow!("{e}; calls made: {:?}", e.calls))?;
    serve_server(server, port)
}

/// Serves requests through an existing server (an in-process one, or one over a module DLL).
pub fn serve_server(server: TestServer, port: u16) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(listen(Arc::new(server), port))
}

async fn listen(server: Arc<TestServer>, port: u16) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port} (in use? try --port 0 for a free port)"))?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}/");
    let _ = std::io::stdout().flush();
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("accept failed: {error}");
                continue;
            }
        };
        let server = server.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(server.clone(), request, remote, local));
            if let Err(error) = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                eprintln!("connection from {remote}: {error}");
            }
        });
    }
}

/// The response hyper sends: the simulator's whole response, or one streamed as IIS sends it.
type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

/// What the simulator sends while a request runs ([`TestRequest::on_wire`]).
enum Sent {
    /// The head of a response streamed before the request ends (a flush, an unbuffered write).
    Head { status: u16, reason: String, headers: Vec<(String, String)> },
    Body(Bytes),
}

/// The body of a streamed response: the pieces the simulator sends, until the request ends
/// (the observer, and so the sender, is dropped with the request).
struct Streamed(tokio::sync::mpsc::UnboundedReceiver<Sent>);

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        loop {
            return match self.0.poll_recv(cx) {
                std::task::Poll::Ready(Some(Sent::Body(bytes))) => std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes)))),
                std::task::Poll::Ready(Some(Sent::Head { .. })) => continue,
                std::task::Poll::Ready(None) => std::task::Poll::Ready(None),
                std::task::Poll::Pending => std::task::Poll::Pending,
            };
        }
    }
}

async fn handle(server: Arc<TestServer>, request: Request<Incoming>, remote: SocketAddr, local: SocketAddr) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => return Ok(plain(StatusCode::BAD_REQUEST, format!("could not read the request body: {error}\n"))),
    };
    let mut test_request = to_test_request(&parts, body.to_vec(), remote, local);
    let line = format!("{} {}", parts.method, parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    // In-process, what IIS sends reaches the client as it is sent (server-sent events arrive
    // event by event); the DLL door hands back whole responses.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    if !server.is_dll() {
        test_request = test_request.on_wire(move |wire| {
            let _ = tx.send(match wire {
                // A response sent whole at the end goes out as before, with its length.
                httpserv_testing::Wire::Head { more: false, .. } => return,
                httpserv_testing::Wire::Head { status, reason, headers, .. } => Sent::Head { status, reason: reason.to_owned(), headers: headers.to_vec() },
                httpserv_testing::Wire::Body(bytes) => Sent::Body(Bytes::copy_from_slice(bytes)),
                _ => return,
            });
        });
    }
    // The module runs synchronously on the calling thread, as on an IIS worker thread.
    let mut sent = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.send(test_request)))
    });
    // The head before the end of the request: stream the rest; the log follows at the end.
    let done = tokio::select! {
        biased;
        done = &mut sent => done,
        head = rx.recv() => match head {
            Some(Sent::Head { status, reason, headers }) => {
                tokio::spawn(async move {
                    if let Some(response) = finished(&line, sent.await) {
                        print!("{}", log_entry(&line, &response, started.elapsed().as_secs_f64() * 1000.0));
                        let _ = std::io::stdout().flush();
                    }
                });
                // A Content-Length the module set frames the stream (hyper checks it); else chunked.
                return Ok(head_response(status, &reason, &headers, Body::new(Streamed(rx)), true));
            }
            // Nothing was observed (the DLL door): the whole response, when it is done.
            _ => sent.await,
        },
    };
    let Some(response) = finished(&line, done) else {
        return Ok(plain(StatusCode::INTERNAL_SERVER_ERROR, "the IIS simulator failed; see the log\n".to_owned()));
    };
    print!("{}", log_entry(&line, &response, started.elapsed().as_secs_f64() * 1000.0));
    let _ = std::io::stdout().flush();
    Ok(to_hyper_response(&response))
}

/// The response of a finished `send`, or `None` (logged) if the simulator panicked.
fn finished(line: &str, sent: Result<std::thread::Result<TestResponse>, tokio::task::JoinError>) -> Option<TestResponse> {
    match sent {
        Ok(Ok(response)) => Some(response),
        Ok(Err(panic)) => {
            println!("{line} -> 500 (the simulator panicked: {})", panic_message(&panic));
            None
        }
        Err(error) => {
            println!("{line} -> 500 ({error})");
            None
        }
    }
}

/// The request as the simulator takes it: method, path and query, headers, body, addresses.
fn to_test_request(parts: &hyper::http::request::Parts, body: Vec<u8>, remote: SocketAddr, local: SocketAddr) -> TestRequest {
    let url = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = TestRequest::new(parts.method.as_str(), url).body(body).remote_addr(remote).local_addr(local);
    request = match parts.version {
        Version::HTTP_10 => request.http_version(1, 0),
        Version::HTTP_2 => request.http_version(2, 0),
        _ => request.http_version(1, 1),
    };
    for (name, value) in &parts.headers {
        request = request.header(name.as_str(), String::from_utf8_lossy(value.as_bytes()));
    }
    request
}

fn to_hyper_response(response: &TestResponse) -> Response<Body> {
    let body = Body::new(Full::new(Bytes::from(response.body.clone())));
    let mut out = head_response(response.status, &response.reason, &response.headers, body, false);
    if response.disconnected != Disconnect::None {
        out.headers_mut().insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    }
    out
}

/// A response with the simulator's status, reason and headers, and `body`; `Content-Length`
/// is kept only if `keep_length` (a whole body gets its own from hyper).
fn head_response(status: u16, reason: &str, headers: &[(String, String)], body: Body, keep_length: bool) -> Response<Body> {
    let mut out = Response::new(body);
    *out.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if !reason.is_empty() && out.status().canonical_reason() != Some(reason) {
        if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason.as_bytes().to_vec()) {
            out.extensions_mut().insert(reason);
        }
    }
    let map = out.headers_mut();
    for (name, value) in headers {
        // hyper frames the body itself.
        if (name.eq_ignore_ascii_case("content-length") && !keep_length) || name.eq_ignore_ascii_case("transfer-encoding") {
            continue;
        }
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            map.append(name, value);
        }
    }
    out
}

/// `GET / -> 200 OK, 31 bytes, 0.4 ms`, the handlers the module ran, then every call.
pub fn log_entry(line: &str, response: &TestResponse, millis: f64) -> String {
    let mut out = format!("{line} -> {} {}, {} bytes, {millis:.1} ms\n", response.status, response.reason, response.body.len());
    let handled: Vec<&str> = response
        .calls
        .iter()
        .filter(|call| call.kind == CallKind::Call)
        .map(|call| call.method)
        .filter(|method| method.starts_with("CHttpModule::On") || method.starts_with("CGlobalModule::On"))
        .map(|method| method.split("::").nth(1).unwrap_or(method))
        .collect();
    out.push_str(&format!("  handled: {}\n", if handled.is_empty() { "(no notification)".to_string() } else { handled.join(", ") }));
    for call in &response.calls {
        out.push_str(&format!("    {call}\n"));
    }
    out
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::new(Full::new(Bytes::from(text))));
    *response.status_mut() = status;
    response
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

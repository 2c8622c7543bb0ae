//! Requests per second of examples/axum_app's `GET /hello`, in one run, four ways:
//!
//! 1. in-process: the module in the IIS simulator (`TestServer::send` from C threads, as IIS's
//!    worker threads would call it; no network);
//! 2. in-process behind a loopback HTTP front: a hyper server on 127.0.0.1 hands each request
//!    to the simulator (what http.sys + IIS do in front of an in-process module);
//! 3. out-of-process: the same router served by hyper on 127.0.0.1, reached through a loopback
//!    reverse proxy (`proxy.rs`), as HttpPlatformHandler/ARR put IIS in front of a Rust server;
//! 4. for reference, the router under hyper on 127.0.0.1 directly (no proxy hop).
//!
//! The HTTP load (2-4) comes from C keep-alive connections of hyper's client, each sending
//! requests one after another for S seconds after a warm-up; every response is checked. Each
//! role has its own one-thread tokio runtime (as separate processes would), all in this process.
//!
//! ```text
//! cargo run --release -p httpserv-bench --example rps -- [SECONDS] [CONNECTIONS]
//! ```
//! (`scripts/bench.sh rps` runs it.) Wall-clock figures: compare the ratios of one run.

mod proxy;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use httpserv_testing::{TestRequest, TestServer};

const PATH: &str = "/hello";
const EXPECTED: &[u8] = b"Hello, world!";

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name(name).enable_all().build().expect("tokio runtime")
}

/// `connections` keep-alive connections to `address`, each sending `GET /hello` one after the
/// other until `duration` is over; the number of checked responses.
async fn load(address: SocketAddr, connections: usize, duration: Duration) -> u64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(address).await.expect("connect");
            let _ = stream.set_nodelay(true);
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
            tokio::spawn(connection);
            while Instant::now() < deadline {
                let request = Request::get(PATH).header("Host", "127.0.0.1").body(http_body_util::Empty::<Bytes>::new()).unwrap();
                let response = sender.send_request(request).await.expect("send_request");
                assert_eq!(response.status(), StatusCode::OK);
                let body = response.into_body().collect().await.expect("body").to_bytes();
                assert_eq!(&body[..], EXPECTED);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.expect("a load connection failed");
    }
    done.load(Ordering::Relaxed)
}

/// Warm-up, then the measured load: requests/s.
fn measure_http(client: &tokio::runtime::Runtime, address: SocketAddr, connections: usize, seconds: f64) -> (u64, f64) {
    client.block_on(load(address, connections, Duration::from_millis(300)));
    let started = Instant::now();
    let n = client.block_on(load(address, connections, Duration::from_secs_f64(seconds)));
    (n, n as f64 / started.elapsed().as_secs_f64())
}

/// 1: the simulator from `threads` threads, no network.
fn measure_in_process(server: &Arc<TestServer>, threads: usize, seconds: f64) -> (u64, f64) {
    let run = |duration: Duration| {
        let deadline = Instant::now() + duration;
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut n = 0u64;
                        while Instant::now() < deadline {
                            let response = server.send(TestRequest::get(PATH).header("Host", "127.0.0.1"));
                            assert_eq!(response.status, 200, "{}", response.transcript());
                            assert_eq!(response.body, EXPECTED);
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum::<u64>()
        })
    };
    run(Duration::from_millis(300));
    let started = Instant::now();
    let n = run(Duration::from_secs_f64(seconds));
    (n, n as f64 / started.elapsed().as_secs_f64())
}

/// 2: a hyper server on 127.0.0.1 running each request through the simulator.
async fn start_front(server: Arc<TestServer>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("front: bind");
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, remote)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let server = server.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let server = server.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let url = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
                        let mut request = TestRequest::new(parts.method.as_str(), url).body(body.to_vec()).remote_addr(remote).local_addr(address);
                        for (name, value) in &parts.headers {
                            request = request.header(name.as_str(), String::from_utf8_lossy(value.as_bytes()));
                        }
                        // The module runs synchronously on a worker thread, as on IIS's.
                        let sent = tokio::task::spawn_blocking(move || server.send(request)).await.expect("the simulator panicked");
                        let mut response = Response::new(Full::new(Bytes::from(sent.body)));
                        *response.status_mut() = StatusCode::from_u16(sent.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                        for (name, value) in &sent.headers {
                            if name.eq_ignore_ascii_case("content-length") {
                                continue;
                            }
                            if let (Ok(n), Ok(v)) = (hyper::header::HeaderName::from_bytes(name.as_bytes()), hyper::header::HeaderValue::from_str(value)) {
                                response.headers_mut().append(n, v);
                            }
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    address
}

/// 3 and 4: the router under hyper on 127.0.0.1.
async fn start_backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("backend: bind");
    let address = listener.local_addr().unwrap();
    let router = axum_app::app();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let service = hyper_util::service::TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    address
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let connections: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(4);
    let client = runtime("client");
    let front = runtime("front");
    let proxy_rt = runtime("proxy");
    let backend_rt = runtime("backend");

    let server = Arc::new(TestServer::new(axum_app::RegisterModule).expect("RegisterModule"));
    let front_address = front.block_on(start_front(server.clone()));
    let backend = backend_rt.block_on(start_backend());
    let proxy = proxy_rt.block_on(proxy::start(backend));

    let rows = [
        ("in-process: IIS simulator, no network", measure_in_process(&server, connections, seconds)),
        ("in-process behind a loopback HTTP front", measure_http(&client, front_address, connections, seconds)),
        ("out-of-process: loopback proxy -> hyper+axum", measure_http(&client, proxy, connections, seconds)),
        ("reference: hyper+axum on loopback, no proxy", measure_http(&client, backend, connections, seconds)),
    ];
    println!("rps: GET {PATH} of examples/axum_app, {connections} connections (threads), {seconds} s each");
    for (name, (n, rps)) in &rows {
        println!("rps: {name:<46} {n:>8} requests {rps:>10.0} requests/s");
    }
    let rps = |i: usize| rows[i].1 .1;
    println!("rps: ratio in-process (simulator) / out-of-process (proxy hop) = {:.2}", rps(0) / rps(2));
    println!("rps: ratio in-process behind the front / out-of-process (proxy hop) = {:.2}", rps(1) / rps(2));
    println!("rps: ratio hyper direct / through the proxy = {:.2}", rps(3) / rps(2));
    // The front's tasks hold the test server: stopping its runtime drops them.
    drop(front);
    match Arc::try_unwrap(server) {
        Ok(server) => {
            let report = server.shutdown();
            assert_eq!(report.modules_created, report.modules_disposed);
        }
        Err(_) => println!("rps: (the front still holds the test server; not shut down)"),
    }
}

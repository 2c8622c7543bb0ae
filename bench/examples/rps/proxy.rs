//! The out-of-process alternative's extra hop: a loopback reverse proxy, as IIS's
//! HttpPlatformHandler or ARR is in front of a Rust server. hyper server in front, hyper's pooled
//! keep-alive client behind; the request and response bodies are streamed through, the client's
//! address forwarded in `X-Forwarded-For`, hop-by-hop headers dropped (RFC 9110 section 7.6.1).

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};

type Body = BoxBody<Bytes, hyper::Error>;

/// Headers that belong to one connection, not to the request: never forwarded.
const HOP_BY_HOP: [&str; 7] = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/// Listens on 127.0.0.1 (a free port) and forwards every request to `backend`; returns the
/// proxy's address. Runs on the calling runtime.
pub async fn start(backend: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("proxy: bind");
    let address = listener.local_addr().unwrap();
    let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build_http();
    tokio::spawn(async move {
        loop {
            let Ok((stream, remote)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let client = client.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| forward(client.clone(), backend, remote, request));
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    address
}

async fn forward(client: Client<HttpConnector, Incoming>, backend: SocketAddr, remote: SocketAddr, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match Uri::try_from(format!("http://{backend}{path}")) {
        Ok(uri) => uri,
        Err(e) => return Ok(status(StatusCode::BAD_REQUEST, format!("proxy: {e}"))),
    };
    for name in HOP_BY_HOP {
        parts.headers.remove(name);
    }
    if let Ok(value) = HeaderValue::from_str(&remote.ip().to_string()) {
        parts.headers.append(HeaderName::from_static("x-forwarded-for"), value);
    }
    match client.request(Request::from_parts(parts, body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            for name in HOP_BY_HOP {
                parts.headers.remove(name);
            }
            Ok(Response::from_parts(parts, body.boxed()))
        }
        Err(e) => Ok(status(StatusCode::BAD_GATEWAY, format!("proxy: the backend failed: {e}"))),
    }
}

fn status(code: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text)).map_err(|never| match never {}).boxed());
    *response.status_mut() = code;
    response
}

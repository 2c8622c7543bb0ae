//! An axum application served in-process by IIS through `httpserv-tower`: a path parameter,
//! JSON in and out, a server-sent-events stream (three events 10 ms apart, on tokio's timer),
//! an endless one that counts how often it was dropped (a client that goes away cancels it),
//! an upload read as a stream (its length and checksum, never held whole), a body with
//! trailers, a body that fails half-way, shared state, and a route that panics (the adapter
//! answers 500).

use std::sync::atomic::{AtomicU64, Ordering};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures_util::StreamExt;
use httpserv_tower::IisRequest;
use serde::{Deserialize, Serialize};

httpserv_tower::declare_module! {
    /// The module IIS loads: the router below, built once per registration.
    pub struct AxumApp(Router) = app();
}

/// What every request shares.
#[derive(Default)]
pub struct Shared {
    visits: AtomicU64,
    /// How many `/ticks` streams were dropped.
    ticks_dropped: AtomicU64,
}

/// The application.
pub fn app() -> Router {
    Router::new()
        .route("/hello", get(|| async { "Hello, world!" }))
        .route("/users/{id}", get(user))
        .route("/greet", post(greet))
        .route("/events", get(events))
        .route("/upload", post(upload))
        .route("/visits", get(visits))
        .route("/whoami", get(whoami))
        .route("/panic", get(panics))
        .route("/ticks", get(ticks))
        .route("/ticks/dropped", get(ticks_dropped))
        .route("/trailers", get(trailers))
        .route("/broken", get(broken))
        .with_state(Arc::new(Shared::default()))
}

#[derive(Serialize)]
struct User {
    id: u32,
    name: String,
}

async fn user(Path(id): Path<u32>) -> Json<User> {
    Json(User { id, name: format!("user {id}") })
}

#[derive(Deserialize)]
struct Greeting {
    name: String,
    times: u32,
}

async fn greet(Json(greeting): Json<Greeting>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "greeting": vec![format!("hello {}", greeting.name); greeting.times as usize].join(", ") }))
}

/// Three server-sent events, 10 ms apart.
async fn events() -> impl IntoResponse {
    let stream = futures_util::stream::unfold(0u32, |i| async move {
        if i == 3 {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Some((Ok::<_, std::convert::Infallible>(format!("data: event {i}\n\n")), i + 1))
    });
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(stream))
}

/// Reads the upload piece by piece: its length, an Adler-32 checksum, how many pieces came and
/// the largest one (the adapter reads at most 64 KiB at a time).
async fn upload(body: Body) -> Result<Json<serde_json::Value>, (axum::http::StatusCode, String)> {
    let (mut length, mut pieces, mut largest) = (0u64, 0u64, 0usize);
    let (mut a, mut b) = (1u32, 0u32);
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| (axum::http::StatusCode::BAD_REQUEST, e.to_string()))?;
        length += piece.len() as u64;
        pieces += 1;
        largest = largest.max(piece.len());
        for &byte in piece.iter() {
            a = (a + byte as u32) % 65521;
            b = (b + a) % 65521;
        }
    }
    Ok(Json(serde_json::json!({ "length": length, "adler32": (b << 16) | a, "pieces": pieces, "largest_piece": largest })))
}

async fn panics() -> &'static str {
    panic!("this route panics")
}

async fn visits(State(shared): State<Arc<Shared>>) -> String {
    format!("visit {}", shared.visits.fetch_add(1, Ordering::Relaxed) + 1)
}

async fn whoami(Extension(iis): Extension<IisRequest>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "user": iis.user, "raw_url": String::from_utf8_lossy(&iis.raw_url) }))
}

/// Counts its own drop into `Shared::ticks_dropped`.
struct DropCounter(Arc<Shared>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.ticks_dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Server-sent events every 5 ms, forever: only a client that goes away ends it.
async fn ticks(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let stream = futures_util::stream::unfold((0u64, DropCounter(shared)), |(i, guard)| async move {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Some((Ok::<_, std::convert::Infallible>(format!("data: tick {i}\n\n")), (i + 1, guard)))
    });
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(stream))
}

async fn ticks_dropped(State(shared): State<Arc<Shared>>) -> String {
    shared.ticks_dropped.load(Ordering::SeqCst).to_string()
}

/// A body of one data frame and then trailers (what gRPC sends): `x-checksum`, and
/// `x-note` twice.
struct WithTrailers {
    data: Option<bytes::Bytes>,
    trailers: Option<axum::http::HeaderMap>,
}

impl http_body::Body for WithTrailers {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(http_body::Frame::trailers(t))))
    }
}

async fn trailers() -> impl IntoResponse {
    let mut trailers = axum::http::HeaderMap::new();
    trailers.insert("x-checksum", "adler32=0a2c0477".parse().unwrap());
    trailers.append("x-note", "one".parse().unwrap());
    trailers.append("x-note", "two".parse().unwrap());
    let body = WithTrailers { data: Some(bytes::Bytes::from_static(b"the checksum follows\n")), trailers: Some(trailers) };
    ([(header::TRAILER, "x-checksum, x-note")], Body::new(body))
}

/// A stream that sends one event and then fails: the headers are out, so the adapter can only
/// abort the response.
async fn broken() -> impl IntoResponse {
    let stream = futures_util::stream::iter([Ok("data: first\n\n".to_owned()), Err(std::io::Error::other("the event source broke"))]);
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(stream))
}

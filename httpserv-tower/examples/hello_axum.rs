//! Hello world through the adapter: an axum route answering "Hello, world!" (see common.rs).

mod common;

#[global_allocator]
static ALLOC: common::Counting = common::Counting;

fn app() -> axum::Router {
    axum::Router::new().route("/", axum::routing::get(|| async { "Hello, world!" }))
}

httpserv_tower::declare_module! {
    pub struct HelloAxum(axum::Router) = app();
}

fn main() {
    common::run("axum through httpserv-tower", RegisterModule);
}

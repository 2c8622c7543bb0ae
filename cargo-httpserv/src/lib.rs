//! `cargo httpserv`: the workflow of an IIS module crate written with `httpserv` (new, build,
//! test, run, install, package), on Linux and Windows.
//!
//! The library half is [`serve`]: the local HTTP server of `cargo httpserv run`. A module must
//! be linked into the process that runs it in-process, so `run` generates a small host crate
//! (`target/httpserv/run-host/`) that depends on the user's crate and on this library with
//! `default-features = false` (no CLI dependencies), and whose `main` calls
//! `cargo_httpserv::serve(module::RegisterModule, port)`.

pub mod serve;

pub use httpserv_testing::RegisterModuleFn;
pub use serve::{serve, serve_server};

#[cfg(feature = "cli")]
pub mod cli;

//! The bridge from IIS's C++ vtables to Rust: how a notification travels.
//!
//! 1. `RegisterModule` (emitted by `#[http_module]`) calls [`register::register_module`], which
//!    hands IIS a factory ([`module::Factory`]) and, optionally, a global module
//!    ([`global::GlobalObject`]).
//! 2. Per request IIS calls the factory's `GetHttpModule`: a [`module::ModuleObject`] (the
//!    `CHttpModule` vtable pointer followed by the user's module) is placed in the request's
//!    `IModuleAllocator` memory. No heap allocation.
//! 3. IIS calls a `CHttpModule` slot; the thunk in [`module`] recovers the module from `this`,
//!    wraps the raw pointers in safe handles and calls the user's `HttpModule` method inside
//!    `panic::catch`, so a panic becomes a 500 instead of unwinding into IIS.
//!    A handler that returns a `Result` is wrapped by `#[http_module]` in a trait method that
//!    reports its `Err` to IIS ([`outcome`]: 500 with the `HRESULT`, traced, `FinishRequest`).
//!    A module whose handler is running is busy: a notification IIS raises for it from inside
//!    that handler (`MapPath` → `RQ_MAP_PATH`, ...) is not delivered (see [`module`]'s
//!    `dispatch`), so `&mut self` is never aliased.
//! 4. `Dispose` drops the module in place; `Terminate` frees the factory and global module.
//!
//! Each of these objects holds the [`registration::Registration`] that created it: the server,
//! the module id and the module's state belong to one `RegisterModule` call, not the process.

#[macro_use]
mod abi;
pub mod global;
pub mod module;
pub mod outcome;
pub(crate) mod panic;
pub mod register;
pub mod registration;
pub(crate) mod slot;
pub(crate) mod stored;
pub mod task;
pub mod user;

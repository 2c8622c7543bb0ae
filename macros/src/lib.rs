//! `#[http_module]`: turns a Rust type into an IIS native module. The attribute's own
//! documentation ([`http_module`]) lists every option, with an example, and every error it
//! reports; `ast.rs` parses and checks, `expand.rs` generates, `handlers.rs` knows the handler
//! names.
#![warn(missing_docs)]

mod ast;
mod expand;
mod handlers;

use proc_macro::TokenStream;

/// Makes a type an IIS native module.
///
/// It goes in two places, once each per crate:
///
/// - on the module **struct**: emits the DLL's exported `RegisterModule` (the function IIS calls
///   when it loads the DLL), which registers the module's factory, priorities, optional global
///   module and state; and `YourModule::MODULE_NAME`.
/// - on the module's **`impl HttpModule for YourModule` block** (and on `impl GlobalModule for
///   YourGlobal`): derives the notification masks from the handlers the block defines, so a
///   handler is registered exactly when it is implemented and you never write a mask.
///
/// ```
/// use httpserv::prelude::*;
///
/// #[http_module]
/// #[derive(Default)]
/// pub struct Hello;
///
/// #[http_module]
/// impl HttpModule for Hello {
///     fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
///         context.response().set_header("Content-Type", "text/plain")?;
///         context.response().write(b"hello")?;
///         Ok(NotificationStatus::FinishRequest)
///     }
/// }
/// # fn main() {}
/// ```
///
/// The struct must be `Default + Send` and not generic: IIS creates one per request (with
/// `Default`, in the request's memory) and may run it on any worker thread.
///
/// # Handlers
///
/// A request handler returns [`NotificationStatus`] or a `Result` of it (anything implementing
/// `httpserv::IntoNotificationStatus`): usually `HandlerResult`, whose error converts with `?`
/// from httpserv's own `Error` (keeping its `HRESULT`) and from any `std::error::Error + Send +
/// Sync + 'static` (`E_FAIL`). An `Err` becomes a 500 whose `hrErrorToReport` is the error's
/// `HRESULT`, the buffered response is cleared, the message goes to the request's trace and the
/// notification returns `RQ_NOTIFICATION_FINISH_REQUEST`. `httpserv::Result<NotificationStatus>`
/// works too.
///
/// A handler of a pipeline stage (`on_begin_request` ... `on_end_request` and their `on_post_*`)
/// may be an `async fn` taking only the context; it returns what a sync handler may. Its future
/// runs with IIS as the executor: polled in the notification, suspended with
/// `RQ_NOTIFICATION_PENDING`, resumed in `OnAsyncCompletion` when its waker calls
/// `IHttpContext::PostCompletion` (see `httpserv::bridge::task`).
///
/// ```
/// use httpserv::prelude::*;
///
/// #[http_module]
/// #[derive(Default)]
/// pub struct Later;
///
/// #[http_module]
/// impl HttpModule for Later {
///     async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult {
///         let buffer = vec![0; 4096];
///         let (read, _buffer) = context.request().read_body_async(buffer).await;
///         let n = read?;
///         context.response().write(format!("{n} bytes").as_bytes())?;
///         Ok(NotificationStatus::FinishRequest)
///     }
/// }
/// # fn main() {}
/// ```
///
/// # Options (on the struct, all optional)
///
/// `name = "..."`: the name to install the module under (`appcmd install module /name:...`),
/// 1 to 256 letters, digits, `_`, `-`, `.` or inner spaces; default: the struct's name.
///
/// ```
/// # use httpserv::prelude::*;
/// #[http_module(name = "MyCompany.Headers")]
/// #[derive(Default)]
/// pub struct Headers;
/// # #[http_module] impl HttpModule for Headers { fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus { NotificationStatus::Continue } }
/// # fn main() { assert_eq!(Headers::MODULE_NAME, "MyCompany.Headers"); }
/// ```
///
/// `priority = First|High|Medium|Low|Last`: the priority of every request notification the
/// module handles (`SetPriorityForRequestNotification`); or `priority(on_x = P, ...)` per
/// handler. A name must be a request handler the module's impl block defines, and not a
/// post-notification one (IIS gives a notification and its post-notification one priority).
///
/// ```
/// # use httpserv::prelude::*;
/// #[http_module(priority(on_begin_request = First, on_send_response = Last))]
/// #[derive(Default)]
/// pub struct Ordered;
///
/// #[http_module]
/// impl HttpModule for Ordered {
///     fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
///         NotificationStatus::Continue
///     }
///     fn on_send_response(&mut self, _: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> NotificationStatus {
///         NotificationStatus::Continue
///     }
/// }
/// # fn main() {}
/// ```
///
/// `global = Type`: a global module (`CGlobalModule`), one per registration, created with
/// `Default`; its type implements `GlobalModule` with its own `#[http_module] impl` block.
/// `global_priority = P` or `global_priority(on_global_x = P, ...)` sets its priorities (only
/// with `global`).
///
/// `state = Type`: a `Default + Send + Sync + 'static` value created by each `RegisterModule`
/// call (once per worker process in IIS, once per test server in tests), shared by every request
/// and the global module: `YourModule::state()` returns it as an `Arc` inside the module's
/// handlers, `YourModule::try_state()` returns `None` outside them.
///
/// ```
/// # use httpserv::prelude::*;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Default)]
/// pub struct Counters { requests: AtomicU64 }
///
/// #[derive(Default)]
/// pub struct Startup;
///
/// #[http_module]
/// impl GlobalModule for Startup {
///     fn on_global_application_start(&self, _: &httpserv::ApplicationProvider<'_>) -> GlobalNotificationStatus {
///         GlobalNotificationStatus::Continue
///     }
/// }
///
/// #[http_module(name = "Counting", state = Counters, global = Startup, global_priority = High)]
/// #[derive(Default)]
/// pub struct Counting;
///
/// #[http_module]
/// impl HttpModule for Counting {
///     fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
///         let seen = Self::state().requests.fetch_add(1, Ordering::Relaxed) + 1;
///         context.response().set_header("X-Seen", &seen.to_string())?;
///         Ok(NotificationStatus::Continue)
///     }
/// }
/// # fn main() {}
/// ```
///
/// On an impl block the attribute takes no arguments.
///
/// # Errors it reports
///
/// Each misuse is one error at the token you wrote (`macros/tests/ui` shows every message):
///
/// | misuse | error |
/// | --- | --- |
/// | on an enum, fn, inherent impl or another trait's impl | `#[http_module] goes on the module struct, or on its impl HttpModule / impl GlobalModule block` |
/// | a generic struct | `an IIS module type cannot be generic` |
/// | an unknown argument (`nmae = ...`), or `key` without `= value` | `unknown argument ...: expected name, priority, global, global_priority or state` |
/// | `name` not a string literal, or not a valid IIS module name | `name takes a string literal` / `invalid module name ...` |
/// | an unknown priority (`priority = Urgent`) | `unknown priority: expected First, High, Medium, Low or Last` |
/// | a misspelled handler in `priority(...)` | `unknown handler ... in priority(...): did you mean ...?` |
/// | a post-notification handler or `on_async_completion` in `priority(...)` | `... cannot have a priority of its own ...` |
/// | a request handler in `global_priority(...)`, or a global one in `priority(...)` | `... is a request handler: give its priority in priority(...)` (and the converse) |
/// | a priority for a handler the module does not implement | `a priority is given to a handler ... does not implement` (E0277) |
/// | `global_priority` without `global` | `global_priority needs a global = Type module` |
/// | `global = T` where `T` has no `#[http_module] impl GlobalModule` | `T has no #[http_module] impl GlobalModule for T block` (E0277) |
/// | a state that is not `Default + Send + Sync + 'static` | rustc's E0277 for the missing bound, at the state's type |
/// | a module struct that is not `Default` / not `Send` | rustc's E0277, at the struct / the impl block |
/// | a struct without an `#[http_module] impl HttpModule` block | `... has no #[http_module] impl HttpModule for ... block` (E0277) |
/// | two `#[http_module]` structs in one crate | `the name only_one_http_module_struct_per_crate is defined multiple times` (E0428), at the second struct |
/// | arguments on an impl block | `#[http_module] on an impl block takes no arguments` |
/// | an impl block without handlers | `this module handles no notification` |
/// | a misspelled handler (`on_begin_reqest`) | rustc's E0407 `not a member of trait`, with its suggestion |
/// | a handler returning another type (`-> u32`) | `a request handler returns NotificationStatus or Result<NotificationStatus, E> ...` (E0277) |
/// | a `Result` handler without `&mut self` and the context | `a request handler takes &mut self, the context and the provider ...` |
/// | an `async fn` global handler, or one IIS cannot complete later (`on_map_path`, ...) | `global handlers cannot be async` / `... cannot be async: only the pipeline's stages ...` |
/// | an `async fn` handler with a provider parameter | `an async handler takes (&mut self, context: &HttpContext<'_>)` |
///
/// [`NotificationStatus`]: https://docs.rs/httpserv/latest/httpserv/enum.NotificationStatus.html
#[proc_macro_attribute]
pub fn http_module(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let input = proc_macro2::TokenStream::from(input);
    match ast::parse(args, input.clone()).and_then(|item| expand::expand(&item)) {
        Ok(tokens) => tokens.into(),
        // Keep the user's item so one error is reported, not a cascade of missing items; an
        // impl block loses its `async fn`s and the handlers returning a `Result`, which cannot
        // match the trait's methods unexpanded.
        Err(error) => {
            let mut tokens = error.to_compile_error();
            match syn::parse2::<syn::ItemImpl>(input.clone()) {
                Ok(mut item) => {
                    item.items.retain(|i| !matches!(i, syn::ImplItem::Fn(f) if f.sig.asyncness.is_some() || (ast::returns_result(f) && handlers::REQUEST.contains(&f.sig.ident.to_string().as_str()))));
                    tokens.extend(quote::quote!(#item));
                    // The masks, empty: the struct's `RegisterModule` then reports nothing more
                    // (the build fails on the error above anyway).
                    let ty = &item.self_ty;
                    let global = item.trait_.as_ref().and_then(|(_, path, _)| path.segments.last()).map(|s| s.ident.to_string());
                    match global.as_deref() {
                        Some("HttpModule") => tokens.extend(quote::quote! {
                            impl ::httpserv::__private::Handlers for #ty { const REQUEST: u32 = 0; const POST_REQUEST: u32 = 0; }
                        }),
                        Some("GlobalModule") => tokens.extend(quote::quote! {
                            impl ::httpserv::__private::GlobalHandlers for #ty { const GLOBAL: u32 = 0; }
                        }),
                        _ => {}
                    }
                }
                Err(_) => tokens.extend(input),
            }
            tokens.into()
        }
    }
}

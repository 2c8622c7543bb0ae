//! `#[http_module]`: turns a Rust type into an IIS native module.
//!
//! On the module **struct** it emits the DLL's exported `RegisterModule`, which registers the
//! module's factory, priorities, optional global module and shared state:
//!
//! ```text
//! #[http_module(name = "CancelIo", priority = High, global = Lifecycle, state = Config)]
//! #[derive(Default)]
//! struct CancelIo;
//! ```
//!
//! On the module's **`impl HttpModule` (or `impl GlobalModule`) block** it derives the
//! notification masks from the handlers the block defines. The mask is therefore never written
//! by hand and cannot disagree with the handlers: a handler is registered exactly when it is
//! implemented.
//!
//! Arguments on the struct (all optional): `name = "..."` (the name to install the module
//! under, checked here), `priority = First|High|Medium|Low|Last` (every request notification
//! the module handles) or `priority(on_send_response = Low, ...)` (per handler, checked at
//! compile time against the handlers the module implements),
//! `global = Type` (a `GlobalModule + Default`), `global_priority = ...` or
//! `global_priority(on_global_application_start = High, ...)`, `state = Type` (a
//! `Default + Send + Sync` value created once in `RegisterModule`, reachable as
//! `YourModule::state()`).
//!
//! A request handler of a pipeline stage may be an `async fn`:
//! `async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) ->
//! NotificationStatus` (no provider). Its future runs with IIS as the executor: polled in the
//! notification, suspended with `RQ_NOTIFICATION_PENDING`, resumed in `OnAsyncCompletion` when
//! its waker calls `IHttpContext::PostCompletion` (see `httpserv::bridge::task`).
#![warn(missing_docs)]

mod ast;
mod expand;
mod handlers;

use proc_macro::TokenStream;

/// Makes a type an IIS native module: on the struct, emits the DLL's `RegisterModule`; on its
/// `impl HttpModule` or `impl GlobalModule` block, derives the notification masks (see the crate
/// docs).
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

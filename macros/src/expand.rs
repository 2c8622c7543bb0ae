//! Generates the registration (`RegisterModule`) and the handler masks.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Handlers, Item, Module, PrioritySpec};

pub fn expand(item: &Item) -> syn::Result<TokenStream> {
    Ok(match item {
        Item::Module(module) => module_tokens(module),
        Item::Handlers(handlers) => handler_tokens(handlers),
    })
}

fn module_tokens(module: &Module) -> TokenStream {
    let item = &module.item;
    let ty = &item.ident;
    // Errors point at the user's type; names resolve where the closure below is (a
    // `macro_rules!` expansion passing the type in would otherwise hide `registrar`).
    let span = proc_macro2::Span::call_site().located_at(ty.span());
    let mut steps = vec![quote_spanned! {span=> registrar.request_module::<#ty>()?; }];
    if let Some(spec) = &module.priority {
        steps.push(priority_steps(spec, quote!(<#ty as ::httpserv::__private::Handlers>::REQUEST), quote!(request_priority), |handler, priority| {
            let hspan = handler.span();
            let message = format!("`{handler}` in priority(...): the module has no such request handler (post-notification priorities are not supported)");
            quote_spanned! {hspan=>
                const _: () = ::core::assert!(
                    ::httpserv::request_masks::#handler.0 & <#ty as ::httpserv::__private::Handlers>::REQUEST != 0,
                    #message
                );
                registrar.request_priority(::httpserv::request_masks::#handler.0, ::httpserv::Priority::#priority)?;
            }
        }));
    }
    let mut checks = vec![quote_spanned! {span=>
        const _: fn() = || {
            fn module_type_must_be_send<T: ::core::marker::Send>() {}
            module_type_must_be_send::<#ty>();
        };
    }];
    if let Some(global) = &module.global {
        let gspan = proc_macro2::Span::call_site().located_at(global.span());
        steps.push(quote_spanned! {gspan=> registrar.global_module(<#global as ::core::default::Default>::default())?; });
        if let Some(spec) = &module.global_priority {
            steps.push(priority_steps(spec, quote!(<#global as ::httpserv::__private::GlobalHandlers>::GLOBAL), quote!(global_priority), |handler, priority| {
                let hspan = handler.span();
                let message = format!("`{handler}` in global_priority(...): the global module has no such handler");
                quote_spanned! {hspan=>
                    const _: () = ::core::assert!(
                        ::httpserv::global_masks::#handler & <#global as ::httpserv::__private::GlobalHandlers>::GLOBAL != 0,
                        #message
                    );
                    registrar.global_priority(::httpserv::global_masks::#handler, ::httpserv::Priority::#priority)?;
                }
            }));
        }
    }
    let mut extra = TokenStream::new();
    if let Some(state) = &module.state {
        let sspan = state.span();
        checks.push(quote_spanned! {sspan=>
            const _: fn() = || {
                fn state_must_be_default_send_sync<T: ::core::default::Default + ::core::marker::Send + ::core::marker::Sync + 'static>() {}
                state_must_be_default_send_sync::<#state>();
            };
        });
        let missing = format!("`{ty}::state()` called outside a handler of the `{ty}` module (use `try_state()` or keep the `Arc`)");
        extra.extend(quote! {
            impl #ty {
                /// The module's state: one value per registration (per `RegisterModule` call,
                /// so per test server in tests), created with `Default` by `RegisterModule` and
                /// shared by every request and the global module. Clone the `Arc` to keep it
                /// past the handler.
                ///
                /// # Panics
                /// Outside a handler (or `Drop`, or `Default`) of this module.
                pub fn state() -> ::std::sync::Arc<#state> {
                    ::httpserv::__private::current_state::<#state>().expect(#missing)
                }

                /// The module's state ([`Self::state`]), or `None` outside its handlers.
                pub fn try_state() -> ::core::option::Option<::std::sync::Arc<#state>> {
                    ::httpserv::__private::current_state::<#state>()
                }
            }
        });
    }
    let make_state = match &module.state {
        Some(state) => quote! {
            || ::core::option::Option::Some(::std::sync::Arc::new(<#state as ::core::default::Default>::default()) as ::std::sync::Arc<dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync>)
        },
        None => quote! { || ::core::option::Option::None },
    };
    let name = match &module.name {
        Some(name) => quote! { #name },
        None => {
            let name = ty.to_string();
            quote! { #name }
        }
    };
    quote! {
        #item

        #(#checks)*
        #extra

        impl #ty {
            /// The name to install this module under (`appcmd install module /name:...`).
            pub const MODULE_NAME: &'static str = #name;
        }

        /// The entry point IIS calls when it loads the module DLL. One per DLL.
        ///
        /// # Safety
        /// Called by IIS (or a test server) with its registration info and server.
        #[unsafe(no_mangle)]
        pub unsafe extern "system" fn RegisterModule(
            server_version: u32,
            module_info: *mut ::httpserv::__private::IHttpModuleRegistrationInfo,
            server: *mut ::httpserv::__private::IHttpServer,
        ) -> ::httpserv::__private::HRESULT {
            // SAFETY: the arguments are IIS's, passed through unchanged.
            unsafe {
                ::httpserv::__private::register_module(server_version, module_info, server, #make_state, |registrar| {
                    #(#steps)*
                    ::core::result::Result::Ok(())
                })
            }
        }

        /// Defined once per crate: a second `#[http_module]` struct would export a second
        /// `RegisterModule`, which a DLL cannot have.
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __httpserv_only_one_http_module_struct_per_crate {
            () => {};
        }
    }
}

fn handler_tokens(handlers: &Handlers) -> TokenStream {
    let (item, async_impl) = split_async(handlers);
    let item = &item;
    let ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let names = &handlers.handlers;
    if handlers.global {
        quote! {
            #item

            impl #impl_generics ::httpserv::__private::GlobalHandlers for #ty #where_clause {
                const GLOBAL: u32 = 0 #(| ::httpserv::global_masks::#names)*;
            }
        }
    } else {
        quote! {
            #item
            #async_impl

            impl #impl_generics ::httpserv::__private::Handlers for #ty #where_clause {
                const REQUEST: u32 = 0 #(| ::httpserv::request_masks::#names.0)*;
                const POST_REQUEST: u32 = 0 #(| ::httpserv::request_masks::#names.1)*;
            }
        }
    }
}

/// The registration calls of a priority spec: every bit of `mask` for `All`, one call per named
/// handler (with a compile-time check that the handler exists) for `Each`.
fn priority_steps(spec: &PrioritySpec, mask: TokenStream, method: TokenStream, each: impl Fn(&syn::Ident, &syn::Ident) -> TokenStream) -> TokenStream {
    match spec {
        PrioritySpec::All(priority) => quote! {
            for bit in 0..32 {
                let notification = 1u32 << bit;
                if #mask & notification != 0 {
                    registrar.#method(notification, ::httpserv::Priority::#priority)?;
                }
            }
        },
        PrioritySpec::Each(pairs) => pairs.iter().map(|(handler, priority)| each(handler, priority)).collect(),
    }
}

/// Moves each `async fn` handler into an inherent method (`__httpserv_async_on_x`) and puts in
/// its place the trait method that runs it with IIS as the executor
/// (`httpserv::__private::start_async`).
fn split_async(handlers: &Handlers) -> (syn::ItemImpl, TokenStream) {
    let mut item = handlers.item.clone();
    if handlers.async_handlers.is_empty() {
        return (item, TokenStream::new());
    }
    let ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let mut moved = Vec::new();
    for entry in item.items.iter_mut() {
        let syn::ImplItem::Fn(f) = entry else { continue };
        let Some((_, provider)) = handlers.async_handlers.iter().find(|(name, _)| *name == f.sig.ident) else { continue };
        let name = f.sig.ident.clone();
        let inner = syn::Ident::new(&format!("__httpserv_async_{name}"), name.span());
        let provider = syn::Ident::new(provider, name.span());
        let mut body = f.clone();
        body.sig.ident = inner.clone();
        body.attrs.retain(|a| !a.path().is_ident("doc"));
        moved.push(quote! {
            #[doc(hidden)]
            #body
        });
        let attrs = &f.attrs;
        *entry = syn::parse_quote_spanned! {name.span()=>
            #(#attrs)*
            fn #name(&mut self, context: &::httpserv::HttpContext<'_>, _provider: &::httpserv::#provider<'_>) -> ::httpserv::NotificationStatus {
                ::httpserv::__private::start_async(self, context, Self::#inner)
            }
        };
    }
    let async_impl = quote! {
        impl #impl_generics #ty #where_clause {
            #(#moved)*
        }
    };
    (item, async_impl)
}

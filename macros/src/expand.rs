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
    let span = ty.span();
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
        let gspan = global.span();
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
        extra.extend(quote! {
            impl #ty {
                fn __httpserv_state_cell() -> &'static ::std::sync::OnceLock<#state> {
                    static STATE: ::std::sync::OnceLock<#state> = ::std::sync::OnceLock::new();
                    &STATE
                }

                /// The module's state shared by every request, created once by `RegisterModule`.
                pub fn state() -> &'static #state {
                    Self::__httpserv_state_cell().get_or_init(<#state as ::core::default::Default>::default)
                }
            }
        });
        steps.insert(0, quote! { let _ = #ty::state(); });
    }
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
                ::httpserv::__private::register_module(server_version, module_info, server, |registrar| {
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
    let item = &handlers.item;
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
